//! Emulated CloudWatch Logs (awsJson1_1, `X-Amz-Target:
//! Logs_20140328.<Op>`): `FilterLogEvents` and `GetLogEvents` over log
//! groups, streams and events that the emulator writes itself (Cognito's
//! per-user import results, [`super::Emulator::put_log_events`]). Groups and
//! streams are created implicitly when written.
//!
//! `FilterLogEvents` pages as the real service may: with
//! [`super::Emulator::set_logs_paging`] a page holds at most `page_size`
//! events, and `empty_pages_between` empty pages that still carry a
//! `nextToken` come before each page of events and after the last one. Only
//! a response without `nextToken` ends the listing. `searchedLogStreams` is
//! left out (the real service deprecated it).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::wire::{json_error, json_response, Resp};
use super::{util, Emulator, State};

/// The operations the emulator answers (anything else under the Logs target
/// prefix is `UnknownOperationException`).
pub(crate) const OPERATIONS: &[&str] = &["FilterLogEvents", "GetLogEvents"];

/// The most events one response holds by default (the real limit of both
/// operations).
pub(crate) const DEFAULT_PAGE_SIZE: usize = 10_000;

pub(crate) struct Logs {
    groups: BTreeMap<String, Group>,
    next_seq: u64,
    /// The most events a response holds (`limit` can lower it per request).
    page_size: usize,
    /// `FilterLogEvents`: empty pages (with a token) before each page of
    /// events and before the final page.
    empty_pages_between: usize,
}

impl Default for Logs {
    fn default() -> Logs {
        Logs {
            groups: BTreeMap::new(),
            next_seq: 0,
            page_size: DEFAULT_PAGE_SIZE,
            empty_pages_between: 0,
        }
    }
}

#[derive(Default)]
struct Group {
    streams: BTreeMap<String, Stream>,
}

#[derive(Default)]
struct Stream {
    /// In arrival order; reads sort by (timestamp, arrival).
    events: Vec<Event>,
}

#[derive(Clone)]
struct Event {
    timestamp: i64,
    message: String,
    ingestion_time: i64,
    /// Arrival order across the whole emulator: ties on the timestamp, and
    /// the `eventId`.
    seq: u64,
}

impl Logs {
    pub(crate) fn set_paging(&mut self, page_size: usize, empty_pages_between: usize) {
        self.page_size = page_size.max(1);
        self.empty_pages_between = empty_pages_between;
    }

    /// Creates the group and stream if missing (no event).
    pub(crate) fn ensure_stream(&mut self, group: &str, stream: &str) {
        self.groups
            .entry(group.to_string())
            .or_default()
            .streams
            .entry(stream.to_string())
            .or_default();
    }

    /// Appends events (creating the group and stream if missing), each
    /// `(timestamp ms, message)`, ingested at `now`.
    pub(crate) fn put(&mut self, group: &str, stream: &str, events: &[(i64, &str)], now: i64) {
        self.ensure_stream(group, stream);
        let mut seq = self.next_seq;
        let target = self
            .groups
            .get_mut(group)
            .and_then(|g| g.streams.get_mut(stream))
            .expect("the stream was just created");
        for (timestamp, message) in events {
            target.events.push(Event {
                timestamp: *timestamp,
                message: message.to_string(),
                ingestion_time: now,
                seq,
            });
            seq += 1;
        }
        self.next_seq = seq;
    }

    /// The stream's messages in read order; empty when it does not exist.
    pub(crate) fn messages(&self, group: &str, stream: &str) -> Vec<String> {
        self.groups
            .get(group)
            .and_then(|g| g.streams.get(stream))
            .map(|s| {
                sorted(s.events.iter())
                    .into_iter()
                    .map(|e| e.message.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn sorted<'a>(events: impl Iterator<Item = &'a Event>) -> Vec<&'a Event> {
    let mut events: Vec<&Event> = events.collect();
    events.sort_by_key(|e| (e.timestamp, e.seq));
    events
}

// ---- the JSON API ----

struct ApiError {
    code: &'static str,
    message: String,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError {
        code: "InvalidParameterException",
        message: message.into(),
    }
}

fn group_not_found() -> ApiError {
    ApiError {
        code: "ResourceNotFoundException",
        message: "The specified log group does not exist.".into(),
    }
}

fn stream_not_found() -> ApiError {
    ApiError {
        code: "ResourceNotFoundException",
        message: "The specified log stream does not exist.".into(),
    }
}

fn bad_token() -> ApiError {
    invalid("The specified nextToken is invalid.")
}

pub(crate) fn execute(state: &State, operation: &str, body: &Value) -> Resp {
    let result = if body.is_object() {
        let inner = state.lock();
        match operation {
            "FilterLogEvents" => filter_log_events(&inner.logs, body),
            "GetLogEvents" => get_log_events(&inner.logs, body),
            _ => Err(ApiError {
                code: "UnknownOperationException",
                message: format!("Unknown operation {operation}"),
            }),
        }
    } else {
        Err(invalid("The request body must be a JSON object"))
    };
    match result {
        Ok(response) => json_response(200, &response),
        Err(error) => json_error(400, error.code, &error.message),
    }
}

fn optional_string<'a>(body: &'a Value, name: &str) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(invalid(format!("{name} must be a string"))),
    }
}

