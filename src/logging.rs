//! The log subscriber: lambda_runtime's default one (format from
//! `AWS_LAMBDA_LOG_FORMAT`, level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`),
//! with one difference. At TRACE the AWS SDK prints every response body, so
//! Cognito's `PreSignedUrl`, and every request it signs; SPEC section 8
//! allows neither in a log. So the SDK and the HTTP stack below it never log
//! above DEBUG, whatever level is asked for.

use std::str::FromStr;

use lambda_runtime::tracing::subscriber::filter::{filter_fn, EnvFilter, LevelFilter};
use lambda_runtime::tracing::subscriber::fmt::MakeWriter;
use lambda_runtime::tracing::subscriber::{fmt, prelude::*, registry};
use tracing::{Level, Metadata};

/// The crates that may print a response body or a signed request at TRACE.
const HELD_AT_DEBUG: [&str; 5] = ["aws_", "hyper", "h2", "rustls", "tokio_rustls"];

/// Installs the subscriber for the process, writing to stdout as Lambda
/// expects. Call once, first thing in `main`.
pub fn init() {
    init_with_writer(std::io::stdout);
}

/// [`init`] with another writer (the local runner logs to stderr).
pub fn init_with_writer<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG"));
    let level =
        LevelFilter::from_str(level.as_deref().unwrap_or("INFO")).unwrap_or(LevelFilter::INFO);
    let levels = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy();
    let held = filter_fn(allowed);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let plain = fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(writer);
    // Boxed so that both formats are one layer type.
    let layer = if json {
        plain.json().boxed()
    } else {
        plain.boxed()
    };
    registry()
        .with(layer.with_filter(levels).with_filter(held))
        .init();
}

/// False for a TRACE event or span of the SDK or its HTTP stack.
pub fn allowed(metadata: &Metadata<'_>) -> bool {
    *metadata.level() != Level::TRACE || !is_held(metadata.target())
}

fn is_held(target: &str) -> bool {
    HELD_AT_DEBUG
        .iter()
        .any(|prefix| target.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::is_held;

    #[test]
    fn the_sdk_and_http_stack_are_held_and_this_crate_is_not() {
        for target in [
            "aws_smithy_runtime::client::orchestrator::http",
            "aws_sigv4::http_request::sign",
            "aws_sdk_cognitoidentityprovider::operation",
            "aws_config::imds",
            "hyper_util::client",
            "h2::codec",
            "rustls::client",
        ] {
            assert!(is_held(target), "{target}");
        }
        for target in ["cognito_import_starter::handler", "lambda_runtime::layers"] {
            assert!(!is_held(target), "{target}");
        }
    }
}
