//! The local runner: the real handler on a file from `events/`.
//!
//!   cargo run -p local -- events/s3-put.json
//!   cargo run -p local -- --follow events/s3-put-bad-rows.json
//!   cargo run -p local -- --aws events/direct-ids.json
//!
//! By default it starts the bundled emulator of S3, Cognito's import-job API
//! and EventBridge on 127.0.0.1, seeds it so the sample succeeds, and prints
//! the response and every emitted event. With `--follow` it then runs every
//! job the function started to its end in the emulator (Cognito's per-user
//! log lines included), invokes the handler's `Track` on it as the template's
//! state machine would, and prints the Track response, the Completed event
//! and the result files the function wrote (SPEC sections 11 and 12);
//! `--follow` runs in create mode unless `CLOUDWATCH_LOGS_ROLE_ARN` is set
//! (set it empty for the plain path). With `--aws` it calls real AWS with
//! your credentials and configuration instead (nothing is seeded).

use std::process::ExitCode;

use cis_emulator::Emulator;
use cognito_import_starter::{aws, App, Config};
use serde_json::Value;

const USAGE: &str = "usage: local [--aws | --follow] <event.json>";

/// The logs role of create mode under `--follow` when the environment names
/// none (the one in `events/env-create-mode.json`).
const FOLLOW_LOGS_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/cognito-import-logs";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // The function's log lines go to stderr, the result to stdout.
    cognito_import_starter::logging::init_with_writer(std::io::stderr);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let real_aws = args.iter().any(|a| a == "--aws");
    let follow = args.iter().any(|a| a == "--follow");
    let unknown = args
        .iter()
        .any(|a| a.starts_with("--") && a != "--aws" && a != "--follow");
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [path] = files.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    if unknown || (real_aws && follow) {
        eprintln!("{USAGE}\n(--follow runs the jobs in the emulator, so not with --aws)");
        return ExitCode::from(2);
    }
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
        run_against_emulator(event, follow).await
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

async fn run_against_emulator(event: Value, follow: bool) -> Result<bool, String> {
    let emulator = Emulator::start()
        .await
        .map_err(|e| format!("cannot start the emulator: {e}"))?;
    let endpoint = emulator.endpoint();
    // The emulator stands in for every service; the rest of the
    // configuration comes from the environment as in Lambda.
    let config = Config::from_lookup(|name| match name {
        "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
        "AWS_REGION" => std::env::var(name).ok().or(Some("us-east-1".into())),
        "CLOUDWATCH_LOGS_ROLE_ARN" if follow => std::env::var(name)
            .ok()
            .or(Some(FOLLOW_LOGS_ROLE_ARN.into())),
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
    let create_mode = config.cloudwatch_logs_role_arn.is_some();
    let app = App::new(config, &sdk);
    let (result, events) = local::invoke(&app, &emulator, event).await;
    println!("emulator: {endpoint} (S3, Cognito import jobs, EventBridge)");
    let mut ok = print_result(&result);
    print_events(&events);
    if follow {
        let prefix = std::env::var("RESULTS_PREFIX")
            .unwrap_or_else(|_| local::DEFAULT_RESULTS_PREFIX.to_string());
        let mode = if create_mode {
            "create mode"
        } else {
            "plain start"
        };
        println!(
            "\n######## --follow ({mode}): each started job run to its end, then Track ########"
        );
        let followed = local::follow(&app, &emulator, &events, &prefix).await;
        if followed.is_empty() {
            println!("\nno User Import Job Started event: nothing to follow");
        }
        for job in &followed {
            ok &= print_followed(job);
        }
    }
    Ok(ok)
}

fn print_events(events: &[cis_emulator::PutEventEntry]) {
    println!("\n== emitted events ({}) ==", events.len());
    for entry in events {
        println!(
            "\n[{}] source={} bus={}",
            entry.detail_type,
            entry.source,
            entry.event_bus_name.as_deref().unwrap_or("default")
        );
        println!("{}", pretty(&entry.detail));
    }
}

fn print_followed(job: &local::Followed) -> bool {
    println!(
        "\n== import job {} in {}: run by the emulated Cognito ==",
        job.job_id, job.user_pool_id
    );
    let ran = match &job.run {
        Ok(run) => {
            println!(
                "{}: imported {}, skipped {}, failed {} ({})",
                run.job.status,
                run.job.imported_users,
                run.job.skipped_users,
                run.job.failed_users,
                run.job.completion_message.as_deref().unwrap_or_default()
            );
            println!("log group {}\nlog stream {}", run.log_group, run.log_stream);
            for line in &run.lines {
                println!("  {line}");
            }
            true
        }
        Err(message) => {
            println!("not run: {message}");
            false
        }
    };
    println!("\n== Track invocation ==\n{}", pretty(&job.track_event));
    let tracked = print_result(&job.track);
    print_events(&job.events);
    for file in [&job.failed_rows, &job.report] {
        if let (Some((key, content)), Some(bucket)) = (file, &job.bucket) {
            println!("\n== s3://{bucket}/{key} ==");
            match content {
                Some(object) => {
                    let text = String::from_utf8_lossy(&object.body);
                    print!("{text}");
                    if !text.ends_with('\n') {
                        println!();
                    }
                }
                None => println!("(not written)"),
            }
        }
    }
    if job.bucket.is_none() {
        println!("\n(no Object in the Started event: no result files)");
    }
    ran && tracked
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
