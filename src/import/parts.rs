//! SPEC sections 14 and 16: every create-mode drop (one part too, when
//! `RESULTS_PREFIX` is set) is imported by its plan, one job per part, one
//! after another. The drop is one record (one queue message), and the
//! message is the cursor: each receive reads the plan (checked against the
//! object; made again from the file when it fails), finds each part's job
//! and takes the next step, so that every step converges when the message
//! comes again, in a fresh process, at any point:
//!
//! 1. the last part started: the record is `AlreadyStarted` for it;
//! 2. a started part whose Started event the plan does not record as
//!    published is published again first (nothing lost);
//! 3. a part running, or another job holding the slot: `ImportSlotBusy`;
//! 4. else the next part: a job recorded in the plan as holding its CSV is
//!    started, never uploaded to again (refused, it waits as
//!    `ImportSlotBusy` until it is `Expired`); otherwise the part's job is
//!    created (or found `Created`), uploaded (the header line, then its
//!    byte range, both read from the pinned object), recorded, and started;
//!    its event is published and recorded in the plan; while parts remain
//!    the record answers the retryable `ImportPartsRemaining`, and waits
//!    like a busy slot.
//!
//! A part whose job ended `Failed` or `Stopped` counts as done. No part is
//! started twice: a part is started only when its job is `Created`, and the
//! next only once the plan records the part before it as published. A
//! drop's parts come from its plan or its cut, never from a job name alone.

use crate::app::App;
use crate::aws::s3::{ByteRange, ReadFailure};
use crate::aws::upload;
use crate::csv_check::groups::{GroupCounts, Groups};
use crate::csv_check::parts::Cut;
use crate::csv_check::password::PasswordMode;
use crate::drops::cut::{self, UploadShape};
use crate::drops::jobs::{self, Pages};
use crate::drops::names::{self, drop_job_name, job_name};
use crate::drops::plan::{self, PartPlan};
use crate::emit::{self, JobStart};
use crate::error::{ErrorKind, ImportError};
use crate::import::job::{
    self, create_settled, found_started, ids_of, is_created, pre_signed_url, prepare, slot_free,
    start_uploaded, usable, without_groups, FileDrop, Origin, Ready,
};
use crate::import::preflight;
use crate::import::start::StartedJob;
use crate::model::{Failure, ImportJob, Known, ObjectRef, PartRef, PasswordCounts, Started};
use crate::resolve;

/// The jobs of `object`'s drop in parts that have started, in part order,
/// known by their names derived from the object (SPEC section 14's
/// `ObjectChanged` names them).
pub(crate) fn started_parts(pool_jobs: &[ImportJob], object: &ObjectRef) -> Vec<String> {
    let mut started: Vec<(u64, String)> = pool_jobs
        .iter()
        .filter(|job| !is_created(job) && job.status.as_deref() != Some("Expired"))
        .filter_map(|job| {
            let part = names::part_in(object, job.job_name.as_deref()?)?;
            Some((part.number, job.job_id.clone().unwrap_or_default()))
        })
        .collect();
    started.sort();
    started.dedup_by_key(|(number, _)| *number);
    started.into_iter().map(|(_, id)| id).collect()
}

/// The started jobs of the `count` parts of `object`'s drop, in part order.
fn started_of(pool_jobs: &[ImportJob], object: &ObjectRef, count: u64) -> Vec<String> {
    (1..=count)
        .filter_map(|k| usable(pool_jobs, &drop_job_name(object, k, count)))
        .filter(|job| !is_created(job))
        .filter_map(|job| job.job_id.clone())
        .collect()
}

/// `ObjectChanged`: the key holds another object than the one whose parts
/// have started.
pub(crate) fn object_changed(
    announced: &ObjectRef,
    started: Vec<String>,
    why: &str,
) -> ImportError {
    ImportError {
        started_jobs: started.clone(),
        ..ImportError::new(
            ErrorKind::ObjectChanged,
            format!(
                "{announced} {why} after {} part(s) of its import started ({}): the rest of \
                 that file can no longer be read; the new file at the key is imported on its own \
                 event",
                started.len(),
                started.join(", ")
            ),
        )
    }
}

