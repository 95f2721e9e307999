//! Reading an object back for a test or the local runner, through the
//! emulated S3's own GET (so it sees exactly what `GetObject` would: the
//! latest version, a delete marker as missing), without a request in the
//! journal and without any fault.

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use hyper::body::Body;
use hyper::{HeaderMap, Method};

use super::wire::Req;
use super::{s3, Emulator, State};

/// An object as `GetObject` returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectContent {
    pub body: Vec<u8>,
    /// User metadata, names lowercased without `x-amz-meta-`, values
    /// decoded, in the order stored.
    pub metadata: Vec<(String, String)>,
    pub content_type: String,
    /// Quoted, as S3 sends it.
    pub etag: String,
    /// `Some` in a versioned bucket.
    pub version_id: Option<String>,
}

impl ObjectContent {
    /// The value of a user metadata entry (name without `x-amz-meta-`, any
    /// case).
    pub fn metadata_value(&self, name: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The latest version of `bucket`/`key`; `None` when the bucket or key does
/// not exist (or the latest version is a delete marker).
pub(crate) fn read(state: &State, bucket: &str, key: &str) -> Option<ObjectContent> {
    let req = Req {
        method: Method::GET,
        path: format!("/{}/{}", encode(bucket), encode(key)),
        query: None,
        headers: HeaderMap::new(),
        body: Bytes::new(),
    };
    let Ok(request) = s3::route(req).target else {
        return None;
    };
    let response = s3::execute(state, request);
    if response.status() != 200 {
        return None;
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let metadata = response
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            let name = name.as_str().strip_prefix("x-amz-meta-")?;
            let value = String::from_utf8_lossy(value.as_bytes());
            Some((name.to_string(), decode_mail_safe(&value)))
        })
        .collect();
    let content_type = header("content-type").unwrap_or_default();
    let etag = header("etag").unwrap_or_default();
    let version_id = header("x-amz-version-id");
    // A `Full` body is one frame, ready at once.
    let mut body = pin!(response.into_body());
    let mut context = Context::from_waker(Waker::noop());
    let mut bytes = Vec::new();
    while let Poll::Ready(Some(Ok(frame))) = body.as_mut().poll_frame(&mut context) {
        if let Ok(data) = frame.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    Some(ObjectContent {
        body: bytes,
        metadata,
        content_type,
        etag,
        version_id,
    })
}

/// Percent-encodes every byte but unreserved characters and `/`.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Undoes S3's RFC 2047 form of a non-ASCII metadata value
/// (`=?UTF-8?B?<base64>?=`); any other value as is.
fn decode_mail_safe(value: &str) -> String {
    value
        .strip_prefix("=?UTF-8?B?")
        .and_then(|rest| rest.strip_suffix("?="))
        .and_then(base64_decode)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| value.to_string())
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|&c| c != b'=') {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

// ---- the Rust API ----

impl Emulator {
    /// The latest version of an object as `GetObject` returns it (body, user
    /// metadata, content type, ETag, version ID), e.g. one the function
    /// wrote with `PutObject`; `None` if the bucket or key does not exist.
    /// Not journaled, never faulted.
    pub fn object(&self, bucket: &str, key: &str) -> Option<ObjectContent> {
        read(&self.state, bucket, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        assert_eq!(
            encode("results/import-1/a b+%.csv"),
            "results/import-1/a%20b%2B%25.csv"
        );
        assert_eq!(
            crate::util::percent_decode(&encode("é/ü x")).as_deref(),
            Some("é/ü x")
        );
        let encoded = format!(
            "=?UTF-8?B?{}?=",
            crate::util::base64("Zoë ünïcode".as_bytes())
        );
        assert_eq!(decode_mail_safe(&encoded), "Zoë ünïcode");
        assert_eq!(decode_mail_safe("plain"), "plain");
    }
}
