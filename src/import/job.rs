//! The lifecycle of a drop's job in create mode (SPEC sections 10, 13, 14
//! and 16), shared by a file of one part kept without a plan (`single`) and
//! by a drop imported by its plan (`parts`): find the job by its name,
//! create it, upload its CSV, start it.
//!
//! Redelivery finds the same job by that name, at every step: after the
//! create, after the upload, after the start. Two deliveries racing each
//! other could both create; both then pick the oldest job of that name, so
//! only one job ever gets the file and starts (the other stays `Created`
//! without a CSV, and Cognito lets it expire). An `Expired` job of the name
//! is replaced. The import slot (section 13) is checked before anything is
//! created or read.

use std::time::{Duration, SystemTime};

use crate::app::App;
use aws_smithy_types::body::SdkBody;

use crate::aws::s3::ObjectHead;
use crate::aws::upload::{self, Reshape};
use crate::csv_check::groups::ColumnDrop;
use crate::csv_check::password::{Algorithm, Passwords};
use crate::drops::cut::UploadShape;
use crate::drops::jobs::{self, Pages};
use crate::error::{ErrorKind, ImportError};
use crate::import::slot;
use crate::import::start::{self, start_job, Attempt, StartedJob};
use crate::model::{Failure, ImportJob, JobRef, Known, PasswordCounts, Started};

/// What create mode knows of a drop once its pool is listed.
pub(crate) struct FileDrop<'a> {
    pub(crate) app: &'a App,
    /// The object as `HeadObject` saw it: its version, or its ETag, pins
    /// every read.
    pub(crate) head: &'a ObjectHead,
    pub(crate) pool: String,
    /// The drop's 16 hex digits: its jobs' names and its plan's key.
    pub(crate) hash: String,
    /// Every job of the pool, newest first.
    pub(crate) pool_jobs: Vec<ImportJob>,
    /// SPEC section 15: the password hashing algorithm the object's
    /// metadata names, if any (else the file's first hash names it).
    pub(crate) password_algorithm: Option<Algorithm>,
}

/// Whether a job of the drop was created by this delivery or found from an
/// earlier one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Created just now: it gets the file at once.
    Created,
    /// Found by its name: it may hold its CSV already.
    Found,
}

/// A job of the drop an earlier delivery started (it is no longer
/// `Created`): that is the outcome, whoever holds the slot now.
pub(crate) fn found_started(
    drop: &FileDrop<'_>,
    job: ImportJob,
    known: Known,
) -> Result<Started, Failure> {
    let ids = ids_of(&drop.pool, &job);
    let known = known.with_ids(&ids);
    match start::after_precondition(&ids, job) {
        Ok(Some(started)) => Ok(started.with(known)),
        Ok(None) | Err(_) => Err(known.failed(no_job(&ids.job_id))),
    }
}

/// The Started event's `Passwords` of a job of the whole file.
pub(crate) fn counts_of_file(passwords: &Passwords) -> PasswordCounts {
    PasswordCounts {
        algorithm: passwords.algorithm.to_string(),
        hashes: passwords.total.hashes,
        empty: passwords.total.empty,
    }
}

/// What a `Created` job of the drop needs before its start.
pub(crate) enum Ready {
    /// An earlier delivery's upload was there: started now.
    Started(StartedJob),
    /// This job (the one found, or its replacement) needs the CSV.
    Upload(ImportJob),
}

/// A job found from an earlier delivery may have its CSV already (its start
/// was refused for the slot), so it is started first; refused, it gets the
/// file, or, its pre-signed URL expired (15 minutes after the job was
/// created), a new job of the same name takes its place. A job just
/// created gets the file at once.
pub(crate) async fn prepare(
    drop: &FileDrop<'_>,
    job: ImportJob,
    origin: Origin,
    name: &str,
) -> Result<Ready, ImportError> {
    if origin == Origin::Created {
        return Ok(Ready::Upload(job));
    }
    let app = drop.app;
    let ids = ids_of(&drop.pool, &job);
    if let Attempt::Started(started) = start_job(app, &ids).await? {
        return Ok(Ready::Started(*started));
    }
    if upload_possible(&job, SystemTime::now()) {
        return Ok(Ready::Upload(job));
    }
    tracing::info!(
        job_id = ids.job_id,
        job_name = name,
        "the job's pre-signed URL has expired: a new job of the same name takes its place"
    );
    // The job it replaces was created with the file's algorithm.
    let algorithm = job.password_hashing_algorithm.as_deref();
    let settled = create_settled(app, &drop.pool, name, algorithm).await?;
    if settled.origin == Origin::Found {
        return Err(raced(name));
    }
    Ok(Ready::Upload(settled.job))
}