/// An unversioned object whose ETag at `HeadObject` is not the one its
/// event announced was replaced: if parts of the announced drop started,
/// it ends as `ObjectChanged`; if none did, the object now at the key is
/// imported (SPEC section 14).
pub(crate) fn check_announced(
    announced: &ObjectRef,
    head: &ObjectRef,
    pool_jobs: &[ImportJob],
) -> Result<(), ImportError> {
    let replaced = announced.version_id.is_none()
        && head.version_id.is_none()
        && announced.etag.is_some()
        && announced.etag != head.etag;
    if !replaced {
        return Ok(());
    }
    let started = started_parts(pool_jobs, announced);
    match started.is_empty() {
        true => Ok(()),
        false => Err(object_changed(
            announced,
            started,
            "was replaced by another upload",
        )),
    }
}

/// The object an event announced is gone (`HeadObject` 404, so its metadata
/// cannot be read): if it was a drop in parts and some started, by its plan,
/// it ends as `ObjectChanged` naming them; else `not_found` stands.
pub async fn vanished(app: &App, announced: &ObjectRef, not_found: Failure) -> Failure {
    if app.config.cloudwatch_logs_role_arn.is_none() || app.config.results_prefix.is_empty() {
        return not_found;
    }
    let hash = names::drop_hash(announced);
    let plan = match plan::read(app, &announced.bucket, &hash).await {
        Ok(Some(plan)) if plan.is_of(announced) && plan.count() > 1 => plan,
        Ok(_) => return not_found,
        Err(error) => return not_found.known.failed(error),
    };
    // The plan is a cache: the pool it names is listed only if allowed.
    if resolve::validate::check_allowed(&app.config, &plan.user_pool_id).is_err() {
        return not_found;
    }
    let known = Known {
        user_pool_id: Some(plan.user_pool_id.clone()),
        created_job: true,
        ..(*not_found.known).clone()
    };
    let started = match jobs::list(app, &plan.user_pool_id, Pages::All).await {
        Ok(pool_jobs) => started_of(&pool_jobs, announced, plan.count()),
        Err(error) => return known.failed(error),
    };
    if started.is_empty() {
        return not_found;
    }
    known.failed(object_changed(announced, started, "no longer exists"))
}

/// Create mode with a plan (`RESULTS_PREFIX` set): the plan read and
/// checked, or made from the file, then the next step of the cursor.
pub(crate) async fn by_plan(drop: &FileDrop<'_>, known: Known) -> Result<Started, Failure> {
    let app = drop.app;
    let object = &drop.head.object;
    let named = named_count(drop);
    // Nothing of this drop exists yet: the slot first, so that a waiting
    // drop costs a listing per receive (SPEC section 13).
    if named.is_none() {
        let waiting = format!("the import of {object} into {}", drop.pool);
        slot_free(drop, &waiting)
            .await
            .map_err(|error| known.failed(error))?;
    }
    let size = drop.head.size.and_then(|size| u64::try_from(size).ok());
    let plan = plan::read_checked(app, object, size, &drop.hash)
        .await
        .map_err(|error| known.failed(error))?
        .filter(|plan| fits_drop(drop, plan, named));
    let plan = match plan {
        Some(plan) => plan,
        None => {
            // A drop of one part whose job started, from before plans were
            // kept for one part (or whose plan is lost): nothing to read.
            let single_job = usable(&drop.pool_jobs, &job_name(object));
            if let (Some(1), Some(job)) = (named, single_job.filter(|j| !is_created(j))) {
                return found_started(drop, job.clone(), known);
            }
            make_plan(drop, named)
                .await
                .map_err(|error| known.failed(error))?
        }
    };
    let slot = match named {
        None => Slot::SeenFree,
        Some(_) => Slot::Unseen,
    };
    cursor(drop, plan, known, slot).await
}

