//! The pool's groups and users, driven by the real SDK client: `ListGroups`
//! (paging), `CreateGroup`, `AdminAddUserToGroup` (idempotent), their
//! errors and faults, and a job's run that leaves memberships alone.

mod common;

use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use cis_emulator::{valid_csv, Emulator, Fault, FaultAction, DEFAULT_CSV_HEADER};
use common::*;

/// Every group name `ListGroups` gives, page by page, following `NextToken`
/// (the sizes of the pages too).
async fn list_all(c: &Clients, limit: Option<i32>) -> (Vec<String>, Vec<usize>) {
    let (mut names, mut pages) = (Vec::new(), Vec::new());
    let mut token: Option<String> = None;
    loop {
        let page = c
            .cognito
            .list_groups()
            .user_pool_id(POOL)
            .set_limit(limit)
            .set_next_token(token.take())
            .send()
            .await
            .expect("list groups");
        pages.push(page.groups().len());
        for group in page.groups() {
            assert_eq!(group.user_pool_id(), Some(POOL));
            names.push(group.group_name().unwrap_or_default().to_string());
        }
        match page.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => return (names, pages),
        }
    }
}

#[tokio::test]
async fn list_groups_pages_through_every_group() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.create_user_pool(POOL, "people", DEFAULT_CSV_HEADER);
    for name in ["editors", "admins", "viewers", "billing", "support"] {
        emulator.create_group(POOL, name);
    }
    let sorted = vec!["admins", "billing", "editors", "support", "viewers"];
    assert_eq!(emulator.groups(POOL), sorted);

    // Default: one page of all (at most 60).
    assert_eq!(
        list_all(&c, None).await,
        (sorted.iter().map(|s| s.to_string()).collect(), vec![5])
    );
    // A small Limit pages.
    let (names, pages) = list_all(&c, Some(2)).await;
    assert_eq!(names, sorted);
    assert_eq!(pages, vec![2, 2, 1]);
    // The emulator's page size caps a larger Limit.
    emulator.set_list_groups_page_size(3);
    let (names, pages) = list_all(&c, None).await;
    assert_eq!(names, sorted);
    assert_eq!(pages, vec![3, 2]);
    assert_eq!(emulator.count("ListGroups"), 1 + 3 + 2);

    // A pool without groups: one empty page, no token.
    emulator.create_user_pool("us-east-1_Empty1", "empty", DEFAULT_CSV_HEADER);
    let empty = c
        .cognito
        .list_groups()
        .user_pool_id("us-east-1_Empty1")
        .send()
        .await
        .expect("list groups of an empty pool");
    assert!(empty.groups().is_empty());
    assert_eq!(empty.next_token(), None);
}

#[tokio::test]
async fn list_groups_errors() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.create_user_pool(POOL, "people", DEFAULT_CSV_HEADER);

    let error = c
        .cognito
        .list_groups()
        .user_pool_id("us-east-1_Missing1")
        .send()
        .await
        .expect_err("unknown pool");
    assert_eq!(error.code(), Some("ResourceNotFoundException"));
    assert_eq!(
        error.message(),
        Some("User pool us-east-1_Missing1 does not exist.")
    );

    for limit in [0, 61] {
        let error = c
            .cognito
            .list_groups()
            .user_pool_id(POOL)
            .limit(limit)
            .send()
            .await
            .expect_err("limit out of range");
        assert_eq!(error.code(), Some("InvalidParameterException"), "{limit}");
    }

    let error = c
        .cognito
        .list_groups()
        .user_pool_id(POOL)
        .next_token("not-a-token")
        .send()
        .await
        .expect_err("bad token");
    assert_eq!(error.code(), Some("InvalidParameterException"));
    assert_eq!(error.message(), Some("Invalid pagination token"));
}

#[tokio::test]
async fn create_group_then_exists() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.create_user_pool(POOL, "people", DEFAULT_CSV_HEADER);

    let created = c
        .cognito
        .create_group()
        .user_pool_id(POOL)
        .group_name("admins")
        .description("The admins")
        .precedence(1)
        .send()
        .await
        .expect("create group");
    let group = created.group().expect("group");
    assert_eq!(group.group_name(), Some("admins"));
    assert_eq!(group.user_pool_id(), Some(POOL));
    assert_eq!(group.description(), Some("The admins"));
    assert_eq!(group.precedence(), Some(1));
    assert!(group.creation_date().is_some());
    assert_eq!(emulator.groups(POOL), vec!["admins"]);

    let error = c
        .cognito
        .create_group()
        .user_pool_id(POOL)
        .group_name("admins")
        .send()
        .await
        .expect_err("exists");
    assert_eq!(error.code(), Some("GroupExistsException"));
    assert_eq!(
        error.message(),
        Some("A group with the name admins already exists.")
    );

    let too_long = "g".repeat(129);
    for bad in ["", "has space", too_long.as_str()] {
        let error = c
            .cognito
            .create_group()
            .user_pool_id(POOL)
            .group_name(bad)
            .send()
            .await
            .expect_err("bad name");
        assert_eq!(error.code(), Some("InvalidParameterException"), "{bad:?}");
    }
    // 128 characters of letters, marks, symbols, digits and punctuation.
    let longest = format!("é-ü\\,{}", "g".repeat(123));
    assert_eq!(longest.chars().count(), 128);
    c.cognito
        .create_group()
        .user_pool_id(POOL)
        .group_name(&longest)
        .send()
        .await
        .expect("a name of 128 characters");

    let error = c
        .cognito
        .create_group()
        .user_pool_id("us-east-1_Missing1")
        .group_name("admins")
        .send()
        .await
        .expect_err("unknown pool");
    assert_eq!(error.code(), Some("ResourceNotFoundException"));
    assert_eq!(emulator.groups(POOL), vec!["admins", longest.as_str()]);
}

