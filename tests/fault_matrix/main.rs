//! The fault matrix (SPEC sections 4-7, 10-14, 17): every AWS
//! operation the function calls x every class of fault x each trigger
//! family, generated from the tables below, each cell with its own emulator
//! and the real handler over the real SDK.
//!
//! `Track` (direct only) runs on a finished job with a failed and a skipped
//! user, its log lines written, given the source object: the SPEC 12 path,
//! so the Track rows cover `FilterLogEvents`, the source's `GetObject`
//! (If-Match on its ETag) and the two `PutObject`s of the results files as
//! well as `DescribeUserImportJob`, `DescribeUserPool` and `PutEvents`. A
//! Track that fails emits no Completed event; a missing log (named 4xx of
//! `FilterLogEvents`) is an empty log, so the job is not terminal yet; a
//! source gone or changed (404, 412) still emits Completed, with
//! `Results.FilesError` and no files. After the faults are cleared, Track
//! emits Completed with `Results` naming both files, and both exist.
//!
//! The invariant checked in every cell (SPEC section 6, "Nothing is lost"):
//! the record ends with its event accepted by EventBridge, or its delivery
//! fails (S3: the invocation errs; SQS: its message is listed in
//! `batchItemFailures`; direct: the invocation errs with the SPEC
//! `errorType`). Never a success with nothing published; never a permanent
//! outcome for a transient fault. Then the faults are cleared and the same
//! event is delivered once more: it completes, and no job is started twice.
//! Faults the SPEC makes permanent end with their own type and failure event.
//!
//! Each cell is a test of its own (libtest-mimic), named
//! `<trigger>/<operation>/<fault>`: `s3/StartUserImportJob/throttling`,
//! `direct/PutEvents/403/failure-event-refused`, `queue/sqs/<case>/<fault>`
//! for the queue and parts cells, `direct/AdminAddUserToGroup/throttling`
//! for the groups cells, `deadline/<case>` for the deadline cells.
//! A cell that breaks the invariant fails with what it broke. Run one cell
//! or a family by its name:
//! `cargo test -p cognito-import-starter --test fault_matrix s3/StartUserImportJob`
//! (`-- --list` lists them). A full run writes the observed matrix to
//! `tests/results/fault-matrix.md`; a filtered run leaves it as it is.
//!
//! The files: `tables.rs` (the triggers, operations, fault classes and what
//! the SPEC makes of each), `start.rs` (one cell of the start path: its
//! world, deliveries and checks, the results files' included), `track.rs`
//! (the Track rows' job and where its results files go), `queue.rs` (the
//! drop queue and files in parts), `groups.rs` (`AddToGroups`, SPEC 17:
//! its world, cells, checks and report section), `deadline.rs` (the
//! deadline cells), `report.rs` (the report), and this file (the cells as
//! tests, and the threads they run on). Imports run one way: `report` and `deadline` and
//! `queue` and `groups` take from `start` (`report` from `queue` and
//! `groups` too), `start` from `track`, all from `tables`.

mod deadline;
mod groups;
mod queue;
mod report;
mod start;
mod tables;
mod track;

use std::collections::BTreeSet;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use libtest_mimic::{Arguments, Failed, Trial};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::Semaphore;

use crate::deadline::{deadline_batch, deadline_hang, DeadlineReport};
use crate::groups::GroupsReport;
use crate::queue::{QueueReport, Via};
use crate::start::{run_cell, CellReport};
use crate::tables::{cells, Cell, Class};

/// Cells run at once, each with its own emulator.
const PARALLEL_CELLS: usize = 16;
/// The threads the cells run on, each with its own current-thread runtime.
const CELL_THREADS: usize = 2;

/// What the cells found, gathered for the report.
#[derive(Default)]
struct Found {
    cells: Vec<CellReport>,
    queue: Vec<QueueReport>,
    groups: Vec<GroupsReport>,
    /// With their place in the report.
    deadlines: Vec<(usize, DeadlineReport)>,
}

