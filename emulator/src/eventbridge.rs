//! Emulated EventBridge `PutEvents` (awsJson1_1).

use serde_json::{json, Value};

use super::wire::{json_error, json_response, Resp};
use super::{Emulator, State};

/// One accepted `PutEvents` entry.
#[derive(Clone, Debug)]
pub struct PutEventEntry {
    pub event_bus_name: Option<String>,
    pub source: String,
    pub detail_type: String,
    /// The parsed `Detail`.
    pub detail: serde_json::Value,
    pub resources: Vec<String>,
}

/// An active `FailEntries` fault for one request.
pub(crate) struct EntryFault {
    pub(crate) code: String,
    pub(crate) matching: Option<String>,
}

pub(crate) fn put_events(state: &State, body: &Value, fault: Option<&EntryFault>) -> Resp {
    let Some(entries) = body.get("Entries").and_then(Value::as_array) else {
        return json_error(
            400,
            "ValidationException",
            "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
        );
    };
    if entries.is_empty() || entries.len() > 10 {
        return json_error(
            400,
            "ValidationException",
            &format!(
                "1 validation error detected: Value with {} entries at 'entries' failed to satisfy constraint: Member must have length between 1 and 10",
                entries.len()
            ),
        );
    }
    let mut results = Vec::with_capacity(entries.len());
    let mut accepted = Vec::new();
    let mut failed = 0;
    for entry in entries {
        match check_entry(entry, fault) {
            Ok(event) => {
                results.push(json!({ "EventId": state.rng.uuid() }));
                accepted.push(event);
            }
            Err((code, message)) => {
                failed += 1;
                results.push(json!({ "ErrorCode": code, "ErrorMessage": message }));
            }
        }
    }
    state.lock().events.extend(accepted);
    json_response(
        200,
        &json!({ "FailedEntryCount": failed, "Entries": results }),
    )
}

fn check_entry(
    entry: &Value,
    fault: Option<&EntryFault>,
) -> Result<PutEventEntry, (String, String)> {
    let invalid = |message: &str| ("InvalidArgument".to_string(), message.to_string());
    let text = |name: &str| {
        entry
            .get(name)
            .and_then(Value::as_str)
            .filter(|value| !value.trim().is_empty())
    };
    let (Some(source), Some(detail_type), Some(raw_detail)) =
        (text("Source"), text("DetailType"), text("Detail"))
    else {
        return Err(invalid(
            "Parameters Source, DetailType and Detail are required and must be non-empty strings.",
        ));
    };
    let detail: Value = match serde_json::from_str(raw_detail) {
        Ok(detail @ Value::Object(_)) => detail,
        _ => {
            return Err((
                "MalformedDetail".to_string(),
                "Detail is malformed.".to_string(),
            ))
        }
    };
    if source.starts_with("aws.") {
        return Err((
            "NotAuthorizedForSourceException".to_string(),
            format!("Not authorized for the source {source}."),
        ));
    }
    let event_bus_name = match entry.get("EventBusName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => return Err(invalid("Parameter EventBusName is not valid.")),
    };
    let resources = match entry.get("Resources") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| invalid("Parameter Resources is not valid."))?,
        Some(_) => return Err(invalid("Parameter Resources is not valid.")),
    };
    if let Some(fault) = fault {
        if fault
            .matching
            .as_deref()
            .is_none_or(|matching| raw_detail.contains(matching))
        {
            return Err((fault.code.clone(), "injected fault".to_string()));
        }
    }
    Ok(PutEventEntry {
        event_bus_name,
        source: source.to_string(),
        detail_type: detail_type.to_string(),
        detail,
        resources,
    })
}

// ---- the Rust API ----

impl Emulator {
    /// Accepted `PutEvents` entries, in arrival order.
    pub fn events(&self) -> Vec<PutEventEntry> {
        self.state.lock().events.clone()
    }
}
