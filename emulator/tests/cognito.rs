//! The emulated Cognito user-import-job API, driven by the real SDK client:
//! the job's life cycle, its pre-signed upload, describe, list, the CSV
//! header and the pool.

mod common;

use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use cis_emulator::{Emulator, DEFAULT_CSV_HEADER, DEFAULT_POOL_NAME};
use common::*;

#[tokio::test]
async fn import_job_lifecycle_with_upload() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.create_user_pool(POOL, "people", DEFAULT_CSV_HEADER);

    let created = c
        .cognito
        .create_user_import_job()
        .user_pool_id(POOL)
        .job_name("s3-0123456789abcdef-users.csv")
        .cloud_watch_logs_role_arn(ROLE)
        .send()
        .await
        .expect("create");
    let job = created.user_import_job().expect("job").clone();
    let job_id = job.job_id().expect("id").to_string();
    assert!(
        job_id.starts_with("import-") && job_id.len() == 17,
        "{job_id}"
    );
    assert_eq!(job.status().map(|s| s.as_str()), Some("Created"));
    assert!(job.start_date().is_none());
    let url = job.pre_signed_url().expect("url").to_string();
    assert!(url.starts_with(&format!("{}/_upload/{POOL}/{job_id}?", emulator.endpoint())));
    assert!(url.contains("X-Amz-Signature="));
    let stored = emulator.job(POOL, &job_id).expect("stored job");
    assert_eq!(stored.pre_signed_url, url);
    assert_eq!(stored.cloudwatch_logs_role_arn, ROLE);
    // Dates keep milliseconds (to the nearest one: f64 seconds on the wire).
    let creation = job.creation_date().expect("creation date");
    let creation_ms =
        creation.secs() * 1000 + (i64::from(creation.subsec_nanos()) + 500_000) / 1_000_000;
    assert_eq!(creation_ms, stored.creation_date_ms);

    // Start without a CSV: PreconditionNotMet.
    let error = c
        .cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job_id)
        .send()
        .await
        .expect_err("no csv");
    assert_eq!(error.code(), Some("PreconditionNotMetException"));
    let no_csv = format!("No csv file was uploaded for {job_id}");
    assert_eq!(error.message(), Some(no_csv.as_str()));

    let csv = b"cognito:username,email\nalice,alice@example.com\n";
    let length = csv.len().to_string();
    // Without the KMS header: 403.
    let (status, body) = plain_put(&url, &[("Content-Length", &length)], csv).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    // Without Content-Length: 411.
    let (status, _) = plain_put(&url, &[("x-amz-server-side-encryption", "aws:kms")], b"").await;
    assert_eq!(status, 411);
    // With another signature: 403.
    let last = if url.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &url[..url.len() - 1]);
    let (status, body) = plain_put(
        &forged,
        &[
            ("x-amz-server-side-encryption", "aws:kms"),
            ("Content-Length", &length),
        ],
        csv,
    )
    .await;
    assert_eq!(status, 403);
    assert!(body.contains("SignatureDoesNotMatch"), "{body}");
    assert!(!emulator.job(POOL, &job_id).expect("job").csv_uploaded);
    // Right: 200.
    let (status, body) = plain_put(
        &url,
        &[
            ("x-amz-server-side-encryption", "aws:kms"),
            ("Content-Length", &length),
        ],
        csv,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        emulator.uploaded_csv(POOL, &job_id).as_deref(),
        Some(&csv[..])
    );
    assert!(emulator.job(POOL, &job_id).expect("job").csv_uploaded);
    let uploads: Vec<_> = emulator
        .calls()
        .into_iter()
        .filter(|call| call.operation == "UploadCsv")
        .collect();
    assert_eq!(uploads.len(), 4);
    assert_eq!(uploads[3].service, "upload");
    assert_eq!(uploads[3].status, 200);
    assert_eq!(uploads[3].params["JobId"], job_id.as_str());
    assert_eq!(uploads[3].params["UserPoolId"], POOL);
    assert_eq!(
        uploads[3].params["Headers"]["x-amz-server-side-encryption"],
        "aws:kms"
    );
    assert_eq!(
        uploads[3].params["Headers"]["content-length"],
        length.as_str()
    );
    assert_eq!(
        uploads.iter().map(|c| c.status).collect::<Vec<_>>(),
        [403, 411, 403, 200]
    );

    // Start: Pending with a StartDate.
    let started = c
        .cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job_id)
        .send()
        .await
        .expect("start");
    let record = started.user_import_job().expect("job");
    assert_eq!(record.status().map(|s| s.as_str()), Some("Pending"));
    assert!(record.start_date().is_some());
    assert_eq!(record.job_name(), Some("s3-0123456789abcdef-users.csv"));
    assert_eq!(record.cloud_watch_logs_role_arn(), Some(ROLE));
    assert_eq!(emulator.job(POOL, &job_id).expect("job").status, "Pending");

    // Again: PreconditionNotMet; the upload is refused now too.
    let error = c
        .cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job_id)
        .send()
        .await
        .expect_err("started twice");
    assert_eq!(error.code(), Some("PreconditionNotMetException"));
    assert!(error
        .into_service_error()
        .is_precondition_not_met_exception());
    let (status, _) = plain_put(
        &url,
        &[
            ("x-amz-server-side-encryption", "aws:kms"),
            ("Content-Length", &length),
        ],
        csv,
    )
    .await;
    assert_eq!(status, 403);

    // Stop, and stop again.
    let stopped = c
        .cognito
        .stop_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job_id)
        .send()
        .await
        .expect("stop");
    let record = stopped.user_import_job().expect("job");
    assert_eq!(record.status().map(|s| s.as_str()), Some("Stopped"));
    assert!(record.completion_date().is_some());
    let error = c
        .cognito
        .stop_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job_id)
        .send()
        .await
        .expect_err("stopped twice");
    assert_eq!(error.code(), Some("PreconditionNotMetException"));
}

