//! Emulated S3: path-style object HEAD, GET, PUT and DELETE; versioning
//! enabled, suspended or never enabled; `If-Match` on reads; multipart
//! uploads (create, upload part, complete, abort).

use std::collections::BTreeMap;

use bytes::Bytes;
use hyper::Method;
use serde_json::json;

use super::util::{self, Rng};
use super::wire::{add_header, s3_response, xml_error, Req, Resp, Routed};
use super::{Emulator, Inner, State, ACCOUNT_ID};

/// A bucket's versioning state, as S3 has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Versioning {
    /// Never enabled: every object is the "null" version, and no response
    /// carries `x-amz-version-id`.
    Unversioned,
    /// Each put makes a new version with a generated ID; a delete adds a
    /// delete marker.
    Enabled,
    /// Enabled once, then suspended: each put (and each delete marker) is
    /// the version "null", replacing the previous "null" version of its key;
    /// versions made while it was enabled stay. Responses name the "null"
    /// version `x-amz-version-id: null`.
    Suspended,
}

/// The version ID of an object written while versioning is suspended, or
/// before it was enabled (also the `versionId` that addresses it).
pub const NULL_VERSION: &str = "null";

/// One stored object version, as `put_object` reports it.
#[derive(Clone, Debug)]
pub struct StoredObject {
    pub bucket: String,
    pub key: String,
    /// As S3 reports it: the generated (or given) ID when versioning is
    /// enabled, `Some("null")` for an object written while it is suspended,
    /// `None` in a bucket that was never versioned.
    pub version_id: Option<String>,
    /// Quoted, as S3 sends it: `"\"<md5 hex>\""`; over 8 MiB a
    /// multipart-style `"\"<hex>-<parts>\""`.
    pub etag: String,
    pub size: u64,
}

pub(crate) struct Bucket {
    pub(crate) versioning: Versioning,
    pub(crate) owner: String,
    objects: BTreeMap<String, Vec<Version>>,
    /// Multipart uploads under way, by upload ID.
    uploads: BTreeMap<String, PendingUpload>,
}

/// A multipart upload not yet completed or aborted.
struct PendingUpload {
    key: String,
    content_type: String,
    metadata: Vec<(String, String)>,
    /// Part number -> (ETag, bytes).
    parts: BTreeMap<u32, (String, Bytes)>,
}

/// S3's smallest part, but for the last one.
const MIN_PART_SIZE: usize = 5 << 20;

impl Bucket {
    /// The keys that hold an object now (latest version not a delete marker).
    pub(crate) fn live_keys(&self) -> impl Iterator<Item = &String> {
        self.objects
            .iter()
            .filter(|(_, versions)| versions.last().is_some_and(|v| !v.delete_marker))
            .map(|(key, _)| key)
    }

    pub(crate) fn new() -> Bucket {
        Bucket {
            versioning: Versioning::Unversioned,
            owner: ACCOUNT_ID.to_string(),
            objects: BTreeMap::new(),
            uploads: BTreeMap::new(),
        }
    }

    /// The version ID S3 reports for a stored version: its own, "null" for
    /// the null version once versioning was ever enabled, none before.
    fn reported_id(&self, version_id: Option<&str>) -> Option<String> {
        match (version_id, self.versioning) {
            (Some(id), _) => Some(id.to_string()),
            (None, Versioning::Unversioned) => None,
            (None, Versioning::Enabled | Versioning::Suspended) => Some(NULL_VERSION.to_string()),
        }
    }
}

/// One version of an object, oldest first in its key's list.
struct Version {
    /// `None`: the "null" version.
    version_id: Option<String>,
    body: Bytes,
    etag: String,
    content_type: String,
    metadata: Vec<(String, String)>,
    last_modified_ms: i64,
    delete_marker: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Head,
    Get,
    Put,
    Delete,
    CreateUpload,
    UploadPart,
    CompleteUpload,
    AbortUpload,
}

pub(crate) struct S3Request {
    op: Op,
    bucket: String,
    key: String,
    version_id: Option<String>,
    expected_owner: Option<String>,
    range: Option<String>,
    if_match: Option<String>,
    content_type: String,
    metadata: Vec<(String, String)>,
    body: Bytes,
    upload_id: Option<String>,
    part_number: Option<String>,
}

