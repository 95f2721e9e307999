//! S3 notifications (SPEC sections 2, 3, 5, 6) through the real SDK against the emulator.

use cis_testkit::*;
use cognito_import_starter::{Config, ErrorKind};
use serde_json::json;

#[tokio::test]
async fn a_created_object_starts_its_job_and_emits_the_record() {
    let h = harness().await;
    let (object, job) = h.seed("imports/users.csv");

    let response = h.invoke(created("imports/users.csv")).await.unwrap();

    assert_eq!(
        response,
        json!({"Results": [{"Outcome": "Started", "Bucket": BUCKET, "Key": "imports/users.csv",
                            "UserPoolId": POOL, "JobId": job.job_id, "Status": "Pending"}]})
    );
    assert_eq!(h.status(&job), "Pending");
    assert_eq!(h.emulator.count("HeadObject"), 1);
    assert_eq!(h.emulator.count("StartUserImportJob"), 1);
    assert_eq!(h.emulator.count("PutEvents"), 1);

    let events = h.events();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.source, "cognito-import-starter");
    assert_eq!(event.detail_type, "User Import Job Started");
    assert_eq!(event.event_bus_name.as_deref(), Some("default"));
    let detail = &event.detail;
    assert_eq!(detail["AlreadyStarted"], json!(false));
    assert_eq!(detail["CreatedJob"], json!(false));
    assert_eq!(
        detail["Object"],
        json!({"Bucket": BUCKET, "Key": "imports/users.csv", "ETag": object.etag.trim_matches('"')})
    );
    let record = &detail["UserImportJob"];
    assert_eq!(record["JobId"], json!(job.job_id));
    assert_eq!(record["JobName"], json!("nightly"));
    assert_eq!(record["UserPoolId"], json!(POOL));
    assert_eq!(record["Status"], json!("Pending"));
    assert_eq!(record["ImportedUsers"], json!(0));
    assert!(
        record.get("PreSignedUrl").is_none(),
        "PreSignedUrl leaked: {record}"
    );
    assert!(
        record.get("CompletionDate").is_none(),
        "absent fields are left out: {record}"
    );
    assert!(!detail.to_string().contains("null"), "no nulls: {detail}");
}

#[tokio::test]
async fn dates_are_rfc3339_utc_with_cognitos_milliseconds() {
    let h = harness().await;
    let (_, job) = h.seed("imports/dates.csv");
    h.invoke(created("imports/dates.csv")).await.unwrap();

    let started = h.emulator.job(POOL, &job.job_id).unwrap();
    let record = &h.events()[0].detail["UserImportJob"];
    let expect = |ms: i64| {
        let date = aws_sdk_s3::primitives::DateTime::from_millis(ms);
        cognito_import_starter::model::rfc3339(date)
    };
    assert_eq!(
        record["CreationDate"],
        json!(expect(started.creation_date_ms))
    );
    assert_eq!(
        record["StartDate"],
        json!(expect(started.start_date_ms.unwrap()))
    );
    let start = record["StartDate"].as_str().unwrap();
    assert!(start.ends_with('Z') && start.len() >= 20, "{start}");
}

#[tokio::test]
async fn url_encoded_keys_are_decoded_before_use() {
    let h = harness().await;
    let (_, job) = h.seed("drop/my users(1).csv");

    let response = h.invoke(created("drop/my+users%281%29.csv")).await.unwrap();

    assert_eq!(response["Results"][0]["Outcome"], "Started");
    assert_eq!(response["Results"][0]["Key"], "drop/my users(1).csv");
    assert_eq!(h.status(&job), "Pending");
    assert_eq!(
        h.events()[0].detail["Object"]["Key"],
        "drop/my users(1).csv"
    );
}

#[tokio::test]
async fn the_version_in_the_event_is_the_version_read() {
    let h = harness().await;
    h.emulator.create_bucket(BUCKET, true);
    let old_job = h.emulator.create_import_job(POOL, "old", true);
    let new_job = h.emulator.create_import_job(POOL, "new", true);
    let old = h.emulator.put_object(
        BUCKET,
        "v.csv",
        "a",
        &[("user-pool-id", POOL), ("job-id", &old_job.job_id)],
    );
    h.emulator.put_object(
        BUCKET,
        "v.csv",
        "b",
        &[("user-pool-id", POOL), ("job-id", &new_job.job_id)],
    );
    let version = old.version_id.clone().unwrap();

    let event =
        json!({"Records": [s3_record("ObjectCreated:Put", BUCKET, "v.csv", Some(&version))]});
    let response = h.invoke(event).await.unwrap();

    assert_eq!(response["Results"][0]["JobId"], json!(old_job.job_id));
    assert_eq!(h.status(&old_job), "Pending");
    assert_eq!(h.status(&new_job), "Created");
    let head = h.first_call("HeadObject");
    assert_eq!(head.params["VersionId"], json!(version));
    assert_eq!(h.events()[0].detail["Object"]["VersionId"], json!(version));
}

