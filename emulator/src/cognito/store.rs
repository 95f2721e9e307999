//! What the emulated Cognito holds: pools (their header, users and groups)
//! and import jobs, and the Rust API that seeds and sets them.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use crate::{util, Emulator, Inner, State, REGION};

/// The `CloudWatchLogsRoleArn` of jobs seeded through the Rust API.
pub const SEEDED_LOGS_ROLE_ARN: &str =
    "arn:aws:iam::123456789012:role/emulated-cognito-import-logs";
/// The name of pools created implicitly by the job seeders.
pub const DEFAULT_POOL_NAME: &str = "emulated-pool";

/// Cognito's standard user import CSV header (what `GetCSVHeader` returns
/// for a pool without custom attributes), in Cognito's order. The function
/// keeps its own copy (`csv_check::STANDARD_HEADER`); a test of the function
/// checks that both lists are equal.
pub const DEFAULT_CSV_HEADER: &[&str] = &[
    "profile",
    "address",
    "birthdate",
    "gender",
    "preferred_username",
    "updated_at",
    "website",
    "picture",
    "phone_number",
    "phone_number_verified",
    "zoneinfo",
    "locale",
    "email",
    "email_verified",
    "given_name",
    "family_name",
    "middle_name",
    "name",
    "nickname",
    "cognito:mfa_enabled",
    "cognito:username",
];

/// A file Cognito would import for a pool with [`DEFAULT_CSV_HEADER`]: one
/// row per username, each with a verified email and a name with an escaped
/// comma.
pub fn valid_csv(usernames: &[&str]) -> String {
    let mut text = DEFAULT_CSV_HEADER.join(",");
    for user in usernames {
        let row: Vec<String> = DEFAULT_CSV_HEADER
            .iter()
            .map(|column| match *column {
                "cognito:username" => user.to_string(),
                "email" => format!("{user}@example.com"),
                "email_verified" => "true".into(),
                "phone_number_verified" => "false".into(),
                "cognito:mfa_enabled" => "false".into(),
                "name" => format!("{user}\\, Jr."),
                _ => String::new(),
            })
            .collect();
        text.push('\n');
        text.push_str(&row.join(","));
    }
    text.push('\n');
    text
}

/// A user import job as the emulated Cognito holds it.
#[derive(Clone, Debug)]
pub struct ImportJob {
    pub pool_id: String,
    pub job_id: String,
    pub job_name: String,
    pub status: String,
    pub pre_signed_url: String,
    pub creation_date_ms: i64,
    pub start_date_ms: Option<i64>,
    pub completion_date_ms: Option<i64>,
    pub cloudwatch_logs_role_arn: String,
    pub imported_users: i64,
    pub skipped_users: i64,
    pub failed_users: i64,
    pub completion_message: Option<String>,
    /// Whether the job's pre-signed URL has received a CSV (or the seeder
    /// said so).
    pub csv_uploaded: bool,
    /// `CreateUserImportJob`'s `PasswordHashingAlgorithm`, echoed in the record.
    pub password_hashing_algorithm: Option<String>,
}

pub(crate) struct Pool {
    pub(crate) name: String,
    pub(crate) csv_header: Vec<String>,
    pub(crate) creation_ms: i64,
    /// Usernames of the pool's users (added by imports the emulator ran or
    /// by `Emulator::add_user`).
    pub(crate) users: BTreeSet<String>,
    /// The status each user was imported with: `CONFIRMED` (with a password
    /// hash) or `RESET_REQUIRED` (none).
    pub(crate) user_status: BTreeMap<String, String>,
    /// A pool Cognito has not yet moved to where password hashes can be
    /// imported: a create with an algorithm is refused.
    pub(crate) refuses_password_hashes: bool,
    /// The pool's groups by name.
    pub(crate) groups: BTreeMap<String, Group>,
    /// Each user's groups, by username (a user in no group has no entry).
    pub(crate) memberships: BTreeMap<String, BTreeSet<String>>,
}

pub(crate) struct JobRecord {
    pub(crate) job: ImportJob,
    pub(crate) seq: u64,
    pub(crate) signature: String,
    pub(crate) csv: Option<Bytes>,
    /// Log lines of a run held back (`RunOptions::logged_rows`), with the
    /// group and stream they go to.
    pub(crate) held_log_lines: Option<(String, String, Vec<String>)>,
}