/// Whether a plan that passed its check is this drop's: of its pool, and
/// of as many parts as its jobs were named for. Otherwise it is logged and
/// made again (from the file, whose cut the jobs' names must match).
fn fits_drop(drop: &FileDrop<'_>, plan: &PartPlan, named: Option<u64>) -> bool {
    let why = if plan.user_pool_id != drop.pool {
        "it names another user pool"
    } else if named.is_some_and(|count| count != plan.count()) {
        "its part count is not the one the drop's jobs were named for"
    } else {
        return true;
    };
    tracing::warn!(
        object = %drop.head.object,
        hash = drop.hash,
        why,
        "the drop's plan failed its check; it is made again from the file"
    );
    false
}

/// How many parts the jobs of this drop were named for, when any exists
/// (and is not `Expired`): 1 for section 10's name, n for a part of n. Only
/// names derived from this object count.
fn named_count(drop: &FileDrop<'_>) -> Option<u64> {
    let object = &drop.head.object;
    let single = job_name(object);
    drop.pool_jobs
        .iter()
        .filter(|job| job.status.as_deref() != Some("Expired"))
        .find_map(|job| {
            let name = job.job_name.as_deref()?;
            match name == single {
                true => Some(1),
                false => names::part_in(object, name).map(|part| part.count),
            }
        })
}

/// The drop's plan made from the file and written: the preflight when no
/// job of the drop exists; else (the plan lost or failing its check) the
/// file cut again, not checked (it passed the preflight before its first
/// job was created), into as many parts as its jobs were named for.
async fn make_plan(drop: &FileDrop<'_>, named: Option<u64>) -> Result<PartPlan, ImportError> {
    let app = drop.app;
    let object = &drop.head.object;
    let plan = match named {
        None => {
            let mode = drop
                .password_algorithm
                .map_or(PasswordMode::Detect, PasswordMode::Named);
            let report = preflight::check_parted(app, drop.head, &drop.pool, mode).await?;
            PartPlan::new(object, &drop.pool, &report.cut, app.config.part_max_rows)
                .with_passwords(report.passwords.as_ref())
                .with_groups(report.groups.as_ref())
        }
        Some(count) => {
            let (cut, groups) = cut_again(drop, count).await?;
            let mut plan = PartPlan::new(object, &drop.pool, &cut, app.config.part_max_rows)
                .with_groups(groups.as_ref());
            // The counts were the preflight's, gone with the plan; the
            // algorithm is the metadata's or the one the drop's jobs have.
            plan.password_algorithm = drop
                .password_algorithm
                .map(|a| a.to_string())
                .or_else(|| drop_algorithm(drop));
            plan
        }
    };
    plan::write(app, &drop.hash, &plan).await?;
    match named {
        Some(_) => {
            tracing::info!(object = %object, parts = plan.count(), "the drop's plan was made again")
        }
        None if plan.count() > 1 => {
            tracing::info!(object = %object, parts = plan.count(), "the file is imported in parts")
        }
        None => {}
    }
    Ok(plan)
}

async fn cut_again(drop: &FileDrop<'_>, count: u64) -> Result<(Cut, Option<Groups>), ImportError> {
    let app = drop.app;
    let object = &drop.head.object;
    let body = match app.s3().read_pinned(object, None).await {
        Ok(body) => body,
        Err(failure) => return Err(changed_on_read(drop, count, read_error(object, failure))),
    };
    let (cut, groups) = cut::cut_only(app, &object.to_string(), body).await?;
    if cut.parts.len() as u64 != count {
        return Err(object_changed(
            object,
            started_of(&drop.pool_jobs, object, count),
            &format!(
                "now cuts into {} parts, not the {count} its jobs were named for (PART_MAX_ROWS \
                 changed while its plan was lost)",
                cut.parts.len()
            ),
        ));
    }
    Ok((cut, groups))
}

/// Part `number`'s job: one of its name that started; else the one the
/// plan records as holding its CSV; else the usable one of its name.
fn part_job(drop: &FileDrop<'_>, plan: &PartPlan, number: u64) -> Option<ImportJob> {
    let name = drop_job_name(&drop.head.object, number, plan.count());
    let by_name = usable(&drop.pool_jobs, &name);
    if let Some(started) = by_name.filter(|job| !is_created(job)) {
        return Some(started.clone());
    }
    let recorded = plan.uploaded_job(number).and_then(|id| {
        drop.pool_jobs.iter().find(|job| {
            job.job_id.as_deref() == Some(id)
                && job.job_name.as_deref() == Some(name.as_str())
                && job.status.as_deref() != Some("Expired")
        })
    });
    recorded.or(by_name).cloned()
}

