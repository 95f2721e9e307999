//! The user-import-job API (awsJson1_1): create, describe, start, stop
//! and list jobs, and what a job needs of its pool (`GetCSVHeader`,
//! `DescribeUserPool`).

use serde_json::{json, Map, Value};

use super::params::{
    invalid, is_word, not_found, pattern_error, pool_id, precondition, string_param, ApiError,
};
use super::store::{find, find_mut, insert_job, is_active, set_status, ImportJob, JobRecord};
use crate::util::{self, json_date};
use crate::{Inner, State, ACCOUNT_ID, REGION};

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

/// `import-[0-9a-zA-Z-]+`, 1 to 55 characters.
fn valid_job_id(id: &str) -> bool {
    id.len() <= 55
        && id.strip_prefix("import-").is_some_and(|rest| {
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
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

pub(crate) fn create_job(
    inner: &mut Inner,
    state: &State,
    body: &Value,
) -> Result<Value, ApiError> {
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

pub(crate) fn describe_job(inner: &Inner, body: &Value) -> Result<Value, ApiError> {
    let pool = pool_id(inner, body)?;
    let job = job_id(body)?;
    let record = find(inner, pool, job).ok_or_else(|| job_not_found(job))?;
    Ok(json!({ "UserImportJob": job_json(&record.job) }))
}

pub(crate) fn start_job(inner: &mut Inner, body: &Value) -> Result<Value, ApiError> {
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

pub(crate) fn stop_job(inner: &mut Inner, body: &Value) -> Result<Value, ApiError> {
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

pub(crate) fn list_jobs(inner: &Inner, body: &Value) -> Result<Value, ApiError> {
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

pub(crate) fn csv_header(inner: &Inner, body: &Value) -> Result<Value, ApiError> {
    let id = pool_id(inner, body)?;
    let header = inner
        .pools
        .get(id)
        .map(|pool| pool.csv_header.clone())
        .unwrap_or_default();
    Ok(json!({ "UserPoolId": id, "CSVHeader": header }))
}

pub(crate) fn describe_pool(inner: &Inner, body: &Value) -> Result<Value, ApiError> {
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
