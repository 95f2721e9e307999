//! SPEC section 17, after the job: `AddToGroups` adds the memberships of the
//! users Cognito's log reports `[SUCCEEDED]` or `[SKIPPED]`, from a cursor,
//! paced, and ends with `User Import Groups Added`. Everything runs against
//! the emulator: its pool's users and groups, the job, the job's log, the
//! source object, the results and the events; each membership is read back
//! from the emulator.
//!
//! The stage is called directly (`groups::add_to_groups`), as the handler's
//! `{"Action": "AddToGroups", ...}` will call it.

use std::time::Duration;

use cis_emulator::{Fault, FaultAction, RunOptions};
use cis_testkit::emf::metrics_of;
use cis_testkit::*;
use cognito_import_starter::deadline::Deadline;
use cognito_import_starter::groups::add_to_groups;
use cognito_import_starter::model::{ObjectRef, PartRef};
use cognito_import_starter::trigger::AddToGroups;
use cognito_import_starter::{Config, ErrorKind, ImportError};
use serde_json::{json, Value};

const JOB: &str = "import-Groups1";
const JOB_NAME: &str = "nightly";
const POOL_NAME: &str = "customers";
const KEY: &str = "drops/users.csv";
const GROUPS_ADDED: &str = "User Import Groups Added";
const ADD: &str = "AdminAddUserToGroup";

/// Six users: ana and fay imported, bo there already, cy refused, dee
/// without a line in the log, eve in no group; `ghost` is no group of the
/// pool.
const CSV: &str = "cognito:username,email,cognito:groups\r\n\
    ana,ana@example.com,admins editors\r\n\
    bo,bo@example.com,editors\r\n\
    cy,bad,admins\r\n\
    dee,dee@example.com,support\r\n\
    eve,eve@example.com,\r\n\
    fay,fay@example.com,admins ghost";

const LOG: [&str; 5] = [
    "[SUCCEEDED] Line Number 1 - The import succeeded.",
    "[SKIPPED] Line Number 2 - The user already exists.",
    "[FAILED] Line Number 3 - Invalid email address format.",
    "[SUCCEEDED] Line Number 5 - The import succeeded.",
    "[SUCCEEDED] Line Number 6 - The import succeeded.",
];

fn config() -> Config {
    Config {
        groups_rps: 1000,
        ..test_config()
    }
}

/// The pool with its groups and users (dee and cy too: only the log keeps
/// them out), the job finished with the log's counts, its log, and the
/// file dropped on section 4's path (its metadata names the job).
async fn setup(config: Config, csv: &str, log: &[&str]) -> (Harness, ObjectRef) {
    let h = harness_with(config).await;
    let e = &h.emulator;
    e.create_user_pool(POOL, POOL_NAME, &[]);
    for user in ["ana", "bo", "cy", "dee", "eve", "fay"] {
        e.add_user(POOL, user);
    }
    for group in ["admins", "editors", "support"] {
        e.create_group(POOL, group);
    }
    e.insert_import_job(POOL, JOB, JOB_NAME, true);
    let count = |status: &str| log.iter().filter(|l| l.starts_with(status)).count() as i64;
    e.finish_job(
        POOL,
        JOB,
        "Succeeded",
        count("[SUCCEEDED]"),
        count("[SKIPPED]"),
        count("[FAILED]"),
        "Import Job Completed Successfully.",
    );
    logged(&h, log);
    let object = dropped(&h, KEY, csv);
    (h, object)
}

fn dropped(h: &Harness, key: &str, body: &str) -> ObjectRef {
    let stored = h.emulator.put_object(
        BUCKET,
        key,
        body,
        &[("user-pool-id", POOL), ("job-id", JOB)],
    );
    ObjectRef {
        etag: Some(stored.etag.trim_matches('"').to_string()),
        ..ObjectRef::new(BUCKET, key, None)
    }
}

fn logged(h: &Harness, lines: &[&str]) {
    h.emulator.put_log_events(
        &format!("/aws/cognito/userpools/{POOL}/{POOL_NAME}"),
        &format!("{JOB}/{JOB_NAME}"),
        lines,
    );
}

