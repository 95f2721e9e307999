//! Emulated Cognito user-import-job API (awsJson1_1) and the jobs'
//! pre-signed CSV upload URLs.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use hyper::Method;
use serde_json::{json, Map, Value};

use super::util::{self, json_date};
use super::wire::{
    add_header, json_error, json_response, s3_response, xml_error, Req, Resp, Routed,
};
use super::{ImportJob, Inner, State, ACCOUNT_ID, REGION};

/// The operations the emulator answers (anything else under the Cognito
/// target prefix is `UnknownOperationException`).
pub(crate) const OPERATIONS: &[&str] = &[
    "CreateUserImportJob",
    "DescribeUserImportJob",
    "StartUserImportJob",
    "StopUserImportJob",
    "ListUserImportJobs",
    "GetCSVHeader",
    "DescribeUserPool",
];

pub(crate) struct Pool {
    name: String,
    csv_header: Vec<String>,
    creation_ms: i64,
    /// Usernames of the pool's users (added by imports the emulator ran or
    /// by `Emulator::add_user`).
    pub(crate) users: BTreeSet<String>,
    /// The status each user was imported with: `CONFIRMED` (with a password
    /// hash) or `RESET_REQUIRED` (none).
    pub(crate) user_status: BTreeMap<String, String>,
    /// A pool Cognito has not yet moved to where password hashes can be
    /// imported: a create with an algorithm is refused.
    pub(crate) refuses_password_hashes: bool,
}

pub(crate) struct JobRecord {
    pub(crate) job: ImportJob,
    seq: u64,
    signature: String,
    pub(crate) csv: Option<Bytes>,
    /// Log lines of a run held back (`RunOptions::logged_rows`), with the
    /// group and stream they go to.
    held_log_lines: Option<(String, String, Vec<String>)>,
}

pub(crate) fn upsert_pool(inner: &mut Inner, pool_id: &str, name: &str, csv_header: &[&str]) {
    let (creation_ms, users, user_status, refuses_password_hashes) =
        inner.pools.remove(pool_id).map_or_else(
            || (util::now_ms(), BTreeSet::new(), BTreeMap::new(), false),
            |pool| {
                let Pool {
                    creation_ms,
                    users,
                    user_status,
                    refuses_password_hashes,
                    ..
                } = pool;
                (creation_ms, users, user_status, refuses_password_hashes)
            },
        );
    inner.pools.insert(
        pool_id.to_string(),
        Pool {
            name: name.to_string(),
            csv_header: csv_header.iter().map(|column| column.to_string()).collect(),
            creation_ms,
            users,
            user_status,
            refuses_password_hashes,
        },
    );
}

/// Adds a job in `Created` (replacing one with the same pool and job ID).
pub(crate) fn insert_job(
    inner: &mut Inner,
    state: &State,
    pool_id: &str,
    job_id: &str,
    job_name: &str,
    role_arn: &str,
    csv_uploaded: bool,
) -> ImportJob {
    // No two jobs share a creation instant (as across real round trips), so
    // "the oldest job of a name" is always one job.
    let latest = inner.jobs.iter().map(|r| r.job.creation_date_ms).max();
    let now = latest.map_or(util::now_ms(), |latest| util::now_ms().max(latest + 1));
    let signature = state.rng.hex(64);
    let (day, stamp) = util::amz_date(now);
    let pre_signed_url = format!(
        "{}/_upload/{pool_id}/{job_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=EMULATOR%2F{day}%2F{REGION}%2Fs3%2Faws4_request\
         &X-Amz-Date={stamp}&X-Amz-Expires=900\
         &X-Amz-SignedHeaders=host%3Bx-amz-server-side-encryption\
         &X-Amz-Signature={signature}",
        state.endpoint
    );
    let job = ImportJob {
        pool_id: pool_id.to_string(),
        job_id: job_id.to_string(),
        job_name: job_name.to_string(),
        status: "Created".to_string(),
        pre_signed_url,
        creation_date_ms: now,
        start_date_ms: None,
        completion_date_ms: None,
        cloudwatch_logs_role_arn: role_arn.to_string(),
        imported_users: 0,
        skipped_users: 0,
        failed_users: 0,
        completion_message: None,
        csv_uploaded,
        password_hashing_algorithm: None,
    };
    let seq = inner.next_seq;
    inner.next_seq += 1;
    inner
        .jobs
        .retain(|record| !(record.job.pool_id == pool_id && record.job.job_id == job_id));
    inner.jobs.push(JobRecord {
        job: job.clone(),
        seq,
        signature,
        csv: None,
        held_log_lines: None,
    });
    job
}