/// A group as `CreateGroup` made it (or a test).
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub(crate) description: Option<String>,
    pub(crate) role_arn: Option<String>,
    pub(crate) precedence: Option<i64>,
    pub(crate) creation_ms: i64,
}

impl Group {
    pub(crate) fn new(creation_ms: i64) -> Group {
        Group {
            description: None,
            role_arn: None,
            precedence: None,
            creation_ms,
        }
    }
}

impl Pool {
    fn new(name: &str, csv_header: &[&str]) -> Pool {
        Pool {
            name: name.to_string(),
            csv_header: csv_header.iter().map(|column| column.to_string()).collect(),
            creation_ms: util::now_ms(),
            users: BTreeSet::new(),
            user_status: BTreeMap::new(),
            refuses_password_hashes: false,
            groups: BTreeMap::new(),
            memberships: BTreeMap::new(),
        }
    }
}

/// Creates the pool, or gives an existing one a new name and header (its
/// users, groups and settings stay).
pub(crate) fn upsert_pool(inner: &mut Inner, pool_id: &str, name: &str, csv_header: &[&str]) {
    let new = Pool::new(name, csv_header);
    match inner.pools.get_mut(pool_id) {
        Some(pool) => {
            pool.name = new.name;
            pool.csv_header = new.csv_header;
        }
        None => {
            inner.pools.insert(pool_id.to_string(), new);
        }
    }
}

/// The pool, created with [`DEFAULT_POOL_NAME`] and [`DEFAULT_CSV_HEADER`]
/// if missing (as the seeders do).
pub(crate) fn pool_or_default<'a>(inner: &'a mut Inner, pool_id: &str) -> &'a mut Pool {
    inner
        .pools
        .entry(pool_id.to_string())
        .or_insert_with(|| Pool::new(DEFAULT_POOL_NAME, DEFAULT_CSV_HEADER))
}

/// Adds a job in `Created` (replacing one with the same pool and job ID).
pub(crate) fn insert_job(
    inner: &mut Inner,
    state: &State,
    pool_id: &str,
    job_id: &str,
    job_name: &str,
    role_arn: &str,
    csv_uploaded: bool,
) -> ImportJob {
    // No two jobs share a creation instant (as across real round trips), so
    // "the oldest job of a name" is always one job.
    let latest = inner.jobs.iter().map(|r| r.job.creation_date_ms).max();
    let now = latest.map_or(util::now_ms(), |latest| util::now_ms().max(latest + 1));
    let signature = state.rng.hex(64);
    let (day, stamp) = util::amz_date(now);
    let pre_signed_url = format!(
        "{}/_upload/{pool_id}/{job_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=EMULATOR%2F{day}%2F{REGION}%2Fs3%2Faws4_request\
         &X-Amz-Date={stamp}&X-Amz-Expires=900\
         &X-Amz-SignedHeaders=host%3Bx-amz-server-side-encryption\
         &X-Amz-Signature={signature}",
        state.endpoint
    );
    let job = ImportJob {
        pool_id: pool_id.to_string(),
        job_id: job_id.to_string(),
        job_name: job_name.to_string(),
        status: "Created".to_string(),
        pre_signed_url,
        creation_date_ms: now,
        start_date_ms: None,
        completion_date_ms: None,
        cloudwatch_logs_role_arn: role_arn.to_string(),
        imported_users: 0,
        skipped_users: 0,
        failed_users: 0,
        completion_message: None,
        csv_uploaded,
        password_hashing_algorithm: None,
    };
    let seq = inner.next_seq;
    inner.next_seq += 1;
    inner
        .jobs
        .retain(|record| !(record.job.pool_id == pool_id && record.job.job_id == job_id));
    inner.jobs.push(JobRecord {
        job: job.clone(),
        seq,
        signature,
        csv: None,
        held_log_lines: None,
    });
    job
}

pub(crate) fn find<'a>(inner: &'a Inner, pool_id: &str, job_id: &str) -> Option<&'a JobRecord> {
    inner
        .jobs
        .iter()
        .find(|record| record.job.pool_id == pool_id && record.job.job_id == job_id)
}

