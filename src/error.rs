//! The one error type of the function: every failure a record or an invocation
//! can meet, named exactly as SPEC section 6 names it, so that the Lambda
//! `errorType`, the summary's `Error.Type` and the failure event agree, and
//! Step Functions can `Retry`/`Catch` on them.

use std::fmt;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use lambda_runtime::Diagnostic;

use crate::csv_check::Problem;

/// The error types of SPEC section 6. `as_str` is the wire name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    UnsupportedEvent,
    MissingImportMetadata,
    InvalidImportMetadata,
    UserPoolNotAllowed,
    ObjectNotFound,
    AccessDenied,
    ResourceNotFound,
    InvalidParameter,
    NotAuthorized,
    ImportJobExpired,
    OperationNotEnabled,
    LimitExceeded,
    TooManyRequests,
    InternalError,
    EventPublishFailed,
    CsvNotUploaded,
    ServiceUnavailable,
    InvalidCsv,
    CsvTooLarge,
    UploadFailed,
    ImportSlotBusy,
    ImportPartsRemaining,
    ObjectChanged,
    /// SPEC section 16: the object given to `Track` (or `AddToGroups`) is
    /// not the one the job was created from or named by.
    ObjectMismatch,
    /// SPEC section 17: `AddToGroups` called before its job is terminal;
    /// retryable, so that the caller calls again once the job has ended.
    ImportNotFinished,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 25] = [
        ErrorKind::UnsupportedEvent,
        ErrorKind::MissingImportMetadata,
        ErrorKind::InvalidImportMetadata,
        ErrorKind::UserPoolNotAllowed,
        ErrorKind::ObjectNotFound,
        ErrorKind::AccessDenied,
        ErrorKind::ResourceNotFound,
        ErrorKind::InvalidParameter,
        ErrorKind::NotAuthorized,
        ErrorKind::ImportJobExpired,
        ErrorKind::OperationNotEnabled,
        ErrorKind::LimitExceeded,
        ErrorKind::TooManyRequests,
        ErrorKind::InternalError,
        ErrorKind::EventPublishFailed,
        ErrorKind::CsvNotUploaded,
        ErrorKind::ServiceUnavailable,
        ErrorKind::InvalidCsv,
        ErrorKind::CsvTooLarge,
        ErrorKind::UploadFailed,
        ErrorKind::ImportSlotBusy,
        ErrorKind::ImportPartsRemaining,
        ErrorKind::ObjectChanged,
        ErrorKind::ObjectMismatch,
        ErrorKind::ImportNotFinished,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::UnsupportedEvent => "UnsupportedEvent",
            ErrorKind::MissingImportMetadata => "MissingImportMetadata",
            ErrorKind::InvalidImportMetadata => "InvalidImportMetadata",
            ErrorKind::UserPoolNotAllowed => "UserPoolNotAllowed",
            ErrorKind::ObjectNotFound => "ObjectNotFound",
            ErrorKind::AccessDenied => "AccessDenied",
            ErrorKind::ResourceNotFound => "ResourceNotFoundException",
            ErrorKind::InvalidParameter => "InvalidParameterException",
            ErrorKind::NotAuthorized => "NotAuthorizedException",
            ErrorKind::ImportJobExpired => "ImportJobExpired",
            ErrorKind::OperationNotEnabled => "OperationNotEnabledException",
            ErrorKind::LimitExceeded => "LimitExceededException",
            ErrorKind::TooManyRequests => "TooManyRequestsException",
            ErrorKind::InternalError => "InternalErrorException",
            ErrorKind::EventPublishFailed => "EventPublishFailed",
            ErrorKind::CsvNotUploaded => "CsvNotUploaded",
            ErrorKind::ServiceUnavailable => "ServiceUnavailable",
            ErrorKind::InvalidCsv => "InvalidCsv",
            ErrorKind::CsvTooLarge => "CsvTooLarge",
            ErrorKind::UploadFailed => "UploadFailed",
            ErrorKind::ImportSlotBusy => "ImportSlotBusy",
            ErrorKind::ImportPartsRemaining => "ImportPartsRemaining",
            ErrorKind::ObjectChanged => "ObjectChanged",
            ErrorKind::ObjectMismatch => "ObjectMismatch",
            ErrorKind::ImportNotFinished => "ImportNotFinished",
        }
    }

    /// Retryable errors make their delivery fail so that it comes again;
    /// permanent ones are reported once (failure event) and not retried.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::TooManyRequests
                | ErrorKind::InternalError
                | ErrorKind::EventPublishFailed
                | ErrorKind::CsvNotUploaded
                | ErrorKind::ServiceUnavailable
                | ErrorKind::UploadFailed
                | ErrorKind::ImportSlotBusy
                | ErrorKind::ImportPartsRemaining
                | ErrorKind::ImportNotFinished
        )
    }

    /// Retryable because something must finish first (the import slot, an
    /// upload under way, the parts before): a queued message waits
    /// (`ChangeMessageVisibility`, SPEC section 13) instead of coming back
    /// after the queue's whole visibility timeout.
    pub fn waits(self) -> bool {
        matches!(
            self,
            ErrorKind::ImportSlotBusy | ErrorKind::CsvNotUploaded | ErrorKind::ImportPartsRemaining
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure with its SPEC type and a message that says what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ImportError {
    pub kind: ErrorKind,
    pub message: String,
    /// `InvalidCsv` only: what the preflight check found (SPEC section 10).
    pub csv_problems: Option<Box<CsvProblems>>,
    /// `ObjectChanged` only: the jobs of the drop's parts already started
    /// (SPEC section 14), in part order.
    pub started_jobs: Vec<String>,
}

/// The first problems of a refused CSV file, and how many there were in all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvProblems {
    pub first: Vec<Problem>,
    pub count: u64,
}

impl ImportError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ImportError {
            kind,
            message: message.into(),
            csv_problems: None,
            started_jobs: Vec::new(),
        }
    }

    /// `InvalidCsv`, its message naming the first problem.
    pub fn invalid_csv(what: &str, first: Vec<Problem>, count: u64) -> Self {
        let head = first.first().map_or_else(String::new, |p| {
            let column = p
                .column
                .as_deref()
                .map(|c| format!(", column {c}"))
                .unwrap_or_default();
            format!("; first, line {}{column}: {}", p.line, p.problem)
        });
        ImportError {
            kind: ErrorKind::InvalidCsv,
            message: format!(
                "{what} is not a CSV file Cognito can import: {count} problem(s){head}; \
                 fix the file and upload it again"
            ),
            csv_problems: Some(Box::new(CsvProblems { first, count })),
            started_jobs: Vec::new(),
        }
    }

    pub fn error_type(&self) -> &'static str {
        self.kind.as_str()
    }

    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    /// `{"Type": ..., "Message": ...}` as summaries and failure events carry it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "Type": self.error_type(), "Message": self.message })
    }
}