fn optional_i64(body: &Value, name: &str) -> Result<Option<i64>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| invalid(format!("{name} must be an integer"))),
    }
}

/// `logGroupName`, or `logGroupIdentifier` (a name or a log group ARN).
fn group_name(body: &Value) -> Result<String, ApiError> {
    let name = optional_string(body, "logGroupName")?;
    let identifier = optional_string(body, "logGroupIdentifier")?;
    match (name, identifier) {
        (Some(_), Some(_)) => Err(invalid(
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
        )),
        (Some(name), None) => Ok(name.to_string()),
        (None, Some(identifier)) => {
            let name = match identifier.split_once(":log-group:") {
                Some((arn, rest)) if arn.starts_with("arn:") => {
                    rest.strip_suffix(":*").unwrap_or(rest)
                }
                _ => identifier,
            };
            Ok(name.to_string())
        }
        (None, None) => Err(invalid(
            "1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null",
        )),
    }
}

/// `limit`: 1 to 10,000; the page size caps it.
fn limit(logs: &Logs, body: &Value) -> Result<usize, ApiError> {
    match optional_i64(body, "limit")? {
        None => Ok(logs.page_size),
        Some(limit) if (1..=10_000).contains(&limit) => Ok((limit as usize).min(logs.page_size)),
        Some(limit) => Err(invalid(format!(
            "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000"
        ))),
    }
}

/// A CloudWatch Logs *term* filter pattern: every plain term must appear,
/// no `-` term may appear, and when there are `?` terms at least one of them
/// must appear. A term in double quotes may hold any character (`"[FAILED]"`);
/// matching is case-sensitive, on substrings.
struct Pattern {
    all: Vec<String>,
    any: Vec<String>,
    none: Vec<String>,
}

impl Pattern {
    fn parse(pattern: &str) -> Result<Pattern, ApiError> {
        let mut parsed = Pattern {
            all: Vec::new(),
            any: Vec::new(),
            none: Vec::new(),
        };
        let trimmed = pattern.trim();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            return Err(invalid(format!(
                "Invalid filter pattern {pattern:?}: the emulator implements term patterns only; \
                 in CloudWatch Logs a pattern starting with '{{' is a JSON pattern and one starting \
                 with '[' a space-delimited pattern (quote a term with brackets: \"[FAILED]\")"
            )));
        }
        let mut chars = trimmed.chars().peekable();
        loop {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            let Some(&first) = chars.peek() else {
                break;
            };
            let kind = match first {
                '?' | '-' => {
                    chars.next();
                    first
                }
                _ => ' ',
            };
            let mut term = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                term.push(escaped);
                            }
                        }
                        '"' => {
                            closed = true;
                            break;
                        }
                        _ => term.push(c),
                    }
                }
                if !closed {
                    return Err(invalid(format!(
                        "Invalid filter pattern {pattern:?}: unterminated quoted term"
                    )));
                }
            } else {
                while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                    term.push(c);
                }
            }
            if term.is_empty() {
                continue;
            }
            match kind {
                '?' => parsed.any.push(term),
                '-' => parsed.none.push(term),
                _ => parsed.all.push(term),
            }
        }
        Ok(parsed)
    }

    fn matches(&self, message: &str) -> bool {
        self.all.iter().all(|term| message.contains(term.as_str()))
            && !self.none.iter().any(|term| message.contains(term.as_str()))
            && (self.any.is_empty() || self.any.iter().any(|term| message.contains(term.as_str())))
    }
}

const FILTER_TOKEN_PREFIX: &str = "emulator-filter-";

