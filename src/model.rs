//! Plain data that flows through the stages: work items in, outcomes out.
//! JSON shapes use the API's field names (SPEC section 5).

use std::fmt;

use aws_sdk_cognitoidentityprovider::primitives::DateTime;
use aws_sdk_cognitoidentityprovider::types::UserImportJobType;
use serde_json::{Map, Value};

use crate::csv_check::groups::GroupCounts;
use crate::error::ImportError;

/// An S3 object named by a trigger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    /// Without quotes, as S3 event notifications carry it.
    pub etag: Option<String>,
}

impl ObjectRef {
    pub fn new(
        bucket: impl Into<String>,
        key: impl Into<String>,
        version_id: Option<String>,
    ) -> Self {
        ObjectRef {
            bucket: bucket.into(),
            key: key.into(),
            version_id: version_id.filter(|v| is_version(v)),
            etag: None,
        }
    }

    /// `{"Bucket", "Key", "VersionId"?, "ETag"?}`.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("Bucket".into(), self.bucket.clone().into());
        map.insert("Key".into(), self.key.clone().into());
        insert_opt(&mut map, "VersionId", self.version_id.clone());
        insert_opt(&mut map, "ETag", self.etag.clone());
        Value::Object(map)
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)?;
        if let Some(version) = &self.version_id {
            write!(f, " (version {version})")?;
        }
        Ok(())
    }
}

/// Whether S3's version ID names one version. S3 calls every object written
/// while versioning was off or suspended version `null` (SPEC section 10): that
/// names whatever is at the key now, so such an object counts as unversioned
/// and its ETag pins it instead.
pub fn is_version(version_id: &str) -> bool {
    !version_id.is_empty() && version_id != "null"
}

/// A user pool and an import job in it, both checked against Cognito's patterns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRef {
    pub user_pool_id: String,
    pub job_id: String,
}

/// One unit of work parsed from a trigger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkItem {
    /// An object whose metadata names the pool and job.
    Object(ObjectRef),
    /// IDs given directly (Step Functions, CLI), not yet checked.
    Ids {
        user_pool_id: String,
        job_id: String,
    },
    /// Not an object creation, or a folder marker.
    Ignored {
        object: Option<ObjectRef>,
        reason: String,
    },
    /// A record that could not be read; permanent.
    Invalid {
        object: Option<ObjectRef>,
        error: ImportError,
    },
}

impl WorkItem {
    /// The object the item names, if any.
    pub fn object(&self) -> Option<&ObjectRef> {
        match self {
            WorkItem::Object(object) => Some(object),
            WorkItem::Ids { .. } => None,
            WorkItem::Ignored { object, .. } | WorkItem::Invalid { object, .. } => object.as_ref(),
        }
    }
}

/// What is known of a record so far. A failure carries it forward, so that
/// its event and summary name every ID known when it failed (SPEC section 5).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Known {
    pub object: Option<ObjectRef>,
    pub user_pool_id: Option<String>,
    pub job_id: Option<String>,
    /// Create mode (SPEC section 10): the function creates (or finds) the job.
    pub created_job: bool,
    /// The part of a drop cut into parts (SPEC section 14) the record is at.
    pub part: Option<PartRef>,
    /// SPEC section 15: the job's password hashing algorithm and its rows'
    /// hashes, when the preflight ran with an algorithm.
    pub passwords: Option<PasswordCounts>,
    /// SPEC section 17: the job's rows' groups, when they name any.
    pub groups: Option<GroupCounts>,
}

impl Known {
    pub fn object(object: Option<ObjectRef>) -> Known {
        Known {
            object,
            ..Known::default()
        }
    }

    pub fn with_ids(self, ids: &JobRef) -> Known {
        Known {
            user_pool_id: Some(ids.user_pool_id.clone()),
            job_id: Some(ids.job_id.clone()),
            ..self
        }
    }

    /// The record failed here: `error`, with all that is known.
    pub fn failed(&self, error: ImportError) -> Failure {
        Failure {
            error,
            known: Box::new(self.clone()),
        }
    }
}

