//! The emulated CloudWatch Logs, driven by the real SDK client:
//! `FilterLogEvents` term patterns and paging (empty pages with a token
//! included), `GetLogEvents` paging to its end, missing groups and streams,
//! and faults.

mod common;

use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsOutput;
use cis_emulator::{Emulator, Fault, FaultAction};
use common::*;

const GROUP: &str = "/aws/cognito/userpools/us-east-1_Emulated1/people";
const STREAM: &str = "import-AbCdEf0123/s3-0123456789abcdef-users.csv";

fn messages(output: &FilterLogEventsOutput) -> Vec<String> {
    output
        .events()
        .iter()
        .map(|e| e.message().unwrap_or_default().to_string())
        .collect()
}

/// Every page until a response without `nextToken`; returns the messages
/// and how many pages it took.
async fn filter_all(c: &Clients, pattern: Option<&str>) -> (Vec<String>, usize) {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let output = c
            .logs
            .filter_log_events()
            .log_group_name(GROUP)
            .log_stream_names(STREAM)
            .set_filter_pattern(pattern.map(str::to_string))
            .set_next_token(token.take())
            .send()
            .await
            .expect("filter");
        pages += 1;
        all.extend(messages(&output));
        match output.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => return (all, pages),
        }
    }
}

fn import_lines() -> Vec<String> {
    vec![
        "[SUCCEEDED] Line Number 1 - The import succeeded.".into(),
        "[SKIPPED] Line Number 2 - The user already exists.".into(),
        "[FAILED] Line Number 3 - Invalid email address format.".into(),
        "[SUCCEEDED] Line Number 4 - The import succeeded.".into(),
        "[FAILED] Line Number 5 - Invalid phone number format.".into(),
    ]
}

#[tokio::test]
async fn filter_term_patterns() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    let lines = import_lines();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    emulator.put_log_events(GROUP, STREAM, &refs);
    emulator.put_log_events(
        GROUP,
        "other-stream",
        &["[FAILED] Line Number 9 - elsewhere"],
    );
    assert_eq!(emulator.log_events(GROUP, STREAM), lines);

    // No pattern: every event of the named stream, in order, with its
    // stream name, timestamp, ingestion time and ID.
    let output = c
        .logs
        .filter_log_events()
        .log_group_name(GROUP)
        .log_stream_names(STREAM)
        .send()
        .await
        .expect("filter");
    assert_eq!(messages(&output), lines);
    assert!(output.next_token().is_none());
    let first = &output.events()[0];
    assert_eq!(first.log_stream_name(), Some(STREAM));
    assert!(first.timestamp().is_some_and(|t| t > 0));
    assert!(first.ingestion_time().is_some_and(|t| t > 0));
    assert!(first.event_id().is_some());

    // A quoted term with brackets.
    let (failed, _) = filter_all(&c, Some("\"[FAILED]\"")).await;
    assert_eq!(failed, vec![lines[2].clone(), lines[4].clone()]);
    // ?-terms are OR-ed.
    let (either, _) = filter_all(&c, Some("?\"[FAILED]\" ?\"[SKIPPED]\"")).await;
    assert_eq!(
        either,
        vec![lines[1].clone(), lines[2].clone(), lines[4].clone()]
    );
    // Plain terms must all appear (case-sensitive).
    let (both, _) = filter_all(&c, Some("Invalid format")).await;
    assert_eq!(both, vec![lines[2].clone(), lines[4].clone()]);
    let (none, _) = filter_all(&c, Some("invalid")).await;
    assert!(none.is_empty());

    // Without logStreamNames: every stream of the group.
    let output = c
        .logs
        .filter_log_events()
        .log_group_name(GROUP)
        .filter_pattern("\"[FAILED]\"")
        .send()
        .await
        .expect("filter group");
    assert_eq!(output.events().len(), 3);

    // An unquoted [ starts a space-delimited pattern in CloudWatch Logs,
    // which the emulator refuses rather than match differently.
    let error = c
        .logs
        .filter_log_events()
        .log_group_name(GROUP)
        .filter_pattern("[FAILED]")
        .send()
        .await
        .expect_err("space-delimited pattern");
    assert_eq!(error.code(), Some("InvalidParameterException"));
}