fn request(object: &ObjectRef, from: Option<Value>) -> AddToGroups {
    AddToGroups {
        user_pool_id: POOL.into(),
        job_id: JOB.into(),
        object: object.clone(),
        part: None,
        from,
    }
}

/// Every `AdminAddUserToGroup` the emulator answered, as (user, group).
fn adds(h: &Harness) -> Vec<(String, String)> {
    h.emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation == ADD)
        .map(|c| {
            let text = |name: &str| c.params[name].as_str().unwrap_or_default().to_string();
            (text("Username"), text("GroupName"))
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(u, g)| (u.to_string(), g.to_string()))
        .collect()
}

fn body(h: &Harness, key: &str) -> Option<String> {
    h.emulator
        .object(BUCKET, key)
        .map(|o| String::from_utf8(o.body).unwrap())
}

fn failed_csv(h: &Harness) -> Option<String> {
    body(h, &format!("results/{JOB}/groups-failed.csv"))
}

fn expected_groups() -> Value {
    json!({
        "Added": 4,
        "Failed": 2,
        "First": [
            {"Line": 4, "Group": "support", "Reason": "no line in the job's log"},
            {"Line": 6, "Group": "ghost", "Reason": "ResourceNotFoundException: Group not found."}
        ]
    })
}

const EXPECTED_FAILED_CSV: &str = "line,username,group,reason\r\n\
    4,dee,support,no line in the job's log\r\n\
    6,fay,ghost,ResourceNotFoundException: Group not found.\r\n";

fn memberships(h: &Harness) -> Vec<(String, Vec<String>)> {
    ["ana", "bo", "cy", "dee", "eve", "fay"]
        .iter()
        .map(|u| (u.to_string(), h.emulator.user_groups(POOL, u)))
        .collect()
}

fn expected_memberships() -> Vec<(String, Vec<String>)> {
    let list: [(&str, &[&str]); 6] = [
        ("ana", &["admins", "editors"]),
        ("bo", &["editors"]),
        ("cy", &[]),
        ("dee", &[]),
        ("eve", &[]),
        ("fay", &["admins"]),
    ];
    list.iter()
        .map(|(u, g)| (u.to_string(), g.iter().map(|s| s.to_string()).collect()))
        .collect()
}

fn added_metric(h: &Harness) -> Vec<Value> {
    h.metrics
        .lock()
        .unwrap()
        .iter()
        .flat_map(metrics_of)
        .filter(|(name, _, _)| name == "GroupMembershipsAdded")
        .map(|(_, _, value)| value)
        .collect()
}

#[tokio::test]
async fn the_users_cognito_imported_or_found_get_their_groups_the_rest_are_recorded() {
    let (h, object) = setup(config(), CSV, &LOG).await;

    let answer = add_to_groups(&h.app, &request(&object, None), Deadline::default())
        .await
        .unwrap();

    assert_eq!(answer, json!({"Done": true, "Groups": expected_groups()}));
    // cy failed its import, dee has no line (never guessed, though the pool
    // has both), eve names no group: none of them is called.
    assert_eq!(
        adds(&h),
        pairs(&[
            ("ana", "admins"),
            ("ana", "editors"),
            ("bo", "editors"),
            ("fay", "admins"),
            ("fay", "ghost")
        ])
    );
    assert_eq!(memberships(&h), expected_memberships());
    assert_eq!(h.emulator.count("ListGroups"), 0);
    assert_eq!(h.emulator.count("CreateGroup"), 0);

    let events = h.events_of(GROUPS_ADDED);
    assert_eq!(events.len(), 1);
    let detail = &events[0].detail;
    assert_eq!(detail["Groups"], expected_groups());
    assert_eq!(detail["UserImportJob"]["JobId"], JOB);
    assert_eq!(detail["UserImportJob"]["UserPoolId"], POOL);
    assert_eq!(detail["UserImportJob"]["Status"], "Succeeded");
    assert!(detail["UserImportJob"].get("PreSignedUrl").is_none());
    assert_eq!(detail["Object"]["Bucket"], BUCKET);
    assert_eq!(detail["Object"]["Key"], KEY);
    assert!(detail.get("Part").is_none());
    assert_eq!(added_metric(&h), [json!(4)]);

    assert_eq!(failed_csv(&h).as_deref(), Some(EXPECTED_FAILED_CSV));
    // Only the S3 objects the stage owns were written.
    let written: Vec<_> = h
        .emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation == "PutObject")
        .map(|c| c.params["Key"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        written,
        [
            format!("results/{JOB}/groups-failed/000000000001.jsonl"),
            format!("results/{JOB}/groups-failed.csv")
        ]
    );
}

