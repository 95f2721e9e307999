//! SPEC section 17 before and during the job: a create-mode file with a
//! `cognito:groups` column. Through the real SDK against the emulator: the
//! preflight's `ListGroups` check (a group the pool lacks is one problem,
//! or created first with `CREATE_MISSING_GROUPS`), each job's CSV without
//! the column byte for byte otherwise (whole file, parts, a redelivery
//! without a plan), `Groups` on the Started events and summed on `Drop`,
//! and the column refused on section 4's path.

use cis_emulator::{StoredObject, DEFAULT_CSV_HEADER};
use cis_testkit::*;
use cognito_import_starter::Config;
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::123456789012:role/cognito-import-logs";
const KEY: &str = "imports/users.csv";
const STARTED: &str = "User Import Job Started";
const FAILED: &str = "User Import Job Start Failed";
const COMPLETED: &str = "User Import Job Completed";
const GROUPS: &str = "cognito:groups";

/// The pool's columns with `cognito:groups` after `email`: not the last
/// column, so that the field and the comma before it go.
fn header() -> Vec<&'static str> {
    let mut header = DEFAULT_CSV_HEADER.to_vec();
    let at = header.iter().position(|&c| c == "email").unwrap() + 1;
    header.insert(at, GROUPS);
    header
}

/// One row of `header()` for `user` in `groups` (as written in the file).
fn row(user: &str, groups: &str) -> Vec<String> {
    header()
        .iter()
        .map(|&column| match column {
            "cognito:username" => user.to_string(),
            "email" => format!("{user}@example.com"),
            "email_verified" => "true".into(),
            "phone_number_verified" | "cognito:mfa_enabled" => "false".into(),
            "name" => format!("{user}\\, Jr."),
            GROUPS => groups.to_string(),
            _ => String::new(),
        })
        .collect()
}

/// The file (CRLF line ends) and, beside it, the same file without the
/// column: what Cognito must get.
fn files(rows: &[(&str, &str)]) -> (String, String) {
    let at = header().iter().position(|&c| c == GROUPS).unwrap();
    let mut with = vec![header().join(",")];
    let mut without = vec![header()
        .iter()
        .filter(|&&c| c != GROUPS)
        .copied()
        .collect::<Vec<_>>()
        .join(",")];
    for (user, groups) in rows {
        let mut fields = row(user, groups);
        with.push(fields.join(","));
        fields.remove(at);
        without.push(fields.join(","));
    }
    (with.join("\r\n") + "\r\n", without.join("\r\n") + "\r\n")
}

/// Four users: `ann` in two groups, `ben` in none, `cid` in one whose name
/// holds an escaped comma, `dee` in one.
const ROWS: [(&str, &str); 4] = [
    ("ann", "admins editors"),
    ("ben", ""),
    ("cid", "a\\,b"),
    ("dee", " editors "),
];

fn create_config() -> Config {
    Config {
        cloudwatch_logs_role_arn: Some(ROLE.into()),
        ..test_config()
    }
}

async fn harness_of(config: Config, groups: &[&str]) -> Harness {
    let h = harness_with(config).await;
    h.emulator
        .create_user_pool(POOL, "customers", DEFAULT_CSV_HEADER);
    for group in groups {
        h.emulator.create_group(POOL, group);
    }
    h
}

fn drop_file(h: &Harness, body: &str) -> StoredObject {
    h.emulator
        .put_object(BUCKET, KEY, body, &[("user-pool-id", POOL)])
}

fn operations(h: &Harness) -> Vec<String> {
    h.emulator
        .calls()
        .into_iter()
        .map(|c| c.operation)
        .collect()
}

