//! SPEC section 14: a file over one job's limits is imported in parts, one
//! job per part, one after another. The drop is one record (one queue
//! message), and the message is the cursor: each receive finds the parts'
//! jobs by name and takes the next step, so that every step converges when
//! the message comes again, in a fresh process, at any point:
//!
//! 1. the last part started: the record is `AlreadyStarted` for it;
//! 2. a started part whose Started event the plan does not record as
//!    published is published again first (nothing lost);
//! 3. a part running, or another job holding the slot: `ImportSlotBusy`;
//! 4. else the next part is created (or found `Created`), uploaded (the
//!    header line, then its byte range) and started, its event published and
//!    recorded in the plan; while parts remain the record answers the
//!    retryable `ImportPartsRemaining`, and waits like a busy slot.
//!
//! A part whose job ended `Failed` or `Stopped` counts as done. No part is
//! started twice: a part is started only when its job is `Created`, and the
//! next only once the plan records the part before it as published.

pub mod plan;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::GetObjectError;

use crate::app::App;
use crate::csv_check::parts::Cut;
use crate::csv_check::password::Passwords;
use crate::emit;
use crate::error::{classify_sdk_error, ErrorKind, ImportError, Service};
use crate::import::create::{
    create_settled, ids_of, is_created, pre_signed_url, slot_free, start_created, usable, Content,
    Drop,
};
use crate::import::jobs::{self, Pages};
use crate::import::names::{self, part_job_name};
use crate::import::{preflight, upload};
use crate::model::{Failure, ImportJob, Known, ObjectRef, PartRef, PasswordCounts, Started};
use crate::resolve;
use plan::Plan;

/// The part count of this drop's part jobs, when any exists (and is not
/// `Expired`): the drop is under way.
pub(crate) fn count_started(drop: &Drop<'_>) -> Option<u64> {
    drop.pool_jobs
        .iter()
        .filter(|job| job.status.as_deref() != Some("Expired"))
        .filter_map(|job| names::part_of(job.job_name.as_deref()?))
        .find(|part| part.hash == drop.hash)
        .map(|part| part.count)
}

/// The jobs of drop `hash`'s parts that have started, in part order.
pub(crate) fn started_parts(pool_jobs: &[ImportJob], hash: &str) -> Vec<String> {
    let mut started: Vec<(u64, String)> = pool_jobs
        .iter()
        .filter(|job| !is_created(job) && job.status.as_deref() != Some("Expired"))
        .filter_map(|job| {
            let part = names::part_of(job.job_name.as_deref()?)?;
            (part.hash == hash).then(|| (part.number, job.job_id.clone().unwrap_or_default()))
        })
        .collect();
    started.sort();
    started.dedup_by_key(|(number, _)| *number);
    started.into_iter().map(|(_, id)| id).collect()
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
    let started = started_parts(pool_jobs, &names::drop_hash(announced));
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
        Ok(Some(plan)) if plan.is_of(announced) => plan,
        Ok(_) => return not_found,
        Err(error) => return not_found.known.failed(error),
    };
    let known = Known {
        user_pool_id: Some(plan.user_pool_id.clone()),
        created_job: true,
        ..(*not_found.known).clone()
    };
    let started = match jobs::list(app, &plan.user_pool_id, Pages::All).await {
        Ok(pool_jobs) => started_parts(&pool_jobs, &hash),
        Err(error) => return known.failed(error),
    };
    if started.is_empty() {
        return not_found;
    }
    known.failed(object_changed(announced, started, "no longer exists"))
}

/// The preflight cut the file into parts: the plan is written, then the
/// first part goes.
pub(crate) async fn begin(
    drop: &Drop<'_>,
    cut: &Cut,
    passwords: Option<&Passwords>,
    known: Known,
) -> Result<Started, Failure> {
    let app = drop.app;
    let what = drop.head.object.to_string();
    if app.config.results_prefix.is_empty() {
        let why = format!("needs {} parts", cut.parts.len());
        return Err(known.failed(preflight::no_plan(&what, &why)));
    }
    let plan = Plan::new(&drop.head.object, &drop.pool, cut, app.config.part_max_rows)
        .with_passwords(passwords);
    plan::write(app, &drop.hash, &plan)
        .await
        .map_err(|error| known.failed(error))?;
    tracing::info!(object = %what, parts = plan.count(), "the file is imported in parts");
    cursor(drop, plan, known).await
}

/// A drop under way (`count` parts by its jobs' names): its plan, read or
/// made again from the file, then the next step.
pub(crate) async fn resume(
    drop: &Drop<'_>,
    count: u64,
    plan: Option<Plan>,
    known: Known,
) -> Result<Started, Failure> {
    let plan = match plan {
        Some(plan) => plan,
        None => remake_plan(drop, count)
            .await
            .map_err(|error| known.failed(error))?,
    };
    cursor(drop, plan, known).await
}