pub(crate) fn find<'a>(inner: &'a Inner, pool_id: &str, job_id: &str) -> Option<&'a JobRecord> {
    inner
        .jobs
        .iter()
        .find(|record| record.job.pool_id == pool_id && record.job.job_id == job_id)
}

pub(crate) fn find_mut<'a>(
    inner: &'a mut Inner,
    pool_id: &str,
    job_id: &str,
) -> Option<&'a mut JobRecord> {
    inner
        .jobs
        .iter_mut()
        .find(|record| record.job.pool_id == pool_id && record.job.job_id == job_id)
}

const TERMINAL: &[&str] = &["Succeeded", "Failed", "Stopped", "Expired"];

/// Sets the status and the dates that go with it.
pub(crate) fn set_status(job: &mut ImportJob, status: &str, now: i64) {
    if status != "Created" && status != "Expired" && job.start_date_ms.is_none() {
        job.start_date_ms = Some(now);
    }
    if TERMINAL.contains(&status) && job.completion_date_ms.is_none() {
        job.completion_date_ms = Some(now);
    }
    job.status = status.to_string();
}

/// The `UserImportJobType` shape.
fn job_json(job: &ImportJob) -> Value {
    let mut record = Map::new();
    record.insert("JobName".into(), json!(job.job_name));
    record.insert("JobId".into(), json!(job.job_id));
    record.insert("UserPoolId".into(), json!(job.pool_id));
    record.insert("PreSignedUrl".into(), json!(job.pre_signed_url));
    record.insert("CreationDate".into(), json_date(job.creation_date_ms));
    if let Some(start) = job.start_date_ms {
        record.insert("StartDate".into(), json_date(start));
    }
    if let Some(completion) = job.completion_date_ms {
        record.insert("CompletionDate".into(), json_date(completion));
    }
    record.insert("Status".into(), json!(job.status));
    record.insert(
        "CloudWatchLogsRoleArn".into(),
        json!(job.cloudwatch_logs_role_arn),
    );
    record.insert("ImportedUsers".into(), json!(job.imported_users));
    record.insert("SkippedUsers".into(), json!(job.skipped_users));
    record.insert("FailedUsers".into(), json!(job.failed_users));
    if let Some(message) = &job.completion_message {
        record.insert("CompletionMessage".into(), json!(message));
    }
    if let Some(algorithm) = &job.password_hashing_algorithm {
        record.insert("PasswordHashingAlgorithm".into(), json!(algorithm));
    }
    Value::Object(record)
}

// ---- the JSON API ----

struct ApiError {
    code: &'static str,
    message: String,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError {
        code: "InvalidParameterException",
        message: message.into(),
    }
}

fn precondition(message: &str) -> ApiError {
    ApiError {
        code: "PreconditionNotMetException",
        message: message.to_string(),
    }
}

fn not_found(message: String) -> ApiError {
    ApiError {
        code: "ResourceNotFoundException",
        message,
    }
}

pub(crate) fn execute(state: &State, operation: &str, body: &Value) -> Resp {
    let result = if body.is_object() {
        let mut inner = state.lock();
        advance_jobs(&mut inner, util::now_ms());
        match operation {
            "CreateUserImportJob" => create_job(&mut inner, state, body),
            "DescribeUserImportJob" => describe_job(&inner, body),
            "StartUserImportJob" => start_job(&mut inner, body),
            "StopUserImportJob" => stop_job(&mut inner, body),
            "ListUserImportJobs" => list_jobs(&inner, body),
            "GetCSVHeader" => csv_header(&inner, body),
            "DescribeUserPool" => describe_pool(&inner, body),
            _ => Err(ApiError {
                code: "UnknownOperationException",
                message: format!("Unknown operation {operation}"),
            }),
        }
    } else {
        Err(invalid("The request body must be a JSON object"))
    };
    match result {
        Ok(response) => json_response(200, &response),
        Err(error) => {
            let status = if error.code == "InternalErrorException" {
                500
            } else {
                400
            };
            json_error(status, error.code, &error.message)
        }
    }
}

