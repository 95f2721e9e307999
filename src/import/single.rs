//! SPEC section 10 without a plan (`RESULTS_PREFIX` empty): a drop of one
//! part, its job found by its name, or the file checked first and the job
//! created; a file of parts is `CsvTooLarge`. The job's lifecycle is
//! `job`'s.

use crate::csv_check::password::PasswordMode;
use crate::drops::cut::{self, UploadShape};
use crate::drops::names::job_name;
use crate::import::job::{
    counts_of_file, create_settled, found_started, ids_of, is_created, slot_free, start_created,
    usable, FileDrop, Origin,
};
use crate::import::preflight;
use crate::model::{Failure, ImportJob, JobRef, Known, Started};

/// SPEC section 10 when no plan can be kept: the job found by its name, or
/// the file checked first; a file of parts is `CsvTooLarge`.
pub(crate) async fn without_plan(drop: &FileDrop<'_>, known: Known) -> Result<Started, Failure> {
    match usable(&drop.pool_jobs, &job_name(&drop.head.object)).cloned() {
        Some(job) => found(drop, job, known).await,
        None => first_receive(drop, known).await,
    }
}

/// No job of the drop exists yet: the slot, then the preflight, then the
/// job.
async fn first_receive(drop: &FileDrop<'_>, known: Known) -> Result<Started, Failure> {
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
    let shape = UploadShape::of_file(report.groups.as_ref());
    let (cut, passwords) = (report.cut, report.passwords);
    if cut.parts.len() > 1 {
        let what = drop.head.object.to_string();
        let why = format!("needs {} parts", cut.parts.len());
        return Err(known.failed(preflight::no_plan(&what, &why)));
    }
    let known = Known {
        passwords: passwords.as_ref().map(counts_of_file),
        groups: report.groups.as_ref().map(|g| g.total),
        ..known
    };
    let name = job_name(&drop.head.object);
    let algorithm = passwords.as_ref().map(|p| p.algorithm.as_str());
    let settled = create_settled(app, &drop.pool, &name, algorithm)
        .await
        .map_err(|error| known.failed(error))?;
    if settled.origin == Origin::Found {
        // Another delivery's job of the same name: it goes on from there.
        return found(drop, settled.job, known).await;
    }
    let ids = ids_of(&drop.pool, &settled.job);
    start_created(drop, settled.job, Origin::Created, &name, shape)
        .await
        .map(|started| started.with(known.clone().with_ids(&ids)))
        .map_err(|error| known.with_ids(&ids).failed(error))
}

/// SPEC section 10 for a file of one part whose job an earlier delivery
/// created: started before, or started now.
async fn found(drop: &FileDrop<'_>, job: ImportJob, known: Known) -> Result<Started, Failure> {
    if !is_created(&job) {
        return found_started(drop, job, known);
    }
    let ids = ids_of(&drop.pool, &job);
    let known = known.with_ids(&ids);
    // A job of this name exists only once the file passed the preflight (the
    // name pins the object's version or ETag): no preflight again, once the
    // slot is free.
    let waiting = format!("import job {} in {}", ids.job_id, ids.user_pool_id);
    if let Err(error) = slot_free(drop, &waiting).await {
        return Err(known.failed(error));
    }
    // The upload's length without the `cognito:groups` column, and the
    // Started event's `Groups`, were the preflight's: without a plan to keep
    // them, the file is counted again (SPEC section 17).
    let what = drop.head.object.to_string();
    let counted = match drop.app.s3().get_object(&drop.head.object).await {
        Ok((body, _)) => cut::cut_only(drop.app, &what, body).await,
        Err(error) => Err(error),
    };
    let groups = match counted {
        Ok((_, groups)) => groups,
        Err(error) => return Err(known.failed(error)),
    };
    let known = Known {
        groups: groups.as_ref().map(|g| g.total),
        ..known
    };
    let shape = UploadShape::of_file(groups.as_ref());
    let name = job_name(&drop.head.object);
    match start_created(drop, job, Origin::Found, &name, shape).await {
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
