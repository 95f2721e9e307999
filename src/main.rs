//! The Lambda bootstrap: read the configuration, build the clients once, serve.

use cognito_import_starter::{aws, logging, App, Config};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(variable = error.variable, "{error}");
            eprintln!("cognito-import-starter: {error}");
            std::process::exit(1);
        }
    };
    let sdk = aws::load_sdk_config(&config).await;
    cognito_import_starter::run(App::new(config, &sdk)).await
}
