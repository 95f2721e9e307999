//! Direct invocations (SPEC sections 2, 11 and 17): a Step Functions task
//! or the CLI starts a job by its IDs (`{"UserPoolId", "JobId"}`) or by its
//! object (`{"Bucket", "Key", "VersionId"?}`), or names an `Action`:
//! `{"Action": "Track", "UserPoolId", "JobId", "Object"?, "Part"?}` or
//! `{"Action": "AddToGroups", "UserPoolId", "JobId", "Object", "Part"?,
//! "From"?}`.

use serde_json::{Map, Value};

use super::{unsupported, Invocation};
use crate::error::ImportError;
use crate::model::{ObjectRef, PartRef, WorkItem};

type Object = Map<String, Value>;

/// SPEC section 17: add the memberships of a finished job's rows, read
/// from its object (or part) from the cursor `from` on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddToGroups {
    pub user_pool_id: String,
    pub job_id: String,
    /// The object the job was created from (the Started event's `Object`):
    /// the rows and their groups are read from it.
    pub object: ObjectRef,
    /// The Started event's `Part` of a drop in parts (SPEC section 14).
    pub part: Option<PartRef>,
    /// The cursor of the call before (its answer's `From`), as it came;
    /// `None` for the first call.
    pub from: Option<Value>,
}

/// An event with an `Action`: the action it names, or `UnsupportedEvent`.
pub(super) fn action(event: &Object, action: &Value) -> Result<Invocation, ImportError> {
    match action.as_str() {
        Some(name @ "Track") => {
            let (user_pool_id, job_id) = ids(name, event)?;
            Ok(Invocation::Track {
                user_pool_id,
                job_id,
                object: object_ref(name, event.get("Object"))?,
                part: part_ref(name, event.get("Part"))?,
            })
        }
        Some(name @ "AddToGroups") => {
            let (user_pool_id, job_id) = ids(name, event)?;
            let Some(object) = object_ref(name, event.get("Object"))? else {
                return Err(unsupported(&format!(
                    "{name} needs Object (the Started event's)"
                )));
            };
            Ok(Invocation::AddToGroups(AddToGroups {
                user_pool_id,
                job_id,
                object,
                part: part_ref(name, event.get("Part"))?,
                from: event.get("From").filter(|from| !from.is_null()).cloned(),
            }))
        }
        _ => Err(unsupported("Action must be \"Track\" or \"AddToGroups\"")),
    }
}

/// An action's string `UserPoolId` and `JobId`.
fn ids(action: &str, event: &Object) -> Result<(String, String), ImportError> {
    let text = |name: &str| event.get(name).and_then(Value::as_str);
    match (text("UserPoolId"), text("JobId")) {
        (Some(pool), Some(job)) => Ok((pool.to_string(), job.to_string())),
        _ => Err(unsupported(&format!(
            "Action \"{action}\" needs string UserPoolId and JobId"
        ))),
    }
}

/// The direct start by IDs or by object; `None` for an event of neither
/// shape.
pub(super) fn start(event: &Object) -> Option<Result<Invocation, ImportError>> {
    let text = |name: &str| event.get(name).and_then(Value::as_str);
    if let (Some(pool), Some(job)) = (text("UserPoolId"), text("JobId")) {
        return Some(Ok(Invocation::Direct(WorkItem::Ids {
            user_pool_id: pool.to_string(),
            job_id: job.to_string(),
        })));
    }
    let (Some(bucket), Some(key)) = (text("Bucket"), text("Key")) else {
        return None;
    };
    let version = match event.get("VersionId") {
        None | Some(Value::Null) => None,
        Some(Value::String(v)) => Some(v.clone()),
        Some(_) => return Some(Err(unsupported("VersionId must be a string"))),
    };
    Some(Ok(Invocation::Direct(WorkItem::Object(ObjectRef::new(
        bucket, key, version,
    )))))
}

/// `Object` of an action's input: `{"Bucket", "Key", "VersionId"?,
/// "ETag"?}`; `None` when absent or null.
fn object_ref(action: &str, value: Option<&Value>) -> Result<Option<ObjectRef>, ImportError> {
    let object = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(object)) => object,
        Some(_) => {
            return Err(unsupported(&format!(
                "{action}'s Object must be a JSON object"
            )))
        }
    };
    let text = |name: &str| match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(unsupported(&format!(
            "{action}'s Object.{name} must be a string"
        ))),
    };
    let (Some(bucket), Some(key)) = (text("Bucket")?, text("Key")?) else {
        return Err(unsupported(&format!(
            "{action}'s Object needs string Bucket and Key"
        )));
    };
    let mut object = ObjectRef::new(bucket, key, text("VersionId")?);
    object.etag = text("ETag")?.map(|etag| etag.trim_matches('"').to_string());
    Ok(Some(object))
}

