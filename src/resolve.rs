//! SPEC section 3: from a work item to the user pool and job it names.

use std::collections::HashMap;

use crate::error::{classify_sdk_error, ErrorKind, ImportError, Service};
use crate::model::{JobRef, ObjectRef};
use crate::validate::parse_ids;
use crate::App;

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

/// The pool and job IDs in the object's user metadata, matched without
/// regard to case, trimmed and checked against Cognito's patterns.
pub fn job_from_metadata(app: &App, head: &ObjectHead) -> Result<JobRef, ImportError> {
    let pool_key = &app.config.pool_id_metadata_key;
    let job_key = &app.config.job_id_metadata_key;
    let pool = metadata_value(&head.metadata, pool_key);
    let job = metadata_value(&head.metadata, job_key);
    let (Some(pool), Some(job)) = (pool, job) else {
        let missing: Vec<&str> = [(pool_key, pool), (job_key, job)]
            .iter()
            .filter(|(_, value)| value.is_none())
            .map(|(key, _)| key.as_str())
            .collect();
        return Err(ImportError::new(
            ErrorKind::MissingImportMetadata,
            format!(
                "{} has no user metadata {}; upload it with --metadata {pool_key}=<user pool ID>,{job_key}=<import job ID>",
                head.object,
                missing.join(" and ")
            ),
        ));
    };
    parse_ids(
        (&format!("metadata {pool_key}"), pool),
        (&format!("metadata {job_key}"), job),
    )
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
