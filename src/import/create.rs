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
//!
//! With `RESULTS_PREFIX` set every drop, of one part too, goes by its plan
//! (`parts`, SPEC section 16), which records the job that received the CSV;
//! without it a drop of one part is handled here as section 10 says.

use std::time::{Duration, SystemTime};

use crate::app::App;
use crate::aws::s3::ObjectHead;
use crate::csv_check::password::{Algorithm, PasswordMode, Passwords};
use crate::drops::jobs::{self, Pages};
use crate::drops::names;
use crate::error::{ErrorKind, ImportError};
use crate::import::parts;
use crate::import::start::{self, start_job, Attempt, StartedJob};
use crate::import::{preflight, slot};
use crate::model::{Failure, ImportJob, JobRef, Known, ObjectRef, PasswordCounts, Started};
use crate::resolve;

pub use crate::drops::names::job_name;

/// What create mode knows of a drop once its pool is listed.
pub(crate) struct Drop<'a> {
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

/// The whole of create mode for one object whose metadata names `pool`
/// (allowed, checked). `announced`: the object as the event named it. A
/// failure names the job once one is known.
pub async fn create_and_start(
    app: &App,
    head: ObjectHead,
    pool: String,
    known: Known,
    announced: ObjectRef,
) -> Result<Started, Failure> {
    let password_algorithm =
        resolve::password_algorithm(app, &head).map_err(|error| known.failed(error))?;
    preflight::refuse_by_size(app, &head).map_err(|error| known.failed(error))?;
    let pool_jobs = jobs::list(app, &pool, Pages::All)
        .await
        .map_err(|error| known.failed(error))?;
    parts::check_announced(&announced, &head.object, &pool_jobs)
        .map_err(|error| known.failed(error))?;
    let drop = Drop {
        app,
        hash: names::drop_hash(&head.object),
        head: &head,
        pool,
        pool_jobs,
        password_algorithm,
    };
    if app.config.results_prefix.is_empty() {
        return without_plan(&drop, known).await;
    }
    Box::pin(parts::planned(&drop, known)).await
}

/// SPEC section 10 when no plan can be kept: the job found by its name, or
/// the file checked first; a file of parts is `CsvTooLarge`.
async fn without_plan(drop: &Drop<'_>, known: Known) -> Result<Started, Failure> {
    match usable(&drop.pool_jobs, &job_name(&drop.head.object)).cloned() {
        Some(job) => single(drop, job, known).await,
        None => first_receive(drop, known).await,
    }
}

/// No job of the drop exists yet: the slot, then the preflight, then the
/// job.
async fn first_receive(drop: &Drop<'_>, known: Known) -> Result<Started, Failure> {
    let waiting = format!("the import of {} into {}", drop.head.object, drop.pool);
    if let Err(error) = slot_free(drop, &waiting).await {
        return Err(known.failed(error));
    }
    let app = drop.app;
    let mode = drop
        .password_algorithm
        .map_or(PasswordMode::Detect, PasswordMode::Named);
    let report = preflight::check_parted(app, drop.head, &drop.pool, mode)
        .await
        .map_err(|error| known.failed(error))?;
    let (cut, passwords) = (report.cut, report.passwords);
    if cut.parts.len() > 1 {
        let what = drop.head.object.to_string();
        let why = format!("needs {} parts", cut.parts.len());
        return Err(known.failed(preflight::no_plan(&what, &why)));
    }
    let known = Known {
        passwords: passwords.as_ref().map(counts_of_file),
        ..known
    };
    let name = job_name(&drop.head.object);
    let algorithm = passwords.as_ref().map(|p| p.algorithm.as_str());
    let settled = create_settled(app, &drop.pool, &name, algorithm)
        .await
        .map_err(|error| known.failed(error))?;
    if !settled.fresh {
        // Another delivery's job of the same name: it goes on from there.
        return single(drop, settled.job, known).await;
    }
    let ids = ids_of(&drop.pool, &settled.job);
    start_created(drop, settled.job, true, &name)
        .await
        .map(|started| started.with(known.clone().with_ids(&ids)))
        .map_err(|error| known.with_ids(&ids).failed(error))
}

