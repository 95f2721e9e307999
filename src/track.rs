//! SPEC section 11: following a job to its end. Cognito emits nothing when an
//! import finishes, so a caller (the template's state machine) polls here.

use serde_json::{json, Value};

use crate::app::App;
use crate::deadline::Deadline;
use crate::emit;
use crate::error::{classify_sdk_error, ImportError, Service};
use crate::model::JobRef;
use crate::start::describe_job;

const TERMINAL: [&str; 4] = ["Succeeded", "Failed", "Stopped", "Expired"];

/// `{"UserImportJob": {...}, "Terminal": bool}`; a terminal job also emits
/// `User Import Job Completed`, every time it is tracked.
/// Within the invocation's deadline, like every action.
pub async fn track(app: &App, ids: &JobRef, deadline: Deadline) -> Result<Value, ImportError> {
    let job = deadline.work(describe_job(app, ids)).await?;
    let terminal = job.status.as_deref().is_some_and(|s| TERMINAL.contains(&s));
    if terminal {
        let pool_name = deadline.work(pool_name(app, &ids.user_pool_id)).await?;
        let event = emit::completed(app, &job, &pool_name);
        let published = deadline.publish(1, emit::publish(app, &[event])).await;
        if let Some(Err(error)) = published.into_iter().next() {
            return Err(error);
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
        "UserImportJob": job.to_json(app.config.emit_presigned_url),
        "Terminal": terminal,
    }))
}

/// The pool's name is part of the log group Cognito writes per-user results to.
async fn pool_name(app: &App, pool_id: &str) -> Result<String, ImportError> {
    let output = app
        .clients
        .cognito
        .describe_user_pool()
        .user_pool_id(pool_id)
        .send()
        .await
        .map_err(|e| {
            classify_sdk_error(Service::Cognito, &format!("DescribeUserPool {pool_id}"), &e)
        })?;
    Ok(output
        .user_pool()
        .and_then(|pool| pool.name())
        .unwrap_or_default()
        .to_string())
}
