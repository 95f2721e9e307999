//! Tests of the emulator itself, driven by the real AWS SDK clients over HTTP.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use cis_emulator::{Emulator, Fault, FaultAction, DEFAULT_CSV_HEADER, DEFAULT_POOL_NAME};

const POOL: &str = "us-east-1_Emulated1";
const ROLE: &str = "arn:aws:iam::123456789012:role/CognitoImportLogs";

struct Clients {
    s3: aws_sdk_s3::Client,
    cognito: aws_sdk_cognitoidentityprovider::Client,
    events: aws_sdk_eventbridge::Client,
}

fn sdk_config(emulator: &Emulator, operation_timeout: Duration) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        // The SDK's hyper 1 client with rustls on ring, as the function
        // builds it (the emulator itself speaks plain HTTP).
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::Ring))
                .build_https(),
        )
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDEMULATOR",
            "secret",
            None,
            None,
            "test",
        )))
        .endpoint_url(emulator.endpoint())
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(operation_timeout)
                .build(),
        )
        .build()
}

fn clients_with_timeout(emulator: &Emulator, operation_timeout: Duration) -> Clients {
    let sdk = sdk_config(emulator, operation_timeout);
    let s3 = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(true)
        .build();
    Clients {
        s3: aws_sdk_s3::Client::from_conf(s3),
        cognito: aws_sdk_cognitoidentityprovider::Client::new(&sdk),
        events: aws_sdk_eventbridge::Client::new(&sdk),
    }
}

fn clients(emulator: &Emulator) -> Clients {
    clients_with_timeout(emulator, Duration::from_secs(10))
}

/// A plain HTTP/1.1 PUT (what the function does with a pre-signed URL),
/// done on a blocking thread with std's TCP stream. Returns (status, whole
/// response); status 0 when the connection closed without a response.
async fn plain_put(url: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let url = url.to_string();
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    let body = body.to_vec();
    tokio::task::spawn_blocking(move || {
        let rest = url.strip_prefix("http://").expect("http URL");
        let slash = rest.find('/').expect("URL with a path");
        let (host, path) = rest.split_at(slash);
        let mut stream = std::net::TcpStream::connect(host).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut request = format!("PUT {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        for (name, value) in &headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).expect("write head");
        stream.write_all(&body).expect("write body");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response
            .get(9..12)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        (status, response)
    })
    .await
    .expect("blocking PUT")
}

// ---------------------------------------------------------------- S3

#[tokio::test]
async fn head_object_metadata_versions_and_errors() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.create_bucket("drop", true);
    let key = "incoming/users (1) é+x.csv";
    let first = emulator.put_object(
        "drop",
        key,
        "hello",
        &[("User-Pool-Id", POOL), ("job-id", "import-AAAAAAAAAA")],
    );
    let second = emulator.put_object(
        "drop",
        key,
        "hello, world",
        &[("job-id", "import-BBBBBBBBBB")],
    );
    assert_eq!(first.etag, "\"5d41402abc4b2a76b9719d911017c592\"");
    assert_eq!(first.size, 5);
    let (Some(v1), Some(v2)) = (first.version_id.clone(), second.version_id.clone()) else {
        panic!("versioned bucket gives version ids");
    };
    assert_ne!(v1, v2);

    // Latest version, metadata names lowercased.
    let head =
        c.s3.head_object()
            .bucket("drop")
            .key(key)
            .send()
            .await
            .expect("head latest");
    assert_eq!(head.version_id(), Some(v2.as_str()));
    assert_eq!(head.e_tag(), Some(second.etag.as_str()));
    assert_eq!(head.content_length(), Some(12));
    let metadata = head.metadata().expect("metadata");
    assert_eq!(
        metadata.get("job-id").map(String::as_str),
        Some("import-BBBBBBBBBB")
    );
    assert_eq!(metadata.len(), 1);
    let modified = head.last_modified().expect("last modified").secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    assert!((modified - now).abs() < 5, "{modified} vs {now}");

    // An older version by ID, with the expected owner.
    let head =
        c.s3.head_object()
            .bucket("drop")
            .key(key)
            .version_id(&v1)
            .expected_bucket_owner("123456789012")
            .send()
            .await
            .expect("head v1");
    assert_eq!(head.version_id(), Some(v1.as_str()));
    assert_eq!(head.content_length(), Some(5));
    let metadata = head.metadata().expect("metadata");
    assert_eq!(metadata.get("user-pool-id").map(String::as_str), Some(POOL));
    assert_eq!(
        metadata.get("job-id").map(String::as_str),
        Some("import-AAAAAAAAAA")
    );

    // 404: missing key, missing version, missing bucket.
    for (bucket, key, version) in [
        ("drop", "nope.csv", None),
        ("drop", key, Some("NoSuchVersionId")),
        ("nobucket", "x.csv", None),
    ] {
        let error =
            c.s3.head_object()
                .bucket(bucket)
                .key(key)
                .set_version_id(version.map(str::to_string))
                .send()
                .await
                .expect_err("404");
        assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(404));
        assert!(error.into_service_error().is_not_found());
    }

    // 403: another expected owner.
    emulator.set_bucket_owner("drop", "111122223333");
    let error =
        c.s3.head_object()
            .bucket("drop")
            .key(key)
            .expected_bucket_owner("123456789012")
            .send()
            .await
            .expect_err("403");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(403));
    c.s3.head_object()
        .bucket("drop")
        .key(key)
        .expected_bucket_owner("111122223333")
        .send()
        .await
        .expect("right owner");

    // The journal holds the decoded key and the parameters.
    let calls = emulator.calls();
    assert_eq!(emulator.count("HeadObject"), 7);
    let call = &calls[1];
    assert_eq!(call.service, "s3");
    assert_eq!(call.method, "HEAD");
    assert_eq!(call.status, 200);
    assert_eq!(call.params["Bucket"], "drop");
    assert_eq!(call.params["Key"], key);
    assert_eq!(call.params["VersionId"], v1.as_str());
    assert_eq!(call.params["ExpectedBucketOwner"], "123456789012");
    assert_eq!(calls[5].status, 403);

    // A delete marker hides the object; versions stay readable by ID.
    emulator.delete_object("drop", key);
    let error = c.s3.head_object().bucket("drop").key(key).send().await;
    assert!(error.is_err());
    c.s3.head_object()
        .bucket("drop")
        .key(key)
        .version_id(&v2)
        .send()
        .await
        .expect("old version after delete");
}

