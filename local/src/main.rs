//! The local runner: the real handler on a file from `events/`.
//!
//!   cargo run -p local -- events/s3-put.json
//!   cargo run -p local -- --follow events/s3-put-bad-rows.json
//!   cargo run -p local -- --follow events/sqs-fifo-three-drops.json
//!   cargo run -p local -- --follow events/s3-put-three-parts.json
//!   cargo run -p local -- --follow events/s3-put-password-hashes.json
//!   cargo run -p local -- --follow events/s3-put-groups.json
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
//! (set it empty for the plain path). A batch from a FIFO queue, or a file
//! whose name starts with `three-parts` (create mode, `PART_MAX_ROWS=3`
//! unless set), goes through the emulated drop queue (SPEC sections 13 and
//! 14): Cognito runs one job at a time; without `--follow` the first batch,
//! with it the event source mapping until the queue is empty, then every
//! job tracked. A Started event that names `Groups` (a file with a
//! `cognito:groups` column, SPEC section 17) is followed after Track by the
//! `AddToGroups` loop, and each user's groups are printed. After the events
//! it prints the metrics the run would
//! publish, read back from the EMF lines. With `--aws` it calls real AWS
//! with your credentials and configuration instead (nothing is seeded).

use std::process::ExitCode;

use std::sync::{Arc, Mutex};

