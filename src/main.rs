//! The Lambda bootstrap: read the configuration, build the clients once, serve.

// The handler's future (pipeline, deadline, SDK calls) nests deeper than the
// compiler's default query depth when laid out inside lambda_runtime's loop.
#![recursion_limit = "256"]

use cognito_import_starter::{aws, init_error, logging, App, Config};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            tracing::error!(variable = error.variable, "{error}");
            eprintln!("cognito-import-starter: {error}");
            if let Err(why) = init_error::report(&error.to_string()).await {
                eprintln!("cognito-import-starter: could not report the init error: {why}");
            }
            std::process::exit(1);
        }
    };
    let sdk = aws::load_sdk_config(&config).await;
    cognito_import_starter::run(App::new(config, &sdk)).await
}
