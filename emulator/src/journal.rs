//! The journal: one [`Call`] per request, in arrival order, with what is
//! needed to tell which requests overlapped.

use super::State;

/// One request the emulator received.
#[derive(Clone, Debug)]
pub struct Call {
    /// `"s3"`, `"cognito-idp"`, `"events"`, `"logs"`, `"sqs"`, `"upload"` (or
    /// `"unknown"` for an `x-amz-target` of another service).
    pub service: &'static str,
    /// `HeadObject`, `StartUserImportJob`, `PutEvents`, `FilterLogEvents`,
    /// `UploadCsv`, ...
    /// (`Unknown` for an S3 request the emulator does not implement).
    pub operation: String,
    pub method: String,
    /// The request path, without the query.
    pub path: String,
    /// The JSON body for JSON protocols (`null` if it was not JSON); for S3
    /// `{"Bucket", "Key", "VersionId"?, "ExpectedBucketOwner"?, "Range"?}`;
    /// for the upload `{"UserPoolId", "JobId", "Headers": {lowercased}}`.
    pub params: serde_json::Value,
    /// The status sent; 0 while pending, or when the connection was dropped
    /// or hung.
    pub status: u16,
    /// How many requests of the same operation the emulator was handling
    /// when this one arrived, this one included (1 when it was alone).
    pub in_flight: usize,
    /// How many calls the journal held when the emulator was done with this
    /// one (answered it, dropped its connection, or was stopped while it
    /// hung); `None` while it is being handled. A call at index `i < n`
    /// arrived before this one was done: the journal's order of arrivals and
    /// ends, without any clock.
    pub done_at: Option<usize>,
}

/// Appends a call (status 0, in flight) and returns its index. The caller
/// holds the [`Handling`] guard that marks it done.
pub(crate) fn record(state: &State, mut call: Call) -> usize {
    let mut inner = state.lock();
    call.in_flight = 1 + inner
        .calls
        .iter()
        .filter(|c| c.done_at.is_none() && c.operation == call.operation)
        .count();
    call.done_at = None;
    inner.calls.push(call);
    inner.calls.len() - 1
}

pub(crate) fn set_status(state: &State, index: usize, status: u16) {
    if let Some(call) = state.lock().calls.get_mut(index) {
        call.status = status;
    }
}

/// Marks its call done when dropped: on every way out of the request's
/// handling, a dropped connection or a stopped emulator included.
pub(crate) struct Handling<'a> {
    pub(crate) state: &'a State,
    pub(crate) index: usize,
}

impl Drop for Handling<'_> {
    fn drop(&mut self) {
        let mut inner = self.state.lock();
        let len = inner.calls.len();
        if let Some(call) = inner.calls.get_mut(self.index) {
            call.done_at.get_or_insert(len);
        }
    }
}

/// The most requests of `operation` handled at once among the calls from
/// index `since` on (a call counts the requests still in flight from before
/// `since`).
pub(crate) fn max_in_flight(calls: &[Call], operation: &str, since: usize) -> usize {
    calls
        .iter()
        .skip(since)
        .filter(|c| c.operation == operation)
        .map(|c| c.in_flight)
        .max()
        .unwrap_or(0)
}