async fn add(c: &Clients, username: &str, group: &str) -> Result<(), (String, String)> {
    c.cognito
        .admin_add_user_to_group()
        .user_pool_id(POOL)
        .username(username)
        .group_name(group)
        .send()
        .await
        .map(|_| ())
        .map_err(|error| {
            (
                error.code().unwrap_or_default().to_string(),
                error.message().unwrap_or_default().to_string(),
            )
        })
}

#[tokio::test]
async fn add_user_to_group_is_idempotent_and_names_what_is_missing() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.create_user_pool(POOL, "people", DEFAULT_CSV_HEADER);
    emulator.add_user(POOL, "ann");
    emulator.create_group(POOL, "admins");
    emulator.create_group(POOL, "editors");

    add(&c, "ann", "editors").await.expect("add");
    add(&c, "ann", "admins").await.expect("add");
    add(&c, "ann", "admins").await.expect("twice is fine");
    assert_eq!(emulator.user_groups(POOL, "ann"), vec!["admins", "editors"]);
    assert_eq!(emulator.count("AdminAddUserToGroup"), 3);

    let user_missing = (
        "UserNotFoundException".to_string(),
        "User does not exist.".to_string(),
    );
    let group_missing = (
        "ResourceNotFoundException".to_string(),
        "Group not found.".to_string(),
    );
    assert_eq!(add(&c, "bob", "admins").await, Err(user_missing.clone()));
    assert_eq!(add(&c, "ann", "ghosts").await, Err(group_missing.clone()));

    // Deleted since: the user, the group.
    emulator.delete_group(POOL, "editors");
    assert_eq!(emulator.user_groups(POOL, "ann"), vec!["admins"]);
    assert_eq!(add(&c, "ann", "editors").await, Err(group_missing));
    emulator.delete_user(POOL, "ann");
    assert!(emulator.user_groups(POOL, "ann").is_empty());
    assert!(emulator.users(POOL).is_empty());
    assert_eq!(add(&c, "ann", "admins").await, Err(user_missing));
    assert_eq!(emulator.groups(POOL), vec!["admins"]);
}

#[tokio::test]
async fn faults_by_operation_name() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.create_user_pool(POOL, "people", DEFAULT_CSV_HEADER);
    emulator.add_user(POOL, "ann");
    emulator.create_group(POOL, "admins");
    for operation in ["ListGroups", "CreateGroup", "AdminAddUserToGroup"] {
        emulator.inject(
            Fault::new(
                operation,
                FaultAction::error(400, "TooManyRequestsException"),
            )
            .times(1),
        );
    }

    let error = c
        .cognito
        .list_groups()
        .user_pool_id(POOL)
        .send()
        .await
        .expect_err("faulted list");
    assert_eq!(error.code(), Some("TooManyRequestsException"));
    let error = c
        .cognito
        .create_group()
        .user_pool_id(POOL)
        .group_name("editors")
        .send()
        .await
        .expect_err("faulted create");
    assert_eq!(error.code(), Some("TooManyRequestsException"));
    assert_eq!(
        add(&c, "ann", "admins").await.map_err(|(code, _)| code),
        Err("TooManyRequestsException".to_string())
    );
    // Nothing was done; each fault is spent, and the next calls pass.
    assert_eq!(emulator.groups(POOL), vec!["admins"]);
    assert!(emulator.user_groups(POOL, "ann").is_empty());
    add(&c, "ann", "admins").await.expect("add after the fault");
    assert_eq!(emulator.user_groups(POOL, "ann"), vec!["admins"]);

    let journal: Vec<(String, u16)> = emulator
        .calls()
        .iter()
        .map(|call| (call.operation.clone(), call.status))
        .collect();
    let expected: Vec<(String, u16)> = [
        ("ListGroups", 400),
        ("CreateGroup", 400),
        ("AdminAddUserToGroup", 400),
        ("AdminAddUserToGroup", 200),
    ]
    .iter()
    .map(|(operation, status)| (operation.to_string(), *status))
    .collect();
    assert_eq!(journal, expected);
    assert_eq!(emulator.calls()[0].params["UserPoolId"], POOL);
}

#[tokio::test]
async fn a_skipped_user_keeps_its_groups_and_an_imported_one_joins_none() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.create_user_pool(POOL, "people", DEFAULT_CSV_HEADER);
    emulator.add_user(POOL, "ann");
    emulator.create_group(POOL, "admins");
    add(&c, "ann", "admins").await.expect("add");

    let job = emulator.create_import_job(POOL, "users", true);
    emulator.set_job_csv(POOL, &job.job_id, valid_csv(&["ann", "ben"]));
    emulator.set_job_status(POOL, &job.job_id, "Pending");
    let run = emulator.run_import_job(POOL, &job.job_id).expect("run");
    assert_eq!(
        run.lines,
        vec![
            "[SKIPPED] Line Number 1 - The user already exists.",
            "[SUCCEEDED] Line Number 2 - The import succeeded.",
        ]
    );
    assert_eq!(emulator.users(POOL), vec!["ann", "ben"]);
    assert_eq!(emulator.user_groups(POOL, "ann"), vec!["admins"]);
    assert!(emulator.user_groups(POOL, "ben").is_empty());
    // The imported user is a user AdminAddUserToGroup knows.
    add(&c, "ben", "admins")
        .await
        .expect("add the imported user");
    assert_eq!(emulator.user_groups(POOL, "ben"), vec!["admins"]);
}