/// The password hashing algorithm of the drop's jobs, if any has one: only
/// names derived from this object count.
fn drop_algorithm(drop: &FileDrop<'_>) -> Option<String> {
    let object = &drop.head.object;
    let single = job_name(object);
    drop.pool_jobs
        .iter()
        .filter(|job| {
            job.job_name
                .as_deref()
                .is_some_and(|name| name == single || names::part_in(object, name).is_some())
        })
        .find_map(|job| job.password_hashing_algorithm.clone())
}

/// Part `number` of the plan, as events carry it.
fn part_ref(plan: &PartPlan, number: u64) -> PartRef {
    let range = plan.part(number).map(|p| p.range);
    PartRef {
        number,
        count: plan.count(),
        first_line: range.map(|r| r.first_row),
        last_line: range.map(|r| r.last_row),
    }
}

/// Whether this receive looked at the import slot before the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Found free (nothing of the drop existed yet).
    SeenFree,
    /// Not looked at yet: step 3 looks.
    Unseen,
}

/// Steps 1 to 4 of the module's doc.
async fn cursor(
    drop: &FileDrop<'_>,
    mut plan: PartPlan,
    known: Known,
    slot: Slot,
) -> Result<Started, Failure> {
    let app = drop.app;
    let object = &drop.head.object;
    let count = plan.count();
    let jobs: Vec<Option<ImportJob>> = (1..=count).map(|k| part_job(drop, &plan, k)).collect();
    // A drop of one part keeps section 10's events: no `Part`.
    let refs: Vec<Option<PartRef>> = (1..=count)
        .map(|k| (count > 1).then(|| part_ref(&plan, k)))
        .collect();
    let plan_passwords: Vec<Option<PasswordCounts>> =
        (1..=count).map(|k| plan.passwords_of(k)).collect();
    let plan_groups: Vec<Option<GroupCounts>> = (1..=count).map(|k| plan.groups_of(k)).collect();
    let algorithm = plan.password_algorithm.clone();
    let at = |number: u64, job: Option<&ImportJob>| {
        let known = Known {
            part: refs.get((number - 1) as usize).copied().flatten(),
            passwords: plan_passwords.get((number - 1) as usize).cloned().flatten(),
            groups: plan_groups.get((number - 1) as usize).copied().flatten(),
            ..known.clone()
        };
        match job {
            Some(job) => known.with_ids(&ids_of(&drop.pool, job)),
            None => known,
        }
    };
    let started = |job: &Option<ImportJob>| job.as_ref().is_some_and(|j| !is_created(j));

    // 1. The last part started: the drop is done.
    if let Some(last) = jobs
        .last()
        .and_then(Option::as_ref)
        .filter(|j| !is_created(j))
    {
        return Ok(Started {
            job: last.clone(),
            already_started: true,
            known: at(count, Some(last)),
        });
    }
    // 2. Started events not recorded as published go out again first.
    for (number, job) in (1..count).zip(&jobs) {
        let published = plan.part(number).is_some_and(|p| p.published);
        if let (false, Some(job)) = (published, job.as_ref().filter(|j| !is_created(j))) {
            let known = at(number, Some(job));
            plan = publish_part(drop, plan, number, job, &known, JobStart::AlreadyStarted)
                .await
                .map_err(|error| known.failed(error))?;
        }
    }
    // 3. One import at a time: a running part, or any other job.
    let Some(next) = (1..=count).find(|&k| !started(&jobs[(k - 1) as usize])) else {
        return Err(known.failed(raced(object)));
    };
    let existing = jobs[(next - 1) as usize].clone();
    if slot == Slot::Unseen {
        let waiting = match count {
            1 => format!("the import of {object} into {}", drop.pool),
            _ => format!("part {next} of {count} of {object}"),
        };
        if let Err(error) = slot_free(drop, &waiting).await {
            return Err(at(next, existing.as_ref()).failed(error));
        }
    }
    // 4. The next part: created (or found Created), uploaded, started.
    let (job, origin) = match existing {
        Some(job) => (job, Origin::Found),
        None => {
            let name = drop_job_name(object, next, count);
            let settled = create_settled(app, &drop.pool, &name, algorithm.as_deref())
                .await
                .map_err(|error| at(next, None).failed(error))?;
            (settled.job, settled.origin)
        }
    };
    if !is_created(&job) {
        // A racing delivery started the job this one settled on: for the
        // last part that is the outcome, as on a redelivery; before it, the
        // next receive takes the step.
        return match next == count {
            true => Ok(Started {
                known: at(next, Some(&job)),
                job,
                already_started: true,
            }),
            false => Err(at(next, Some(&job)).failed(raced(object))),
        };
    }
    let started_job = start_part(drop, &mut plan, next, job, origin)
        .await
        .map_err(|(error, job)| at(next, Some(&job)).failed(error))?;
    let known = at(next, Some(&started_job.job));
    if next == count {
        return Ok(started_job.with(known));
    }
    publish_part(
        drop,
        plan,
        next,
        &started_job.job,
        &known,
        JobStart::StartedNow,
    )
    .await
    .map_err(|error| known.failed(error))?;
    Err(known.failed(remaining(&started_job.job, next, count)))
}