#[tokio::test]
async fn the_job_gets_the_file_without_the_column_and_the_event_its_counts() {
    let h = harness_of(create_config(), &["admins", "editors", "a,b"]).await;
    let (file, expected) = files(&ROWS);
    drop_file(&h, &file);

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
    let jobs = h.emulator.jobs();
    assert_eq!(jobs.len(), 1);
    let uploaded = h.emulator.uploaded_csv(POOL, &jobs[0].job_id).unwrap();
    assert_eq!(String::from_utf8(uploaded).unwrap(), expected);
    let upload = h.first_call("UploadCsv");
    assert_eq!(
        upload.params["Headers"]["content-length"],
        json!(expected.len().to_string()),
        "{upload:?}"
    );
    let started = h.events_of(STARTED);
    assert_eq!(
        started[0].detail["Groups"],
        json!({"Memberships": 4, "Users": 3, "Names": 3})
    );
    // The pool's groups are listed once, before any job exists.
    let ops = operations(&h);
    let listed = ops.iter().position(|op| op == "ListGroups").unwrap();
    let created_at = ops
        .iter()
        .position(|op| op == "CreateUserImportJob")
        .unwrap();
    assert!(listed < created_at, "{ops:?}");
    assert_eq!(h.emulator.count("ListGroups"), 1);
    assert_eq!(h.emulator.count("CreateGroup"), 0);
}

#[tokio::test]
async fn a_file_whose_rows_name_no_group_says_nothing_of_groups() {
    let h = harness_of(create_config(), &[]).await;
    let (file, expected) = files(&[("ann", ""), ("ben", "  ")]);
    drop_file(&h, &file);

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
    let job = &h.emulator.jobs()[0];
    let uploaded = h.emulator.uploaded_csv(POOL, &job.job_id).unwrap();
    assert_eq!(String::from_utf8(uploaded).unwrap(), expected);
    assert!(h.events_of(STARTED)[0].detail.get("Groups").is_none());
    assert_eq!(h.emulator.count("ListGroups"), 0);
}

#[tokio::test]
async fn a_group_the_pool_lacks_is_one_problem_and_no_job() {
    let h = harness_of(create_config(), &["admins"]).await;
    h.emulator.set_list_groups_page_size(1);
    h.emulator.create_group(POOL, "support");
    let (file, _) = files(&ROWS);
    drop_file(&h, &file);

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Outcome"], "Failed", "{summary}");
    assert_eq!(summary["Results"][0]["Error"]["Type"], "InvalidCsv");
    let failed = &h.events_of(FAILED)[0].detail;
    assert_eq!(failed["Error"]["Type"], "InvalidCsv", "{failed}");
    let problems = failed["Problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{failed}");
    // `editors` is first named on line 2 (ann's row), `a,b` on line 4:
    // three memberships in all; the names themselves are not echoed.
    assert_eq!(problems[0]["Line"], 2);
    assert_eq!(problems[0]["Column"], GROUPS);
    let text = problems[0]["Problem"].as_str().unwrap();
    assert!(
        text.starts_with("2 group(s) named in 3 membership(s)"),
        "{text}"
    );
    assert!(text.contains("line 2, 4"), "{text}");
    assert!(text.contains("CREATE_MISSING_GROUPS=true"), "{text}");
    assert!(!text.contains("editors"), "{text}");
    // Every page was read; nothing was created, uploaded or started.
    assert_eq!(h.emulator.count("ListGroups"), 2);
    for op in ["CreateGroup", "CreateUserImportJob", "UploadCsv"] {
        assert_eq!(h.emulator.count(op), 0, "{op}");
    }
}

