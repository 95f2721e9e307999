//! The AWS side of init: one `SdkConfig` with timeouts, and the clients
//! built from it once and reused by every invocation.

pub mod cognito;
pub mod events;
pub mod logs;
pub mod metrics;
pub mod s3;
pub mod sqs;
pub mod upload;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_types::config_bag::ConfigBag;

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
    SharedHttpClient::new(ValidatedOnce::new(hyper_client()))
}

fn hyper_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls_provider())
        .build_https()
}

/// The SDK's hyper client, checked once rather than once per client.
///
/// Building a client (each service's, and STS's in the credential chain)
/// asks its HTTP client to validate the configuration, and the hyper client
/// answers by building a whole TLS connector and dropping it, so that the
/// root certificates load at init rather than on the first request. The
/// roots are parsed once per process, but each connector parses their trust
/// anchors again: three of the four at init did nothing the first had not
/// (callgrind of init: 1.8 of 14.3 million instructions; docs/development.md,
/// "Performance"). One validation keeps the roots loading at init.
#[derive(Debug)]
struct ValidatedOnce {
    inner: SharedHttpClient,
    validated: AtomicBool,
}

impl ValidatedOnce {
    fn new(inner: SharedHttpClient) -> ValidatedOnce {
        ValidatedOnce {
            inner,
            validated: AtomicBool::new(false),
        }
    }
}

impl HttpClient for ValidatedOnce {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.inner.http_connector(settings, components)
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        if self.validated.load(Ordering::Acquire) {
            return Ok(());
        }
        self.inner.validate_base_client_config(components, cfg)?;
        self.validated.store(true, Ordering::Release);
        Ok(())
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

/// rustls on ring: for the SDK's client and create mode's uploader alike.
pub fn tls_provider() -> Provider {
    Provider::Rustls(CryptoMode::Ring)
}

/// Loads region, credentials, retry settings and endpoint overrides from the
/// standard AWS environment, as the SDK defines them.
pub async fn load_sdk_config(config: &Config) -> SdkConfig {
    sdk_loader(config, |name| std::env::var(name).ok())
        .load()
        .await
}

fn sdk_loader(config: &Config, env: impl Fn(&str) -> Option<String>) -> ConfigLoader {
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .timeout_config(timeout_config(&config.timeouts));
    with_credentials(loader, env)
}

/// Lambda hands a function its role's credentials in the environment, and
/// the default credential chain, which asks the environment first, would
/// answer with them; but building the chain builds its later providers too,
/// among them an STS client for web identity (5% of init's instructions,
/// perf/README.md). So with both keys set the environment's provider is
/// given alone, the one the chain would have picked; without them, as in a
/// shell with a profile, in a container or on EC2, the whole chain.
fn with_credentials(loader: ConfigLoader, lookup: impl Fn(&str) -> Option<String>) -> ConfigLoader {
    // Blank counts as unset, as for the environment's provider.
    let set = |name: &str| lookup(name).is_some_and(|value| !value.trim().is_empty());
    if set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") {
        loader.credentials_provider(EnvironmentVariableCredentialsProvider::new())
    } else {
        loader
    }
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use aws_config::Region;

    use super::*;

    /// The SDK's hyper client, counting the validations that reach it.
    #[derive(Debug)]
    struct Counting {
        inner: SharedHttpClient,
        validations: Arc<AtomicUsize>,
    }

    impl HttpClient for Counting {
        fn http_connector(
            &self,
            settings: &HttpConnectorSettings,
            components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            self.inner.http_connector(settings, components)
        }

        fn validate_base_client_config(
            &self,
            components: &RuntimeComponentsBuilder,
            cfg: &ConfigBag,
        ) -> Result<(), BoxError> {
            self.validations.fetch_add(1, Ordering::SeqCst);
            self.inner.validate_base_client_config(components, cfg)
        }
    }

    /// A counting hyper client, and its count.
    fn counting() -> (SharedHttpClient, Arc<AtomicUsize>) {
        let validations = Arc::new(AtomicUsize::new(0));
        let client = Counting {
            inner: hyper_client(),
            validations: validations.clone(),
        };
        (SharedHttpClient::new(client), validations)
    }

    /// Builds every client the function has, from an `SdkConfig` with that
    /// HTTP client.
    fn build_the_clients(http_client: SharedHttpClient) {
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .http_client(http_client)
            .build();
        let clients = Clients::new(&sdk, &Config::default());
        let _ = (clients.logs(), clients.sqs());
    }

    #[test]
    fn the_hyper_client_is_validated_once_for_all_the_clients() {
        let (hyper, validations) = counting();
        build_the_clients(SharedHttpClient::new(ValidatedOnce::new(hyper)));
        assert_eq!(validations.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn without_the_wrapper_each_client_validates_again() {
        // What the wrapper is for: the SDK asks once per client.
        let (hyper, validations) = counting();
        build_the_clients(hyper);
        assert_eq!(validations.load(Ordering::SeqCst), 5);
    }

    /// How many validations loading the SDK's configuration makes: one for
    /// each client the credential chain builds (STS for web identity).
    async fn validations_of_loading(env: impl Fn(&str) -> Option<String>) -> usize {
        let (hyper, validations) = counting();
        let loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .http_client(hyper);
        let sdk = with_credentials(loader, env).load().await;
        assert!(sdk.credentials_provider().is_some());
        validations.load(Ordering::SeqCst)
    }

    fn env_with_keys(name: &str) -> Option<String> {
        match name {
            "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("secret".to_owned()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn with_keys_in_the_environment_no_credential_chain_is_built() {
        assert_eq!(validations_of_loading(env_with_keys).await, 0);
    }

    #[tokio::test]
    async fn without_keys_the_whole_chain_is_built() {
        // A blank secret is no secret: the chain decides, as it would.
        let blank_secret = |name: &str| match name {
            "AWS_SECRET_ACCESS_KEY" => Some(" ".to_owned()),
            other => env_with_keys(other),
        };
        assert_eq!(validations_of_loading(blank_secret).await, 1);
        assert_eq!(validations_of_loading(|_| None).await, 1);
    }

    #[tokio::test]
    async fn the_function_loads_its_config_with_both_cuts() {
        // The path main.rs takes, but for the environment it reads.
        let sdk = sdk_loader(&Config::default(), env_with_keys)
            .region(Region::new("us-east-1"))
            .load()
            .await;
        let http = format!("{:?}", sdk.http_client());
        assert!(http.contains("ValidatedOnce"), "{http}");
        let credentials = format!("{:?}", sdk.credentials_provider());
        assert!(
            credentials.contains("EnvironmentVariableCredentialsProvider"),
            "{credentials}"
        );
        let chain = sdk_loader(&Config::default(), |_| None)
            .region(Region::new("us-east-1"))
            .load()
            .await;
        let credentials = format!("{:?}", chain.credentials_provider());
        assert!(
            credentials.contains("DefaultCredentialsChain"),
            "{credentials}"
        );
    }
}
