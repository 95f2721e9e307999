//! The local runner: the real handler on a file from `events/`.
//!
//!   cargo run -p local -- events/s3-put.json
//!   cargo run -p local -- --aws events/direct-ids.json
//!
//! By default it starts the bundled emulator of S3, Cognito's import-job API
//! and EventBridge on 127.0.0.1, seeds it so the sample succeeds, and prints
//! the response and every emitted event. With `--aws` it calls real AWS with
//! your credentials and configuration instead (nothing is seeded).

use std::process::ExitCode;

use cis_emulator::Emulator;
use cognito_import_starter::{aws, App, Config};
use serde_json::Value;

const USAGE: &str = "usage: local [--aws] <event.json>";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // The function's log lines go to stderr, the result to stdout.
    cognito_import_starter::logging::init_with_writer(std::io::stderr);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let real_aws = args.iter().any(|a| a == "--aws");
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [path] = files.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let event = match read_event(path) {
        Ok(event) => event,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let outcome = if real_aws {
        run_against_aws(event).await
    } else {
        run_against_emulator(event).await
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

fn read_event(path: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path} is not JSON: {e}"))
}

async fn run_against_emulator(event: Value) -> Result<bool, String> {
    let emulator = Emulator::start()
        .await
        .map_err(|e| format!("cannot start the emulator: {e}"))?;
    let endpoint = emulator.endpoint();
    // The emulator stands in for every service; the rest of the
    // configuration comes from the environment as in Lambda.
    let config = Config::from_lookup(|name| match name {
        "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
        "AWS_REGION" => std::env::var(name).ok().or(Some("us-east-1".into())),
        _ => std::env::var(name).ok(),
    })
    .map_err(|e| e.to_string())?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(aws::http_client())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&endpoint)
        .credentials_provider(aws_credential_types::Credentials::new(
            "AKIDLOCAL",
            "local",
            None,
            None,
            "local-runner",
        ))
        .timeout_config(aws::timeout_config(&config.timeouts))
        .load()
        .await;
    local::seed_for(&emulator, &config, &event);
    let app = App::new(config, &sdk);
    let (result, events) = local::invoke(&app, &emulator, event).await;
    println!("emulator: {endpoint} (S3, Cognito import jobs, EventBridge)");
    let ok = print_result(&result);
    println!("\n== emitted events ({}) ==", events.len());
    for entry in &events {
        println!(
            "\n[{}] source={} bus={}",
            entry.detail_type,
            entry.source,
            entry.event_bus_name.as_deref().unwrap_or("default")
        );
        println!("{}", pretty(&entry.detail));
    }
    Ok(ok)
}

async fn run_against_aws(event: Value) -> Result<bool, String> {
    let config = Config::from_env().map_err(|e| e.to_string())?;
    let sdk = aws::load_sdk_config(&config).await;
    let bus = config.event_bus_name.clone();
    let app = App::new(config, &sdk);
    let result = app
        .handle(lambda_runtime::LambdaEvent::new(
            event,
            lambda_runtime::Context::default(),
        ))
        .await;
    let ok = print_result(&result);
    println!("\nevents were published to the EventBridge bus {bus}: a rule on it shows them");
    Ok(ok)
}

fn print_result(result: &Result<Value, cognito_import_starter::ImportError>) -> bool {
    match result {
        Ok(response) => {
            println!("\n== response ==\n{}", pretty(response));
            true
        }
        Err(error) => {
            println!(
                "\n== error ==\nerrorType: {}\nerrorMessage: {}",
                error.error_type(),
                error.message
            );
            false
        }
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
