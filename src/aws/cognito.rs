//! The Cognito adapter: the import-job calls (`ListUserImportJobs`,
//! `CreateUserImportJob`, `StartUserImportJob`, `DescribeUserImportJob`),
//! `GetCSVHeader`, `DescribeUserPool`, and the groups of SPEC section 17
//! (`ListGroups`, `CreateGroup`, `AdminAddUserToGroup`), and the
//! classification of their errors. A call that succeeds for a pool tells the metrics writer that
//! the pool exists (it may then be named as a dimension).

use std::collections::HashSet;

use aws_sdk_cognitoidentityprovider::operation::admin_add_user_to_group::AdminAddUserToGroupError;
use aws_sdk_cognitoidentityprovider::operation::create_group::CreateGroupError;
use aws_sdk_cognitoidentityprovider::operation::start_user_import_job::StartUserImportJobError;
use aws_sdk_cognitoidentityprovider::types::PasswordHashingAlgorithmType;

use crate::aws::metrics::Metrics;
use crate::error::{classify_sdk_error, ErrorKind, ImportError, Service};
use crate::model::{ImportJob, JobRef};

/// `ListUserImportJobs` pages hold at most 60 jobs.
const LIST_PAGE: i32 = 60;
/// `ListGroups` answers at most 60 groups a page; a pool has at most 10,000
/// groups, so more pages than this is a listing that does not end.
const MAX_GROUP_PAGES: usize = 1_000;
const GROUPS_PER_PAGE: i32 = 60;

/// The Cognito client and the metrics writer that learns of known pools.
#[derive(Clone, Copy, Debug)]
pub struct Cognito<'a> {
    pub client: &'a aws_sdk_cognitoidentityprovider::Client,
    pub metrics: Option<&'a Metrics>,
}

/// One page of a pool's jobs: those with an ID, and the next page's token.
#[derive(Clone, Debug, PartialEq)]
pub struct JobsPage {
    pub jobs: Vec<ImportJob>,
    pub next: Option<String>,
}

/// What became of one membership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Membership {
    /// Added (or there already: Cognito answers the same).
    Added,
    /// Cannot be added, and trying again will not help (the user or the
    /// group does not exist): recorded, with why.
    Refused(String),
    /// Throttled, a 5xx or no answer in time, after the SDK's own retries:
    /// the caller stops here and carries on later from this membership.
    Later(ImportError),
}

/// What `StartUserImportJob` answered.
#[derive(Clone, Debug, PartialEq)]
pub enum StartReply {
    /// Started now: the job as Cognito returned it (boxed: the other
    /// variant is empty).
    Started(Box<ImportJob>),
    /// `PreconditionNotMetException`: the job is not `Created`, or has no
    /// CSV yet, or the import slot is taken; its status tells which.
    PreconditionNotMet,
}

