//! The CloudWatch metrics the function writes in the embedded metric format.
//! Every line any test writes is checked against the EMF specification by
//! the test harness (`cis_testkit::emf`, in `testkit/src/emf.rs`); here, the
//! values of the lines for each case a user watches.

use std::time::Duration;

use cis_emulator::{valid_csv, QueueOptions, DEFAULT_CSV_HEADER};
use cis_testkit::emf::{check, metrics_of};
use cis_testkit::*;
use cognito_import_starter::Config;
use serde_json::{json, Value};

/// The metrics of the harness's lines, as (name, dimensions, value).
fn written(h: &Harness) -> Vec<(String, Vec<String>, Value)> {
    h.metrics
        .lock()
        .unwrap()
        .iter()
        .flat_map(metrics_of)
        .collect()
}

fn has(h: &Harness, name: &str, dimensions: &[&str], value: Value) -> bool {
    let dimensions: Vec<String> = dimensions.iter().map(|d| d.to_string()).collect();
    written(h)
        .iter()
        .any(|(n, d, v)| n == name && *d == dimensions && *v == value)
}

fn names(h: &Harness) -> Vec<String> {
    written(h).into_iter().map(|(n, _, _)| n).collect()
}

#[test]
fn the_emf_check_refuses_what_the_specification_refuses() {
    let good = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["A"]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"A":"a","M":1}"#;
    assert_eq!(check(good).map(|line| line["M"].clone()), Ok(json!(1)));
    for (bad, why) in [
        (
            good.replace(r#""Timestamp":1"#, r#""Timestamp":1.5"#),
            "Timestamp is not whole milliseconds: Some(Number(1.5))",
        ),
        (
            good.replace(r#","A":"a""#, ""),
            "dimension A is not a top-level string: None",
        ),
        (
            good.replace(r#","M":1"#, ""),
            "metric M is not a top-level number: None",
        ),
        (
            good.replace("Count", "Ducks"),
            r#"M: unit "Ducks" is not one of the specification's"#,
        ),
        (
            good.replace(r#""Namespace":"N","#, ""),
            "bad Namespace None",
        ),
        (
            good.replace(r#""_aws""#, r#""aws""#),
            "no _aws metadata object",
        ),
        (
            good.replace(r#"{"Name":"M","Unit":"Count"}"#, ""),
            "Metrics is not an array of 1 to 100",
        ),
    ] {
        assert_eq!(check(&bad), Err(why.to_string()), "{bad}");
    }
}

#[tokio::test]
async fn a_started_job_is_one_record_started_and_one_import_started() {
    let h = harness().await;
    h.seed("a.csv");

    h.invoke(created("a.csv")).await.unwrap();

    let lines = h.metrics.lock().unwrap().clone();
    assert_eq!(lines.len(), 1, "one line per record: {lines:?}");
    let line = &lines[0];
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "CognitoImportStarter"
    );
    assert!(has(&h, "Records", &["Outcome=Started"], json!(1)));
    assert!(has(&h, "ImportsStarted", &[], json!(1)));
    assert!(
        !names(&h).contains(&"QueueWaitSeconds".to_string()),
        "not from a queue"
    );
    // The pool is no dimension unless asked for.
    assert!(line.get("UserPoolId").is_none());
}

#[tokio::test]
async fn a_permanent_failure_is_counted_by_its_type() {
    let h = harness().await;
    h.emulator.put_object(BUCKET, "bare.csv", "x", &[]);

    h.invoke(created("bare.csv")).await.unwrap();

    assert!(has(&h, "Records", &["Outcome=Failed"], json!(1)));
    assert!(has(
        &h,
        "ImportsFailed",
        &["ErrorType=MissingImportMetadata"],
        json!(1)
    ));
    assert!(!names(&h).contains(&"RetryableFailures".to_string()));
}

#[tokio::test]
async fn a_busy_slot_is_a_slot_wait_and_a_retryable_failure() {
    let h = harness().await;
    h.emulator.enforce_one_active_job(true);
    let running = h.emulator.create_import_job(POOL, "running", true);
    h.emulator
        .set_job_status(POOL, &running.job_id, "InProgress");
    h.seed("a.csv");

    assert_eq!(
        error_type(&h.invoke(created("a.csv")).await),
        "ImportSlotBusy"
    );

    assert!(has(&h, "SlotWaits", &[], json!(1)));
    assert!(has(
        &h,
        "RetryableFailures",
        &["ErrorType=ImportSlotBusy"],
        json!(1)
    ));
    assert!(!names(&h).contains(&"ImportsStarted".to_string()));
}

#[tokio::test]
async fn a_queued_start_says_how_long_the_drop_waited_in_the_queue() {
    let h = harness().await;
    h.seed("a.csv");
    h.emulator.create_queue(
        "drops.fifo",
        QueueOptions {
            fifo: true,
            content_based_deduplication: true,
            ..QueueOptions::default()
        },
    );
    let body = eventbridge_event(BUCKET, "a.csv", None).to_string();
    h.emulator.send_message("drops.fifo", &body, Some("drops"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let batch = h.emulator.receive_batch("drops.fifo", 10).unwrap();

    h.invoke(batch).await.unwrap();

    let waited = written(&h)
        .into_iter()
        .find(|(n, _, _)| n == "QueueWaitSeconds")
        .and_then(|(_, _, v)| v.as_f64())
        .expect("QueueWaitSeconds");
    assert!((0.3..5.0).contains(&waited), "{waited}");
    let line = h.metrics.lock().unwrap()[0].clone();
    let unit = line["_aws"]["CloudWatchMetrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["Metrics"][0]["Name"] == "QueueWaitSeconds")
        .map(|d| d["Metrics"][0]["Unit"].clone());
    assert_eq!(unit, Some(json!("Seconds")));
}

#[tokio::test]
async fn a_track_that_completes_counts_the_job_its_users_and_its_time() {
    let h = harness().await;
    h.emulator
        .create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
    let job = h.emulator.create_import_job(POOL, "done", true);
    h.emulator.set_job_status(POOL, &job.job_id, "Pending");
    h.emulator
        .finish_job(POOL, &job.job_id, "Succeeded", 7, 0, 0, "done");

    h.invoke(json!({"Action": "Track", "UserPoolId": POOL, "JobId": job.job_id}))
        .await
        .unwrap();

    assert!(has(&h, "JobsCompleted", &["Status=Succeeded"], json!(1)));
    assert!(has(&h, "UsersImported", &[], json!(7)));
    assert!(has(&h, "UsersSkipped", &[], json!(0)));
    assert!(has(&h, "UsersFailed", &[], json!(0)));
    assert!(names(&h).contains(&"JobSeconds".to_string()));
    // A job still running emits nothing, so counts nothing.
    let running = h.emulator.create_import_job(POOL, "running", true);
    h.emulator
        .set_job_status(POOL, &running.job_id, "InProgress");
    let before = h.metrics.lock().unwrap().len();
    h.invoke(json!({"Action": "Track", "UserPoolId": POOL, "JobId": running.job_id}))
        .await
        .unwrap();
    assert_eq!(h.metrics.lock().unwrap().len(), before);
}

#[tokio::test]
async fn with_the_pool_dimension_every_metric_is_also_by_pool() {
    let config = Config {
        metrics_pool_dimension: true,
        ..test_config()
    };
    let h = harness_with(config).await;
    h.seed("a.csv");

    h.invoke(created("a.csv")).await.unwrap();

    let line = h.metrics.lock().unwrap()[0].clone();
    assert_eq!(line["UserPoolId"], POOL);
    for directive in line["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
        let sets = directive["Dimensions"].as_array().unwrap();
        assert_eq!(sets.len(), 2, "{directive}");
        assert_eq!(
            sets[1].as_array().unwrap().last(),
            Some(&json!("UserPoolId"))
        );
    }
}

#[tokio::test]
async fn an_empty_namespace_turns_metrics_off() {
    let config = Config {
        metrics_namespace: String::new(),
        ..test_config()
    };
    let h = harness_with(config).await;
    h.seed("a.csv");
    assert!(h.app.metrics.is_none());

    h.invoke(created("a.csv")).await.unwrap();

    assert!(h.metrics.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_create_mode_part_counts_as_an_import_started() {
    let config = Config {
        cloudwatch_logs_role_arn: Some("arn:aws:iam::123456789012:role/logs".into()),
        part_max_rows: 1,
        ..test_config()
    };
    let h = harness_with(config).await;
    h.emulator
        .create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
    h.emulator.put_object(
        BUCKET,
        "two.csv",
        valid_csv(&["ann", "ben"]),
        &[("user-pool-id", POOL)],
    );

    assert_eq!(
        error_type(&h.invoke(created("two.csv")).await),
        "ImportPartsRemaining"
    );

    assert!(has(&h, "ImportsStarted", &[], json!(1)));
    assert!(has(
        &h,
        "RetryableFailures",
        &["ErrorType=ImportPartsRemaining"],
        json!(1)
    ));
}

/// SPEC section 16: metrics cannot be made to grow from outside. Every value
/// of a dimension is a metric of its own: a pool ID that only a file's
/// metadata named, and that Cognito does not know, is no `UserPoolId`.
#[tokio::test]
async fn a_pool_id_made_up_in_metadata_is_no_dimension() {
    let h = harness_with(by_pool()).await;
    h.emulator.put_object(
        BUCKET,
        "made-up.csv",
        "x",
        &[("user-pool-id", MADE_UP), ("job-id", "import-MadeUp1")],
    );

    h.invoke(created("made-up.csv")).await.unwrap();

    assert!(has(
        &h,
        "ImportsFailed",
        &["ErrorType=ResourceNotFoundException"],
        json!(1)
    ));
    assert_eq!(pool_dimensions(&h), Vec::<String>::new());
}

/// Nor is a pool the allowlist refused, though it exists: no Cognito call is
/// made for it.
#[tokio::test]
async fn a_pool_the_allowlist_refused_is_no_dimension() {
    let config = Config {
        allowed_user_pool_ids: Some(vec!["us-east-1_Other1".into()]),
        ..by_pool()
    };
    let h = harness_with(config).await;
    h.seed("a.csv");

    h.invoke(created("a.csv")).await.unwrap();

    assert!(has(
        &h,
        "ImportsFailed",
        &["ErrorType=UserPoolNotAllowed"],
        json!(1)
    ));
    assert_eq!(pool_dimensions(&h), Vec::<String>::new());
}

/// A pool Cognito answered for stays a dimension when the record fails
/// after that answer (here the slot's listing), not only when it started.
#[tokio::test]
async fn a_pool_cognito_answered_for_is_a_dimension_of_its_failures_too() {
    let h = harness_with(by_pool()).await;
    h.emulator.enforce_one_active_job(true);
    let running = h.emulator.create_import_job(POOL, "running", true);
    h.emulator
        .set_job_status(POOL, &running.job_id, "InProgress");
    h.seed("a.csv");

    assert_eq!(
        error_type(&h.invoke(created("a.csv")).await),
        "ImportSlotBusy"
    );

    assert!(has(
        &h,
        "RetryableFailures",
        &["ErrorType=ImportSlotBusy"],
        json!(1)
    ));
    assert_eq!(pool_dimensions(&h), vec![POOL.to_string()]);
}

const MADE_UP: &str = "us-east-1_MadeUp99";

fn by_pool() -> Config {
    Config {
        metrics_pool_dimension: true,
        ..test_config()
    }
}

/// The `UserPoolId` values of every line, and a check that a line without
/// one names it in no dimension set either.
fn pool_dimensions(h: &Harness) -> Vec<String> {
    let lines = h.metrics.lock().unwrap().clone();
    assert!(!lines.is_empty(), "no metrics written");
    let mut pools = Vec::new();
    for line in &lines {
        match line.get("UserPoolId").and_then(Value::as_str) {
            Some(pool) => pools.push(pool.to_string()),
            None => assert!(!line["_aws"].to_string().contains("UserPoolId"), "{line}"),
        }
    }
    pools
}
