//! SPEC section 14 for `Track`: a part's job, known by its name
//! (`s3-<16 hex>-p<k>of<n>-...`). Its plan (read, or made again from the
//! source) says which source rows the part holds, so that Cognito's line
//! numbers map back to the source's; the last part's Completed event sums up
//! the whole drop once every part's job is terminal.

use serde_json::{json, Value};

use crate::app::App;
use crate::aws::s3::ReadFailure;
use crate::csv_check::groups::GroupCounts;
use crate::drops::cut;
use crate::drops::jobs::{self, Pages};
use crate::drops::names::{self, NamedPart};
use crate::drops::plan::{self, PartPlan};
use crate::error::ImportError;
use crate::model::{ImportJob, ObjectRef, PartRef, PasswordCounts};
use crate::track::results::{PartView, Slice};
use crate::track::source::Source;

/// A tracked part: what its events say of it, and where its rows are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackedPart {
    pub named: NamedPart,
    pub part: PartRef,
    pub view: PartView,
    /// SPEC section 15: the whole drop's `Passwords`, summed over its parts
    /// from the plan, for `Drop`.
    pub passwords: Option<PasswordCounts>,
    /// SPEC section 17: the drop's `Groups`, its parts' counts summed, for
    /// `Drop`.
    pub groups: Option<GroupCounts>,
}

/// The part the job imported, if it is one. `source`: the Started event's
/// `Object`, checked (SPEC section 16); `given`: its `Part`, if the caller
/// passed it. Names do not decide: the part comes from the checked object
/// (whose derived part name is the job's), else from the given `Part`,
/// never from the job's name alone.
pub async fn of_job(
    app: &App,
    job: &ImportJob,
    pool: &str,
    source: Option<&Source>,
    given: Option<PartRef>,
) -> Result<Option<TrackedPart>, ImportError> {
    let name = job.job_name.as_deref().unwrap_or_default();
    let (named, object) = match source {
        Some(Source::Own {
            object,
            part: Some((number, count)),
        }) => {
            let hash = names::drop_hash(object);
            (
                NamedPart {
                    hash,
                    number: *number,
                    count: *count,
                },
                Some(object),
            )
        }
        // The object's own one-part name, or section 4's path: not a part.
        Some(Source::Own { part: None, .. }) => return Ok(None),
        // No object to derive the name from: the given `Part`, when the
        // job's name is that part's.
        Some(Source::Refused(_)) | None => match (&given, names::hash_of(name)) {
            (Some(given), Some(hash))
                if name.starts_with(&names::part_prefix(hash, given.number, given.count)) =>
            {
                (
                    NamedPart {
                        hash: hash.to_string(),
                        number: given.number,
                        count: given.count,
                    },
                    None,
                )
            }
            _ => return Ok(None),
        },
    };
    let plan = match object {
        Some(object) => plan_of(app, object, pool, &named).await?,
        None => None,
    };
    let range = plan.as_ref().and_then(|p| p.part(named.number));
    let given = given.filter(|g| g.number == named.number && g.count == named.count);
    let first_line = range
        .map(|r| r.range.first_row)
        .or(given.and_then(|g| g.first_line));
    let last_line = range
        .map(|r| r.range.last_row)
        .or(given.and_then(|g| g.last_line));
    let view = PartView {
        is_part: true,
        offset: first_line.map_or(0, |first| first.saturating_sub(1)),
        slice: plan.as_ref().zip(range).map(|(plan, part)| Slice {
            header_bytes: plan.header_bytes,
            header: plan.header.clone(),
            first_byte: part.range.first_byte,
            end_byte: part.range.end_byte,
        }),
    };
    let passwords = plan.as_ref().and_then(drop_passwords);
    let groups = plan.as_ref().and_then(drop_groups);
    Ok(Some(TrackedPart {
        passwords,
        groups,
        part: PartRef {
            number: named.number,
            count: named.count,
            first_line,
            last_line,
        },
        named,
        view,
    }))
}