impl Cognito<'_> {
    fn pool_known(&self, pool: &str) {
        if let Some(metrics) = self.metrics {
            metrics.pool_known(pool);
        }
    }

    /// The columns Cognito expects in this pool's CSV files.
    pub async fn csv_header(&self, pool: &str) -> Result<Vec<String>, ImportError> {
        let output = self
            .client
            .get_csv_header()
            .user_pool_id(pool)
            .send()
            .await
            .map_err(|e| {
                classify_sdk_error(Service::Cognito, &format!("GetCSVHeader {pool}"), &e)
            })?;
        self.pool_known(pool);
        Ok(output.csv_header().to_vec())
    }

    /// One page of the pool's jobs, newest first; `what` names the listing
    /// in the error.
    pub async fn list_jobs(
        &self,
        pool: &str,
        token: Option<String>,
        what: &str,
    ) -> Result<JobsPage, ImportError> {
        let page = self
            .client
            .list_user_import_jobs()
            .user_pool_id(pool)
            .max_results(LIST_PAGE)
            .set_pagination_token(token)
            .send()
            .await
            .map_err(|e| classify_sdk_error(Service::Cognito, what, &e))?;
        self.pool_known(pool);
        Ok(JobsPage {
            jobs: page
                .user_import_jobs()
                .iter()
                .filter(|job| job.job_id().is_some())
                .map(ImportJob::from)
                .collect(),
            next: page.pagination_token().map(str::to_string),
        })
    }

    /// Creates the job `name`; `None` when Cognito answered without a job
    /// record that has an ID.
    pub async fn create_job(
        &self,
        pool: &str,
        name: &str,
        role: &str,
        password_algorithm: Option<&str>,
    ) -> Result<Option<ImportJob>, ImportError> {
        let what = format!("CreateUserImportJob {name} in {pool}");
        let output = self
            .client
            .create_user_import_job()
            .user_pool_id(pool)
            .job_name(name)
            .cloud_watch_logs_role_arn(role)
            .set_password_hashing_algorithm(
                password_algorithm.map(PasswordHashingAlgorithmType::from),
            )
            .send()
            .await
            .map_err(|e| classify_sdk_error(Service::Cognito, &what, &e))?;
        Ok(output
            .user_import_job()
            .map(ImportJob::from)
            .filter(|job| job.job_id.is_some()))
    }

    /// `StartUserImportJob`; a refusal because of the job's state is an
    /// answer, not an error.
    pub async fn start_job(&self, ids: &JobRef) -> Result<StartReply, ImportError> {
        let what = format!("StartUserImportJob {} in {}", ids.job_id, ids.user_pool_id);
        let result = self
            .client
            .start_user_import_job()
            .user_pool_id(&ids.user_pool_id)
            .job_id(&ids.job_id)
            .send()
            .await;
        match result {
            Ok(output) => Ok(StartReply::Started(Box::new(
                output
                    .user_import_job()
                    .map(ImportJob::from)
                    .unwrap_or_else(|| fallback(ids)),
            ))),
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(StartUserImportJobError::PreconditionNotMetException(_))
                ) =>
            {
                Ok(StartReply::PreconditionNotMet)
            }
            Err(error) => Err(classify_sdk_error(Service::Cognito, &what, &error)),
        }
    }

    /// The job's record as Cognito holds it now.
    pub async fn describe_job(&self, ids: &JobRef) -> Result<ImportJob, ImportError> {
        let what = format!(
            "DescribeUserImportJob {} in {}",
            ids.job_id, ids.user_pool_id
        );
        let output = self
            .client
            .describe_user_import_job()
            .user_pool_id(&ids.user_pool_id)
            .job_id(&ids.job_id)
            .send()
            .await
            .map_err(|e| classify_sdk_error(Service::Cognito, &what, &e))?;
        self.pool_known(&ids.user_pool_id);
        Ok(output
            .user_import_job()
            .map(ImportJob::from)
            .unwrap_or_else(|| fallback(ids)))
    }

    /// The pool's name (empty when Cognito gives none).
    pub async fn pool_name(&self, pool_id: &str) -> Result<String, ImportError> {
        let output = self
            .client
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

    /// The names of every group of the pool, in the order Cognito lists them.
    pub async fn list_groups(&self, pool: &str) -> Result<Vec<String>, ImportError> {
        let what = format!("ListGroups {pool}");
        let mut names = Vec::new();
        let mut seen_tokens = HashSet::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_GROUP_PAGES {
            let page = self
                .client
                .list_groups()
                .user_pool_id(pool)
                .limit(GROUPS_PER_PAGE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify_sdk_error(Service::Cognito, &what, &e))?;
            names.extend(
                page.groups()
                    .iter()
                    .filter_map(|g| g.group_name().map(str::to_string)),
            );
            match page.next_token() {
                None => return Ok(names),
                Some(next) if !seen_tokens.insert(next.to_string()) => {
                    return Err(endless(&what, "repeated a page token"))
                }
                Some(next) => token = Some(next.to_string()),
            }
        }
        Err(endless(
            &what,
            &format!("gave more than {MAX_GROUP_PAGES} pages"),
        ))
    }

    /// Creates the group (no description, role or precedence). A group that
    /// exists already, made by a racing delivery, is success.
    pub async fn create_group(&self, pool: &str, group: &str) -> Result<(), ImportError> {
        let created = self
            .client
            .create_group()
            .user_pool_id(pool)
            .group_name(group)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(CreateGroupError::GroupExistsException(_))
                ) =>
            {
                Ok(())
            }
            Err(error) => Err(classify_sdk_error(
                Service::Cognito,
                &format!("CreateGroup {pool} {group:?}"),
                &error,
            )),
        }
    }

    /// `AdminAddUserToGroup`, classified. Any other error (e.g.
    /// `NotAuthorizedException`) fails the call with its type.
    pub async fn add_user_to_group(
        &self,
        pool: &str,
        username: &str,
        group: &str,
    ) -> Result<Membership, ImportError> {
        let sent = self
            .client
            .admin_add_user_to_group()
            .user_pool_id(pool)
            .username(username)
            .group_name(group)
            .send()
            .await;
        let error = match sent {
            Ok(_) => return Ok(Membership::Added),
            Err(error) => error,
        };
        let refused = match error.as_service_error() {
            Some(AdminAddUserToGroupError::UserNotFoundException(e)) => {
                Some(("UserNotFoundException", e.message()))
            }
            Some(AdminAddUserToGroupError::ResourceNotFoundException(e)) => {
                Some(("ResourceNotFoundException", e.message()))
            }
            _ => None,
        };
        if let Some((code, message)) = refused {
            return Ok(Membership::Refused(refusal(
                code,
                message.unwrap_or_default(),
            )));
        }
        // Another 4xx than throttling fails the call with its type, even a
        // code no one knows (classified retryable): going on later from the
        // same membership would only meet it again, call after call.
        let status = error.raw_response().map(|r| r.status().as_u16());
        // The username is not in the message: only the pool and the group.
        let what = format!("AdminAddUserToGroup {pool} {group:?}");
        let error = classify_sdk_error(Service::Cognito, &what, &error);
        let refused_request = matches!(status, Some(400..=499))
            && !matches!(
                error.kind,
                ErrorKind::TooManyRequests | ErrorKind::InternalError
            );
        if error.is_retryable() && !refused_request {
            Ok(Membership::Later(error))
        } else {
            Err(error)
        }
    }
}

