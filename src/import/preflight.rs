//! SPEC section 10 step 1: the file is checked before Cognito sees it, read
//! from S3 as a stream and fed chunk by chunk to the checker, so that a file
//! never sits in memory whole. In create mode the same pass cuts the file
//! into parts (section 14).

use std::collections::HashSet;

use crate::app::App;
use crate::aws::s3::ObjectHead;
use crate::csv_check::groups::{GroupName, Groups, GroupsMode, GROUPS};
use crate::csv_check::parts::MAX_PARTS;
use crate::csv_check::password::{PasswordMode, Passwords};
use crate::csv_check::{self, CsvChecker, Problem, Report, TooLarge};
use crate::drops::cut::{limits, stream, too_large};
use crate::error::{ErrorKind, ImportError};

/// Checks the object against Cognito's CSV rules for `pool` as one file
/// (`VALIDATE_CSV` before a plain start): `CsvTooLarge` (from `HeadObject`
/// alone when the size says so), `InvalidCsv` with its problems, or `Ok` for
/// a file Cognito can import in one job, with what its `password_hash`
/// column held under `passwords` (SPEC section 15).
pub async fn check(
    app: &App,
    head: &ObjectHead,
    pool: &str,
    passwords: PasswordMode,
) -> Result<Option<Passwords>, ImportError> {
    let what = head.object.to_string();
    let size = head.size.and_then(|size| u64::try_from(size).ok());
    if let Some(size) = size.filter(|&size| size > csv_check::MAX_BYTES) {
        return Err(too_large(&what, TooLarge::Bytes(size)));
    }
    let columns = app.cognito().csv_header(pool).await?;
    let checker = CsvChecker::new(&columns).with_passwords(passwords);
    run(app, head, checker).await.map(|report| report.passwords)
}

/// Create mode (SPEC sections 10 and 14): the whole file checked once and
/// cut into parts of at most `PART_MAX_ROWS` rows and 104,857,600 bytes,
/// usernames unique within each part; the parts, or `CsvTooLarge` past 100
/// of them, or `InvalidCsv` naming source lines. The report holds the cut
/// and the `password_hash` column's algorithm and counts (SPEC section 15).
pub async fn check_parted(
    app: &App,
    head: &ObjectHead,
    pool: &str,
    passwords: PasswordMode,
) -> Result<Report, ImportError> {
    refuse_by_size(app, head)?;
    let columns = app.cognito().csv_header(pool).await?;
    let checker = CsvChecker::parted(&columns, limits(app.config.part_max_rows))
        .with_passwords(passwords)
        .with_groups(GroupsMode::Allowed);
    let report = run(app, head, checker).await?;
    if let Some(groups) = &report.groups {
        pool_has_groups(app, head, pool, groups).await?;
    }
    Ok(report)
}

/// SPEC section 17: every group the file names is one of the pool's
/// (`ListGroups`, every page), or, with `CREATE_MISSING_GROUPS=true`, is
/// created now that the rest of the preflight has passed, before any job.
/// Otherwise the rows naming others are one problem of `InvalidCsv`.
async fn pool_has_groups(
    app: &App,
    head: &ObjectHead,
    pool: &str,
    groups: &Groups,
) -> Result<(), ImportError> {
    if groups.names.is_empty() {
        return Ok(());
    }
    let cognito = app.cognito();
    let existing: HashSet<String> = cognito.list_groups(pool).await?.into_iter().collect();
    let missing: Vec<&GroupName> = groups
        .names
        .iter()
        .filter(|name| !existing.contains(&name.name))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !app.config.create_missing_groups {
        let what = head.object.to_string();
        return Err(ImportError::invalid_csv(
            &what,
            vec![missing_groups(&missing)],
            1,
        ));
    }
    for name in &missing {
        cognito.create_group(pool, &name.name).await?;
    }
    tracing::info!(
        user_pool_id = pool,
        groups = missing.len(),
        "missing groups created"
    );
    Ok(())
}

/// The one problem of the groups a pool does not have: how many, where
/// each is first named, how many rows name them. Names are not echoed, as
/// no problem echoes a value.
fn missing_groups(missing: &[&GroupName]) -> Problem {
    const SHOWN: usize = 10;
    let rows: u64 = missing.iter().map(|name| name.rows).sum();
    let mut lines: Vec<u64> = missing.iter().map(|name| name.first_line).collect();
    lines.sort_unstable();
    let first = lines.first().copied().unwrap_or(2);
    let shown: Vec<String> = lines.iter().take(SHOWN).map(u64::to_string).collect();
    let more = match lines.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Problem {
        line: first,
        column: Some(GROUPS.to_string()),
        problem: format!(
            "{} group(s) named in {rows} membership(s) are not groups of the user pool (each \
             first named on line {}{more}); create them in the pool, or set \
             CREATE_MISSING_GROUPS=true",
            missing.len(),
            shown.join(", ")
        ),
    }
}

async fn run(app: &App, head: &ObjectHead, mut checker: CsvChecker) -> Result<Report, ImportError> {
    let what = head.object.to_string();
    let (body, _) = app.s3().get_object(&head.object).await?;
    stream(app, body, &what, |chunk| checker.feed(chunk)).await?;
    let report = checker.finish().map_err(|too| too_large(&what, too))?;
    if !report.is_valid() {
        return Err(ImportError::invalid_csv(
            &what,
            report.problems,
            report.problem_count,
        ));
    }
    tracing::debug!(
        rows = report.rows,
        bytes = report.bytes,
        parts = report.cut.parts.len(),
        "CSV preflight passed"
    );
    Ok(report)
}

/// `CsvTooLarge` from `HeadObject` alone, before any Cognito call, when the
/// size says so: more than 100 parts' worth of bytes, or more than one job's
/// when no plan can be kept (`RESULTS_PREFIX` empty).
pub fn refuse_by_size(app: &App, head: &ObjectHead) -> Result<(), ImportError> {
    let what = head.object.to_string();
    let Some(size) = head.size.and_then(|size| u64::try_from(size).ok()) else {
        return Ok(());
    };
    if size > MAX_PARTS * csv_check::MAX_BYTES {
        return Err(too_large(
            &what,
            TooLarge::Parts(limits(app.config.part_max_rows)),
        ));
    }
    if size > csv_check::MAX_BYTES && app.config.results_prefix.is_empty() {
        return Err(no_plan(
            &what,
            &format!(
                "is {size} bytes, over one import job's {}",
                csv_check::MAX_BYTES
            ),
        ));
    }
    Ok(())
}

/// A file that needs parts cannot be imported without a plan, which lives
/// under `RESULTS_PREFIX`.
pub fn no_plan(what: &str, why: &str) -> ImportError {
    ImportError::new(
        ErrorKind::CsvTooLarge,
        format!(
            "{what} {why}, so it must be imported in parts, and RESULTS_PREFIX is empty: the \
             parts' plan is kept under RESULTS_PREFIX; set it, or split the file into files of \
             at most {} rows and {} bytes",
            csv_check::MAX_ROWS,
            csv_check::MAX_BYTES
        ),
    )
}
