//! SPEC section 10 step 1: the file is checked before Cognito sees it, read
//! from S3 as a stream and fed chunk by chunk to the checker, so that a file
//! never sits in memory whole. In create mode the same pass cuts the file
//! into parts (section 14).

use crate::app::App;
use crate::aws::s3::ObjectHead;
use crate::csv_check::parts::MAX_PARTS;
use crate::csv_check::password::{PasswordMode, Passwords};
use crate::csv_check::{self, CsvChecker, Report, TooLarge};
use crate::drops::cut::{limits, stream, too_large};
use crate::error::{ErrorKind, ImportError};

/// Checks the object against Cognito's CSV rules for `pool` as one file
/// (`VALIDATE_CSV` before a plain start): `CsvTooLarge` (from `HeadObject`
/// alone when the size says so), `InvalidCsv` with its problems, or `Ok` for
/// a file Cognito can import in one job, with what its `password_hash`
/// column held under `passwords` (SPEC section 15).
pub async fn check(
    app: &App,
    head: &ObjectHead,
    pool: &str,
    passwords: PasswordMode,
) -> Result<Option<Passwords>, ImportError> {
    let what = head.object.to_string();
    let size = head.size.and_then(|size| u64::try_from(size).ok());
    if let Some(size) = size.filter(|&size| size > csv_check::MAX_BYTES) {
        return Err(too_large(&what, TooLarge::Bytes(size)));
    }
    let columns = app.cognito().csv_header(pool).await?;
    let checker = CsvChecker::new(&columns).with_passwords(passwords);
    run(app, head, checker).await.map(|report| report.passwords)
}

/// Create mode (SPEC sections 10 and 14): the whole file checked once and
/// cut into parts of at most `PART_MAX_ROWS` rows and 104,857,600 bytes,
/// usernames unique within each part; the parts, or `CsvTooLarge` past 100
/// of them, or `InvalidCsv` naming source lines. The report holds the cut
/// and the `password_hash` column's algorithm and counts (SPEC section 15).
pub async fn check_parted(
    app: &App,
    head: &ObjectHead,
    pool: &str,
    passwords: PasswordMode,
) -> Result<Report, ImportError> {
    refuse_by_size(app, head)?;
    let columns = app.cognito().csv_header(pool).await?;
    let checker =
        CsvChecker::parted(&columns, limits(app.config.part_max_rows)).with_passwords(passwords);
    run(app, head, checker).await
}

async fn run(app: &App, head: &ObjectHead, mut checker: CsvChecker) -> Result<Report, ImportError> {
    let what = head.object.to_string();
    let (body, _) = app.s3().get_object(&head.object).await?;
    stream(app, body, &what, |chunk| checker.feed(chunk)).await?;
    let report = checker.finish().map_err(|too| too_large(&what, too))?;
    if !report.is_valid() {
        return Err(ImportError::invalid_csv(
            &what,
            report.problems,
            report.problem_count,
        ));
    }
    tracing::debug!(
        rows = report.rows,
        bytes = report.bytes,
        parts = report.cut.parts.len(),
        "CSV preflight passed"
    );
    Ok(report)
}

/// `CsvTooLarge` from `HeadObject` alone, before any Cognito call, when the
/// size says so: more than 100 parts' worth of bytes, or more than one job's
/// when no plan can be kept (`RESULTS_PREFIX` empty).
pub fn refuse_by_size(app: &App, head: &ObjectHead) -> Result<(), ImportError> {
    let what = head.object.to_string();
    let Some(size) = head.size.and_then(|size| u64::try_from(size).ok()) else {
        return Ok(());
    };
    if size > MAX_PARTS * csv_check::MAX_BYTES {
        return Err(too_large(
            &what,
            TooLarge::Parts(limits(app.config.part_max_rows)),
        ));
    }
    if size > csv_check::MAX_BYTES && app.config.results_prefix.is_empty() {
        return Err(no_plan(
            &what,
            &format!(
                "is {size} bytes, over one import job's {}",
                csv_check::MAX_BYTES
            ),
        ));
    }
    Ok(())
}

/// A file that needs parts cannot be imported without a plan, which lives
/// under `RESULTS_PREFIX`.
pub fn no_plan(what: &str, why: &str) -> ImportError {
    ImportError::new(
        ErrorKind::CsvTooLarge,
        format!(
            "{what} {why}, so it must be imported in parts, and RESULTS_PREFIX is empty: the \
             parts' plan is kept under RESULTS_PREFIX; set it, or split the file into files of \
             at most {} rows and {} bytes",
            csv_check::MAX_ROWS,
            csv_check::MAX_BYTES
        ),
    )
}