#[tokio::test]
async fn a_job_the_emulator_ran_gets_the_groups_of_its_imported_and_skipped_users() {
    // The job's own CSV is the file without the groups column (SPEC 17);
    // the emulator's run makes the users and writes the log.
    let file = "cognito:username,email,email_verified,cognito:groups\n\
        ann,ann@example.com,true,admins\n\
        ben,ben@example.com,true,editors admins\n\
        cid,not-an-email,true,admins\n";
    let job_csv = "cognito:username,email,email_verified\n\
        ann,ann@example.com,true\n\
        ben,ben@example.com,true\n\
        cid,not-an-email,true\n";
    let h = harness_with(config()).await;
    let e = &h.emulator;
    e.create_user_pool(POOL, POOL_NAME, &[]);
    e.add_user(POOL, "ben");
    e.create_group(POOL, "admins");
    e.create_group(POOL, "editors");
    e.insert_import_job(POOL, JOB, JOB_NAME, true);
    e.set_job_csv(POOL, JOB, job_csv);
    e.set_job_status(POOL, JOB, "InProgress");
    let run = e.run_import_job(POOL, JOB).unwrap();
    assert_eq!(
        run.lines
            .iter()
            .map(|l| &l[..=l.find(']').unwrap()])
            .collect::<Vec<_>>(),
        ["[SUCCEEDED]", "[SKIPPED]", "[FAILED]"]
    );
    let object = dropped(&h, KEY, file);

    let answer = add_to_groups(&h.app, &request(&object, None), Deadline::default())
        .await
        .unwrap();

    assert_eq!(
        answer,
        json!({"Done": true, "Groups": {"Added": 3, "Failed": 0, "First": []}})
    );
    assert_eq!(e.user_groups(POOL, "ann"), ["admins"]);
    assert_eq!(e.user_groups(POOL, "ben"), ["admins", "editors"]);
    assert!(e.user_groups(POOL, "cid").is_empty());
    assert_eq!(failed_csv(&h), None);
}

#[tokio::test]
async fn a_log_still_behind_the_jobs_counts_is_waited_for_not_recorded() {
    // The job ran, but CloudWatch Logs has delivered only its first line:
    // ben's would be recorded as missing if the call went on.
    let file = "cognito:username,email,email_verified,cognito:groups\n\
        ann,ann@example.com,true,admins\n\
        ben,ben@example.com,true,admins\n";
    let job_csv = "cognito:username,email,email_verified\n\
        ann,ann@example.com,true\n\
        ben,ben@example.com,true\n";
    let h = harness_with(config()).await;
    let e = &h.emulator;
    e.create_user_pool(POOL, POOL_NAME, &[]);
    e.create_group(POOL, "admins");
    e.insert_import_job(POOL, JOB, JOB_NAME, true);
    e.set_job_csv(POOL, JOB, job_csv);
    e.set_job_status(POOL, JOB, "InProgress");
    let run = e
        .run_import_job_with(
            POOL,
            JOB,
            RunOptions {
                logged_rows: Some(1),
            },
        )
        .unwrap();
    assert_eq!(run.held_back, 1);
    let object = dropped(&h, KEY, file);

    let early = add_to_groups(&h.app, &request(&object, None), Deadline::default()).await;

    assert_eq!(error_type(&early), "ImportNotFinished");
    assert!(adds(&h).is_empty());
    assert_eq!(failed_csv(&h), None);
    e.release_log_lines(POOL, JOB);
    let answer = add_to_groups(&h.app, &request(&object, None), Deadline::default())
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({"Done": true, "Groups": {"Added": 2, "Failed": 0, "First": []}})
    );
    assert_eq!(e.user_groups(POOL, "ben"), ["admins"]);
}

