//! SPEC section 4: start the job, exactly once in effect. Deliveries come at
//! least once, so a refusal because the job is no longer `Created` is read
//! with `DescribeUserImportJob` to tell a duplicate from a dead job. A job
//! refused while still `Created` waits for its CSV or for the import slot
//! (section 13, `slot`).

use crate::app::App;
use crate::aws::cognito::StartReply;
use crate::aws::s3::ObjectHead;
use crate::csv_check::password::{Algorithm, PasswordMode};
use crate::error::{ErrorKind, ImportError};
use crate::import::{preflight, slot};
use crate::model::{Failure, ImportJob, JobRef, Known, PasswordCounts, Started};

#[derive(Clone, Debug, PartialEq)]
pub struct StartedJob {
    pub job: ImportJob,
    /// Started by an earlier delivery; this one changed nothing.
    pub already_started: bool,
}

/// SPEC section 4 for a job the metadata (or the caller) named. With
/// `VALIDATE_CSV`, an object's file is checked first (section 10).
pub async fn start_named(
    app: &App,
    ids: JobRef,
    head: Option<ObjectHead>,
    known: Known,
) -> Result<Started, Failure> {
    let mut known = known;
    if let Some(head) = head.filter(|_| app.config.validate_csv) {
        known.passwords = validate(app, &ids, &head)
            .await
            .map_err(|error| known.failed(error))?;
    }
    let started = match start_job(app, &ids).await {
        Ok(Attempt::Started(started)) => Ok(*started),
        Ok(Attempt::StillCreated) => Err(slot::refused_while_created(app, &ids).await),
        Err(error) => Err(error),
    };
    started
        .map(|started| started.with(known.clone()))
        .map_err(|error| known.failed(error))
}

/// `VALIDATE_CSV` on section 4's path: the job exists, so its own
/// `PasswordHashingAlgorithm` decides how the `password_hash` column is
/// checked (SPEC section 15); what the column held, when it has one.
async fn validate(
    app: &App,
    ids: &JobRef,
    head: &ObjectHead,
) -> Result<Option<PasswordCounts>, ImportError> {
    let job = app.cognito().describe_job(ids).await?;
    let mode = match job.password_hashing_algorithm.as_deref() {
        Some(name) => match Algorithm::parse(name) {
            Ok(algorithm) => PasswordMode::Named(algorithm),
            // An algorithm this function does not know: Cognito checks.
            Err(_) => {
                return preflight::check(app, head, &ids.user_pool_id, PasswordMode::Detect)
                    .await
                    .map(|_| None)
            }
        },
        None => PasswordMode::Without,
    };
    let passwords = preflight::check(app, head, &ids.user_pool_id, mode).await?;
    Ok(passwords.map(|p| PasswordCounts {
        algorithm: p.algorithm.to_string(),
        hashes: p.total.hashes,
        empty: p.total.empty,
    }))
}

/// What a start did.
#[derive(Clone, Debug, PartialEq)]
pub enum Attempt {
    /// Started now, or found started by an earlier delivery (boxed: the
    /// other variant is empty).
    Started(Box<StartedJob>),
    /// Refused, and the job is still `Created`: no CSV yet, or another job
    /// holds the account's import slot; the caller tells which.
    StillCreated,
}

impl StartedJob {
    pub fn with(self, known: Known) -> Started {
        Started {
            job: self.job,
            already_started: self.already_started,
            known,
        }
    }
}

/// `StartUserImportJob`; a refusal is read with `DescribeUserImportJob`
/// to tell a duplicate (started already) from a job still `Created`.
pub async fn start_job(app: &App, ids: &JobRef) -> Result<Attempt, ImportError> {
    match app.cognito().start_job(ids).await? {
        StartReply::Started(job) => Ok(Attempt::Started(Box::new(StartedJob {
            job: *job,
            already_started: false,
        }))),
        StartReply::PreconditionNotMet => {
            let job = app.cognito().describe_job(ids).await?;
            Ok(match after_precondition(ids, job)? {
                Some(started) => Attempt::Started(Box::new(started)),
                None => Attempt::StillCreated,
            })
        }
    }
}

/// Start was refused (or create mode found the job past `Created`): the
/// job's status says why. `Ok(None)`: still `Created`.
pub fn after_precondition(ids: &JobRef, job: ImportJob) -> Result<Option<StartedJob>, ImportError> {
    let (pool, id) = (&ids.user_pool_id, &ids.job_id);
    match job.status.as_deref() {
        Some("Pending" | "InProgress" | "Stopping" | "Stopped" | "Succeeded" | "Failed") => {
            Ok(Some(StartedJob {
                job,
                already_started: true,
            }))
        }
        Some("Expired") => Err(ImportError::new(
            ErrorKind::ImportJobExpired,
            format!(
                "import job {id} in {pool} expired before it was started (jobs must be started \
                 within 24 hours of creation); create a new job, upload the CSV again and drop a new file"
            ),
        )),
        Some("Created") => Ok(None),
        other => Err(ImportError::new(
            ErrorKind::ServiceUnavailable,
            format!(
                "import job {id} in {pool} could not be started and is in status {}; it will be retried",
                other.unwrap_or("unknown")
            ),
        )),
    }
}
