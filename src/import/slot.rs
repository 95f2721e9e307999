//! SPEC section 13: Cognito runs one import job at a time per account, and a
//! start refused while another job is active looks exactly like a start
//! refused for a missing CSV (`PreconditionNotMetException`). The job holding
//! the slot is looked for in the pools the function can see: the record's
//! and those of `ALLOWED_USER_POOL_IDS`, else of `POOL_KEY_PREFIXES` (newest
//! first, first page).

use crate::app::App;
use crate::drops::jobs::{self, Pages};
use crate::error::{ErrorKind, ImportError};
use crate::model::{ImportJob, JobRef};

/// The job holding the account's import slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub user_pool_id: String,
    pub job_id: String,
    pub status: String,
}

impl Holder {
    fn of(job: &ImportJob) -> Option<Holder> {
        jobs::is_active(job).then(|| Holder {
            user_pool_id: job.user_pool_id.clone().unwrap_or_default(),
            job_id: job.job_id.clone().unwrap_or_default(),
            status: job.status.clone().unwrap_or_default(),
        })
    }
}

/// An active job among `jobs` (a pool's listing already in hand).
pub fn active_in(jobs: &[ImportJob]) -> Option<Holder> {
    jobs.iter().find_map(Holder::of)
}

/// The pools looked in besides `pool`: the allowlist's (else those of
/// `POOL_KEY_PREFIXES`), once each.
fn other_pools<'a>(app: &'a App, pool: &str) -> Vec<&'a str> {
    let mut others: Vec<&str> = Vec::new();
    for id in app.config.bounded_pools().unwrap_or_default() {
        if id != pool && !others.contains(&id) {
            others.push(id);
        }
    }
    others
}

/// The holder among the allowlist's pools other than `pool`. A pool there
/// that does not exist (deleted, or a typo) holds no job: it is passed by,
/// so that imports into the other pools go on (SPEC section 16). Any other
/// error of a listing stops the search as before.
pub async fn holder_elsewhere(app: &App, pool: &str) -> Result<Option<Holder>, ImportError> {
    for other in other_pools(app, pool) {
        let listed = match jobs::list(app, other, Pages::First).await {
            Ok(listed) => listed,
            Err(error) if error.kind == ErrorKind::ResourceNotFound => {
                tracing::warn!(
                    user_pool_id = other,
                    error = %error,
                    "a pool the import slot is looked for in does not exist; passed by"
                );
                continue;
            }
            Err(error) => return Err(error),
        };
        if let Some(holder) = active_in(&listed) {
            return Ok(Some(holder));
        }
    }
    Ok(None)
}

/// The holder among every pool the function can see, `pool` first.
pub async fn holder(app: &App, pool: &str) -> Result<Option<Holder>, ImportError> {
    match active_in(&jobs::list(app, pool, Pages::First).await?) {
        Some(holder) => Ok(Some(holder)),
        None => holder_elsewhere(app, pool).await,
    }
}

/// `ImportSlotBusy` of `waiting` (what waits: "import job X in P"), naming
/// the holder when it was seen.
pub fn busy(waiting: &str, holder: Option<&Holder>) -> ImportError {
    let held = match holder {
        Some(h) => format!(
            "import job {} in {} holds it ({})",
            h.job_id, h.user_pool_id, h.status
        ),
        None => "another import job of the account, in a pool the function cannot list, holds it"
            .to_string(),
    };
    ImportError::new(
        ErrorKind::ImportSlotBusy,
        format!(
            "Cognito runs one import job at a time per account and {held}: {waiting} \
             starts once it has finished; the delivery will be retried"
        ),
    )
}

/// Plain path (the job was named): a start refused while the job is still
/// `Created` is `ImportSlotBusy` when another job holds the slot, else
/// `CsvNotUploaded`: the upload to the job's pre-signed URL may still be
/// under way.
pub async fn refused_while_created(app: &App, ids: &JobRef) -> ImportError {
    match holder(app, &ids.user_pool_id).await {
        Ok(Some(holder)) => busy(
            &format!("import job {} in {}", ids.job_id, ids.user_pool_id),
            Some(&holder),
        ),
        Ok(None) => csv_not_uploaded(ids, &unseen(app, ids)),
        Err(error) => csv_not_uploaded(
            ids,
            &format!(
                "the job holding the import slot could not be looked for ({})",
                error.message
            ),
        ),
    }
}

/// Which pools could not be looked in.
fn unseen(app: &App, ids: &JobRef) -> String {
    let (listed, outside) = match (
        &app.config.allowed_user_pool_ids,
        &app.config.pool_key_prefixes,
    ) {
        (Some(_), _) => ("ALLOWED_USER_POOL_IDS", "outside the allowlist"),
        (None, Some(_)) => ("POOL_KEY_PREFIXES", "bound to no prefix"),
        (None, None) => {
            return format!(
                "no job of {} holds the import slot (without ALLOWED_USER_POOL_IDS a job of \
                 another pool cannot be seen)",
                ids.user_pool_id
            )
        }
    };
    format!(
        "no job of {} or of the other pools of {listed} holds the import slot (a job of a \
         pool {outside} cannot be seen)",
        ids.user_pool_id
    )
}

fn csv_not_uploaded(ids: &JobRef, slot: &str) -> ImportError {
    let (pool, id) = (&ids.user_pool_id, &ids.job_id);
    ImportError::new(
        ErrorKind::CsvNotUploaded,
        format!(
            "import job {id} in {pool} has no CSV yet (Cognito: No csv file was uploaded); \
             upload it to the job's pre-signed URL; the delivery will be retried; {slot}"
        ),
    )
}