#[tokio::test]
async fn throttling_ends_the_call_early_and_the_next_call_in_a_fresh_app_goes_on_from_its_cursor() {
    let (h, object) = setup(config(), CSV, &LOG).await;
    // fay's memberships are throttled, after the SDK's retries.
    h.emulator.inject(
        Fault::new(ADD, FaultAction::error(400, "TooManyRequestsException")).matching("fay"),
    );

    let first = add_to_groups(&h.app, &request(&object, None), Deadline::default())
        .await
        .unwrap();

    assert_eq!(first["Done"], false, "{first}");
    let from = first["From"].clone();
    assert_eq!(from["Line"], 6, "{from}");
    assert_eq!(from["Group"], 0, "{from}");
    assert_eq!(from["Added"], 3, "{from}");
    assert_eq!(from["Failed"], 1, "{from}");
    assert!(from.to_string().len() < 200, "{from}");
    assert!(h.events_of(GROUPS_ADDED).is_empty());
    assert!(added_metric(&h).is_empty());
    assert!(h.emulator.user_groups(POOL, "fay").is_empty());
    assert_eq!(failed_csv(&h), None);

    // A fresh process: a new App on the same emulator, only the cursor
    // carried over.
    h.emulator.clear_faults();
    let fresh = app_for(&h.emulator, config(), 3).await;
    let last = add_to_groups(&fresh, &request(&object, Some(from)), Deadline::default())
        .await
        .unwrap();

    assert_eq!(last, json!({"Done": true, "Groups": expected_groups()}));
    assert_eq!(memberships(&h), expected_memberships());
    // The earlier call's failure (dee) and this call's (ghost), joined.
    assert_eq!(failed_csv(&h).as_deref(), Some(EXPECTED_FAILED_CSV));
    assert_eq!(h.events_of(GROUPS_ADDED).len(), 1);
    // The second call read from the cursor's byte on, not the whole file,
    // a window of 256 KiB at a time (one window holds this small file).
    let ranges: Vec<Value> = h
        .emulator
        .calls()
        .iter()
        .filter(|c| c.operation == "GetObject" && c.params["Key"] == KEY)
        .map(|c| c.params["Range"].clone())
        .collect();
    let offset = CSV.find("fay,").unwrap();
    let second = format!("bytes={offset}-{}", offset + 262_143);
    assert_eq!(ranges, [json!("bytes=0-262143"), json!(second)]);
}

#[tokio::test]
async fn a_server_error_after_the_retries_also_ends_the_call_with_its_cursor() {
    let (h, object) = setup(config(), CSV, &LOG).await;
    h.emulator.inject(
        Fault::new(ADD, FaultAction::error(500, "InternalErrorException")).matching("editors"),
    );

    let first = add_to_groups(&h.app, &request(&object, None), Deadline::default())
        .await
        .unwrap();

    // ana's second group: the cursor is in the middle of her row.
    assert_eq!(first["Done"], false, "{first}");
    assert_eq!(first["From"]["Line"], 1);
    assert_eq!(first["From"]["Group"], 1);
    assert_eq!(first["From"]["Added"], 1);
    h.emulator.clear_faults();
    let last = add_to_groups(
        &h.app,
        &request(&object, Some(first["From"].clone())),
        Deadline::default(),
    )
    .await
    .unwrap();
    assert_eq!(last, json!({"Done": true, "Groups": expected_groups()}));
    assert_eq!(memberships(&h), expected_memberships());
}

