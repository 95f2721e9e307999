//! What every Cognito operation reads of a request (its parameters, the
//! pool it names) and the errors it answers with.

use serde_json::Value;

use crate::Inner;

/// An error as Cognito answers it: `__type` and `message`.
pub(crate) struct ApiError {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
    ApiError {
        code: "InvalidParameterException",
        message: message.into(),
    }
}

pub(crate) fn precondition(message: &str) -> ApiError {
    ApiError {
        code: "PreconditionNotMetException",
        message: message.to_string(),
    }
}

pub(crate) fn not_found(message: String) -> ApiError {
    ApiError {
        code: "ResourceNotFoundException",
        message,
    }
}

pub(crate) fn string_param<'a>(body: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    match body.get(name) {
        Some(Value::String(value)) => Ok(value),
        None | Some(Value::Null) => Err(invalid(format!(
            "1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"
        ))),
        Some(_) => Err(invalid(format!("{name} must be a string"))),
    }
}

pub(crate) fn pattern_error(name: &str, value: &str, constraint: &str) -> ApiError {
    invalid(format!(
        "1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: {constraint}"
    ))
}

pub(crate) fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `[\w-]+_[0-9a-zA-Z]+`, 1 to 55 characters.
pub(crate) fn valid_pool_id(id: &str) -> bool {
    let Some(split) = id.rfind('_') else {
        return false;
    };
    let (prefix, suffix) = (&id[..split], &id[split + 1..]);
    (1..=55).contains(&id.len())
        && !prefix.is_empty()
        && prefix.chars().all(|c| is_word(c) || c == '-')
        && !suffix.is_empty()
        && suffix.chars().all(|c| c.is_ascii_alphanumeric())
}

pub(crate) fn pool_id<'a>(inner: &Inner, body: &'a Value) -> Result<&'a str, ApiError> {
    let id = string_param(body, "UserPoolId")?;
    if !valid_pool_id(id) {
        return Err(pattern_error(
            "userPoolId",
            id,
            "Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+",
        ));
    }
    if !inner.pools.contains_key(id) {
        return Err(not_found(format!("User pool {id} does not exist.")));
    }
    Ok(id)
}