/// Starts part `number`'s `Created` job. One the plan records as holding
/// the part's CSV is started, never uploaded to again: refused, the slot is
/// taken (SPEC section 16). Any other gets the part (after a start first,
/// or its replacement once its pre-signed URL expired, as section 10
/// says), is recorded, then started. A failure names the job it is about.
async fn start_part(
    drop: &FileDrop<'_>,
    plan: &mut PartPlan,
    number: u64,
    job: ImportJob,
    origin: Origin,
) -> Result<StartedJob, (ImportError, ImportJob)> {
    let app = drop.app;
    if job.job_id.is_some() && plan.uploaded_job(number) == job.job_id.as_deref() {
        return match start_uploaded(app, &ids_of(&drop.pool, &job)).await {
            Ok(started) => Ok(started),
            Err(error) => Err((error, job)),
        };
    }
    let name = drop_job_name(&drop.head.object, number, plan.count());
    let job = match prepare(drop, job.clone(), origin, &name).await {
        Ok(Ready::Started(started)) => return Ok(started),
        Ok(Ready::Upload(job)) => job,
        Err(error) => return Err((error, job)),
    };
    if let Err(error) = upload_recorded(drop, plan, number, &job).await {
        return Err((error, job));
    }
    match start_uploaded(app, &ids_of(&drop.pool, &job)).await {
        Ok(started) => Ok(started),
        Err(error) => Err((error, job)),
    }
}

/// Uploads part `number` (the whole file for a drop of one part) to `job`
/// and records in the plan that the job holds it.
async fn upload_recorded(
    drop: &FileDrop<'_>,
    plan: &mut PartPlan,
    number: u64,
    job: &ImportJob,
) -> Result<(), ImportError> {
    let app = drop.app;
    let ids = ids_of(&drop.pool, job);
    match plan.count() {
        1 => job::upload(app, drop.head, job, &ids, plan.upload_shape(1)).await?,
        _ => upload_part(drop, plan, number, job).await?,
    }
    let recorded = plan.clone().uploaded(number, &ids.job_id);
    plan::write(app, &drop.hash, &recorded).await?;
    *plan = recorded;
    Ok(())
}

/// Publishes part `number`'s Started event and records it in the plan.
async fn publish_part(
    drop: &FileDrop<'_>,
    plan: PartPlan,
    number: u64,
    job: &ImportJob,
    known: &Known,
    start: JobStart,
) -> Result<PartPlan, ImportError> {
    let app = drop.app;
    let url = app.config.emit_presigned_url.into();
    let event = emit::started(url, job, known, start);
    if let Some(Err(error)) = emit::publish(app, &[event]).await.into_iter().next() {
        return Err(error);
    }
    let plan = plan.published(number);
    plan::write(app, &drop.hash, &plan).await?;
    Ok(plan)
}