#[tokio::test]
async fn a_redelivered_call_converges_on_the_same_answer_file_and_event() {
    let (h, object) = setup(config(), CSV, &LOG).await;
    h.emulator.inject(
        Fault::new(ADD, FaultAction::error(400, "TooManyRequestsException")).matching("fay"),
    );
    let first = add_to_groups(&h.app, &request(&object, None), Deadline::default())
        .await
        .unwrap();
    // The first call delivered twice: the same cursor, dee's failure kept
    // once.
    let again = add_to_groups(&h.app, &request(&object, None), Deadline::default())
        .await
        .unwrap();
    assert_eq!(first, again);
    h.emulator.clear_faults();

    // The last call delivered twice.
    let from = Some(first["From"].clone());
    let once = add_to_groups(&h.app, &request(&object, from.clone()), Deadline::default())
        .await
        .unwrap();
    let report = failed_csv(&h);
    let twice = add_to_groups(&h.app, &request(&object, from), Deadline::default())
        .await
        .unwrap();

    assert_eq!(once, json!({"Done": true, "Groups": expected_groups()}));
    assert_eq!(once, twice);
    assert_eq!(report.as_deref(), Some(EXPECTED_FAILED_CSV));
    assert_eq!(failed_csv(&h), report);
    assert_eq!(memberships(&h), expected_memberships());
    let events = h.events_of(GROUPS_ADDED);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].detail, events[1].detail);
}

#[tokio::test]
async fn the_deadline_ends_a_call_with_its_cursor_and_the_next_calls_finish() {
    // Five a second and 3.5 s before the deadline: the call stops in time,
    // having added a few, and the next call (quicker) does the rest.
    let many: String = (1..=40)
        .map(|n| format!("user{n},u{n}@example.com,support\n"))
        .collect();
    let csv = format!("cognito:username,email,cognito:groups\n{many}");
    let lines: Vec<String> = (1..=40)
        .map(|n| format!("[SUCCEEDED] Line Number {n} - The import succeeded."))
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let slow = Config {
        groups_rps: 5,
        ..test_config()
    };
    let (h, object) = setup(slow, &csv, &lines).await;
    for n in 1..=40 {
        h.emulator.add_user(POOL, &format!("user{n}"));
    }

    let started = std::time::Instant::now();
    let first = add_to_groups(
        &h.app,
        &request(&object, None),
        Deadline::within(Duration::from_millis(3_500)),
    )
    .await
    .unwrap();

    assert!(started.elapsed() < Duration::from_millis(3_500));
    assert_eq!(first["Done"], false, "{first}");
    let done_first = first["From"]["Added"].as_u64().unwrap();
    assert!((1..40).contains(&done_first), "{first}");
    assert_eq!(first["From"]["Line"].as_u64(), Some(done_first + 1));
    assert_eq!(adds(&h).len() as u64, done_first);
    // At most five a second: the first at once, then one each 200 ms.
    let elapsed = started.elapsed().as_secs_f64();
    assert!(
        done_first as f64 <= 1.0 + elapsed * 5.0,
        "{done_first} in {elapsed}s"
    );

    let quick = app_for(&h.emulator, config(), 3).await;
    let last = add_to_groups(
        &quick,
        &request(&object, Some(first["From"].clone())),
        Deadline::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        last,
        json!({"Done": true, "Groups": {"Added": 40, "Failed": 0, "First": []}})
    );
    // Every membership asked for once: none skipped, none repeated.
    assert_eq!(adds(&h).len(), 40);
    assert!((1..=40).all(|n| h.emulator.user_groups(POOL, &format!("user{n}")) == ["support"]));
}

