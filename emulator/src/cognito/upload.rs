//! The pre-signed URL a job's CSV is uploaded to (S3's side of
//! `CreateUserImportJob`'s `PreSignedUrl`).

use std::collections::BTreeMap;

use bytes::Bytes;
use hyper::Method;
use serde_json::json;

use super::store::find_mut;
use crate::wire::{add_header, s3_response, xml_error, Req, Resp, Routed};
use crate::{util, State};

pub(crate) struct Upload {
    put: bool,
    pool_id: String,
    job_id: String,
    signature: Option<String>,
    kms: bool,
    has_length: bool,
    body: Bytes,
}

pub(crate) fn route(req: Req) -> Routed<Result<Upload, Resp>> {
    let rest = req.path.strip_prefix("/_upload/").unwrap_or_default();
    let (raw_pool, raw_job) = rest.split_once('/').unwrap_or((rest, ""));
    let ids = util::percent_decode(raw_pool).zip(util::percent_decode(raw_job));
    let (pool_id, job_id) = ids
        .clone()
        .unwrap_or_else(|| (raw_pool.to_string(), raw_job.to_string()));
    let headers: BTreeMap<String, String> = req
        .headers
        .keys()
        .map(|name| {
            let values: Vec<String> = req
                .headers
                .get_all(name)
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .collect();
            (name.as_str().to_string(), values.join(", "))
        })
        .collect();
    let params = json!({ "UserPoolId": pool_id, "JobId": job_id, "Headers": headers });
    let subject = format!("{pool_id}/{job_id}");
    let target = if ids.is_some() {
        Ok(Upload {
            put: req.method == Method::PUT,
            pool_id,
            job_id,
            signature: util::query_param(req.query.as_deref(), "X-Amz-Signature"),
            kms: req.header("x-amz-server-side-encryption") == Some("aws:kms"),
            has_length: req.headers.contains_key("content-length"),
            body: req.body,
        })
    } else {
        Err(xml_error(
            400,
            "InvalidURI",
            "Couldn't parse the specified URI.",
            req.method == Method::HEAD,
        ))
    };
    Routed {
        service: "upload",
        operation: "UploadCsv".to_string(),
        params,
        subject,
        entry_details: Vec::new(),
        target,
    }
}

pub(crate) fn receive(state: &State, upload: Upload) -> Resp {
    if !upload.put {
        return xml_error(
            405,
            "MethodNotAllowed",
            "The pre-signed URL allows only PUT",
            false,
        );
    }
    let mut inner = state.lock();
    let Some(record) = find_mut(&mut inner, &upload.pool_id, &upload.job_id) else {
        return xml_error(403, "AccessDenied", "Access Denied", false);
    };
    // X-Amz-Expires=900: the URL lasts 15 minutes from the job's creation.
    if util::now_ms() > record.job.creation_date_ms.saturating_add(900_000) {
        return xml_error(403, "AccessDenied", "Request has expired", false);
    }
    if upload.signature.as_deref() != Some(record.signature.as_str()) {
        return xml_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
            false,
        );
    }
    if !upload.kms {
        return xml_error(
            403,
            "AccessDenied",
            "The pre-signed URL is signed for x-amz-server-side-encryption: aws:kms",
            false,
        );
    }
    if !upload.has_length {
        return xml_error(
            411,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
            false,
        );
    }
    if record.job.status != "Created" {
        return xml_error(
            403,
            "AccessDenied",
            "The import job no longer accepts uploads",
            false,
        );
    }
    let etag = util::etag_of(&upload.body);
    record.csv = Some(upload.body);
    record.job.csv_uploaded = true;
    let mut response = s3_response(200, Bytes::new());
    add_header(&mut response, "etag", &etag);
    add_header(&mut response, "x-amz-server-side-encryption", "aws:kms");
    response
}
