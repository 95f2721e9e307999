//! Fault injection: which request gets which misbehaviour.

use std::time::Duration;

/// A fault to inject with [`super::Emulator::inject`]. Several may be active;
/// the first one (in injection order) that matches a request applies.
#[derive(Clone, Debug)]
pub struct Fault {
    /// The operation it applies to (`HeadObject`, `StartUserImportJob`,
    /// `PutEvents`, `FilterLogEvents`, `GetLogEvents`, `UploadCsv`, ...).
    pub operation: String,
    pub action: FaultAction,
    /// `Some(n)`: the first `n` matching requests, then the fault is spent.
    /// `None`: every matching request.
    pub times: Option<u32>,
    /// Only requests whose S3 key (for `UploadCsv`: `<pool id>/<job id>`)
    /// or raw JSON body contains this substring. For `FailEntries`: only the
    /// entries whose `Detail` contains it (a request counts as matching, and
    /// uses up one of `times`, when at least one of its entries matches).
    pub matching: Option<String>,
}

impl Fault {
    pub fn new(operation: &str, action: FaultAction) -> Fault {
        Fault {
            operation: operation.to_string(),
            action,
            times: None,
            matching: None,
        }
    }

    pub fn times(mut self, n: u32) -> Fault {
        self.times = Some(n);
        self
    }

    pub fn matching(mut self, substring: &str) -> Fault {
        self.matching = Some(substring.to_string());
        self
    }
}

#[derive(Clone, Debug)]
pub enum FaultAction {
    /// A service-shaped error: JSON `{"__type", "message"}` for Cognito,
    /// EventBridge and CloudWatch Logs, S3 XML `<Error>` for S3 and the
    /// upload (no body on HEAD). The request has no effect.
    Error {
        status: u16,
        code: String,
        message: String,
    },
    /// Wait, then answer normally.
    Delay(Duration),
    /// Never answer; the connection stays open until the emulator drops.
    Hang,
    /// Close the connection without any response; the request has no effect.
    Drop,
    /// Apply the request normally, then close the connection without any
    /// response (a lost response: the caller cannot know it succeeded).
    LoseResponse,
    /// `PutEvents` only: matching entries fail with this `ErrorCode`
    /// (counted in `FailedEntryCount`); the others are accepted.
    FailEntries { code: String },
}

impl FaultAction {
    /// An error with message "injected fault".
    pub fn error(status: u16, code: &str) -> FaultAction {
        FaultAction::Error {
            status,
            code: code.to_string(),
            message: "injected fault".to_string(),
        }
    }
}

/// What a request offers for matching.
pub(crate) struct Subject<'a> {
    pub(crate) operation: &'a str,
    /// S3 key, upload `<pool>/<job>`, or raw JSON body.
    pub(crate) text: &'a str,
    /// `PutEvents` only: each entry's raw `Detail` string.
    pub(crate) entry_details: &'a [String],
}

/// Picks the first active fault matching the request and uses up one of its
/// `times` (removing it when spent).
pub(crate) fn take(faults: &mut Vec<Fault>, subject: &Subject<'_>) -> Option<Fault> {
    faults.retain(|fault| fault.times != Some(0));
    let index = faults.iter().position(|fault| matches(fault, subject))?;
    let fault = &mut faults[index];
    let chosen = fault.clone();
    if let Some(times) = fault.times.as_mut() {
        *times -= 1;
        if *times == 0 {
            faults.remove(index);
        }
    }
    Some(chosen)
}

fn matches(fault: &Fault, subject: &Subject<'_>) -> bool {
    if fault.operation != subject.operation {
        return false;
    }
    match (&fault.action, &fault.matching) {
        (FaultAction::FailEntries { .. }, matching) => {
            subject.operation == "PutEvents"
                && subject
                    .entry_details
                    .iter()
                    .any(|detail| matching.as_deref().is_none_or(|m| detail.contains(m)))
        }
        (_, None) => true,
        (_, Some(matching)) => subject.text.contains(matching.as_str()),
    }
}
