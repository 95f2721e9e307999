//! SPEC section 10 step 1: the file is checked before Cognito sees it, read
//! from S3 as a stream and fed chunk by chunk to the checker, so that a
//! 100 MB file never sits in memory whole.

use aws_sdk_s3::primitives::ByteStream;

use crate::app::App;
use crate::csv_check::{self, CsvChecker, TooLarge};
use crate::error::{classify_sdk_error, ErrorKind, ImportError, Service};
use crate::resolve::{self, ObjectHead};

/// Checks the object against Cognito's CSV rules for `pool`: `CsvTooLarge`
/// (from `HeadObject` alone when the size says so), `InvalidCsv` with its
/// problems, or `Ok` for a file Cognito can import.
pub async fn check(app: &App, head: &ObjectHead, pool: &str) -> Result<(), ImportError> {
    let what = head.object.to_string();
    refuse_by_size(head)?;
    let columns = csv_header(app, pool).await?;
    let mut checker = CsvChecker::new(&columns);
    let body = resolve::get_object(app, &head.object).await?.body;
    feed(app, body, &mut checker, &what).await?;
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
        "CSV preflight passed"
    );
    Ok(())
}

/// `CsvTooLarge` from `HeadObject` alone, before any Cognito call, when the
/// size says so.
pub fn refuse_by_size(head: &ObjectHead) -> Result<(), ImportError> {
    let size = head.size.and_then(|size| u64::try_from(size).ok());
    match size.filter(|&size| size > csv_check::MAX_BYTES) {
        Some(size) => Err(too_large(&head.object.to_string(), TooLarge::Bytes(size))),
        None => Ok(()),
    }
}

/// The columns Cognito expects in this pool's CSV files.
async fn csv_header(app: &App, pool: &str) -> Result<Vec<String>, ImportError> {
    let output = app
        .clients
        .cognito
        .get_csv_header()
        .user_pool_id(pool)
        .send()
        .await
        .map_err(|e| classify_sdk_error(Service::Cognito, &format!("GetCSVHeader {pool}"), &e))?;
    Ok(output.csv_header().to_vec())
}

/// Streams the body into the checker. A body that stalls longer than one
/// attempt's timeout fails retryably rather than waiting for the deadline.
async fn feed(
    app: &App,
    mut body: ByteStream,
    checker: &mut CsvChecker,
    what: &str,
) -> Result<(), ImportError> {
    let stall = app.config.timeouts.attempt;
    loop {
        let next = tokio::time::timeout(stall, body.next())
            .await
            .map_err(|_| read_failed(what, "S3 stopped sending the object"))?;
        match next {
            None => return Ok(()),
            Some(Ok(chunk)) => checker.feed(&chunk).map_err(|too| too_large(what, too))?,
            Some(Err(_)) => return Err(read_failed(what, "the object's stream broke off")),
        }
    }
}

fn read_failed(what: &str, why: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ServiceUnavailable,
        format!("GetObject {what}: {why}; it will be retried"),
    )
}

fn too_large(what: &str, too: TooLarge) -> ImportError {
    ImportError::new(ErrorKind::CsvTooLarge, format!("{what}: {too}"))
}