/// The Started event's `Passwords` of a job of the whole file.
pub(crate) fn counts_of_file(passwords: &Passwords) -> PasswordCounts {
    PasswordCounts {
        algorithm: passwords.algorithm.to_string(),
        hashes: passwords.total.hashes,
        empty: passwords.total.empty,
    }
}

/// SPEC section 10 for a file of one part whose job an earlier delivery
/// created: started before, or started now.
pub(crate) async fn single(
    drop: &Drop<'_>,
    job: ImportJob,
    known: Known,
) -> Result<Started, Failure> {
    let ids = ids_of(&drop.pool, &job);
    let known = known.with_ids(&ids);
    if !is_created(&job) {
        // Started by an earlier delivery: that is the outcome, whoever holds
        // the slot now.
        return match start::after_precondition(&ids, job) {
            Ok(Some(started)) => Ok(started.with(known)),
            Ok(None) | Err(_) => Err(known.failed(no_job(&ids.job_id))),
        };
    }
    // A job of this name exists only once the file passed the preflight (the
    // name pins the object's version or ETag): no preflight again, once the
    // slot is free.
    let waiting = format!("import job {} in {}", ids.job_id, ids.user_pool_id);
    if let Err(error) = slot_free(drop, &waiting).await {
        return Err(known.failed(error));
    }
    let name = job_name(&drop.head.object);
    match start_created(drop, job, false, &name).await {
        Ok(started) => {
            let ids = started.job.job_id.clone().map_or(ids, |job_id| JobRef {
                user_pool_id: drop.pool.clone(),
                job_id,
            });
            Ok(started.with(known.with_ids(&ids)))
        }
        Err(error) => Err(known.failed(error)),
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
/// created (`fresh`) gets the file at once.
pub(crate) async fn prepare(
    drop: &Drop<'_>,
    job: ImportJob,
    fresh: bool,
    name: &str,
) -> Result<Ready, ImportError> {
    if fresh {
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
    if !settled.fresh {
        return Err(raced(name));
    }
    Ok(Ready::Upload(settled.job))
}

/// Starts a `Created` job of a drop of one part kept without a plan: ready
/// as [`prepare`] says, uploaded, started.
pub(crate) async fn start_created(
    drop: &Drop<'_>,
    job: ImportJob,
    fresh: bool,
    name: &str,
) -> Result<StartedJob, ImportError> {
    let job = match prepare(drop, job, fresh, name).await? {
        Ready::Started(started) => return Ok(started),
        Ready::Upload(job) => job,
    };
    let ids = ids_of(&drop.pool, &job);
    upload(drop.app, drop.head, &job, &ids).await?;
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
pub(crate) async fn slot_free(drop: &Drop<'_>, waiting: &str) -> Result<(), ImportError> {
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
/// delivery may have created one too, and both pick the same. `fresh`: the
/// pick is the job created here.
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
    Ok(Settled {
        fresh: job.job_id == created.job_id,
        job,
    })
}

/// The job a delivery settled on after creating one.
pub(crate) struct Settled {
    pub(crate) job: ImportJob,
    pub(crate) fresh: bool,
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

/// Streams the object from S3 to the job's pre-signed URL.
pub(crate) async fn upload(
    app: &App,
    head: &ObjectHead,
    job: &ImportJob,
    ids: &JobRef,
) -> Result<(), ImportError> {
    let what = format!("import job {} in {}", ids.job_id, ids.user_pool_id);
    let uploader = app.uploader(&what)?;
    let url = pre_signed_url(app, job, ids, &what).await?;
    let (body, reported) = app.s3().get_object(&head.object).await?;
    let length = reported
        .or(head.size)
        .and_then(|length| u64::try_from(length).ok())
        .unwrap_or_default();
    uploader.put(&url, body.into_inner(), length, &what).await?;
    tracing::info!(user_pool_id = %ids.user_pool_id, job_id = %ids.job_id, bytes = length, "CSV uploaded");
    Ok(())
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
