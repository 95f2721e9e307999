//! What could not be added. Each call that recorded failures keeps them in
//! one object, `<RESULTS_PREFIX><job id>/groups-failed/<line>.jsonl`, named
//! by the job's line the call began at (a retried call writes its own
//! object again: it converges) and pointing at the object of the call
//! before it that recorded any (the cursor carries that one line). The last
//! call follows these links back and joins the objects, in line order, into
//! `<RESULTS_PREFIX><job id>/groups-failed.csv`
//! (`line,username,group,reason`, cells safe as report.csv's). Objects of
//! an earlier run of the loop that the links do not reach are never read.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::app::App;
use crate::error::{classify_sdk_error, ErrorKind, ImportError, Service};
use crate::track::results::quoted;
use crate::track::results::upload::Upload;

/// The first failures the event names.
pub const MAX_FIRST: usize = 20;
const HEADER: &str = "line,username,group,reason\r\n";
/// More linked objects than this is not a chain the calls wrote.
const MAX_LINKS: usize = 100_000;

/// A membership not added: the source's line, the user, the group, why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Failure {
    pub line: u64,
    pub username: String,
    pub group: String,
    pub reason: String,
}

impl Failure {
    /// `{"Line", "Group", "Reason"}` as the event's `First` holds it (no
    /// username in an event).
    pub fn to_json(&self) -> Value {
        json!({"Line": self.line, "Group": self.group, "Reason": self.reason})
    }

    /// One groups-failed.csv row.
    pub fn csv_row(&self) -> String {
        format!(
            "{},{},{},{}\r\n",
            self.line,
            quoted(&self.username),
            quoted(&self.group),
            quoted(&self.reason)
        )
    }
}

/// The first line of a call's object: the link to the call before.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Link {
    previous: Option<u64>,
}

/// Where the objects of a job go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub bucket: String,
    /// `<RESULTS_PREFIX><job id>/`.
    pub prefix: String,
}

impl Place {
    pub fn call_key(&self, first_line: u64) -> String {
        format!("{}groups-failed/{first_line:012}.jsonl", self.prefix)
    }

    pub fn joined_key(&self) -> String {
        format!("{}groups-failed.csv", self.prefix)
    }
}

/// The failures of this call: the first few kept for the event, all of them
/// streamed to the call's object when there is a place for it.
pub struct CallFailures<'a> {
    app: &'a App,
    place: Option<&'a Place>,
    key: String,
    previous: Option<u64>,
    upload: Option<Upload<'a>>,
    pub first: Vec<Failure>,
    pub count: u64,
}

impl<'a> CallFailures<'a> {
    pub fn new(
        app: &'a App,
        place: Option<&'a Place>,
        first_line: u64,
        previous: Option<u64>,
    ) -> CallFailures<'a> {
        CallFailures {
            app,
            key: place.map(|p| p.call_key(first_line)).unwrap_or_default(),
            place,
            previous,
            upload: None,
            first: Vec::new(),
            count: 0,
        }
    }

    pub async fn record(&mut self, failure: Failure) -> Result<(), ImportError> {
        self.count += 1;
        if let Some(place) = self.place {
            if self.upload.is_none() {
                let mut upload = Upload::new(self.app, &place.bucket, &self.key);
                let link = Link {
                    previous: self.previous,
                };
                upload.write(&json_line(&link)).await?;
                self.upload = Some(upload);
            }
            if let Some(upload) = &mut self.upload {
                upload.write(&json_line(&failure)).await?;
            }
        }
        if self.first.len() < MAX_FIRST {
            self.first.push(failure);
        }
        Ok(())
    }

    /// Writes the call's object, when it recorded failures. `true` when it
    /// did (the next call links back to it).
    pub async fn finish(self) -> Result<bool, ImportError> {
        match self.upload {
            Some(upload) => upload.finish().await.map(|()| true),
            None => Ok(false),
        }
    }

    pub async fn abort(self) {
        if let Some(upload) = self.upload {
            upload.abort().await;
        }
    }
}

fn json_line<T: Serialize>(value: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    line
}