#[tokio::test]
async fn put_then_get_round_trip() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.create_bucket("plain", false);
    let body = "a".repeat(1000);
    let put =
        c.s3.put_object()
            .bucket("plain")
            .key("dir/sub dir/ünï (copy).csv")
            .content_type("text/csv")
            .metadata("user-pool-id", POOL)
            .metadata("Job-Id", "import-CCCCCCCCCC")
            .body(ByteStream::from(body.clone().into_bytes()))
            .send()
            .await
            .expect("put");
    assert_eq!(put.e_tag(), Some("\"cabe45dcc9ae5b66ba86600cca6b8ba8\""));
    assert_eq!(put.version_id(), None);

    let get =
        c.s3.get_object()
            .bucket("plain")
            .key("dir/sub dir/ünï (copy).csv")
            .send()
            .await
            .expect("get");
    assert_eq!(get.e_tag(), put.e_tag());
    assert_eq!(get.content_type(), Some("text/csv"));
    assert_eq!(get.content_length(), Some(1000));
    let metadata = get.metadata().cloned().unwrap_or_default();
    assert_eq!(metadata.get("user-pool-id").map(String::as_str), Some(POOL));
    assert_eq!(
        metadata.get("job-id").map(String::as_str),
        Some("import-CCCCCCCCCC")
    );
    let bytes = get.body.collect().await.expect("body").into_bytes();
    assert_eq!(bytes.as_ref(), body.as_bytes());

    // Binary content across several MD5 blocks, through the Rust API.
    let binary: Vec<u8> = (0..=255u8).cycle().take(768).collect();
    let stored = emulator.put_object("plain", "bin", binary.clone(), &[]);
    assert_eq!(stored.etag, "\"e6899eaaf06fd702f3ed3f988eb19362\"");
    let get =
        c.s3.get_object()
            .bucket("plain")
            .key("bin")
            .range("bytes=1-3")
            .send()
            .await
            .expect("range");
    assert_eq!(get.content_range(), Some("bytes 1-3/768"));
    let bytes = get.body.collect().await.expect("body").into_bytes();
    assert_eq!(bytes.as_ref(), &[1, 2, 3]);

    // Over 8 MiB: a multipart-style ETag.
    let large = emulator.put_object("plain", "large.csv", vec![b'z'; 9 << 20], &[]);
    assert!(
        large.etag.ends_with("-2\"") && large.etag.len() == 36,
        "{}",
        large.etag
    );
    let head =
        c.s3.head_object()
            .bucket("plain")
            .key("large.csv")
            .send()
            .await
            .expect("head large");
    assert_eq!(head.content_length(), Some(9 << 20));
    assert_eq!(head.e_tag(), Some(large.etag.as_str()));

    // A streamed (file) body: the SDK sends it aws-chunked with a trailer.
    let path = std::env::temp_dir().join(format!("emulator-test-{}.csv", std::process::id()));
    std::fs::write(&path, b"streamed,body\n1,2\n").expect("temp file");
    let streamed = ByteStream::from_path(&path).await.expect("byte stream");
    c.s3.put_object()
        .bucket("plain")
        .key("streamed.csv")
        .body(streamed)
        .send()
        .await
        .expect("streamed put");
    let _ = std::fs::remove_file(&path);
    let get =
        c.s3.get_object()
            .bucket("plain")
            .key("streamed.csv")
            .send()
            .await
            .expect("get streamed");
    let bytes = get.body.collect().await.expect("body").into_bytes();
    assert_eq!(bytes.as_ref(), b"streamed,body\n1,2\n");

    // aws-chunked framing with chunk signatures and trailers, by hand.
    let url = format!("{}/plain/chunked%20by%20hand.csv", emulator.endpoint());
    let framed = b"5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
    let framed_length = framed.len().to_string();
    let (status, body) = plain_put(
        &url,
        &[
            ("Content-Length", &framed_length),
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("x-amz-decoded-content-length", "11"),
            ("x-amz-meta-job-id", "import-DDDDDDDDDD"),
        ],
        framed,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let get =
        c.s3.get_object()
            .bucket("plain")
            .key("chunked by hand.csv")
            .send()
            .await
            .expect("get chunked");
    assert_eq!(
        get.metadata()
            .and_then(|m| m.get("job-id"))
            .map(String::as_str),
        Some("import-DDDDDDDDDD")
    );
    let bytes = get.body.collect().await.expect("body").into_bytes();
    assert_eq!(bytes.as_ref(), b"hello world");
    let (status, body) = plain_put(
        &url,
        &[
            ("Content-Length", "8"),
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "5"),
        ],
        b"5\r\nhel\r\n",
    )
    .await;
    assert_eq!(status, 400, "{body}");

    // GetObject errors are S3 XML.
    let error =
        c.s3.get_object()
            .bucket("plain")
            .key("missing")
            .send()
            .await
            .expect_err("missing");
    assert_eq!(error.code(), Some("NoSuchKey"));
    assert!(error.into_service_error().is_no_such_key());
    let error =
        c.s3.put_object()
            .bucket("nobucket")
            .key("k")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .expect_err("no bucket");
    assert_eq!(error.code(), Some("NoSuchBucket"));
}

