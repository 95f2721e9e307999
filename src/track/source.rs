//! SPEC section 16: `Track` reads only the drop's own object. The `Object`
//! a caller passes is checked against the job before anything is read from
//! it: in create mode the job's name derives from the object (section 10's
//! hash, a part's name section 14's); on section 4's path the object's
//! metadata names the job. A part is known from the invocation's `Part` or
//! from the job's name when the object derives exactly that name, never from
//! the name alone.

use crate::app::App;
use crate::aws::s3::ObjectHead;
use crate::drops::names;
use crate::error::{ErrorKind, ImportError};
use crate::model::{metadata_value, ImportJob, JobRef, ObjectRef, PartRef};

/// The object given to `Track`, checked.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// The job's own object, pinned to a version or ETag; the part (number,
    /// count) when the job imported a part of it.
    Own {
        object: ObjectRef,
        part: Option<(u64, u64)>,
    },
    /// Not the job's (`ObjectMismatch`), or gone (`ObjectNotFound`): no
    /// file is written and `Results` says why.
    Refused(ImportError),
}

/// Checks `given` against the job. Transient S3 errors are the caller's to
/// retry; a head that finds no object refuses it.
pub async fn check(
    app: &App,
    job: &ImportJob,
    ids: &JobRef,
    given: &ObjectRef,
    part: Option<&PartRef>,
) -> Result<Source, ImportError> {
    let name = job.job_name.as_deref().unwrap_or_default();
    let pinned = given.version_id.is_some() || given.etag.is_some();
    if pinned {
        if let Some(part) = derived(given, name, part) {
            return Ok(own(given.clone(), part));
        }
    }
    let head = match head_of_pinned(app, given).await? {
        Ok(head) => head,
        Err(refused) => return Ok(Source::Refused(refused)),
    };
    if let Some(part) = derived(&head.object, name, part) {
        return Ok(own(head.object, part));
    }
    if names_the_job(app, &head, ids) {
        return Ok(own(head.object, None));
    }
    Ok(Source::Refused(mismatch(given, ids, name)))
}

fn own(object: ObjectRef, part: Option<(u64, u64)>) -> Source {
    Source::Own { object, part }
}

/// `Some(None)`: the job's name is the object's one-part name; `Some(Some(k,
/// n))`: part k of n's name, k and n from the given `Part` or read from the
/// name and derived again from the object; `None`: neither.
fn derived(object: &ObjectRef, name: &str, given: Option<&PartRef>) -> Option<Option<(u64, u64)>> {
    if name == names::job_name(object) {
        return Some(None);
    }
    let given = given
        .map(|p| (p.number, p.count))
        .filter(|&(number, count)| name == names::part_job_name(object, number, count));
    given
        .or_else(|| names::part_in(object, name).map(|p| (p.number, p.count)))
        .map(Some)
}

/// `HeadObject` of the object as given: pinned to its version, or checked
/// against its ETag (a head cannot carry `If-Match` through
/// [`S3::head_object`](crate::aws::s3::S3::head_object), so the ETags are compared). A missing or
/// replaced object is refused as `ObjectNotFound`.
async fn head_of_pinned(
    app: &App,
    given: &ObjectRef,
) -> Result<Result<ObjectHead, ImportError>, ImportError> {
    let head = match app.s3().head_object(given).await {
        Ok(head) => head,
        Err(error) if error.kind == ErrorKind::ObjectNotFound => {
            return Ok(Err(files_not_written(error.message)))
        }
        Err(error) => return Err(error),
    };
    let replaced = given.version_id.is_none()
        && given.etag.is_some()
        && given.etag.as_deref().map(|e| e.trim_matches('"')) != head.object.etag.as_deref();
    if replaced {
        return Ok(Err(files_not_written(format!(
            "{given} was replaced since the import started (its ETag no longer matches)"
        ))));
    }
    Ok(Ok(head))
}

fn files_not_written(why: String) -> ImportError {
    ImportError::new(
        ErrorKind::ObjectNotFound,
        format!("{why}: failed.csv and report.csv were not written"),
    )
}

/// Section 4's path: the object's metadata names this pool (when it names
/// one) and this job.
fn names_the_job(app: &App, head: &ObjectHead, ids: &JobRef) -> bool {
    let value = |key: &str| metadata_value(&head.metadata, key).map(str::trim);
    let job = value(&app.config.job_id_metadata_key);
    let pool = value(&app.config.pool_id_metadata_key);
    job == Some(ids.job_id.as_str()) && pool.is_none_or(|p| p == ids.user_pool_id)
}

fn mismatch(given: &ObjectRef, ids: &JobRef, name: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ObjectMismatch,
        format!(
            "{given} is not the object of job {} of pool {} (named {name:?}): its name does not \
             derive from the object and the object's metadata does not name the job; \
             failed.csv and report.csv were not written",
            ids.job_id, ids.user_pool_id
        ),
    )
}
