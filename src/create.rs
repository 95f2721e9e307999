//! SPEC section 10: create mode. The object's metadata names only the pool;
//! the function checks the file, finds or creates the job by a name derived
//! from the object alone, uploads the file to it and starts it.
//!
//! Redelivery finds the same job by that name, at every step: after the
//! create, after the upload, after the start. Two deliveries racing each
//! other could both create; both then pick the oldest job of that name, so
//! only one job ever gets the file and starts (the other stays `Created`
//! without a CSV, and Cognito lets it expire).

use sha2::{Digest, Sha256};

use crate::error::{classify_sdk_error, ErrorKind, ImportError, Service};
use crate::model::{ImportJob, JobRef, ObjectRef};
use crate::outcome::RecordOutcome;
use crate::resolve::{self, ObjectHead};
use crate::start::{self, describe_job, start_job, StartedJob};
use crate::{preflight, validate, App};

/// Cognito's limit on `JobName`.
const MAX_JOB_NAME: usize = 128;
/// `ListUserImportJobs` pages hold at most 60 jobs.
const LIST_PAGE: i32 = 60;

/// `s3-<first 16 hex of SHA-256(bucket \n key \n version-or-ETag)>-<file name>`,
/// the file name with every character outside `[A-Za-z0-9._-]` made `-`, the
/// whole cut to 128 characters.
pub fn job_name(object: &ObjectRef) -> String {
    let revision = object
        .version_id
        .as_deref()
        .or(object.etag.as_deref())
        .unwrap_or_default();
    let digest = Sha256::digest(format!("{}\n{}\n{revision}", object.bucket, object.key));
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let file = object.key.rsplit('/').next().unwrap_or_default();
    let safe: String = file
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("s3-{hex}-{safe}")
        .chars()
        .take(MAX_JOB_NAME)
        .collect()
}

/// The whole of create mode for one object, noting in `record` the pool and,
/// once known, the job.
pub async fn create_and_start(
    app: &App,
    head: &ObjectHead,
    pool: String,
    record: &mut RecordOutcome,
) -> Result<StartedJob, ImportError> {
    record.created_job = true;
    record.user_pool_id = Some(pool.clone());
    validate::check_allowed_pool(&app.config, &pool)?;
    preflight::check(app, head, &pool).await?;
    let name = job_name(&head.object);
    let job = find_or_create(app, &pool, &name).await?;
    let ids = JobRef {
        user_pool_id: pool,
        job_id: job.job_id.clone().unwrap_or_default(),
    };
    record.job_id = Some(ids.job_id.clone());
    if job.status.as_deref() != Some("Created") {
        // Started (or expired) by an earlier delivery.
        return start::after_precondition(&ids, job);
    }
    upload(app, head, &job, &ids).await?;
    start_job(app, &ids).await
}

/// The job of this name, created when there is none yet.
async fn find_or_create(app: &App, pool: &str, name: &str) -> Result<ImportJob, ImportError> {
    if let Some(job) = oldest(list_named(app, pool, name).await?) {
        tracing::info!(
            job_name = name,
            job_id = job.job_id.as_deref().unwrap_or_default(),
            "found the job an earlier delivery created"
        );
        return Ok(job);
    }
    let created = create(app, pool, name).await?;
    // A racing delivery may have created one too: both settle on the oldest.
    let named = list_named(app, pool, name).await?;
    Ok(oldest(named).unwrap_or(created))
}

async fn create(app: &App, pool: &str, name: &str) -> Result<ImportJob, ImportError> {
    let role = app
        .config
        .cloudwatch_logs_role_arn
        .as_deref()
        .unwrap_or_default();
    let what = format!("CreateUserImportJob {name} in {pool}");
    let output = app
        .clients
        .cognito
        .create_user_import_job()
        .user_pool_id(pool)
        .job_name(name)
        .cloud_watch_logs_role_arn(role)
        .send()
        .await
        .map_err(|e| classify_sdk_error(Service::Cognito, &what, &e))?;
    output
        .user_import_job()
        .map(ImportJob::from)
        .filter(|job| job.job_id.is_some())
        .ok_or_else(|| {
            ImportError::new(
                ErrorKind::ServiceUnavailable,
                format!("{what}: Cognito returned no job; it will be retried"),
            )
        })
}

