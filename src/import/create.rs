//! SPEC section 10: create mode. The object's metadata names only the pool;
//! the function checks the file, finds or creates the job by a name derived
//! from the object alone, uploads the file to it and starts it (the job's
//! lifecycle is `job`'s).
//!
//! With `RESULTS_PREFIX` set every drop, of one part too, goes by its plan
//! (`parts`, SPEC section 16), which records the job that received the CSV;
//! without it a drop of one part is handled by `single`, as section 10 says.

use crate::app::App;
use crate::aws::s3::ObjectHead;
use crate::drops::jobs::{self, Pages};
use crate::drops::names;
use crate::import::job::FileDrop;
use crate::import::{parts, preflight, single};
use crate::model::{Failure, Known, ObjectRef, Started};
use crate::resolve;

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
    let drop = FileDrop {
        app,
        hash: names::drop_hash(&head.object),
        head: &head,
        pool,
        pool_jobs,
        password_algorithm,
    };
    if app.config.results_prefix.is_empty() {
        return single::without_plan(&drop, known).await;
    }
    Box::pin(parts::by_plan(&drop, known)).await
}
