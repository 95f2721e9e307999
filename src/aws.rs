//! The AWS side of init: one `SdkConfig` with timeouts, and the clients
//! built from it once and reused by every invocation.

use std::sync::{Arc, OnceLock};

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::config::{Config, Timeouts};

/// The SDK clients the function uses. Cheap to clone (they share one HTTP
/// pool). S3, Cognito and EventBridge serve every record and are built at
/// init; CloudWatch Logs (only `Track` reads it) and SQS (only a queued
/// drop that waits) are built when first used, so that an invocation that
/// needs neither never pays for them, the cold start included.
#[derive(Clone, Debug)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub events: aws_sdk_eventbridge::Client,
    /// The configuration the later clients are built from.
    sdk: SdkConfig,
    /// SPEC section 12: the per-user lines Cognito writes.
    logs: Arc<OnceLock<aws_sdk_cloudwatchlogs::Client>>,
    /// SPEC section 13: a queued drop's visibility while it waits.
    sqs: Arc<OnceLock<aws_sdk_sqs::Client>>,
}

pub fn timeout_config(timeouts: &Timeouts) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(timeouts.connect)
        .operation_attempt_timeout(timeouts.attempt)
        .operation_timeout(timeouts.operation)
        .build()
}

/// The HTTP client of every SDK call: the SDK's own hyper 1 client with
/// rustls on ring instead of its default aws-lc-rs (smaller binary, lower
/// RSS, same CPU; see Cargo.toml). Root certificates come from the system
/// (`SSL_CERT_FILE` names them in the template).
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls_provider())
        .build_https()
}

/// rustls on ring: for the SDK's client and create mode's uploader alike.
pub fn tls_provider() -> Provider {
    Provider::Rustls(CryptoMode::Ring)
}

/// Loads region, credentials, retry settings and endpoint overrides from the
/// standard AWS environment, as the SDK defines them.
pub async fn load_sdk_config(config: &Config) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .timeout_config(timeout_config(&config.timeouts))
        .load()
        .await
}

impl Clients {
    pub fn new(sdk: &SdkConfig, config: &Config) -> Clients {
        // Emulators and S3-compatible stores serve path-style URLs only.
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(config.s3_force_path_style)
            .build();
        Clients {
            s3: aws_sdk_s3::Client::from_conf(s3),
            cognito: aws_sdk_cognitoidentityprovider::Client::new(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
            sdk: sdk.clone(),
            logs: Arc::default(),
            sqs: Arc::default(),
        }
    }

    /// The CloudWatch Logs client, built on first use.
    pub fn logs(&self) -> &aws_sdk_cloudwatchlogs::Client {
        self.logs
            .get_or_init(|| aws_sdk_cloudwatchlogs::Client::new(&self.sdk))
    }

    /// The SQS client, built on first use.
    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.sqs.get_or_init(|| aws_sdk_sqs::Client::new(&self.sdk))
    }
}