/// Every job of the pool with this name, all pages read.
async fn list_named(app: &App, pool: &str, name: &str) -> Result<Vec<ImportJob>, ImportError> {
    let what = format!("ListUserImportJobs {pool}");
    let mut named = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = app
            .clients
            .cognito
            .list_user_import_jobs()
            .user_pool_id(pool)
            .max_results(LIST_PAGE)
            .set_pagination_token(token.take())
            .send()
            .await
            .map_err(|e| classify_sdk_error(Service::Cognito, &what, &e))?;
        named.extend(
            page.user_import_jobs()
                .iter()
                .filter(|job| job.job_name() == Some(name) && job.job_id().is_some())
                .map(ImportJob::from),
        );
        match page.pagination_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(named),
        }
    }
}

/// The first created (then the smallest job ID): the same pick for every
/// delivery that sees the same jobs.
fn oldest(jobs: Vec<ImportJob>) -> Option<ImportJob> {
    jobs.into_iter().min_by_key(|job| {
        let created = job
            .creation_date
            .map(|date| (date.secs(), date.subsec_nanos()));
        (created.is_none(), created, job.job_id.clone())
    })
}

/// Streams the object from S3 to the job's pre-signed URL.
async fn upload(
    app: &App,
    head: &ObjectHead,
    job: &ImportJob,
    ids: &JobRef,
) -> Result<(), ImportError> {
    let what = format!("import job {} in {}", ids.job_id, ids.user_pool_id);
    let uploader = app.uploader.as_ref().ok_or_else(|| {
        ImportError::new(
            ErrorKind::UploadFailed,
            format!(
                "{what}: no upload client (create mode needs CLOUDWATCH_LOGS_ROLE_ARN at init)"
            ),
        )
    })?;
    let url = pre_signed_url(app, job, ids, &what).await?;
    let object = resolve::get_object(app, &head.object).await?;
    let length = object
        .content_length()
        .or(head.size)
        .and_then(|length| u64::try_from(length).ok())
        .unwrap_or_default();
    uploader
        .put(&url, object.body.into_inner(), length, &what)
        .await?;
    tracing::info!(user_pool_id = %ids.user_pool_id, job_id = %ids.job_id, bytes = length, "CSV uploaded");
    Ok(())
}

/// The job's upload URL: from the record in hand, or read again when that
/// record came without one.
async fn pre_signed_url(
    app: &App,
    job: &ImportJob,
    ids: &JobRef,
    what: &str,
) -> Result<String, ImportError> {
    let url = match &job.pre_signed_url {
        Some(url) => Some(url.clone()),
        None => describe_job(app, ids).await?.pre_signed_url,
    };
    url.ok_or_else(|| {
        ImportError::new(
            ErrorKind::UploadFailed,
            format!("{what}: Cognito returned no pre-signed URL; the delivery will be retried"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str, version: Option<&str>, etag: Option<&str>) -> ObjectRef {
        ObjectRef {
            etag: etag.map(str::to_string),
            ..ObjectRef::new("drop-bucket", key, version.map(str::to_string))
        }
    }

    // Expected digests from `printf 'drop-bucket\n<key>\n<revision>' | sha256sum`.
    #[test]
    fn job_name_is_the_spec_derivation() {
        let name = job_name(&object("imports/users 2026.csv", Some("v1"), Some("abc")));
        assert_eq!(name, "s3-34a651bf0934651b-users-2026.csv");
    }

    #[test]
    fn job_name_uses_the_etag_without_a_version() {
        let by_etag = job_name(&object("a.csv", None, Some("0123abcd")));
        assert_eq!(by_etag, "s3-bbcbbdb21f7a942f-a.csv");
        assert_ne!(by_etag, job_name(&object("a.csv", None, Some("other"))));
    }

    #[test]
    fn job_name_replaces_each_character_and_is_cut_to_128() {
        let name = job_name(&object("dir/\u{fc} +x;y.csv", Some("v"), None));
        assert_eq!(name, "s3-d634ce9d5803969e----x-y.csv");
        let long = job_name(&object(&"n".repeat(300), Some("v"), None));
        assert_eq!(long.chars().count(), 128);
        assert!(long.starts_with("s3-"));
    }
}
