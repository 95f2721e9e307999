//! SPEC section 16, "Who can import where": `POOL_KEY_PREFIXES` binds key
//! prefixes to pools, so that the IAM permissions on prefixes of the drop
//! bucket become permissions on pools. A drop's pool is the one its key's
//! longest matching prefix names; metadata naming another pool, or a key
//! under no prefix, is `UserPoolNotAllowed`; direct invocations are held to
//! the bound pools as to an allowlist.

use cis_emulator::{valid_csv, DEFAULT_CSV_HEADER};
use cis_testkit::*;
use cognito_import_starter::{Config, ErrorKind};
use serde_json::json;

const EU_POOL: &str = "eu-west-1_TestPool2";
const UNBOUND: &str = "us-east-1_Unbound1";
const ROLE: &str = "arn:aws:iam::123456789012:role/cognito-import-logs";

/// `imports/` to [`POOL`], `imports/eu/` to [`EU_POOL`], as read at init.
fn bound(create_mode: bool) -> Config {
    let env = Config::from_lookup(|name| match name {
        "AWS_REGION" => Some("us-east-1".into()),
        "POOL_KEY_PREFIXES" => Some(format!("imports/={POOL}, imports/eu/={EU_POOL}")),
        _ => None,
    })
    .expect("a good POOL_KEY_PREFIXES");
    Config {
        pool_key_prefixes: env.pool_key_prefixes,
        cloudwatch_logs_role_arn: create_mode.then(|| ROLE.to_string()),
        ..test_config()
    }
}

/// An object at `key` whose metadata names only `job`'s ID.
fn drop_for_job(h: &Harness, key: &str, job: &cis_emulator::ImportJob) {
    h.emulator.put_object(
        BUCKET,
        key,
        "cognito:username\n",
        &[("job-id", &job.job_id)],
    );
}

