//! The matrix's tables: the triggers, the operations the function calls
//! (one row each, with the scenario that reaches it), the fault classes,
//! what the SPEC makes of each fault, and the cells they cross into.

use cis_emulator::FaultAction;

pub const KEY: &str = "imports/users.csv";

pub const ROLE: &str = "arn:aws:iam::123456789012:role/cognito-import-logs";

pub const MESSAGE_ID: &str = "m-1";

pub const STARTED: &str = "User Import Job Started";

pub const START_FAILED: &str = "User Import Job Start Failed";

pub const COMPLETED: &str = "User Import Job Completed";

/// SDK attempts per call (the first and one retry).
pub const MAX_ATTEMPTS: u32 = 2;

/// The permanent error types of SPEC sections 6 and 10; every other type
/// is retryable.
pub const PERMANENT: &[&str] = &[
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
    "InvalidCsv",
    "CsvTooLarge",
    "OperationNotEnabledException",
    "LimitExceededException",
];

pub fn is_permanent(error_type: &str) -> bool {
    PERMANENT.contains(&error_type)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trigger {
    S3,
    Sqs,
    Direct,
}

impl Trigger {
    pub const ALL: [Trigger; 3] = [Trigger::S3, Trigger::Sqs, Trigger::Direct];

    pub fn title(self) -> &'static str {
        match self {
            Trigger::S3 => "S3 notification (one record; answer: a summary, or an error to be retried)",
            Trigger::Sqs => "SQS batch (one message with one S3 notification; answer: batchItemFailures)",
            Trigger::Direct => "Direct invocation (`{\"Bucket\",\"Key\"}`, `{\"UserPoolId\",\"JobId\"}` for a started job, `{\"Action\":\"Track\",...}`)",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Trigger::S3 => "S3",
            Trigger::Sqs => "SQS",
            Trigger::Direct => "direct",
        }
    }
}

/// What the record is doing when the operation is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Object metadata names pool and job, the job has its CSV.
    Plain,
    /// As `Plain`, the job already started: `StartUserImportJob` answers
    /// `PreconditionNotMetException` and the function describes the job.
    Started,
    /// Create mode: metadata names only the pool, the body is a valid CSV.
    Create,
    /// As `Create`, the file with bcrypt password hashes and its metadata
    /// naming the algorithm (SPEC section 15): every job created with it.
    CreateHashes,
    /// As `Create`, the file with a `cognito:groups` column naming a group
    /// the pool has and one it lacks, `CREATE_MISSING_GROUPS=true` (SPEC
    /// section 17): the preflight lists the pool's groups and creates the
    /// missing one before any job.
    CreateGroups,
    /// `{"Action": "Track", ..., "Object"}` on a finished job with a failed
    /// and a skipped user, its log written (direct only): SPEC 11 and 12.
    Track,
}

impl Scenario {
    pub fn is_create(self) -> bool {
        matches!(
            self,
            Scenario::Create | Scenario::CreateHashes | Scenario::CreateGroups
        )
    }
}

/// Which shape of error the operation's service sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Svc {
    S3,
    Cognito,
    /// The pre-signed CSV upload (S3-shaped errors).
    Upload,
    EventBridge,
    /// CloudWatch Logs (JSON errors, as Cognito's).
    Logs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    Throttling,
    Named4xx,
    Unnamed4xx,
    Forbidden,
    /// S3 412 `PreconditionFailed`: the If-Match ETag no longer matches.
    PreconditionFailed,
    ServerError,
    Hang,
    Drop,
    LostResponse,
    FailedEntry,
    OperationNotEnabled,
    LimitExceeded,
    /// Cognito 400 `UserNotFoundException` (`AdminAddUserToGroup`).
    UserNotFound,
    /// Cognito 400 `NotAuthorizedException`.
    NotAuthorized,
}

pub const BASE_CLASSES: [Class; 8] = [
    Class::Throttling,
    Class::Named4xx,
    Class::Unnamed4xx,
    Class::Forbidden,
    Class::ServerError,
    Class::Hang,
    Class::Drop,
    Class::LostResponse,
];

