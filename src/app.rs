//! `App`: what every invocation borrows, built once at init.

use crate::aws;
use crate::config::Config;
use crate::emit::metrics::{Metrics, Sink};
use crate::import::upload;

/// The configuration and the SDK clients, both built once at init.
#[derive(Clone, Debug)]
pub struct App {
    pub config: Config,
    pub clients: aws::Clients,
    /// Create mode's upload client; built only when create mode is on.
    pub uploader: Option<upload::Uploader>,
    /// The EMF metrics writer; `None` when `METRICS_NAMESPACE` is empty.
    pub metrics: Option<Metrics>,
}

impl App {
    pub fn new(config: Config, sdk: &aws_config::SdkConfig) -> App {
        let clients = aws::Clients::new(sdk, &config);
        let uploader = config
            .cloudwatch_logs_role_arn
            .as_ref()
            .map(|_| upload::Uploader::new(&config.timeouts));
        let metrics = (!config.metrics_namespace.is_empty()).then(|| {
            Metrics::new(
                &config.metrics_namespace,
                config.metrics_pool_dimension,
                Sink::Stdout,
            )
        });
        App {
            config,
            clients,
            uploader,
            metrics,
        }
    }
}
