//! SPEC section 17's three Cognito calls: `ListGroups` (every page),
//! `CreateGroup` and `AdminAddUserToGroup`, each with its errors classified
//! here. (They join the other Cognito calls in one adapter file when the
//! source moves into its adapters.)

use std::collections::HashSet;

use aws_sdk_cognitoidentityprovider::operation::admin_add_user_to_group::AdminAddUserToGroupError;
use aws_sdk_cognitoidentityprovider::operation::create_group::CreateGroupError;

use crate::app::App;
use crate::error::{classify_sdk_error, ErrorKind, ImportError, Service};

/// `ListGroups` answers at most 60 groups a page; a pool has at most 10,000
/// groups, so more pages than this is a listing that does not end.
const MAX_GROUP_PAGES: usize = 1_000;
const GROUPS_PER_PAGE: i32 = 60;

/// The names of every group of the pool, in the order Cognito lists them.
pub async fn list_groups(app: &App, pool: &str) -> Result<Vec<String>, ImportError> {
    let what = format!("ListGroups {pool}");
    let mut names = Vec::new();
    let mut seen_tokens = HashSet::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_GROUP_PAGES {
        let page = app
            .clients
            .cognito
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

fn endless(what: &str, why: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ServiceUnavailable,
        format!("{what}: Cognito {why}; it will be retried"),
    )
}

/// Creates the group (no description, role or precedence). A group that
/// exists already, made by a racing delivery, is success.
pub async fn create_group(app: &App, pool: &str, group: &str) -> Result<(), ImportError> {
    let created = app
        .clients
        .cognito
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

/// `AdminAddUserToGroup`, classified. Any other error (e.g.
/// `NotAuthorizedException`) fails the call with its type.
pub async fn add_user_to_group(
    app: &App,
    pool: &str,
    username: &str,
    group: &str,
) -> Result<Membership, ImportError> {
    let sent = app
        .clients
        .cognito
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
    // The username is not in the message: only the pool and the group.
    let what = format!("AdminAddUserToGroup {pool} {group:?}");
    let error = classify_sdk_error(Service::Cognito, &what, &error);
    if error.is_retryable() {
        Ok(Membership::Later(error))
    } else {
        Err(error)
    }
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
            list_groups(&app, POOL).await.unwrap(),
            ["admins", "editors", "support"]
        );
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn a_group_listing_that_repeats_its_token_is_retried_not_looped_on() {
        let same = mock!(aws_sdk_cognitoidentityprovider::Client::list_groups)
            .then_output(|| page(&["admins"], Some("same")));
        let app = mocked_app_any(&[&same]);
        let error = list_groups(&app, POOL).await.unwrap_err();
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
        assert_eq!(create_group(&app, POOL, "admins").await, Ok(()));
        assert_eq!(create_group(&app, POOL, "editors").await, Ok(()));
        let error = create_group(&app, POOL, "support").await.unwrap_err();
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
        let app = mocked_app(&[
            &added,
            &no_user,
            &no_group,
            &throttled,
            &internal,
            &unavailable,
            &denied,
        ]);
        let add = || add_user_to_group(&app, POOL, "ana", "admins");
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
    }
}
