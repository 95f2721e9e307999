//! An in-process emulator of the three AWS APIs the function talks to:
//! S3 (`HeadObject`, `GetObject`, `PutObject`, `DeleteObject`, path-style;
//! versioning enabled or suspended, [`Emulator::set_versioning`]; `If-Match`
//! on reads),
//! Cognito's user-import-job API (awsJson1_1) with the job's pre-signed CSV
//! upload URL, and EventBridge `PutEvents` (awsJson1_1).
//!
//! It listens on `127.0.0.1` only, speaks plain HTTP/1.1, accepts any SigV4
//! signature, journals every request, and can inject faults (errors, delays,
//! hangs, dropped connections, failed `PutEvents` entries). [`runtime_api`]
//! emulates the Lambda Runtime API, to run the real `bootstrap` binary.
//!
//! It also answers CloudWatch Logs `FilterLogEvents` and `GetLogEvents`
//! (awsJson1_1) over the log streams it writes, such as the per-user lines
//! of an import job it runs ([`Emulator::set_logs_paging`] for the paging).
//!
//! Cognito's one import at a time per account is on with
//! [`Emulator::enforce_one_active_job`]; started jobs run on their own for
//! [`Emulator::set_job_run_time`]. SQS: queues (FIFO or standard, with
//! visibility, receive counts and a dead-letter queue) driven through the
//! Rust API as Lambda's event source mapping drives them
//! ([`Emulator::run_event_source`]), and `ChangeMessageVisibility` (and its
//! batch) over HTTP (awsJson1_0), which the function calls.
//!
//! It does not depend on the function: the function's crate takes it as a
//! dev-dependency only (tests, benchmarks), the local runner (`local/`) as a
//! dependency, so it is never part of the Lambda binary.
//!
//! ```ignore
//! let emu = Emulator::start().await?;
//! let sdk = aws_config::SdkConfig::builder().endpoint_url(emu.endpoint())/* ... */;
//! let job = emu.create_import_job("us-east-1_Example", "users", true);
//! emu.put_object("drop", "users.csv", "...", &[("user-pool-id", &job.pool_id), ("job-id", &job.job_id)]);
//! ```
//!
//! Dates: Cognito answers dates as epoch seconds with milliseconds
//! (`1764063062.25`), as the real service does; S3 `Last-Modified` is an
//! IMF-fixdate. The emulated account is [`ACCOUNT_ID`] in [`REGION`].

mod cognito;
mod eventbridge;
mod faults;
mod journal;
mod logs;
pub mod runtime_api;
mod s3;
mod s3_read;
mod server;
mod sqs;
mod util;
mod wire;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::task::JoinHandle;

pub use faults::{Fault, FaultAction};
pub use journal::Call;
pub use s3::{Versioning, NULL_VERSION};

pub use cognito::{ImportRun, RunOptions};
pub use s3_read::ObjectContent;
pub use sqs::{EventSourceStats, QueueOptions, QueueRef, QueuedMessage};

/// The account that owns every emulated bucket unless
/// [`Emulator::set_bucket_owner`] says otherwise, and that appears in ARNs.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region that appears in ARNs and pre-signed URLs.
pub const REGION: &str = "us-east-1";
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