fn string_param<'a>(body: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    match body.get(name) {
        Some(Value::String(value)) => Ok(value),
        None | Some(Value::Null) => Err(invalid(format!(
            "1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"
        ))),
        Some(_) => Err(invalid(format!("{name} must be a string"))),
    }
}

fn pattern_error(name: &str, value: &str, constraint: &str) -> ApiError {
    invalid(format!(
        "1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: {constraint}"
    ))
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `[\w-]+_[0-9a-zA-Z]+`, 1 to 55 characters.
fn valid_pool_id(id: &str) -> bool {
    let Some(split) = id.rfind('_') else {
        return false;
    };
    let (prefix, suffix) = (&id[..split], &id[split + 1..]);
    (1..=55).contains(&id.len())
        && !prefix.is_empty()
        && prefix.chars().all(|c| is_word(c) || c == '-')
        && !suffix.is_empty()
        && suffix.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `import-[0-9a-zA-Z-]+`, 1 to 55 characters.
fn valid_job_id(id: &str) -> bool {
    id.len() <= 55
        && id.strip_prefix("import-").is_some_and(|rest| {
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn pool_id<'a>(inner: &Inner, body: &'a Value) -> Result<&'a str, ApiError> {
    let id = string_param(body, "UserPoolId")?;
    if !valid_pool_id(id) {
        return Err(pattern_error(
            "userPoolId",
            id,
            "Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+",
        ));
    }
    if !inner.pools.contains_key(id) {
        return Err(not_found(format!("User pool {id} does not exist.")));
    }
    Ok(id)
}

fn job_id(body: &Value) -> Result<&str, ApiError> {
    let id = string_param(body, "JobId")?;
    if !valid_job_id(id) {
        return Err(pattern_error(
            "jobId",
            id,
            "Member must satisfy regular expression pattern: import-[0-9a-zA-Z-]+",
        ));
    }
    Ok(id)
}

fn job_not_found(job_id: &str) -> ApiError {
    not_found(format!("Import job {job_id} does not exist."))
}

fn create_job(inner: &mut Inner, state: &State, body: &Value) -> Result<Value, ApiError> {
    let pool = pool_id(inner, body)?.to_string();
    let name = string_param(body, "JobName")?;
    let name_ok = (1..=128).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| is_word(c) || " \t\n\r\u{b}\u{c}+=,.@-".contains(c));
    if !name_ok {
        return Err(pattern_error(
            "jobName",
            name,
            "Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+ and have length between 1 and 128",
        ));
    }
    let role = string_param(body, "CloudWatchLogsRoleArn")?;
    if !(20..=2048).contains(&role.len()) || !role.starts_with("arn:") {
        return Err(pattern_error(
            "cloudWatchLogsRoleArn",
            role,
            "Member must be an IAM role ARN of 20 to 2048 characters",
        ));
    }
    let algorithm = password_algorithm(inner, &pool, body)?;
    let job_id = format!("import-{}", state.rng.alnum(10));
    let mut job = insert_job(inner, state, &pool, &job_id, name, role, false);
    if let Some(algorithm) = algorithm {
        job.password_hashing_algorithm = Some(algorithm.clone());
        if let Some(record) = find_mut(inner, &pool, &job_id) {
            record.job.password_hashing_algorithm = Some(algorithm);
        }
    }
    Ok(json!({ "UserImportJob": job_json(&job) }))
}

/// The four algorithms `CreateUserImportJob` takes.
pub(crate) const PASSWORD_ALGORITHMS: &[&str] = &["BCRYPT", "SCRYPT", "ARGON2ID", "PBKDF2_SHA256"];
pub(crate) const NO_PASSWORD_IMPORT: &str =
    "Importing users with password hashes is not enabled for this user pool.";

/// `PasswordHashingAlgorithm`, when given: one of the four, and refused for
/// a pool marked as not eligible.
fn password_algorithm(inner: &Inner, pool: &str, body: &Value) -> Result<Option<String>, ApiError> {
    let algorithm = match body.get("PasswordHashingAlgorithm") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(value)) if PASSWORD_ALGORITHMS.contains(&value.as_str()) => {
            value.clone()
        }
        Some(value) => {
            return Err(pattern_error(
                "passwordHashingAlgorithm",
                &value.to_string(),
                "Member must satisfy enum value set: [BCRYPT, SCRYPT, ARGON2ID, PBKDF2_SHA256]",
            ))
        }
    };
    if inner
        .pools
        .get(pool)
        .is_some_and(|p| p.refuses_password_hashes)
    {
        return Err(ApiError {
            code: "OperationNotEnabledException",
            message: NO_PASSWORD_IMPORT.to_string(),
        });
    }
    Ok(Some(algorithm))
}

