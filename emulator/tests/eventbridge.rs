//! The emulated EventBridge `PutEvents`, driven by the real SDK client:
//! accepted entries, malformed ones, injected per-entry failures.

mod common;

use aws_sdk_eventbridge::error::ProvideErrorMetadata;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use cis_emulator::{Emulator, Fault, FaultAction};
use common::*;

#[tokio::test]
async fn put_events_entries_and_failures() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    let malformed_type = PutEventsRequestEntry::builder()
        .source("cognito-import-starter")
        .detail("{}")
        .build();
    let output = c
        .events
        .put_events()
        .entries(entry(r#"{"n":1}"#))
        .entries(entry("not json"))
        .entries(entry("[1,2]"))
        .entries(malformed_type)
        .entries(entry(r#"{"n":5,"nested":{"a":[1]}}"#))
        .send()
        .await
        .expect("put events");
    assert_eq!(output.failed_entry_count(), 3);
    let codes: Vec<Option<&str>> = output.entries().iter().map(|e| e.error_code()).collect();
    assert_eq!(
        codes,
        [
            None,
            Some("MalformedDetail"),
            Some("MalformedDetail"),
            Some("InvalidArgument"),
            None
        ]
    );
    assert!(output.entries()[0]
        .event_id()
        .is_some_and(|id| id.len() == 36));
    let events = emulator.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].detail["n"], 1);
    assert_eq!(events[1].detail["nested"]["a"][0], 1);
    assert_eq!(events[0].event_bus_name.as_deref(), Some("default"));
    assert_eq!(events[0].source, "cognito-import-starter");
    assert_eq!(events[0].detail_type, "User Import Job Started");
    assert_eq!(events[0].resources.len(), 1);

    // FailEntries: matching entries fail, others pass; `times` counts requests.
    emulator.inject(
        Fault::new(
            "PutEvents",
            FaultAction::FailEntries {
                code: "ThrottlingException".to_string(),
            },
        )
        .matching("\"fail\":true")
        .times(1),
    );
    let output = c
        .events
        .put_events()
        .entries(entry(r#"{"fail":false}"#))
        .entries(entry(r#"{"fail":true}"#))
        .entries(entry(r#"{"fail":true,"x":1}"#))
        .send()
        .await
        .expect("put events");
    assert_eq!(output.failed_entry_count(), 2);
    assert_eq!(output.entries()[0].error_code(), None);
    assert_eq!(
        output.entries()[1].error_code(),
        Some("ThrottlingException")
    );
    assert_eq!(
        output.entries()[2].error_code(),
        Some("ThrottlingException")
    );
    assert_eq!(emulator.events().len(), 3);
    let output = c
        .events
        .put_events()
        .entries(entry(r#"{"fail":true}"#))
        .send()
        .await
        .expect("fault spent");
    assert_eq!(output.failed_entry_count(), 0);

    // Too many entries: the whole request fails.
    let mut request = c.events.put_events();
    for n in 0..11 {
        request = request.entries(entry(&format!(r#"{{"n":{n}}}"#)));
    }
    let error = request.send().await.expect_err("11 entries");
    assert_eq!(error.code(), Some("ValidationException"));
    assert_eq!(emulator.events().len(), 4);
    assert_eq!(emulator.count("PutEvents"), 4);
    assert_eq!(emulator.calls()[0].service, "events");
    assert_eq!(
        emulator.calls()[0].params["Entries"][0]["Detail"],
        r#"{"n":1}"#
    );
}