fn found() -> &'static Mutex<Found> {
    static FOUND: OnceLock<Mutex<Found>> = OnceLock::new();
    FOUND.get_or_init(Mutex::default)
}

/// The found reports, even if a cell panicked while holding them.
fn record(add: impl FnOnce(&mut Found)) {
    let mut found = found()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    add(&mut found);
}

/// A cell's outcome as libtest sees it: its violations fail it.
fn outcome(violations: &[String]) -> Result<(), Failed> {
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations.join("\n").into())
    }
}

// ---- the cells' threads ----

type Job = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>> + Send>;

/// Where a trial hands its cell: `CELL_THREADS` threads, each with its own
/// current-thread runtime (the handler's future is not `Send`, so cells
/// cannot be spawned onto one multi-thread runtime), `PARALLEL_CELLS` at
/// once in all, however many trials libtest runs at once.
fn cell_threads() -> &'static UnboundedSender<Job> {
    static JOBS: OnceLock<UnboundedSender<Job>> = OnceLock::new();
    JOBS.get_or_init(|| {
        let (jobs, queue) = unbounded_channel::<Job>();
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        for _ in 0..CELL_THREADS {
            let queue = Arc::clone(&queue);
            // A drop in parts nests the handler's future deeper than a
            // thread's default 2 MiB stack holds in a debug build.
            std::thread::Builder::new()
                .stack_size(64 << 20)
                .spawn(move || cell_thread(queue))
                .expect("a matrix thread starts");
        }
        jobs
    })
}

fn cell_thread(queue: Arc<tokio::sync::Mutex<UnboundedReceiver<Job>>>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let slots = Arc::new(Semaphore::new(PARALLEL_CELLS / CELL_THREADS));
        loop {
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                return;
            };
            let Some(job) = queue.lock().await.recv().await else {
                return;
            };
            tokio::task::spawn_local(async move {
                job().await;
                drop(slot);
            });
        }
    });
}