fn describe_job(inner: &Inner, body: &Value) -> Result<Value, ApiError> {
    let pool = pool_id(inner, body)?;
    let job = job_id(body)?;
    let record = find(inner, pool, job).ok_or_else(|| job_not_found(job))?;
    Ok(json!({ "UserImportJob": job_json(&record.job) }))
}

fn start_job(inner: &mut Inner, body: &Value) -> Result<Value, ApiError> {
    let pool = pool_id(inner, body)?.to_string();
    let job = job_id(body)?;
    // Cognito's one import at a time per account: refused the same way as a
    // start without a CSV (SPEC section 13).
    let slot_taken = inner.one_active_job
        && inner
            .jobs
            .iter()
            .any(|r| is_active(&r.job) && !(r.job.pool_id == pool && r.job.job_id == job));
    let record = find_mut(inner, &pool, job).ok_or_else(|| job_not_found(job))?;
    let no_csv = || precondition(&format!("No csv file was uploaded for {job}"));
    match record.job.status.as_str() {
        "Created" if record.job.csv_uploaded && !slot_taken => {
            set_status(&mut record.job, "Pending", util::now_ms());
            Ok(json!({ "UserImportJob": job_json(&record.job) }))
        }
        "Created" => Err(no_csv()),
        _ => Err(precondition("Import job is not in Created state")),
    }
}

/// The data rows of a CSV: its lines after the header (a last line without
/// a line end counts).
fn count_rows(csv: &[u8]) -> i64 {
    let breaks = csv.iter().filter(|&&b| b == b'\n').count();
    let lines = breaks + usize::from(!csv.is_empty() && !csv.ends_with(b"\n"));
    i64::try_from(lines.saturating_sub(1)).unwrap_or(i64::MAX)
}

/// `Pending`, `InProgress` or `Stopping`: the job holds the account's slot.
pub(crate) fn is_active(job: &ImportJob) -> bool {
    matches!(job.status.as_str(), "Pending" | "InProgress" | "Stopping")
}

/// With a run time set, brings every started job to where it is at `now`:
/// `Pending` for the first half of the run, `InProgress` for the second,
/// then run to its end as Cognito does, ending at its start plus the run
/// time (not when it was noticed).
pub(crate) fn advance_jobs(inner: &mut Inner, now: i64) {
    let Some(run_time) = inner.job_run_time else {
        return;
    };
    let run_ms = i64::try_from(run_time.as_millis()).unwrap_or(i64::MAX);
    let due: Vec<(String, String, i64)> = inner
        .jobs
        .iter_mut()
        .filter(|r| matches!(r.job.status.as_str(), "Pending" | "InProgress"))
        .filter_map(|r| {
            let start = r.job.start_date_ms?;
            let elapsed = now.saturating_sub(start);
            if elapsed >= run_ms {
                Some((
                    r.job.pool_id.clone(),
                    r.job.job_id.clone(),
                    start.saturating_add(run_ms),
                ))
            } else {
                if elapsed >= run_ms / 2 {
                    r.job.status = "InProgress".to_string();
                }
                None
            }
        })
        .collect();
    let light = inner.light_runs;
    for (pool, job, end) in due {
        let has_csv = find(inner, &pool, &job).is_some_and(|r| r.csv.is_some());
        if light {
            if let Some(record) = find_mut(inner, &pool, &job) {
                let rows = record.csv.as_ref().map_or(0, |csv| count_rows(csv));
                set_status(&mut record.job, "Succeeded", end);
                record.job.imported_users = rows;
                record.job.completion_message = Some(COMPLETED.to_string());
            }
        } else if has_csv {
            let _ = run_job(inner, &pool, &job, &RunOptions::default(), end);
        } else if let Some(record) = find_mut(inner, &pool, &job) {
            set_status(&mut record.job, "Succeeded", end);
            record.job.completion_message = Some(COMPLETED.to_string());
        }
    }
}