/// The plan of a drop whose parts' jobs exist: the one written, or, missing
/// or of another object, made again from the file (cut, not checked: it
/// passed the preflight before its first part's job was created).
async fn remake_plan(drop: &Drop<'_>, count: u64) -> Result<Plan, ImportError> {
    let app = drop.app;
    let object = &drop.head.object;
    if app.config.results_prefix.is_empty() {
        return Err(preflight::no_plan(
            &object.to_string(),
            &format!("has {count} parts under way"),
        ));
    }
    if let Some(plan) = plan::read(app, &object.bucket, &drop.hash).await? {
        if plan.is_of(object) && plan.count() == count {
            return Ok(plan);
        }
    }
    let body = match resolve::get_pinned(app, object).await {
        Ok(output) => output.body,
        Err(error) => return Err(changed_on_read(drop, read_error(object, &error))),
    };
    let cut = preflight::cut_only(app, &object.to_string(), body).await?;
    if cut.parts.len() as u64 != count {
        return Err(object_changed(
            object,
            started_parts(&drop.pool_jobs, &drop.hash),
            &format!(
                "now cuts into {} parts, not the {count} its jobs were named for (PART_MAX_ROWS \
                 changed while its plan was lost)",
                cut.parts.len()
            ),
        ));
    }
    let mut plan = Plan::new(object, &drop.pool, &cut, app.config.part_max_rows);
    // The counts are the preflight's, gone with the plan; the algorithm is
    // the metadata's or the one its parts' jobs were created with.
    plan.password_algorithm = drop
        .password_algorithm
        .map(|a| a.to_string())
        .or_else(|| parts_algorithm(&drop.pool_jobs, &drop.hash));
    plan::write(app, &drop.hash, &plan).await?;
    tracing::info!(object = %object, parts = count, "the drop's plan was made again");
    Ok(plan)
}

/// The password hashing algorithm of drop `hash`'s part jobs, if any has one.
fn parts_algorithm(pool_jobs: &[ImportJob], hash: &str) -> Option<String> {
    pool_jobs
        .iter()
        .filter(|job| {
            job.job_name
                .as_deref()
                .and_then(names::part_of)
                .is_some_and(|part| part.hash == hash)
        })
        .find_map(|job| job.password_hashing_algorithm.clone())
}

/// Part `number` of the plan, as events carry it.
fn part_ref(plan: &Plan, number: u64) -> PartRef {
    let range = plan.part(number).map(|p| p.range);
    PartRef {
        number,
        count: plan.count(),
        first_line: range.map(|r| r.first_row),
        last_line: range.map(|r| r.last_row),
    }
}

/// Steps 1 to 4 of the module's doc.
async fn cursor(drop: &Drop<'_>, mut plan: Plan, known: Known) -> Result<Started, Failure> {
    let app = drop.app;
    let object = &drop.head.object;
    let count = plan.count();
    let jobs: Vec<Option<ImportJob>> = (1..=count)
        .map(|k| usable(&drop.pool_jobs, &part_job_name(object, k, count)).cloned())
        .collect();
    let refs: Vec<PartRef> = (1..=count).map(|k| part_ref(&plan, k)).collect();
    let plan_passwords: Vec<Option<PasswordCounts>> =
        (1..=count).map(|k| plan.passwords_of(k)).collect();
    let algorithm = plan.password_algorithm.clone();
    let at = |number: u64, job: Option<&ImportJob>| {
        let known = Known {
            part: refs.get((number - 1) as usize).copied(),
            passwords: plan_passwords.get((number - 1) as usize).cloned().flatten(),
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
            plan = publish_part(drop, plan, number, job, &known, true)
                .await
                .map_err(|error| known.failed(error))?;
        }
    }
    // 3. One import at a time: a running part, or any other job.
    let Some(next) = (1..=count).find(|&k| !started(&jobs[(k - 1) as usize])) else {
        return Err(known.failed(raced(object)));
    };
    let existing = jobs[(next - 1) as usize].clone();
    let waiting = format!("part {next} of {count} of {object}");
    if let Err(error) = slot_free(drop, &waiting).await {
        return Err(at(next, existing.as_ref()).failed(error));
    }
    // 4. The next part: created (or found Created), uploaded, started.
    let name = part_job_name(object, next, count);
    let (job, fresh) = match existing {
        Some(job) => (job, false),
        None => {
            let settled = create_settled(app, &drop.pool, &name, algorithm.as_deref())
                .await
                .map_err(|error| at(next, None).failed(error))?;
            (settled.job, settled.fresh)
        }
    };
    if !is_created(&job) {
        return Err(at(next, Some(&job)).failed(raced(object)));
    }
    let content = Content::Part {
        plan: &plan,
        number: next,
    };
    let started_job = start_created(drop, job.clone(), fresh, &name, content)
        .await
        .map_err(|error| at(next, Some(&job)).failed(error))?;
    let known = at(next, Some(&started_job.job));
    if next == count {
        return Ok(started_job.with(known));
    }
    publish_part(drop, plan, next, &started_job.job, &known, false)
        .await
        .map_err(|error| known.failed(error))?;
    Err(known.failed(remaining(&started_job.job, next, count)))
}