use cis_emulator::Emulator;
use cognito_import_starter::aws::metrics::{self, Metrics, MetricsOut};
use cognito_import_starter::{aws, App, Config};
use local::queue;
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
    let parts = local::drops_parts(&event);
    let config = Config::from_lookup(|name| match name {
        "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
        "AWS_REGION" => std::env::var(name).ok().or(Some("us-east-1".into())),
        "CLOUDWATCH_LOGS_ROLE_ARN" if follow || parts => std::env::var(name)
            .ok()
            .or(Some(FOLLOW_LOGS_ROLE_ARN.into())),
        "PART_MAX_ROWS" if parts => std::env::var(name)
            .ok()
            .or(Some(local::PARTS_DEMO_ROWS.into())),
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
    let part_rows = config.part_max_rows;
    let mut app = App::new(config, &sdk);
    let metrics = capture_metrics(&mut app);
    println!("emulator: {endpoint} (S3, Cognito import jobs, EventBridge, CloudWatch Logs, SQS)");
    if queue::is_fifo_batch(&event) || parts {
        if parts {
            println!(
                "a file in parts: create mode, PART_MAX_ROWS={part_rows} (set PART_MAX_ROWS to change it)"
            );
        }
        let ok = run_queue(&app, &emulator, &event, follow, &metrics).await;
        return Ok(ok);
    }
    let (result, events) = local::invoke(&app, &emulator, event).await;
    let mut ok = print_result(&result);
    print_events(&events);
    print_metrics(&metrics);
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

/// The EMF lines the run writes, kept to be printed (SPEC: what the run
/// would publish).
fn capture_metrics(app: &mut App) -> Arc<Mutex<Vec<String>>> {
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    if app.metrics.is_some() {
        let kept = Arc::clone(&lines);
        let sink = MetricsOut::Lines(Arc::new(move |line: &str| {
            if let Ok(mut lines) = kept.lock() {
                lines.push(line.to_string());
            }
        }));
        app.metrics = Some(Metrics::new(
            &app.config.metrics_namespace,
            app.config.metrics_pool_dimension.into(),
            sink,
        ));
    }
    lines
}

/// The metrics the run would publish, read back from its EMF lines: one
/// row per metric of each line (name, dimensions, value), then the lines
/// since the last print are forgotten.
fn print_metrics(lines: &Mutex<Vec<String>>) {
    let Ok(mut lines) = lines.lock() else { return };
    if lines.is_empty() {
        return;
    }
    println!("\n== metrics (EMF, {} line(s)) ==", lines.len());
    for line in lines.drain(..) {
        let Ok(value) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        for reading in metrics::read_back(&value) {
            let dimensions: Vec<String> = reading
                .dimensions
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            println!(
                "  {}/{} {{{}}} = {} {}",
                reading.namespace,
                reading.name,
                dimensions.join(", "),
                reading.value,
                reading.unit
            );
        }
    }
}

/// A FIFO batch sample, or a file in parts: through the emulated drop
/// queue. Without `--follow`, its first batch; with it, until the queue is
/// empty, then every job tracked.
async fn run_queue(
    app: &App,
    emulator: &Emulator,
    event: &Value,
    follow: bool,
    metrics: &Mutex<Vec<String>>,
) -> bool {
    queue::prepare(emulator);
    let drops = queue::drops_of(event);
    println!(
        "the drop queue: {} drop(s) sent to the emulated FIFO queue {} (one message group); \
         Cognito runs one job at a time, each for {} ms; one queue-second is {} ms",
        drops.len(),
        queue::QUEUE,
        queue::JOB_RUN.as_millis(),
        queue::QUEUE_SECOND.as_millis()
    );
    if !follow {
        let Some(batch) = queue::first_batch(app, emulator, &drops).await else {
            println!("nothing to receive");
            return false;
        };
        print_delivered(1, &batch);
        print_metrics(metrics);
        println!("\n(add --follow to run the queue until every drop is imported)");
        return true;
    }
    let prefix = std::env::var("RESULTS_PREFIX")
        .unwrap_or_else(|_| local::DEFAULT_RESULTS_PREFIX.to_string());
    let run = queue::run(app, emulator, &drops, &prefix).await;
    for (n, delivered) in run.delivered.iter().enumerate() {
        print_delivered(n + 1, delivered);
    }
    print_metrics(metrics);
    println!("\n######## every started job, once it ended: Track ########");
    let mut ok = true;
    for job in &run.followed {
        ok &= print_followed(job);
    }
    print_metrics(metrics);
    print_plans(emulator, &prefix);
    println!("\n######## the drop queue, in sum ########");
    println!("invocations: {}", run.delivered.len());
    println!("imported, in this order: {}", run.started.join(", "));
    println!("most jobs active at once: {}", run.max_active_jobs);
    println!("messages left in the queue: {}", run.left);
    ok && run.left == 0 && run.max_active_jobs <= 1
}

fn print_delivered(n: usize, delivered: &queue::Delivered) {
    let drops: Vec<String> = delivered
        .drops
        .iter()
        .map(|(key, count)| format!("{key} (receive {count})"))
        .collect();
    println!(
        "\n######## invocation {n}: a batch of {} ########",
        drops.len()
    );
    for drop in &drops {
        println!("  {drop}");
    }
    print_result(&delivered.result);
    print_events(&delivered.events);
}

/// The plans of files in parts the run wrote.
fn print_plans(emulator: &Emulator, prefix: &str) {
    for (bucket, key) in emulator.object_keys() {
        if key.starts_with(&format!("{prefix}plans/")) {
            if let Some(plan) = emulator.object(&bucket, &key) {
                println!("\n== the plan, s3://{bucket}/{key} ==");
                println!("{}", String::from_utf8_lossy(&plan.body));
            }
        }
    }
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
            if let Some((algorithm, users)) = &job.passwords {
                print_users(algorithm, users);
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
    let grouped = job.groups.as_ref().is_none_or(print_groups);
    ran && tracked && grouped
}

/// SPEC section 17: the AddToGroups loop and who is in which group after it.
fn print_groups(groups: &local::GroupsFollowed) -> bool {
    let mut ok = true;
    for (request, result) in &groups.calls {
        println!("\n== AddToGroups invocation ==\n{}", pretty(request));
        ok &= print_result(result);
    }
    print_events(&groups.events);
    println!("\n== each user's groups after AddToGroups ==");
    for (user, names) in &groups.memberships {
        match names.is_empty() {
            true => println!("  {user}: (none)"),
            false => println!("  {user}: {}", names.join(" ")),
        }
    }
    if let Some((key, content)) = &groups.failed {
        match content {
            Some(object) => print!("\n== {key} ==\n{}", String::from_utf8_lossy(&object.body)),
            None => println!("\n({key}: not written, nothing failed)"),
        }
    }
    ok
}

/// SPEC section 15: who signs in with the old password, who must reset.
fn print_users(algorithm: &str, users: &[(String, Option<String>)]) {
    println!("\n== users of this job (password hashes: {algorithm}) ==");
    for (user, status) in users {
        let meaning = match status.as_deref() {
            Some("CONFIRMED") => "CONFIRMED: signs in with the old password",
            Some("RESET_REQUIRED") => "RESET_REQUIRED: must reset the password",
            Some(other) => other,
            None => "not created",
        };
        println!("  {user}: {meaning}");
    }
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