fn stop_job(inner: &mut Inner, body: &Value) -> Result<Value, ApiError> {
    let pool = pool_id(inner, body)?;
    let job = job_id(body)?;
    let record = find_mut(inner, pool, job).ok_or_else(|| job_not_found(job))?;
    match record.job.status.as_str() {
        "Pending" | "InProgress" => {
            set_status(&mut record.job, "Stopped", util::now_ms());
            Ok(json!({ "UserImportJob": job_json(&record.job) }))
        }
        _ => Err(precondition(
            "Import job is not in Pending or InProgress state",
        )),
    }
}

const PAGE_TOKEN_PREFIX: &str = "emulator-page-";

fn list_jobs(inner: &Inner, body: &Value) -> Result<Value, ApiError> {
    let pool = pool_id(inner, body)?;
    let max = match body.get("MaxResults") {
        None | Some(Value::Null) => {
            return Err(invalid(
                "1 validation error detected: Value null at 'maxResults' failed to satisfy constraint: Member must not be null",
            ))
        }
        Some(value) => value
            .as_i64()
            .filter(|max| (1..=60).contains(max))
            .ok_or_else(|| invalid("MaxResults must be an integer from 1 to 60"))?,
    };
    // The token is the sequence number of the next (older) job to return.
    let from = match body.get("PaginationToken") {
        None | Some(Value::Null) => u64::MAX,
        Some(Value::String(token)) => token
            .strip_prefix(PAGE_TOKEN_PREFIX)
            .and_then(|seq| seq.parse().ok())
            .ok_or_else(|| invalid("Invalid pagination token"))?,
        Some(_) => return Err(invalid("PaginationToken must be a string")),
    };
    let mut jobs: Vec<&JobRecord> = inner
        .jobs
        .iter()
        .filter(|record| record.job.pool_id == pool && record.seq <= from)
        .collect();
    jobs.sort_by_key(|record| std::cmp::Reverse(record.seq));
    let page: Vec<Value> = jobs
        .iter()
        .take(max as usize)
        .map(|record| job_json(&record.job))
        .collect();
    let mut response = json!({ "UserImportJobs": page });
    if let Some(next) = jobs.get(max as usize) {
        response["PaginationToken"] = json!(format!("{PAGE_TOKEN_PREFIX}{}", next.seq));
    }
    Ok(response)
}

fn csv_header(inner: &Inner, body: &Value) -> Result<Value, ApiError> {
    let id = pool_id(inner, body)?;
    let header = inner
        .pools
        .get(id)
        .map(|pool| pool.csv_header.clone())
        .unwrap_or_default();
    Ok(json!({ "UserPoolId": id, "CSVHeader": header }))
}

fn describe_pool(inner: &Inner, body: &Value) -> Result<Value, ApiError> {
    let id = pool_id(inner, body)?;
    let Some(pool) = inner.pools.get(id) else {
        return Err(not_found(format!("User pool {id} does not exist.")));
    };
    Ok(json!({
        "UserPool": {
            "Id": id,
            "Name": pool.name,
            "Arn": format!("arn:aws:cognito-idp:{REGION}:{ACCOUNT_ID}:userpool/{id}"),
            "CreationDate": json_date(pool.creation_ms),
            "LastModifiedDate": json_date(pool.creation_ms),
        }
    }))
}

