//! SPEC section 3: from a work item to the user pool and job it names.

pub mod validate;

use crate::app::App;
use crate::aws::s3::ObjectHead;
use crate::error::{ErrorKind, ImportError};
use crate::model::{metadata_value, Failure, JobRef, Known, ObjectRef, WorkItem};
use crate::resolve::validate::{
    check_allowed, check_bound, is_job_id, is_user_pool_id, parse_ids, parse_pool_id, pool_of_key,
};

/// What a work item resolves to.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    /// Nothing to do: not an object creation, or a folder marker.
    Ignored { object: Option<ObjectRef> },
    /// Pool and job named, checked and allowed: start that job (SPEC
    /// sections 3 and 4). `head` when they came from an object.
    Named {
        ids: JobRef,
        head: Option<ObjectHead>,
        known: Known,
    },
    /// Only the pool named, and `CLOUDWATCH_LOGS_ROLE_ARN` set: create the
    /// job from the object itself (SPEC section 10).
    Create {
        user_pool_id: String,
        head: ObjectHead,
        known: Known,
        /// The object as the event announced it (its ETag may differ from
        /// `head`'s when the key was overwritten since: SPEC section 14).
        announced: ObjectRef,
    },
}

/// SPEC section 3: the pool and job a work item names, checked against
/// Cognito's patterns and the allowlist before any Cognito call.
pub async fn resolve(app: &App, item: WorkItem) -> Result<Resolved, Failure> {
    match item {
        WorkItem::Ignored { object, reason } => {
            tracing::debug!(reason, "record ignored");
            Ok(Resolved::Ignored { object })
        }
        WorkItem::Invalid { object, error } => Err(Known::object(object).failed(error)),
        WorkItem::Ids {
            user_pool_id,
            job_id,
        } => {
            let known = with_valid_ids(Known::default(), Some(&user_pool_id), Some(&job_id));
            let ids = parse_ids(("UserPoolId", &user_pool_id), ("JobId", &job_id))
                .map_err(|error| known.failed(error))?;
            named(app, ids, None, known)
        }
        WorkItem::Object(object) if is_result_file(app, &object) => {
            tracing::debug!("record ignored: a results file this function wrote");
            Ok(Resolved::Ignored {
                object: Some(object),
            })
        }
        WorkItem::Object(object) => {
            // A key under no prefix of POOL_KEY_PREFIXES is refused before
            // anything is read.
            let failed = |error| Known::object(Some(object.clone())).failed(error);
            let bound = pool_of_key(&app.config, &object.key).map_err(failed)?;
            let head = app.s3().head_object(&object).await.map_err(failed)?;
            from_metadata(app, head, object, bound)
        }
    }
}

/// `failed.csv` and `report.csv` land in the drop bucket under
/// `RESULTS_PREFIX` (SPEC section 12): their notifications are not imports.
fn is_result_file(app: &App, object: &ObjectRef) -> bool {
    let prefix = &app.config.results_prefix;
    !prefix.is_empty() && object.key.starts_with(prefix.as_str())
}