/// `Part` of an action's input: `{"Number", "Count", "FirstLine"?,
/// "LastLine"?}`, whole numbers, `1 <= Number <= Count`.
fn part_ref(action: &str, value: Option<&Value>) -> Result<Option<PartRef>, ImportError> {
    let part = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(part)) => part,
        Some(_) => {
            return Err(unsupported(&format!(
                "{action}'s Part must be a JSON object"
            )))
        }
    };
    let number = |name: &str| match part.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value.as_u64().filter(|&n| n >= 1).map(Some).ok_or_else(|| {
            unsupported(&format!(
                "{action}'s Part.{name} must be a whole number of 1 or more"
            ))
        }),
    };
    let (Some(n), Some(count)) = (number("Number")?, number("Count")?) else {
        return Err(unsupported(&format!(
            "{action}'s Part needs Number and Count"
        )));
    };
    if n > count {
        return Err(unsupported(&format!(
            "{action}'s Part.Number is more than its Count"
        )));
    }
    Ok(Some(PartRef {
        number: n,
        count,
        first_line: number("FirstLine")?,
        last_line: number("LastLine")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::json;

    /// The refusal `parse` gives `event`: an `UnsupportedEvent` and its
    /// message.
    fn refusal(event: Value) -> String {
        let error = parse(&event).unwrap_err();
        assert_eq!(error.kind, ErrorKind::UnsupportedEvent, "{event}");
        error.message
    }

    #[test]
    fn add_to_groups_names_the_job_its_object_part_and_cursor() {
        let event = json!({
            "Action": "AddToGroups", "UserPoolId": "p_1", "JobId": "import-1",
            "Object": {"Bucket": "b", "Key": "drop/users.csv", "VersionId": "v1", "ETag": "\"e1\""},
            "Part": {"Number": 2, "Count": 3, "FirstLine": 5, "LastLine": 8},
            "From": {"Line": 120, "Added": 7},
        });
        let mut object = ObjectRef::new("b", "drop/users.csv", Some("v1".into()));
        object.etag = Some("e1".into());
        assert_eq!(
            parse(&event).unwrap(),
            Invocation::AddToGroups(AddToGroups {
                user_pool_id: "p_1".into(),
                job_id: "import-1".into(),
                object: object.clone(),
                part: Some(PartRef {
                    number: 2,
                    count: 3,
                    first_line: Some(5),
                    last_line: Some(8),
                }),
                from: Some(json!({"Line": 120, "Added": 7})),
            })
        );
        // The first call: no part, no cursor (absent or null).
        for from in [None, Some(Value::Null)] {
            let mut event = json!({
                "Action": "AddToGroups", "UserPoolId": "p_1", "JobId": "import-1",
                "Object": {"Bucket": "b", "Key": "drop/users.csv", "VersionId": "v1", "ETag": "e1"},
            });
            if let Some(from) = from {
                event["From"] = from;
            }
            assert_eq!(
                parse(&event).unwrap(),
                Invocation::AddToGroups(AddToGroups {
                    user_pool_id: "p_1".into(),
                    job_id: "import-1".into(),
                    object: object.clone(),
                    part: None,
                    from: None,
                })
            );
        }
    }

    #[test]
    fn add_to_groups_needs_its_object_as_track_reads_one() {
        let ids = json!({"Action": "AddToGroups", "UserPoolId": "p_1", "JobId": "import-1"});
        let with = |name: &str, value: Value| {
            let mut event = ids.clone();
            event[name] = value;
            event
        };
        let object = json!({"Bucket": "b", "Key": "k"});
        assert_eq!(
            refusal(ids.clone()),
            "unsupported event: AddToGroups needs Object (the Started event's)"
        );
        assert_eq!(
            refusal(with("Object", Value::Null)),
            "unsupported event: AddToGroups needs Object (the Started event's)"
        );
        assert_eq!(
            refusal(with("Object", json!("s3://b/k"))),
            "unsupported event: AddToGroups's Object must be a JSON object"
        );
        assert_eq!(
            refusal(with("Object", json!({"Bucket": "b"}))),
            "unsupported event: AddToGroups's Object needs string Bucket and Key"
        );
        assert_eq!(
            refusal(with(
                "Object",
                json!({"Bucket": "b", "Key": "k", "VersionId": 1})
            )),
            "unsupported event: AddToGroups's Object.VersionId must be a string"
        );
        // The same refusals as Track's, by the same reading.
        let mut track = with("Object", json!({"Bucket": "b"}));
        track["Action"] = json!("Track");
        assert_eq!(
            refusal(track),
            "unsupported event: Track's Object needs string Bucket and Key"
        );
        let mut event = with("Object", object.clone());
        event["Part"] = json!({"Number": 4, "Count": 3});
        assert_eq!(
            refusal(event),
            "unsupported event: AddToGroups's Part.Number is more than its Count"
        );
        let mut event = with("Object", object);
        event["JobId"] = json!(7);
        assert_eq!(
            refusal(event),
            "unsupported event: Action \"AddToGroups\" needs string UserPoolId and JobId"
        );
    }

    #[test]
    fn an_action_is_track_or_add_to_groups() {
        for action in [json!("Stop"), json!("track"), json!(1), Value::Null] {
            assert_eq!(
                refusal(json!({"Action": action, "UserPoolId": "p_1", "JobId": "import-1"})),
                "unsupported event: Action must be \"Track\" or \"AddToGroups\""
            );
        }
    }

    #[test]
    fn direct_shapes() {
        assert_eq!(
            parse(&json!({"UserPoolId": "p_1", "JobId": "import-1"})).unwrap(),
            Invocation::Direct(WorkItem::Ids {
                user_pool_id: "p_1".into(),
                job_id: "import-1".into()
            })
        );
        assert_eq!(
            parse(&json!({"Bucket": "b", "Key": "a+b.csv", "VersionId": "v"})).unwrap(),
            Invocation::Direct(WorkItem::Object(ObjectRef::new(
                "b",
                "a+b.csv",
                Some("v".into())
            )))
        );
        assert_eq!(
            parse(&json!({"Action": "Track", "UserPoolId": "p_1", "JobId": "import-1"})).unwrap(),
            Invocation::Track {
                user_pool_id: "p_1".into(),
                job_id: "import-1".into(),
                object: None,
                part: None,
            }
        );
    }
}