// ---------------------------------------------------------------- Cognito

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
    assert_eq!(error.message(), Some("No csv file was uploaded"));

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

// ---------------------------------------------------------------- EventBridge

fn entry(detail: &str) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .event_bus_name("default")
        .source("cognito-import-starter")
        .detail_type("User Import Job Started")
        .detail(detail)
        .resources("arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Emulated1")
        .build()
}

#[tokio::test]
async fn put_events_entries_and_failures() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    let malformed_type = PutEventsRequestEntry::builder()
        .source("cognito-import-starter")
        .detail("{}")
        .build();
    let output = c
        .events
        .put_events()
        .entries(entry(r#"{"n":1}"#))
        .entries(entry("not json"))
        .entries(entry("[1,2]"))
        .entries(malformed_type)
        .entries(entry(r#"{"n":5,"nested":{"a":[1]}}"#))
        .send()
        .await
        .expect("put events");
    assert_eq!(output.failed_entry_count(), 3);
    let codes: Vec<Option<&str>> = output.entries().iter().map(|e| e.error_code()).collect();
    assert_eq!(
        codes,
        [
            None,
            Some("MalformedDetail"),
            Some("MalformedDetail"),
            Some("InvalidArgument"),
            None
        ]
    );
    assert!(output.entries()[0]
        .event_id()
        .is_some_and(|id| id.len() == 36));
    let events = emulator.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].detail["n"], 1);
    assert_eq!(events[1].detail["nested"]["a"][0], 1);
    assert_eq!(events[0].event_bus_name.as_deref(), Some("default"));
    assert_eq!(events[0].source, "cognito-import-starter");
    assert_eq!(events[0].detail_type, "User Import Job Started");
    assert_eq!(events[0].resources.len(), 1);

    // FailEntries: matching entries fail, others pass; `times` counts requests.
    emulator.inject(
        Fault::new(
            "PutEvents",
            FaultAction::FailEntries {
                code: "ThrottlingException".to_string(),
            },
        )
        .matching("\"fail\":true")
        .times(1),
    );
    let output = c
        .events
        .put_events()
        .entries(entry(r#"{"fail":false}"#))
        .entries(entry(r#"{"fail":true}"#))
        .entries(entry(r#"{"fail":true,"x":1}"#))
        .send()
        .await
        .expect("put events");
    assert_eq!(output.failed_entry_count(), 2);
    assert_eq!(output.entries()[0].error_code(), None);
    assert_eq!(
        output.entries()[1].error_code(),
        Some("ThrottlingException")
    );
    assert_eq!(
        output.entries()[2].error_code(),
        Some("ThrottlingException")
    );
    assert_eq!(emulator.events().len(), 3);
    let output = c
        .events
        .put_events()
        .entries(entry(r#"{"fail":true}"#))
        .send()
        .await
        .expect("fault spent");
    assert_eq!(output.failed_entry_count(), 0);

    // Too many entries: the whole request fails.
    let mut request = c.events.put_events();
    for n in 0..11 {
        request = request.entries(entry(&format!(r#"{{"n":{n}}}"#)));
    }
    let error = request.send().await.expect_err("11 entries");
    assert_eq!(error.code(), Some("ValidationException"));
    assert_eq!(emulator.events().len(), 4);
    assert_eq!(emulator.count("PutEvents"), 4);
    assert_eq!(emulator.calls()[0].service, "events");
    assert_eq!(
        emulator.calls()[0].params["Entries"][0]["Detail"],
        r#"{"n":1}"#
    );
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn error_faults_are_service_shaped() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    let job = emulator.create_import_job(POOL, "users", true);
    emulator.put_object("drop", "a.csv", "x", &[]);

    emulator.inject(
        Fault::new(
            "StartUserImportJob",
            FaultAction::error(400, "TooManyRequestsException"),
        )
        .times(1),
    );
    let error = c
        .cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job.job_id)
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(error.code(), Some("TooManyRequestsException"));
    assert_eq!(error.message(), Some("injected fault"));
    assert!(error.into_service_error().is_too_many_requests_exception());
    assert_eq!(
        emulator.job(POOL, &job.job_id).expect("job").status,
        "Created"
    );

    emulator.inject(Fault::new(
        "DescribeUserImportJob",
        FaultAction::error(500, "InternalErrorException"),
    ));
    let error = c
        .cognito
        .describe_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job.job_id)
        .send()
        .await
        .expect_err("internal");
    assert_eq!(error.code(), Some("InternalErrorException"));
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(500));
    emulator.clear_faults();
    c.cognito
        .describe_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job.job_id)
        .send()
        .await
        .expect("faults cleared");

    emulator.inject(Fault::new("GetObject", FaultAction::error(503, "SlowDown")).times(1));
    let error =
        c.s3.get_object()
            .bucket("drop")
            .key("a.csv")
            .send()
            .await
            .expect_err("slow down");
    assert_eq!(error.code(), Some("SlowDown"));
    emulator.inject(Fault::new("HeadObject", FaultAction::error(503, "SlowDown")).times(1));
    let error =
        c.s3.head_object()
            .bucket("drop")
            .key("a.csv")
            .send()
            .await
            .expect_err("head 503");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(503));

    emulator.inject(Fault::new("PutEvents", FaultAction::error(500, "InternalException")).times(1));
    let error = c
        .events
        .put_events()
        .entries(entry("{}"))
        .send()
        .await
        .expect_err("events 500");
    assert_eq!(error.code(), Some("InternalException"));
    assert!(emulator.events().is_empty());

    // Faulted calls are journaled with the status sent.
    let statuses: Vec<(String, u16)> = emulator
        .calls()
        .into_iter()
        .map(|call| (call.operation, call.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("StartUserImportJob".to_string(), 400),
            ("DescribeUserImportJob".to_string(), 500),
            ("DescribeUserImportJob".to_string(), 200),
            ("GetObject".to_string(), 503),
            ("HeadObject".to_string(), 503),
            ("PutEvents".to_string(), 500),
        ]
    );
}

#[tokio::test]
async fn times_and_matching() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.put_object("drop", "good.csv", "x", &[]);
    emulator.put_object("drop", "bad.csv", "x", &[]);
    emulator.inject(
        Fault::new("HeadObject", FaultAction::error(500, "InternalError"))
            .matching("bad")
            .times(2),
    );
    let head = |key: &'static str| {
        let s3 = c.s3.clone();
        async move {
            s3.head_object()
                .bucket("drop")
                .key(key)
                .send()
                .await
                .is_ok()
        }
    };
    assert!(head("good.csv").await);
    assert!(!head("bad.csv").await);
    assert!(head("good.csv").await);
    assert!(!head("bad.csv").await);
    assert!(head("bad.csv").await, "spent after two");

    // The first matching fault (in injection order) applies.
    let first = emulator.create_import_job(POOL, "one", false);
    let second = emulator.create_import_job(POOL, "two", false);
    emulator.inject(
        Fault::new(
            "DescribeUserImportJob",
            FaultAction::error(400, "NotAuthorizedException"),
        )
        .matching(&second.job_id),
    );
    emulator.inject(
        Fault::new(
            "DescribeUserImportJob",
            FaultAction::error(400, "TooManyRequestsException"),
        )
        .times(1),
    );
    let describe = |job_id: String| {
        let cognito = c.cognito.clone();
        async move {
            cognito
                .describe_user_import_job()
                .user_pool_id(POOL)
                .job_id(job_id)
                .send()
                .await
                .err()
                .and_then(|error| error.code().map(str::to_string))
        }
    };
    assert_eq!(
        describe(second.job_id.clone()).await.as_deref(),
        Some("NotAuthorizedException")
    );
    assert_eq!(
        describe(first.job_id.clone()).await.as_deref(),
        Some("TooManyRequestsException")
    );
    assert_eq!(describe(first.job_id.clone()).await, None);
    assert_eq!(
        describe(second.job_id.clone()).await.as_deref(),
        Some("NotAuthorizedException")
    );
    assert_eq!(emulator.count("DescribeUserImportJob"), 4);
    assert_eq!(emulator.count("HeadObject"), 5);
}

#[tokio::test]
async fn delay_then_answer() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.create_user_pool(POOL, "people", DEFAULT_CSV_HEADER);
    emulator.inject(
        Fault::new(
            "GetCSVHeader",
            FaultAction::Delay(Duration::from_millis(300)),
        )
        .times(1),
    );
    let started = Instant::now();
    let header = c
        .cognito
        .get_csv_header()
        .user_pool_id(POOL)
        .send()
        .await
        .expect("delayed answer");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(header.csv_header().len(), DEFAULT_CSV_HEADER.len());
    assert_eq!(emulator.calls()[0].status, 200);
}

#[tokio::test]
async fn hang_times_out_in_the_sdk() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients_with_timeout(&emulator, Duration::from_millis(300));
    let job = emulator.create_import_job(POOL, "users", true);
    emulator.inject(Fault::new("StartUserImportJob", FaultAction::Hang).times(1));
    let started = Instant::now();
    let error = c
        .cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job.job_id)
        .send()
        .await
        .expect_err("timeout");
    assert!(matches!(error, SdkError::TimeoutError(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        emulator.job(POOL, &job.job_id).expect("job").status,
        "Created"
    );
    assert_eq!(emulator.calls()[0].status, 0);
    // The hung connection does not block others.
    c.cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job.job_id)
        .send()
        .await
        .expect("next request");
}

#[tokio::test]
async fn drop_closes_the_connection() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.inject(Fault::new("PutEvents", FaultAction::Drop).times(1));
    let error = c
        .events
        .put_events()
        .entries(entry("{}"))
        .send()
        .await
        .expect_err("dropped");
    assert!(
        matches!(
            error,
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        ),
        "{error:?}"
    );
    assert!(emulator.events().is_empty());
    assert_eq!(emulator.calls()[0].status, 0);
    c.events
        .put_events()
        .entries(entry("{}"))
        .send()
        .await
        .expect("next request");
    assert_eq!(emulator.events().len(), 1);
}

#[tokio::test]
async fn lose_response_applies_then_drops() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    let job = emulator.create_import_job(POOL, "users", true);
    emulator.inject(Fault::new("StartUserImportJob", FaultAction::LoseResponse).times(1));
    let error = c
        .cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job.job_id)
        .send()
        .await
        .expect_err("response lost");
    assert!(
        matches!(
            error,
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        ),
        "{error:?}"
    );
    let stored = emulator.job(POOL, &job.job_id).expect("job");
    assert_eq!(stored.status, "Pending");
    assert!(stored.start_date_ms.is_some());
    let error = c
        .cognito
        .start_user_import_job()
        .user_pool_id(POOL)
        .job_id(&job.job_id)
        .send()
        .await
        .expect_err("already started");
    assert_eq!(error.code(), Some("PreconditionNotMetException"));
}

