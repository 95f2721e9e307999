//! Fuzzes the event-shape parser (SPEC section 2): on any JSON it never
//! panics and refuses only with `UnsupportedEvent` (the assertion of
//! tests/properties.rs), and the S3 key decoder never panics.
//!
//! `cargo +nightly fuzz run parse_event` from the repository root; the seed
//! corpus is fuzz/corpus/parse_event/ (copies of events/*.json).

#![no_main]

use cognito_import_starter::trigger::{decode_s3_key, parse};
use cognito_import_starter::ErrorKind;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

fn check_parse(event: &Value) {
    if let Err(error) = parse(event) {
        assert_eq!(
            error.kind,
            ErrorKind::UnsupportedEvent,
            "event {event} gave {error:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = serde_json::from_slice::<Value>(data) {
        check_parse(&event);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Decoding never panics; a key without escapes comes back unchanged.
    let decoded = decode_s3_key(text);
    if !text.contains(['%', '+']) {
        assert_eq!(decoded.as_deref(), Some(text));
    }
    // The same text as the key of an S3 notification record, and as the body
    // of an SQS message (where it is parsed as JSON again).
    let record = json!({"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                        "s3": {"bucket": {"name": "drop"}, "object": {"key": text}}});
    check_parse(&json!({ "Records": [record] }));
    check_parse(&json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m", "body": text}]}));
});