// ---- the pre-signed upload ----

pub(crate) struct Upload {
    put: bool,
    pool_id: String,
    job_id: String,
    signature: Option<String>,
    kms: bool,
    has_length: bool,
    body: Bytes,
}

pub(crate) fn route_upload(req: Req) -> Routed<Result<Upload, Resp>> {
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

pub(crate) fn upload(state: &State, upload: Upload) -> Resp {
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

// ---- running a job to its end ----

/// How [`super::Emulator::run_import_job_with`] runs a job.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// `Some(k)`: only the first `k` log lines are written when the job
    /// finishes (its counts are final all the same); the rest wait for
    /// [`super::Emulator::release_log_lines`], as CloudWatch Logs delivers
    /// late. `None`: every line at once.
    pub logged_rows: Option<usize>,
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct ImportRun {
    /// The job as it ended (`Succeeded`, counts, dates, message).
    pub job: ImportJob,
    /// `/aws/cognito/userpools/<pool id>/<pool name>`.
    pub log_group: String,
    /// `<job id>/<job name>`.
    pub log_stream: String,
    /// One line per data row, in file order, written or held back.
    pub lines: Vec<String>,
    /// How many of `lines` (the last ones) are held back.
    pub held_back: usize,
}

/// The log group and stream Cognito writes a job's per-user results to.
pub(crate) fn log_names(pool_id: &str, pool_name: &str, job: &ImportJob) -> (String, String) {
    (
        format!("/aws/cognito/userpools/{pool_id}/{pool_name}"),
        format!("{}/{}", job.job_id, job.job_name),
    )
}

pub(crate) const AUTO_VERIFIED: &str = "The User Record does not set any of the auto verified attributes to true. (Example: email_verified to true).";
pub(crate) const INVALID_EMAIL: &str = "Invalid email address format.";
pub(crate) const INVALID_PHONE: &str = "Invalid phone number format.";
pub(crate) const EMPTY_USERNAME: &str = "The username is empty.";
pub(crate) const USER_EXISTS: &str = "The user already exists.";
pub(crate) const SUCCEEDED: &str = "The import succeeded.";
pub(crate) const COMPLETED: &str = "Import Job Completed Successfully.";
pub(crate) const INVALID_PASSWORD_HASH: &str = "Invalid password hash.";
pub(crate) const NO_PASSWORD_HASH_COLUMN: &str =
    "The CSV file has no password_hash column, which a job with a password hashing algorithm needs.";

/// Runs a started job (`Pending` or `InProgress`) over its CSV as Cognito
/// does: one outcome and one log line per data row, in file order; the job
/// ends `Succeeded` with the counts.
pub(crate) fn run_job(
    inner: &mut Inner,
    pool_id: &str,
    job_id: &str,
    options: &RunOptions,
    now: i64,
) -> Result<ImportRun, String> {
    let index = inner
        .jobs
        .iter()
        .position(|r| r.job.pool_id == pool_id && r.job.job_id == job_id)
        .ok_or_else(|| format!("no import job {job_id} in pool {pool_id}"))?;
    let record = &mut inner.jobs[index];
    if !matches!(record.job.status.as_str(), "Pending" | "InProgress") {
        return Err(format!(
            "import job {job_id} is {}, not started (Pending or InProgress)",
            record.job.status
        ));
    }
    let csv = record.csv.clone().ok_or_else(|| {
        format!(
            "import job {job_id} has no CSV bytes (upload to its pre-signed URL, or Emulator::set_job_csv)"
        )
    })?;
    let pool = inner
        .pools
        .get_mut(pool_id)
        .ok_or_else(|| format!("no user pool {pool_id}"))?;
    let (log_group, log_stream) = log_names(pool_id, &pool.name, &record.job);
    let algorithm = record.job.password_hashing_algorithm.clone();
    let rows = data_rows(&csv);
    if algorithm.is_some() && !has_column(&csv, "password_hash") {
        // Cognito fails the whole job: no user is imported.
        set_status(&mut record.job, "Failed", now);
        record.job.completion_message = Some(NO_PASSWORD_HASH_COLUMN.to_string());
        return Ok(ImportRun {
            job: record.job.clone(),
            log_group,
            log_stream,
            lines: Vec::new(),
            held_back: 0,
        });
    }

    let (mut imported, mut skipped, mut failed) = (0, 0, 0);
    let mut lines = Vec::new();
    for (n, row) in rows {
        let hash = row
            .get("password_hash")
            .map(String::as_str)
            .unwrap_or_default();
        let outcome = match (&algorithm, hash) {
            (Some(algorithm), hash) if !hash.is_empty() && !hash_well_formed(algorithm, hash) => {
                Err(INVALID_PASSWORD_HASH)
            }
            _ => row_outcome(&row),
        };
        let (status, reason) = match outcome {
            Err(reason) => {
                failed += 1;
                ("FAILED", reason)
            }
            Ok(username) if pool.users.contains(&username) => {
                skipped += 1;
                ("SKIPPED", USER_EXISTS)
            }
            Ok(username) => {
                let confirmed = algorithm.is_some() && !hash.is_empty();
                let status = if confirmed {
                    "CONFIRMED"
                } else {
                    "RESET_REQUIRED"
                };
                pool.user_status
                    .insert(username.clone(), status.to_string());
                pool.users.insert(username);
                imported += 1;
                ("SUCCEEDED", SUCCEEDED)
            }
        };
        lines.push(format!("[{status}] Line Number {n} - {reason}"));
    }

    set_status(&mut record.job, "Succeeded", now);
    record.job.imported_users = imported;
    record.job.skipped_users = skipped;
    record.job.failed_users = failed;
    record.job.completion_message = Some(COMPLETED.to_string());
    let logged = options.logged_rows.unwrap_or(lines.len()).min(lines.len());
    let held: Vec<String> = lines[logged..].to_vec();
    record.held_log_lines =
        (!held.is_empty()).then(|| (log_group.clone(), log_stream.clone(), held));
    let job = record.job.clone();

    // The stream exists from the run on, even while all its lines are late.
    inner.logs.ensure_stream(&log_group, &log_stream);
    let events: Vec<(i64, &str)> = lines[..logged].iter().map(|l| (now, l.as_str())).collect();
    inner.logs.put(&log_group, &log_stream, &events, now);
    Ok(ImportRun {
        job,
        log_group,
        log_stream,
        held_back: lines.len() - logged,
        lines,
    })
}

/// Writes the log lines a run held back; returns how many.
pub(crate) fn release_log_lines(inner: &mut Inner, pool_id: &str, job_id: &str, now: i64) -> usize {
    let Some(record) = find_mut(inner, pool_id, job_id) else {
        panic!("emulator: no import job {job_id} in pool {pool_id}");
    };
    let Some((group, stream, lines)) = record.held_log_lines.take() else {
        return 0;
    };
    let events: Vec<(i64, &str)> = lines.iter().map(|l| (now, l.as_str())).collect();
    inner.logs.put(&group, &stream, &events, now);
    lines.len()
}

/// Whether the CSV's header (its first line) names `column`.
fn has_column(csv: &[u8], column: &str) -> bool {
    let text = String::from_utf8_lossy(csv);
    let header = text.split('\n').next().unwrap_or_default();
    let header = header.strip_suffix('\r').unwrap_or(header);
    let header = header.strip_prefix('\u{feff}').unwrap_or(header);
    split_fields(header).iter().any(|c| c.trim() == column)
}

/// A hash of the job's algorithm's form, bcrypt's cost within 4 to 12 (the
/// emulator checks forms, not every bound Cognito checks).
fn hash_well_formed(algorithm: &str, hash: &str) -> bool {
    fn decimal(f: &str) -> bool {
        !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit())
    }
    let fields: Vec<&str> = hash.split('$').collect();
    match algorithm {
        "BCRYPT" => {
            matches!(fields.as_slice(), ["", "2a" | "2b" | "2x" | "2y", cost, rest]
                if decimal(cost) && cost.len() == 2
                    && (4..=12).contains(&cost.parse::<u32>().unwrap_or(0))
                    && rest.len() == 53)
        }
        "SCRYPT" => fields.len() == 5 && fields[..3].iter().all(|f| decimal(f)),
        "ARGON2ID" => hash.starts_with("$argon2id$v=19$m=") && fields.len() == 6,
        "PBKDF2_SHA256" => {
            hash.starts_with("$pbkdf2-sha256$") && fields.len() == 5 && decimal(fields[2])
        }
        _ => false,
    }
}

/// A row's user: `Ok(username)` to import (or skip when it exists), or
/// `Err(reason)`, checked in Cognito's order.
fn row_outcome(row: &BTreeMap<String, String>) -> Result<String, &'static str> {
    let field = |name: &str| row.get(name).map(String::as_str).unwrap_or_default();
    let email_verified = field("email_verified").trim().eq_ignore_ascii_case("true");
    let phone_verified = field("phone_number_verified")
        .trim()
        .eq_ignore_ascii_case("true");
    if !email_verified && !phone_verified {
        return Err(AUTO_VERIFIED);
    }
    let email = field("email");
    if !email.is_empty() && !valid_email(email) {
        return Err(INVALID_EMAIL);
    }
    let phone = field("phone_number");
    if !phone.is_empty() && !valid_phone(phone) {
        return Err(INVALID_PHONE);
    }
    let username = field("cognito:username");
    if username.is_empty() {
        return Err(EMPTY_USERNAME);
    }
    Ok(username.to_string())
}

