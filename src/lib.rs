//! cognito-import-starter: starts Amazon Cognito user import jobs named by S3
//! object metadata and publishes the job record to EventBridge.
//! See SPEC.md (shared) and README.md.

pub mod aws;
pub mod config;
pub mod create;
pub mod csv_check;
pub mod emit;
pub mod error;
pub mod handler;
pub mod logging;
pub mod model;
pub mod outcome;
pub mod preflight;
pub mod resolve;
pub mod start;
pub mod track;
pub mod trigger;
pub mod upload;
pub mod validate;

pub use config::Config;
pub use error::{ErrorKind, ImportError};

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

/// What every invocation borrows: the configuration and the SDK clients,
/// both built once at init.
#[derive(Clone, Debug)]
pub struct App {
    pub config: Config,
    pub clients: aws::Clients,
    /// Create mode's upload client; built only when create mode is on.
    pub uploader: Option<upload::Uploader>,
}

impl App {
    pub fn new(config: Config, sdk: &aws_config::SdkConfig) -> App {
        let clients = aws::Clients::new(sdk, &config);
        let uploader = config
            .cloudwatch_logs_role_arn
            .as_ref()
            .map(|_| upload::Uploader::new(&config.timeouts));
        App {
            config,
            clients,
            uploader,
        }
    }

    /// Handles one invocation.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, ImportError> {
        handler::handle(self, event).await
    }
}

/// Serves invocations from the Lambda Runtime API until the process ends.
pub async fn run(app: App) -> Result<(), lambda_runtime::Error> {
    let app = &app;
    lambda_runtime::run(service_fn(move |event| app.handle(event))).await
}
