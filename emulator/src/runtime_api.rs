//! An emulated Lambda Runtime API (2018-06-01), so that tests can run the
//! real `bootstrap` binary the way Lambda runs it: the process polls
//! `GET /2018-06-01/runtime/invocation/next`, handles the payload, and posts
//! the result to `.../invocation/{id}/response` or `.../invocation/{id}/error`;
//! a runtime that cannot start posts to `/2018-06-01/runtime/init/error`.
//!
//! Like the rest of the emulator it listens on `127.0.0.1` only and is never
//! part of the Lambda binary.
//!
//! ```ignore
//! let api = RuntimeApi::start().await?;
//! // spawn the binary with AWS_LAMBDA_RUNTIME_API=api.address() ...
//! let id = api.enqueue(json!({"UserPoolId": "...", "JobId": "..."}), Duration::from_secs(10));
//! let result = api.result(&id, Duration::from_secs(5)).await;
//! ```
//!
//! What it answers, as Lambda does:
//! - `/next` long-polls until an invocation is queued, then 200 with the
//!   payload and the headers `Lambda-Runtime-Aws-Request-Id`,
//!   `Lambda-Runtime-Deadline-Ms` (epoch milliseconds),
//!   `Lambda-Runtime-Invoked-Function-Arn` and `Lambda-Runtime-Trace-Id`.
//! - `response`, `error` and `init/error`: 202 `{"status":"OK"}`; a request
//!   ID that was never handed out by `/next`, or one already answered, is 400
//!   `InvalidRequestID` / `InvalidStateTransition` and changes nothing.
//! - anything else: 404.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{ACCOUNT_ID, REGION};

const PREFIX: &str = "/2018-06-01/runtime";

/// The name in the `Lambda-Runtime-Invoked-Function-Arn` header.
pub const FUNCTION_NAME: &str = "cognito-import-starter";

/// How an invocation ended, as the runtime reported it.
#[derive(Clone, Debug, PartialEq)]
pub enum Invocation {
    /// `POST .../invocation/{id}/response`: the body, parsed as JSON (a body
    /// that is not JSON is kept as a JSON string).
    Response(Value),
    /// `POST .../invocation/{id}/error`: `errorType` and `errorMessage` of
    /// the body, the whole body, and the `Lambda-Runtime-Function-Error-Type`
    /// header when present.
    Error {
        error_type: String,
        error_message: String,
        raw: Value,
        header: Option<String>,
    },
}

impl Invocation {
    /// The response body, or `None` for an error.
    pub fn response(&self) -> Option<&Value> {
        match self {
            Invocation::Response(value) => Some(value),
            Invocation::Error { .. } => None,
        }
    }

    /// The `errorType`, or `None` for a response.
    pub fn error_type(&self) -> Option<&str> {
        match self {
            Invocation::Response(_) => None,
            Invocation::Error { error_type, .. } => Some(error_type),
        }
    }
}

/// One request the Runtime API received, for diagnostics.
#[derive(Clone, Debug)]
pub struct RuntimeCall {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub at: Instant,
}