/// Cognito always returns the record; should it not, the IDs still name it.
fn fallback(ids: &JobRef) -> ImportJob {
    ImportJob {
        job_id: Some(ids.job_id.clone()),
        user_pool_id: Some(ids.user_pool_id.clone()),
        ..ImportJob::default()
    }
}

fn endless(what: &str, why: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ServiceUnavailable,
        format!("{what}: Cognito {why}; it will be retried"),
    )
}

/// The reason recorded for a refused membership: Cognito's code and message.
fn refusal(code: &str, message: &str) -> String {
    if message.is_empty() {
        code.to_string()
    } else {
        format!("{code}: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::App;
    use aws_sdk_cognitoidentityprovider::error::ErrorMetadata;
    use aws_sdk_cognitoidentityprovider::operation::admin_add_user_to_group::AdminAddUserToGroupOutput;
    use aws_sdk_cognitoidentityprovider::operation::create_group::CreateGroupOutput;
    use aws_sdk_cognitoidentityprovider::operation::list_groups::ListGroupsOutput;
    use aws_sdk_cognitoidentityprovider::types::error::{
        GroupExistsException, InternalErrorException, NotAuthorizedException,
        ResourceNotFoundException, TooManyRequestsException, UserNotFoundException,
    };
    use aws_sdk_cognitoidentityprovider::types::GroupType;
    use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

    const POOL: &str = "us-east-1_P1";

    /// The code and message as Cognito's answers carry them.
    fn meta(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    /// An `App` whose Cognito answers from the rules.
    fn mocked_app(rules: &[&Rule]) -> App {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        let mut app = App::new(crate::Config::default(), &sdk);
        app.clients.cognito = mock_client!(
            aws_sdk_cognitoidentityprovider,
            RuleMode::Sequential,
            rules,
            |conf| conf.retry_config(aws_config::retry::RetryConfig::disabled())
        );
        app
    }

    fn mocked_app_any(rules: &[&Rule]) -> App {
        let mut app = mocked_app(&[]);
        app.clients.cognito =
            mock_client!(aws_sdk_cognitoidentityprovider, RuleMode::MatchAny, rules);
        app
    }

    fn cognito(app: &App) -> Cognito<'_> {
        Cognito {
            client: &app.clients.cognito,
            metrics: None,
        }
    }

    fn page(names: &[&str], next: Option<&str>) -> ListGroupsOutput {
        ListGroupsOutput::builder()
            .set_groups(Some(
                names
                    .iter()
                    .map(|n| GroupType::builder().group_name(*n).build())
                    .collect(),
            ))
            .set_next_token(next.map(str::to_string))
            .build()
    }

    #[tokio::test]
    async fn every_page_of_groups_is_listed() {
        let first = mock!(aws_sdk_cognitoidentityprovider::Client::list_groups)
            .match_requests(|r| r.next_token().is_none() && r.limit() == Some(60))
            .then_output(|| page(&["admins", "editors"], Some("t1")));
        let second = mock!(aws_sdk_cognitoidentityprovider::Client::list_groups)
            .match_requests(|r| r.next_token() == Some("t1"))
            .then_output(|| page(&["support"], None));
        let app = mocked_app(&[&first, &second]);
        assert_eq!(
            cognito(&app).list_groups(POOL).await.unwrap(),
            ["admins", "editors", "support"]
        );
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn a_group_listing_that_repeats_its_token_is_retried_not_looped_on() {
        let same = mock!(aws_sdk_cognitoidentityprovider::Client::list_groups)
            .then_output(|| page(&["admins"], Some("same")));
        let app = mocked_app_any(&[&same]);
        let error = cognito(&app).list_groups(POOL).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::ServiceUnavailable);
        assert!(error.message.contains("repeated a page token"), "{error}");
        assert_eq!(same.num_calls(), 2);
    }

    #[tokio::test]
    async fn a_group_that_exists_already_is_created() {
        let exists = mock!(aws_sdk_cognitoidentityprovider::Client::create_group)
            .match_requests(|r| r.group_name() == Some("admins") && r.description().is_none())
            .then_error(|| {
                CreateGroupError::GroupExistsException(
                    GroupExistsException::builder()
                        .message("exists")
                        .meta(meta("GroupExistsException", "exists"))
                        .build(),
                )
            });
        let created = mock!(aws_sdk_cognitoidentityprovider::Client::create_group)
            .then_output(|| CreateGroupOutput::builder().build());
        let denied =
            mock!(aws_sdk_cognitoidentityprovider::Client::create_group).then_error(|| {
                CreateGroupError::NotAuthorizedException(
                    NotAuthorizedException::builder()
                        .message("no")
                        .meta(meta("NotAuthorizedException", "no"))
                        .build(),
                )
            });
        let app = mocked_app(&[&exists, &created, &denied]);
        assert_eq!(cognito(&app).create_group(POOL, "admins").await, Ok(()));
        assert_eq!(cognito(&app).create_group(POOL, "editors").await, Ok(()));
        let error = cognito(&app)
            .create_group(POOL, "support")
            .await
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::NotAuthorized);
    }

    fn add_rule(error: fn() -> AdminAddUserToGroupError) -> Rule {
        mock!(aws_sdk_cognitoidentityprovider::Client::admin_add_user_to_group).then_error(error)
    }

    #[tokio::test]
    async fn each_class_of_membership_error() {
        let added = mock!(aws_sdk_cognitoidentityprovider::Client::admin_add_user_to_group)
            .match_requests(|r| {
                r.user_pool_id() == Some(POOL)
                    && r.username() == Some("ana")
                    && r.group_name() == Some("admins")
            })
            .then_output(|| AdminAddUserToGroupOutput::builder().build());
        let no_user = add_rule(|| {
            AdminAddUserToGroupError::UserNotFoundException(
                UserNotFoundException::builder()
                    .message("User does not exist.")
                    .meta(meta("UserNotFoundException", "User does not exist."))
                    .build(),
            )
        });
        let no_group = add_rule(|| {
            AdminAddUserToGroupError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("Group not found.")
                    .meta(meta("ResourceNotFoundException", "Group not found."))
                    .build(),
            )
        });
        let throttled = add_rule(|| {
            AdminAddUserToGroupError::TooManyRequestsException(
                TooManyRequestsException::builder()
                    .message("slow")
                    .meta(meta("TooManyRequestsException", "slow"))
                    .build(),
            )
        });
        let internal = add_rule(|| {
            AdminAddUserToGroupError::InternalErrorException(
                InternalErrorException::builder()
                    .message("oops")
                    .meta(meta("InternalErrorException", "oops"))
                    .build(),
            )
        });
        let unavailable = mock!(aws_sdk_cognitoidentityprovider::Client::admin_add_user_to_group)
            .then_http_response(|| {
                aws_smithy_runtime_api::http::Response::new(
                    aws_smithy_runtime_api::http::StatusCode::try_from(503).unwrap(),
                    aws_smithy_types::body::SdkBody::from("{}"),
                )
            });
        let denied = add_rule(|| {
            AdminAddUserToGroupError::NotAuthorizedException(
                NotAuthorizedException::builder()
                    .message("no")
                    .meta(meta("NotAuthorizedException", "no"))
                    .build(),
            )
        });
        let unknown = mock!(aws_sdk_cognitoidentityprovider::Client::admin_add_user_to_group)
            .then_http_response(|| {
                aws_smithy_runtime_api::http::Response::new(
                    aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
                    aws_smithy_types::body::SdkBody::from(
                        r#"{"__type":"SomethingNewException","message":"new"}"#,
                    ),
                )
            });
        let app = mocked_app(&[
            &added,
            &no_user,
            &no_group,
            &throttled,
            &internal,
            &unavailable,
            &denied,
            &unknown,
        ]);
        let cognito = cognito(&app);
        let add = || cognito.add_user_to_group(POOL, "ana", "admins");
        assert_eq!(add().await, Ok(Membership::Added));
        assert_eq!(
            add().await,
            Ok(Membership::Refused(
                "UserNotFoundException: User does not exist.".into()
            ))
        );
        assert_eq!(
            add().await,
            Ok(Membership::Refused(
                "ResourceNotFoundException: Group not found.".into()
            ))
        );
        let later = |result: Result<Membership, ImportError>| match result {
            Ok(Membership::Later(error)) => Some(error.kind),
            _ => None,
        };
        assert_eq!(later(add().await), Some(ErrorKind::TooManyRequests));
        assert_eq!(later(add().await), Some(ErrorKind::InternalError));
        assert_eq!(later(add().await), Some(ErrorKind::ServiceUnavailable));
        let error = add().await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::NotAuthorized);
        assert!(!error.message.contains("ana"), "{error}");
        // A 4xx no one names fails the call too, with the type it maps to.
        let error = add().await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::ServiceUnavailable);
        assert!(error.message.contains("SomethingNewException"), "{error}");
    }
}
