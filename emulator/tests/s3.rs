//! The emulated S3, driven by the real SDK client over HTTP: metadata,
//! versions, errors, the journal, put and get with ranges and aws-chunked
//! bodies.

mod common;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use cis_emulator::{Emulator, Versioning, NULL_VERSION};
use common::*;

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
    let error =
        c.s3.head_object()
            .bucket("drop")
            .key(key)
            .send()
            .await
            .expect_err("hidden by a delete marker");
    assert!(error.into_service_error().is_not_found());
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

/// Versioning enabled, then suspended, as `PutBucketVersioning` leaves a
/// bucket: every later put (and delete marker) is the version "null",
/// replacing the previous one; versions made while it was enabled stay; the
/// "null" version is reported and addressed as `null`.
#[tokio::test]
async fn versioning_suspended_makes_every_put_the_null_version() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    let key = "drop/users.csv";

    // Never versioned: no version ID, and no x-amz-version-id.
    let before = emulator.put_object("drop", key, "before", &[]);
    assert_eq!(before.version_id, None);
    let head =
        c.s3.head_object()
            .bucket("drop")
            .key(key)
            .send()
            .await
            .expect("head unversioned");
    assert_eq!(head.version_id(), None);

    // Enabled: a generated ID; the object from before is now the version "null".
    emulator.set_versioning("drop", Versioning::Enabled);
    let enabled = emulator.put_object("drop", key, "enabled", &[]);
    let enabled_id = enabled.version_id.clone().expect("a generated ID");
    assert_ne!(enabled_id, NULL_VERSION);
    let old =
        c.s3.head_object()
            .bucket("drop")
            .key(key)
            .version_id(NULL_VERSION)
            .send()
            .await
            .expect("the object from before versioning, as version null");
    assert_eq!(old.version_id(), Some("null"));
    assert_eq!(old.e_tag(), Some(before.etag.as_str()));

    // Suspended: the seeder's put and the API's put are both version "null",
    // each replacing the one before.
    emulator.set_versioning("drop", Versioning::Suspended);
    let seeded = emulator.put_object("drop", key, "seeded", &[("job-id", "import-AAAAAAAAAA")]);
    assert_eq!(seeded.version_id.as_deref(), Some("null"));
    let put =
        c.s3.put_object()
            .bucket("drop")
            .key(key)
            .metadata("job-id", "import-BBBBBBBBBB")
            .body(ByteStream::from_static(b"put while suspended"))
            .send()
            .await
            .expect("put");
    assert_eq!(put.version_id(), Some("null"));

    for version in [None, Some(NULL_VERSION)] {
        let head =
            c.s3.head_object()
                .bucket("drop")
                .key(key)
                .set_version_id(version.map(str::to_string))
                .send()
                .await
                .expect("head the null version");
        assert_eq!(head.version_id(), Some("null"), "{version:?}");
        assert_eq!(head.e_tag(), put.e_tag(), "{version:?}");
        assert_eq!(
            head.metadata()
                .and_then(|m| m.get("job-id"))
                .map(String::as_str),
            Some("import-BBBBBBBBBB"),
            "{version:?}"
        );
        let get =
            c.s3.get_object()
                .bucket("drop")
                .key(key)
                .set_version_id(version.map(str::to_string))
                .send()
                .await
                .expect("get the null version");
        assert_eq!(get.version_id(), Some("null"), "{version:?}");
        let body = get.body.collect().await.expect("body").into_bytes();
        assert_eq!(&body[..], b"put while suspended", "{version:?}");
    }

    // The version made while enabled is still there, unchanged.
    let kept =
        c.s3.get_object()
            .bucket("drop")
            .key(key)
            .version_id(&enabled_id)
            .send()
            .await
            .expect("the enabled-time version");
    assert_eq!(kept.version_id(), Some(enabled_id.as_str()));
    assert_eq!(kept.e_tag(), Some(enabled.etag.as_str()));

    // A delete while suspended: a delete marker that is the version "null".
    let deleted =
        c.s3.delete_object()
            .bucket("drop")
            .key(key)
            .send()
            .await
            .expect("delete");
    assert_eq!(deleted.delete_marker(), Some(true));
    assert_eq!(deleted.version_id(), Some("null"));
    let error =
        c.s3.head_object()
            .bucket("drop")
            .key(key)
            .send()
            .await
            .expect_err("the latest is a delete marker");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(404));
    c.s3.head_object()
        .bucket("drop")
        .key(key)
        .version_id(&enabled_id)
        .send()
        .await
        .expect("the enabled-time version survives the delete");

    // create_bucket keeps its meaning: versioned or not.
    emulator.create_bucket("other", true);
    assert!(emulator
        .put_object("other", key, "x", &[])
        .version_id
        .is_some_and(|id| id != NULL_VERSION));
    emulator.create_bucket("other", false);
    assert_eq!(
        emulator.put_object("other", "new.csv", "x", &[]).version_id,
        None
    );
}