pub(crate) fn route(req: Req) -> Routed<Result<S3Request, Resp>> {
    let query = req.query.as_deref();
    let upload_id = util::query_param(query, "uploadId");
    let part_number = util::query_param(query, "partNumber");
    let op = match req.method {
        Method::POST if util::query_param(query, "uploads").is_some() => Some(Op::CreateUpload),
        Method::POST if upload_id.is_some() => Some(Op::CompleteUpload),
        Method::PUT if upload_id.is_some() => Some(Op::UploadPart),
        Method::DELETE if upload_id.is_some() => Some(Op::AbortUpload),
        Method::HEAD => Some(Op::Head),
        Method::GET => Some(Op::Get),
        Method::PUT => Some(Op::Put),
        Method::DELETE => Some(Op::Delete),
        _ => None,
    };
    let head = op == Some(Op::Head);
    let trimmed = req.path.strip_prefix('/').unwrap_or(&req.path);
    let (raw_bucket, raw_key) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    // Bucket-level requests (no key) are not object operations.
    let operation = match op {
        _ if raw_bucket.is_empty() || raw_key.is_empty() => "Unknown",
        Some(Op::Head) => "HeadObject",
        Some(Op::Get) => "GetObject",
        Some(Op::Put) => "PutObject",
        Some(Op::Delete) => "DeleteObject",
        Some(Op::CreateUpload) => "CreateMultipartUpload",
        Some(Op::UploadPart) => "UploadPart",
        Some(Op::CompleteUpload) => "CompleteMultipartUpload",
        Some(Op::AbortUpload) => "AbortMultipartUpload",
        None => "Unknown",
    };
    let bucket = util::percent_decode(raw_bucket);
    let key = util::percent_decode(raw_key);
    let version_id = util::query_param(req.query.as_deref(), "versionId");
    let expected_owner = req
        .header("x-amz-expected-bucket-owner")
        .map(str::to_string);
    let range = req.header("range").map(str::to_string);
    let if_match = req.header("if-match").map(str::to_string);

    let mut params = json!({
        "Bucket": bucket.as_deref().unwrap_or(raw_bucket),
        "Key": key.as_deref().unwrap_or(raw_key),
    });
    if let Some(version_id) = &version_id {
        params["VersionId"] = json!(version_id);
    }
    if let Some(owner) = &expected_owner {
        params["ExpectedBucketOwner"] = json!(owner);
    }
    if let Some(range) = &range {
        params["Range"] = json!(range);
    }
    if let Some(if_match) = &if_match {
        params["IfMatch"] = json!(if_match);
    }
    if let Some(upload_id) = &upload_id {
        params["UploadId"] = json!(upload_id);
    }
    if let Some(part_number) = &part_number {
        params["PartNumber"] = json!(part_number);
    }
    let subject = key.clone().unwrap_or_else(|| raw_key.to_string());

    let target = match (op, bucket, key) {
        (Some(op), Some(bucket), Some(key)) if !bucket.is_empty() && !key.is_empty() => {
            match request_body(&req, op) {
                Ok(body) => Ok(S3Request {
                    op,
                    bucket,
                    key,
                    version_id,
                    expected_owner,
                    range,
                    if_match,
                    content_type: req
                        .header("content-type")
                        .unwrap_or("binary/octet-stream")
                        .to_string(),
                    metadata: metadata_headers(&req),
                    body,
                    upload_id,
                    part_number,
                }),
                Err(message) => Err(xml_error(400, "IncompleteBody", message, head)),
            }
        }
        (_, Some(_), Some(_)) => Err(xml_error(
            501,
            "NotImplemented",
            "The emulator implements only object HEAD, GET, PUT, DELETE and multipart uploads",
            head,
        )),
        _ => Err(xml_error(
            400,
            "InvalidURI",
            "Couldn't parse the specified URI.",
            head,
        )),
    };
    Routed {
        service: "s3",
        operation: operation.to_string(),
        params,
        subject,
        entry_details: Vec::new(),
        target,
    }
}

fn metadata_headers(req: &Req) -> Vec<(String, String)> {
    req.headers
        .iter()
        .filter_map(|(name, value)| {
            let name = name.as_str().strip_prefix("x-amz-meta-")?;
            Some((
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ))
        })
        .collect()
}

