//! Create mode, SPEC section 10 step 3: the object, streamed from S3, is PUT
//! to the job's pre-signed URL. The request goes through the SDK's own HTTP
//! stack (hyper 1, rustls on ring, as in `aws::http_client`), so the binary
//! carries one TLS stack. The URL is a credential: it never reaches a log line or a message.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;

use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::http::Request;
use aws_smithy_types::body::SdkBody;

use crate::config::Timeouts;
use crate::error::{ErrorKind, ImportError};

/// The HTTP client of the upload, built once at init in create mode.
#[derive(Clone, Debug)]
pub struct Uploader {
    connector: Arc<Connector>,
}

impl Uploader {
    pub fn new(timeouts: &Timeouts) -> Uploader {
        // The read timeout runs from the first byte sent to the response
        // head, so it must cover the whole body: the upload timeout.
        let settings = HttpConnectorSettings::builder()
            .connect_timeout(timeouts.connect)
            .read_timeout(timeouts.upload)
            .build();
        let connector = Connector::builder()
            .connector_settings(settings)
            .sleep_impl(SharedAsyncSleep::new(TokioSleep::new()))
            .tls_provider(crate::aws::tls_provider())
            .build();
        Uploader {
            connector: Arc::new(connector),
        }
    }

    /// PUTs `length` bytes of `body` to `url` with the header the pre-signed
    /// URL is signed for. Any failure is the retryable `UploadFailed`; `what`
    /// names the job for the message (the URL itself is never shown).
    pub async fn put(
        &self,
        url: &str,
        body: SdkBody,
        length: u64,
        what: &str,
    ) -> Result<(), ImportError> {
        let failed = |why: String| {
            ImportError::new(
                ErrorKind::UploadFailed,
                format!(
                    "upload of the CSV to {what}'s pre-signed URL failed: {why}; the delivery will be retried"
                ),
            )
        };
        let mut request = Request::new(body);
        request
            .set_method("PUT")
            .map_err(|_| failed("the request could not be built".into()))?;
        request
            .set_uri(url)
            .map_err(|_| failed("Cognito returned a pre-signed URL that is not a URL".into()))?;
        request
            .headers_mut()
            .insert("x-amz-server-side-encryption", "aws:kms");
        request
            .headers_mut()
            .insert("content-length", length.to_string());
        let response = self
            .connector
            .call(request)
            .await
            .map_err(|error| failed(connector_failure(&error).into()))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let body = error_body_start(ByteStream::new(response.into_body())).await;
        Err(failed(format!(
            "S3 answered HTTP {status} {}",
            s3_error_code(&body)
        )))
    }
}

/// A part's body (SPEC section 14): the header line, then the part's rows,
/// both as they stream from the pinned object (SPEC section 16: no byte of
/// an upload comes from the plan).
pub fn chain(header: ByteStream, rest: ByteStream) -> SdkBody {
    SdkBody::from_body_1_x(Chain {
        first: Some(header.into_inner()),
        rest: rest.into_inner(),
    })
}

struct Chain {
    first: Option<SdkBody>,
    rest: SdkBody,
}

impl http_body::Body for Chain {
    type Data = Bytes;
    type Error = aws_smithy_types::body::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Some(first) = this.first.as_mut() {
            match Pin::new(first).poll_frame(cx) {
                Poll::Ready(None) => this.first = None,
                other => return other,
            }
        }
        Pin::new(&mut this.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && http_body::Body::is_end_stream(&self.rest)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let rest = http_body::Body::size_hint(&self.rest);
        let first = self.first.as_ref().map_or_else(
            || http_body::SizeHint::with_exact(0),
            http_body::Body::size_hint,
        );
        let mut hint = http_body::SizeHint::new();
        hint.set_lower(rest.lower() + first.lower());
        if let (Some(a), Some(b)) = (rest.upper(), first.upper()) {
            hint.set_upper(a + b);
        }
        hint
    }
}

/// A change of a body's bytes as they stream, chunk by chunk (the
/// `cognito:groups` column dropped, SPEC section 17): `feed` writes what a
/// chunk becomes, `finish` what is held back at the end.
pub trait Reshape: Send + Sync + Unpin + 'static {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>);
    fn finish(self, out: &mut Vec<u8>);
}

/// `body` reshaped as it streams; `length`: the bytes it then holds, which
/// the request's `Content-Length` says.
pub fn reshaped(body: SdkBody, reshape: impl Reshape, length: u64) -> SdkBody {
    SdkBody::from_body_1_x(Reshaped {
        body,
        reshape: Some(reshape),
        left: length,
    })
}

