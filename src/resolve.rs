//! SPEC section 3: from a work item to the user pool and job it names.

use std::collections::HashMap;

use crate::error::{classify_sdk_error, ErrorKind, ImportError, Service};
use crate::model::{JobRef, ObjectRef};
use crate::validate::{parse_ids, parse_pool_id};
use crate::App;
use aws_sdk_s3::operation::get_object::GetObjectOutput;

/// What `HeadObject` told about the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectHead {
    /// The object with the version and ETag S3 reported.
    pub object: ObjectRef,
    pub metadata: HashMap<String, String>,
    pub size: Option<i64>,
}

pub async fn head_object(app: &App, object: &ObjectRef) -> Result<ObjectHead, ImportError> {
    let output = app
        .clients
        .s3
        .head_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .set_version_id(object.version_id.clone())
        .set_expected_bucket_owner(app.config.expected_bucket_owner.clone())
        .send()
        .await
        .map_err(|e| classify_sdk_error(Service::S3, &format!("HeadObject {object}"), &e))?;
    let mut reported = object.clone();
    if let Some(version) = output.version_id().filter(|v| !v.is_empty()) {
        reported.version_id = Some(version.to_string());
    }
    if let Some(etag) = output.e_tag() {
        reported.etag = Some(etag.trim_matches('"').to_string());
    }
    Ok(ObjectHead {
        object: reported,
        metadata: output.metadata().cloned().unwrap_or_default(),
        size: output.content_length(),
    })
}

/// What the object's metadata asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Pool and job named: start that job (SPEC sections 3 and 4).
    Start(JobRef),
    /// Only the pool named, and `CLOUDWATCH_LOGS_ROLE_ARN` set: create the
    /// job from the object itself (SPEC section 10).
    Create { user_pool_id: String },
}

/// The pool and job IDs in the object's user metadata, matched without
/// regard to case, trimmed and checked against Cognito's patterns.
pub fn plan(app: &App, head: &ObjectHead) -> Result<Plan, ImportError> {
    let pool_key = &app.config.pool_id_metadata_key;
    let job_key = &app.config.job_id_metadata_key;
    let pool = metadata_value(&head.metadata, pool_key);
    let job = metadata_value(&head.metadata, job_key);
    let pool_origin = format!("metadata {pool_key}");
    match (pool, job) {
        (Some(pool), Some(job)) => {
            parse_ids((&pool_origin, pool), (&format!("metadata {job_key}"), job)).map(Plan::Start)
        }
        (Some(pool), None) if app.config.cloudwatch_logs_role_arn.is_some() => Ok(Plan::Create {
            user_pool_id: parse_pool_id((&pool_origin, pool))?,
        }),
        _ => {
            let missing: Vec<&str> = [(pool_key, pool), (job_key, job)]
                .iter()
                .filter(|(_, value)| value.is_none())
                .map(|(key, _)| key.as_str())
                .collect();
            Err(ImportError::new(
                ErrorKind::MissingImportMetadata,
                format!(
                    "{} has no user metadata {}; upload it with --metadata {pool_key}=<user pool ID>,{job_key}=<import job ID>",
                    head.object,
                    missing.join(" and ")
                ),
            ))
        }
    }
}

/// Opens the object for reading, pinned to what `HeadObject` saw: its version
/// when it has one, else its ETag (so that the check and the upload read the
/// same bytes, or the read fails and the delivery comes again).
pub async fn get_object(app: &App, object: &ObjectRef) -> Result<GetObjectOutput, ImportError> {
    let if_match = match (&object.version_id, &object.etag) {
        (None, Some(etag)) => Some(format!("\"{etag}\"")),
        _ => None,
    };
    app.clients
        .s3
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .set_version_id(object.version_id.clone())
        .set_if_match(if_match)
        .set_expected_bucket_owner(app.config.expected_bucket_owner.clone())
        .send()
        .await
        .map_err(|e| classify_sdk_error(Service::S3, &format!("GetObject {object}"), &e))
}

pub fn metadata_value<'a>(metadata: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    metadata
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_names_match_without_regard_to_case() {
        let metadata = HashMap::from([("User-Pool-ID".to_string(), "p_1".to_string())]);
        assert_eq!(metadata_value(&metadata, "user-pool-id"), Some("p_1"));
        assert_eq!(metadata_value(&metadata, "job-id"), None);
    }
}