/// The object bytes of a PUT, with any `aws-chunked` framing removed.
fn request_body(req: &Req, op: Op) -> Result<Bytes, &'static str> {
    if op == Op::CompleteUpload {
        return Ok(req.body.clone());
    }
    if op != Op::Put && op != Op::UploadPart {
        return Ok(Bytes::new());
    }
    let chunked = req
        .header("content-encoding")
        .is_some_and(|encoding| encoding.split(',').any(|e| e.trim() == "aws-chunked"))
        || req
            .header("x-amz-content-sha256")
            .is_some_and(|sha| sha.starts_with("STREAMING-"));
    if !chunked {
        return Ok(req.body.clone());
    }
    let decoded = decode_aws_chunked(&req.body).ok_or("malformed aws-chunked body")?;
    if let Some(declared) = req.header("x-amz-decoded-content-length") {
        if declared.trim().parse::<usize>().ok() != Some(decoded.len()) {
            return Err("x-amz-decoded-content-length does not match the body");
        }
    }
    Ok(Bytes::from(decoded))
}

/// `hex-size[;chunk-signature=...]\r\n data \r\n ... 0\r\n trailers \r\n\r\n`.
fn decode_aws_chunked(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(rest.len());
    loop {
        let line_end = rest.windows(2).position(|pair| pair == b"\r\n")?;
        let line = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size_hex = line.split(';').next()?.trim();
        if size_hex.is_empty() || !size_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let size = usize::from_str_radix(size_hex, 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            // What follows are trailers (checksums) and the final CRLF.
            return Some(out);
        }
        let data = rest.get(..size)?;
        if rest.get(size..size + 2)? != b"\r\n" {
            return None;
        }
        out.extend_from_slice(data);
        rest = &rest[size + 2..];
    }
}

/// An object to store.
pub(crate) struct NewObject {
    pub(crate) body: Bytes,
    pub(crate) content_type: String,
    pub(crate) metadata: Vec<(String, String)>,
    /// A given version ID (replacing any version with that ID; "null" is
    /// the null version); otherwise a generated one when versioning is
    /// enabled, the null version when it is not.
    pub(crate) version_id: Option<String>,
}

/// Stores an object version, creating the bucket if missing (versioning
/// enabled when a version ID is given).
pub(crate) fn put(
    inner: &mut Inner,
    rng: &Rng,
    bucket: &str,
    key: &str,
    object: NewObject,
) -> StoredObject {
    let entry = inner.buckets.entry(bucket.to_string()).or_insert_with(|| {
        let mut created = Bucket::new();
        if object.version_id.is_some() {
            created.versioning = Versioning::Enabled;
        }
        created
    });
    put_in(entry, rng, bucket, key, object)
}

fn put_in(
    bucket: &mut Bucket,
    rng: &Rng,
    bucket_name: &str,
    key: &str,
    object: NewObject,
) -> StoredObject {
    let NewObject {
        body,
        content_type,
        metadata,
        version_id,
    } = object;
    let version_id = match version_id {
        Some(given) if given == NULL_VERSION => None,
        Some(given) => Some(given),
        None if bucket.versioning == Versioning::Enabled => Some(rng.alnum(32)),
        None => None,
    };
    let etag = util::etag_of(&body);
    let stored = StoredObject {
        bucket: bucket_name.to_string(),
        key: key.to_string(),
        version_id: bucket.reported_id(version_id.as_deref()),
        etag: etag.clone(),
        size: body.len() as u64,
    };
    let versions = bucket.objects.entry(key.to_string()).or_default();
    // A put replaces the version with the same ID: the "null" version when
    // versioning is suspended or was never enabled.
    versions.retain(|version| version.version_id != version_id);
    versions.push(Version {
        version_id,
        body,
        etag,
        content_type,
        metadata,
        last_modified_ms: util::now_ms(),
        delete_marker: false,
    });
    stored
}

pub(crate) fn delete(inner: &mut Inner, rng: &Rng, bucket: &str, key: &str) {
    if let Some(bucket) = inner.buckets.get_mut(bucket) {
        delete_in(bucket, rng, key);
    }
}