/// Starts a `Created` job of a drop of one part kept without a plan: ready
/// as [`prepare`] says, uploaded as `shape` says, started.
pub(crate) async fn start_created(
    drop: &FileDrop<'_>,
    job: ImportJob,
    origin: Origin,
    name: &str,
    shape: UploadShape,
) -> Result<StartedJob, ImportError> {
    let job = match prepare(drop, job, origin, name).await? {
        Ready::Started(started) => return Ok(started),
        Ready::Upload(job) => job,
    };
    let ids = ids_of(&drop.pool, &job);
    upload(drop.app, drop.head, &job, &ids, shape).await?;
    start_uploaded(drop.app, &ids).await
}

/// Cognito's pre-signed URL lasts 15 minutes from the job's creation; a
/// minute is kept for the upload itself.
const UPLOAD_WINDOW: Duration = Duration::from_secs(14 * 60);

/// Whether the job's pre-signed URL can still take the file.
fn upload_possible(job: &ImportJob, now: SystemTime) -> bool {
    let Some(created) = job.creation_date.and_then(|d| SystemTime::try_from(d).ok()) else {
        return true;
    };
    now.duration_since(created)
        .map_or(true, |age| age < UPLOAD_WINDOW)
}

/// SPEC section 13: while another job holds the slot, nothing is created and
/// nothing is read, so a waiting drop costs a listing per receive.
pub(crate) async fn slot_free(drop: &FileDrop<'_>, waiting: &str) -> Result<(), ImportError> {
    let holder = match slot::active_in(&drop.pool_jobs) {
        Some(holder) => Some(holder),
        None => slot::holder_elsewhere(drop.app, &drop.pool).await?,
    };
    match holder {
        Some(holder) => Err(slot::busy(waiting, Some(&holder))),
        None => Ok(()),
    }
}

/// Starts a job whose CSV the function uploaded itself: a refusal now is the
/// slot, taken between the check and the start (SPEC section 13).
pub(crate) async fn start_uploaded(app: &App, ids: &JobRef) -> Result<StartedJob, ImportError> {
    match start_job(app, ids).await? {
        Attempt::Started(started) => Ok(*started),
        Attempt::StillCreated => {
            let holder = slot::holder(app, &ids.user_pool_id).await.ok().flatten();
            let waiting = format!("import job {} in {}", ids.job_id, ids.user_pool_id);
            Err(slot::busy(&waiting, holder.as_ref()))
        }
    }
}

pub(crate) fn is_created(job: &ImportJob) -> bool {
    job.status.as_deref() == Some("Created")
}

pub(crate) fn ids_of(pool: &str, job: &ImportJob) -> JobRef {
    JobRef {
        user_pool_id: pool.to_string(),
        job_id: job.job_id.clone().unwrap_or_default(),
    }
}

/// The job of this name that is used, the same pick for every delivery that
/// sees the same jobs: the oldest started one; else the oldest `Created` one
/// whose pre-signed URL can still take the file; else the oldest `Created`.
/// An `Expired` job is never used: a new job of the name replaces it (SPEC
/// section 13).
pub(crate) fn usable<'a>(jobs: &'a [ImportJob], name: &str) -> Option<&'a ImportJob> {
    let named: Vec<&ImportJob> = jobs
        .iter()
        .filter(|job| job.job_name.as_deref() == Some(name))
        .filter(|job| job.status.as_deref() != Some("Expired"))
        .collect();
    let now = SystemTime::now();
    jobs::oldest(named.iter().copied().filter(|job| !is_created(job)))
        .or_else(|| {
            jobs::oldest(
                named
                    .iter()
                    .copied()
                    .filter(|job| upload_possible(job, now)),
            )
        })
        .or_else(|| jobs::oldest(named.iter().copied()))
}

/// Another delivery of the same drop moved first: the next receive sees
/// where it stands.
pub(crate) fn raced(what: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ServiceUnavailable,
        format!(
            "{what}: another delivery of the same drop moved on while this one ran; it will be \
             retried"
        ),
    )
}

pub(crate) fn no_job(name: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ServiceUnavailable,
        format!("CreateUserImportJob {name}: Cognito returned no job; it will be retried"),
    )
}

