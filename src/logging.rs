//! The log subscriber: lambda_runtime's default one (format from
//! `AWS_LAMBDA_LOG_FORMAT`, level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`),
//! with two differences.
//!
//! At TRACE the AWS SDK prints every response body, so Cognito's
//! `PreSignedUrl`, and every request it signs; SPEC section 8 allows neither
//! in a log. So the SDK and the HTTP stack below it never log above DEBUG,
//! whatever level is asked for.
//!
//! Levels are filtered by target (`Targets`), not by `EnvFilter`: the same
//! `RUST_LOG` syntax for levels and `target=level` directives, without the
//! span and field filters, whose regex engine was 5% of the binary's code
//! (perf/README.md, "Levers").

use std::str::FromStr;

use tracing::{Level, Metadata};
use tracing_subscriber::filter::{filter_fn, LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{fmt, prelude::*, registry};

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
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let rust_log = std::env::var("RUST_LOG").ok();
    let levels = levels(lambda_level.as_deref(), rust_log.as_deref());
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

/// What lambda_runtime's default subscriber does with the two variables: the
/// level is `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO; directives in
/// `RUST_LOG`, when it has any valid one, take the place of that level. An
/// invalid directive is skipped, as `EnvFilter::from_env_lossy` skips it.
fn levels(lambda_level: Option<&str>, rust_log: Option<&str>) -> Targets {
    let level = lambda_level
        .or(rust_log)
        .and_then(|text| LevelFilter::from_str(text).ok())
        .unwrap_or(LevelFilter::INFO);
    let valid: Vec<&str> = rust_log
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|directive| !directive.is_empty() && Targets::from_str(directive).is_ok())
        .collect();
    // Each directive parsed on its own above, so together they parse too.
    match Targets::from_str(&valid.join(",")) {
        Ok(targets) if !valid.is_empty() => targets,
        _ => Targets::new().with_default(level),
    }
}

/// False for a TRACE event or span of the SDK or its HTTP stack.
fn allowed(metadata: &Metadata<'_>) -> bool {
    *metadata.level() != Level::TRACE || !is_held(metadata.target())
}

fn is_held(target: &str) -> bool {
    HELD_AT_DEBUG
        .iter()
        .any(|prefix| target.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::{is_held, levels};
    use tracing::Level;
    use tracing_subscriber::filter::Targets;

    fn would(filter: &Targets, level: Level, target: &str) -> bool {
        filter.would_enable(target, &level)
    }

    #[test]
    fn the_level_comes_from_lambda_then_rust_log_then_info() {
        let info = levels(None, None);
        assert!(would(&info, Level::INFO, "cognito_import_starter"));
        assert!(!would(&info, Level::DEBUG, "cognito_import_starter"));

        let debug = levels(Some("DEBUG"), None);
        assert!(would(&debug, Level::DEBUG, "aws_smithy_runtime"));
        assert!(!would(&debug, Level::TRACE, "aws_smithy_runtime"));

        let warn = levels(None, Some("warn"));
        assert!(would(&warn, Level::WARN, "cognito_import_starter"));
        assert!(!would(&warn, Level::INFO, "cognito_import_starter"));

        let junk = levels(Some("LOUD"), None);
        assert!(would(&junk, Level::INFO, "x"));
        assert!(!would(&junk, Level::DEBUG, "x"));
    }

    #[test]
    fn rust_log_directives_set_levels_per_target() {
        let filter = levels(
            Some("INFO"),
            Some("warn,cognito_import_starter=debug,not a directive=,aws_smithy_runtime=error"),
        );
        let handler = "cognito_import_starter::handler";
        assert!(would(&filter, Level::DEBUG, handler));
        assert!(!would(&filter, Level::TRACE, handler));
        assert!(would(&filter, Level::WARN, "lambda_runtime"));
        assert!(!would(&filter, Level::INFO, "lambda_runtime"));
        assert!(!would(&filter, Level::WARN, "aws_smithy_runtime::client"));
        assert!(would(&filter, Level::ERROR, "aws_smithy_runtime::client"));
    }

    #[test]
    fn directives_without_a_bare_level_leave_other_targets_off() {
        // As with EnvFilter: directives replace the default level.
        let filter = levels(Some("DEBUG"), Some("cognito_import_starter=info"));
        assert!(would(&filter, Level::INFO, "cognito_import_starter"));
        assert!(!would(&filter, Level::ERROR, "hyper"));
    }

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