pub(crate) fn find_mut<'a>(
    inner: &'a mut Inner,
    pool_id: &str,
    job_id: &str,
) -> Option<&'a mut JobRecord> {
    inner
        .jobs
        .iter_mut()
        .find(|record| record.job.pool_id == pool_id && record.job.job_id == job_id)
}

const TERMINAL: &[&str] = &["Succeeded", "Failed", "Stopped", "Expired"];

/// Sets the status and the dates that go with it.
pub(crate) fn set_status(job: &mut ImportJob, status: &str, now: i64) {
    if status != "Created" && status != "Expired" && job.start_date_ms.is_none() {
        job.start_date_ms = Some(now);
    }
    if TERMINAL.contains(&status) && job.completion_date_ms.is_none() {
        job.completion_date_ms = Some(now);
    }
    job.status = status.to_string();
}

/// `Pending`, `InProgress` or `Stopping`: the job holds the account's slot.
pub(crate) fn is_active(job: &ImportJob) -> bool {
    matches!(job.status.as_str(), "Pending" | "InProgress" | "Stopping")
}

// ---- the Rust API ----

impl Emulator {
    /// Registers (or replaces the name and header of) a user pool.
    pub fn create_user_pool(&self, pool_id: &str, pool_name: &str, csv_header: &[&str]) {
        let mut inner = self.state.lock();
        upsert_pool(&mut inner, pool_id, pool_name, csv_header);
    }

    /// A new job in `Created` with a generated ID (`import-` + 10
    /// alphanumerics). The pool is created if missing (name
    /// [`DEFAULT_POOL_NAME`], [`DEFAULT_CSV_HEADER`]). `csv_uploaded` says
    /// whether its pre-signed URL already received a CSV.
    pub fn create_import_job(
        &self,
        pool_id: &str,
        job_name: &str,
        csv_uploaded: bool,
    ) -> ImportJob {
        let job_id = format!("import-{}", self.state.rng.alnum(10));
        self.insert_import_job(pool_id, &job_id, job_name, csv_uploaded)
    }

    /// Like [`Emulator::create_import_job`] with a given job ID (an existing
    /// job with that ID in that pool is replaced).
    pub fn insert_import_job(
        &self,
        pool_id: &str,
        job_id: &str,
        job_name: &str,
        csv_uploaded: bool,
    ) -> ImportJob {
        let mut inner = self.state.lock();
        pool_or_default(&mut inner, pool_id);
        insert_job(
            &mut inner,
            &self.state,
            pool_id,
            job_id,
            job_name,
            SEEDED_LOGS_ROLE_ARN,
            csv_uploaded,
        )
    }

    /// Cognito's rule "only one import job can be active at a time per
    /// account" (off by default): a `StartUserImportJob` while any job of
    /// any pool is `Pending`, `InProgress` or `Stopping` is refused with
    /// `PreconditionNotMetException` "No csv file was uploaded for <job
    /// id>", the same answer as for a job without its CSV.
    pub fn enforce_one_active_job(&self, on: bool) {
        self.state.lock().one_active_job = on;
    }

    /// How many `StartUserImportJob` calls of that job were answered 200.
    pub fn successful_starts(&self, pool_id: &str, job_id: &str) -> usize {
        self.state
            .lock()
            .calls
            .iter()
            .filter(|c| c.operation == "StartUserImportJob" && c.status == 200)
            .filter(|c| c.params["UserPoolId"] == pool_id && c.params["JobId"] == job_id)
            .count()
    }

    /// Sets a job's status. Leaving `Created` (other than to `Expired`) sets
    /// `StartDate` if unset; `Succeeded`, `Failed`, `Stopped` and `Expired`
    /// set `CompletionDate` if unset. Panics if the job does not exist (a
    /// seeding mistake in a test).
    pub fn set_job_status(&self, pool_id: &str, job_id: &str, status: &str) {
        let mut inner = self.state.lock();
        let Some(record) = find_mut(&mut inner, pool_id, job_id) else {
            panic!("emulator: no import job {job_id} in pool {pool_id}");
        };
        set_status(&mut record.job, status, util::now_ms());
    }

