//! Cognito's own ID patterns and the allowlist (SPEC section 3), checked before
//! any Cognito call so that a bad value costs nothing and says what is wrong.

use crate::config::Config;
use crate::error::{ErrorKind, ImportError};
// The ID patterns live with the data they check, so that the configuration
// can use them without importing this stage.
use crate::model::JobRef;
pub use crate::model::{is_job_id, is_user_pool_id};

pub fn parse_ids(pool: (&str, &str), job: (&str, &str)) -> Result<JobRef, ImportError> {
    Ok(JobRef {
        user_pool_id: parse_pool_id(pool)?,
        job_id: checked(job, is_job_id, "an import job ID such as import-AbC123xYz")?,
    })
}

/// The pool alone (create mode, SPEC section 10).
pub fn parse_pool_id(pool: (&str, &str)) -> Result<String, ImportError> {
    checked(
        pool,
        is_user_pool_id,
        "a user pool ID such as us-east-1_AbC123",
    )
}

/// `ALLOWED_USER_POOL_IDS` and `POOL_KEY_PREFIXES` (unset: any pool), for
/// every trigger: a pool must pass both (SPEC sections 3 and 16).
pub fn check_allowed(config: &Config, pool: &str) -> Result<(), ImportError> {
    let Some(variable) = config.refusing_variable(pool) else {
        return Ok(());
    };
    let fix = match variable {
        "POOL_KEY_PREFIXES" => "bind a key prefix to it there, or name a pool bound to a prefix",
        _ => "add it there or drop the file for an allowed pool",
    };
    Err(ImportError::new(
        ErrorKind::UserPoolNotAllowed,
        format!("user pool {pool} is not in {variable}; {fix}"),
    ))
}

/// SPEC section 16: with `POOL_KEY_PREFIXES` set, the pool of a drop is the
/// one its key's longest matching prefix names. `Ok(None)`: the variable is
/// unset (the metadata names the pool); a key under no prefix is refused.
pub fn pool_of_key(config: &Config, key: &str) -> Result<Option<String>, ImportError> {
    let Some(prefixes) = &config.pool_key_prefixes else {
        return Ok(None);
    };
    match prefixes.pool_of(key) {
        Some(pool) => Ok(Some(pool.to_string())),
        None => Err(ImportError::new(
            ErrorKind::UserPoolNotAllowed,
            format!(
                "key {} is under no prefix of POOL_KEY_PREFIXES; drop the file under the prefix of its pool",
                printable(key)
            ),
        )),
    }
}

/// SPEC section 16: metadata that names a pool other than the key's.
pub fn check_bound(bound: &str, named: &str, key: &str) -> Result<(), ImportError> {
    if bound == named {
        return Ok(());
    }
    Err(ImportError::new(
        ErrorKind::UserPoolNotAllowed,
        format!(
            "the metadata names user pool {named}, but POOL_KEY_PREFIXES binds key {} to {bound}; \
             drop the file under the prefix of {named}, or leave the pool out of its metadata",
            printable(key)
        ),
    ))
}

fn checked(
    (origin, raw): (&str, &str),
    valid: fn(&str) -> bool,
    expected: &str,
) -> Result<String, ImportError> {
    let value = raw.trim();
    if valid(value) {
        return Ok(value.to_string());
    }
    Err(ImportError::new(
        ErrorKind::InvalidImportMetadata,
        format!("{origin} is {}, which is not {expected}", printable(value)),
    ))
}

