//! SPEC section 10: create mode. The object's metadata names only the pool;
//! the function checks the file, finds or creates the job by a name derived
//! from the object alone, uploads the file to it and starts it.
//!
//! Redelivery finds the same job by that name, at every step: after the
//! create, after the upload, after the start. Two deliveries racing each
//! other could both create; both then pick the oldest job of that name, so
//! only one job ever gets the file and starts (the other stays `Created`
//! without a CSV, and Cognito lets it expire). An `Expired` job of the name
//! is replaced. The import slot (section 13) is checked before anything is
//! created or read.

use sha2::{Digest, Sha256};

use crate::app::App;
use crate::error::{classify_sdk_error, ErrorKind, ImportError, Service};
use crate::import::jobs::{self, Pages};
use crate::import::start::{self, describe_job, start_job, Attempt, StartedJob};
use crate::import::{preflight, slot};
use crate::model::{Failure, ImportJob, JobRef, Known, ObjectRef, Started};
use crate::resolve::{self, ObjectHead};

/// Cognito's limit on `JobName`.
const MAX_JOB_NAME: usize = 128;

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

/// The whole of create mode for one object whose metadata names `pool`
/// (allowed, checked). A failure names the job once one is known.
pub async fn create_and_start(
    app: &App,
    head: ObjectHead,
    pool: String,
    known: Known,
) -> Result<Started, Failure> {
    preflight::refuse_by_size(&head).map_err(|error| known.failed(error))?;
    let name = job_name(&head.object);
    let pool_jobs = jobs::list(app, &pool, Pages::All)
        .await
        .map_err(|error| known.failed(error))?;
    let ours = usable(&pool_jobs, &name).cloned();
    if let Some(job) = ours.as_ref().filter(|job| !is_created(job)) {
        // Started by an earlier delivery: that is the outcome, whoever holds
        // the slot now.
        let ids = ids_of(&pool, job);
        let known = known.with_ids(&ids);
        return match start::after_precondition(&ids, job.clone()) {
            Ok(Some(started)) => Ok(started.with(known)),
            Ok(None) | Err(_) => Err(known.failed(no_job(&name))),
        };
    }
    let waiting = match &ours {
        Some(job) => format!(
            "import job {} in {pool}",
            job.job_id.as_deref().unwrap_or_default()
        ),
        None => format!("the import of {} into {pool}", head.object),
    };
    // SPEC section 13: while another job holds the slot, nothing is created
    // and nothing is read, so a waiting drop costs a listing per receive.
    let holder = match slot::active_in(&pool_jobs) {
        Some(holder) => Some(holder),
        None => slot::holder_elsewhere(app, &pool)
            .await
            .map_err(|error| known.failed(error))?,
    };
    if let Some(holder) = holder {
        let known = match &ours {
            Some(job) => known.with_ids(&ids_of(&pool, job)),
            None => known,
        };
        return Err(known.failed(slot::busy(&waiting, Some(&holder))));
    }
    let job = match ours {
        // A job of this name exists only once the file passed the preflight
        // (the name pins the object's version or ETag): straight to the upload.
        Some(job) => job,
        None => {
            preflight::check(app, &head, &pool)
                .await
                .map_err(|error| known.failed(error))?;
            create_settled(app, &pool, &name)
                .await
                .map_err(|error| known.failed(error))?
        }
    };
    let ids = ids_of(&pool, &job);
    let known = known.with_ids(&ids);
    upload_and_start(app, &head, job, &ids)
        .await
        .map(|started| started.with(known.clone()))
        .map_err(|error| known.failed(error))
}

/// Uploads the file to a `Created` job and starts it. A job found past
/// `Created` (a racing delivery got there first) is read as in section 4.
async fn upload_and_start(
    app: &App,
    head: &ObjectHead,
    job: ImportJob,
    ids: &JobRef,
) -> Result<StartedJob, ImportError> {
    if !is_created(&job) {
        return start::after_precondition(ids, job)?.ok_or_else(|| no_job(&ids.job_id));
    }
    upload(app, head, &job, ids).await?;
    match start_job(app, ids).await? {
        Attempt::Started(started) => Ok(*started),
        // The function uploaded the CSV itself: a refusal now is the slot,
        // taken between the check and the start (SPEC section 13).
        Attempt::StillCreated => {
            let holder = slot::holder(app, &ids.user_pool_id).await.ok().flatten();
            let waiting = format!("import job {} in {}", ids.job_id, ids.user_pool_id);
            Err(slot::busy(&waiting, holder.as_ref()))
        }
    }
}

fn is_created(job: &ImportJob) -> bool {
    job.status.as_deref() == Some("Created")
}

fn ids_of(pool: &str, job: &ImportJob) -> JobRef {
    JobRef {
        user_pool_id: pool.to_string(),
        job_id: job.job_id.clone().unwrap_or_default(),
    }
}

/// The job of this name that is used: the oldest that is not `Expired` (an
/// expired one is replaced by a new job of the same name, SPEC section 13).
fn usable<'a>(jobs: &'a [ImportJob], name: &str) -> Option<&'a ImportJob> {
    jobs::oldest(jobs.iter().filter(|job| {
        job.job_name.as_deref() == Some(name) && job.status.as_deref() != Some("Expired")
    }))
}

fn no_job(name: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ServiceUnavailable,
        format!("CreateUserImportJob {name}: Cognito returned no job; it will be retried"),
    )
}

/// Creates the job, then settles on the oldest usable job of that name: a
/// racing delivery may have created one too, and both pick the same.
async fn create_settled(app: &App, pool: &str, name: &str) -> Result<ImportJob, ImportError> {
    let created = create(app, pool, name).await?;
    let named = jobs::list(app, pool, Pages::All).await?;
    Ok(usable(&named, name).cloned().unwrap_or(created))
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
    tracing::info!(job_name = name, user_pool_id = pool, "import job created");
    output
        .user_import_job()
        .map(ImportJob::from)
        .filter(|job| job.job_id.is_some())
        .ok_or_else(|| no_job(name))
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
    fn a_null_version_counts_as_unversioned() {
        // Versioning suspended: every new file at the key is version "null",
        // so only the ETag tells them apart.
        let first = object("a.csv", Some("null"), Some("0123abcd"));
        assert_eq!(first.version_id, None);
        assert_eq!(
            job_name(&first),
            job_name(&object("a.csv", None, Some("0123abcd")))
        );
        assert_ne!(
            job_name(&first),
            job_name(&object("a.csv", Some("null"), Some("ffff0000")))
        );
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