/// One stored object version, as `put_object` reports it.
#[derive(Clone, Debug)]
pub struct StoredObject {
    pub bucket: String,
    pub key: String,
    /// As S3 reports it: the generated (or given) ID when versioning is
    /// enabled, `Some("null")` for an object written while it is suspended,
    /// `None` in a bucket that was never versioned.
    pub version_id: Option<String>,
    /// Quoted, as S3 sends it: `"\"<md5 hex>\""`; over 8 MiB a
    /// multipart-style `"\"<hex>-<parts>\""`.
    pub etag: String,
    pub size: u64,
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

/// One accepted `PutEvents` entry.
#[derive(Clone, Debug)]
pub struct PutEventEntry {
    pub event_bus_name: Option<String>,
    pub source: String,
    pub detail_type: String,
    /// The parsed `Detail`.
    pub detail: serde_json::Value,
    pub resources: Vec<String>,
}

/// The shared state behind the server and the [`Emulator`] handle.
pub(crate) struct State {
    inner: Mutex<Inner>,
    pub(crate) endpoint: String,
    pub(crate) rng: util::Rng,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) buckets: BTreeMap<String, s3::Bucket>,
    pub(crate) pools: BTreeMap<String, cognito::Pool>,
    pub(crate) jobs: Vec<cognito::JobRecord>,
    pub(crate) next_seq: u64,
    pub(crate) events: Vec<PutEventEntry>,
    pub(crate) calls: Vec<Call>,
    pub(crate) faults: Vec<Fault>,
    /// CloudWatch Logs: groups, streams, events and the paging behaviour.
    pub(crate) logs: logs::Logs,
    /// Cognito's one import job at a time per account, when on.
    pub(crate) one_active_job: bool,
    /// How long a started job runs on its own (`None`: until a test runs it).
    pub(crate) job_run_time: Option<std::time::Duration>,
    /// Jobs that run on their own only count their rows (benchmarks).
    pub(crate) light_runs: bool,
    /// SQS queues by name.
    pub(crate) queues: BTreeMap<String, sqs::Queue>,
    /// Body bytes sent for `GetObject`, by bucket and key.
    pub(crate) bytes_served: BTreeMap<(String, String), u64>,
}