#[tokio::test]
async fn describe_list_header_and_pool() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    let seeded = emulator.insert_import_job(POOL, "import-Sample0001", "sample", true);
    assert_eq!(seeded.status, "Created");
    assert!(seeded.csv_uploaded);
    let mut ids = vec![seeded.job_id.clone()];
    for n in 0..4 {
        ids.push(
            emulator
                .create_import_job(POOL, &format!("job-{n}"), false)
                .job_id,
        );
    }
    emulator.create_import_job("eu-west-1_Other", "elsewhere", false);
    assert_eq!(emulator.jobs().len(), 6);

    // Describe a finished job: counts, message and dates.
    emulator.set_job_status(POOL, &ids[1], "InProgress");
    emulator.finish_job(POOL, &ids[1], "Failed", 3, 1, 2, "Too many failures");
    let described = c
        .cognito
        .describe_user_import_job()
        .user_pool_id(POOL)
        .job_id(&ids[1])
        .send()
        .await
        .expect("describe");
    let record = described.user_import_job().expect("job");
    assert_eq!(record.status().map(|s| s.as_str()), Some("Failed"));
    assert_eq!(
        (
            record.imported_users(),
            record.skipped_users(),
            record.failed_users()
        ),
        (3, 1, 2)
    );
    assert_eq!(record.completion_message(), Some("Too many failures"));
    assert!(record.start_date().is_some() && record.completion_date().is_some());
    let record = c
        .cognito
        .describe_user_import_job()
        .user_pool_id(POOL)
        .job_id(&ids[0])
        .send()
        .await
        .expect("describe seeded");
    let record = record.user_import_job().expect("job");
    assert!(record.start_date().is_none() && record.completion_message().is_none());

    // The seeded job (CSV already uploaded) starts.
    c.cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id(&ids[0])
        .send()
        .await
        .expect("start seeded");

    // List: newest first, real paging.
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = c
            .cognito
            .list_user_import_jobs()
            .user_pool_id(POOL)
            .max_results(2)
            .set_pagination_token(token.clone())
            .send()
            .await
            .expect("list");
        pages += 1;
        listed.extend(
            page.user_import_jobs()
                .iter()
                .filter_map(|job| job.job_id().map(str::to_string)),
        );
        token = page.pagination_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    ids.reverse();
    assert_eq!(listed, ids);
    let error = c
        .cognito
        .list_user_import_jobs()
        .user_pool_id(POOL)
        .max_results(61)
        .send()
        .await
        .expect_err("max 60");
    assert_eq!(error.code(), Some("InvalidParameterException"));

    // CSV header and pool, implicit and explicit.
    let header = c
        .cognito
        .get_csv_header()
        .user_pool_id(POOL)
        .send()
        .await
        .expect("header");
    assert_eq!(header.user_pool_id(), Some(POOL));
    assert_eq!(header.csv_header(), DEFAULT_CSV_HEADER);
    let pool = c
        .cognito
        .describe_user_pool()
        .user_pool_id(POOL)
        .send()
        .await
        .expect("pool");
    let pool = pool.user_pool().expect("pool");
    assert_eq!(pool.id(), Some(POOL));
    assert_eq!(pool.name(), Some(DEFAULT_POOL_NAME));
    assert_eq!(
        pool.arn(),
        Some(format!("arn:aws:cognito-idp:us-east-1:123456789012:userpool/{POOL}").as_str())
    );
    emulator.create_user_pool(
        "us-east-1_Custom",
        "custom",
        &["cognito:username", "email", "custom:team"],
    );
    let header = c
        .cognito
        .get_csv_header()
        .user_pool_id("us-east-1_Custom")
        .send()
        .await
        .expect("custom header");
    assert_eq!(
        header.csv_header(),
        ["cognito:username", "email", "custom:team"]
    );

    // Errors: unknown pool, unknown job, bad IDs, unknown operation.
    let error = c
        .cognito
        .describe_user_import_job()
        .user_pool_id("us-east-1_Missing")
        .job_id(&ids[0])
        .send()
        .await
        .expect_err("unknown pool");
    assert_eq!(error.code(), Some("ResourceNotFoundException"));
    let error = c
        .cognito
        .describe_user_import_job()
        .user_pool_id(POOL)
        .job_id("import-Missing")
        .send()
        .await
        .expect_err("unknown job");
    assert_eq!(error.code(), Some("ResourceNotFoundException"));
    assert!(error.into_service_error().is_resource_not_found_exception());
    let error = c
        .cognito
        .start_user_import_job()
        .user_pool_id("not a pool")
        .job_id(&ids[0])
        .send()
        .await
        .expect_err("bad pool id");
    assert_eq!(error.code(), Some("InvalidParameterException"));
    let error = c
        .cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id("job-1")
        .send()
        .await
        .expect_err("bad job id");
    assert_eq!(error.code(), Some("InvalidParameterException"));
    let error = c
        .cognito
        .create_user_import_job()
        .user_pool_id(POOL)
        .job_name("bad/name")
        .cloud_watch_logs_role_arn(ROLE)
        .send()
        .await
        .expect_err("bad job name");
    assert_eq!(error.code(), Some("InvalidParameterException"));
    let error = c
        .cognito
        .admin_get_user()
        .user_pool_id(POOL)
        .username("alice")
        .send()
        .await
        .expect_err("unknown operation");
    assert_eq!(error.code(), Some("UnknownOperationException"));
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(400));
}