/// `(position in the matching events, empty pages already served there)`.
fn parse_filter_token(token: &str) -> Option<(usize, usize)> {
    let rest = token.strip_prefix(FILTER_TOKEN_PREFIX)?;
    let (position, served) = rest.split_once('-')?;
    Some((position.parse().ok()?, served.parse().ok()?))
}

fn filter_log_events(logs: &Logs, body: &Value) -> Result<Value, ApiError> {
    let group_name = group_name(body)?;
    let stream_names: Option<Vec<&str>> = match body.get("logStreamNames") {
        None | Some(Value::Null) => None,
        Some(Value::Array(names)) => Some(
            names
                .iter()
                .map(|name| {
                    name.as_str()
                        .ok_or_else(|| invalid("logStreamNames must be strings"))
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => return Err(invalid("logStreamNames must be a list")),
    };
    let prefix = optional_string(body, "logStreamNamePrefix")?;
    if stream_names.is_some() && prefix.is_some() {
        return Err(invalid(
            "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
        ));
    }
    let pattern = Pattern::parse(optional_string(body, "filterPattern")?.unwrap_or(""))?;
    let start = optional_i64(body, "startTime")?;
    let end = optional_i64(body, "endTime")?;
    let limit = limit(logs, body)?;
    let (position, served) = match optional_string(body, "nextToken")? {
        None => (0, 0),
        Some(token) => parse_filter_token(token).ok_or_else(bad_token)?,
    };
    let group = logs.groups.get(&group_name).ok_or_else(group_not_found)?;
    let streams: Vec<(&String, &Stream)> = match &stream_names {
        Some(names) => names
            .iter()
            .map(|name| {
                group
                    .streams
                    .get_key_value(*name)
                    .ok_or_else(stream_not_found)
            })
            .collect::<Result<_, _>>()?,
        None => group
            .streams
            .iter()
            .filter(|(name, _)| prefix.is_none_or(|p| name.starts_with(p)))
            .collect(),
    };
    let mut matching: Vec<(&String, &Event)> = streams
        .iter()
        .flat_map(|(name, stream)| stream.events.iter().map(move |event| (*name, event)))
        .filter(|(_, e)| start.is_none_or(|start| e.timestamp >= start))
        .filter(|(_, e)| end.is_none_or(|end| e.timestamp <= end))
        .filter(|(_, e)| pattern.matches(&e.message))
        .collect();
    matching.sort_by_key(|(_, e)| (e.timestamp, e.seq));
    if position > matching.len() {
        return Err(bad_token());
    }

    let empties = logs.empty_pages_between;
    let token =
        |position: usize, served: usize| format!("{FILTER_TOKEN_PREFIX}{position}-{served}");
    let mut response = Map::new();
    let mut events = Vec::new();
    let next = if served < empties {
        // An empty page that still says "more".
        Some(token(position, served + 1))
    } else if position < matching.len() {
        let end = (position + limit).min(matching.len());
        for (stream, event) in &matching[position..end] {
            events.push(json!({
                "logStreamName": stream,
                "timestamp": event.timestamp,
                "message": event.message,
                "ingestionTime": event.ingestion_time,
                "eventId": format!("{:056}", event.seq),
            }));
        }
        (end < matching.len() || empties > 0).then(|| token(end, 0))
    } else {
        None
    };
    response.insert("events".into(), Value::Array(events));
    if let Some(next) = next {
        response.insert("nextToken".into(), json!(next));
    }
    Ok(Value::Object(response))
}

/// `f/<position>` or `b/<position>` in the stream's (time-bounded) events,
/// written as the real service does: 56 digits.
fn parse_get_token(token: &str) -> Option<(bool, usize)> {
    let (direction, position) = token.split_once('/')?;
    let forward = match direction {
        "f" => true,
        "b" => false,
        _ => return None,
    };
    if position.is_empty() || !position.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((forward, position.parse().ok()?))
}

fn get_log_events(logs: &Logs, body: &Value) -> Result<Value, ApiError> {
    let group_name = group_name(body)?;
    let stream_name = optional_string(body, "logStreamName")?.ok_or_else(|| {
        invalid(
            "1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null",
        )
    })?;
    let start = optional_i64(body, "startTime")?;
    let end = optional_i64(body, "endTime")?;
    let limit = limit(logs, body)?;
    let start_from_head = match body.get("startFromHead") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(value)) => *value,
        Some(_) => return Err(invalid("startFromHead must be a boolean")),
    };
    let token = match optional_string(body, "nextToken")? {
        None => None,
        Some(token) => Some(parse_get_token(token).ok_or_else(bad_token)?),
    };
    let group = logs.groups.get(&group_name).ok_or_else(group_not_found)?;
    let stream = group
        .streams
        .get(stream_name)
        .ok_or_else(stream_not_found)?;
    // startTime inclusive, endTime exclusive, as the real GetLogEvents.
    let events: Vec<&Event> = sorted(stream.events.iter())
        .into_iter()
        .filter(|e| start.is_none_or(|start| e.timestamp >= start))
        .filter(|e| end.is_none_or(|end| e.timestamp < end))
        .collect();
    let len = events.len();
    // The half-open range to return.
    let (from, to) = match token {
        Some((true, position)) if position <= len => (position, (position + limit).min(len)),
        Some((false, position)) if position <= len => (position.saturating_sub(limit), position),
        Some(_) => return Err(bad_token()),
        None if start_from_head => (0, limit.min(len)),
        None => (len.saturating_sub(limit), len),
    };
    let page: Vec<Value> = events[from..to]
        .iter()
        .map(|event| {
            json!({
                "timestamp": event.timestamp,
                "message": event.message,
                "ingestionTime": event.ingestion_time,
            })
        })
        .collect();
    Ok(json!({
        "events": page,
        // At the end (start) the forward (backward) token is the one sent.
        "nextForwardToken": format!("f/{to:056}"),
        "nextBackwardToken": format!("b/{from:056}"),
    }))
}

// ---- the Rust API ----

impl Emulator {
    /// How `FilterLogEvents` pages: at most `page_size` events a response
    /// (default 10,000; `limit` can lower it), and `empty_pages_between`
    /// empty pages (no events, a `nextToken`) before each page of events and
    /// after the last one, before the final page without a token (default
    /// 0), as the real service may answer. Only a response without
    /// `nextToken` ends a listing. `page_size` also caps `GetLogEvents`.
    pub fn set_logs_paging(&self, page_size: usize, empty_pages_between: usize) {
        self.state
            .lock()
            .logs
            .set_paging(page_size, empty_pages_between);
    }

    /// Appends events to a log stream, timestamped now (creating the group
    /// and stream if missing).
    pub fn put_log_events(&self, group: &str, stream: &str, messages: &[&str]) {
        let now = util::now_ms();
        let events: Vec<(i64, &str)> = messages.iter().map(|m| (now, *m)).collect();
        self.state.lock().logs.put(group, stream, &events, now);
    }

    /// Like [`Emulator::put_log_events`] with each event's timestamp (ms).
    pub fn put_log_events_at(&self, group: &str, stream: &str, events: &[(i64, &str)]) {
        self.state
            .lock()
            .logs
            .put(group, stream, events, util::now_ms());
    }

    /// The messages of a log stream, in the order `GetLogEvents` reads them
    /// (by timestamp, then arrival); empty if the stream does not exist.
    pub fn log_events(&self, group: &str, stream: &str) -> Vec<String> {
        self.state.lock().logs.messages(group, stream)
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    fn matches(pattern: &str, message: &str) -> bool {
        Pattern::parse(pattern)
            .unwrap_or_else(|e| panic!("{}", e.message))
            .matches(message)
    }

    #[test]
    fn term_patterns() {
        let failed = "[FAILED] Line Number 3 - Invalid email address format.";
        let skipped = "[SKIPPED] Line Number 2 - The user already exists.";
        let ok = "[SUCCEEDED] Line Number 1 - The import succeeded.";
        assert!(matches("", ok));
        assert!(matches("\"[FAILED]\"", failed));
        assert!(!matches("\"[FAILED]\"", skipped));
        assert!(matches("?\"[FAILED]\" ?\"[SKIPPED]\"", failed));
        assert!(matches("?\"[FAILED]\" ?\"[SKIPPED]\"", skipped));
        assert!(!matches("?\"[FAILED]\" ?\"[SKIPPED]\"", ok));
        assert!(matches("Line Number", ok));
        assert!(!matches("Line Nothing", ok));
        assert!(matches("Line -FAILED", ok));
        assert!(!matches("Line -FAILED", failed));
        assert!(!matches("failed", failed), "case-sensitive");
        assert!(matches("\"say \\\"hi\\\"\"", "they say \"hi\""));
        assert!(Pattern::parse("[FAILED]").is_err());
        assert!(Pattern::parse("{ $.level = \"x\" }").is_err());
        assert!(Pattern::parse("\"open").is_err());
    }
}
