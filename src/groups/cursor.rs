//! The cursor `AddToGroups` answers with and is called again with (`From`):
//! where the next call starts and what the calls before it counted. It
//! stays the same small size however many users the job has (a Step
//! Functions payload is at most 256 KiB); what earlier calls could not add
//! is kept in S3, not here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ErrorKind, ImportError};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Cursor {
    /// The job's data row to go on from (Cognito's numbering: its first
    /// row is 1, a part's too).
    pub line: u64,
    /// Where that row begins in the source object, in bytes.
    pub offset: u64,
    /// How many of that row's groups are done already (a call that ended
    /// in the middle of a row).
    #[serde(default)]
    pub group: u64,
    /// The source's columns: `cognito:username`'s and `cognito:groups`'s,
    /// so that a later call need not read the header again.
    pub columns: [u64; 2],
    /// Memberships added, and recorded as not added, by the calls so far.
    pub added: u64,
    pub failed: u64,
    /// `AdminAddUserToGroup` calls made so far.
    pub calls: u64,
    /// The line the latest call that recorded failures began at: where its
    /// object is, which links back to the ones before (see `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<u64>,
}

impl Cursor {
    /// The `From` of an invocation; `None` when absent (the first call).
    pub fn from_value(from: Option<&Value>) -> Result<Option<Cursor>, ImportError> {
        let Some(from) = from.filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let cursor: Cursor = serde_json::from_value(from.clone()).map_err(|e| {
            ImportError::new(
                ErrorKind::UnsupportedEvent,
                format!(
                    "AddToGroups: From is not a cursor an earlier AddToGroups call answered \
                     ({e}); pass it on as it was answered, or leave it out to start over"
                ),
            )
        })?;
        if cursor.line == 0 {
            return Err(ImportError::new(
                ErrorKind::UnsupportedEvent,
                "AddToGroups: From.Line counts data rows from 1",
            ));
        }
        Ok(Some(cursor))
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The next row begins `bytes` further on.
    pub fn next_row(&mut self, bytes: u64) {
        self.line += 1;
        self.offset += bytes;
        self.group = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_cursor_goes_round_and_stays_small() {
        let cursor = Cursor {
            line: 499_999,
            offset: 104_857_000,
            group: 3,
            columns: [17, 18],
            added: 999_000,
            failed: 12,
            calls: 1_000_000,
            failed_at: Some(480_001),
        };
        let value = cursor.to_json();
        assert_eq!(
            value,
            json!({"Line": 499_999, "Offset": 104_857_000u64, "Group": 3, "Columns": [17, 18],
                   "Added": 999_000, "Failed": 12, "Calls": 1_000_000, "FailedAt": 480_001})
        );
        assert!(value.to_string().len() < 200);
        assert_eq!(Cursor::from_value(Some(&value)), Ok(Some(cursor)));
        assert_eq!(Cursor::from_value(None), Ok(None));
        assert_eq!(Cursor::from_value(Some(&Value::Null)), Ok(None));
    }

    #[test]
    fn a_cursor_not_answered_by_a_call_is_refused() {
        for bad in [
            json!("line 5"),
            json!({"Line": 5}),
            json!({"Line": -1, "Offset": 0, "Columns": [0, 1], "Added": 0, "Failed": 0, "Calls": 0}),
            json!({"Line": 0, "Offset": 0, "Columns": [0, 1], "Added": 0, "Failed": 0, "Calls": 0}),
            json!({"Line": 1, "Offset": 0, "Columns": [0, 1], "Added": 0, "Failed": 0, "Calls": 0,
                   "Users": ["a"]}),
        ] {
            let error = Cursor::from_value(Some(&bad)).unwrap_err();
            assert_eq!(error.kind, ErrorKind::UnsupportedEvent, "{bad}");
        }
    }
}