#[tokio::test]
async fn removals_folders_and_the_test_event_are_ignored_without_calls() {
    let h = harness().await;
    let response = h
        .invoke(s3_event(&[
            ("ObjectRemoved:Delete", "imports/a.csv"),
            ("ObjectCreated:Put", "imports/"),
        ]))
        .await
        .unwrap();
    assert_eq!(
        response["Results"][0],
        json!({"Outcome": "Ignored", "Bucket": BUCKET, "Key": "imports/a.csv"})
    );
    assert_eq!(response["Results"][1]["Outcome"], "Ignored");

    let test_event = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-25T09:30:00.000Z",
                            "Bucket": BUCKET, "RequestId": "5582815E1AEA5ADF", "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"});
    assert_eq!(h.invoke(test_event).await.unwrap(), json!({"Results": []}));
    assert!(h.emulator.calls().is_empty(), "{:?}", h.emulator.calls());
}

#[tokio::test]
async fn missing_metadata_is_a_permanent_failure_with_its_event() {
    let h = harness().await;
    h.emulator
        .put_object(BUCKET, "bare.csv", "x", &[("user-pool-id", POOL)]);

    let response = h.invoke(created("bare.csv")).await.unwrap();

    let result = &response["Results"][0];
    assert_eq!(result["Outcome"], "Failed");
    assert_eq!(result["Error"]["Type"], "MissingImportMetadata");
    assert!(result["Error"]["Message"]
        .as_str()
        .unwrap()
        .contains("job-id"));
    assert_eq!(h.emulator.count("StartUserImportJob"), 0);
    let failed = h.events_of("User Import Job Start Failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].detail["Error"]["Type"], "MissingImportMetadata");
    assert_eq!(failed[0].detail["Object"]["Key"], "bare.csv");
    // SPEC 5, "IDs when known": the pool the metadata does name.
    assert_eq!(failed[0].detail["UserPoolId"], POOL);
    assert!(failed[0].detail.get("JobId").is_none());
    assert_eq!(result["UserPoolId"], POOL);
}

#[tokio::test]
async fn invalid_metadata_is_refused_before_any_cognito_call() {
    let h = harness().await;
    for (i, (pool, job)) in [
        ("not a pool", "import-abc"),
        (POOL, "job-abc"),
        (POOL, ""),
        ("=?UTF-8?B?w6lzdA==?=", "import-abc"),
        (POOL, "import-\u{1}abc"),
    ]
    .iter()
    .enumerate()
    {
        let key = format!("bad-{i}.csv");
        h.emulator.put_object(
            BUCKET,
            &key,
            "x",
            &[("user-pool-id", pool), ("job-id", job)],
        );
        let response = h.invoke(created(&key)).await.unwrap();
        assert_eq!(
            response["Results"][0]["Error"]["Type"], "InvalidImportMetadata",
            "{pool} {job}"
        );
    }
    assert_eq!(h.emulator.count("StartUserImportJob"), 0);
    let failed = h.events_of("User Import Job Start Failed");
    assert_eq!(failed.len(), 5);
    // Each event names the one ID that is valid, and not the other.
    assert!(failed[0].detail.get("UserPoolId").is_none());
    assert_eq!(failed[0].detail["JobId"], "import-abc");
    assert_eq!(failed[1].detail["UserPoolId"], POOL);
    assert!(failed[1].detail.get("JobId").is_none());
}

#[tokio::test]
async fn metadata_names_are_configurable_and_case_blind_and_values_trimmed() {
    let config = Config {
        pool_id_metadata_key: "pool".into(),
        job_id_metadata_key: "import".into(),
        ..test_config()
    };
    let h = harness_with(config).await;
    let job = h.emulator.create_import_job(POOL, "n", true);
    let padded = format!("  {}  ", job.job_id);
    h.emulator
        .put_object(BUCKET, "c.csv", "x", &[("Pool", POOL), ("IMPORT", &padded)]);

    let response = h.invoke(created("c.csv")).await.unwrap();

    assert_eq!(response["Results"][0]["Outcome"], "Started");
    assert_eq!(h.status(&job), "Pending");
}

#[tokio::test]
async fn the_allowlist_refuses_other_pools_with_their_ids_in_the_event() {
    let config = Config {
        allowed_user_pool_ids: Some(vec!["us-east-1_Other".into()]),
        ..test_config()
    };
    let h = harness_with(config).await;
    let (_, job) = h.seed("a.csv");

    let response = h.invoke(created("a.csv")).await.unwrap();

    assert_eq!(
        response["Results"][0]["Error"]["Type"],
        "UserPoolNotAllowed"
    );
    assert_eq!(h.emulator.count("StartUserImportJob"), 0);
    assert_eq!(h.status(&job), "Created");
    let failed = &h.events_of("User Import Job Start Failed")[0];
    assert_eq!(failed.detail["UserPoolId"], POOL);
    assert_eq!(failed.detail["JobId"], json!(job.job_id));
}

#[tokio::test]
async fn a_missing_object_is_object_not_found() {
    let h = harness().await;
    h.emulator.create_bucket(BUCKET, false);
    let response = h.invoke(created("gone.csv")).await.unwrap();
    assert_eq!(response["Results"][0]["Error"]["Type"], "ObjectNotFound");
    assert_eq!(
        h.events_of("User Import Job Start Failed")[0].detail["Error"]["Type"],
        "ObjectNotFound"
    );
}

#[tokio::test]
async fn the_expected_bucket_owner_is_sent_and_a_mismatch_is_access_denied() {
    let config = Config {
        expected_bucket_owner: Some("111122223333".into()),
        ..test_config()
    };
    let h = harness_with(config).await;
    h.seed("mine.csv");
    h.emulator.set_bucket_owner(BUCKET, "111122223333");
    let ok = h.invoke(created("mine.csv")).await.unwrap();
    assert_eq!(ok["Results"][0]["Outcome"], "Started");
    let head = h.first_call("HeadObject");
    assert_eq!(head.params["ExpectedBucketOwner"], "111122223333");

    h.emulator.set_bucket_owner(BUCKET, "999999999999");
    h.seed("theirs.csv");
    let denied = h.invoke(created("theirs.csv")).await.unwrap();
    assert_eq!(denied["Results"][0]["Error"]["Type"], "AccessDenied");
}

#[tokio::test]
async fn presigned_url_is_emitted_only_when_asked() {
    let h = harness().await;
    let (_, job) = h.seed("a.csv");
    let response = h.invoke(created("a.csv")).await.unwrap();
    assert!(h.events()[0].detail["UserImportJob"]
        .get("PreSignedUrl")
        .is_none());
    // Nowhere in what was sent to EventBridge, nor in the response.
    let sent: Vec<String> = h
        .emulator
        .calls()
        .iter()
        .map(|c| c.params.to_string())
        .collect();
    assert!(
        sent.iter().all(|body| !body.contains(&job.pre_signed_url)),
        "{sent:?}"
    );
    assert!(!response.to_string().contains("X-Amz-Signature"));

    let config = Config {
        emit_presigned_url: true,
        ..test_config()
    };
    let h2 = harness_with(config).await;
    let (_, job2) = h2.seed("a.csv");
    h2.invoke(created("a.csv")).await.unwrap();
    assert_eq!(
        h2.events()[0].detail["UserImportJob"]["PreSignedUrl"],
        json!(job2.pre_signed_url)
    );
    assert_ne!(job.pre_signed_url, job2.pre_signed_url);
}

#[tokio::test]
async fn events_go_out_ten_to_a_call_and_results_keep_their_order() {
    let h = harness().await;
    let keys: Vec<String> = (0..25).map(|i| format!("batch/{i:02}.csv")).collect();
    let jobs: Vec<_> = keys.iter().map(|k| h.seed(k).1).collect();
    let records: Vec<(&str, &str)> = keys
        .iter()
        .map(|k| ("ObjectCreated:Put", k.as_str()))
        .collect();

    let response = h.invoke(s3_event(&records)).await.unwrap();

    for (i, job) in jobs.iter().enumerate() {
        assert_eq!(response["Results"][i]["JobId"], json!(job.job_id));
        assert_eq!(h.status(job), "Pending");
    }
    let mut sizes: Vec<usize> = h
        .emulator
        .calls()
        .iter()
        .filter(|c| c.operation == "PutEvents")
        .map(|c| c.params["Entries"].as_array().map_or(0, Vec::len))
        .collect();
    // The three calls run concurrently: the order they arrive in is not
    // promised, only their sizes.
    sizes.sort_unstable();
    assert_eq!(sizes, [5, 10, 10]);
    assert_eq!(h.events_of("User Import Job Started").len(), 25);
}

#[tokio::test]
async fn a_bad_record_does_not_sink_its_neighbours() {
    let h = harness().await;
    let (_, job) = h.seed("good.csv");
    let mut event = created("good.csv");
    event["Records"]
        .as_array_mut()
        .unwrap()
        .push(json!({"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}));

    let response = h.invoke(event).await.unwrap();

    assert_eq!(response["Results"][0]["Outcome"], "Started");
    assert_eq!(response["Results"][1]["Error"]["Type"], "UnsupportedEvent");
    assert_eq!(h.status(&job), "Pending");
    assert_eq!(
        kind_of_first_failure(&h),
        ErrorKind::UnsupportedEvent.as_str()
    );
}

fn kind_of_first_failure(h: &Harness) -> String {
    h.events_of("User Import Job Start Failed")[0].detail["Error"]["Type"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
