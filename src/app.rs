//! `App`: what every invocation borrows, built once at init: the
//! configuration and the adapters (SDK clients, the upload client, the
//! metrics writer). It knows no stage.

use crate::aws::cognito::Cognito;
use crate::aws::events::Bus;
use crate::aws::logs::LogStream;
use crate::aws::metrics::{Metrics, MetricsOut};
use crate::aws::s3::S3;
use crate::aws::sqs::Queue;
use crate::aws::upload::Uploader;
use crate::aws::Clients;
use crate::config::Config;
use crate::error::{ErrorKind, ImportError};

/// The configuration and the SDK clients, both built once at init.
#[derive(Clone, Debug)]
pub struct App {
    pub config: Config,
    pub clients: Clients,
    /// Create mode's upload client; built only when create mode is on.
    pub uploader: Option<Uploader>,
    /// The EMF metrics writer; `None` when `METRICS_NAMESPACE` is empty.
    pub metrics: Option<Metrics>,
}

impl App {
    pub fn new(config: Config, sdk: &aws_config::SdkConfig) -> App {
        let clients = Clients::new(sdk, &config);
        let uploader = config
            .cloudwatch_logs_role_arn
            .as_ref()
            .map(|_| Uploader::new(&config.timeouts));
        let metrics = (!config.metrics_namespace.is_empty()).then(|| {
            Metrics::new(
                &config.metrics_namespace,
                config.metrics_pool_dimension.into(),
                MetricsOut::Stdout,
            )
        });
        App {
            config,
            clients,
            uploader,
            metrics,
        }
    }

    /// The upload client of create mode, or `UploadFailed` when it was not
    /// built at init; `what` names the job for the message.
    pub fn uploader(&self, what: &str) -> Result<&Uploader, ImportError> {
        self.uploader.as_ref().ok_or_else(|| {
            ImportError::new(
                ErrorKind::UploadFailed,
                format!(
                    "{what}: no upload client (create mode needs CLOUDWATCH_LOGS_ROLE_ARN at init)"
                ),
            )
        })
    }

    /// A Cognito call for `pool` succeeded: the metrics writer may name it.
    pub fn pool_known(&self, pool: &str) {
        if let Some(metrics) = &self.metrics {
            metrics.pool_known(pool);
        }
    }

    /// The S3 adapter, naming `EXPECTED_BUCKET_OWNER` on every call.
    pub fn s3(&self) -> S3<'_> {
        S3 {
            client: &self.clients.s3,
            expected_bucket_owner: self.config.expected_bucket_owner.as_deref(),
        }
    }

    /// The EventBridge adapter, for `EVENT_BUS_NAME` and `EVENT_SOURCE`.
    pub fn events(&self) -> Bus<'_> {
        Bus {
            client: &self.clients.events,
            name: &self.config.event_bus_name,
            source: &self.config.event_source,
            concurrency: self.config.max_concurrency,
        }
    }

    /// The Cognito adapter; a pool it reaches is known to the metrics writer.
    pub fn cognito(&self) -> Cognito<'_> {
        Cognito {
            client: &self.clients.cognito,
            metrics: self.metrics.as_ref(),
        }
    }

    /// The CloudWatch Logs adapter for one stream (its client is built on
    /// first use).
    pub fn log_stream<'a>(&'a self, group: &'a str, stream: &'a str) -> LogStream<'a> {
        LogStream {
            client: self.clients.logs(),
            group,
            stream,
        }
    }

    /// The SQS adapter for the queue at `url` (its client is built on first
    /// use).
    pub fn queue<'a>(&'a self, url: &'a str) -> Queue<'a> {
        Queue {
            client: self.clients.sqs(),
            url,
        }
    }
}
