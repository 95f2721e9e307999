//! The router: the accept loop, which service a request goes to, its
//! fault and its journal entry. The services answer through `wire`.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::eventbridge::EntryFault;
use super::faults::{self, FaultAction, Subject};
use super::journal::{self, Call};
use super::wire::{json_error, xml_error, Req, Resp, Routed};
use super::{cognito, eventbridge, logs, s3, sqs, State};

/// The service "error" that makes hyper close the connection without
/// answering.
#[derive(Debug)]
pub(crate) struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the emulator")
    }
}

impl std::error::Error for Dropped {}

/// Serves the emulator's AWS endpoints on `listener`.
pub(crate) async fn serve(listener: TcpListener, state: Arc<State>) {
    accept_loop(listener, state, handle).await
}

/// Accepts connections until the task is aborted, answering each request
/// with `handle(state, request)`. Connections live in a `JoinSet`, so
/// aborting this task (dropping the set) closes them all, hung ones included.
/// Shared by the AWS endpoints and the Lambda Runtime API.
pub(crate) async fn accept_loop<S, H, Fut, E>(listener: TcpListener, state: Arc<S>, handle: H)
where
    S: Send + Sync + 'static,
    H: Fn(Arc<S>, Request<Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Resp, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let state = Arc::clone(&state);
                    connections.spawn(async move {
                        let service = service_fn(move |request| handle(Arc::clone(&state), request));
                        // A connection error only concerns that connection.
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                // Out of file descriptors and the like: back off a little.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// The service a request goes to, with what it needs of the request.
pub(crate) enum Target {
    S3(s3::S3Request),
    Cognito(String, Value),
    Events(Value),
    Logs(String, Value),
    Sqs(String, Value),
    Upload(cognito::upload::Upload),
    /// Answered without touching the state (bad path, unknown operation...).
    Reject(Resp),
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Result<Resp, Dropped> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    let head = parts.method == Method::HEAD;
    let method = parts.method.to_string();
    let req = Req {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body,
    };
    let path = req.path.clone();
    let routed = route(req);
    let index = journal::record(
        &state,
        Call {
            service: routed.service,
            operation: routed.operation.clone(),
            method,
            path,
            params: routed.params.clone(),
            status: 0,
            in_flight: 0,
            done_at: None,
        },
    );
    // In flight from here until this function returns or is dropped.
    let _handling = journal::Handling {
        state: &state,
        index,
    };
    let fault = {
        let mut inner = state.lock();
        faults::take(
            &mut inner.faults,
            &Subject {
                operation: &routed.operation,
                text: &routed.subject,
                entry_details: &routed.entry_details,
            },
        )
    };
    let mut entry_fault = None;
    if let Some(fault) = fault {
        match fault.action {
            FaultAction::Error {
                status,
                code,
                message,
            } => {
                let response = match routed.service {
                    "s3" | "upload" => xml_error(status, &code, &message, head),
                    _ => json_error(status, &code, &message),
                };
                journal::set_status(&state, index, response.status().as_u16());
                return Ok(response);
            }
            FaultAction::Delay(delay) => tokio::time::sleep(delay).await,
            FaultAction::Hang => std::future::pending::<()>().await,
            FaultAction::Drop => return Err(Dropped),
            FaultAction::LoseResponse => {
                execute(&state, routed.target, None);
                return Err(Dropped);
            }
            FaultAction::FailEntries { code } => {
                entry_fault = Some(EntryFault {
                    code,
                    matching: fault.matching,
                })
            }
        }
    }
    let response = execute(&state, routed.target, entry_fault.as_ref());
    journal::set_status(&state, index, response.status().as_u16());
    Ok(response)
}

fn route(req: Req) -> Routed<Target> {
    if let Some(target) = req.header("x-amz-target") {
        let target = target.to_string();
        return route_json(&target, &req.body);
    }
    if req.path.starts_with("/_upload/") {
        return cognito::upload::route(req).map(|t| t.map_or_else(Target::Reject, Target::Upload));
    }
    s3::route(req).map(|t| t.map_or_else(Target::Reject, Target::S3))
}

fn route_json(target: &str, body: &Bytes) -> Routed<Target> {
    let (prefix, operation) = target.split_once('.').unwrap_or(("", target));
    let service = match prefix {
        "AWSCognitoIdentityProviderService" => "cognito-idp",
        "AWSEvents" => "events",
        "Logs_20140328" => "logs",
        "AmazonSQS" => "sqs",
        _ => "unknown",
    };
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let entry_details = parsed
        .as_ref()
        .filter(|_| service == "events" && operation == "PutEvents")
        .and_then(|body| body.get("Entries"))
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|entry| entry.get("Detail").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let unknown = || {
        Target::Reject(json_error(
            400,
            "UnknownOperationException",
            &format!("Unknown operation {target}"),
        ))
    };
    let target = match (service, parsed.clone()) {
        ("unknown", _) => unknown(),
        ("cognito-idp", _) if !cognito::OPERATIONS.contains(&operation) => unknown(),
        ("events", _) if operation != "PutEvents" => unknown(),
        ("logs", _) if !logs::OPERATIONS.contains(&operation) => unknown(),
        ("sqs", _) if !sqs::OPERATIONS.contains(&operation) => unknown(),
        (_, None) => Target::Reject(json_error(
            400,
            "SerializationException",
            "The request body is not valid JSON",
        )),
        ("cognito-idp", Some(body)) => Target::Cognito(operation.to_string(), body),
        ("logs", Some(body)) => Target::Logs(operation.to_string(), body),
        ("sqs", Some(body)) => Target::Sqs(operation.to_string(), body),
        (_, Some(body)) => Target::Events(body),
    };
    Routed {
        service,
        operation: operation.to_string(),
        params: parsed.unwrap_or(Value::Null),
        subject: String::from_utf8_lossy(body).into_owned(),
        entry_details,
        target,
    }
}

fn execute(state: &State, target: Target, entry_fault: Option<&EntryFault>) -> Resp {
    match target {
        Target::Reject(response) => response,
        Target::S3(request) => s3::execute(state, request),
        Target::Cognito(operation, body) => cognito::execute(state, &operation, &body),
        Target::Events(body) => eventbridge::put_events(state, &body, entry_fault),
        Target::Logs(operation, body) => logs::execute(state, &operation, &body),
        Target::Sqs(operation, body) => sqs::execute(state, &operation, &body),
        Target::Upload(upload) => cognito::upload::receive(state, upload),
    }
}
