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
    // Only the calls being handled are looked at, not the whole journal: a
    // benchmark's hundreds of thousands of calls would make every request
    // cost a scan of all that came before.
    let inner = &mut *inner;
    call.in_flight = 1 + inner
        .handling
        .iter()
        .filter(|&&i| inner.calls[i].operation == call.operation)
        .count();
    call.done_at = None;
    inner.calls.push(call);
    let index = inner.calls.len() - 1;
    inner.handling.push(index);
    index
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
        if let Some(at) = inner.handling.iter().position(|&i| i == self.index) {
            inner.handling.swap_remove(at);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State {
            inner: std::sync::Mutex::new(crate::Inner::default()),
            endpoint: String::new(),
            rng: crate::util::Rng::new(),
        }
    }

    fn call(operation: &str) -> Call {
        Call {
            service: "s3",
            operation: operation.into(),
            method: "GET".into(),
            path: "/".into(),
            params: serde_json::Value::Null,
            status: 0,
            in_flight: 0,
            done_at: None,
        }
    }

    #[test]
    fn a_call_counts_the_calls_of_its_operation_still_being_handled() {
        let state = state();
        let first = record(&state, call("GetObject"));
        let other = record(&state, call("HeadObject"));
        let second = Handling {
            state: &state,
            index: record(&state, call("GetObject")),
        };
        drop(Handling {
            state: &state,
            index: first,
        });
        let third = record(&state, call("GetObject"));
        drop(second);
        let fourth = record(&state, call("GetObject"));
        let calls = state.lock().calls.clone();
        let in_flight: Vec<usize> = calls.iter().map(|c| c.in_flight).collect();
        assert_eq!(in_flight, [1, 1, 2, 2, 2]);
        assert_eq!(calls[first].done_at, Some(3));
        assert_eq!(calls[2].done_at, Some(4));
        assert_eq!(calls[other].done_at, None);
        assert_eq!((third, fourth), (3, 4));
        let mut handling = state.lock().handling.clone();
        handling.sort_unstable();
        assert_eq!(handling, [other, third, fourth]);
    }
}