impl Class {
    pub fn column(self) -> &'static str {
        match self {
            Class::Throttling => "throttling",
            Class::Named4xx => "named 4xx",
            Class::Unnamed4xx => "unnamed 4xx",
            Class::Forbidden => "403",
            Class::PreconditionFailed => "412",
            Class::ServerError => "5xx",
            Class::Hang => "hang",
            Class::Drop => "drop",
            Class::LostResponse => "lost response",
            Class::FailedEntry => "failed entry",
            Class::OperationNotEnabled => "OperationNotEnabledException",
            Class::LimitExceeded => "LimitExceededException",
            Class::UserNotFound => "UserNotFoundException",
            Class::NotAuthorized => "NotAuthorizedException",
        }
    }
}

pub struct Row {
    pub label: &'static str,
    /// The operation as the emulator journals it.
    pub operation: &'static str,
    pub scenario: Scenario,
    pub svc: Svc,
    /// Fault classes beyond [`BASE_CLASSES`].
    pub extra: &'static [Class],
}

impl Row {
    pub fn classes(&self) -> Vec<Class> {
        BASE_CLASSES.iter().chain(self.extra).copied().collect()
    }

    pub fn reached_by(&self, trigger: Trigger) -> bool {
        self.scenario != Scenario::Track || trigger == Trigger::Direct
    }
}

pub static ROWS: [Row; 24] = [
    Row {
        label: "HeadObject",
        operation: "HeadObject",
        scenario: Scenario::Plain,
        svc: Svc::S3,
        extra: &[],
    },
    Row {
        label: "StartUserImportJob",
        operation: "StartUserImportJob",
        scenario: Scenario::Plain,
        svc: Svc::Cognito,
        extra: &[Class::OperationNotEnabled],
    },
    Row {
        label: "PutEvents",
        operation: "PutEvents",
        scenario: Scenario::Plain,
        svc: Svc::EventBridge,
        extra: &[Class::FailedEntry],
    },
    Row {
        label: "DescribeUserImportJob (job already started)",
        operation: "DescribeUserImportJob",
        scenario: Scenario::Started,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "GetCSVHeader (create mode)",
        operation: "GetCSVHeader",
        scenario: Scenario::Create,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "GetObject (create mode)",
        operation: "GetObject",
        scenario: Scenario::Create,
        svc: Svc::S3,
        extra: &[],
    },
    Row {
        label: "ListUserImportJobs (create mode)",
        operation: "ListUserImportJobs",
        scenario: Scenario::Create,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "CreateUserImportJob (create mode)",
        operation: "CreateUserImportJob",
        scenario: Scenario::Create,
        svc: Svc::Cognito,
        extra: &[Class::OperationNotEnabled, Class::LimitExceeded],
    },
    Row {
        label: "UploadCsv (create mode, pre-signed PUT)",
        operation: "UploadCsv",
        scenario: Scenario::Create,
        svc: Svc::Upload,
        extra: &[],
    },
    Row {
        label: "StartUserImportJob (create mode)",
        operation: "StartUserImportJob",
        scenario: Scenario::Create,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "GetCSVHeader (create mode, password hashes)",
        operation: "GetCSVHeader",
        scenario: Scenario::CreateHashes,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "GetObject (create mode, password hashes)",
        operation: "GetObject",
        scenario: Scenario::CreateHashes,
        svc: Svc::S3,
        extra: &[],
    },
    Row {
        label: "ListUserImportJobs (create mode, password hashes)",
        operation: "ListUserImportJobs",
        scenario: Scenario::CreateHashes,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "CreateUserImportJob (create mode, password hashes)",
        operation: "CreateUserImportJob",
        scenario: Scenario::CreateHashes,
        svc: Svc::Cognito,
        extra: &[Class::OperationNotEnabled, Class::LimitExceeded],
    },
    Row {
        label: "UploadCsv (create mode, password hashes)",
        operation: "UploadCsv",
        scenario: Scenario::CreateHashes,
        svc: Svc::Upload,
        extra: &[],
    },
    Row {
        label: "StartUserImportJob (create mode, password hashes)",
        operation: "StartUserImportJob",
        scenario: Scenario::CreateHashes,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "ListGroups (create mode, groups)",
        operation: "ListGroups",
        scenario: Scenario::CreateGroups,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "CreateGroup (create mode, a missing group)",
        operation: "CreateGroup",
        scenario: Scenario::CreateGroups,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "DescribeUserImportJob (Track)",
        operation: "DescribeUserImportJob",
        scenario: Scenario::Track,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "DescribeUserPool (Track)",
        operation: "DescribeUserPool",
        scenario: Scenario::Track,
        svc: Svc::Cognito,
        extra: &[],
    },
    Row {
        label: "FilterLogEvents (Track results)",
        operation: "FilterLogEvents",
        scenario: Scenario::Track,
        svc: Svc::Logs,
        extra: &[],
    },
    Row {
        label: "GetObject (Track results source)",
        operation: "GetObject",
        scenario: Scenario::Track,
        svc: Svc::S3,
        extra: &[Class::PreconditionFailed],
    },
    Row {
        label: "PutObject (Track results files)",
        operation: "PutObject",
        scenario: Scenario::Track,
        svc: Svc::S3,
        extra: &[],
    },
    Row {
        label: "PutEvents (Track)",
        operation: "PutEvents",
        scenario: Scenario::Track,
        svc: Svc::EventBridge,
        extra: &[Class::FailedEntry],
    },
];

