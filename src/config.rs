//! SPEC section 7: every variable read and checked once, at init. A bad value
//! stops the function with a message that names the variable.

use std::time::Duration;

use crate::model::is_user_pool_id;

/// The highest `GROUPS_RPS` taken.
pub const MAX_GROUPS_RPS: u64 = 1_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub event_bus_name: String,
    pub event_source: String,
    /// Lowercased: S3 user metadata names are matched without regard to case.
    pub pool_id_metadata_key: String,
    pub job_id_metadata_key: String,
    pub allowed_user_pool_ids: Option<Vec<String>>,
    /// `POOL_KEY_PREFIXES` (SPEC section 16): key prefixes bound to pools.
    pub pool_key_prefixes: Option<PoolKeyPrefixes>,
    pub expected_bucket_owner: Option<String>,
    pub emit_presigned_url: bool,
    pub max_concurrency: usize,
    pub cloudwatch_logs_role_arn: Option<String>,
    pub validate_csv: bool,
    /// SPEC section 12: where `Track` writes `failed.csv` and `report.csv`
    /// (`<prefix><job id>/`); empty: nothing is written.
    pub results_prefix: String,
    /// SPEC section 13: the base wait of a queued drop while the import slot
    /// is busy, in seconds (times the message's receive count, at most 900).
    pub slot_wait_seconds: u32,
    /// SPEC section 14: data rows per job when create mode cuts a file into
    /// parts (1 to 500,000).
    pub part_max_rows: u64,
    /// `METRICS_NAMESPACE`: where the EMF metrics go; empty: no metrics.
    pub metrics_namespace: String,
    /// `METRICS_POOL_DIMENSION`: every metric also by `UserPoolId`.
    pub metrics_pool_dimension: bool,
    /// True when an S3 endpoint is overridden (a local emulator): path-style addressing.
    pub s3_force_path_style: bool,
    pub timeouts: Timeouts,
    /// SPEC section 15: the metadata name of the password hashing
    /// algorithm (`PASSWORD_ALGORITHM_METADATA_KEY`), lowercased.
    pub password_algorithm_metadata_key: String,
    /// SPEC section 17: at most this many `AdminAddUserToGroup` calls a
    /// second in one `AddToGroups` invocation (`GROUPS_RPS`, 1 to 1,000).
    pub groups_rps: u32,
    /// SPEC section 17: `CREATE_MISSING_GROUPS`, groups a file names that
    /// the pool lacks are created before the job.
    pub create_missing_groups: bool,
}