/// Runs `cell` on the cells' threads and waits for what it found.
fn on_cell_threads<R, Fut>(cell: impl FnOnce() -> Fut + Send + 'static) -> Result<R, Failed>
where
    R: Send + 'static,
    Fut: Future<Output = R> + 'static,
{
    let (report, answer) = std::sync::mpsc::channel();
    let job: Job = Box::new(move || {
        Box::pin(async move {
            let _ = report.send(cell().await);
        })
    });
    cell_threads()
        .send(job)
        .map_err(|_| "the matrix threads are gone")?;
    answer
        .recv()
        .map_err(|_| "the cell panicked (its message is above)".into())
}

/// Timing-bound cells share one runtime of two workers, as they always have.
fn deadline_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

// ---- the trials ----

/// A name piece: the words of `text` joined by `-` (`named 4xx` is
/// `named-4xx`, `GetObject (create mode)` is `GetObject-create-mode`).
fn slug(text: &str) -> String {
    text.replace('\'', "")
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// `s3/StartUserImportJob/throttling`,
/// `sqs/PutEvents/403/failure-event-refused`.
fn cell_name(cell: &Cell) -> String {
    let refused = if cell.unpublishable {
        "/failure-event-refused"
    } else {
        ""
    };
    format!(
        "{}/{}/{}{refused}",
        slug(cell.trigger.name()).to_lowercase(),
        slug(cell.row().label),
        slug(cell.class.column())
    )
}

fn matrix_trial(cell: Cell) -> Trial {
    Trial::test(cell_name(&cell), move || {
        let report = on_cell_threads(move || run_cell(cell))?;
        let result = outcome(&report.violations);
        record(|found| found.cells.push(report));
        result
    })
}

/// `queue/sqs/part-2-of-3-UploadCsv/hang`.
fn queue_trial((case, via, class): (queue::Case, Via, Class)) -> Trial {
    let name = format!(
        "queue/{}/{}/{}",
        format!("{via:?}").to_lowercase(),
        slug(&case.label()),
        slug(class.column())
    );
    Trial::test(name, move || {
        let report = on_cell_threads(move || queue::run(case, via, class))?;
        let result = outcome(&report.violations);
        record(|found| found.queue.push(report));
        result
    })
}

/// `direct/AdminAddUserToGroup/throttling`.
fn groups_trial((row, class): (usize, Class)) -> Trial {
    let name = format!(
        "direct/{}/{}",
        slug(groups::GROUP_ROWS[row].label),
        slug(class.column())
    );
    Trial::test(name, move || {
        let report = on_cell_threads(move || groups::run(row, class))?;
        let result = outcome(&report.violations);
        record(|found| found.groups.push(report));
        result
    })
}

type DeadlineCase = fn() -> Pin<Box<dyn Future<Output = DeadlineReport>>>;

fn deadline_trials() -> Vec<Trial> {
    let cases: [(&str, DeadlineCase); 4] = [
        ("deadline/s3-batch", || Box::pin(deadline_batch(false))),
        ("deadline/sqs-batch", || Box::pin(deadline_batch(true))),
        ("deadline/direct-hang", || Box::pin(deadline_hang(false))),
        ("deadline/track-hang", || Box::pin(deadline_hang(true))),
    ];
    cases
        .into_iter()
        .enumerate()
        .map(|(place, (name, case))| {
            Trial::test(name, move || {
                let report = deadline_runtime().block_on(case());
                let result = outcome(&report.violations);
                record(|found| found.deadlines.push((place, report)));
                result
            })
        })
        .collect()
}

/// Every name once, so that each cell can be run alone.
fn check_names<'a>(trials: impl IntoIterator<Item = &'a Trial>) {
    let mut seen = BTreeSet::new();
    for trial in trials {
        assert!(
            seen.insert(trial.name()),
            "two cells named {}",
            trial.name()
        );
    }
}

// ---- the run ----

/// Writes the report when every cell ran (a filtered run leaves the last
/// full run's report as it is).
fn write_report(cells_run: usize, began: Instant) {
    let mut found = found()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    found.queue.sort_by_key(|r| r.key);
    found.deadlines.sort_by_key(|(place, _)| *place);
    let deadlines: Vec<DeadlineReport> = std::mem::take(&mut found.deadlines)
        .into_iter()
        .map(|(_, report)| report)
        .collect();
    found.groups.sort_by_key(|r| r.key);
    let markdown = report::render(&found.cells, &deadlines, &found.queue, &found.groups);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/results/fault-matrix.md");
    std::fs::create_dir_all(path.parent().unwrap()).expect("tests/results can be created");
    std::fs::write(&path, &markdown).expect("the fault matrix can be written");
    let mut violations = report::all_violations(&found.cells, &deadlines);
    violations.extend(queue::violations(&found.queue));
    violations.extend(groups::violations(&found.groups));
    eprintln!(
        "fault matrix: {cells_run} cells and {} deadline cells in {:?}, {} broke the invariant; written to {}",
        deadlines.len(),
        began.elapsed(),
        violations.len(),
        path.display()
    );
}

fn main() {
    let began = Instant::now();
    let mut args = Arguments::from_args();
    // libtest's default (one trial a core) would run fewer cells at once
    // than the matrix's threads take.
    args.test_threads.get_or_insert(PARALLEL_CELLS);

    let mut trials: Vec<Trial> = cells().into_iter().map(matrix_trial).collect();
    trials.extend(queue::cells().into_iter().map(queue_trial));
    trials.extend(groups::cells().into_iter().map(groups_trial));
    let cell_count = trials.len();
    let deadlines = deadline_trials();
    check_names(trials.iter().chain(&deadlines));

    let matrix = libtest_mimic::run(&args, trials);
    // Timing-bound cells run after the matrix, so that its load does not
    // make them late.
    let timed = libtest_mimic::run(&args, deadlines);

    let all_ran =
        matrix.num_filtered_out == 0 && timed.num_filtered_out == 0 && !args.list && !args.ignored;
    if all_ran {
        write_report(cell_count, began);
    }
    if matrix.has_failed() {
        matrix.exit();
    }
    timed.exit();
}
