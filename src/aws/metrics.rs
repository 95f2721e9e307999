//! The CloudWatch metrics writer in the embedded metric format (EMF): one
//! JSON line on stdout, which CloudWatch Logs turns into metrics (no API
//! call, no IAM). A line holds one directive per metric (each metric has its
//! own dimensions), every metric and dimension named there as a top-level
//! member, and an integer millisecond `Timestamp`. What to record of an
//! outcome is `emit::metrics`'s; this file only writes lines.
//!
//! Written with `serde_json` by hand rather than through a metrics crate:
//! the shapes are fixed and few, and the crates measured cost more than
//! they would save here (docs/operations.md, "Watching it run").
//!
//! Writing metrics never fails an invocation: a line that cannot be written
//! is dropped. No line carries a pre-signed URL or any message text.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// Where the lines go: stdout in Lambda; a callback in tests and the local
/// runner, to read them back.
#[derive(Clone)]
pub enum MetricsOut {
    Stdout,
    Lines(Arc<dyn Fn(&str) + Send + Sync>),
}

impl std::fmt::Debug for MetricsOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MetricsOut::Stdout => "Stdout",
            MetricsOut::Lines(_) => "Lines",
        })
    }
}

/// Whether every metric is also written by `UserPoolId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolDimension {
    Without,
    ByPool,
}

impl From<bool> for PoolDimension {
    /// `METRICS_POOL_DIMENSION`'s value.
    fn from(by_pool: bool) -> PoolDimension {
        if by_pool {
            PoolDimension::ByPool
        } else {
            PoolDimension::Without
        }
    }
}

/// The metrics writer: built when `METRICS_NAMESPACE` is not empty.
#[derive(Clone, Debug)]
pub struct Metrics {
    namespace: String,
    /// `METRICS_POOL_DIMENSION`: every metric also by `UserPoolId`.
    pool_dimension: PoolDimension,
    out: MetricsOut,
    /// The pools a Cognito call succeeded for, the only values the
    /// `UserPoolId` dimension takes (SPEC section 16): every dimension value
    /// is a metric of its own, so an ID that only metadata named must never
    /// become one. Shared by the clones of one `App`, kept while the
    /// execution environment lives.
    known_pools: Arc<Mutex<HashSet<String>>>,
}

/// A user pool quota of an account is 1,000 pools; more is no real pool.
const MAX_KNOWN_POOLS: usize = 1_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
        }
    }
}

/// One EMF line being built.
pub struct EmfLine<'a> {
    metrics: &'a Metrics,
    pool: Option<&'a str>,
    directives: Vec<Value>,
    members: Map<String, Value>,
}

impl<'a> EmfLine<'a> {
    fn new(metrics: &'a Metrics, pool: Option<&'a str>) -> EmfLine<'a> {
        EmfLine {
            metrics,
            pool: pool.filter(|_| metrics.pool_dimension == PoolDimension::ByPool),
            directives: Vec::new(),
            members: Map::new(),
        }
    }

    /// `name` = `value` in `unit`, by `dimensions` (and by pool too, as more
    /// dimension sets, when asked for and known).
    pub fn add(&mut self, name: &str, unit: Unit, value: Value, dimensions: &[(&str, &str)]) {
        let keys: Vec<&str> = dimensions.iter().map(|(key, _)| *key).collect();
        self.add_sets(name, unit, value, dimensions, vec![keys]);
    }

    /// A count by `dimension` and in total (one more, empty, dimension set:
    /// what the dashboard's totals and the alarms read).
    pub fn count_by_and_total(&mut self, name: &str, dimension: (&str, &str)) {
        let sets = vec![vec![dimension.0], vec![]];
        self.add_sets(name, Unit::Count, json!(1), &[dimension], sets);
    }

    fn add_sets(
        &mut self,
        name: &str,
        unit: Unit,
        value: Value,
        dimensions: &[(&str, &str)],
        base: Vec<Vec<&str>>,
    ) {
        let mut sets: Vec<Value> = base.iter().map(|keys| json!(keys)).collect();
        if let Some(pool) = self.pool {
            for keys in &base {
                let mut with_pool = keys.clone();
                with_pool.push("UserPoolId");
                sets.push(json!(with_pool));
            }
            self.members.insert("UserPoolId".into(), pool.into());
        }
        for (key, value) in dimensions {
            self.members.insert((*key).into(), (*value).into());
        }
        self.members.insert(name.into(), value);
        self.directives.push(json!({
            "Namespace": self.metrics.namespace,
            "Dimensions": sets,
            "Metrics": [{"Name": name, "Unit": unit.as_str()}],
        }));
    }

    pub fn count(&mut self, name: &str, dimensions: &[(&str, &str)]) {
        self.add(name, Unit::Count, json!(1), dimensions);
    }

    pub fn write(self) {
        if self.directives.is_empty() {
            return;
        }
        let mut line = self.members;
        line.insert(
            "_aws".into(),
            json!({"Timestamp": now_ms(), "CloudWatchMetrics": self.directives}),
        );
        self.metrics.out.write(&Value::Object(line).to_string());
    }
}