#[tokio::test]
async fn filter_time_bounds_and_limit() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.put_log_events_at(
        GROUP,
        STREAM,
        &[(3_000, "c"), (1_000, "a"), (2_000, "b"), (4_000, "d")],
    );
    assert_eq!(emulator.log_events(GROUP, STREAM), ["a", "b", "c", "d"]);
    let output = c
        .logs
        .filter_log_events()
        .log_group_name(GROUP)
        .start_time(2_000)
        .end_time(3_000)
        .send()
        .await
        .expect("filter");
    assert_eq!(messages(&output), ["b", "c"]);

    let first = c
        .logs
        .filter_log_events()
        .log_group_name(GROUP)
        .limit(3)
        .send()
        .await
        .expect("page 1");
    assert_eq!(messages(&first), ["a", "b", "c"]);
    let second = c
        .logs
        .filter_log_events()
        .log_group_name(GROUP)
        .limit(3)
        .next_token(first.next_token().expect("more"))
        .send()
        .await
        .expect("page 2");
    assert_eq!(messages(&second), ["d"]);
    assert!(second.next_token().is_none());

    let error = c
        .logs
        .filter_log_events()
        .log_group_name(GROUP)
        .next_token("not-a-token")
        .send()
        .await
        .expect_err("bad token");
    assert_eq!(error.code(), Some("InvalidParameterException"));
}

#[tokio::test]
async fn filter_paging_with_empty_pages() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    let lines: Vec<String> = (1..=10)
        .map(|n| format!("[FAILED] Line Number {n} - Invalid email address format."))
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    emulator.put_log_events(GROUP, STREAM, &refs);
    emulator.set_logs_paging(3, 2);

    // The first page can be empty and still say "more".
    let first = c
        .logs
        .filter_log_events()
        .log_group_name(GROUP)
        .log_stream_names(STREAM)
        .filter_pattern("\"[FAILED]\"")
        .send()
        .await
        .expect("first page");
    assert!(first.events().is_empty());
    assert!(first.next_token().is_some());
    assert!(first.searched_log_streams().is_empty());

    // A reader that stops only on a missing token gets every event: pages
    // of 3, 3, 3, 1, each after 2 empty pages, then 2 empty pages and the
    // final page without a token.
    let calls_before = emulator.count("FilterLogEvents");
    let (all, pages) = filter_all(&c, Some("\"[FAILED]\"")).await;
    assert_eq!(all, lines);
    assert_eq!(pages, 4 + 4 * 2 + 2 + 1);
    assert_eq!(emulator.count("FilterLogEvents") - calls_before, pages);

    // The SDK's paginator (it stops on a missing or repeated token) too.
    let pages: Vec<FilterLogEventsOutput> = c
        .logs
        .filter_log_events()
        .log_group_name(GROUP)
        .log_stream_names(STREAM)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("paginator");
    let events: Vec<String> = pages.iter().flat_map(messages).collect();
    assert_eq!(events, lines);

    // Nothing matches: only empty pages, the last without a token.
    let (none, pages) = filter_all(&c, Some("\"[SKIPPED]\"")).await;
    assert!(none.is_empty());
    assert_eq!(pages, 3);

    // Back to plain paging: the last page of events has no token.
    emulator.set_logs_paging(10_000, 0);
    let (all, pages) = filter_all(&c, None).await;
    assert_eq!((all.len(), pages), (10, 1));
}

#[tokio::test]
async fn get_log_events_pages_to_the_end() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.put_log_events_at(
        GROUP,
        STREAM,
        &[(1, "e1"), (2, "e2"), (3, "e3"), (4, "e4"), (5, "e5")],
    );
    let get = || {
        c.logs
            .get_log_events()
            .log_group_name(GROUP)
            .log_stream_name(STREAM)
            .limit(2)
    };
    let texts = |events: &[aws_sdk_cloudwatchlogs::types::OutputLogEvent]| -> Vec<String> {
        events
            .iter()
            .map(|e| e.message().unwrap_or_default().to_string())
            .collect()
    };

    // From the head, forward, until the token sent comes back.
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    let mut calls = 0;
    loop {
        let output = get()
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("get");
        calls += 1;
        all.extend(texts(output.events()));
        let next = output
            .next_forward_token()
            .expect("forward token")
            .to_string();
        if token.as_deref() == Some(next.as_str()) {
            assert!(output.events().is_empty());
            break;
        }
        token = Some(next);
        assert!(calls < 10, "no end");
    }
    assert_eq!(all, ["e1", "e2", "e3", "e4", "e5"]);
    assert_eq!(calls, 4); // 2, 2, 1, then the end

    // Without startFromHead: the latest events, then backward.
    let tail = get().send().await.expect("tail");
    assert_eq!(texts(tail.events()), ["e4", "e5"]);
    let back = get()
        .next_token(tail.next_backward_token().expect("backward"))
        .send()
        .await
        .expect("back");
    assert_eq!(texts(back.events()), ["e2", "e3"]);
    // At the end of the stream, forward: nothing, the same token.
    let end = get()
        .next_token(tail.next_forward_token().expect("forward"))
        .send()
        .await
        .expect("end");
    assert!(end.events().is_empty());
    assert_eq!(end.next_forward_token(), tail.next_forward_token());

    // Time bounds: start inclusive, end exclusive.
    let bounded = c
        .logs
        .get_log_events()
        .log_group_name(GROUP)
        .log_stream_name(STREAM)
        .start_time(2)
        .end_time(4)
        .start_from_head(true)
        .send()
        .await
        .expect("bounded");
    assert_eq!(texts(bounded.events()), ["e2", "e3"]);
}