/// Like `x@y.z`: one `@`, something before it, a domain of non-empty
/// dot-separated labels (at least two), no whitespace.
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| !label.is_empty())
}

/// E.164: `+` then 1 to 15 digits.
fn valid_phone(phone: &str) -> bool {
    phone.strip_prefix('+').is_some_and(|digits| {
        (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The data rows of a CSV as Cognito numbers them (the first row after the
/// header is 1), each as column name -> value. Rows end at `\n` (a `\r`
/// before it is dropped); the empty piece after a final newline is not a
/// row. Fields end at commas not escaped as `\,`.
pub(crate) fn data_rows(csv: &[u8]) -> Vec<(usize, BTreeMap<String, String>)> {
    let text = String::from_utf8_lossy(csv);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    let mut lines = lines.into_iter().map(|l| l.strip_suffix('\r').unwrap_or(l));
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let columns: Vec<String> = split_fields(header)
        .into_iter()
        .map(|c| c.trim().to_string())
        .collect();
    lines
        .enumerate()
        .map(|(i, line)| {
            let values = split_fields(line);
            let row = columns
                .iter()
                .cloned()
                .zip(values.into_iter().chain(std::iter::repeat(String::new())))
                .collect();
            (i + 1, row)
        })
        .collect()
}

/// Splits at commas not preceded by a backslash; `\,` becomes `,`.
fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                chars.next();
                fields.last_mut().expect("never empty").push(',');
            }
            ',' => fields.push(String::new()),
            _ => fields.last_mut().expect("never empty").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_fields_and_checks() {
        let csv =
            b"cognito:username,name,email,email_verified\r\na,Doe\\, Jr.,a@x.io,TRUE\r\nb\n\n";
        let rows = data_rows(csv);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].0, 1);
        assert_eq!(rows[0].1["name"], "Doe, Jr.");
        assert_eq!(rows[0].1["email_verified"], "TRUE");
        assert_eq!(rows[1].1["email"], "");
        assert_eq!(rows[2].0, 3);
        assert!(data_rows(b"").is_empty());

        for good in ["a@b.c", "first.last+tag@mail.example.com"] {
            assert!(valid_email(good), "{good}");
        }
        for bad in [
            "bad-email",
            "a@b",
            "@b.c",
            "a@b..c",
            "a@@b.c",
            "a b@c.d",
            "a@.c",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        for good in ["+1", "+14155550100", "+123456789012345"] {
            assert!(valid_phone(good), "{good}");
        }
        for bad in [
            "+",
            "14155550100",
            "+1234567890123456",
            "+1 415",
            "555-0100",
        ] {
            assert!(!valid_phone(bad), "{bad}");
        }
    }
}