/// The fault injected for a class at the row's operation (every matching
/// request, so the SDK's retries meet it too).
pub fn action(row: &Row, class: Class) -> FaultAction {
    let svc = row.svc;
    let s3_like = matches!(svc, Svc::S3 | Svc::Upload);
    match class {
        // A PutObject has no key to miss: its bucket is gone.
        Class::Named4xx if row.operation == "PutObject" => FaultAction::error(404, "NoSuchBucket"),
        Class::Named4xx if svc == Svc::Logs => FaultAction::error(400, "ResourceNotFoundException"),
        Class::ServerError if svc == Svc::Logs => {
            FaultAction::error(500, "ServiceUnavailableException")
        }
        Class::PreconditionFailed => FaultAction::error(412, "PreconditionFailed"),
        Class::Hang => FaultAction::Hang,
        Class::Drop => FaultAction::Drop,
        Class::LostResponse => FaultAction::LoseResponse,
        Class::FailedEntry => FaultAction::FailEntries {
            code: "InternalFailure".into(),
        },
        Class::Throttling if s3_like => FaultAction::error(503, "SlowDown"),
        Class::Throttling if svc == Svc::Cognito => {
            FaultAction::error(400, "TooManyRequestsException")
        }
        Class::Throttling => FaultAction::error(400, "ThrottlingException"),
        Class::Named4xx if s3_like => FaultAction::error(404, "NoSuchKey"),
        Class::Named4xx if svc == Svc::Cognito => {
            FaultAction::error(400, "ResourceNotFoundException")
        }
        Class::Named4xx => FaultAction::error(400, "AccessDeniedException"),
        Class::Unnamed4xx => FaultAction::error(400, "SomethingNewException"),
        Class::Forbidden if s3_like => FaultAction::error(403, "AccessDenied"),
        Class::Forbidden => FaultAction::error(403, "AccessDeniedException"),
        Class::ServerError if s3_like => FaultAction::error(500, "InternalError"),
        Class::ServerError if svc == Svc::Cognito => {
            FaultAction::error(500, "InternalErrorException")
        }
        Class::ServerError => FaultAction::error(500, "InternalException"),
        Class::OperationNotEnabled => FaultAction::error(400, "OperationNotEnabledException"),
        Class::LimitExceeded => FaultAction::error(400, "LimitExceededException"),
        Class::UserNotFound => FaultAction::error(400, "UserNotFoundException"),
        Class::NotAuthorized => FaultAction::error(400, "NotAuthorizedException"),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Retryable(&'static str),
    Permanent(&'static str),
    /// Track: the Completed event goes out all the same, its `Results`
    /// with `FilesError` of this type and neither file (SPEC 12: the source
    /// gone or changed).
    FilesError(&'static str),
    /// Track: `"Terminal": false`, nothing emitted (SPEC 12: a log group or
    /// stream that does not exist is an empty log, behind the job's counts
    /// within 5 minutes of its end).
    NotTerminal,
}

/// What the SPEC makes of the fault at the row's operation (sections 6, 10
/// and 12).
pub fn expect(row: &Row, class: Class) -> Expect {
    let track = row.scenario == Scenario::Track;
    match (row.svc, class) {
        (Svc::Logs, Class::Named4xx) => Expect::NotTerminal,
        (Svc::Logs, Class::Forbidden) => Expect::Permanent("AccessDenied"),
        (Svc::S3, Class::Named4xx | Class::PreconditionFailed)
            if track && row.operation == "GetObject" =>
        {
            Expect::FilesError("ObjectNotFound")
        }
        _ => expect_of(row.svc, class),
    }
}

/// What the SPEC makes of the fault at a service (sections 6 and 10).
pub fn expect_of(svc: Svc, class: Class) -> Expect {
    match (svc, class) {
        // Any error of PutEvents: the event was not published (SPEC 6).
        (Svc::EventBridge, _) => Expect::Retryable("EventPublishFailed"),
        // "A failed upload is the retryable UploadFailed" (SPEC 10).
        (Svc::Upload, _) => Expect::Retryable("UploadFailed"),
        (Svc::S3, Class::Named4xx) => Expect::Permanent("ObjectNotFound"),
        (Svc::S3, Class::Forbidden) => Expect::Permanent("AccessDenied"),
        (Svc::Cognito, Class::Named4xx) => Expect::Permanent("ResourceNotFoundException"),
        (Svc::Cognito, Class::Forbidden) => Expect::Permanent("AccessDenied"),
        (Svc::Cognito, Class::Throttling) => Expect::Retryable("TooManyRequestsException"),
        (Svc::Cognito, Class::ServerError) => Expect::Retryable("InternalErrorException"),
        (Svc::Cognito, Class::OperationNotEnabled) => {
            Expect::Permanent("OperationNotEnabledException")
        }
        (Svc::Cognito, Class::LimitExceeded) => Expect::Permanent("LimitExceededException"),
        // Throttling and 5xx from S3, unnamed errors, timeouts, connections.
        _ => Expect::Retryable("ServiceUnavailable"),
    }
}

#[derive(Clone, Copy)]
pub struct Cell {
    pub trigger: Trigger,
    pub row: usize,
    pub class: Class,
    /// A permanent fault whose failure event EventBridge refuses too.
    pub unpublishable: bool,
}

impl Cell {
    pub fn row(&self) -> &'static Row {
        &ROWS[self.row]
    }

    pub fn id(&self) -> String {
        let more = if self.unpublishable {
            " + failure event refused"
        } else {
            ""
        };
        format!(
            "{} / {} / {}{more}",
            self.trigger.name(),
            self.row().label,
            self.class.column()
        )
    }

    pub fn expect(&self) -> Expect {
        let expected = expect(self.row(), self.class);
        match (self.unpublishable, expected, self.trigger) {
            // The caller holds the error; the unpublished event is logged.
            (true, Expect::Permanent(_), Trigger::Direct) => expected,
            (true, _, _) => Expect::Retryable("EventPublishFailed"),
            (false, _, _) => expected,
        }
    }
}

pub fn cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for trigger in Trigger::ALL {
        for (row, r) in ROWS.iter().enumerate() {
            if !r.reached_by(trigger) {
                continue;
            }
            for class in r.classes() {
                cells.push(Cell {
                    trigger,
                    row,
                    class,
                    unpublishable: false,
                });
                // SPEC 6: an unpublished failure event is never a permanent
                // failure of an S3 or SQS delivery, and direct invocations
                // keep their own type. (Track emits no failure event.)
                if matches!(expect(r, class), Expect::Permanent(_)) && r.scenario != Scenario::Track
                {
                    cells.push(Cell {
                        trigger,
                        row,
                        class,
                        unpublishable: true,
                    });
                }
            }
        }
    }
    cells
}