#[tokio::test]
async fn a_group_deleted_since_and_a_user_deleted_since_are_recorded_not_retried() {
    let (h, object) = setup(config(), CSV, &LOG).await;
    h.emulator.delete_group(POOL, "editors");
    h.emulator.delete_user(POOL, "fay");

    let answer = add_to_groups(&h.app, &request(&object, None), Deadline::default())
        .await
        .unwrap();

    let gone = "ResourceNotFoundException: Group not found.";
    let no_user = "UserNotFoundException: User does not exist.";
    let groups = json!({
        "Added": 1,
        "Failed": 5,
        "First": [
            {"Line": 1, "Group": "editors", "Reason": gone},
            {"Line": 2, "Group": "editors", "Reason": gone},
            {"Line": 4, "Group": "support", "Reason": "no line in the job's log"},
            {"Line": 6, "Group": "admins", "Reason": no_user},
            {"Line": 6, "Group": "ghost", "Reason": no_user}
        ]
    });
    assert_eq!(answer, json!({"Done": true, "Groups": groups}));
    assert_eq!(h.events_of(GROUPS_ADDED)[0].detail["Groups"], groups);
    assert_eq!(h.emulator.user_groups(POOL, "ana"), ["admins"]);
    // Each refused once: 5 calls, no retry of a refusal.
    assert_eq!(adds(&h).len(), 5);
    assert_eq!(
        failed_csv(&h).as_deref(),
        Some(
            "line,username,group,reason\r\n\
             1,ana,editors,ResourceNotFoundException: Group not found.\r\n\
             2,bo,editors,ResourceNotFoundException: Group not found.\r\n\
             4,dee,support,no line in the job's log\r\n\
             6,fay,admins,UserNotFoundException: User does not exist.\r\n\
             6,fay,ghost,UserNotFoundException: User does not exist.\r\n"
        )
    );
    assert_eq!(added_metric(&h), [json!(1)]);
}

#[tokio::test]
async fn a_job_not_finished_is_retryable_and_nothing_is_added() {
    let (h, object) = setup(config(), CSV, &LOG).await;
    h.emulator.set_job_status(POOL, JOB, "InProgress");
    let result = add_to_groups(&h.app, &request(&object, None), Deadline::default()).await;
    let error = result.unwrap_err();
    assert_eq!(error.error_type(), "ImportNotFinished");
    assert_eq!(error.kind, ErrorKind::ImportNotFinished);
    assert!(error.is_retryable());
    assert!(adds(&h).is_empty());
    assert!(h.events().is_empty());
}

#[tokio::test]
async fn an_object_that_is_not_the_jobs_is_refused_for_good() {
    let (h, _) = setup(config(), CSV, &LOG).await;
    let other = h
        .emulator
        .put_object(BUCKET, "drops/other.csv", CSV, &[("user-pool-id", POOL)]);
    let other = ObjectRef {
        etag: Some(other.etag.trim_matches('"').to_string()),
        ..ObjectRef::new(BUCKET, "drops/other.csv", None)
    };
    let error = add_to_groups(&h.app, &request(&other, None), Deadline::default())
        .await
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::ObjectMismatch);
    assert_eq!(error.error_type(), "ObjectMismatch");
    assert!(!error.is_retryable());
    assert!(error.message.contains("no membership was added"), "{error}");
    assert!(adds(&h).is_empty());
    assert!(h.events().is_empty());
}

#[tokio::test]
async fn an_error_other_than_a_missing_user_or_group_or_throttling_fails_the_call_with_its_type() {
    let (h, object) = setup(config(), CSV, &LOG).await;
    h.emulator.inject(Fault::new(
        ADD,
        FaultAction::error(400, "NotAuthorizedException"),
    ));
    let result: Result<Value, ImportError> =
        add_to_groups(&h.app, &request(&object, None), Deadline::default()).await;
    assert_eq!(error_type(&result), "NotAuthorizedException");
    // Not retried by the SDK, and not recorded as a membership's failure.
    assert_eq!(adds(&h).len(), 1);
    assert!(h.events_of(GROUPS_ADDED).is_empty());
    assert_eq!(failed_csv(&h), None);
}

