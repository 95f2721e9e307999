//! Direct invocations (SPEC sections 2 and 11): a Step Functions task or the
//! CLI starts a job by its IDs (`{"UserPoolId", "JobId"}`) or by its object
//! (`{"Bucket", "Key", "VersionId"?}`), or names an `Action`: `{"Action":
//! "Track", "UserPoolId", "JobId", "Object"?, "Part"?}`.

use serde_json::{Map, Value};

use super::{unsupported, Invocation};
use crate::error::ImportError;
use crate::model::{ObjectRef, PartRef, WorkItem};

type Object = Map<String, Value>;

/// An event with an `Action`: the action it names, or `UnsupportedEvent`.
pub(super) fn action(event: &Object, action: &Value) -> Result<Invocation, ImportError> {
    let text = |name: &str| event.get(name).and_then(Value::as_str);
    match (action.as_str(), text("UserPoolId"), text("JobId")) {
        (Some("Track"), Some(pool), Some(job)) => Ok(Invocation::Track {
            user_pool_id: pool.to_string(),
            job_id: job.to_string(),
            object: object_ref("Track", event.get("Object"))?,
            part: part_ref("Track", event.get("Part"))?,
        }),
        (Some("Track"), _, _) => Err(unsupported(
            "Action \"Track\" needs string UserPoolId and JobId",
        )),
        _ => Err(unsupported("the only Action is \"Track\"")),
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
    use serde_json::json;

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