/// Part `number` of `count` of a drop (SPEC section 14), and its source's
/// data rows (the first data row is 1) when the plan is at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartRef {
    pub number: u64,
    pub count: u64,
    pub first_line: Option<u64>,
    pub last_line: Option<u64>,
}

impl PartRef {
    /// `{"Number", "Count", "FirstLine", "LastLine"}`, the lines when known.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("Number".into(), self.number.into());
        map.insert("Count".into(), self.count.into());
        if let Some(first) = self.first_line {
            map.insert("FirstLine".into(), first.into());
        }
        if let Some(last) = self.last_line {
            map.insert("LastLine".into(), last.into());
        }
        Value::Object(map)
    }
}

/// SPEC section 15: a job's algorithm, its users with a hash (created
/// `CONFIRMED`) and without one (to reset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordCounts {
    pub algorithm: String,
    pub hashes: u64,
    pub empty: u64,
}

impl PasswordCounts {
    /// `{"Algorithm", "Hashes", "Empty"}`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "Algorithm": self.algorithm,
            "Hashes": self.hashes,
            "Empty": self.empty,
        })
    }
}

/// A record that failed, and what was known of it when it did.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub error: ImportError,
    /// Boxed: failures travel in `Result`s, which stay small this way.
    pub known: Box<Known>,
}

/// A job started (or found started) for a record.
#[derive(Clone, Debug, PartialEq)]
pub struct Started {
    pub job: ImportJob,
    /// Started by an earlier delivery; this one changed nothing.
    pub already_started: bool,
    pub known: Known,
}

/// Where Cognito writes a job's per-user results (SPEC section 11):
/// `/aws/cognito/userpools/<pool id>/<pool name>`, stream `<job id>/<job name>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLocation {
    pub group: String,
    pub stream: String,
}

impl LogLocation {
    pub fn of(job: &ImportJob, pool_name: &str) -> LogLocation {
        let pool_id = job.user_pool_id.as_deref().unwrap_or_default();
        let job_id = job.job_id.as_deref().unwrap_or_default();
        let job_name = job.job_name.as_deref().unwrap_or_default();
        LogLocation {
            group: format!("/aws/cognito/userpools/{pool_id}/{pool_name}"),
            stream: format!("{job_id}/{job_name}"),
        }
    }
}

/// Cognito's `UserImportJobType`, kept as Cognito returned it.
#[derive(Clone, Default, PartialEq)]
pub struct ImportJob {
    pub job_name: Option<String>,
    pub job_id: Option<String>,
    pub user_pool_id: Option<String>,
    pub pre_signed_url: Option<String>,
    pub creation_date: Option<DateTime>,
    pub start_date: Option<DateTime>,
    pub completion_date: Option<DateTime>,
    pub status: Option<String>,
    pub cloud_watch_logs_role_arn: Option<String>,
    pub imported_users: i64,
    pub skipped_users: i64,
    pub failed_users: i64,
    pub completion_message: Option<String>,
    pub password_hashing_algorithm: Option<String>,
}

impl From<&UserImportJobType> for ImportJob {
    fn from(job: &UserImportJobType) -> Self {
        let owned = |s: Option<&str>| s.map(str::to_string);
        ImportJob {
            job_name: owned(job.job_name()),
            job_id: owned(job.job_id()),
            user_pool_id: owned(job.user_pool_id()),
            pre_signed_url: owned(job.pre_signed_url()),
            creation_date: job.creation_date().copied(),
            start_date: job.start_date().copied(),
            completion_date: job.completion_date().copied(),
            status: job.status().map(|s| s.as_str().to_string()),
            cloud_watch_logs_role_arn: owned(job.cloud_watch_logs_role_arn()),
            imported_users: job.imported_users(),
            skipped_users: job.skipped_users(),
            failed_users: job.failed_users(),
            completion_message: owned(job.completion_message()),
            password_hashing_algorithm: job
                .password_hashing_algorithm()
                .map(|a| a.as_str().to_string()),
        }
    }
}

/// Whether a job record shown in an event or a response carries its
/// pre-signed URL (`EMIT_PRESIGNED_URL`): the URL is a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresignedUrl {
    Omitted,
    Included,
}