/// The drop's plan: the one written, or made again from the source (cut,
/// not checked). `None` when no plan can be had (no `RESULTS_PREFIX`, or
/// the source gone or changed: `Results` then says so).
async fn plan_of(
    app: &App,
    source: &ObjectRef,
    pool: &str,
    named: &NamedPart,
) -> Result<Option<PartPlan>, ImportError> {
    if app.config.results_prefix.is_empty() {
        return Ok(None);
    }
    let fits = |plan: &PartPlan| plan.is_of(source) && plan.count() == named.count;
    if let Some(plan) = plan::read(app, &source.bucket, &named.hash).await? {
        if fits(&plan) {
            return Ok(Some(plan));
        }
    }
    let body = match app.s3().read_pinned(source, None).await {
        Ok(body) => body,
        Err(ReadFailure::Gone | ReadFailure::Replaced) => return Ok(None),
        Err(ReadFailure::Failed(error)) => return Err(error),
    };
    let (cut, groups) = cut::cut_only(app, &source.to_string(), body).await?;
    let plan =
        PartPlan::new(source, pool, &cut, app.config.part_max_rows).with_groups(groups.as_ref());
    if !fits(&plan) {
        return Ok(None);
    }
    plan::write(app, &named.hash, &plan).await?;
    Ok(Some(plan))
}

/// The plan's parts' `Groups` summed, field by field (a name in two parts
/// counts in each), when the file has the column and its rows name some.
fn drop_groups(plan: &PartPlan) -> Option<GroupCounts> {
    plan.groups_column?;
    let mut sum = GroupCounts::default();
    for counts in plan.parts.iter().filter_map(|p| p.groups).map(|g| g.counts) {
        sum.memberships += counts.memberships;
        sum.users += counts.users;
        sum.names += counts.names;
    }
    (sum.memberships > 0).then_some(sum)
}

/// The plan's `Passwords` summed over its parts, when it has the algorithm
/// and every part's counts.
fn drop_passwords(plan: &PartPlan) -> Option<PasswordCounts> {
    let mut sum = PasswordCounts {
        algorithm: plan.password_algorithm.clone()?,
        hashes: 0,
        empty: 0,
    };
    for part in &plan.parts {
        let counts = part.passwords?;
        sum.hashes += counts.hashes;
        sum.empty += counts.empty;
    }
    Some(sum)
}

/// `Drop` for the last part's Completed event: every part's job terminal,
/// their counts summed, their IDs in part order. `None` for another part,
/// or while a part's job is not terminal (or cannot be found).
pub async fn drop_summary(
    app: &App,
    pool: &str,
    tracked: &TrackedPart,
    job: &ImportJob,
    terminal: fn(&ImportJob) -> bool,
) -> Result<Option<Value>, ImportError> {
    let NamedPart {
        hash,
        number,
        count,
    } = &tracked.named;
    if number != count {
        return Ok(None);
    }
    let pool_jobs = jobs::list(app, pool, Pages::All).await?;
    let mut parts: Vec<ImportJob> = Vec::new();
    for k in 1..=*count {
        let prefix = names::part_prefix(hash, k, *count);
        let named = pool_jobs.iter().filter(|j| {
            j.job_name
                .as_deref()
                .is_some_and(|n| n.starts_with(&prefix))
        });
        // The job that imported the part: not an expired one it replaced.
        let usable = jobs::oldest(
            named
                .clone()
                .filter(|j| j.status.as_deref() != Some("Expired")),
        )
        .or_else(|| jobs::oldest(named));
        let found = match usable {
            Some(found) if found.job_id == job.job_id => job.clone(),
            Some(found) => found.clone(),
            None => return Ok(None),
        };
        if !terminal(&found) {
            return Ok(None);
        }
        parts.push(found);
    }
    let sum = |count: fn(&ImportJob) -> i64| parts.iter().map(count).map(|n| n.max(0)).sum::<i64>();
    let mut summary = json!({
        "Parts": count,
        "ImportedUsers": sum(|j| j.imported_users),
        "SkippedUsers": sum(|j| j.skipped_users),
        "FailedUsers": sum(|j| j.failed_users),
        "Jobs": parts.iter().map(|j| j.job_id.clone().unwrap_or_default()).collect::<Vec<_>>(),
    });
    if let Some(passwords) = &tracked.passwords {
        summary["Passwords"] = passwords.to_json();
    }
    if let Some(groups) = tracked.groups {
        summary["Groups"] = json!(groups);
    }
    Ok(Some(summary))
}
