//! `ListUserImportJobs`: the jobs of a pool, newest first. Create mode reads
//! every page to find the job (or the parts' jobs) of a drop by name; the
//! import slot is looked for on the first page (SPEC sections 10, 13, 14).

use std::collections::HashSet;

use crate::app::App;
use crate::error::{ErrorKind, ImportError};
use crate::model::ImportJob;

/// A pool holds at most 1,000 import jobs, 17 pages; more pages than this
/// mean a listing that does not end.
pub const MAX_LIST_PAGES: usize = 25;

/// How much of a pool's listing to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pages {
    /// The newest 60 jobs: where an active job is, since jobs run one at a
    /// time and the newest started last.
    First,
    All,
}

/// The pool's jobs that have an ID, newest first.
pub async fn list(app: &App, pool: &str, pages: Pages) -> Result<Vec<ImportJob>, ImportError> {
    let what = format!("ListUserImportJobs {pool}");
    let mut jobs = Vec::new();
    let mut token: Option<String> = None;
    let mut seen = HashSet::new();
    for _ in 0..MAX_LIST_PAGES {
        let page = app.cognito().list_jobs(pool, token.take(), &what).await?;
        jobs.extend(page.jobs);
        match page.next {
            _ if pages == Pages::First => return Ok(jobs),
            Some(next) if !seen.insert(next.clone()) => {
                return Err(endless(&what, "repeated a pagination token"))
            }
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(jobs),
        }
    }
    Err(endless(
        &what,
        &format!("gave more than {MAX_LIST_PAGES} pages"),
    ))
}

/// A listing that would never end: retried, not looped on.
fn endless(what: &str, why: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ServiceUnavailable,
        format!("{what}: Cognito {why}; the delivery will be retried"),
    )
}

/// The first created (then the smallest job ID): the same pick for every
/// delivery that sees the same jobs.
pub fn oldest<'a>(jobs: impl IntoIterator<Item = &'a ImportJob>) -> Option<&'a ImportJob> {
    jobs.into_iter().min_by_key(|job| {
        let created = job
            .creation_date
            .map(|date| (date.secs(), date.subsec_nanos()));
        (created.is_none(), created, job.job_id.clone())
    })
}

/// `Pending`, `InProgress` or `Stopping`: the job holds the account's one
/// import slot (SPEC section 13).
pub fn is_active(job: &ImportJob) -> bool {
    matches!(
        job.status.as_deref(),
        Some("Pending" | "InProgress" | "Stopping")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cognitoidentityprovider::operation::list_user_import_jobs::ListUserImportJobsOutput;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    /// An `App` whose Cognito answers from the mock; the other clients are
    /// never called.
    fn mocked_app(cognito: aws_sdk_cognitoidentityprovider::Client) -> App {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let mut app = App::new(crate::Config::default(), &sdk);
        app.clients.cognito = cognito;
        app
    }

    #[tokio::test]
    async fn a_listing_that_does_not_end_is_retried_not_looped_on() {
        // A token that comes back again: the second page is the last read.
        let repeated = mock!(aws_sdk_cognitoidentityprovider::Client::list_user_import_jobs)
            .then_output(|| {
                ListUserImportJobsOutput::builder()
                    .pagination_token("same")
                    .build()
            });
        let app = mocked_app(mock_client!(
            aws_sdk_cognitoidentityprovider,
            RuleMode::MatchAny,
            [&repeated]
        ));
        let error = list(&app, "us-east-1_P1", Pages::All).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::ServiceUnavailable);
        assert!(error.message.contains("repeated a pagination token"));
        assert_eq!(repeated.num_calls(), 2);

        // New tokens for ever: cut at the page cap; the first page alone
        // when only that is wanted.
        let counter = std::sync::atomic::AtomicUsize::new(0);
        let endless = mock!(aws_sdk_cognitoidentityprovider::Client::list_user_import_jobs)
            .then_output(move || {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                ListUserImportJobsOutput::builder()
                    .pagination_token(format!("t{n}"))
                    .build()
            });
        let app = mocked_app(mock_client!(
            aws_sdk_cognitoidentityprovider,
            RuleMode::MatchAny,
            [&endless]
        ));
        let error = list(&app, "us-east-1_P1", Pages::All).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::ServiceUnavailable);
        assert_eq!(endless.num_calls(), MAX_LIST_PAGES);
        let first = list(&app, "us-east-1_P1", Pages::First).await;
        assert!(matches!(first.as_deref(), Ok([])), "{first:?}");
        assert_eq!(endless.num_calls(), MAX_LIST_PAGES + 1);
    }
}