/// Bounds on every AWS call, so a hung endpoint cannot eat the Lambda timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// One HTTP attempt.
    pub attempt: Duration,
    /// The whole call, the SDK's retries included.
    pub operation: Duration,
    /// Create mode's PUT of the file to the job's pre-signed URL, whole.
    pub upload: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(2),
            attempt: Duration::from_secs(5),
            operation: Duration::from_secs(12),
            upload: Duration::from_secs(120),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn bad(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            event_bus_name: "default".into(),
            event_source: "cognito-import-starter".into(),
            pool_id_metadata_key: "user-pool-id".into(),
            job_id_metadata_key: "job-id".into(),
            allowed_user_pool_ids: None,
            pool_key_prefixes: None,
            expected_bucket_owner: None,
            emit_presigned_url: false,
            max_concurrency: 10,
            cloudwatch_logs_role_arn: None,
            validate_csv: false,
            results_prefix: "results/".into(),
            slot_wait_seconds: 60,
            part_max_rows: crate::csv_check::MAX_ROWS,
            metrics_namespace: "CognitoImportStarter".into(),
            metrics_pool_dimension: false,
            s3_force_path_style: false,
            timeouts: Timeouts::default(),
            password_algorithm_metadata_key: "password-hashing-algorithm".into(),
            groups_rps: 10,
            create_missing_groups: false,
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup` so tests never touch the process environment.
    /// An empty value counts as unset: a SAM parameter left empty arrives as "".
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let defaults = Config::default();
        check_sdk_variables(&get)?;
        let allowed_user_pool_ids = allowlist(get("ALLOWED_USER_POOL_IDS"))?;
        let pool_key_prefixes = key_prefixes(get("POOL_KEY_PREFIXES"))?;
        within_allowlist(pool_key_prefixes.as_ref(), allowed_user_pool_ids.as_deref())?;
        Ok(Config {
            event_bus_name: get("EVENT_BUS_NAME").unwrap_or(defaults.event_bus_name),
            event_source: event_source(get("EVENT_SOURCE"))?.unwrap_or(defaults.event_source),
            pool_id_metadata_key: metadata_key(
                "POOL_ID_METADATA_KEY",
                get("POOL_ID_METADATA_KEY"),
            )?
            .unwrap_or(defaults.pool_id_metadata_key),
            job_id_metadata_key: metadata_key("JOB_ID_METADATA_KEY", get("JOB_ID_METADATA_KEY"))?
                .unwrap_or(defaults.job_id_metadata_key),
            allowed_user_pool_ids,
            pool_key_prefixes,
            expected_bucket_owner: account_id(get("EXPECTED_BUCKET_OWNER"))?,
            emit_presigned_url: boolean("EMIT_PRESIGNED_URL", get("EMIT_PRESIGNED_URL"))?,
            max_concurrency: concurrency(get("MAX_CONCURRENCY"))?
                .unwrap_or(defaults.max_concurrency),
            cloudwatch_logs_role_arn: role_arn(get("CLOUDWATCH_LOGS_ROLE_ARN"))?,
            validate_csv: boolean("VALIDATE_CSV", get("VALIDATE_CSV"))?,
            // Not through `get`: here an empty value means "write nothing".
            results_prefix: results_prefix(lookup("RESULTS_PREFIX"))?
                .unwrap_or(defaults.results_prefix),
            slot_wait_seconds: whole_number("SLOT_WAIT_SECONDS", get("SLOT_WAIT_SECONDS"), 1, 900)?
                .map_or(defaults.slot_wait_seconds, |n| n as u32),
            part_max_rows: whole_number(
                "PART_MAX_ROWS",
                get("PART_MAX_ROWS"),
                1,
                crate::csv_check::MAX_ROWS,
            )?
            .unwrap_or(defaults.part_max_rows),
            // Not through `get`: here an empty value means "no metrics".
            metrics_namespace: namespace(lookup("METRICS_NAMESPACE"))?
                .unwrap_or(defaults.metrics_namespace),
            metrics_pool_dimension: boolean(
                "METRICS_POOL_DIMENSION",
                get("METRICS_POOL_DIMENSION"),
            )?,
            s3_force_path_style: get("AWS_ENDPOINT_URL_S3").is_some()
                || get("AWS_ENDPOINT_URL").is_some(),
            timeouts: defaults.timeouts,
            password_algorithm_metadata_key: metadata_key(
                "PASSWORD_ALGORITHM_METADATA_KEY",
                get("PASSWORD_ALGORITHM_METADATA_KEY"),
            )?
            .unwrap_or(defaults.password_algorithm_metadata_key),
            // Up to 1,000: Cognito's account-wide 25 a second is the real
            // bound; more is for a benchmark against the emulator.
            groups_rps: whole_number("GROUPS_RPS", get("GROUPS_RPS"), 1, MAX_GROUPS_RPS)?
                .map_or(defaults.groups_rps, |n| n as u32),
            create_missing_groups: boolean("CREATE_MISSING_GROUPS", get("CREATE_MISSING_GROUPS"))?,
        })
    }
}

impl Config {
    /// Whether `pool` may be imported into or tracked at all: it is in
    /// `ALLOWED_USER_POOL_IDS` (when set) and bound to a prefix of
    /// `POOL_KEY_PREFIXES` (when set). `None` when allowed, else the
    /// variable that refuses it.
    pub fn refusing_variable(&self, pool: &str) -> Option<&'static str> {
        if let Some(allowed) = &self.allowed_user_pool_ids {
            if !allowed.iter().any(|id| id == pool) {
                return Some("ALLOWED_USER_POOL_IDS");
            }
        }
        match &self.pool_key_prefixes {
            Some(prefixes) if !prefixes.binds(pool) => Some("POOL_KEY_PREFIXES"),
            _ => None,
        }
    }

    /// The pools the function may act on, when a variable bounds them: the
    /// allowlist's (which holds every bound pool), else the prefixes'. Where
    /// the job holding the import slot is looked for (SPEC section 13).
    pub fn bounded_pools(&self) -> Option<Vec<&str>> {
        if let Some(allowed) = &self.allowed_user_pool_ids {
            return Some(allowed.iter().map(String::as_str).collect());
        }
        self.pool_key_prefixes.as_ref().map(PoolKeyPrefixes::pools)
    }
}

/// `POOL_KEY_PREFIXES`: `<prefix>=<pool id>` pairs. A drop's pool is the one
/// its key's longest matching prefix names (SPEC section 16).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolKeyPrefixes {
    /// `(prefix, pool)`, longest prefix first, so the first match wins.
    pairs: Vec<(String, String)>,
}

impl PoolKeyPrefixes {
    /// The pool bound to the longest prefix of `key`, if any.
    pub fn pool_of(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(prefix, _)| key.starts_with(prefix.as_str()))
            .map(|(_, pool)| pool.as_str())
    }

    /// Whether some prefix is bound to `pool`.
    pub fn binds(&self, pool: &str) -> bool {
        self.pairs.iter().any(|(_, bound)| bound == pool)
    }

    /// Every bound pool, once each.
    pub fn pools(&self) -> Vec<&str> {
        let mut pools: Vec<&str> = Vec::new();
        for (_, pool) in &self.pairs {
            if !pools.contains(&pool.as_str()) {
                pools.push(pool);
            }
        }
        pools
    }
}

/// `<prefix>=<pool id>,...`. The pool is after the last `=` (a pool ID has
/// none); the prefix may be empty (every key not under a longer prefix).
fn key_prefixes(value: Option<String>) -> Result<Option<PoolKeyPrefixes>, ConfigError> {
    const VARIABLE: &str = "POOL_KEY_PREFIXES";
    let Some(value) = value else { return Ok(None) };
    let mut pairs: Vec<(String, String)> = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((prefix, pool)) = entry.rsplit_once('=') else {
            return Err(bad(
                VARIABLE,
                format!("{entry:?} is not <prefix>=<user pool ID>"),
            ));
        };
        let (prefix, pool) = (prefix.trim(), pool.trim());
        if !is_user_pool_id(pool) {
            return Err(bad(
                VARIABLE,
                format!("{pool:?} (for prefix {prefix:?}) is not a user pool ID (like us-east-1_AbC123)"),
            ));
        }
        if pairs.iter().any(|(given, _)| given == prefix) {
            return Err(bad(VARIABLE, format!("prefix {prefix:?} is given twice")));
        }
        pairs.push((prefix.to_string(), pool.to_string()));
    }
    if pairs.is_empty() {
        return Err(bad(VARIABLE, "lists no <prefix>=<user pool ID> pair"));
    }
    pairs.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
    Ok(Some(PoolKeyPrefixes { pairs }))
}

/// Both variables apply (a pool must pass both): a prefix bound to a pool
/// outside the allowlist could never import, so it stops init.
fn within_allowlist(
    prefixes: Option<&PoolKeyPrefixes>,
    allowed: Option<&[String]>,
) -> Result<(), ConfigError> {
    let (Some(prefixes), Some(allowed)) = (prefixes, allowed) else {
        return Ok(());
    };
    match prefixes.pools().into_iter().find(|pool| !allowed.iter().any(|a| a == pool)) {
        Some(pool) => Err(bad(
            "POOL_KEY_PREFIXES",
            format!("binds a prefix to {pool}, which is not in ALLOWED_USER_POOL_IDS; add it there or remove the pair"),
        )),
        None => Ok(()),
    }
}

/// The standard SDK settings are the SDK's to interpret; they are checked here
/// only so that a typo stops init with the variable's name instead of
/// surfacing later as a failed call.
fn check_sdk_variables(get: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    if get("AWS_REGION").is_none() && get("AWS_DEFAULT_REGION").is_none() {
        return Err(bad(
            "AWS_REGION",
            "is not set; set it to the region of the user pools",
        ));
    }
    if let Some(value) = get("AWS_MAX_ATTEMPTS") {
        match value.parse::<u32>() {
            Ok(n) if n >= 1 => {}
            _ => {
                return Err(bad(
                    "AWS_MAX_ATTEMPTS",
                    format!("{value:?} is not a whole number of 1 or more"),
                ))
            }
        }
    }
    if let Some(value) = get("AWS_RETRY_MODE") {
        if !matches!(value.to_ascii_lowercase().as_str(), "standard" | "adaptive") {
            return Err(bad(
                "AWS_RETRY_MODE",
                format!("{value:?} is neither \"standard\" nor \"adaptive\""),
            ));
        }
    }
    for variable in [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
        "AWS_ENDPOINT_URL_EVENTBRIDGE",
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
        "AWS_ENDPOINT_URL_SQS",
    ] {
        if let Some(value) = get(variable) {
            let rest = value
                .strip_prefix("http://")
                .or_else(|| value.strip_prefix("https://"));
            if rest.is_none_or(|host| host.is_empty()) {
                return Err(bad(
                    variable,
                    format!("{value:?} is not an http:// or https:// URL"),
                ));
            }
        }
    }
    Ok(())
}

fn event_source(value: Option<String>) -> Result<Option<String>, ConfigError> {
    match value {
        // EventBridge refuses custom events whose source starts with "aws.".
        Some(v) if v.starts_with("aws.") => Err(bad(
            "EVENT_SOURCE",
            format!("{v:?} may not start with \"aws.\""),
        )),
        Some(v) if v.len() > 256 => Err(bad("EVENT_SOURCE", "is longer than 256 characters")),
        other => Ok(other),
    }
}

fn metadata_key(
    variable: &'static str,
    value: Option<String>,
) -> Result<Option<String>, ConfigError> {
    let Some(value) = value else { return Ok(None) };
    let name = value.to_ascii_lowercase();
    // Accept the wire form too: x-amz-meta-user-pool-id means user-pool-id.
    let name = name
        .strip_prefix("x-amz-meta-")
        .unwrap_or(&name)
        .to_string();
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(Some(name))
    } else {
        Err(bad(
            variable,
            format!("{value:?} is not a valid S3 user metadata name"),
        ))
    }
}

fn allowlist(value: Option<String>) -> Result<Option<Vec<String>>, ConfigError> {
    let Some(value) = value else { return Ok(None) };
    let mut pools = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        if !is_user_pool_id(entry) {
            return Err(bad(
                "ALLOWED_USER_POOL_IDS",
                format!("{entry:?} is not a user pool ID (like us-east-1_AbC123)"),
            ));
        }
        pools.push(entry.to_string());
    }
    if pools.is_empty() {
        return Err(bad("ALLOWED_USER_POOL_IDS", "lists no user pool ID"));
    }
    Ok(Some(pools))
}

fn account_id(value: Option<String>) -> Result<Option<String>, ConfigError> {
    match value {
        Some(v) if v.len() != 12 || !v.bytes().all(|b| b.is_ascii_digit()) => Err(bad(
            "EXPECTED_BUCKET_OWNER",
            format!("{v:?} is not a 12-digit AWS account ID"),
        )),
        other => Ok(other),
    }
}

fn boolean(variable: &'static str, value: Option<String>) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(bad(
            variable,
            format!(
                "{:?} is neither \"true\" nor \"false\"",
                value.unwrap_or_default()
            ),
        )),
    }
}

fn concurrency(value: Option<String>) -> Result<Option<usize>, ConfigError> {
    let Some(value) = value else { return Ok(None) };
    match value.parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(Some(n)),
        _ => Err(bad(
            "MAX_CONCURRENCY",
            format!("{value:?} is not a whole number from 1 to 1000"),
        )),
    }
}

/// A whole number from `min` to `max`.
fn whole_number(
    variable: &'static str,
    value: Option<String>,
    min: u64,
    max: u64,
) -> Result<Option<u64>, ConfigError> {
    let Some(value) = value else { return Ok(None) };
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(bad(
            variable,
            format!("{value:?} is not a whole number from {min} to {max}"),
        )),
    }
}

/// A CloudWatch namespace: letters, digits, spaces and `. _ / # : -`, at
/// most 255 characters, not `AWS/...` (reserved for AWS); empty turns
/// metrics off.
fn namespace(value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(value) = value else { return Ok(None) };
    let namespace = value.trim();
    let allowed = namespace
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" ._/#:-".contains(&b));
    if namespace.len() > 255 || !allowed || namespace.starts_with("AWS/") {
        return Err(bad(
            "METRICS_NAMESPACE",
            format!(
                "{namespace:?} is not a CloudWatch namespace (letters, digits, spaces and \
                 . _ / # : -, at most 255 characters, not starting with \"AWS/\"); leave it \
                 empty for no metrics"
            ),
        ));
    }
    Ok(Some(namespace.to_string()))
}