    /// Finishes a job: status (e.g. `Succeeded`, `Failed`, `Stopped`), user
    /// counts and completion message. Panics if the job does not exist.
    #[allow(clippy::too_many_arguments)]
    pub fn finish_job(
        &self,
        pool_id: &str,
        job_id: &str,
        status: &str,
        imported: i64,
        skipped: i64,
        failed: i64,
        message: &str,
    ) {
        let mut inner = self.state.lock();
        let Some(record) = find_mut(&mut inner, pool_id, job_id) else {
            panic!("emulator: no import job {job_id} in pool {pool_id}");
        };
        set_status(&mut record.job, status, util::now_ms());
        record.job.imported_users = imported;
        record.job.skipped_users = skipped;
        record.job.failed_users = failed;
        record.job.completion_message = Some(message.to_string());
    }

    /// The bytes last received at the job's pre-signed URL (`None` if
    /// nothing was uploaded over HTTP, even for a job seeded with
    /// `csv_uploaded: true`).
    pub fn uploaded_csv(&self, pool_id: &str, job_id: &str) -> Option<Vec<u8>> {
        let inner = self.state.lock();
        find(&inner, pool_id, job_id).and_then(|record| record.csv.as_ref().map(|csv| csv.to_vec()))
    }

    /// The CSV a run of the job reads, for a job seeded with `csv_uploaded:
    /// true` (and no upload); it also marks the job's CSV uploaded. Panics
    /// if the job does not exist.
    pub fn set_job_csv(&self, pool_id: &str, job_id: &str, csv: impl Into<Vec<u8>>) {
        let mut inner = self.state.lock();
        let Some(record) = find_mut(&mut inner, pool_id, job_id) else {
            panic!("emulator: no import job {job_id} in pool {pool_id}");
        };
        record.csv = Some(bytes::Bytes::from(csv.into()));
        record.job.csv_uploaded = true;
    }

    /// Sets a job's `CreationDate` (ms since the epoch), e.g. more than 15
    /// minutes ago, when its pre-signed URL no longer takes an upload.
    /// Panics if the job does not exist.
    pub fn set_creation_date_ms(&self, pool_id: &str, job_id: &str, ms: i64) {
        let mut inner = self.state.lock();
        let Some(record) = find_mut(&mut inner, pool_id, job_id) else {
            panic!("emulator: no import job {job_id} in pool {pool_id}");
        };
        record.job.creation_date_ms = ms;
    }

    /// Sets a job's `CompletionDate` (ms since the epoch), e.g. in the past.
    /// Panics if the job does not exist.
    pub fn set_completion_date_ms(&self, pool_id: &str, job_id: &str, ms: i64) {
        let mut inner = self.state.lock();
        let Some(record) = find_mut(&mut inner, pool_id, job_id) else {
            panic!("emulator: no import job {job_id} in pool {pool_id}");
        };
        record.job.completion_date_ms = Some(ms);
    }

    /// Whether the pool can import password hashes (it can unless told
    /// otherwise): one that cannot refuses a create with
    /// `PasswordHashingAlgorithm` with `OperationNotEnabledException`.
    pub fn set_pool_takes_password_hashes(&self, pool_id: &str, takes: bool) {
        let mut inner = self.state.lock();
        pool_or_default(&mut inner, pool_id).refuses_password_hashes = !takes;
    }

    /// Sets a job's `PasswordHashingAlgorithm` as if it was created with it.
    pub fn set_job_password_algorithm(&self, pool_id: &str, job_id: &str, algorithm: Option<&str>) {
        let mut inner = self.state.lock();
        if let Some(record) = find_mut(&mut inner, pool_id, job_id) {
            record.job.password_hashing_algorithm = algorithm.map(str::to_string);
        }
    }

    /// The status an import gave the user: `CONFIRMED` (a password hash)
    /// or `RESET_REQUIRED` (none); `None` for a user no import created.
    pub fn user_status(&self, pool_id: &str, username: &str) -> Option<String> {
        let inner = self.state.lock();
        inner.pools.get(pool_id)?.user_status.get(username).cloned()
    }
}
