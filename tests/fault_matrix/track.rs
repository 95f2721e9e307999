//! The Track rows' world (SPEC 11 and 12): a finished job with a failed and
//! a skipped user, its log written, and where its results files go.

use cis_emulator::{valid_csv, Emulator, DEFAULT_CSV_HEADER};
use cis_testkit::{BUCKET, POOL};
use serde_json::{json, Value};

use crate::tables::KEY;

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

/// `results/<job id>/failed.csv` and `report.csv`.
pub fn result_keys(seed: &TrackSeed) -> (String, String) {
    let prefix = format!("results/{}/", seed.job_id);
    (format!("{prefix}failed.csv"), format!("{prefix}report.csv"))
}
