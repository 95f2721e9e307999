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

use crate::app::App;
use crate::error::{classify_sdk_error, ErrorKind, ImportError, Service};
use crate::import::preflight;
use crate::import::start::{self, describe_job, start_job};
use crate::model::{Failure, ImportJob, JobRef, Known, ObjectRef, Started};
use crate::resolve::{self, ObjectHead};

/// Cognito's limit on `JobName`.
const MAX_JOB_NAME: usize = 128;
/// `ListUserImportJobs` pages hold at most 60 jobs.
const LIST_PAGE: i32 = 60;
/// A pool holds at most 1,000 import jobs, 17 pages; more pages than this
/// mean a listing that does not end.
const MAX_LIST_PAGES: usize = 25;

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
    preflight::check(app, &head, &pool)
        .await
        .map_err(|error| known.failed(error))?;
    let name = job_name(&head.object);
    let job = find_or_create(app, &pool, &name)
        .await
        .map_err(|error| known.failed(error))?;
    let Some(job_id) = job.job_id.clone() else {
        // find_or_create keeps only jobs with an ID; this is for the compiler.
        return Err(known.failed(no_job(&name)));
    };
    let ids = JobRef {
        user_pool_id: pool,
        job_id,
    };
    let known = known.with_ids(&ids);
    let started = if job.status.as_deref() != Some("Created") {
        // Started (or expired) by an earlier delivery.
        start::after_precondition(&ids, job)
    } else {
        match upload(app, &head, &job, &ids).await {
            Ok(()) => start_job(app, &ids).await,
            Err(error) => Err(error),
        }
    };
    started
        .map(|started| started.with(known.clone()))
        .map_err(|error| known.failed(error))
}

fn no_job(name: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ServiceUnavailable,
        format!("CreateUserImportJob {name}: Cognito returned no job; it will be retried"),
    )
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
        .ok_or_else(|| no_job(name))
}

/// Every job of the pool with this name, all pages read.
async fn list_named(app: &App, pool: &str, name: &str) -> Result<Vec<ImportJob>, ImportError> {
    let what = format!("ListUserImportJobs {pool}");
    let mut named = Vec::new();
    let mut token: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..MAX_LIST_PAGES {
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
            Some(next) if !seen.insert(next.to_string()) => {
                return Err(endless(&what, "repeated a pagination token"))
            }
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(named),
        }
    }
    Err(endless(
        &what,
        &format!("gave more than {MAX_LIST_PAGES} pages"),
    ))
}

/// A listing that would never end: retried, not looped on.
fn endless(what: &str, why: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ServiceUnavailable,
        format!("{what}: Cognito {why}; the delivery will be retried"),
    )
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

    /// An `App` whose Cognito answers from `rules` (aws-smithy-mocks); the
    /// other clients are never called.
    fn mocked_app(cognito: aws_sdk_cognitoidentityprovider::Client) -> App {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let mut app = App::new(crate::Config::default(), &sdk);
        app.clients.cognito = cognito;
        app
    }

    #[tokio::test]
    async fn a_listing_that_does_not_end_is_retried_not_looped_on() {
        use aws_sdk_cognitoidentityprovider::operation::list_user_import_jobs::ListUserImportJobsOutput;
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        // A token that comes back again: the second page is the last read.
        let repeated = mock!(aws_sdk_cognitoidentityprovider::Client::list_user_import_jobs)
            .then_output(|| {
                ListUserImportJobsOutput::builder()
                    .pagination_token("same")
                    .build()
            });
        let app = mocked_app(mock_client!(
            aws_sdk_cognitoidentityprovider,
            RuleMode::MatchAny,
            [&repeated]
        ));
        let error = list_named(&app, "us-east-1_P1", "n").await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::ServiceUnavailable);
        assert!(error.message.contains("repeated a pagination token"));
        assert_eq!(repeated.num_calls(), 2);

        // New tokens for ever: cut at the page cap.
        let counter = std::sync::atomic::AtomicUsize::new(0);
        let endless = mock!(aws_sdk_cognitoidentityprovider::Client::list_user_import_jobs)
            .then_output(move || {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                ListUserImportJobsOutput::builder()
                    .pagination_token(format!("t{n}"))
                    .build()
            });
        let app = mocked_app(mock_client!(
            aws_sdk_cognitoidentityprovider,
            RuleMode::MatchAny,
            [&endless]
        ));
        let error = list_named(&app, "us-east-1_P1", "n").await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::ServiceUnavailable);
        assert_eq!(endless.num_calls(), MAX_LIST_PAGES);
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
