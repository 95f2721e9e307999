//! SPEC section 15, keep their passwords: a file with a `password_hash`
//! column imports its users with their old passwords. Through the real SDK
//! against the emulator: the algorithm from the metadata (any case) or the
//! first hash, each job created with it, bad hashes as problems at their
//! lines (and never in a log), `Passwords` on the Started events, a pool
//! that cannot take hashes, `VALIDATE_CSV` on section 4's path, and the
//! results files.

use cis_emulator::{Fault, FaultAction, ImportJob, StoredObject, DEFAULT_CSV_HEADER};
use cis_testkit::*;
use cognito_import_starter::Config;
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::123456789012:role/cognito-import-logs";
const KEY: &str = "imports/users.csv";
const POOL_NAME: &str = "customers";
const STARTED: &str = "User Import Job Started";
const FAILED: &str = "User Import Job Start Failed";
const ALGORITHM: &str = "password-hashing-algorithm";

const BCRYPT_ANN: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
const BCRYPT_CID: &str = "$2y$12$abcdefghijklmnopqrstuuFwq1Nw7/D7y2.QwT9oCyEJB.r5bR5Ua";
const BCRYPT_COST_13: &str = "$2b$13$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
const DJANGO: &str = "pbkdf2_sha256$870000$Zm9vYmFyc2FsdA$aGFzaGhhc2hoYXNoaGFzaA==";
/// As the file writes it: its commas escaped like every comma in a value.
const ARGON2ID_IN_FILE: &str = "$argon2id$v=19$m=19456\\,t=2\\,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";

/// The pool's columns plus `password_hash`.
fn header() -> Vec<&'static str> {
    let mut header = DEFAULT_CSV_HEADER.to_vec();
    header.push("password_hash");
    header
}