#[tokio::test]
async fn without_a_results_prefix_the_last_call_names_its_own_failures_and_writes_nothing() {
    let (h, object) = setup(
        Config {
            results_prefix: String::new(),
            ..config()
        },
        CSV,
        &LOG,
    )
    .await;
    let answer = add_to_groups(&h.app, &request(&object, None), Deadline::default())
        .await
        .unwrap();
    assert_eq!(answer["Groups"], expected_groups());
    assert_eq!(
        h.events_of(GROUPS_ADDED)[0].detail["Groups"],
        expected_groups()
    );
    assert!(!h
        .emulator
        .calls()
        .iter()
        .any(|c| c.operation == "PutObject" || c.operation == "CreateMultipartUpload"));
}

#[tokio::test]
async fn a_part_adds_only_its_own_rows_and_names_them_by_the_sources_lines() {
    // A file in three parts of at most two rows (SPEC section 14): the job
    // of part 2 imported source rows 3 and 4, its log numbering them 1
    // and 2. The plan is made again from the source.
    let h = harness_with(Config {
        cloudwatch_logs_role_arn: Some("arn:aws:iam::123456789012:role/cognito-import-logs".into()),
        part_max_rows: 2,
        ..config()
    })
    .await;
    let e = &h.emulator;
    e.create_user_pool(POOL, POOL_NAME, &[]);
    for user in ["ann", "ben", "cid", "dee", "eve"] {
        e.add_user(POOL, user);
    }
    e.create_group(POOL, "admins");
    let source = "cognito:username,email,cognito:groups\r\n\
        ann,ann@example.com,admins\r\n\
        ben,ben@example.com,admins\r\n\
        cid,cid@example.com,admins\r\n\
        dee,dee@example.com,ghost\r\n\
        eve,eve@example.com,admins";
    let stored = e.put_object(BUCKET, KEY, source, &[("user-pool-id", POOL)]);
    let object = ObjectRef {
        etag: Some(stored.etag.trim_matches('"').to_string()),
        ..ObjectRef::new(BUCKET, KEY, None)
    };
    let hash = &cognito_import_starter::drops::names::job_name(&object)[3..19];
    let name = format!("s3-{hash}-p2of3-users.csv");
    e.insert_import_job(POOL, JOB, &name, true);
    e.finish_job(POOL, JOB, "Succeeded", 1, 1, 0, "done");
    e.put_log_events(
        &format!("/aws/cognito/userpools/{POOL}/{POOL_NAME}"),
        &format!("{JOB}/{name}"),
        &[
            "[SUCCEEDED] Line Number 1 - The import succeeded.",
            "[SKIPPED] Line Number 2 - The user already exists.",
        ],
    );
    let part = PartRef {
        number: 2,
        count: 3,
        first_line: None,
        last_line: None,
    };

    let answer = add_to_groups(
        &h.app,
        &AddToGroups {
            part: Some(part),
            ..request(&object, None)
        },
        Deadline::default(),
    )
    .await
    .unwrap();

    let groups = json!({"Added": 1, "Failed": 1, "First": [
        {"Line": 4, "Group": "ghost", "Reason": "ResourceNotFoundException: Group not found."}
    ]});
    assert_eq!(answer, json!({"Done": true, "Groups": groups}));
    assert_eq!(adds(&h), pairs(&[("cid", "admins"), ("dee", "ghost")]));
    assert_eq!(
        h.events_of(GROUPS_ADDED)[0].detail["Part"],
        json!({"Number": 2, "Count": 3, "FirstLine": 3, "LastLine": 4})
    );
    assert_eq!(
        failed_csv(&h).as_deref(),
        Some(
            "line,username,group,reason\r\n\
             4,dee,ghost,ResourceNotFoundException: Group not found.\r\n"
        )
    );
}