/// Returns the delete marker's version ID when versioning is enabled or
/// suspended (then "null", replacing the "null" version).
fn delete_in(bucket: &mut Bucket, rng: &Rng, key: &str) -> Option<String> {
    let version_id = match bucket.versioning {
        Versioning::Unversioned => {
            bucket.objects.remove(key);
            return None;
        }
        Versioning::Enabled => Some(rng.alnum(32)),
        Versioning::Suspended => None,
    };
    let reported = bucket.reported_id(version_id.as_deref());
    let versions = bucket.objects.entry(key.to_string()).or_default();
    versions.retain(|version| version.version_id != version_id);
    versions.push(Version {
        version_id,
        body: Bytes::new(),
        etag: String::new(),
        content_type: String::new(),
        metadata: Vec::new(),
        last_modified_ms: util::now_ms(),
        delete_marker: true,
    });
    reported
}

pub(crate) fn execute(state: &State, request: S3Request) -> Resp {
    let head = request.op == Op::Head;
    let mut inner = state.lock();
    let Some(bucket) = inner.buckets.get_mut(&request.bucket) else {
        return xml_error(
            404,
            "NoSuchBucket",
            "The specified bucket does not exist",
            head,
        );
    };
    if let Some(expected) = &request.expected_owner {
        if *expected != bucket.owner {
            return xml_error(403, "AccessDenied", "Access Denied", head);
        }
    }
    match request.op {
        Op::Put => {
            let stored = put_in(
                bucket,
                &state.rng,
                &request.bucket,
                &request.key,
                NewObject {
                    body: request.body,
                    content_type: request.content_type,
                    metadata: request.metadata,
                    version_id: None,
                },
            );
            let mut response = s3_response(200, Bytes::new());
            add_header(&mut response, "etag", &stored.etag);
            add_header(&mut response, "x-amz-server-side-encryption", "AES256");
            if let Some(version_id) = &stored.version_id {
                add_header(&mut response, "x-amz-version-id", version_id);
            }
            response
        }
        Op::Delete => {
            let marker = delete_in(bucket, &state.rng, &request.key);
            let mut response = s3_response(204, Bytes::new());
            if let Some(version_id) = marker {
                add_header(&mut response, "x-amz-delete-marker", "true");
                add_header(&mut response, "x-amz-version-id", &version_id);
            }
            response
        }
        Op::CreateUpload | Op::UploadPart | Op::CompleteUpload | Op::AbortUpload => {
            multipart(bucket, &state.rng, request)
        }
        Op::Head | Op::Get => {
            let version = match find_version(bucket, &request.key, request.version_id.as_deref()) {
                Ok(version) => version,
                Err((status, code, message)) => return xml_error(status, code, message, head),
            };
            // S3 compares If-Match with the ETag of the version read.
            if let Some(condition) = &request.if_match {
                if !etag_matches(condition, &version.etag) {
                    return xml_error(
                        412,
                        "PreconditionFailed",
                        "At least one of the pre-conditions you specified did not hold",
                        head,
                    );
                }
            }
            let version_id = bucket.reported_id(version.version_id.as_deref());
            let response = read_response(
                version,
                version_id.as_deref(),
                head,
                request.range.as_deref(),
            );
            if !head {
                let sent = hyper::body::Body::size_hint(response.body())
                    .exact()
                    .unwrap_or(0);
                *inner
                    .bytes_served
                    .entry((request.bucket.clone(), request.key.clone()))
                    .or_default() += sent;
            }
            response
        }
    }
}

/// `If-Match`: `*` or a comma-separated list of ETags, quoted as S3 sends
/// them (unquoted ones are accepted too).
fn etag_matches(condition: &str, etag: &str) -> bool {
    let bare = |tag: &str| tag.trim().trim_matches('"').to_string();
    condition
        .split(',')
        .any(|candidate| candidate.trim() == "*" || bare(candidate) == bare(etag))
}

type S3Error = (u16, &'static str, &'static str);