/// One valid row of `header()` for `user`, with `changes` (column, raw value).
fn row(user: &str, changes: &[(&str, &str)]) -> String {
    header()
        .iter()
        .map(|&column| {
            if let Some((_, value)) = changes.iter().find(|(c, _)| *c == column) {
                return value.to_string();
            }
            match column {
                "cognito:username" => user.to_string(),
                "email" => format!("{user}@example.com"),
                "email_verified" => "true".into(),
                "phone_number_verified" => "false".into(),
                "cognito:mfa_enabled" => "false".into(),
                _ => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A file of `header()` and one row per (user, hash).
fn file_of(users: &[(&str, &str)]) -> String {
    let mut text = header().join(",");
    for (user, hash) in users {
        text.push('\n');
        text.push_str(&row(user, &[("password_hash", hash)]));
    }
    text + "\n"
}

fn create_config() -> Config {
    Config {
        cloudwatch_logs_role_arn: Some(ROLE.into()),
        ..test_config()
    }
}

async fn create_harness(config: Config) -> Harness {
    let h = harness_with(config).await;
    h.emulator
        .create_user_pool(POOL, POOL_NAME, DEFAULT_CSV_HEADER);
    h
}

fn drop_file(h: &Harness, body: &str, metadata: &[(&str, &str)]) -> StoredObject {
    let mut all = vec![("user-pool-id", POOL)];
    all.extend_from_slice(metadata);
    h.emulator.put_object(BUCKET, KEY, body, &all)
}

fn only_job(h: &Harness) -> ImportJob {
    let jobs = h.emulator.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    jobs[0].clone()
}

fn cognito_calls(h: &Harness) -> Vec<String> {
    const COGNITO: [&str; 5] = [
        "ListUserImportJobs",
        "GetCSVHeader",
        "CreateUserImportJob",
        "StartUserImportJob",
        "DescribeUserImportJob",
    ];
    h.emulator
        .calls()
        .into_iter()
        .map(|call| call.operation)
        .filter(|op| COGNITO.contains(&op.as_str()))
        .collect()
}

fn failure(h: &Harness) -> Value {
    let events = h.events_of(FAILED);
    assert_eq!(events.len(), 1, "{events:?}");
    events[0].detail.clone()
}

fn places(detail: &Value) -> Vec<(u64, String)> {
    detail["Problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["Line"].as_u64().unwrap(),
                p["Column"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_metadatas_algorithm_in_any_case_makes_the_job_and_the_users() {
    let h = create_harness(create_config()).await;
    let body = file_of(&[("ann", BCRYPT_ANN), ("ben", ""), ("cid", BCRYPT_CID)]);
    drop_file(&h, &body, &[("Password-Hashing-Algorithm", " bcrypt ")]);

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
    let create = h.first_call("CreateUserImportJob");
    assert_eq!(create.params["PasswordHashingAlgorithm"], "BCRYPT");
    let job = only_job(&h);
    assert_eq!(job.password_hashing_algorithm.as_deref(), Some("BCRYPT"));
    assert_eq!(
        h.emulator.uploaded_csv(POOL, &job.job_id),
        Some(body.into_bytes())
    );
    let started = h.events_of(STARTED);
    assert_eq!(started.len(), 1);
    assert_eq!(
        started[0].detail["Passwords"],
        json!({"Algorithm": "BCRYPT", "Hashes": 2, "Empty": 1})
    );
    assert_eq!(
        started[0].detail["UserImportJob"]["PasswordHashingAlgorithm"],
        "BCRYPT"
    );
    // Cognito creates the users with a hash CONFIRMED, the other to reset.
    h.emulator.run_import_job(POOL, &job.job_id).unwrap();
    let status = |user| h.emulator.user_status(POOL, user);
    assert_eq!(status("ann").as_deref(), Some("CONFIRMED"));
    assert_eq!(status("ben").as_deref(), Some("RESET_REQUIRED"));
    assert_eq!(status("cid").as_deref(), Some("CONFIRMED"));
}

#[tokio::test]
async fn a_redelivery_after_a_failed_upload_still_says_what_the_hashes_are() {
    let h = create_harness(create_config()).await;
    drop_file(&h, &file_of(&[("ann", BCRYPT_ANN), ("ben", "")]), &[]);
    h.emulator
        .inject(Fault::new("UploadCsv", FaultAction::error(503, "SlowDown")).times(1));

    let first = h.invoke(created(KEY)).await;
    assert_eq!(error_type(&first), "UploadFailed");
    let second = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(second["Results"][0]["Outcome"], "Started", "{second}");
    // The file was checked once; its counts came from its plan.
    assert_eq!(h.emulator.count("GetCSVHeader"), 1);
    let started = h.events_of(STARTED);
    assert_eq!(started.len(), 1);
    assert_eq!(
        started[0].detail["Passwords"],
        json!({"Algorithm": "BCRYPT", "Hashes": 1, "Empty": 1})
    );
    assert_eq!(
        only_job(&h).password_hashing_algorithm.as_deref(),
        Some("BCRYPT")
    );
}

#[tokio::test]
async fn a_job_replaced_after_its_url_expired_keeps_the_files_algorithm() {
    let h = create_harness(create_config()).await;
    drop_file(&h, &file_of(&[("ann", BCRYPT_ANN), ("ben", "")]), &[]);
    h.emulator
        .inject(Fault::new("UploadCsv", FaultAction::error(503, "SlowDown")).times(1));
    let first = h.invoke(created(KEY)).await;
    assert_eq!(error_type(&first), "UploadFailed");
    // Its pre-signed URL expires 15 minutes after its creation: never
    // uploaded to, the job is replaced by a new one of the same name.
    let expired = only_job(&h);
    h.emulator
        .set_creation_date_ms(POOL, &expired.job_id, now_ms() - 20 * 60 * 1000);

    let second = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(second["Results"][0]["Outcome"], "Started", "{second}");
    let jobs = h.emulator.jobs();
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        assert_eq!(
            job.password_hashing_algorithm.as_deref(),
            Some("BCRYPT"),
            "{}",
            job.job_id
        );
    }
    let replacement = jobs
        .iter()
        .find(|job| job.job_id != expired.job_id)
        .unwrap();
    assert_eq!(replacement.job_name, expired.job_name);
    assert_eq!(second["Results"][0]["JobId"], replacement.job_id.as_str());
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

#[tokio::test]
async fn without_metadata_the_first_hash_names_the_algorithm() {
    let h = create_harness(create_config()).await;
    let body = file_of(&[("ann", ""), ("ben", ARGON2ID_IN_FILE)]);
    drop_file(&h, &body, &[]);

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
    let create = h.first_call("CreateUserImportJob");
    assert_eq!(create.params["PasswordHashingAlgorithm"], "ARGON2ID");
    let started = &h.events_of(STARTED)[0].detail;
    assert_eq!(
        started["Passwords"],
        json!({"Algorithm": "ARGON2ID", "Hashes": 1, "Empty": 1})
    );
}

#[tokio::test]
async fn a_column_of_empty_hashes_or_none_imports_without_an_algorithm() {
    let h = create_harness(create_config()).await;
    drop_file(&h, &file_of(&[("ann", ""), ("ben", "")]), &[]);

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
    let create = h.first_call("CreateUserImportJob");
    assert!(
        create.params.get("PasswordHashingAlgorithm").is_none(),
        "{create:?}"
    );
    assert!(h.events_of(STARTED)[0].detail.get("Passwords").is_none());
    // An empty metadata value counts as absent.
    let h = create_harness(create_config()).await;
    drop_file(&h, &file_of(&[("ann", "")]), &[(ALGORITHM, " ")]);
    let summary = h.invoke(created(KEY)).await.unwrap();
    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
}

#[tokio::test]
async fn an_unknown_algorithm_is_invalid_metadata_before_any_cognito_call() {
    let h = create_harness(create_config()).await;
    drop_file(
        &h,
        &file_of(&[("ann", BCRYPT_ANN)]),
        &[(ALGORITHM, "md5crypt")],
    );

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Outcome"], "Failed");
    assert_eq!(
        summary["Results"][0]["Error"]["Type"],
        "InvalidImportMetadata"
    );
    let message = summary["Results"][0]["Error"]["Message"].as_str().unwrap();
    assert!(
        message.contains("BCRYPT, SCRYPT, ARGON2ID or PBKDF2_SHA256"),
        "{message}"
    );
    assert_eq!(cognito_calls(&h), Vec::<String>::new());
    assert_eq!(failure(&h)["Error"]["Type"], "InvalidImportMetadata");
}

#[tokio::test]
async fn the_renamed_metadata_key_is_read() {
    let config = Config {
        password_algorithm_metadata_key: "hash-alg".into(),
        ..create_config()
    };
    let h = create_harness(config).await;
    drop_file(
        &h,
        &file_of(&[("ann", "16384$8$1$0a1b$00ff")]),
        &[("Hash-Alg", "Scrypt")],
    );

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
    let create = h.first_call("CreateUserImportJob");
    assert_eq!(create.params["PasswordHashingAlgorithm"], "SCRYPT");
}

#[tokio::test]
async fn an_algorithm_without_the_column_is_invalid_csv_at_line_1() {
    let h = create_harness(create_config()).await;
    let body = cis_emulator::valid_csv(&["ann", "ben"]);
    drop_file(&h, &body, &[(ALGORITHM, "PBKDF2_SHA256")]);

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Error"]["Type"], "InvalidCsv");
    let detail = failure(&h);
    assert_eq!(places(&detail), [(1, "password_hash".to_string())]);
    assert_eq!(detail["ProblemCount"], 1);
    assert!(
        h.emulator.jobs().is_empty(),
        "no job for a file Cognito would fail"
    );
}

#[tokio::test]
async fn bad_hashes_are_problems_at_their_lines_and_never_logged() {
    let h = create_harness(create_config()).await;
    let md5 = "5f4dcc3b5aa765d61d8327deb882cf99";
    let hashes = [
        BCRYPT_ANN,
        BCRYPT_COST_13,
        "",
        DJANGO,
        md5,
        ARGON2ID_IN_FILE,
    ];
    let users = ["ann", "ben", "cid", "dee", "eve", "fay"];
    let rows: Vec<(&str, &str)> = users.iter().copied().zip(hashes).collect();
    drop_file(&h, &file_of(&rows), &[]);

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Error"]["Type"], "InvalidCsv");
    let detail = failure(&h);
    let column = || "password_hash".to_string();
    assert_eq!(
        places(&detail),
        [(3, column()), (5, column()), (6, column()), (7, column())]
    );
    let problem = |i: usize| {
        detail["Problems"][i]["Problem"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(problem(0).contains("cost"), "{}", problem(0));
    assert!(problem(1).contains("Django"), "{}", problem(1));
    assert!(problem(2).contains("unsalted"), "{}", problem(2));
    assert!(
        problem(3).contains("a job takes one algorithm"),
        "{}",
        problem(3)
    );
    assert!(
        problem(3).contains("2 BCRYPT, 1 ARGON2ID"),
        "{}",
        problem(3)
    );
    assert!(h.emulator.jobs().is_empty());
    // No hash, nor a part of one, in the event or the logs.
    let event = detail.to_string();
    let logs = test_logs();
    for hash in hashes.iter().filter(|h| !h.is_empty()) {
        let secret = &hash.replace("\\,", ",")[hash.len() / 2..];
        assert!(!event.contains(secret), "{hash} in {event}");
        assert!(!logs.contains(secret), "{hash} in the logs");
    }
}

#[tokio::test]
async fn mfa_enabled_may_be_empty() {
    let h = create_harness(create_config()).await;
    let body = format!(
        "{}\n{}\n",
        header().join(","),
        row(
            "ann",
            &[("cognito:mfa_enabled", ""), ("password_hash", BCRYPT_ANN)]
        )
    );
    drop_file(&h, &body, &[]);

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
}

#[tokio::test]
async fn a_pool_that_cannot_take_hashes_says_how_to_import_without_them() {
    let h = create_harness(create_config()).await;
    h.emulator.set_pool_takes_password_hashes(POOL, false);
    drop_file(&h, &file_of(&[("ann", BCRYPT_ANN)]), &[]);

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(
        summary["Results"][0]["Error"]["Type"],
        "OperationNotEnabledException"
    );
    let detail = failure(&h);
    assert_eq!(detail["Error"]["Type"], "OperationNotEnabledException");
    let message = detail["Error"]["Message"].as_str().unwrap();
    assert!(
        message.contains("may not import password hashes yet")
            && message.contains("once its password_hash column is removed"),
        "{message}"
    );
    assert!(h.emulator.jobs().is_empty());
    // Without hashes the same pool imports.
    let h2 = create_harness(create_config()).await;
    h2.emulator.set_pool_takes_password_hashes(POOL, false);
    drop_file(&h2, &file_of(&[("ann", "")]), &[]);
    let summary = h2.invoke(created(KEY)).await.unwrap();
    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
}

#[tokio::test]
async fn parts_are_created_with_the_algorithm_and_count_their_own_rows() {
    let config = Config {
        part_max_rows: 2,
        ..create_config()
    };
    let h = create_harness(config).await;
    h.emulator.enforce_one_active_job(true);
    let rows = [
        ("ann", BCRYPT_ANN),
        ("ben", ""),
        ("cid", BCRYPT_CID),
        ("dee", BCRYPT_ANN),
    ];
    drop_file(&h, &file_of(&rows), &[(ALGORITHM, "BCRYPT")]);

    let first = h.invoke(created(KEY)).await;
    assert_eq!(error_type(&first), "ImportPartsRemaining");
    let jobs = h.emulator.jobs();
    assert_eq!(jobs.len(), 1);
    h.emulator
        .set_job_status(POOL, &jobs[0].job_id, "Succeeded");
    let second = h.invoke(created(KEY)).await.unwrap();
    assert_eq!(second["Results"][0]["Outcome"], "Started", "{second}");

    let creates: Vec<Value> = h
        .emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation == "CreateUserImportJob")
        .map(|c| c.params)
        .collect();
    assert_eq!(creates.len(), 2);
    for create in &creates {
        assert_eq!(create["PasswordHashingAlgorithm"], "BCRYPT");
    }
    let passwords: Vec<Value> = h
        .events_of(STARTED)
        .into_iter()
        .map(|e| e.detail["Passwords"].clone())
        .collect();
    assert_eq!(
        passwords,
        [
            json!({"Algorithm": "BCRYPT", "Hashes": 1, "Empty": 1}),
            json!({"Algorithm": "BCRYPT", "Hashes": 2, "Empty": 0})
        ]
    );
    // The plan keeps them for later receives.
    let plan_key = h
        .emulator
        .object_keys()
        .into_iter()
        .map(|(_, key)| key)
        .find(|key| key.starts_with("results/plans/"))
        .expect("a plan");
    let plan: Value =
        serde_json::from_slice(&h.emulator.object(BUCKET, &plan_key).unwrap().body).unwrap();
    assert_eq!(plan["PasswordHashingAlgorithm"], "BCRYPT");
    // The last part's Completed event sums them in `Drop`.
    let last = h.events_of(STARTED)[1].detail.clone();
    let last_job = last["UserImportJob"]["JobId"].as_str().unwrap().to_string();
    h.emulator.set_job_status(POOL, &last_job, "Succeeded");
    let track = json!({"Action": "Track", "UserPoolId": POOL, "JobId": last_job,
        "Object": last["Object"], "Part": last["Part"]});
    h.invoke(track).await.unwrap();
    let completed = h.events_of("User Import Job Completed");
    assert_eq!(
        completed[0].detail["Drop"]["Passwords"],
        json!({"Algorithm": "BCRYPT", "Hashes": 3, "Empty": 1})
    );
    assert_eq!(
        plan["Parts"][0]["Passwords"],
        json!({"Hashes": 1, "Empty": 1})
    );
}

async fn named_harness() -> (Harness, ImportJob) {
    let config = Config {
        validate_csv: true,
        ..test_config()
    };
    let h = harness_with(config).await;
    h.emulator
        .create_user_pool(POOL, POOL_NAME, DEFAULT_CSV_HEADER);
    let job = h.emulator.create_import_job(POOL, "nightly", true);
    (h, job)
}

fn drop_named(h: &Harness, job: &ImportJob, body: &str) {
    h.emulator.put_object(
        BUCKET,
        KEY,
        body,
        &[("user-pool-id", POOL), ("job-id", &job.job_id)],
    );
}

#[tokio::test]
async fn validate_csv_checks_by_the_jobs_own_algorithm() {
    let (h, job) = named_harness().await;
    h.emulator
        .set_job_password_algorithm(POOL, &job.job_id, Some("BCRYPT"));
    drop_named(&h, &job, &file_of(&[("ann", BCRYPT_ANN), ("ben", "")]));

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
    let detail = &h.events_of(STARTED)[0].detail;
    assert_eq!(
        detail["Passwords"],
        json!({"Algorithm": "BCRYPT", "Hashes": 1, "Empty": 1})
    );
    assert_eq!(detail["CreatedJob"], json!(false));

    // A hash of another algorithm than the job's is a problem.
    let (h, job) = named_harness().await;
    h.emulator
        .set_job_password_algorithm(POOL, &job.job_id, Some("SCRYPT"));
    drop_named(&h, &job, &file_of(&[("ann", BCRYPT_ANN)]));
    let summary = h.invoke(created(KEY)).await.unwrap();
    assert_eq!(summary["Results"][0]["Error"]["Type"], "InvalidCsv");
    assert_eq!(places(&failure(&h)), [(2, "password_hash".to_string())]);
    assert_eq!(h.status(&job), "Created");
}

#[tokio::test]
async fn validate_csv_with_a_job_without_an_algorithm_refuses_every_hash() {
    let (h, job) = named_harness().await;
    drop_named(&h, &job, &file_of(&[("ann", ""), ("ben", BCRYPT_ANN)]));

    let summary = h.invoke(created(KEY)).await.unwrap();

    assert_eq!(summary["Results"][0]["Error"]["Type"], "InvalidCsv");
    let detail = failure(&h);
    assert_eq!(places(&detail), [(3, "password_hash".to_string())]);
    let problem = detail["Problems"][0]["Problem"].as_str().unwrap();
    assert!(
        problem.contains("without a password hashing algorithm"),
        "{problem}"
    );
    assert_eq!(h.status(&job), "Created");
    // The metadata's algorithm is create mode's only: here it changes nothing.
    let (h, job) = named_harness().await;
    h.emulator.put_object(
        BUCKET,
        KEY,
        file_of(&[("ann", "")]),
        &[
            ("user-pool-id", POOL),
            ("job-id", &job.job_id),
            (ALGORITHM, "nonsense"),
        ],
    );
    let summary = h.invoke(created(KEY)).await.unwrap();
    assert_eq!(summary["Results"][0]["Outcome"], "Started", "{summary}");
    assert!(h.events_of(STARTED)[0].detail.get("Passwords").is_none());
}

#[tokio::test]
async fn failed_csv_keeps_the_hashes_and_report_csv_holds_none() {
    let h = create_harness(create_config()).await;
    // ben's email passes the preflight but not Cognito.
    let body = [
        header().join(","),
        row("ann", &[("password_hash", BCRYPT_ANN)]),
        row(
            "ben",
            &[("password_hash", BCRYPT_CID), ("email", "bad-email")],
        ),
    ]
    .join("\r\n")
        + "\r\n";
    drop_file(&h, &body, &[]);
    let summary = h.invoke(created(KEY)).await.unwrap();
    let job_id = summary["Results"][0]["JobId"].as_str().unwrap().to_string();
    let object = h.events_of(STARTED)[0].detail["Object"].clone();
    h.emulator.run_import_job(POOL, &job_id).unwrap();

    let track = json!({"Action": "Track", "UserPoolId": POOL, "JobId": job_id, "Object": object});
    h.invoke(track).await.unwrap();

    let read = |name: &str| {
        let key = format!("results/{job_id}/{name}");
        String::from_utf8(h.emulator.object(BUCKET, &key).expect(name).body).unwrap()
    };
    let lines: Vec<&str> = body.split_inclusive("\r\n").collect();
    assert_eq!(read("failed.csv"), format!("{}{}", lines[0], lines[2]));
    let report = read("report.csv");
    assert_eq!(
        report,
        "line,status,reason,username\r\n2,FAILED,Invalid email address format.,ben\r\n"
    );
    assert!(!report.contains("$2y$"));
    assert_eq!(
        h.emulator.user_status(POOL, "ann").as_deref(),
        Some("CONFIRMED")
    );
}