/// The failures the calls recorded, joined in line order into
/// groups-failed.csv from the last object (`last`: its line) back; the
/// first [`MAX_FIRST`] of them. Nothing is written when there are none.
pub async fn join(
    app: &App,
    place: &Place,
    last: Option<u64>,
) -> Result<Vec<Failure>, ImportError> {
    let mut links = Vec::new();
    let mut next = last;
    while let Some(line) = next {
        if links.len() >= MAX_LINKS {
            return Err(broken(place, "links more objects than calls can have"));
        }
        links.push(line);
        let body = read(app, place, line).await?;
        next = first_link(&body)
            .ok_or_else(|| broken(place, "holds an object without its link"))?
            .previous;
        // Each call began after the one before: a link that does not go
        // back is not one the calls wrote.
        if next.is_some_and(|previous| previous >= line) {
            return Err(broken(place, "holds a link that does not go back"));
        }
    }
    if links.is_empty() {
        return Ok(Vec::new());
    }
    let mut upload = Upload::new(app, &place.bucket, &place.joined_key());
    let mut first = Vec::new();
    let written = write_joined(app, place, &links, &mut upload, &mut first).await;
    match written {
        Ok(()) => upload.finish().await?,
        Err(error) => {
            upload.abort().await;
            return Err(error);
        }
    }
    Ok(first)
}

async fn write_joined(
    app: &App,
    place: &Place,
    links: &[u64],
    upload: &mut Upload<'_>,
    first: &mut Vec<Failure>,
) -> Result<(), ImportError> {
    upload.write(HEADER.as_bytes()).await?;
    for &line in links.iter().rev() {
        let body = read(app, place, line).await?;
        for failure in failures(&body) {
            upload.write(failure.csv_row().as_bytes()).await?;
            if first.len() < MAX_FIRST {
                first.push(failure);
            }
        }
    }
    Ok(())
}

fn first_link(body: &[u8]) -> Option<Link> {
    let first = body.split(|&b| b == b'\n').next()?;
    serde_json::from_slice(first).ok()
}

/// The failures of one call's object (its link line skipped; a line that
/// is not one is skipped too: the object is the function's own).
fn failures(body: &[u8]) -> impl Iterator<Item = Failure> + '_ {
    body.split(|&b| b == b'\n')
        .skip(1)
        .filter_map(|line| serde_json::from_slice(line).ok())
}

/// One call's object, whole (it holds one call's failures).
async fn read(app: &App, place: &Place, line: u64) -> Result<Vec<u8>, ImportError> {
    let key = place.call_key(line);
    let what = format!("GetObject s3://{}/{key}", place.bucket);
    let output = app
        .clients
        .s3
        .get_object()
        .bucket(&place.bucket)
        .key(&key)
        .set_expected_bucket_owner(app.config.expected_bucket_owner.clone())
        .send()
        .await
        .map_err(|e| classify_sdk_error(Service::S3, &what, &e))?;
    let body = output.body.collect().await.map_err(|e| {
        ImportError::new(
            ErrorKind::ServiceUnavailable,
            format!("{what}: the body could not be read ({e}); it will be retried"),
        )
    })?;
    Ok(body.into_bytes().to_vec())
}

fn broken(place: &Place, why: &str) -> ImportError {
    ImportError::new(
        ErrorKind::ObjectNotFound,
        format!(
            "s3://{}/{}groups-failed/ {why}; start AddToGroups over without From",
            place.bucket, place.prefix
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(line: u64, username: &str, group: &str, reason: &str) -> Failure {
        Failure {
            line,
            username: username.into(),
            group: group.into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn cells_are_safe_as_the_reports() {
        assert_eq!(
            failure(
                7,
                "=cmd|'/c calc'!A1",
                "admins,x",
                "UserNotFoundException: \"gone\""
            )
            .csv_row(),
            "7,'=cmd|'/c calc'!A1,\"admins,x\",\"UserNotFoundException: \"\"gone\"\"\"\r\n"
        );
        assert_eq!(
            failure(1, "ana", "-editors", "no line in the job's log").csv_row(),
            "1,ana,'-editors,no line in the job's log\r\n"
        );
        // The event names no user.
        assert_eq!(
            failure(3, "ana", "g", "r").to_json(),
            json!({"Line": 3, "Group": "g", "Reason": "r"})
        );
    }

    #[test]
    fn a_calls_object_is_its_link_then_its_failures() {
        let mut body = json_line(&Link { previous: Some(12) });
        body.extend(json_line(&failure(40, "ana", "admins", "gone")));
        body.extend(b"not json\n");
        body.extend(json_line(&failure(41, "bo", "x", "gone")));
        assert_eq!(first_link(&body).unwrap().previous, Some(12));
        assert_eq!(
            failures(&body).collect::<Vec<_>>(),
            [
                failure(40, "ana", "admins", "gone"),
                failure(41, "bo", "x", "gone")
            ]
        );
        let place = Place {
            bucket: "b".into(),
            prefix: "results/job-1/".into(),
        };
        assert_eq!(
            place.call_key(40),
            "results/job-1/groups-failed/000000000040.jsonl"
        );
        assert_eq!(place.joined_key(), "results/job-1/groups-failed.csv");
    }
}