struct Queued {
    request_id: String,
    payload: Value,
    deadline_ms: u64,
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<Queued>,
    /// Handed out by `/next`, not yet answered: request ID -> deadline (ms).
    in_flight: HashMap<String, u64>,
    /// Answered: request ID -> (result, when it arrived).
    done: HashMap<String, (Invocation, Instant)>,
    init_error: Option<Value>,
    next_calls: usize,
    first_next_at: Option<Instant>,
    calls: Vec<RuntimeCall>,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Signalled when an invocation is queued.
    queued: Notify,
    /// Signalled when an invocation is answered or init fails.
    answered: Notify,
    next_id: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The secret access key [`RuntimeApi::bootstrap_command`] hands the
/// function: tests look for it in the logs.
pub const SECRET_ACCESS_KEY: &str = "runtime-api-test-secret";

/// The running Runtime API. Dropping it stops the server and closes every
/// connection (a pending `/next` included).
pub struct RuntimeApi {
    shared: Arc<Shared>,
    address: String,
    started_at: Instant,
    server: JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl std::fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeApi")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl RuntimeApi {
    /// Binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = format!("127.0.0.1:{}", listener.local_addr()?.port());
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::default()),
            queued: Notify::new(),
            answered: Notify::new(),
            next_id: AtomicU64::new(1),
        });
        let server = tokio::spawn(super::server::accept_loop(
            listener,
            Arc::clone(&shared),
            handle,
        ));
        Ok(RuntimeApi {
            shared,
            address,
            started_at: Instant::now(),
            server,
        })
    }

    /// `127.0.0.1:PORT`: the value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// A command for a `bootstrap` binary with nothing of this process's
    /// environment but what Lambda always sets: this Runtime API, the
    /// function's name, version and memory size, a region and static
    /// credentials; and `endpoint` (the emulator) for every AWS service.
    /// Callers add what their run needs.
    pub fn bootstrap_command(
        &self,
        binary: impl AsRef<std::ffi::OsStr>,
        endpoint: &str,
    ) -> std::process::Command {
        let mut command = std::process::Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", self.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "cognito-import-starter")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "AKIDRUNTIMEAPITEST")
            .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
            .env("AWS_ENDPOINT_URL", endpoint);
        command
    }

    /// When [`RuntimeApi::start`] returned.
    pub fn started_at(&self) -> Instant {
        self.started_at
    }

    /// Queues an invocation whose deadline is `timeout` from now; returns its
    /// request ID.
    pub fn enqueue(&self, payload: Value, timeout: Duration) -> String {
        let n = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("8476a536-e9f4-11e8-9739-{n:012x}");
        let deadline = SystemTime::now() + timeout;
        let deadline_ms = deadline
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        self.shared.lock().queue.push_back(Queued {
            request_id: request_id.clone(),
            payload,
            deadline_ms,
        });
        // `notify_one` stores a permit when no `/next` is waiting yet.
        self.shared.queued.notify_one();
        request_id
    }

    /// Waits, at most `wait`, until the invocation got a response or an
    /// error. `None` if it did not in time.
    pub async fn result(&self, request_id: &str, wait: Duration) -> Option<Invocation> {
        self.answered_at(request_id, wait)
            .await
            .map(|(invocation, _)| invocation)
    }

    /// Like [`RuntimeApi::result`], with the instant the answer arrived.
    pub async fn answered_at(
        &self,
        request_id: &str,
        wait: Duration,
    ) -> Option<(Invocation, Instant)> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.shared.answered.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(done) = self.shared.lock().done.get(request_id) {
                return Some(done.clone());
            }
            if tokio::time::timeout_at(until, notified).await.is_err() {
                return self.shared.lock().done.get(request_id).cloned();
            }
        }
    }

    /// The body posted to `/init/error`, if any (with the
    /// `Lambda-Runtime-Function-Error-Type` header under
    /// `"_errorTypeHeader"` when it was sent).
    pub fn init_error(&self) -> Option<Value> {
        self.shared.lock().init_error.clone()
    }

    /// How many times `/next` was called (the first call marks the end of
    /// init).
    pub fn next_calls(&self) -> usize {
        self.shared.lock().next_calls
    }

    /// Waits, at most `wait`, until `/next` was called `n` times; returns
    /// the count then (a runtime polls again just after it answers).
    pub async fn wait_next_calls(&self, n: usize, wait: Duration) -> usize {
        let until = Instant::now() + wait;
        loop {
            let calls = self.next_calls();
            if calls >= n || Instant::now() >= until {
                return calls;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// When `/next` was first called.
    pub fn first_next_at(&self) -> Option<Instant> {
        self.shared.lock().first_next_at
    }

    /// Waits, at most `wait`, for the first `/next` call.
    pub async fn wait_first_next(&self, wait: Duration) -> Option<Instant> {
        let until = Instant::now() + wait;
        loop {
            if let Some(at) = self.first_next_at() {
                return Some(at);
            }
            if Instant::now() >= until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Invocations queued and not yet handed out by `/next`.
    pub fn queued(&self) -> usize {
        self.shared.lock().queue.len()
    }

    /// Every request received, in arrival order.
    pub fn calls(&self) -> Vec<RuntimeCall> {
        self.shared.lock().calls.clone()
    }
}

type Resp = Response<Full<Bytes>>;

fn respond(status: u16, body: &Value) -> Resp {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn api_error(status: u16, error_type: &str, message: &str) -> Resp {
    respond(
        status,
        &json!({ "errorType": error_type, "errorMessage": message }),
    )
}

fn accepted() -> Resp {
    respond(202, &json!({ "status": "OK" }))
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Resp, std::convert::Infallible> {
    let (parts, body) = request.into_parts();
    let arrived = Instant::now();
    let path = parts.uri.path().to_string();
    let error_type_header = parts
        .headers
        .get("lambda-runtime-function-error-type")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let response = route(&shared, &parts.method, &path, error_type_header, &body).await;
    shared.lock().calls.push(RuntimeCall {
        method: parts.method.to_string(),
        path,
        status: response.status().as_u16(),
        at: arrived,
    });
    Ok(response)
}

async fn route(
    shared: &Shared,
    method: &Method,
    path: &str,
    error_type_header: Option<String>,
    body: &Bytes,
) -> Resp {
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return api_error(404, "NotFound", "unknown path");
    };
    match (method, rest) {
        (&Method::GET, "/invocation/next") => next(shared).await,
        (&Method::POST, "/init/error") => {
            let mut value = parse_body(body);
            if let (Some(map), Some(header)) = (value.as_object_mut(), error_type_header) {
                map.insert("_errorTypeHeader".into(), header.into());
            }
            shared.lock().init_error = Some(value);
            shared.answered.notify_waiters();
            accepted()
        }
        (&Method::POST, rest) => {
            let Some(rest) = rest.strip_prefix("/invocation/") else {
                return api_error(404, "NotFound", "unknown path");
            };
            let (request_id, outcome) = match rest.rsplit_once('/') {
                Some((id, "response")) => (id, Invocation::Response(parse_body(body))),
                Some((id, "error")) => {
                    let raw = parse_body(body);
                    let field = |name: &str| {
                        raw.get(name)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    let outcome = Invocation::Error {
                        error_type: field("errorType"),
                        error_message: field("errorMessage"),
                        header: error_type_header,
                        raw,
                    };
                    (id, outcome)
                }
                _ => return api_error(404, "NotFound", "unknown path"),
            };
            let mut inner = shared.lock();
            if inner.done.contains_key(request_id) {
                return api_error(
                    400,
                    "InvalidStateTransition",
                    "the invocation was already answered",
                );
            }
            if inner.in_flight.remove(request_id).is_none() {
                return api_error(400, "InvalidRequestID", "unknown request ID");
            }
            inner
                .done
                .insert(request_id.to_string(), (outcome, Instant::now()));
            drop(inner);
            shared.answered.notify_waiters();
            accepted()
        }
        _ => api_error(404, "NotFound", "unknown path"),
    }
}

/// A body that is not JSON is kept as a JSON string.
fn parse_body(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn next(shared: &Shared) -> Resp {
    {
        let mut inner = shared.lock();
        inner.next_calls += 1;
        inner.first_next_at.get_or_insert_with(Instant::now);
    }
    let queued = loop {
        if let Some(queued) = shared.lock().queue.pop_front() {
            break queued;
        }
        // A permit left by `enqueue` (or a wake-up) sends us round again.
        shared.queued.notified().await;
    };
    shared
        .lock()
        .in_flight
        .insert(queued.request_id.clone(), queued.deadline_ms);
    let mut response = respond(200, &queued.payload);
    let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{FUNCTION_NAME}");
    let trace = format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
        queued.deadline_ms / 1000,
        queued.deadline_ms,
        queued.deadline_ms
    );
    for (name, value) in [
        ("lambda-runtime-aws-request-id", queued.request_id.as_str()),
        (
            "lambda-runtime-deadline-ms",
            &queued.deadline_ms.to_string(),
        ),
        ("lambda-runtime-invoked-function-arn", &arn),
        ("lambda-runtime-trace-id", &trace),
    ] {
        if let Ok(value) = hyper::header::HeaderValue::from_str(value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