impl From<bool> for PresignedUrl {
    fn from(include: bool) -> PresignedUrl {
        if include {
            PresignedUrl::Included
        } else {
            PresignedUrl::Omitted
        }
    }
}

impl ImportJob {
    /// The record with the API's field names; absent fields left out, dates
    /// RFC 3339 UTC. `PreSignedUrl` is a credential: only when asked for.
    pub fn to_json(&self, presigned_url: PresignedUrl) -> Value {
        let mut map = Map::new();
        insert_opt(&mut map, "JobName", self.job_name.clone());
        insert_opt(&mut map, "JobId", self.job_id.clone());
        insert_opt(&mut map, "UserPoolId", self.user_pool_id.clone());
        if presigned_url == PresignedUrl::Included {
            insert_opt(&mut map, "PreSignedUrl", self.pre_signed_url.clone());
        }
        insert_opt(
            &mut map,
            "CreationDate",
            self.creation_date.and_then(rfc3339),
        );
        insert_opt(&mut map, "StartDate", self.start_date.and_then(rfc3339));
        insert_opt(
            &mut map,
            "CompletionDate",
            self.completion_date.and_then(rfc3339),
        );
        insert_opt(&mut map, "Status", self.status.clone());
        insert_opt(
            &mut map,
            "CloudWatchLogsRoleArn",
            self.cloud_watch_logs_role_arn.clone(),
        );
        map.insert("ImportedUsers".into(), self.imported_users.into());
        map.insert("SkippedUsers".into(), self.skipped_users.into());
        map.insert("FailedUsers".into(), self.failed_users.into());
        insert_opt(
            &mut map,
            "CompletionMessage",
            self.completion_message.clone(),
        );
        insert_opt(
            &mut map,
            "PasswordHashingAlgorithm",
            self.password_hashing_algorithm.clone(),
        );
        Value::Object(map)
    }
}

/// Debug never shows the pre-signed URL, so a stray `{:?}` cannot leak it.
impl fmt::Debug for ImportJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportJob")
            .field("job_name", &self.job_name)
            .field("job_id", &self.job_id)
            .field("user_pool_id", &self.user_pool_id)
            .field(
                "pre_signed_url",
                &self.pre_signed_url.as_ref().map(|_| "<redacted>"),
            )
            .field("status", &self.status)
            .field("creation_date", &self.creation_date)
            .field("start_date", &self.start_date)
            .field("completion_date", &self.completion_date)
            .finish_non_exhaustive()
    }
}

fn insert_opt(map: &mut Map<String, Value>, name: &str, value: Option<String>) {
    if let Some(value) = value {
        map.insert(name.into(), Value::String(value));
    }
}

/// RFC 3339 in UTC, with milliseconds when the instant has any
/// (`2026-11-25T09:30:00Z`, `2026-11-25T09:31:02.250Z`). `None` for an
/// instant outside the years 0000 to 9999, which RFC 3339 cannot write: the
/// field is then left out, as one Cognito did not return.
pub fn rfc3339(date: DateTime) -> Option<String> {
    // Cognito sends epoch seconds as a float: 1764063062.297 arrives as
    // ...296999931 ns, so round to the nearest millisecond, not down.
    let rounded = i64::from((date.subsec_nanos() + 500_000) / 1_000_000);
    let total_ms = date.secs().checked_mul(1000)?.checked_add(rounded)?;
    let (secs, millis) = (total_ms.div_euclid(1000), total_ms.rem_euclid(1000));
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let fraction = if millis == 0 {
        String::new()
    } else {
        format!(".{millis:03}")
    };
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}{fraction}Z"
    ))
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Cognito's own ID patterns (SPEC section 3).
const MAX_ID_LEN: usize = 55;