fn started_pools(h: &Harness) -> Vec<String> {
    h.emulator
        .calls()
        .iter()
        .filter(|c| c.operation == "StartUserImportJob")
        .map(|c| {
            c.params["UserPoolId"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn cognito_calls(h: &Harness) -> usize {
    h.emulator
        .calls()
        .iter()
        .filter(|c| c.service == "cognito-idp")
        .count()
}

#[tokio::test]
async fn the_longest_matching_prefix_names_the_pool() {
    let h = harness_with(bound(false)).await;
    let eu_job = h.emulator.create_import_job(EU_POOL, "eu", true);
    let us_job = h.emulator.create_import_job(POOL, "us", true);
    drop_for_job(&h, "imports/eu/users.csv", &eu_job);
    drop_for_job(&h, "imports/users.csv", &us_job);

    let response = h
        .invoke(s3_event(&[
            ("ObjectCreated:Put", "imports/eu/users.csv"),
            ("ObjectCreated:Put", "imports/users.csv"),
        ]))
        .await
        .unwrap();

    let results = response["Results"].as_array().unwrap();
    assert_eq!(results[0]["Outcome"], "Started", "{response}");
    assert_eq!(results[0]["UserPoolId"], EU_POOL);
    assert_eq!(results[1]["Outcome"], "Started", "{response}");
    assert_eq!(results[1]["UserPoolId"], POOL);
    let mut pools = started_pools(&h);
    pools.sort();
    assert_eq!(pools, [EU_POOL, POOL]);
    assert_eq!(h.status(&eu_job), "Pending");
    assert_eq!(h.status(&us_job), "Pending");
    let events = h.events_of("User Import Job Started");
    assert_eq!(events.len(), 2);
}

#[tokio::test]
async fn metadata_naming_the_keys_own_pool_is_accepted() {
    let h = harness_with(bound(false)).await;
    let (_, job) = h.seed("imports/named.csv");

    let response = h.invoke(created("imports/named.csv")).await.unwrap();

    assert_eq!(response["Results"][0]["Outcome"], "Started", "{response}");
    assert_eq!(h.status(&job), "Pending");
}

#[tokio::test]
async fn metadata_naming_another_pool_is_refused() {
    let h = harness_with(bound(false)).await;
    // The metadata names POOL (bound to imports/), the key is under imports/eu/.
    let (_, job) = h.seed("imports/eu/elsewhere.csv");

    let response = h.invoke(created("imports/eu/elsewhere.csv")).await.unwrap();

    let error = &response["Results"][0]["Error"];
    assert_eq!(error["Type"], "UserPoolNotAllowed", "{response}");
    assert!(
        error["Message"]
            .as_str()
            .unwrap_or_default()
            .contains(EU_POOL),
        "{error}"
    );
    let failed = h.events_of("User Import Job Start Failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].detail["Error"]["Type"], "UserPoolNotAllowed");
    assert_eq!(failed[0].detail["UserPoolId"], POOL);
    assert_eq!(h.status(&job), "Created");
    assert_eq!(cognito_calls(&h), 0, "Cognito hears nothing");
}

#[tokio::test]
async fn a_key_under_no_prefix_is_refused_before_anything_is_read() {
    let h = harness_with(bound(true)).await;
    let (_, job) = h.seed("outside/users.csv");

    let response = h.invoke(created("outside/users.csv")).await.unwrap();

    let error = &response["Results"][0]["Error"];
    assert_eq!(error["Type"], "UserPoolNotAllowed", "{response}");
    assert!(
        error["Message"]
            .as_str()
            .unwrap_or_default()
            .contains("POOL_KEY_PREFIXES"),
        "{error}"
    );
    assert_eq!(h.events_of("User Import Job Start Failed").len(), 1);
    assert_eq!(h.status(&job), "Created");
    assert_eq!(h.emulator.count("HeadObject"), 0, "the object is not read");
    assert_eq!(cognito_calls(&h), 0, "Cognito hears nothing");
}

#[tokio::test]
async fn an_object_without_metadata_under_a_bound_prefix_is_imported_in_create_mode() {
    let h = harness_with(bound(true)).await;
    h.emulator
        .create_user_pool(EU_POOL, "europe", DEFAULT_CSV_HEADER);
    h.emulator
        .put_object(BUCKET, "imports/eu/new.csv", valid_csv(&["ann"]), &[]);

    let response = h.invoke(created("imports/eu/new.csv")).await.unwrap();

    assert_eq!(response["Results"][0]["Outcome"], "Started", "{response}");
    let jobs = h.emulator.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].pool_id, EU_POOL);
    assert_eq!(h.status(&jobs[0]), "Pending");
    assert_eq!(
        h.emulator.uploaded_csv(EU_POOL, &jobs[0].job_id),
        Some(valid_csv(&["ann"]).into_bytes())
    );
    let started = h.events_of("User Import Job Started");
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].detail["CreatedJob"], json!(true));
    assert_eq!(started[0].detail["UserImportJob"]["UserPoolId"], EU_POOL);
}

/// Without `CLOUDWATCH_LOGS_ROLE_ARN` create mode is off: the job ID is
/// still needed, and the message asks only for it.
#[tokio::test]
async fn without_create_mode_an_object_without_metadata_misses_its_job() {
    let h = harness_with(bound(false)).await;
    h.emulator
        .put_object(BUCKET, "imports/new.csv", valid_csv(&["ann"]), &[]);

    let response = h.invoke(created("imports/new.csv")).await.unwrap();

    let error = &response["Results"][0]["Error"];
    assert_eq!(error["Type"], "MissingImportMetadata", "{response}");
    let message = error["Message"].as_str().unwrap_or_default();
    assert!(message.contains("job-id"), "{message}");
    assert!(!message.contains("user-pool-id"), "{message}");
    // The failure event names the pool the key is bound to.
    let failed = h.events_of("User Import Job Start Failed");
    assert_eq!(failed[0].detail["UserPoolId"], POOL);
    assert!(h.emulator.jobs().is_empty());
}

#[tokio::test]
async fn a_direct_start_of_a_pool_outside_the_prefixes_is_refused() {
    let h = harness_with(bound(false)).await;
    let outside = h.emulator.create_import_job(UNBOUND, "direct", true);
    let inside = h.emulator.create_import_job(EU_POOL, "direct", true);

    let refused = h
        .invoke(json!({"UserPoolId": UNBOUND, "JobId": outside.job_id}))
        .await;
    let allowed = h
        .invoke(json!({"UserPoolId": EU_POOL, "JobId": inside.job_id}))
        .await
        .unwrap();

    assert_eq!(kind(&refused), ErrorKind::UserPoolNotAllowed);
    assert_eq!(h.status(&outside), "Created");
    assert_eq!(allowed["UserImportJob"]["Status"], "Pending", "{allowed}");
    assert_eq!(started_pools(&h), [EU_POOL]);
}

#[tokio::test]
async fn track_of_a_pool_outside_the_prefixes_is_refused() {
    let h = harness_with(bound(false)).await;
    let job = h.emulator.create_import_job(UNBOUND, "done", true);
    h.emulator.set_job_status(UNBOUND, &job.job_id, "Pending");
    h.emulator
        .finish_job(UNBOUND, &job.job_id, "Succeeded", 1, 0, 0, "done");

    let result = h
        .invoke(json!({"Action": "Track", "UserPoolId": UNBOUND, "JobId": job.job_id}))
        .await;

    assert_eq!(kind(&result), ErrorKind::UserPoolNotAllowed);
    assert!(h.events_of("User Import Job Completed").is_empty());
    assert_eq!(cognito_calls(&h), 0, "Cognito hears nothing");
}

/// Both variables apply: a pool bound to a prefix but outside the allowlist
/// stops init; a pool on the allowlist but bound to no prefix is refused.
#[tokio::test]
async fn the_allowlist_and_the_prefixes_both_apply() {
    let config = Config {
        allowed_user_pool_ids: Some(vec![POOL.into(), EU_POOL.into(), UNBOUND.into()]),
        ..bound(false)
    };
    let h = harness_with(config).await;
    let job = h.emulator.create_import_job(UNBOUND, "direct", true);

    let refused = h
        .invoke(json!({"UserPoolId": UNBOUND, "JobId": job.job_id}))
        .await;

    assert_eq!(kind(&refused), ErrorKind::UserPoolNotAllowed);
    assert!(refused.unwrap_err().message.contains("POOL_KEY_PREFIXES"));
    assert_eq!(h.status(&job), "Created");
}

/// Without an allowlist, the bound pools are the ones the function can see:
/// the job holding the import slot is looked for in them too (SPEC 13).
#[tokio::test]
async fn the_slots_holder_is_looked_for_in_the_bound_pools() {
    let h = harness_with(bound(false)).await;
    h.emulator.enforce_one_active_job(true);
    let running = h.emulator.create_import_job(EU_POOL, "running", true);
    h.emulator
        .set_job_status(EU_POOL, &running.job_id, "InProgress");
    let (_, job) = h.seed("imports/waiting.csv");

    let result = h.invoke(created("imports/waiting.csv")).await;

    assert_eq!(kind(&result), ErrorKind::ImportSlotBusy);
    let message = result.unwrap_err().message;
    assert!(message.contains(&running.job_id), "{message}");
    assert!(message.contains(EU_POOL), "{message}");
    assert_eq!(h.status(&job), "Created");
}

#[test]
fn a_bad_value_stops_init_and_names_the_variable() {
    for (allowed, value) in [
        (None, "imports/us-east-1_TestPool1"),
        (None, "imports/=us-east-1"),
        (None, "imports/=us-east-1_A1,imports/=us-east-1_B1"),
        (Some("us-east-1_A1"), "imports/=us-east-1_B1"),
    ] {
        let error = Config::from_lookup(|name| match name {
            "AWS_REGION" => Some("us-east-1".into()),
            "ALLOWED_USER_POOL_IDS" => allowed.map(str::to_string),
            "POOL_KEY_PREFIXES" => Some(value.into()),
            _ => None,
        })
        .unwrap_err();
        assert_eq!(error.variable, "POOL_KEY_PREFIXES", "{value}");
        assert!(error.to_string().contains("POOL_KEY_PREFIXES"), "{error}");
    }
}
