//! The wire: a request as the services read it, what routing makes of it,
//! and the responses they answer with (S3's XML, the JSON protocols).

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Response, StatusCode};
use serde_json::Value;

pub(crate) type Resp = Response<Full<Bytes>>;

/// A request with its body read.
pub(crate) struct Req {
    pub(crate) method: Method,
    /// Still percent-encoded, without the query.
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Req {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// What routing made of a request: the journal's view of it and the
/// service's own request (`T`).
pub(crate) struct Routed<T> {
    pub(crate) service: &'static str,
    pub(crate) operation: String,
    pub(crate) params: Value,
    /// Where `Fault::matching` looks: S3 key, `<pool>/<job>`, raw JSON body.
    pub(crate) subject: String,
    /// `PutEvents`: the raw `Detail` of each entry.
    pub(crate) entry_details: Vec<String>,
    pub(crate) target: T,
}

impl<T> Routed<T> {
    /// The same request with its service's part made into `U`.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Routed<U> {
        Routed {
            service: self.service,
            operation: self.operation,
            params: self.params,
            subject: self.subject,
            entry_details: self.entry_details,
            target: f(self.target),
        }
    }
}

fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("EMU{:013X}", NEXT.fetch_add(1, Ordering::Relaxed))
}

pub(crate) fn respond(status: u16, body: impl Into<Bytes>) -> Resp {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
}

/// Adds a header; a name or value that HTTP cannot carry is left out.
pub(crate) fn add_header(response: &mut Resp, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        response.headers_mut().append(name, value);
    }
}

/// An S3-style response with its request-ID headers.
pub(crate) fn s3_response(status: u16, body: impl Into<Bytes>) -> Resp {
    let mut response = respond(status, body);
    add_header(&mut response, "x-amz-request-id", &request_id());
    add_header(&mut response, "x-amz-id-2", "emulator");
    response
}

pub(crate) fn xml_error(status: u16, code: &str, message: &str, head: bool) -> Resp {
    let request_id = request_id();
    let body = if head {
        String::new()
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{}</RequestId></Error>",
            xml_escape(code),
            xml_escape(message),
            request_id
        )
    };
    let mut response = respond(status, body);
    if !head {
        add_header(&mut response, "content-type", "application/xml");
    }
    add_header(&mut response, "x-amz-request-id", &request_id);
    add_header(&mut response, "x-amz-id-2", "emulator");
    response
}

pub(crate) fn json_response(status: u16, body: &Value) -> Resp {
    let mut response = respond(status, body.to_string());
    add_header(&mut response, "content-type", "application/x-amz-json-1.1");
    add_header(&mut response, "x-amzn-requestid", &request_id());
    response
}

pub(crate) fn json_error(status: u16, code: &str, message: &str) -> Resp {
    let mut response = json_response(
        status,
        &serde_json::json!({ "__type": code, "message": message }),
    );
    add_header(&mut response, "x-amzn-errortype", code);
    response
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}