fn find_version<'a>(
    bucket: &'a Bucket,
    key: &str,
    version_id: Option<&str>,
) -> Result<&'a Version, S3Error> {
    const NO_SUCH_KEY: S3Error = (404, "NoSuchKey", "The specified key does not exist.");
    const NO_SUCH_VERSION: S3Error = (
        404,
        "NoSuchVersion",
        "The specified version does not exist.",
    );
    let versions = bucket.objects.get(key).ok_or(NO_SUCH_KEY)?;
    match version_id {
        Some(wanted) => versions
            .iter()
            .find(|version| version.version_id.as_deref().unwrap_or(NULL_VERSION) == wanted)
            .filter(|version| !version.delete_marker)
            .ok_or(NO_SUCH_VERSION),
        None => versions
            .last()
            .filter(|version| !version.delete_marker)
            .ok_or(NO_SUCH_KEY),
    }
}

fn read_response(
    version: &Version,
    version_id: Option<&str>,
    head: bool,
    range: Option<&str>,
) -> Resp {
    let size = version.body.len() as u64;
    let range = if head {
        None
    } else {
        range.and_then(|range| parse_range(range, size))
    };
    let (status, body, content_range) = match range {
        None => (200, version.body.clone(), None),
        Some(Err(())) => {
            return xml_error(
                416,
                "InvalidRange",
                "The requested range is not satisfiable",
                head,
            )
        }
        Some(Ok((start, end))) => (
            206,
            version.body.slice(start as usize..=end as usize),
            Some(format!("bytes {start}-{end}/{size}")),
        ),
    };
    let mut response = s3_response(status, if head { Bytes::new() } else { body });
    if head {
        // hyper keeps an explicit Content-Length on a HEAD response.
        add_header(&mut response, "content-length", &size.to_string());
    }
    add_header(&mut response, "content-type", &version.content_type);
    add_header(&mut response, "etag", &version.etag);
    add_header(
        &mut response,
        "last-modified",
        &util::imf_fixdate(version.last_modified_ms),
    );
    add_header(&mut response, "accept-ranges", "bytes");
    add_header(&mut response, "x-amz-server-side-encryption", "AES256");
    if let Some(content_range) = content_range {
        add_header(&mut response, "content-range", &content_range);
    }
    if let Some(version_id) = version_id {
        add_header(&mut response, "x-amz-version-id", version_id);
    }
    for (name, value) in &version.metadata {
        add_header(
            &mut response,
            &format!("x-amz-meta-{name}"),
            &mail_safe(value),
        );
    }
    response
}

/// A metadata value as S3 returns it: as is when it is printable US-ASCII,
/// otherwise RFC 2047 encoded (`=?UTF-8?B?<base64>?=`).
fn mail_safe(value: &str) -> String {
    if value
        .bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        return value.to_string();
    }
    format!("=?UTF-8?B?{}?=", util::base64(value.as_bytes()))
}

/// `None`: serve the whole object (no or unsupported range);
/// `Some(Err)`: 416; `Some(Ok((first, last)))`: inclusive byte range.
fn parse_range(range: &str, size: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = range.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.is_empty(), last.is_empty()) {
        (true, true) => return None,
        (true, false) => {
            let suffix: u64 = last.parse().ok()?;
            if suffix == 0 || size == 0 {
                Err(())
            } else {
                Ok((size.saturating_sub(suffix), size - 1))
            }
        }
        (false, _) => {
            let start: u64 = first.parse().ok()?;
            let end: u64 = if last.is_empty() {
                u64::MAX
            } else {
                last.parse().ok()?
            };
            if end < start {
                return None;
            }
            if start >= size {
                Err(())
            } else {
                Ok((start, end.min(size - 1)))
            }
        }
    };
    Some(parsed)
}

/// The four calls of a multipart upload.
fn multipart(bucket: &mut Bucket, rng: &Rng, request: S3Request) -> Resp {
    const NO_SUCH_UPLOAD: S3Error = (
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may \
         have been aborted or completed.",
    );
    let error = |(status, code, message): S3Error| xml_error(status, code, message, false);
    if request.op == Op::CreateUpload {
        let upload_id = rng.alnum(48);
        bucket.uploads.insert(
            upload_id.clone(),
            PendingUpload {
                key: request.key.clone(),
                content_type: request.content_type,
                metadata: request.metadata,
                parts: BTreeMap::new(),
            },
        );
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult>\
             <Bucket>{}</Bucket><Key>{}</Key><UploadId>{upload_id}</UploadId>\
             </InitiateMultipartUploadResult>",
            xml_text(&request.bucket),
            xml_text(&request.key)
        );
        return xml_response(body);
    }
    let upload_id = request.upload_id.clone().unwrap_or_default();
    match bucket.uploads.get(&upload_id) {
        Some(upload) if upload.key == request.key => {}
        _ => return error(NO_SUCH_UPLOAD),
    }
    match request.op {
        Op::UploadPart => upload_part(bucket, &upload_id, &request),
        Op::AbortUpload => {
            bucket.uploads.remove(&upload_id);
            s3_response(204, Bytes::new())
        }
        _ => complete_upload(bucket, rng, &upload_id, &request),
    }
}

