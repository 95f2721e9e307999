//! The Track rows' world (SPEC 11 and 12): a finished job with a failed and
//! a skipped user, its log written, and the checks of the results files.

use cis_emulator::{valid_csv, Emulator, PutEventEntry, DEFAULT_CSV_HEADER};
use cis_testkit::{BUCKET, POOL};
use serde_json::{json, Value};

use crate::start::{of_type, World};
use crate::tables::{COMPLETED, KEY};

/// The job a Track cell follows.
pub struct TrackSeed {
    pub job_id: String,
    /// `failed.csv` as SPEC 12 has it: the header and the failed row.
    pub failed_csv: String,
}

/// The users of the Track job: `jdoe` exists already (`[SKIPPED]`), `pchen`
/// has a malformed email (`[FAILED]`), the others are imported.
pub const TRACK_USERS: [&str; 4] = ["alice", "jdoe", "pchen", "bob"];

pub const TRACK_FAILED: &str = "pchen";

pub const BROKEN_EMAIL: &str = "not-an-email";

/// The Track job's source: `valid_csv` with the failing user's email broken.
pub fn track_source() -> String {
    valid_csv(&TRACK_USERS).replace(&format!("{TRACK_FAILED}@example.com"), BROKEN_EMAIL)
}

/// Seeds a finished job run over [`track_source`] as Cognito runs it (its
/// log lines written), and the source object in the drop bucket. Returns
/// the seed and the Started event's `Object` for it (the ETag unquoted, as
/// S3 notifications and the Started event carry it).
pub fn seed_track(emulator: &Emulator) -> (TrackSeed, Value) {
    emulator.create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
    emulator.add_user(POOL, "jdoe");
    let source = track_source();
    let job = emulator.create_import_job(POOL, "nightly", true);
    // Section 4's path: the object's metadata names the job, which Track
    // checks before it reads the object (SPEC section 16).
    let stored = emulator.put_object(
        BUCKET,
        KEY,
        source.as_str(),
        &[("user-pool-id", POOL), ("job-id", &job.job_id)],
    );
    emulator.set_job_csv(POOL, &job.job_id, source.as_str());
    emulator.set_job_status(POOL, &job.job_id, "Pending");
    let run = emulator
        .run_import_job(POOL, &job.job_id)
        .expect("the Track job runs");
    assert_eq!(
        (
            run.job.imported_users,
            run.job.skipped_users,
            run.job.failed_users
        ),
        (2, 1, 1),
        "the Track job's outcome: {:?}",
        run.lines
    );
    let lines: Vec<&str> = source.split_inclusive('\n').collect();
    let failed_row = lines
        .iter()
        .find(|l| l.contains(BROKEN_EMAIL))
        .expect("the failing row");
    let object = json!({
        "Bucket": BUCKET,
        "Key": KEY,
        "ETag": stored.etag.trim_matches('"'),
    });
    let seed = TrackSeed {
        job_id: job.job_id,
        failed_csv: format!("{}{failed_row}", lines[0]),
    };
    (seed, object)
}

/// The Completed events among `events`, their `Results`.
pub fn completed_results(events: &[PutEventEntry]) -> Vec<Value> {
    of_type(events, COMPLETED)
        .into_iter()
        .map(|e| e.detail["Results"].clone())
        .collect()
}

/// `results/<job id>/failed.csv` and `report.csv`.
pub fn result_keys(seed: &TrackSeed) -> (String, String) {
    let prefix = format!("results/{}/", seed.job_id);
    (format!("{prefix}failed.csv"), format!("{prefix}report.csv"))
}

/// A Completed event whose source was gone or changed: `Results` with
/// `FilesError` of type `expected`, neither file named nor written.
pub fn check_files_error(
    w: &World,
    events: &[PutEventEntry],
    expected: &str,
    violations: &mut Vec<String>,
) {
    let Some(seed) = &w.track else { return };
    let Some(results) = completed_results(events).pop() else {
        return; // "nothing published" is reported by the caller
    };
    if results["FilesError"]["Type"] != json!(expected) {
        violations.push(format!(
            "Completed without FilesError {expected}: FilesError={}",
            results["FilesError"]
        ));
    }
    if results.get("FailedRows").is_some() || results.get("Report").is_some() {
        violations.push("FilesError and yet FailedRows/Report named".into());
    }
    if results["Failed"] != json!(1) || results["Skipped"] != json!(1) {
        violations.push(format!(
            "Results counts {}/{}, the log says 1 failed, 1 skipped",
            results["Failed"], results["Skipped"]
        ));
    }
    let (failed, report) = result_keys(seed);
    for key in [failed, report] {
        if w.emulator.object(BUCKET, &key).is_some() {
            violations.push(format!("{key} written though the source was gone"));
        }
    }
}

/// After the faults are cleared: the Completed event's `Results` names both
/// files, both exist, `failed.csv` holds the header and the failed row.
pub fn check_files_written(w: &World, events: &[PutEventEntry], violations: &mut Vec<String>) {
    let Some(seed) = &w.track else { return };
    let Some(results) = completed_results(events).pop() else {
        return; // "nothing published" is reported by the caller
    };
    let (failed, report) = result_keys(seed);
    let expected = json!({
        "Failed": 1,
        "Skipped": 1,
        "Complete": true,
        "FailedRows": {"Bucket": BUCKET, "Key": failed.clone()},
        "Report": {"Bucket": BUCKET, "Key": report.clone()},
    });
    for field in ["Failed", "Skipped", "Complete", "FailedRows", "Report"] {
        if results[field] != expected[field] {
            violations.push(format!(
                "redelivery: Results.{field} is {}, not {}",
                results[field], expected[field]
            ));
        }
    }
    if results.get("FilesError").is_some() {
        violations.push(format!("redelivery: FilesError {}", results["FilesError"]));
    }
    match w.emulator.object(BUCKET, &failed) {
        None => violations.push(format!("redelivery: {failed} not written")),
        Some(object) if object.body != seed.failed_csv.as_bytes() => violations.push(format!(
            "redelivery: {failed} is not the header and the failed row: {:?}",
            String::from_utf8_lossy(&object.body)
        )),
        Some(_) => {}
    }
    if w.emulator.object(BUCKET, &report).is_none() {
        violations.push(format!("redelivery: {report} not written"));
    }
}
