//! SPEC section 6: the records of one invocation run concurrently, at most
//! `MAX_CONCURRENCY` at once. Measured at the emulator (how many requests of
//! an operation it was handling at once, and the journal's order of arrivals
//! and ends), never with a clock: delays only make the requests overlap.

use std::time::Duration;

use cis_emulator::{Fault, FaultAction};
use cis_testkit::*;
use cognito_import_starter::Config;
use serde_json::{json, Value};

/// `max_concurrency`, and timeouts long enough that a delayed request is
/// never retried (a retry would overlap its own first attempt).
fn config(max_concurrency: usize) -> Config {
    let mut config = test_config();
    config.max_concurrency = max_concurrency;
    config.timeouts.connect = Duration::from_secs(2);
    config.timeouts.attempt = Duration::from_secs(8);
    config.timeouts.operation = Duration::from_secs(15);
    config
}

fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("batch/record-{i:02}.csv")).collect()
}

fn notification(keys: &[String]) -> Value {
    let records: Vec<(&str, &str)> = keys
        .iter()
        .map(|key| ("ObjectCreated:Put", key.as_str()))
        .collect();
    s3_event(&records)
}

fn outcomes(response: &Value) -> Vec<String> {
    response["Results"]
        .as_array()
        .unwrap_or_else(|| panic!("no Results in {response}"))
        .iter()
        .map(|r| r["Outcome"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_run_at_most_max_concurrency_at_once_and_reach_it() {
    let h = harness_with(config(4)).await;
    let keys = keys(25);
    for key in &keys {
        h.seed(key);
    }
    h.emulator.inject(Fault::new(
        "HeadObject",
        FaultAction::Delay(Duration::from_millis(150)),
    ));

    let response = h.invoke(notification(&keys)).await.unwrap();

    assert_eq!(outcomes(&response), vec!["Started"; 25], "{response}");
    assert_eq!(h.emulator.count("HeadObject"), 25);
    assert_eq!(h.emulator.count("StartUserImportJob"), 25);
    assert_eq!(
        h.emulator.max_in_flight("HeadObject"),
        4,
        "MAX_CONCURRENCY=4: never more than 4 records at once, and the delay makes 4 overlap"
    );
    assert!(h.emulator.max_in_flight("StartUserImportJob") <= 4);

    // The redelivery (every job already started: StartUserImportJob, then
    // DescribeUserImportJob) is bounded the same way; measured from a mark.
    let mark = h.emulator.calls().len();
    let again = h.invoke(notification(&keys)).await.unwrap();

    assert_eq!(outcomes(&again), vec!["AlreadyStarted"; 25], "{again}");
    assert_eq!(h.emulator.max_in_flight_since("HeadObject", mark), 4);
    assert!(h.emulator.max_in_flight_since("StartUserImportJob", mark) <= 4);
    assert!(
        h.emulator
            .max_in_flight_since("DescribeUserImportJob", mark)
            <= 4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_one_runs_the_records_one_after_another() {
    let h = harness_with(config(1)).await;
    let keys = keys(8);
    for key in &keys {
        h.seed(key);
    }
    h.emulator.inject(Fault::new(
        "HeadObject",
        FaultAction::Delay(Duration::from_millis(100)),
    ));
    h.emulator.inject(Fault::new(
        "StartUserImportJob",
        FaultAction::Delay(Duration::from_millis(50)),
    ));

    let response = h.invoke(notification(&keys)).await.unwrap();

    assert_eq!(outcomes(&response), vec!["Started"; 8], "{response}");
    assert_eq!(h.emulator.max_in_flight("HeadObject"), 1);
    assert_eq!(h.emulator.max_in_flight("StartUserImportJob"), 1);
    // One record at a time: each record's calls are done before the next
    // record's first call arrives.
    let calls: Vec<_> = h
        .emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation != "PutEvents")
        .collect();
    let operations: Vec<&str> = calls.iter().map(|c| c.operation.as_str()).collect();
    assert_eq!(
        operations,
        ["HeadObject", "StartUserImportJob"].repeat(8),
        "{calls:#?}"
    );
    for (i, call) in h.emulator.calls().iter().enumerate() {
        assert_eq!(
            call.done_at,
            Some(i + 1),
            "done before the next call arrived: {call:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_batches_are_published_within_the_bound_too() {
    let h = harness_with(config(2)).await;
    let keys = keys(25);
    for key in &keys {
        h.seed(key);
    }
    h.emulator.inject(Fault::new(
        "PutEvents",
        FaultAction::Delay(Duration::from_millis(150)),
    ));

    let response = h.invoke(notification(&keys)).await.unwrap();

    assert_eq!(outcomes(&response), vec!["Started"; 25], "{response}");
    assert_eq!(h.events_of("User Import Job Started").len(), 25);
    assert_eq!(
        h.emulator.count("PutEvents"),
        3,
        "25 events in calls of at most 10"
    );
    assert_eq!(h.emulator.max_in_flight("PutEvents"), 2);
    assert!(h.emulator.max_in_flight("HeadObject") <= 2);
}

/// The slow record is the first of the event: the head of the window. The
/// others must all get through while it waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_record_does_not_hold_the_others_back() {
    const SLOW: &str = "slow/waits.csv";
    let h = harness_with(config(3)).await;
    let mut keys = vec![SLOW.to_string()];
    keys.extend((1..9).map(|i| format!("fast/record-{i:02}.csv")));
    let jobs: Vec<String> = keys.iter().map(|key| h.seed(key).1.job_id).collect();
    // Long enough for the eight others to go through two at a time, short of
    // the attempt timeout (8 s): only the order of the journal is asserted.
    h.emulator.inject(
        Fault::new("HeadObject", FaultAction::Delay(Duration::from_secs(2))).matching("slow/"),
    );

    let response = h.invoke(notification(&keys)).await.unwrap();

    // All started, and the summary keeps the order of the records.
    assert_eq!(outcomes(&response), vec!["Started"; 9], "{response}");
    let answered: Vec<&str> = response["Results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Key"].as_str().unwrap())
        .collect();
    assert_eq!(answered, keys);
    let job_ids: Vec<Value> = response["Results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["JobId"].clone())
        .collect();
    assert_eq!(job_ids, jobs.iter().map(|j| json!(j)).collect::<Vec<_>>());

    let calls = h.emulator.calls();
    let slow_head = calls
        .iter()
        .find(|c| c.operation == "HeadObject" && c.params["Key"] == SLOW)
        .expect("the slow record's HeadObject");
    let slow_done = slow_head.done_at.expect("the slow HeadObject was answered");
    let started_late: Vec<(usize, &str)> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| c.operation == "StartUserImportJob" && c.params["JobId"] != jobs[0])
        .filter(|(i, _)| *i >= slow_done)
        .map(|(i, c)| {
            let record = jobs.iter().position(|j| c.params["JobId"] == j.as_str());
            (i, record.map_or("?", |r| keys[r].as_str()))
        })
        .collect();
    assert_eq!(
        h.emulator.count("StartUserImportJob"),
        9,
        "one start per record"
    );
    assert!(
        started_late.is_empty(),
        "these records' StartUserImportJob only arrived after the slow record's \
         HeadObject was answered (journal index {slow_done}): held back by it: {started_late:?}"
    );
}