/// A value from outside, made safe for a message or a log line: quoted,
/// control and non-ASCII characters escaped, cut to a readable length.
pub fn printable(value: &str) -> String {
    const MAX_CHARS: usize = 80;
    if value.is_empty() {
        return "empty".to_string();
    }
    let shown: String = value.chars().take(MAX_CHARS).collect();
    // escape_default escapes quotes, control and non-ASCII characters alike.
    let mut escaped = format!("\"{}\"", shown.escape_default());
    if value.chars().count() > MAX_CHARS {
        escaped.push_str(&format!(
            " (cut; {} characters in all)",
            value.chars().count()
        ));
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_pool_ids() {
        for ok in [
            "us-east-1_AbC123",
            "eu-west-2_x",
            "a_b",
            "my_pool_9",
            "x-y_Z9",
        ] {
            assert!(is_user_pool_id(ok), "{ok}");
        }
        for bad in [
            "",
            "us-east-1",
            "_Abc",
            "us-east-1_",
            "us-east-1_Ab-c",
            "us east-1_Abc",
            "us-east-1_Ab\u{e9}",
            &format!("us-east-1_{}", "a".repeat(46)),
        ] {
            assert!(!is_user_pool_id(bad), "{bad}");
        }
        assert!(is_user_pool_id(&format!("us-east-1_{}", "a".repeat(45))));
    }

    #[test]
    fn job_ids() {
        for ok in ["import-AbC123", "import-a-b-c", "import--"] {
            assert!(is_job_id(ok), "{ok}");
        }
        for bad in [
            "",
            "import-",
            "Import-abc",
            "import-ab_c",
            "job-abc",
            &format!("import-{}", "a".repeat(49)),
        ] {
            assert!(!is_job_id(bad), "{bad}");
        }
        assert!(is_job_id(&format!("import-{}", "a".repeat(48))));
    }

    #[test]
    fn values_are_trimmed_then_checked() {
        let ids = parse_ids(("pool", " us-east-1_Abc1\n"), ("job", "\timport-x1 ")).unwrap();
        assert_eq!(ids.user_pool_id, "us-east-1_Abc1");
        assert_eq!(ids.job_id, "import-x1");
    }

    #[test]
    fn a_bad_value_is_invalid_import_metadata_and_safely_quoted() {
        let error = parse_ids(
            ("metadata user-pool-id", "=?UTF-8?B?w6k=?=\u{7}"),
            ("job", "import-x"),
        )
        .unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidImportMetadata);
        assert!(error.message.contains("metadata user-pool-id"));
        assert!(!error.message.contains('\u{7}'));
        let empty = parse_ids(("pool", "us-east-1_A"), ("job", "  ")).unwrap_err();
        assert_eq!(empty.kind, ErrorKind::InvalidImportMetadata);
        assert!(empty.message.contains("empty"));
    }

    #[test]
    fn the_allowlist_refuses_other_pools() {
        let mut config = Config {
            allowed_user_pool_ids: Some(vec!["us-east-1_Good".to_string()]),
            ..Config::default()
        };
        assert_eq!(check_allowed(&config, "us-east-1_Good"), Ok(()));
        let error = check_allowed(&config, "us-east-1_Other").unwrap_err();
        assert_eq!(error.kind, ErrorKind::UserPoolNotAllowed);
        assert!(error.message.contains("ALLOWED_USER_POOL_IDS"));
        config.allowed_user_pool_ids = None;
        assert_eq!(check_allowed(&config, "us-east-1_Other"), Ok(()));
    }

    fn with_prefixes(value: &str) -> Config {
        Config::from_lookup(|name| match name {
            "AWS_REGION" => Some("us-east-1".into()),
            "POOL_KEY_PREFIXES" => Some(value.into()),
            _ => None,
        })
        .unwrap()
    }

    #[test]
    fn the_prefixes_bind_keys_and_bound_the_pools() {
        let config = with_prefixes("a/=us-east-1_A,a/b/=us-east-1_B");
        assert_eq!(
            pool_of_key(&config, "a/b/c.csv"),
            Ok(Some("us-east-1_B".into()))
        );
        assert_eq!(
            pool_of_key(&config, "a/c.csv"),
            Ok(Some("us-east-1_A".into()))
        );
        let outside = pool_of_key(&config, "c/a/b.csv").unwrap_err();
        assert_eq!(outside.kind, ErrorKind::UserPoolNotAllowed);
        assert_eq!(check_allowed(&config, "us-east-1_B"), Ok(()));
        let unbound = check_allowed(&config, "us-east-1_C").unwrap_err();
        assert_eq!(unbound.kind, ErrorKind::UserPoolNotAllowed);
        assert!(unbound.message.contains("POOL_KEY_PREFIXES"));
        let other = check_bound("us-east-1_A", "us-east-1_B", "a/x.csv").unwrap_err();
        assert_eq!(other.kind, ErrorKind::UserPoolNotAllowed);
        assert_eq!(check_bound("us-east-1_A", "us-east-1_A", "a/x.csv"), Ok(()));
        assert_eq!(pool_of_key(&Config::default(), "c/a/b.csv"), Ok(None));
    }

    #[test]
    fn printable_escapes_and_cuts() {
        assert_eq!(printable("a\nb"), "\"a\\nb\"");
        assert_eq!(printable("\u{e9}"), "\"\\u{e9}\"");
        assert!(printable(&"x".repeat(500)).ends_with("(cut; 500 characters in all)"));
    }
}