fn remaining(job: &ImportJob, number: u64, count: u64) -> ImportError {
    ImportError::new(
        ErrorKind::ImportPartsRemaining,
        format!(
            "part {number} of {count} started (import job {}); {} part(s) remain, each started \
             once the one before has finished; the delivery will be retried",
            job.job_id.as_deref().unwrap_or_default(),
            count - number
        ),
    )
}

fn raced(object: &ObjectRef) -> ImportError {
    job::raced(&format!("the parts of {object}"))
}

/// Puts part `number` to its job's pre-signed URL: the header line, then
/// the part's rows, both read from the pinned object with ranged
/// `GetObject`s (one when the part follows the header), streamed. No byte
/// comes from the plan, which only says where they are (SPEC section 16).
pub(crate) async fn upload_part(
    drop: &FileDrop<'_>,
    plan: &PartPlan,
    number: u64,
    job: &ImportJob,
) -> Result<(), ImportError> {
    let app = drop.app;
    let ids = ids_of(&drop.pool, job);
    let what = format!("import job {} in {}", ids.job_id, ids.user_pool_id);
    let uploader = app.uploader(&what)?;
    let range = plan
        .part(number)
        .map(|p| p.range)
        .ok_or_else(|| raced(&drop.head.object))?;
    let url = pre_signed_url(app, job, &ids, &what).await?;
    let object = &drop.head.object;
    let header_bytes = plan.header_bytes;
    let count = plan.count();
    let body = match range.first_byte == header_bytes {
        true => read_range(drop, count, 0, range.end_byte)
            .await?
            .into_inner(),
        false => {
            let header = read_range(drop, count, 0, header_bytes).await?;
            let rows = read_range(drop, count, range.first_byte, range.end_byte).await?;
            upload::chain(header, rows)
        }
    };
    let (body, length) = match plan.upload_shape(number) {
        UploadShape::AsIs => (body, header_bytes + range.bytes()),
        UploadShape::WithoutGroups { column, length } => {
            (without_groups(body, column, length), length)
        }
    };
    uploader.put(&url, body, length, &what).await?;
    tracing::info!(
        user_pool_id = %ids.user_pool_id,
        job_id = %ids.job_id,
        part = number,
        parts = count,
        bytes = length,
        object = %object,
        "part uploaded"
    );
    Ok(())
}

/// Bytes `first..end` of the pinned object. A 404 or 412 means the key holds
/// another object now.
async fn read_range(
    drop: &FileDrop<'_>,
    count: u64,
    first: u64,
    end: u64,
) -> Result<aws_sdk_s3::primitives::ByteStream, ImportError> {
    let object = &drop.head.object;
    let range = ByteRange { first, end };
    match drop.app.s3().read_pinned(object, Some(range)).await {
        Ok(body) => Ok(body),
        Err(failure) => Err(changed_on_read(drop, count, read_error(object, failure))),
    }
}

fn read_error(object: &ObjectRef, failure: ReadFailure) -> ImportError {
    match failure {
        ReadFailure::Gone => ImportError::new(
            ErrorKind::ObjectNotFound,
            format!("{object} no longer exists"),
        ),
        ReadFailure::Replaced => ImportError::new(
            ErrorKind::ObjectNotFound,
            format!("{object} was replaced (its ETag no longer matches)"),
        ),
        ReadFailure::Failed(error) => error,
    }
}

/// A pinned read that found the object gone or replaced: `ObjectChanged`
/// once parts have started, else retried (the next receive reads what is at
/// the key now).
fn changed_on_read(drop: &FileDrop<'_>, count: u64, error: ImportError) -> ImportError {
    if error.kind != ErrorKind::ObjectNotFound {
        return error;
    }
    let started = started_of(&drop.pool_jobs, &drop.head.object, count);
    if started.is_empty() {
        return ImportError::new(
            ErrorKind::ServiceUnavailable,
            format!("{}; no part had started; it will be retried", error.message),
        );
    }
    let why = error
        .message
        .strip_prefix(&drop.head.object.to_string())
        .unwrap_or(&error.message)
        .trim()
        .to_string();
    object_changed(&drop.head.object, started, &why)
}