#[tokio::test]
async fn an_event_not_published_fails_the_last_call_retryably_and_its_retry_converges() {
    let (h, object) = setup(config(), CSV, &LOG).await;
    h.emulator.inject(Fault::new(
        "PutEvents",
        FaultAction::error(500, "InternalException"),
    ));

    let failed = add_to_groups(&h.app, &request(&object, None), Deadline::default()).await;

    assert_eq!(error_type(&failed), "EventPublishFailed");
    assert!(failed.unwrap_err().is_retryable());
    assert!(added_metric(&h).is_empty());
    h.emulator.clear_faults();
    let answer = add_to_groups(&h.app, &request(&object, None), Deadline::default())
        .await
        .unwrap();
    assert_eq!(answer, json!({"Done": true, "Groups": expected_groups()}));
    assert_eq!(h.events_of(GROUPS_ADDED).len(), 1);
    assert_eq!(memberships(&h), expected_memberships());
    assert_eq!(failed_csv(&h).as_deref(), Some(EXPECTED_FAILED_CSV));
    assert_eq!(added_metric(&h), [json!(4)]);
}

#[tokio::test]
async fn the_preflights_calls_list_every_page_and_take_a_group_made_meanwhile_as_created() {
    let h = harness_with(config()).await;
    let e = &h.emulator;
    e.create_user_pool(POOL, POOL_NAME, &[]);
    for group in ["editors", "admins", "support", "billing", "viewers"] {
        e.create_group(POOL, group);
    }
    e.set_list_groups_page_size(2);

    let names = h.app.cognito().list_groups(POOL).await.unwrap();

    assert_eq!(
        names,
        ["admins", "billing", "editors", "support", "viewers"]
    );
    assert_eq!(e.count("ListGroups"), 3);

    h.app
        .cognito()
        .create_group(POOL, "auditors")
        .await
        .unwrap();
    // A racing delivery created it first: GroupExistsException is success.
    h.app
        .cognito()
        .create_group(POOL, "auditors")
        .await
        .unwrap();
    assert!(e.groups(POOL).contains(&"auditors".to_string()));
    assert_eq!(e.count("CreateGroup"), 2);

    e.inject(Fault::new(
        "CreateGroup",
        FaultAction::error(400, "NotAuthorizedException"),
    ));
    let denied = h.app.cognito().create_group(POOL, "others").await;
    assert_eq!(denied.unwrap_err().error_type(), "NotAuthorizedException");
}

/// SPEC section 17 with the benchmark's target: a job's calls read its file
/// about once (at most 1.2 times), however often they stop early: each call
/// asks S3 for its rows a window at a time, not for the rest of the file.
#[tokio::test]
async fn calls_that_stop_early_read_the_file_about_once() {
    const ROWS: usize = 2_000;
    let pad = "x".repeat(3_000);
    let users: Vec<String> = (0..ROWS).map(|n| format!("u{n:04}")).collect();
    let mut csv = String::from("cognito:username,email,cognito:groups,name\r\n");
    for user in &users {
        csv.push_str(&format!("{user},{user}@example.com,admins,{pad}\r\n"));
    }
    let lines: Vec<String> = (1..=ROWS)
        .map(|n| format!("[SUCCEEDED] Line Number {n} - The import succeeded."))
        .collect();
    let log: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (h, object) = setup(config(), &csv, &log).await;
    for user in &users {
        h.emulator.add_user(POOL, user);
    }

    // Throttled at four users in turn: five calls.
    let mut from = None;
    let mut calls = 0;
    for stop in ["u0400", "u0800", "u1200", "u1600", ""] {
        h.emulator.clear_faults();
        if !stop.is_empty() {
            h.emulator.inject(
                Fault::new(ADD, FaultAction::error(400, "TooManyRequestsException")).matching(stop),
            );
        }
        let answer = add_to_groups(&h.app, &request(&object, from.take()), Deadline::default())
            .await
            .unwrap();
        calls += 1;
        if answer["Done"] == true {
            assert_eq!(answer["Groups"]["Added"], ROWS, "{answer}");
            break;
        }
        from = Some(answer["From"].clone());
    }

    assert_eq!(calls, 5);
    assert_eq!(h.emulator.user_groups(POOL, "u1999"), ["admins"]);
    let served = h.emulator.s3_bytes_served(BUCKET, KEY) as f64;
    let ratio = served / csv.len() as f64;
    assert!(ratio <= 1.2, "read {ratio:.2} times the file's bytes");
}
