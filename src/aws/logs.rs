//! The CloudWatch Logs adapter: `FilterLogEvents` on one stream, a page at
//! a time, and the classification of its errors.

use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsError;

use crate::error::{classify_sdk_error, ImportError, Service};

/// One stream of one log group.
#[derive(Clone, Copy, Debug)]
pub struct LogStream<'a> {
    pub client: &'a aws_sdk_cloudwatchlogs::Client,
    pub group: &'a str,
    pub stream: &'a str,
}

/// One page of matching events: their messages, and the next page's token
/// (pages may be empty and still carry one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogPage {
    pub messages: Vec<String>,
    pub next: Option<String>,
}

impl LogStream<'_> {
    /// The page after `token` of the events that match `pattern`; `None`
    /// when the group or the stream does not exist (yet). `what` names the
    /// reading in the error.
    pub async fn filter(
        &self,
        pattern: &str,
        token: Option<String>,
        what: &str,
    ) -> Result<Option<LogPage>, ImportError> {
        let result = self
            .client
            .filter_log_events()
            .log_group_name(self.group)
            .log_stream_names(self.stream)
            .filter_pattern(pattern)
            .set_next_token(token)
            .send()
            .await;
        match result {
            // The messages are moved out, not copied: a page holds up to
            // 10,000 events.
            Ok(page) => Ok(Some(LogPage {
                messages: page
                    .events
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|event| event.message)
                    .collect(),
                next: page.next_token,
            })),
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(FilterLogEventsError::ResourceNotFoundException(_))
                ) =>
            {
                Ok(None)
            }
            Err(error) => Err(classify_sdk_error(Service::Logs, what, &error)),
        }
    }
}
