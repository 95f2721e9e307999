//! SPEC section 11: following a job to its end. Cognito emits nothing when an
//! import finishes, so a caller (the template's state machine) polls here.

pub mod part;
pub mod results;
pub mod source;

use serde_json::{json, Value};

use crate::app::App;
use crate::deadline::Deadline;
use crate::emit;
use crate::error::ImportError;
use crate::model::{ImportJob, JobRef, LogLocation, ObjectRef, PartRef};
use results::Results;

const TERMINAL: [&str; 4] = ["Succeeded", "Failed", "Stopped", "Expired"];

/// `{"UserImportJob": {...}, "Terminal": bool}`; a terminal job also emits
/// `User Import Job Completed`, every time it is tracked, with `Results`
/// when users failed or were skipped (SPEC section 12). While Cognito's log
/// is still behind the job's counts, the job is not terminal yet for the
/// caller. Within the invocation's deadline, like every action. `source`:
/// the object the job was created from, for the results files.
pub async fn track(
    app: &App,
    ids: &JobRef,
    source: Option<&ObjectRef>,
    given_part: Option<PartRef>,
    deadline: Deadline,
) -> Result<Value, ImportError> {
    let job = deadline.work(app.cognito().describe_job(ids)).await?;
    let mut terminal = is_terminal(&job);
    if terminal {
        match deadline
            .work(completed(app, &job, ids, source, given_part))
            .await?
        {
            Some(event) => {
                let published = deadline.publish(1, emit::publish(app, &[event])).await;
                if let Some(Err(error)) = published.into_iter().next() {
                    return Err(error);
                }
                if let Some(metrics) = &app.metrics {
                    emit::metrics::completed(metrics, &job);
                }
            }
            None => terminal = false,
        }
    }
    tracing::info!(
        user_pool_id = ids.user_pool_id,
        job_id = ids.job_id,
        status = job.status.as_deref().unwrap_or_default(),
        terminal,
        "job tracked"
    );
    Ok(json!({
        "UserImportJob": job.to_json(app.config.emit_presigned_url.into()),
        "Terminal": terminal,
    }))
}

pub fn is_terminal(job: &ImportJob) -> bool {
    job.status.as_deref().is_some_and(|s| TERMINAL.contains(&s))
}

/// The Completed event, or `None` while the log is behind the counts.
async fn completed(
    app: &App,
    job: &ImportJob,
    ids: &JobRef,
    source: Option<&ObjectRef>,
    given_part: Option<PartRef>,
) -> Result<Option<emit::Event>, ImportError> {
    let pool = &ids.user_pool_id;
    let logs = LogLocation::of(job, &app.cognito().pool_name(pool).await?);
    let source = match source {
        Some(given) => Some(source::check(app, job, ids, given, given_part.as_ref()).await?),
        None => None,
    };
    let tracked = part::of_job(app, job, pool, source.as_ref(), given_part).await?;
    let view = tracked.as_ref().map(|t| t.view.clone()).unwrap_or_default();
    let results = if results::users_not_imported(job) > 0 {
        match results::collect(app, job, &logs, source.as_ref(), view).await? {
            Results::NotYet => return Ok(None),
            Results::Ready(results) => Some(results),
        }
    } else {
        None
    };
    let drop = match &tracked {
        Some(tracked) => part::drop_summary(app, pool, tracked, job, is_terminal).await?,
        None => None,
    };
    let completion = emit::Completion {
        results,
        part: tracked.map(|t| t.part),
        drop,
    };
    Ok(Some(emit::completed(
        app.config.emit_presigned_url.into(),
        job,
        &logs,
        completion,
    )))
}