impl MetricsOut {
    fn write(&self, line: &str) {
        match self {
            // One write of the whole line, so that it never interleaves
            // with a log line.
            MetricsOut::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(format!("{line}\n").as_bytes());
                let _ = out.flush();
            }
            MetricsOut::Lines(callback) => callback(line),
        }
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Metrics {
    pub fn new(namespace: &str, pool_dimension: PoolDimension, out: MetricsOut) -> Metrics {
        Metrics {
            namespace: namespace.to_string(),
            pool_dimension,
            out,
            known_pools: Arc::default(),
        }
    }

    /// A Cognito call for `pool` succeeded: Cognito knows it, and every call
    /// is made only for a pool that passed the allowlist.
    pub fn pool_known(&self, pool: &str) {
        if self.pool_dimension == PoolDimension::Without {
            return;
        }
        let mut known = self.known_pools.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() < MAX_KNOWN_POOLS {
            known.insert(pool.to_string());
        }
    }

    /// Whether a Cognito call succeeded for `pool`: only such a pool
    /// becomes a dimension value.
    pub fn is_known(&self, pool: &str) -> bool {
        let known = self.known_pools.lock().unwrap_or_else(|p| p.into_inner());
        known.contains(pool)
    }

    /// A line to build, by `pool` too when the pool dimension is on.
    pub fn line<'a>(&'a self, pool: Option<&'a str>) -> EmfLine<'a> {
        EmfLine::new(self, pool)
    }
}

/// One metric of an EMF line, read back (the local runner prints them, the
/// tests check them): its first dimension set.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub namespace: String,
    pub name: String,
    pub unit: String,
    /// `(key, value)` of the metric's first dimension set.
    pub dimensions: Vec<(String, String)>,
    pub value: Value,
}

/// Every metric an EMF line holds.
pub fn read_back(line: &Value) -> Vec<Reading> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let directives = line["_aws"]["CloudWatchMetrics"].as_array();
    let mut out = Vec::new();
    for directive in directives.into_iter().flatten() {
        let dimensions: Vec<(String, String)> = directive["Dimensions"][0]
            .as_array()
            .into_iter()
            .flatten()
            .map(|key| (text(key), text(&line[text(key)])))
            .collect();
        for metric in directive["Metrics"].as_array().into_iter().flatten() {
            let name = text(&metric["Name"]);
            out.push(Reading {
                namespace: text(&directive["Namespace"]),
                unit: text(&metric["Unit"]),
                value: line[&name].clone(),
                dimensions: dimensions.clone(),
                name,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(pool_dimension: PoolDimension) -> Metrics {
        Metrics::new(
            "Ns",
            pool_dimension,
            MetricsOut::Lines(Arc::new(|_: &str| {})),
        )
    }

    #[test]
    fn known_pools_are_bounded_and_kept_only_with_the_dimension() {
        let off = capture(PoolDimension::Without);
        off.pool_known("us-east-1_P1");
        assert!(off.known_pools.lock().unwrap().is_empty());
        let on = capture(PoolDimension::ByPool);
        for n in 0..MAX_KNOWN_POOLS + 5 {
            on.pool_known(&format!("us-east-1_P{n}"));
        }
        assert_eq!(on.known_pools.lock().unwrap().len(), MAX_KNOWN_POOLS);
    }
}