impl State {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The running emulator. Dropping it stops the server and closes every
/// connection, hung ones included.
pub struct Emulator {
    state: Arc<State>,
    server: JoinHandle<()>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("endpoint", &self.state.endpoint)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start() -> std::io::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State {
            inner: Mutex::new(Inner::default()),
            endpoint: format!("http://127.0.0.1:{port}"),
            rng: util::Rng::new(),
        });
        let server = tokio::spawn(server::serve(listener, Arc::clone(&state)));
        Ok(Emulator { state, server })
    }

    /// `http://127.0.0.1:PORT`: the endpoint URL for all three services.
    pub fn endpoint(&self) -> String {
        self.state.endpoint.clone()
    }

    // ---- S3 ----

    /// Creates (or re-configures) a bucket owned by [`ACCOUNT_ID`], with
    /// versioning [`Versioning::Enabled`] or [`Versioning::Unversioned`].
    pub fn create_bucket(&self, bucket: &str, versioned: bool) {
        let versioning = if versioned {
            Versioning::Enabled
        } else {
            Versioning::Unversioned
        };
        self.set_versioning(bucket, versioning);
    }

    /// Sets the bucket's versioning state (creating the bucket if missing),
    /// as `PutBucketVersioning` does: [`Versioning::Suspended`] after
    /// [`Versioning::Enabled`] keeps the versions made so far and names every
    /// later put [`NULL_VERSION`]. (Real S3 never goes back to
    /// `Unversioned`; the emulator allows it, to reset a bucket.)
    pub fn set_versioning(&self, bucket: &str, versioning: Versioning) {
        let mut inner = self.state.lock();
        let entry = inner
            .buckets
            .entry(bucket.to_string())
            .or_insert_with(s3::Bucket::new);
        entry.versioning = versioning;
    }

    /// Sets the bucket's owner account (creating the bucket if missing).
    /// Requests with another `x-amz-expected-bucket-owner` get 403.
    pub fn set_bucket_owner(&self, bucket: &str, account_id: &str) {
        let mut inner = self.state.lock();
        let entry = inner
            .buckets
            .entry(bucket.to_string())
            .or_insert_with(s3::Bucket::new);
        entry.owner = account_id.to_string();
    }

    /// Stores an object (creating the bucket, unversioned, if missing). With
    /// versioning enabled each put makes a new version; suspended, each put
    /// replaces the "null" version. Metadata names are lowercased, as S3
    /// does. Content type `binary/octet-stream`.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: impl Into<Vec<u8>>,
        metadata: &[(&str, &str)],
    ) -> StoredObject {
        self.put(bucket, key, None, body.into(), metadata)
    }

    /// Like [`Emulator::put_object`] with a given version ID (to match a
    /// sample event's `versionId`): creates the bucket with versioning
    /// enabled if missing, replaces a version with that ID ([`NULL_VERSION`]
    /// is the null version), and becomes the latest.
    pub fn put_object_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
        body: impl Into<Vec<u8>>,
        metadata: &[(&str, &str)],
    ) -> StoredObject {
        self.put(bucket, key, Some(version_id), body.into(), metadata)
    }

    fn put(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        body: Vec<u8>,
        metadata: &[(&str, &str)],
    ) -> StoredObject {
        let object = s3::NewObject {
            body: bytes::Bytes::from(body),
            content_type: "binary/octet-stream".to_string(),
            metadata: metadata
                .iter()
                .map(|(name, value)| (name.to_ascii_lowercase(), value.to_string()))
                .collect(),
            version_id: version_id.map(str::to_string),
        };
        let mut inner = self.state.lock();
        s3::put(&mut inner, &self.state.rng, bucket, key, object)
    }

    /// Deletes the object: removes it from an unversioned bucket, adds a
    /// delete marker when versioning is enabled (older versions stay
    /// readable by ID); suspended, the marker is the "null" version and
    /// replaces it.
    pub fn delete_object(&self, bucket: &str, key: &str) {
        let mut inner = self.state.lock();
        s3::delete(&mut inner, &self.state.rng, bucket, key);
    }

    // ---- Cognito ----

    /// Registers (or replaces the name and header of) a user pool.
    pub fn create_user_pool(&self, pool_id: &str, pool_name: &str, csv_header: &[&str]) {
        let mut inner = self.state.lock();
        cognito::upsert_pool(&mut inner, pool_id, pool_name, csv_header);
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
        if !inner.pools.contains_key(pool_id) {
            cognito::upsert_pool(&mut inner, pool_id, DEFAULT_POOL_NAME, DEFAULT_CSV_HEADER);
        }
        cognito::insert_job(
            &mut inner,
            &self.state,
            pool_id,
            job_id,
            job_name,
            SEEDED_LOGS_ROLE_ARN,
            csv_uploaded,
        )
    }

    pub fn job(&self, pool_id: &str, job_id: &str) -> Option<ImportJob> {
        let mut inner = self.state.lock();
        cognito::advance_jobs(&mut inner, util::now_ms());
        cognito::find(&inner, pool_id, job_id).map(|record| record.job.clone())
    }

    /// Every job of every pool, oldest first.
    pub fn jobs(&self) -> Vec<ImportJob> {
        let mut inner = self.state.lock();
        cognito::advance_jobs(&mut inner, util::now_ms());
        inner.jobs.iter().map(|record| record.job.clone()).collect()
    }

    // ---- Cognito: one import at a time ----

    /// Cognito's rule "only one import job can be active at a time per
    /// account" (off by default): a `StartUserImportJob` while any job of
    /// any pool is `Pending`, `InProgress` or `Stopping` is refused with
    /// `PreconditionNotMetException` "No csv file was uploaded for <job
    /// id>", the same answer as for a job without its CSV.
    pub fn enforce_one_active_job(&self, on: bool) {
        self.state.lock().one_active_job = on;
    }

    /// With `Some(d)`, a started job runs on its own: `Pending` for the
    /// first half of `d` after its `StartDate`, `InProgress` for the second,
    /// then run to its end as [`Emulator::run_import_job`] runs it (its log
    /// lines, counts, `Succeeded`, `CompletionDate` = `StartDate` + `d`); a
    /// job without CSV bytes ends `Succeeded` with no users. Jobs are
    /// brought up to date before every Cognito request and in every
    /// accessor that reads them. `None` (default): jobs wait for a test.
    pub fn set_job_run_time(&self, run_time: Option<std::time::Duration>) {
        self.state.lock().job_run_time = run_time;
    }

    /// With `true`, a job that runs on its own ([`Emulator::set_job_run_time`])
    /// ends with every data row imported and writes no log lines: for
    /// benchmarks of files of millions of rows, where checking each row and
    /// writing its line would cost the emulator more than the function.
    pub fn set_light_job_runs(&self, light: bool) {
        self.state.lock().light_runs = light;
    }

    /// The most jobs of the account ever active at the same moment, from
    /// their start and completion instants (a job still active counts up
    /// to now).
    pub fn max_active_jobs(&self) -> usize {
        let mut inner = self.state.lock();
        let now = util::now_ms();
        cognito::advance_jobs(&mut inner, now);
        let mut edges: Vec<(i64, i32)> = Vec::new();
        for record in &inner.jobs {
            let job = &record.job;
            let Some(start) = job.start_date_ms else {
                continue;
            };
            let end = job.completion_date_ms.unwrap_or(now.max(start) + 1);
            edges.push((start, 1));
            edges.push((end.max(start), -1));
        }
        // An end and a start at the same instant do not overlap.
        edges.sort();
        let (mut active, mut most) = (0i32, 0i32);
        for (_, step) in edges {
            active += step;
            most = most.max(active);
        }
        usize::try_from(most).unwrap_or(0)
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

    // ---- S3: what was read ----

    /// The body bytes sent for `GetObject` of that key (every version;
    /// ranged reads count their range only).
    pub fn s3_bytes_served(&self, bucket: &str, key: &str) -> u64 {
        self.state
            .lock()
            .bytes_served
            .get(&(bucket.to_string(), key.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Sets a job's status. Leaving `Created` (other than to `Expired`) sets
    /// `StartDate` if unset; `Succeeded`, `Failed`, `Stopped` and `Expired`
    /// set `CompletionDate` if unset. Panics if the job does not exist (a
    /// seeding mistake in a test).
    pub fn set_job_status(&self, pool_id: &str, job_id: &str, status: &str) {
        let mut inner = self.state.lock();
        let Some(record) = cognito::find_mut(&mut inner, pool_id, job_id) else {
            panic!("emulator: no import job {job_id} in pool {pool_id}");
        };
        cognito::set_status(&mut record.job, status, util::now_ms());
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
        let Some(record) = cognito::find_mut(&mut inner, pool_id, job_id) else {
            panic!("emulator: no import job {job_id} in pool {pool_id}");
        };
        cognito::set_status(&mut record.job, status, util::now_ms());
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
        cognito::find(&inner, pool_id, job_id)
            .and_then(|record| record.csv.as_ref().map(|csv| csv.to_vec()))
    }

    // ---- Cognito: running an import job to its end ----

    /// Runs a started job (`Pending` or `InProgress`) as Cognito does, with
    /// every log line written at once: see [`Emulator::run_import_job_with`].
    pub fn run_import_job(&self, pool_id: &str, job_id: &str) -> Result<ImportRun, String> {
        self.run_import_job_with(pool_id, job_id, RunOptions::default())
    }

    /// Runs a started job over its CSV (the bytes uploaded to its pre-signed
    /// URL, or [`Emulator::set_job_csv`]): each data row, in file order
    /// (the first row after the header is line 1), is
    /// - `FAILED` when neither `email_verified` nor `phone_number_verified`
    ///   is `true` (any case), else when `email` is given and not like
    ///   `x@y.z`, or `phone_number` is given and not E.164, or (the
    ///   emulator's own rule) `cognito:username` is empty;
    /// - else `SKIPPED` when `cognito:username` is already a user of the pool
    ///   ([`Emulator::add_user`], earlier rows and imports);
    /// - else `SUCCEEDED`, and the user is added to the pool.
    ///
    /// Each row writes `[<STATUS>] Line Number <n> - <reason>` to log group
    /// `/aws/cognito/userpools/<pool id>/<pool name>`, stream
    /// `<job id>/<job name>` (created even when no line is written yet). The
    /// job ends `Succeeded` with the counts, `CompletionDate` now and
    /// `CompletionMessage` `Import Job Completed Successfully.`. With
    /// [`RunOptions::logged_rows`] `Some(k)` only the first `k` lines are
    /// written; [`Emulator::release_log_lines`] writes the rest. An error
    /// names what is missing: the job, its start, its CSV.
    pub fn run_import_job_with(
        &self,
        pool_id: &str,
        job_id: &str,
        options: RunOptions,
    ) -> Result<ImportRun, String> {
        let mut inner = self.state.lock();
        cognito::run_job(&mut inner, pool_id, job_id, &options, util::now_ms())
    }

    /// Writes the log lines a run held back ([`RunOptions::logged_rows`]),
    /// timestamped now; returns how many. Panics if the job does not exist.
    pub fn release_log_lines(&self, pool_id: &str, job_id: &str) -> usize {
        let mut inner = self.state.lock();
        cognito::release_log_lines(&mut inner, pool_id, job_id, util::now_ms())
    }

    /// The CSV a run of the job reads, for a job seeded with `csv_uploaded:
    /// true` (and no upload); it also marks the job's CSV uploaded. Panics
    /// if the job does not exist.
    pub fn set_job_csv(&self, pool_id: &str, job_id: &str, csv: impl Into<Vec<u8>>) {
        let mut inner = self.state.lock();
        let Some(record) = cognito::find_mut(&mut inner, pool_id, job_id) else {
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
        let Some(record) = cognito::find_mut(&mut inner, pool_id, job_id) else {
            panic!("emulator: no import job {job_id} in pool {pool_id}");
        };
        record.job.creation_date_ms = ms;
    }

    /// Sets a job's `CompletionDate` (ms since the epoch), e.g. in the past.
    /// Panics if the job does not exist.
    pub fn set_completion_date_ms(&self, pool_id: &str, job_id: &str, ms: i64) {
        let mut inner = self.state.lock();
        let Some(record) = cognito::find_mut(&mut inner, pool_id, job_id) else {
            panic!("emulator: no import job {job_id} in pool {pool_id}");
        };
        record.job.completion_date_ms = Some(ms);
    }

    /// Adds a user to the pool (created if missing, as by the job seeders),
    /// so that an import of that `cognito:username` is `SKIPPED`.
    pub fn add_user(&self, pool_id: &str, username: &str) {
        let mut inner = self.state.lock();
        if !inner.pools.contains_key(pool_id) {
            cognito::upsert_pool(&mut inner, pool_id, DEFAULT_POOL_NAME, DEFAULT_CSV_HEADER);
        }
        if let Some(pool) = inner.pools.get_mut(pool_id) {
            pool.users.insert(username.to_string());
        }
    }

    /// Whether the pool can import password hashes (it can unless told
    /// otherwise): one that cannot refuses a create with
    /// `PasswordHashingAlgorithm` with `OperationNotEnabledException`.
    pub fn set_pool_takes_password_hashes(&self, pool_id: &str, takes: bool) {
        let mut inner = self.state.lock();
        if !inner.pools.contains_key(pool_id) {
            cognito::upsert_pool(&mut inner, pool_id, DEFAULT_POOL_NAME, DEFAULT_CSV_HEADER);
        }
        if let Some(pool) = inner.pools.get_mut(pool_id) {
            pool.refuses_password_hashes = !takes;
        }
    }

    /// Sets a job's `PasswordHashingAlgorithm` as if it was created with it.
    pub fn set_job_password_algorithm(&self, pool_id: &str, job_id: &str, algorithm: Option<&str>) {
        let mut inner = self.state.lock();
        if let Some(record) = cognito::find_mut(&mut inner, pool_id, job_id) {
            record.job.password_hashing_algorithm = algorithm.map(str::to_string);
        }
    }

    /// The status an import gave the user: `CONFIRMED` (a password hash)
    /// or `RESET_REQUIRED` (none); `None` for a user no import created.
    pub fn user_status(&self, pool_id: &str, username: &str) -> Option<String> {
        let inner = self.state.lock();
        inner.pools.get(pool_id)?.user_status.get(username).cloned()
    }

    /// The pool's usernames, sorted (empty if the pool does not exist).
    pub fn users(&self, pool_id: &str) -> Vec<String> {
        let inner = self.state.lock();
        inner
            .pools
            .get(pool_id)
            .map(|pool| pool.users.iter().cloned().collect())
            .unwrap_or_default()
    }

    // ---- CloudWatch Logs ----

    /// How `FilterLogEvents` pages: at most `page_size` events a response
    /// (default 10,000; `limit` can lower it), and `empty_pages_between`
    /// empty pages (no events, a `nextToken`) before each page of events and
    /// after the last one, before the final page without a token (default
    /// 0), as the real service may answer. Only a response without
    /// `nextToken` ends a listing. `page_size` also caps `GetLogEvents`.
    pub fn set_logs_paging(&self, page_size: usize, empty_pages_between: usize) {
        self.state
            .lock()
            .logs
            .set_paging(page_size, empty_pages_between);
    }

    /// Appends events to a log stream, timestamped now (creating the group
    /// and stream if missing).
    pub fn put_log_events(&self, group: &str, stream: &str, messages: &[&str]) {
        let now = util::now_ms();
        let events: Vec<(i64, &str)> = messages.iter().map(|m| (now, *m)).collect();
        self.state.lock().logs.put(group, stream, &events, now);
    }

    /// Like [`Emulator::put_log_events`] with each event's timestamp (ms).
    pub fn put_log_events_at(&self, group: &str, stream: &str, events: &[(i64, &str)]) {
        self.state
            .lock()
            .logs
            .put(group, stream, events, util::now_ms());
    }

    /// The messages of a log stream, in the order `GetLogEvents` reads them
    /// (by timestamp, then arrival); empty if the stream does not exist.
    pub fn log_events(&self, group: &str, stream: &str) -> Vec<String> {
        self.state.lock().logs.messages(group, stream)
    }

    // ---- S3: reading back what was written ----

    /// The latest version of an object as `GetObject` returns it (body, user
    /// metadata, content type, ETag, version ID), e.g. one the function
    /// wrote with `PutObject`; `None` if the bucket or key does not exist.
    /// Not journaled, never faulted.
    pub fn object(&self, bucket: &str, key: &str) -> Option<ObjectContent> {
        s3_read::read(&self.state, bucket, key)
    }

    /// Every (bucket, key) that holds an object now (its latest version not
    /// a delete marker), sorted.
    pub fn object_keys(&self) -> Vec<(String, String)> {
        let inner = self.state.lock();
        inner
            .buckets
            .iter()
            .flat_map(|(bucket, b)| b.live_keys().map(move |key| (bucket.clone(), key.clone())))
            .collect()
    }

    // ---- EventBridge ----

    /// Accepted `PutEvents` entries, in arrival order.
    pub fn events(&self) -> Vec<PutEventEntry> {
        self.state.lock().events.clone()
    }

    // ---- Journal ----

    /// Every request, in arrival order, faulted ones included.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().calls.clone()
    }

    /// How many requests of this operation arrived.
    pub fn count(&self, operation: &str) -> usize {
        self.state
            .lock()
            .calls
            .iter()
            .filter(|call| call.operation == operation)
            .count()
    }

    // ---- Faults ----

    /// Adds a fault after those already active.
    pub fn inject(&self, fault: Fault) {
        self.state.lock().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.state.lock().faults.clear();
    }

    // ---- Concurrency ----

    /// The most requests of `operation` the emulator handled at once, over
    /// the whole journal. From a request's arrival until the emulator is done
    /// with it (answered, dropped, or stopped while hung); see [`Call::in_flight`].
    pub fn max_in_flight(&self, operation: &str) -> usize {
        self.max_in_flight_since(operation, 0)
    }

    /// Like [`Emulator::max_in_flight`] among the calls from journal index
    /// `since` on: the reset. Take `since = emulator.calls().len()` before
    /// the part to measure (the journal only grows).
    pub fn max_in_flight_since(&self, operation: &str, since: usize) -> usize {
        journal::max_in_flight(&self.state.lock().calls, operation, since)
    }
}
