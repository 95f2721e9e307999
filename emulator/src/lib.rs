//! An in-process emulator of the three AWS APIs the function talks to:
//! S3 (`HeadObject`, `GetObject`, `PutObject`, `DeleteObject`, path-style;
//! versioning enabled or suspended, [`Emulator::set_versioning`]; `If-Match`
//! on reads),
//! Cognito's user-import-job API (awsJson1_1) with the job's pre-signed CSV
//! upload URL, the pool's groups (`ListGroups`, `CreateGroup`,
//! `AdminAddUserToGroup`; [`Emulator::user_groups`] reads a user's), and
//! EventBridge `PutEvents` (awsJson1_1).
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
//! Layout: `server` routes each request (journal, faults) to a service, and
//! the services answer through `wire`; each service's file (`s3`, `logs`,
//! `sqs`, `eventbridge`, `cognito/`) holds its part of the [`Emulator`] API.
//! This file holds the shared state, the start and the journal and faults.
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

pub use cognito::run::{ImportRun, RunOptions};
pub use cognito::store::{
    valid_csv, ImportJob, DEFAULT_CSV_HEADER, DEFAULT_POOL_NAME, SEEDED_LOGS_ROLE_ARN,
};
pub use eventbridge::PutEventEntry;
pub use faults::{Fault, FaultAction};
pub use journal::Call;
pub use s3::{StoredObject, Versioning, NULL_VERSION};
pub use s3_read::ObjectContent;
pub use sqs::{EventSourceStats, QueueOptions, QueueRef, QueuedMessage};

/// The account that owns every emulated bucket unless
/// [`Emulator::set_bucket_owner`] says otherwise, and that appears in ARNs.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region that appears in ARNs and pre-signed URLs.
pub const REGION: &str = "us-east-1";
/// The shared state behind the server and the [`Emulator`] handle.
pub(crate) struct State {
    inner: Mutex<Inner>,
    pub(crate) endpoint: String,
    pub(crate) rng: util::Rng,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) buckets: BTreeMap<String, s3::Bucket>,
    pub(crate) pools: BTreeMap<String, cognito::store::Pool>,
    pub(crate) jobs: Vec<cognito::store::JobRecord>,
    pub(crate) next_seq: u64,
    pub(crate) events: Vec<PutEventEntry>,
    pub(crate) calls: Vec<Call>,
    /// The indices in `calls` of the requests being handled (`done_at`
    /// still `None`).
    pub(crate) handling: Vec<usize>,
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
    /// At most this many groups a `ListGroups` page (`None`: `Limit` only).
    pub(crate) list_groups_page_size: Option<usize>,
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
