//! The per-user lines Cognito writes to a job's log stream (SPEC section 12):
//! `[FAILED] Line Number <n> - <reason>` and `[SKIPPED] ...`, read with
//! `FilterLogEvents` on that one stream, every page; and, for the groups of
//! SPEC section 17, the `[SUCCEEDED]` lines too.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::app::App;
use crate::error::{ErrorKind, ImportError};

/// Only the lines that name a user who did not make it.
const FILTER_PATTERN: &str = r#"?"[FAILED]" ?"[SKIPPED]""#;
/// A page holds up to 10,000 events (or 1 MB); a job has at most 500,000
/// users. Pages may be empty and still carry a token (the service stops a
/// page after a time budget), so the cap is generous.
const MAX_PAGES: usize = 10_000;
/// Cognito's most users in one import job.
const MAX_USERS: u64 = 500_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Failed,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Failed => "FAILED",
            Status::Skipped => "SKIPPED",
        }
    }
}

/// One user that did not make it: its data row (counted from 1 after the
/// header), and why, as Cognito wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserLine {
    pub line: u64,
    pub status: Status,
    /// Shared: a job's lines repeat a handful of reasons, and a job can
    /// hold 500,000 lines.
    pub reason: Arc<str>,
}

/// `[FAILED] Line Number 5956 - The User Record ...` into its parts; `None`
/// for any other line (a `[SUCCEEDED]` one, or noise the filter let through).
pub fn parse_line(message: &str) -> Option<UserLine> {
    let (tag, line, reason) = split_line(message)?;
    let status = match tag {
        "[FAILED]" => Status::Failed,
        "[SKIPPED]" => Status::Skipped,
        _ => return None,
    };
    Some(UserLine {
        line,
        status,
        reason: Arc::from(reason),
    })
}

/// What Cognito did with a row, `[SUCCEEDED]` included (SPEC section 17
/// adds the memberships of the rows it imported or found existing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowStatus {
    Succeeded,
    Skipped,
    Failed,
}

/// Any per-user line: its data row and status; `None` for other lines.
pub fn parse_status(message: &str) -> Option<(u64, RowStatus)> {
    let (tag, line, _) = split_line(message)?;
    let status = match tag {
        "[SUCCEEDED]" => RowStatus::Succeeded,
        "[SKIPPED]" => RowStatus::Skipped,
        "[FAILED]" => RowStatus::Failed,
        _ => return None,
    };
    Some((line, status))
}

/// `[TAG] Line Number <n> - <reason>` into the tag (brackets kept), `n`
/// (from 1) and the reason.
fn split_line(message: &str) -> Option<(&str, u64, &str)> {
    let message = message.trim();
    let tag_end = message.strip_prefix('[')?.find(']')? + 2;
    let (tag, rest) = message.split_at(tag_end);
    let rest = rest.trim_start().strip_prefix("Line Number")?.trim_start();
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let line = rest[..digits].parse::<u64>().ok().filter(|&n| n >= 1)?;
    let reason = rest[digits..].trim_start();
    let reason = reason.strip_prefix('-').unwrap_or(reason).trim();
    Some((tag, line, reason))
}

/// Every `[FAILED]`/`[SKIPPED]` line of the stream, one per data row (a line
/// logged twice counts once), by line number. A log group or stream that does
/// not exist (yet) is an empty log.
/// `expected`: the job's `FailedUsers + SkippedUsers`, to size the lines
/// once (a job has at most 500,000 users).
pub async fn read(
    app: &App,
    group: &str,
    stream: &str,
    expected: u64,
) -> Result<Vec<UserLine>, ImportError> {
    // A Vec, sorted once at the end: a job's 500,000 lines cost 32 bytes
    // each, where a map's nodes would cost several times that; sized once,
    // so that it does not grow by doubling (a copy and up to twice the room).
    let capacity = usize::try_from(expected.min(MAX_USERS)).unwrap_or_default();
    let mut lines: Vec<UserLine> = Vec::with_capacity(capacity);
    let mut reasons: HashMap<Arc<str>, Arc<str>> = HashMap::new();
    each_message(app, group, stream, FILTER_PATTERN, |message| {
        if let Some(mut line) = parse_line(message) {
            line.reason = Arc::clone(
                reasons
                    .entry(Arc::clone(&line.reason))
                    .or_insert(line.reason),
            );
            lines.push(line);
        }
    })
    .await?;
    Ok(by_line(lines))
}