/// The pool and job IDs in the object's user metadata, matched without
/// regard to case, trimmed and checked against Cognito's patterns. `bound`:
/// the pool `POOL_KEY_PREFIXES` binds the key to, which the metadata may
/// leave out but not contradict (SPEC section 16).
fn from_metadata(
    app: &App,
    head: ObjectHead,
    announced: ObjectRef,
    bound: Option<String>,
) -> Result<Resolved, Failure> {
    let pool_key = &app.config.pool_id_metadata_key;
    let job_key = &app.config.job_id_metadata_key;
    let in_metadata = metadata_value(&head.metadata, pool_key);
    let job = metadata_value(&head.metadata, job_key);
    let known = with_valid_ids(
        Known::object(Some(head.object.clone())),
        in_metadata.or(bound.as_deref()),
        job,
    );
    let mut pool_origin = format!("metadata {pool_key}");
    if let (Some(bound), Some(given)) = (&bound, in_metadata) {
        let given = parse_pool_id((&pool_origin, given)).map_err(|error| known.failed(error))?;
        check_bound(bound, &given, &head.object.key).map_err(|error| known.failed(error))?;
    }
    let pool = match &bound {
        Some(bound) => {
            pool_origin = "POOL_KEY_PREFIXES".to_string();
            Some(bound.as_str())
        }
        None => in_metadata,
    };
    match (pool, job) {
        (Some(pool), Some(job)) => {
            let ids = parse_ids((&pool_origin, pool), (&format!("metadata {job_key}"), job))
                .map_err(|error| known.failed(error))?;
            named(app, ids, Some(head), known)
        }
        (Some(pool), None) if app.config.cloudwatch_logs_role_arn.is_some() => {
            let user_pool_id =
                parse_pool_id((&pool_origin, pool)).map_err(|error| known.failed(error))?;
            let known = Known {
                created_job: true,
                ..known
            };
            check_allowed(&app.config, &user_pool_id).map_err(|error| known.failed(error))?;
            Ok(Resolved::Create {
                user_pool_id,
                head,
                known,
                announced,
            })
        }
        _ => {
            let missing: Vec<&str> = [(pool_key, pool), (job_key, job)]
                .iter()
                .filter(|(_, value)| value.is_none())
                .map(|(key, _)| key.as_str())
                .collect();
            let wanted = match &bound {
                Some(_) => format!("{job_key}=<import job ID> (POOL_KEY_PREFIXES names the pool)"),
                None => format!("{pool_key}=<user pool ID>,{job_key}=<import job ID>"),
            };
            Err(known.failed(ImportError::new(
                ErrorKind::MissingImportMetadata,
                format!(
                    "{} has no user metadata {}; upload it with --metadata {wanted}",
                    head.object,
                    missing.join(" and ")
                ),
            )))
        }
    }
}

/// Pool and job checked; refused here when the pool is not allowed.
fn named(
    app: &App,
    ids: JobRef,
    head: Option<ObjectHead>,
    known: Known,
) -> Result<Resolved, Failure> {
    let known = known.with_ids(&ids);
    check_allowed(&app.config, &ids.user_pool_id).map_err(|error| known.failed(error))?;
    Ok(Resolved::Named { ids, head, known })
}

/// Notes each ID that is valid on its own, so that a record failing for the
/// other one still names it (SPEC section 5, "IDs when known").
fn with_valid_ids(known: Known, pool: Option<&str>, job: Option<&str>) -> Known {
    let valid = |value: Option<&str>, check: fn(&str) -> bool| {
        value
            .map(str::trim)
            .filter(|v| check(v))
            .map(str::to_string)
    };
    Known {
        user_pool_id: valid(pool, is_user_pool_id),
        job_id: valid(job, is_job_id),
        ..known
    }
}

/// SPEC section 15: the password hashing algorithm the object's metadata
/// names (create mode only), in any case; empty counts as absent. Any other
/// value is `InvalidImportMetadata`, before any Cognito call.
pub fn password_algorithm(
    app: &App,
    head: &ObjectHead,
) -> Result<Option<crate::csv_check::password::Algorithm>, ImportError> {
    use crate::csv_check::password::Algorithm;
    let key = &app.config.password_algorithm_metadata_key;
    let Some(value) = metadata_value(&head.metadata, key).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    // The value is not echoed: it is the metadata's, not a checked name.
    Algorithm::parse(value).map(Some).map_err(|problem| {
        ImportError::new(
            ErrorKind::InvalidImportMetadata,
            format!("{}: the user metadata {key} {problem}", head.object),
        )
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn metadata_names_match_without_regard_to_case() {
        let metadata = HashMap::from([("User-Pool-ID".to_string(), "p_1".to_string())]);
        assert_eq!(metadata_value(&metadata, "user-pool-id"), Some("p_1"));
        assert_eq!(metadata_value(&metadata, "job-id"), None);
    }
}