struct Reshaped<R> {
    body: SdkBody,
    /// `None` once the body ended and what it held back was written.
    reshape: Option<R>,
    left: u64,
}

impl<R: Reshape> http_body::Body for Reshaped<R> {
    type Data = Bytes;
    type Error = aws_smithy_types::body::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let Some(reshape) = this.reshape.as_mut() else {
            return Poll::Ready(None);
        };
        let mut out = Vec::new();
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => reshape.feed(&data, &mut out),
                Err(frame) => return Poll::Ready(Some(Ok(frame))),
            },
            Poll::Ready(None) => {
                if let Some(reshape) = this.reshape.take() {
                    reshape.finish(&mut out);
                }
            }
        }
        this.left = this.left.saturating_sub(out.len() as u64);
        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(out)))))
    }

    fn is_end_stream(&self) -> bool {
        self.reshape.is_none()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.left)
    }
}

/// S3's error documents are a few hundred bytes; a larger body (a proxy's
/// page, or a peer that never stops) is not read past this.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// The first bytes of an error response, enough for its `<Code>`.
async fn error_body_start(mut body: ByteStream) -> Vec<u8> {
    let mut start = Vec::new();
    while start.len() < MAX_ERROR_BODY {
        match body.next().await {
            Some(Ok(chunk)) => start.extend_from_slice(&chunk),
            _ => break,
        }
    }
    start.truncate(MAX_ERROR_BODY);
    start
}

/// Says what kind of failure it was without the error's text, which can
/// quote the request URI (and with it the signature).
fn connector_failure(
    error: &aws_smithy_runtime_api::client::result::ConnectorError,
) -> &'static str {
    if error.is_timeout() {
        "no answer in time"
    } else if error.is_io() {
        "the connection failed"
    } else {
        "the request failed"
    }
}

/// The `<Code>` of an S3 XML error body, if it has one.
fn s3_error_code(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| {
            code.chars()
                .filter(char::is_ascii_alphanumeric)
                .take(64)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_error_body_is_read_only_as_far_as_its_code_needs() {
        let huge = format!(
            "<Error><Code>AccessDenied</Code>{}</Error>",
            "x".repeat(10 * MAX_ERROR_BODY)
        );
        let start = error_body_start(ByteStream::from(huge.into_bytes())).await;
        assert_eq!(start.len(), MAX_ERROR_BODY);
        assert_eq!(s3_error_code(&start), "AccessDenied");
    }

    /// Holds back each chunk's last byte until the next, as `ColumnDrop`
    /// holds back a `\r`.
    struct HoldLast(Option<u8>);

    impl Reshape for HoldLast {
        fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
            out.extend(self.0.take());
            if let Some((last, rest)) = chunk.split_last() {
                out.extend_from_slice(rest);
                self.0 = Some(*last);
            }
        }

        fn finish(self, out: &mut Vec<u8>) {
            out.extend(self.0);
        }
    }

    #[tokio::test]
    async fn a_reshaped_body_ends_with_what_was_held_back() {
        let body = chain(
            ByteStream::from_static(b"h1,h2\r"),
            ByteStream::from_static(b"\na,b\r"),
        );
        let body = reshaped(body, HoldLast(None), 12);
        let bytes = ByteStream::new(body).collect().await.unwrap().into_bytes();
        assert_eq!(&bytes[..], b"h1,h2\r\na,b\r");
    }

    #[tokio::test]
    async fn a_part_body_is_the_header_then_the_rest() {
        let body = chain(
            ByteStream::from_static(b"h1,h2\n"),
            ByteStream::from_static(b"a,b\nc,d"),
        );
        let bytes = ByteStream::new(body).collect().await.unwrap().into_bytes();
        assert_eq!(&bytes[..], b"h1,h2\na,b\nc,d");
        let body = chain(
            ByteStream::new(SdkBody::empty()),
            ByteStream::from_static(b"h\nrows"),
        );
        let bytes = ByteStream::new(body).collect().await.unwrap().into_bytes();
        assert_eq!(&bytes[..], b"h\nrows");
    }

    #[test]
    fn error_code_is_read_from_the_xml_body() {
        let body = b"<Error><Code>AccessDenied</Code><Message>no</Message></Error>";
        assert_eq!(s3_error_code(body), "AccessDenied");
        assert_eq!(s3_error_code(b"not xml"), "");
    }
}