#[tokio::test]
async fn missing_groups_are_created_first_when_the_option_says_so() {
    let config = Config {
        create_missing_groups: true,
        ..create_config()
    };
    let h = harness_of(config, &["admins"]).await;
    let (file, _) = files(&ROWS);
    drop_file(&h, &file);

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
    assert_eq!(h.emulator.groups(POOL), ["a,b", "admins", "editors"]);
    let creates: Vec<String> = h
        .emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation == "CreateGroup")
        .map(|c| c.params["GroupName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(creates, ["editors", "a,b"]);
    let ops = operations(&h);
    let last_group = ops.iter().rposition(|op| op == "CreateGroup").unwrap();
    let job = ops
        .iter()
        .position(|op| op == "CreateUserImportJob")
        .unwrap();
    assert!(last_group < job, "{ops:?}");
}

#[tokio::test]
async fn the_column_is_a_problem_on_the_path_that_names_the_job() {
    let config = Config {
        validate_csv: true,
        ..test_config()
    };
    let h = harness_of(config, &["admins", "editors"]).await;
    let (file, _) = files(&ROWS);
    let job = h.emulator.create_import_job(POOL, "named", false);
    h.emulator.put_object(
        BUCKET,
        KEY,
        file,
        &[("user-pool-id", POOL), ("job-id", &job.job_id)],
    );

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Error"]["Type"], "InvalidCsv");
    let failed = &h.events_of(FAILED)[0].detail;
    assert_eq!(failed["Problems"][0]["Line"], 1, "{failed}");
    assert_eq!(failed["Problems"][0]["Column"], GROUPS, "{failed}");
    assert_eq!(h.emulator.count("StartUserImportJob"), 0);
}

#[tokio::test]
async fn a_redelivery_without_a_plan_counts_the_file_again() {
    let config = Config {
        results_prefix: String::new(),
        ..create_config()
    };
    let h = harness_of(config, &["admins", "editors", "a,b"]).await;
    let (file, expected) = files(&ROWS);
    drop_file(&h, &file);
    h.emulator.inject(
        cis_emulator::Fault::new(
            "UploadCsv",
            cis_emulator::FaultAction::error(503, "SlowDown"),
        )
        .times(1),
    );

    let first = h.invoke(created(KEY)).await;
    assert_eq!(error_type(&first), "UploadFailed");
    let second = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(second["Results"][0]["Outcome"], "Started", "{second}");
    let job = &h.emulator.jobs()[0];
    let uploaded = h.emulator.uploaded_csv(POOL, &job.job_id).unwrap();
    assert_eq!(String::from_utf8(uploaded).unwrap(), expected);
    assert_eq!(
        h.events_of(STARTED)[0].detail["Groups"],
        json!({"Memberships": 4, "Users": 3, "Names": 3})
    );
    // Checked once: the second delivery only counted.
    assert_eq!(h.emulator.count("GetCSVHeader"), 1);
}

/// Parts of two rows: each part's upload is its header and rows without
/// the column, its Started event its own counts; the last part's Completed
/// event sums them on `Drop`; the plan keeps them.
#[tokio::test]
async fn parts_go_without_the_column_and_carry_their_counts() {
    let config = Config {
        part_max_rows: 2,
        ..create_config()
    };
    let h = harness_of(config, &["admins", "editors", "a,b"]).await;
    h.emulator.enforce_one_active_job(true);
    let mut rows = ROWS.to_vec();
    rows.push(("eve", "admins"));
    let (file, expected) = files(&rows);
    drop_file(&h, &file);
    let expected_lines: Vec<&str> = expected.split_inclusive("\r\n").collect();

    let mut jobs = Vec::new();
    for k in 1..=3usize {
        let _ = h.invoke(created(KEY)).await;
        let started = h.events_of(STARTED);
        assert_eq!(started.len(), k, "{started:?}");
        let job_id = started[k - 1].detail["UserImportJob"]["JobId"]
            .as_str()
            .unwrap()
            .to_string();
        let first = 2 * k - 1;
        let last = (2 * k).min(rows.len());
        let part = expected_lines[0].to_string() + &expected_lines[first..=last].concat();
        let uploaded = h.emulator.uploaded_csv(POOL, &job_id).unwrap();
        assert_eq!(String::from_utf8(uploaded).unwrap(), part, "part {k}");
        h.emulator.run_import_job(POOL, &job_id).unwrap();
        jobs.push(job_id);
    }
    let groups: Vec<Value> = h
        .events_of(STARTED)
        .iter()
        .map(|e| e.detail["Groups"].clone())
        .collect();
    assert_eq!(
        groups,
        [
            json!({"Memberships": 2, "Users": 1, "Names": 2}),
            json!({"Memberships": 2, "Users": 2, "Names": 2}),
            json!({"Memberships": 1, "Users": 1, "Names": 1}),
        ]
    );
    // The last part's Track, with the Started event's Object and Part.
    let last = &h.events_of(STARTED)[2].detail;
    h.invoke(
        json!({"Action": "Track", "UserPoolId": POOL, "JobId": jobs[2],
                    "Object": last["Object"], "Part": last["Part"]}),
    )
    .await
    .unwrap();
    let completed = &h.events_of(COMPLETED)[0].detail;
    assert_eq!(
        completed["Drop"]["Groups"],
        json!({"Memberships": 5, "Users": 4, "Names": 5}),
        "{completed}"
    );
}