/// Creates the job, then settles on the usable job of that name: a racing
/// delivery may have created one too, and both pick the same.
pub(crate) async fn create_settled(
    app: &App,
    pool: &str,
    name: &str,
    password_algorithm: Option<&str>,
) -> Result<Settled, ImportError> {
    let created = create(app, pool, name, password_algorithm).await?;
    let named = jobs::list(app, pool, Pages::All).await?;
    let job = usable(&named, name)
        .cloned()
        .unwrap_or_else(|| created.clone());
    let origin = match job.job_id == created.job_id {
        true => Origin::Created,
        false => Origin::Found,
    };
    Ok(Settled { job, origin })
}

/// The job a delivery settled on after creating one.
pub(crate) struct Settled {
    pub(crate) job: ImportJob,
    /// `Created`: the job this delivery created; `Found`: a racing
    /// delivery's.
    pub(crate) origin: Origin,
}

async fn create(
    app: &App,
    pool: &str,
    name: &str,
    password_algorithm: Option<&str>,
) -> Result<ImportJob, ImportError> {
    let role = app
        .config
        .cloudwatch_logs_role_arn
        .as_deref()
        .unwrap_or_default();
    let created = app
        .cognito()
        .create_job(pool, name, role, password_algorithm)
        .await
        .map_err(|error| no_hashes_yet(error, password_algorithm))?;
    tracing::info!(job_name = name, user_pool_id = pool, "import job created");
    created.ok_or_else(|| no_job(name))
}

/// SPEC section 15: a pool that cannot take hashes yet answers a create
/// with an algorithm with an undocumented error; these two stay permanent
/// failures of their type, and say how the file imports without hashes.
fn no_hashes_yet(error: ImportError, password_algorithm: Option<&str>) -> ImportError {
    let refused = matches!(
        error.kind,
        ErrorKind::OperationNotEnabled | ErrorKind::InvalidParameter
    );
    match password_algorithm {
        Some(algorithm) if refused => ImportError {
            message: format!(
                "{}. The job names the password hashing algorithm {algorithm}: the user pool may \
                 not import password hashes yet (Cognito moves pools to its newer infrastructure \
                 over time); the file imports without them once its password_hash column is \
                 removed (its users then reset their passwords)",
                error.message.trim_end_matches('.')
            ),
            ..error
        },
        _ => error,
    }
}

/// Streams the object from S3 to the job's pre-signed URL, as `shape`
/// says: without its `cognito:groups` column when it has one.
pub(crate) async fn upload(
    app: &App,
    head: &ObjectHead,
    job: &ImportJob,
    ids: &JobRef,
    shape: UploadShape,
) -> Result<(), ImportError> {
    let what = format!("import job {} in {}", ids.job_id, ids.user_pool_id);
    let uploader = app.uploader(&what)?;
    let url = pre_signed_url(app, job, ids, &what).await?;
    let (body, reported) = app.s3().get_object(&head.object).await?;
    let (body, length) = match shape {
        UploadShape::AsIs => {
            let length = reported
                .or(head.size)
                .and_then(|length| u64::try_from(length).ok())
                .unwrap_or_default();
            (body.into_inner(), length)
        }
        UploadShape::WithoutGroups { column, length } => {
            (without_groups(body.into_inner(), column, length), length)
        }
    };
    uploader.put(&url, body, length, &what).await?;
    tracing::info!(user_pool_id = %ids.user_pool_id, job_id = %ids.job_id, bytes = length, "CSV uploaded");
    Ok(())
}

/// `body` (the file, or a part's header and rows) without the
/// `cognito:groups` column at `column`: `length` bytes (SPEC section 17).
pub(crate) fn without_groups(body: SdkBody, column: usize, length: u64) -> SdkBody {
    upload::reshaped(body, ColumnDrop::new(column), length)
}

impl Reshape for ColumnDrop {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        ColumnDrop::feed(self, chunk, out);
    }

    fn finish(self, out: &mut Vec<u8>) {
        ColumnDrop::finish(self, out);
    }
}

/// The job's upload URL: from the record in hand, or read again when that
/// record came without one.
pub(crate) async fn pre_signed_url(
    app: &App,
    job: &ImportJob,
    ids: &JobRef,
    what: &str,
) -> Result<String, ImportError> {
    let url = match &job.pre_signed_url {
        Some(url) => Some(url.clone()),
        None => app.cognito().describe_job(ids).await?.pre_signed_url,
    };
    url.ok_or_else(|| {
        ImportError::new(
            ErrorKind::UploadFailed,
            format!("{what}: Cognito returned no pre-signed URL; the delivery will be retried"),
        )
    })
}