/// SPEC section 15: a job with a password hashing algorithm.
mod password_hashes {
    use super::*;
    use aws_sdk_cognitoidentityprovider::types::PasswordHashingAlgorithmType;

    const BCRYPT: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
    const BCRYPT_COST_13: &str = "$2b$13$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

    async fn create(
        emulator: &Emulator,
        algorithm: Option<PasswordHashingAlgorithmType>,
    ) -> Result<String, String> {
        let c = clients(emulator);
        c.cognito
            .create_user_import_job()
            .user_pool_id(POOL)
            .job_name("with-hashes")
            .cloud_watch_logs_role_arn(ROLE)
            .set_password_hashing_algorithm(algorithm)
            .send()
            .await
            .map(|out| {
                let job = out.user_import_job().expect("job");
                assert_eq!(
                    job.password_hashing_algorithm().map(|a| a.as_str()),
                    emulator_algorithm(emulator, job.job_id().unwrap()).as_deref()
                );
                job.job_id().unwrap().to_string()
            })
            .map_err(|e| format!("{}: {}", e.code().unwrap_or(""), e.message().unwrap_or("")))
    }

    fn emulator_algorithm(emulator: &Emulator, job_id: &str) -> Option<String> {
        emulator.job(POOL, job_id)?.password_hashing_algorithm
    }

    /// Runs the job over `csv` as Cognito would.
    fn run_over(emulator: &Emulator, job_id: &str, csv: &str) -> cis_emulator::ImportRun {
        emulator.set_job_csv(POOL, job_id, csv);
        emulator.set_job_status(POOL, job_id, "Pending");
        emulator.run_import_job(POOL, job_id).expect("runs")
    }

