//! cognito-import-starter: starts Amazon Cognito user import jobs named by S3
//! object metadata and publishes the job record to EventBridge.
//! See SPEC.md (shared), README.md and docs/.

pub mod app;
pub mod aws;
pub mod config;
pub mod csv_check;
pub mod deadline;
pub mod drops;
pub mod emit;
pub mod error;
pub mod groups;
pub mod handler;
pub mod import;
pub mod init_error;
pub mod logging;
pub mod model;
pub mod resolve;
pub mod track;
pub mod trigger;

pub use app::App;
pub use config::Config;
pub use error::{ErrorKind, ImportError};

use lambda_runtime::service_fn;

/// Serves invocations from the Lambda Runtime API until the process ends.
pub async fn run(app: App) -> Result<(), lambda_runtime::Error> {
    let app = &app;
    lambda_runtime::run(service_fn(move |event| app.handle(event))).await
}
