//! The journal: one [`Call`] per request, in arrival order.

use super::State;

/// One request the emulator received.
#[derive(Clone, Debug)]
pub struct Call {
    /// `"s3"`, `"cognito-idp"`, `"events"`, `"upload"` (or `"unknown"` for
    /// an `x-amz-target` of another service).
    pub service: &'static str,
    /// `HeadObject`, `StartUserImportJob`, `PutEvents`, `UploadCsv`, ...
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
}

/// Appends a call (status 0) and returns its index.
pub(crate) fn record(state: &State, call: Call) -> usize {
    let mut inner = state.lock();
    inner.calls.push(call);
    inner.calls.len() - 1
}

pub(crate) fn set_status(state: &State, index: usize, status: u16) {
    if let Some(call) = state.lock().calls.get_mut(index) {
        call.status = status;
    }
}