fn upload_part(bucket: &mut Bucket, upload_id: &str, request: &S3Request) -> Resp {
    let number = request
        .part_number
        .as_deref()
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (1..=10_000).contains(n));
    let (Some(number), Some(upload)) = (number, bucket.uploads.get_mut(upload_id)) else {
        return xml_error(
            400,
            "InvalidArgument",
            "Part number must be an integer between 1 and 10000, inclusive",
            false,
        );
    };
    let etag = format!("\"{}\"", util::md5_hex(&request.body));
    upload
        .parts
        .insert(number, (etag.clone(), request.body.clone()));
    let mut response = s3_response(200, Bytes::new());
    add_header(&mut response, "etag", &etag);
    response
}

/// Joins the parts the request lists, in its order: each must have been
/// uploaded with that ETag, in ascending order, every one but the last at
/// least 5 MiB.
fn complete_upload(bucket: &mut Bucket, rng: &Rng, upload_id: &str, request: &S3Request) -> Resp {
    let invalid = |code: &str, message: &str| xml_error(400, code, message, false);
    let listed = listed_parts(&String::from_utf8_lossy(&request.body));
    let Some(upload) = bucket.uploads.get(upload_id) else {
        return invalid("NoSuchUpload", "The specified upload does not exist.");
    };
    if listed.is_empty() {
        return invalid(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
        );
    }
    if listed.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
        return invalid(
            "InvalidPartOrder",
            "The list of parts was not in ascending order.",
        );
    }
    let mut body = Vec::new();
    for (index, (number, etag)) in listed.iter().enumerate() {
        let Some((stored_etag, bytes)) = upload.parts.get(number) else {
            return invalid(
                "InvalidPart",
                "One or more of the specified parts could not be found.",
            );
        };
        if etag.trim_matches('"') != stored_etag.trim_matches('"') {
            return invalid(
                "InvalidPart",
                "One or more of the specified parts could not be found.",
            );
        }
        if index + 1 < listed.len() && bytes.len() < MIN_PART_SIZE {
            return invalid(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed object size.",
            );
        }
        body.extend_from_slice(bytes);
    }
    let Some(upload) = bucket.uploads.remove(upload_id) else {
        return invalid("NoSuchUpload", "The specified upload does not exist.");
    };
    let stored = put_in(
        bucket,
        rng,
        &request.bucket,
        &request.key,
        NewObject {
            body: Bytes::from(body),
            content_type: upload.content_type,
            metadata: upload.metadata,
            version_id: None,
        },
    );
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult>\
         <Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></CompleteMultipartUploadResult>",
        xml_text(&request.bucket),
        xml_text(&request.key),
        xml_text(&stored.etag)
    );
    let mut response = xml_response(xml);
    if let Some(version_id) = &stored.version_id {
        add_header(&mut response, "x-amz-version-id", version_id);
    }
    response
}

/// `(PartNumber, ETag)` of each `<Part>` of a `CompleteMultipartUpload` body.
fn listed_parts(xml: &str) -> Vec<(u32, String)> {
    let tag = |part: &str, name: &str| -> Option<String> {
        let open = format!("<{name}>");
        let start = part.find(&open)? + open.len();
        let end = part[start..].find(&format!("</{name}>"))? + start;
        Some(
            part[start..end]
                .replace("&quot;", "\"")
                .replace("&#34;", "\""),
        )
    };
    xml.split("<Part>")
        .skip(1)
        .map(|part| {
            let number = tag(part, "PartNumber").and_then(|n| n.trim().parse().ok());
            (number.unwrap_or(0), tag(part, "ETag").unwrap_or_default())
        })
        .collect()
}

