//! Cognito's own ID patterns and the allowlist (SPEC section 3), checked before
//! any Cognito call so that a bad value costs nothing and says what is wrong.

use crate::error::{ErrorKind, ImportError};
use crate::model::JobRef;

const MAX_ID_LEN: usize = 55;

/// `[\w-]+_[0-9a-zA-Z]+`, 1 to 55 characters (`\w` is ASCII in Cognito's patterns).
pub fn is_user_pool_id(value: &str) -> bool {
    let Some((region, suffix)) = value.rsplit_once('_') else {
        return false;
    };
    value.len() <= MAX_ID_LEN
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !suffix.is_empty()
        && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `import-[0-9a-zA-Z-]+`, 1 to 55 characters.
pub fn is_job_id(value: &str) -> bool {
    value.len() <= MAX_ID_LEN
        && value.strip_prefix("import-").is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

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

/// `ALLOWED_USER_POOL_IDS` (`None`: any pool), for every trigger.
pub fn check_allowed(allowed: Option<&[String]>, pool: &str) -> Result<(), ImportError> {
    match allowed {
        Some(allowed) if !allowed.iter().any(|id| id == pool) => Err(ImportError::new(
            ErrorKind::UserPoolNotAllowed,
            format!(
                "user pool {pool} is not in ALLOWED_USER_POOL_IDS; add it there or drop the file for an allowed pool"
            ),
        )),
        _ => Ok(()),
    }
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
        let allowed = ["us-east-1_Good".to_string()];
        assert!(check_allowed(Some(&allowed), "us-east-1_Good").is_ok());
        assert!(check_allowed(None, "us-east-1_Other").is_ok());
        let error = check_allowed(Some(&allowed), "us-east-1_Other").unwrap_err();
        assert_eq!(error.kind, ErrorKind::UserPoolNotAllowed);
    }

    #[test]
    fn printable_escapes_and_cuts() {
        assert_eq!(printable("a\nb"), "\"a\\nb\"");
        assert_eq!(printable("\u{e9}"), "\"\\u{e9}\"");
        assert!(printable(&"x".repeat(500)).ends_with("(cut; 500 characters in all)"));
    }
}
