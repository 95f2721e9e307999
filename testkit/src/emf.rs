//! A check of an embedded metric format (EMF) line against the
//! specification (CloudWatch, "Specification: Embedded metric format"):
//! every EMF line the function writes in the test suite goes through it.

use serde_json::{Map, Value};

/// The units the specification allows.
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// The line parsed, or what breaks the specification.
pub fn check(line: &str) -> Result<Value, String> {
    if line.len() > 1024 * 1024 {
        return Err("longer than a log event (1 MB)".into());
    }
    if line.contains('\n') {
        return Err("not one line".into());
    }
    if line.contains("X-Amz-Signature") || line.contains("PreSignedUrl") {
        return Err("carries a pre-signed URL".into());
    }
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let root = value.as_object().ok_or("the root is not an object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no _aws metadata object")?;
    only(aws, &["Timestamp", "CloudWatchMetrics"], "_aws")?;
    match aws.get("Timestamp") {
        Some(Value::Number(n)) if n.as_i64().is_some_and(|ms| ms >= 0) => {}
        other => return Err(format!("Timestamp is not whole milliseconds: {other:?}")),
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or("CloudWatchMetrics is not a non-empty array")?;
    let mut names = Vec::new();
    for directive in directives {
        let directive = directive
            .as_object()
            .ok_or("a MetricDirective is not an object")?;
        only(
            directive,
            &["Namespace", "Dimensions", "Metrics"],
            "MetricDirective",
        )?;
        match directive.get("Namespace").and_then(Value::as_str) {
            Some(ns) if (1..=255).contains(&ns.len()) => {}
            other => return Err(format!("bad Namespace {other:?}")),
        }
        let sets = directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or("Dimensions is not an array")?;
        for set in sets {
            let keys = set.as_array().ok_or("a DimensionSet is not an array")?;
            if keys.len() > 30 {
                return Err("a DimensionSet of more than 30 keys".into());
            }
            for key in keys {
                let key = key.as_str().ok_or("a dimension key is not a string")?;
                if !(1..=250).contains(&key.len()) {
                    return Err(format!("dimension key {key:?} of a bad length"));
                }
                match root.get(key) {
                    Some(Value::String(v)) if !v.is_empty() && v.len() <= 1024 => {}
                    other => {
                        return Err(format!(
                            "dimension {key} is not a top-level string: {other:?}"
                        ))
                    }
                }
            }
        }
        let metrics = directive
            .get("Metrics")
            .and_then(Value::as_array)
            .filter(|m| (1..=100).contains(&m.len()))
            .ok_or("Metrics is not an array of 1 to 100")?;
        for metric in metrics {
            let metric = metric
                .as_object()
                .ok_or("a MetricDefinition is not an object")?;
            only(
                metric,
                &["Name", "Unit", "StorageResolution"],
                "MetricDefinition",
            )?;
            let name = metric
                .get("Name")
                .and_then(Value::as_str)
                .filter(|n| (1..=1024).contains(&n.len()))
                .ok_or("a metric without a Name")?;
            if let Some(unit) = metric.get("Unit") {
                let unit = unit.as_str().unwrap_or_default();
                if !UNITS.contains(&unit) {
                    return Err(format!(
                        "{name}: unit {unit:?} is not one of the specification's"
                    ));
                }
            }
            match root.get(name) {
                Some(Value::Number(_)) => {}
                Some(Value::Array(values)) if values.iter().all(Value::is_number) => {}
                other => {
                    return Err(format!(
                        "metric {name} is not a top-level number: {other:?}"
                    ))
                }
            }
            names.push(name.to_string());
        }
    }
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != names.len() {
        return Err(format!("a metric is defined twice: {names:?}"));
    }
    Ok(value)
}

fn only(object: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(format!(
            "{what} has a member the specification does not define: {extra}"
        )),
        None => Ok(()),
    }
}

/// Each metric of a line: (name, its dimensions as key=value, value).
pub fn metrics_of(line: &Value) -> Vec<(String, Vec<String>, Value)> {
    cognito_import_starter::aws::metrics::read_back(line)
        .into_iter()
        .map(|r| {
            let dimensions = r
                .dimensions
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            (r.name, dimensions, r.value)
        })
        .collect()
}