#[tokio::test]
async fn upload_faults_and_status_helpers() {
    let emulator = Emulator::start().await.expect("start");
    let job = emulator.create_import_job(POOL, "users", false);
    emulator.inject(Fault::new("UploadCsv", FaultAction::error(503, "SlowDown")).times(1));
    let headers = [
        ("x-amz-server-side-encryption", "aws:kms"),
        ("Content-Length", "1"),
    ];
    let (status, body) = plain_put(&job.pre_signed_url, &headers, b"x").await;
    assert_eq!(status, 503);
    assert!(body.contains("<Code>SlowDown</Code>"), "{body}");
    assert!(!emulator.job(POOL, &job.job_id).expect("job").csv_uploaded);
    let (status, _) = plain_put(&job.pre_signed_url, &headers, b"x").await;
    assert_eq!(status, 200);

    // set_job_status fills the dates.
    emulator.set_job_status(POOL, &job.job_id, "InProgress");
    let stored = emulator.job(POOL, &job.job_id).expect("job");
    assert!(stored.start_date_ms.is_some() && stored.completion_date_ms.is_none());
    emulator.set_job_status(POOL, &job.job_id, "Succeeded");
    let stored = emulator.job(POOL, &job.job_id).expect("job");
    assert!(stored.completion_date_ms.is_some());
    let other = emulator.create_import_job(POOL, "late", false);
    emulator.set_job_status(POOL, &other.job_id, "Expired");
    let stored = emulator.job(POOL, &other.job_id).expect("job");
    assert!(stored.start_date_ms.is_none() && stored.completion_date_ms.is_some());
}