impl From<ImportError> for Diagnostic {
    fn from(error: ImportError) -> Diagnostic {
        Diagnostic {
            error_type: error.error_type().to_string(),
            error_message: error.message,
        }
    }
}

/// Which AWS service an SDK error came from: the same HTTP status means
/// different things (S3's HeadObject has no error body, only a status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    S3,
    Cognito,
    EventBridge,
    Logs,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::S3 => "S3",
            Service::Cognito => "Cognito",
            Service::EventBridge => "EventBridge",
            Service::Logs => "CloudWatch Logs",
        }
    }
}

/// Maps an SDK error (after the SDK's own retries) to its SPEC type.
/// `what` names the call and its target, e.g. `HeadObject s3://b/k`.
pub fn classify_sdk_error<E>(
    service: Service,
    what: &str,
    error: &SdkError<E, HttpResponse>,
) -> ImportError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(error);
    if service == Service::EventBridge {
        // SPEC section 6: an event that was not published is never a
        // permanent failure, whatever EventBridge answered (a missing
        // events:PutEvents is fixed by a deploy, and the record must come
        // again then).
        return ImportError::new(
            ErrorKind::EventPublishFailed,
            format!(
                "{what}: EventBridge did not take the events; check EVENT_BUS_NAME and \
                 events:PutEvents on it; the delivery will be retried: {detail}"
            ),
        );
    }
    let unavailable = |why: &str| {
        ImportError::new(
            ErrorKind::ServiceUnavailable,
            format!(
                "{what}: {} {why}; it will be retried: {detail}",
                service.name()
            ),
        )
    };
    let SdkError::ServiceError(context) = error else {
        return match error {
            SdkError::TimeoutError(_) => unavailable("did not answer in time"),
            SdkError::DispatchFailure(_) => unavailable("could not be reached"),
            _ => unavailable("sent a response that could not be read"),
        };
    };
    let status = context.raw().status().as_u16();
    let code = context.err().code().unwrap_or_default();
    let message = context.err().message().unwrap_or_default();
    let said = |kind: ErrorKind, hint: &str| {
        ImportError::new(
            kind,
            format!("{what}: {} said {code} ({message}); {hint}", service.name()),
        )
    };
    match (service, code) {
        (_, "AccessDeniedException" | "AccessDenied") => said(
            ErrorKind::AccessDenied,
            "grant the function's role this action on this resource",
        ),
        (Service::Cognito, "ResourceNotFoundException") => said(
            ErrorKind::ResourceNotFound,
            "check that the user pool and the import job exist in this account and region",
        ),
        (Service::Cognito, "InvalidParameterException") => said(
            ErrorKind::InvalidParameter,
            "check the user pool ID and job ID",
        ),
        (Service::Cognito, "NotAuthorizedException") => said(
            ErrorKind::NotAuthorized,
            "the function's role is not allowed to start this import job",
        ),
        (Service::Cognito, "OperationNotEnabledException") => said(
            ErrorKind::OperationNotEnabled,
            "the user pool does not allow this operation (check its feature plan and settings)",
        ),
        (Service::Cognito, "LimitExceededException") => said(
            ErrorKind::LimitExceeded,
            "the user pool has reached a Cognito limit (1,000 import jobs per pool); \
             delete old jobs or ask for a quota increase, then drop the file again",
        ),
        (Service::Cognito, "TooManyRequestsException") => said(
            ErrorKind::TooManyRequests,
            "Cognito is throttling; the delivery will be retried",
        ),
        (Service::Cognito, "InternalErrorException") => said(
            ErrorKind::InternalError,
            "Cognito failed internally; the delivery will be retried",
        ),
        (Service::S3, _) if status == 404 => ImportError::new(
            ErrorKind::ObjectNotFound,
            format!("{what}: the object does not exist (or was deleted before it could be read)"),
        ),
        (Service::S3, _) if status == 403 => ImportError::new(
            ErrorKind::AccessDenied,
            format!(
                "{what}: S3 denied access; grant s3:GetObject (and s3:GetObjectVersion) on the \
                 drop bucket, and check EXPECTED_BUCKET_OWNER"
            ),
        ),
        _ if status >= 500
            || status == 429
            || code == "SlowDown"
            || code == "ThrottlingException" =>
        {
            unavailable(&format!("answered HTTP {status} {code}"))
        }
        // An error the SPEC does not name: retried rather than dropped, so
        // that it ends in the on-failure destination if it never clears.
        _ => unavailable(&format!("answered HTTP {status} {code} {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_the_spec_name_and_retry_class() {
        let retryable: Vec<&str> = ErrorKind::ALL
            .iter()
            .filter(|k| k.is_retryable())
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            retryable,
            [
                "TooManyRequestsException",
                "InternalErrorException",
                "EventPublishFailed",
                "CsvNotUploaded",
                "ServiceUnavailable",
                "UploadFailed",
                "ImportSlotBusy",
                "ImportPartsRemaining",
                "ImportNotFinished"
            ]
        );
        let permanent: Vec<&str> = ErrorKind::ALL
            .iter()
            .filter(|k| !k.is_retryable())
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            permanent,
            [
                "UnsupportedEvent",
                "MissingImportMetadata",
                "InvalidImportMetadata",
                "UserPoolNotAllowed",
                "ObjectNotFound",
                "AccessDenied",
                "ResourceNotFoundException",
                "InvalidParameterException",
                "NotAuthorizedException",
                "ImportJobExpired",
                "OperationNotEnabledException",
                "LimitExceededException",
                "InvalidCsv",
                "CsvTooLarge",
                "ObjectChanged",
                "ObjectMismatch"
            ]
        );
    }

    #[test]
    fn diagnostic_carries_the_spec_type_not_the_rust_type() {
        let diagnostic: Diagnostic =
            ImportError::new(ErrorKind::ImportJobExpired, "job expired").into();
        assert_eq!(diagnostic.error_type, "ImportJobExpired");
        assert_eq!(diagnostic.error_message, "job expired");
    }
}