/// Every per-user line, `[SUCCEEDED]` ones too.
pub const EVERY_USER_PATTERN: &str = r#"?"[SUCCEEDED]" ?"[FAILED]" ?"[SKIPPED]""#;

/// Hands each message of the stream that `pattern` lets through to
/// `on_message`, every page. A log group or stream that does not exist (yet)
/// holds none.
pub async fn each_message(
    app: &App,
    group: &str,
    stream: &str,
    pattern: &str,
    mut on_message: impl FnMut(&str),
) -> Result<(), ImportError> {
    let what = format!("FilterLogEvents {group} {stream}");
    let logs = app.log_stream(group, stream);
    let mut seen_tokens = HashSet::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let Some(page) = logs.filter(pattern, token.take(), &what).await? else {
            return Ok(());
        };
        for message in &page.messages {
            on_message(message);
        }
        // Only a missing token ends the listing: pages can be empty.
        match page.next {
            None => return Ok(()),
            Some(next) if !seen_tokens.insert(next.clone()) => {
                return Err(endless(&what, "repeated a page token"))
            }
            Some(next) => token = Some(next),
        }
    }
    Err(endless(&what, &format!("gave more than {MAX_PAGES} pages")))
}

/// By line number, each line once: the first logged when Cognito logged a
/// row twice (the sort is stable).
fn by_line(mut lines: Vec<UserLine>) -> Vec<UserLine> {
    if !lines.is_sorted_by_key(|l| l.line) {
        lines.sort_by_key(|l| l.line);
    }
    lines.dedup_by_key(|l| l.line);
    lines.shrink_to_fit();
    lines
}

fn endless(what: &str, why: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ServiceUnavailable,
        format!("{what}: CloudWatch Logs {why}; it will be retried"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cognitos_lines_are_read_as_it_writes_them() {
        assert_eq!(
            parse_line(
                "[FAILED] Line Number 5956 - The User Record does not set any of the auto \
                 verified attributes to true. (Example: email_verified to true)."
            ),
            Some(UserLine {
                line: 5956,
                status: Status::Failed,
                reason: "The User Record does not set any of the auto verified attributes \
                         to true. (Example: email_verified to true)."
                    .into()
            })
        );
        assert_eq!(
            parse_line("[SKIPPED] Line Number 2 - The user already exists.\n"),
            Some(UserLine {
                line: 2,
                status: Status::Skipped,
                reason: "The user already exists.".into()
            })
        );
    }

    #[test]
    fn lines_are_by_number_each_once_the_first_logged() {
        let line = |n: u64, status| UserLine {
            line: n,
            status,
            reason: format!("{n}").into(),
        };
        let read = vec![
            line(5, Status::Failed),
            line(2, Status::Skipped),
            line(5, Status::Skipped),
            line(1, Status::Failed),
        ];
        assert_eq!(
            by_line(read),
            [
                line(1, Status::Failed),
                line(2, Status::Skipped),
                line(5, Status::Failed)
            ]
        );
    }

    #[test]
    fn other_lines_are_not_users_that_failed() {
        for other in [
            "[SUCCEEDED] Line Number 1 - The import succeeded.",
            "[FAILED] Line 7 - no number",
            "[FAILED] Line Number 0 - rows count from 1",
            "[FAILED] Line Number 99999999999999999999999 - too large",
            "Import job started",
            "",
        ] {
            assert_eq!(parse_line(other), None, "{other}");
        }
    }

    #[test]
    fn every_status_is_read_for_the_groups() {
        assert_eq!(
            parse_status("[SUCCEEDED] Line Number 1 - The import succeeded."),
            Some((1, RowStatus::Succeeded))
        );
        assert_eq!(
            parse_status("[SKIPPED] Line Number 22 - The user already exists."),
            Some((22, RowStatus::Skipped))
        );
        assert_eq!(
            parse_status(" [FAILED] Line Number 3 - no"),
            Some((3, RowStatus::Failed))
        );
        for other in [
            "[DONE] Line Number 4 - x",
            "[SUCCEEDED] Line 4",
            "SUCCEEDED",
            "[",
        ] {
            assert_eq!(parse_status(other), None, "{other}");
        }
    }
}