/// `[\w-]+_[0-9a-zA-Z]+`, 1 to 55 characters (`\w` is ASCII in Cognito's patterns).
pub fn is_user_pool_id(value: &str) -> bool {
    let Some((region, suffix)) = value.rsplit_once('_') else {
        return false;
    };
    value.len() <= MAX_ID_LEN
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !suffix.is_empty()
        && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// `import-[0-9a-zA-Z-]+`, 1 to 55 characters.
pub fn is_job_id(value: &str) -> bool {
    value.len() <= MAX_ID_LEN
        && value.strip_prefix("import-").is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The value of user-defined metadata `name`, matched without regard to
/// case (S3 keeps metadata names as they were sent).
pub fn metadata_value<'a>(
    metadata: &'a std::collections::HashMap<String, String>,
    name: &str,
) -> Option<&'a str> {
    metadata
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cognitoidentityprovider::types::UserImportJobStatusType;

    #[test]
    fn dates_are_rfc3339_utc_keeping_milliseconds() {
        assert_eq!(
            rfc3339(DateTime::from_secs(0)).as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        assert_eq!(
            rfc3339(DateTime::from_millis(1_795_599_000_000)),
            Some("2026-11-25T09:30:00Z".into())
        );
        assert_eq!(
            rfc3339(DateTime::from_millis(1_795_599_062_250)),
            Some("2026-11-25T09:31:02.250Z".into())
        );
        assert_eq!(
            rfc3339(DateTime::from_millis(951_782_400_007)),
            Some("2000-02-29T00:00:00.007Z".into())
        );
        assert_eq!(
            rfc3339(DateTime::from_secs(4_107_542_399)),
            Some("2100-02-28T23:59:59Z".into())
        );
    }

    #[test]
    fn a_date_rfc_3339_cannot_write_is_left_out() {
        // A response is data from outside: a date far out of range must
        // neither overflow nor be written as a year of five digits.
        assert_eq!(rfc3339(DateTime::from_secs(i64::MAX)), None);
        assert_eq!(rfc3339(DateTime::from_secs(i64::MIN)), None);
        assert_eq!(rfc3339(DateTime::from_secs(253_402_300_800)), None);
        assert_eq!(
            rfc3339(DateTime::from_secs(253_402_300_799)).as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        let job = ImportJob {
            creation_date: Some(DateTime::from_secs(i64::MAX)),
            ..ImportJob::default()
        };
        assert!(job
            .to_json(PresignedUrl::Omitted)
            .get("CreationDate")
            .is_none());
    }

    fn sample() -> UserImportJobType {
        UserImportJobType::builder()
            .job_name("nightly")
            .job_id("import-AbC123")
            .user_pool_id("us-east-1_Pool1")
            .pre_signed_url("https://s3.example/upload?X-Amz-Signature=secret")
            .creation_date(DateTime::from_millis(1_795_599_000_000))
            .start_date(DateTime::from_millis(1_795_599_062_250))
            .status(UserImportJobStatusType::Pending)
            .cloud_watch_logs_role_arn("arn:aws:iam::123456789012:role/logs")
            .build()
    }

    #[test]
    fn job_json_uses_api_names_and_leaves_out_absent_fields() {
        let job = ImportJob::from(&sample());
        assert_eq!(
            job.to_json(PresignedUrl::Omitted),
            serde_json::json!({
                "JobName": "nightly", "JobId": "import-AbC123", "UserPoolId": "us-east-1_Pool1",
                "CreationDate": "2026-11-25T09:30:00Z", "StartDate": "2026-11-25T09:31:02.250Z",
                "Status": "Pending", "CloudWatchLogsRoleArn": "arn:aws:iam::123456789012:role/logs",
                "ImportedUsers": 0, "SkippedUsers": 0, "FailedUsers": 0
            })
        );
    }

    #[test]
    fn presigned_url_only_when_asked_and_never_in_debug() {
        let job = ImportJob::from(&sample());
        assert_eq!(
            job.to_json(PresignedUrl::Included)["PreSignedUrl"],
            "https://s3.example/upload?X-Amz-Signature=secret"
        );
        assert!(!format!("{job:?}").contains("secret"));
    }

    #[test]
    fn object_json_leaves_out_absent_version() {
        let object = ObjectRef::new("b", "k", Some(String::new()));
        assert_eq!(
            object.to_json(),
            serde_json::json!({"Bucket": "b", "Key": "k"})
        );
    }
}