#[tokio::test]
async fn dropping_the_emulator_closes_hung_connections() {
    let emulator = Emulator::start().await.expect("start");
    let job = emulator.create_import_job(POOL, "users", false);
    emulator.inject(Fault::new("UploadCsv", FaultAction::Hang));
    let url = job.pre_signed_url.clone();
    let pending = tokio::spawn(async move {
        plain_put(
            &url,
            &[
                ("x-amz-server-side-encryption", "aws:kms"),
                ("Content-Length", "1"),
            ],
            b"x",
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(emulator.count("UploadCsv"), 1);
    assert_eq!(emulator.calls()[0].status, 0);
    drop(emulator);
    let started = Instant::now();
    let (status, response) = pending.await.expect("task");
    assert_eq!(status, 0, "{response}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn seeded_version_ids() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    let stored = emulator.put_object_version(
        "sample",
        "drop/users.csv",
        "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd",
        "a,b\n",
        &[("job-id", "import-EEEEEEEEEE")],
    );
    assert_eq!(
        stored.version_id.as_deref(),
        Some("3HL4kqtJlcpXroDTDmjVBH40Nrjfkd")
    );
    let newer = emulator.put_object("sample", "drop/users.csv", "newer", &[]);
    assert!(
        newer.version_id.is_some(),
        "the bucket was created versioned"
    );
    let head =
        c.s3.head_object()
            .bucket("sample")
            .key("drop/users.csv")
            .version_id("3HL4kqtJlcpXroDTDmjVBH40Nrjfkd")
            .send()
            .await
            .expect("head given version");
    assert_eq!(head.e_tag(), Some(stored.etag.as_str()));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("job-id"))
            .map(String::as_str),
        Some("import-EEEEEEEEEE")
    );
}

#[tokio::test]
async fn non_ascii_metadata_is_rfc2047_encoded() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.put_object(
        "drop",
        "odd.csv",
        "x",
        &[
            ("job-id", "import-\u{1}abc"),
            ("team", "café"),
            ("plain", "a b\tc"),
        ],
    );
    let head =
        c.s3.head_object()
            .bucket("drop")
            .key("odd.csv")
            .send()
            .await
            .expect("head");
    let metadata = head.metadata().expect("metadata");
    assert_eq!(metadata["job-id"], "=?UTF-8?B?aW1wb3J0LQFhYmM=?=");
    assert_eq!(metadata["team"], "=?UTF-8?B?Y2Fmw6k=?=");
    assert_eq!(metadata["plain"], "a b\tc");
}