/// `If-Match` pins a read to an ETag: GetObject and HeadObject answer 412
/// `PreconditionFailed` when the version read has another ETag, as S3 does.
#[tokio::test]
async fn if_match_pins_a_read_to_its_etag() {
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    let key = "drop/users.csv";
    let first = emulator.put_object("plain", key, "first", &[]);

    // A matching ETag (quoted as S3 sends it, or bare), `*`, or a list that
    // holds it: the object.
    let bare = first.etag.trim_matches('"').to_string();
    let listed = format!("\"0123\", {}", first.etag);
    for condition in [first.etag.as_str(), bare.as_str(), "*", listed.as_str()] {
        let get =
            c.s3.get_object()
                .bucket("plain")
                .key(key)
                .if_match(condition)
                .send()
                .await
                .unwrap_or_else(|e| panic!("If-Match {condition}: {e:?}"));
        let body = get.body.collect().await.expect("body").into_bytes();
        assert_eq!(&body[..], b"first");
        c.s3.head_object()
            .bucket("plain")
            .key(key)
            .if_match(condition)
            .send()
            .await
            .unwrap_or_else(|e| panic!("HEAD If-Match {condition}: {e:?}"));
    }

    // The object was replaced: the old ETag no longer matches.
    let second = emulator.put_object("plain", key, "second", &[]);
    assert_ne!(second.etag, first.etag);
    let error =
        c.s3.get_object()
            .bucket("plain")
            .key(key)
            .if_match(&first.etag)
            .send()
            .await
            .expect_err("412");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(412));
    assert_eq!(error.code(), Some("PreconditionFailed"));
    let error =
        c.s3.head_object()
            .bucket("plain")
            .key(key)
            .if_match(&first.etag)
            .send()
            .await
            .expect_err("412 without a body");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(412));

    // The journal holds the condition and the status.
    let calls = emulator.calls();
    let refused = calls
        .iter()
        .rev()
        .find(|c| c.operation == "GetObject")
        .expect("GetObject");
    assert_eq!(refused.params["IfMatch"], first.etag.as_str());
    assert_eq!(refused.status, 412);

    // A missing key is still 404, whatever the condition.
    let error =
        c.s3.get_object()
            .bucket("plain")
            .key("nope.csv")
            .if_match(&first.etag)
            .send()
            .await
            .expect_err("404");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(404));

    // With a version ID, the condition is checked against that version.
    emulator.create_bucket("versioned", true);
    let v1 = emulator.put_object("versioned", key, "v1", &[]);
    emulator.put_object("versioned", key, "v2", &[]);
    c.s3.get_object()
        .bucket("versioned")
        .key(key)
        .version_id(v1.version_id.clone().expect("version"))
        .if_match(&v1.etag)
        .send()
        .await
        .expect("the version named matches");
    let error =
        c.s3.get_object()
            .bucket("versioned")
            .key(key)
            .if_match(&v1.etag)
            .send()
            .await
            .expect_err("the latest has another ETag");
    assert_eq!(error.code(), Some("PreconditionFailed"));
}

#[tokio::test]
async fn multipart_uploads_join_their_parts_and_abort() {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    let emulator = Emulator::start().await.expect("start");
    let c = clients(&emulator);
    emulator.create_bucket("drop", false);
    let key = "results/import-X/failed.csv";
    let create =
        c.s3.create_multipart_upload()
            .bucket("drop")
            .key(key)
            .content_type("text/csv")
            .send()
            .await
            .expect("create");
    let upload_id = create.upload_id().expect("an upload ID").to_string();
    let first: Vec<u8> = (0..(5 << 20) + 3).map(|n| (n % 251) as u8).collect();
    let parts = [first.clone(), b"the end".to_vec()];
    let mut completed = Vec::new();
    for (index, bytes) in parts.iter().enumerate() {
        let number = index as i32 + 1;
        let part =
            c.s3.upload_part()
                .bucket("drop")
                .key(key)
                .upload_id(&upload_id)
                .part_number(number)
                .body(ByteStream::from(bytes.clone()))
                .send()
                .await
                .expect("upload part");
        completed.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(part.e_tag().map(str::to_string))
                .build(),
        );
    }
    // Nothing is stored before the upload completes.
    assert!(emulator.object("drop", key).is_none());
    c.s3.complete_multipart_upload()
        .bucket("drop")
        .key(key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .expect("complete");
    let stored = emulator.object("drop", key).expect("the object");
    assert_eq!(stored.body, [first, b"the end".to_vec()].concat());
    let operations: Vec<String> = emulator
        .calls()
        .into_iter()
        .map(|call| call.operation)
        .collect();
    assert_eq!(
        operations,
        [
            "CreateMultipartUpload",
            "UploadPart",
            "UploadPart",
            "CompleteMultipartUpload"
        ]
    );

    // A part below 5 MiB but the last is refused; an aborted upload is gone.
    let small =
        c.s3.create_multipart_upload()
            .bucket("drop")
            .key("small.csv")
            .send()
            .await
            .expect("create");
    let small_id = small.upload_id().expect("an upload ID").to_string();
    let mut listed = Vec::new();
    for number in 1..=2 {
        let part =
            c.s3.upload_part()
                .bucket("drop")
                .key("small.csv")
                .upload_id(&small_id)
                .part_number(number)
                .body(ByteStream::from_static(b"tiny"))
                .send()
                .await
                .expect("upload part");
        listed.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(part.e_tag().map(str::to_string))
                .build(),
        );
    }
    let refused =
        c.s3.complete_multipart_upload()
            .bucket("drop")
            .key("small.csv")
            .upload_id(&small_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(listed))
                    .build(),
            )
            .send()
            .await
            .expect_err("a part too small");
    assert_eq!(refused.code(), Some("EntityTooSmall"));
    c.s3.abort_multipart_upload()
        .bucket("drop")
        .key("small.csv")
        .upload_id(&small_id)
        .send()
        .await
        .expect("abort");
    let gone =
        c.s3.upload_part()
            .bucket("drop")
            .key("small.csv")
            .upload_id(&small_id)
            .part_number(3)
            .body(ByteStream::from_static(b"late"))
            .send()
            .await
            .expect_err("the upload was aborted");
    assert_eq!(gone.code(), Some("NoSuchUpload"));
    assert!(emulator.object("drop", "small.csv").is_none());
}