fn xml_response(body: String) -> Resp {
    let mut response = s3_response(200, Bytes::from(body));
    add_header(&mut response, "content-type", "application/xml");
    response
}

fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// ---- the Rust API ----

impl Emulator {
    /// Creates (or re-configures) a bucket owned by [`ACCOUNT_ID`], with
    /// versioning [`Versioning::Enabled`] or [`Versioning::Unversioned`].
    pub fn create_bucket(&self, bucket: &str, versioned: bool) {
        let versioning = if versioned {
            Versioning::Enabled
        } else {
            Versioning::Unversioned
        };
        self.set_versioning(bucket, versioning);
    }

    /// Sets the bucket's versioning state (creating the bucket if missing),
    /// as `PutBucketVersioning` does: [`Versioning::Suspended`] after
    /// [`Versioning::Enabled`] keeps the versions made so far and names every
    /// later put [`NULL_VERSION`]. (Real S3 never goes back to
    /// `Unversioned`; the emulator allows it, to reset a bucket.)
    pub fn set_versioning(&self, bucket: &str, versioning: Versioning) {
        let mut inner = self.state.lock();
        let entry = inner
            .buckets
            .entry(bucket.to_string())
            .or_insert_with(Bucket::new);
        entry.versioning = versioning;
    }

    /// Sets the bucket's owner account (creating the bucket if missing).
    /// Requests with another `x-amz-expected-bucket-owner` get 403.
    pub fn set_bucket_owner(&self, bucket: &str, account_id: &str) {
        let mut inner = self.state.lock();
        let entry = inner
            .buckets
            .entry(bucket.to_string())
            .or_insert_with(Bucket::new);
        entry.owner = account_id.to_string();
    }

    /// Stores an object (creating the bucket, unversioned, if missing). With
    /// versioning enabled each put makes a new version; suspended, each put
    /// replaces the "null" version. Metadata names are lowercased, as S3
    /// does. Content type `binary/octet-stream`.
    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: impl Into<Vec<u8>>,
        metadata: &[(&str, &str)],
    ) -> StoredObject {
        self.put(bucket, key, None, body.into(), metadata)
    }

    /// Like [`Emulator::put_object`] with a given version ID (to match a
    /// sample event's `versionId`): creates the bucket with versioning
    /// enabled if missing, replaces a version with that ID ([`NULL_VERSION`]
    /// is the null version), and becomes the latest.
    pub fn put_object_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
        body: impl Into<Vec<u8>>,
        metadata: &[(&str, &str)],
    ) -> StoredObject {
        self.put(bucket, key, Some(version_id), body.into(), metadata)
    }

    fn put(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        body: Vec<u8>,
        metadata: &[(&str, &str)],
    ) -> StoredObject {
        let object = NewObject {
            body: bytes::Bytes::from(body),
            content_type: "binary/octet-stream".to_string(),
            metadata: metadata
                .iter()
                .map(|(name, value)| (name.to_ascii_lowercase(), value.to_string()))
                .collect(),
            version_id: version_id.map(str::to_string),
        };
        let mut inner = self.state.lock();
        put(&mut inner, &self.state.rng, bucket, key, object)
    }

    /// Deletes the object: removes it from an unversioned bucket, adds a
    /// delete marker when versioning is enabled (older versions stay
    /// readable by ID); suspended, the marker is the "null" version and
    /// replaces it.
    pub fn delete_object(&self, bucket: &str, key: &str) {
        let mut inner = self.state.lock();
        delete(&mut inner, &self.state.rng, bucket, key);
    }

    /// Every (bucket, key) that holds an object now (its latest version not
    /// a delete marker), sorted.
    pub fn object_keys(&self) -> Vec<(String, String)> {
        let inner = self.state.lock();
        inner
            .buckets
            .iter()
            .flat_map(|(bucket, b)| b.live_keys().map(move |key| (bucket.clone(), key.clone())))
            .collect()
    }

    /// The body bytes sent for `GetObject` of that key (every version;
    /// ranged reads count their range only).
    pub fn s3_bytes_served(&self, bucket: &str, key: &str) -> u64 {
        self.state
            .lock()
            .bytes_served
            .get(&(bucket.to_string(), key.to_string()))
            .copied()
            .unwrap_or(0)
    }
}