fn results_prefix(value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(value) = value else { return Ok(None) };
    let prefix = value.trim();
    // S3 keys are at most 1,024 bytes; the job ID and file name need room.
    if prefix.len() > 900 || prefix.starts_with('/') {
        return Err(bad(
            "RESULTS_PREFIX",
            format!("{prefix:?} is not a key prefix (no leading \"/\", at most 900 bytes)"),
        ));
    }
    Ok(Some(prefix.to_string()))
}

fn role_arn(value: Option<String>) -> Result<Option<String>, ConfigError> {
    match value {
        Some(v) if !(v.starts_with("arn:") && v.contains(":iam::") && v.contains(":role/")) => {
            Err(bad(
                "CLOUDWATCH_LOGS_ROLE_ARN",
                format!("{v:?} is not an IAM role ARN"),
            ))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut env: HashMap<String, String> =
            HashMap::from([("AWS_REGION".into(), "us-east-1".into())]);
        env.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Config::from_lookup(|name| env.get(name).cloned())
    }

    #[test]
    fn defaults_are_the_spec_defaults() {
        let config = load(&[]).unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.event_bus_name, "default");
        assert_eq!(config.event_source, "cognito-import-starter");
        assert_eq!(config.pool_id_metadata_key, "user-pool-id");
        assert_eq!(config.job_id_metadata_key, "job-id");
        assert_eq!(config.max_concurrency, 10);
        assert_eq!(config.slot_wait_seconds, 60);
        assert_eq!(config.part_max_rows, 500_000);
        assert_eq!(config.metrics_namespace, "CognitoImportStarter");
        assert!(!config.metrics_pool_dimension);
        assert!(!config.emit_presigned_url && !config.validate_csv);
        assert_eq!(config.groups_rps, 10);
        assert!(!config.create_missing_groups);
    }

    #[test]
    fn every_variable_is_read() {
        let config = load(&[
            (
                "EVENT_BUS_NAME",
                "arn:aws:events:us-east-1:123456789012:event-bus/imports",
            ),
            ("EVENT_SOURCE", "acme.imports"),
            ("POOL_ID_METADATA_KEY", "X-Amz-Meta-Pool"),
            ("JOB_ID_METADATA_KEY", "Job"),
            (
                "ALLOWED_USER_POOL_IDS",
                " us-east-1_Abc123 , eu-west-1_Xyz9 ,",
            ),
            ("EXPECTED_BUCKET_OWNER", "123456789012"),
            ("EMIT_PRESIGNED_URL", "TRUE"),
            ("MAX_CONCURRENCY", "3"),
            (
                "CLOUDWATCH_LOGS_ROLE_ARN",
                "arn:aws:iam::123456789012:role/CognitoImportLogs",
            ),
            ("VALIDATE_CSV", "true"),
            ("RESULTS_PREFIX", "import-results/"),
            ("SLOT_WAIT_SECONDS", "15"),
            ("PART_MAX_ROWS", "1000"),
            ("GROUPS_RPS", "1000"),
            ("CREATE_MISSING_GROUPS", "True"),
            ("METRICS_NAMESPACE", "Acme/Imports"),
            ("METRICS_POOL_DIMENSION", "true"),
            ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000"),
        ])
        .unwrap();
        assert_eq!(config.results_prefix, "import-results/");
        assert_eq!(config.slot_wait_seconds, 15);
        assert_eq!(config.part_max_rows, 1000);
        assert_eq!(config.groups_rps, 1000);
        assert!(config.create_missing_groups);
        assert_eq!(config.metrics_namespace, "Acme/Imports");
        assert!(config.metrics_pool_dimension);
        assert_eq!(
            config.event_bus_name,
            "arn:aws:events:us-east-1:123456789012:event-bus/imports"
        );
        assert_eq!(config.event_source, "acme.imports");
        assert_eq!(config.pool_id_metadata_key, "pool");
        assert_eq!(config.job_id_metadata_key, "job");
        assert_eq!(
            config.allowed_user_pool_ids,
            Some(vec![
                "us-east-1_Abc123".to_string(),
                "eu-west-1_Xyz9".to_string()
            ])
        );
        assert_eq!(
            config.expected_bucket_owner.as_deref(),
            Some("123456789012")
        );
        assert!(config.emit_presigned_url && config.validate_csv && config.s3_force_path_style);
        assert_eq!(config.max_concurrency, 3);
        assert!(config.cloudwatch_logs_role_arn.is_some());
    }

    #[test]
    fn the_password_algorithm_metadata_name_can_be_renamed() {
        let config = load(&[]).unwrap();
        assert_eq!(
            config.password_algorithm_metadata_key,
            "password-hashing-algorithm"
        );
        let config = load(&[("PASSWORD_ALGORITHM_METADATA_KEY", "X-Amz-Meta-Hash-Alg")]).unwrap();
        assert_eq!(config.password_algorithm_metadata_key, "hash-alg");
        let error = load(&[("PASSWORD_ALGORITHM_METADATA_KEY", "hash alg")]).unwrap_err();
        assert_eq!(error.variable, "PASSWORD_ALGORITHM_METADATA_KEY");
    }

    #[test]
    fn empty_values_count_as_unset() {
        let config = load(&[
            ("ALLOWED_USER_POOL_IDS", ""),
            ("EXPECTED_BUCKET_OWNER", " "),
        ])
        .unwrap();
        assert_eq!(config.allowed_user_pool_ids, None);
        assert_eq!(config.expected_bucket_owner, None);
        assert_eq!(config.results_prefix, "results/");
        // Except RESULTS_PREFIX, where empty means "write no objects", and
        // METRICS_NAMESPACE, where it means "no metrics".
        assert_eq!(load(&[("RESULTS_PREFIX", "")]).unwrap().results_prefix, "");
        assert_eq!(
            load(&[("METRICS_NAMESPACE", "")])
                .unwrap()
                .metrics_namespace,
            ""
        );
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (variable, value) in [
            ("EMIT_PRESIGNED_URL", "yes"),
            ("VALIDATE_CSV", "1"),
            ("MAX_CONCURRENCY", "0"),
            ("MAX_CONCURRENCY", "ten"),
            ("ALLOWED_USER_POOL_IDS", "not a pool"),
            ("EXPECTED_BUCKET_OWNER", "12345"),
            ("EVENT_SOURCE", "aws.s3"),
            ("POOL_ID_METADATA_KEY", "pool id"),
            ("CLOUDWATCH_LOGS_ROLE_ARN", "role"),
            ("AWS_MAX_ATTEMPTS", "zero"),
            ("AWS_RETRY_MODE", "sometimes"),
            ("AWS_ENDPOINT_URL", "127.0.0.1:4566"),
            ("AWS_ENDPOINT_URL_EVENTBRIDGE", "ftp://x"),
            ("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "logs"),
            ("RESULTS_PREFIX", "/results/"),
            ("SLOT_WAIT_SECONDS", "0"),
            ("SLOT_WAIT_SECONDS", "901"),
            ("PART_MAX_ROWS", "0"),
            ("PART_MAX_ROWS", "500001"),
            ("AWS_ENDPOINT_URL_SQS", "sqs"),
            ("METRICS_NAMESPACE", "AWS/Lambda"),
            ("METRICS_NAMESPACE", "tab\there"),
            ("METRICS_NAMESPACE", "quote\"d"),
            ("METRICS_POOL_DIMENSION", "yes"),
            ("GROUPS_RPS", "0"),
            ("GROUPS_RPS", "1001"),
            ("GROUPS_RPS", "2.5"),
            ("CREATE_MISSING_GROUPS", "1"),
        ] {
            let error = load(&[(variable, value)]).unwrap_err();
            assert_eq!(error.variable, variable, "{value}");
            assert!(error.to_string().contains(variable));
        }
    }

    #[test]
    fn pool_key_prefixes_bind_the_longest_prefix() {
        let config = load(&[(
            "POOL_KEY_PREFIXES",
            " imports/=us-east-1_All1 , imports/eu/=eu-west-1_Eu1,=us-east-1_Rest1,a=b=us-east-1_Eq1",
        )])
        .unwrap();
        let prefixes = config.pool_key_prefixes.as_ref().unwrap();
        assert_eq!(prefixes.pool_of("imports/eu/x.csv"), Some("eu-west-1_Eu1"));
        assert_eq!(prefixes.pool_of("imports/x.csv"), Some("us-east-1_All1"));
        assert_eq!(prefixes.pool_of("a=b/x.csv"), Some("us-east-1_Eq1"));
        // The empty prefix holds every key no longer prefix holds.
        assert_eq!(prefixes.pool_of("elsewhere.csv"), Some("us-east-1_Rest1"));
        // Without an allowlist, the bound pools are the ones the slot is
        // looked for in.
        let mut pools = config.bounded_pools().unwrap();
        pools.sort();
        assert_eq!(
            pools,
            [
                "eu-west-1_Eu1",
                "us-east-1_All1",
                "us-east-1_Eq1",
                "us-east-1_Rest1"
            ]
        );
        let none = load(&[("POOL_KEY_PREFIXES", "imports/=us-east-1_All1")]).unwrap();
        assert_eq!(none.pool_key_prefixes.unwrap().pool_of("other/x.csv"), None);
    }

    #[test]
    fn a_pool_must_pass_both_the_allowlist_and_the_prefixes() {
        let config = load(&[
            ("ALLOWED_USER_POOL_IDS", "us-east-1_A1,us-east-1_B1"),
            ("POOL_KEY_PREFIXES", "a/=us-east-1_A1"),
        ])
        .unwrap();
        assert_eq!(config.refusing_variable("us-east-1_A1"), None);
        assert_eq!(
            config.refusing_variable("us-east-1_B1"),
            Some("POOL_KEY_PREFIXES")
        );
        assert_eq!(
            config.refusing_variable("us-east-1_C1"),
            Some("ALLOWED_USER_POOL_IDS")
        );
        // The slot is looked for in every allowed pool.
        assert_eq!(
            config.bounded_pools(),
            Some(vec!["us-east-1_A1", "us-east-1_B1"])
        );
        assert_eq!(Config::default().refusing_variable("us-east-1_C1"), None);
        assert_eq!(Config::default().bounded_pools(), None);
    }

    #[test]
    fn bad_pool_key_prefixes_stop_init_naming_the_variable() {
        for (value, problem) in [
            ("imports/us-east-1_A1", "is not <prefix>=<user pool ID>"),
            ("imports/=not a pool", "is not a user pool ID"),
            ("imports/=", "is not a user pool ID"),
            ("a/=us-east-1_A1,a/=us-east-1_B1", "given twice"),
            (" , ", "lists no"),
        ] {
            let error = load(&[("POOL_KEY_PREFIXES", value)]).unwrap_err();
            assert_eq!(error.variable, "POOL_KEY_PREFIXES", "{value}");
            assert!(error.to_string().contains(problem), "{value}: {error}");
        }
        let outside = load(&[
            ("ALLOWED_USER_POOL_IDS", "us-east-1_A1"),
            ("POOL_KEY_PREFIXES", "a/=us-east-1_A1,b/=us-east-1_B1"),
        ])
        .unwrap_err();
        assert_eq!(outside.variable, "POOL_KEY_PREFIXES");
        assert!(outside.problem.contains("us-east-1_B1"), "{outside}");
    }

    #[test]
    fn a_missing_region_stops_init() {
        let error = Config::from_lookup(|_| None).unwrap_err();
        assert_eq!(error.variable, "AWS_REGION");
    }
}