/// Publishes part `number`'s Started event and records it in the plan.
async fn publish_part(
    drop: &Drop<'_>,
    plan: Plan,
    number: u64,
    job: &ImportJob,
    known: &Known,
    already_started: bool,
) -> Result<Plan, ImportError> {
    let app = drop.app;
    let event = emit::started(app, job, known, already_started);
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
    crate::import::create::raced(&format!("the parts of {object}"))
}

/// Puts part `number` to its job's pre-signed URL: the header line, then
/// the part's rows, both read from the pinned object with ranged
/// `GetObject`s (one when the part follows the header), streamed.
pub(crate) async fn upload_part(
    drop: &Drop<'_>,
    plan: &Plan,
    number: u64,
    job: &ImportJob,
) -> Result<(), ImportError> {
    let app = drop.app;
    let ids = ids_of(&drop.pool, job);
    let what = format!("import job {} in {}", ids.job_id, ids.user_pool_id);
    let uploader = upload::uploader(app, &what)?;
    let range = plan
        .part(number)
        .map(|p| p.range)
        .ok_or_else(|| raced(&drop.head.object))?;
    let url = pre_signed_url(app, job, &ids, &what).await?;
    let object = &drop.head.object;
    let header_bytes = plan.header_bytes;
    let (header, rest_from) = match &plan.header {
        _ if range.first_byte == header_bytes => (bytes::Bytes::new(), 0),
        Some(header) => (bytes::Bytes::from(header.clone()), range.first_byte),
        None => {
            let header = read_range(drop, 0, header_bytes).await?;
            (collect(drop, header, header_bytes).await?, range.first_byte)
        }
    };
    let body = read_range(drop, rest_from, range.end_byte).await?;
    let length = header_bytes + range.bytes();
    uploader
        .put(&url, upload::header_then(header, body), length, &what)
        .await?;
    tracing::info!(
        user_pool_id = %ids.user_pool_id,
        job_id = %ids.job_id,
        part = number,
        parts = plan.count(),
        bytes = length,
        object = %object,
        "part uploaded"
    );
    Ok(())
}

/// Bytes `first..end` of the pinned object. A 404 or 412 means the key holds
/// another object now.
async fn read_range(
    drop: &Drop<'_>,
    first: u64,
    end: u64,
) -> Result<aws_sdk_s3::primitives::ByteStream, ImportError> {
    let object = &drop.head.object;
    match resolve::get_range(drop.app, object, first, end).await {
        Ok(output) => Ok(output.body),
        Err(error) => Err(changed_on_read(drop, read_error(object, &error))),
    }
}

fn read_error(object: &ObjectRef, error: &SdkError<GetObjectError, HttpResponse>) -> ImportError {
    match error.raw_response().map(|r| r.status().as_u16()) {
        Some(404) => ImportError::new(
            ErrorKind::ObjectNotFound,
            format!("{object} no longer exists"),
        ),
        Some(412) => ImportError::new(
            ErrorKind::ObjectNotFound,
            format!("{object} was replaced (its ETag no longer matches)"),
        ),
        _ => classify_sdk_error(Service::S3, &format!("GetObject {object}"), error),
    }
}

/// A pinned read that found the object gone or replaced: `ObjectChanged`
/// once parts have started, else retried (the next receive reads what is at
/// the key now).
fn changed_on_read(drop: &Drop<'_>, error: ImportError) -> ImportError {
    if error.kind != ErrorKind::ObjectNotFound {
        return error;
    }
    let started = started_parts(&drop.pool_jobs, &drop.hash);
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

/// The header line, read whole (it is at most a row's length).
async fn collect(
    drop: &Drop<'_>,
    mut body: aws_sdk_s3::primitives::ByteStream,
    expected: u64,
) -> Result<bytes::Bytes, ImportError> {
    let mut header = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| {
            ImportError::new(
                ErrorKind::ServiceUnavailable,
                format!(
                    "GetObject {}: the header's stream broke off; it will be retried",
                    drop.head.object
                ),
            )
        })?;
        header.extend_from_slice(&chunk);
    }
    Ok(bytes::Bytes::from(header))
}