#[tokio::test]
async fn missing_group_or_stream() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    let error = c
        .logs
        .filter_log_events()
        .log_group_name(GROUP)
        .send()
        .await
        .expect_err("no group");
    assert_eq!(error.code(), Some("ResourceNotFoundException"));
    assert_eq!(
        error.message(),
        Some("The specified log group does not exist.")
    );
    assert!(error
        .as_service_error()
        .is_some_and(|e| e.is_resource_not_found_exception()));

    emulator.put_log_events(GROUP, STREAM, &["x"]);
    let error = c
        .logs
        .filter_log_events()
        .log_group_name(GROUP)
        .log_stream_names(STREAM)
        .log_stream_names("import-missing/none")
        .send()
        .await
        .expect_err("no stream");
    assert_eq!(error.code(), Some("ResourceNotFoundException"));

    let error = c
        .logs
        .get_log_events()
        .log_group_name("/aws/cognito/userpools/none")
        .log_stream_name(STREAM)
        .send()
        .await
        .expect_err("no group");
    assert_eq!(error.code(), Some("ResourceNotFoundException"));
    let error = c
        .logs
        .get_log_events()
        .log_group_name(GROUP)
        .log_stream_name("import-missing/none")
        .send()
        .await
        .expect_err("no stream");
    assert_eq!(error.code(), Some("ResourceNotFoundException"));
    assert_eq!(
        error.message(),
        Some("The specified log stream does not exist.")
    );
}

#[tokio::test]
async fn throttling_and_other_faults() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients_with_timeout(&emulator, std::time::Duration::from_millis(500));
    emulator.put_log_events(GROUP, STREAM, &["[FAILED] Line Number 1 - x"]);
    emulator.inject(
        Fault::new(
            "FilterLogEvents",
            FaultAction::error(400, "ThrottlingException"),
        )
        .times(1),
    );
    let error = c
        .logs
        .filter_log_events()
        .log_group_name(GROUP)
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(error.code(), Some("ThrottlingException"));
    let calls = emulator.calls();
    let call = calls.last().expect("journaled");
    assert_eq!(
        (call.service, call.operation.as_str(), call.status),
        ("logs", "FilterLogEvents", 400)
    );
    assert_eq!(call.params["logGroupName"], GROUP);
    // Spent: the next call answers.
    let output = c
        .logs
        .filter_log_events()
        .log_group_name(GROUP)
        .send()
        .await
        .expect("after the fault");
    assert_eq!(output.events().len(), 1);

    emulator.inject(Fault::new("GetLogEvents", FaultAction::Hang).times(1));
    let error = c
        .logs
        .get_log_events()
        .log_group_name(GROUP)
        .log_stream_name(STREAM)
        .send()
        .await
        .expect_err("hung");
    assert!(
        format!("{error:?}").to_lowercase().contains("timeout"),
        "{error:?}"
    );
    emulator.inject(
        Fault::new("FilterLogEvents", FaultAction::Drop)
            .matching(STREAM)
            .times(1),
    );
    c.logs
        .filter_log_events()
        .log_group_name(GROUP)
        .log_stream_names(STREAM)
        .send()
        .await
        .expect_err("dropped");
    assert_eq!(emulator.count("GetLogEvents"), 1);
    assert_eq!(emulator.count("FilterLogEvents"), 3);
}