    #[tokio::test]
    async fn the_algorithm_is_echoed_and_refused_by_a_pool_not_eligible() {
        let emulator = Emulator::start().await.expect("start");
        emulator.create_user_pool(POOL, "people", DEFAULT_CSV_HEADER);
        let job = create(&emulator, Some(PasswordHashingAlgorithmType::Argon2Id))
            .await
            .unwrap();
        assert_eq!(
            emulator_algorithm(&emulator, &job).as_deref(),
            Some("ARGON2ID")
        );
        let described = clients(&emulator)
            .cognito
            .describe_user_import_job()
            .user_pool_id(POOL)
            .job_id(&job)
            .send()
            .await
            .unwrap();
        let record = described.user_import_job().unwrap();
        assert_eq!(
            record.password_hashing_algorithm(),
            Some(&PasswordHashingAlgorithmType::Argon2Id)
        );
        // Without one, none in the record.
        let plain = create(&emulator, None).await.unwrap();
        assert_eq!(emulator_algorithm(&emulator, &plain), None);

        emulator.set_pool_takes_password_hashes(POOL, false);
        let refused = create(&emulator, Some(PasswordHashingAlgorithmType::Bcrypt))
            .await
            .unwrap_err();
        assert!(
            refused.starts_with("OperationNotEnabledException"),
            "{refused}"
        );
        assert!(create(&emulator, None).await.is_ok());
        let unknown = create(&emulator, Some(PasswordHashingAlgorithmType::from("MD5")))
            .await
            .unwrap_err();
        assert!(unknown.contains("enum value set"), "{unknown}");
    }

    #[tokio::test]
    async fn users_with_a_hash_are_confirmed_and_a_malformed_one_fails() {
        let emulator = Emulator::start().await.expect("start");
        emulator.create_user_pool(
            POOL,
            "people",
            &["cognito:username", "email", "email_verified"],
        );
        let job = create(&emulator, Some(PasswordHashingAlgorithmType::Bcrypt))
            .await
            .unwrap();
        let csv = format!(
            "cognito:username,email,email_verified,password_hash\n\
             ann,ann@example.com,true,{BCRYPT}\n\
             ben,ben@example.com,true,\n\
             cid,cid@example.com,true,{BCRYPT_COST_13}\n"
        );
        let run = run_over(&emulator, &job, &csv);
        assert_eq!(
            run.lines,
            [
                "[SUCCEEDED] Line Number 1 - The import succeeded.",
                "[SUCCEEDED] Line Number 2 - The import succeeded.",
                "[FAILED] Line Number 3 - Invalid password hash.",
            ]
        );
        assert_eq!((run.job.imported_users, run.job.failed_users), (2, 1));
        assert_eq!(
            emulator.user_status(POOL, "ann").as_deref(),
            Some("CONFIRMED")
        );
        assert_eq!(
            emulator.user_status(POOL, "ben").as_deref(),
            Some("RESET_REQUIRED")
        );
        assert_eq!(emulator.user_status(POOL, "cid"), None);
    }

    #[tokio::test]
    async fn a_job_with_an_algorithm_fails_without_the_column() {
        let emulator = Emulator::start().await.expect("start");
        emulator.create_user_pool(
            POOL,
            "people",
            &["cognito:username", "email", "email_verified"],
        );
        let job = create(&emulator, Some(PasswordHashingAlgorithmType::Scrypt))
            .await
            .unwrap();
        let run = run_over(
            &emulator,
            &job,
            "cognito:username,email,email_verified\nann,ann@example.com,true\n",
        );
        assert_eq!(run.job.status, "Failed");
        assert!(run.lines.is_empty());
        assert!(run
            .job
            .completion_message
            .as_deref()
            .is_some_and(|m| m.contains("password_hash")));
        assert_eq!(emulator.users(POOL), Vec::<String>::new());
        // Without an algorithm, a hash column is only data: users reset.
        let plain = create(&emulator, None).await.unwrap();
        let csv = format!("cognito:username,email,email_verified,password_hash\nben,ben@example.com,true,{BCRYPT}\n");
        let run = run_over(&emulator, &plain, &csv);
        assert_eq!(run.job.imported_users, 1);
        assert_eq!(
            emulator.user_status(POOL, "ben").as_deref(),
            Some("RESET_REQUIRED")
        );
    }
}
