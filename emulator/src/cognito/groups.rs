//! The pool's groups and users: `ListGroups`, `CreateGroup` and
//! `AdminAddUserToGroup` (SPEC section 17), and the Rust API that seeds and
//! reads users, groups and memberships.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::params::{invalid, not_found, pattern_error, pool_id, string_param, ApiError};
use super::store::{pool_or_default, Group, Pool};
use crate::util::{self, json_date};
use crate::{Emulator, Inner};

/// `ListGroups`' `Limit`: at most 60 a page, 60 when not given.
const MAX_LIMIT: i64 = 60;
const GROUP_TOKEN_PREFIX: &str = "emulator-groups-";
pub(crate) const GROUP_NOT_FOUND: &str = "Group not found.";
pub(crate) const USER_NOT_FOUND: &str = "User does not exist.";

/// The `GroupType` shape.
fn group_json(pool_id: &str, name: &str, group: &Group) -> Value {
    let mut record = Map::new();
    record.insert("GroupName".into(), json!(name));
    record.insert("UserPoolId".into(), json!(pool_id));
    if let Some(description) = &group.description {
        record.insert("Description".into(), json!(description));
    }
    if let Some(role_arn) = &group.role_arn {
        record.insert("RoleArn".into(), json!(role_arn));
    }
    if let Some(precedence) = group.precedence {
        record.insert("Precedence".into(), json!(precedence));
    }
    record.insert("CreationDate".into(), json_date(group.creation_ms));
    record.insert("LastModifiedDate".into(), json_date(group.creation_ms));
    Value::Object(record)
}

/// Cognito's pattern for group names and usernames,
/// `[\p{L}\p{M}\p{S}\p{N}\p{P}]+` of 1 to 128 characters: no white space,
/// no control character.
fn valid_name(name: &str) -> bool {
    (1..=128).contains(&name.chars().count())
        && name.chars().all(|c| !c.is_whitespace() && !c.is_control())
}

fn name_param<'a>(body: &'a Value, name: &str, field: &str) -> Result<&'a str, ApiError> {
    let value = string_param(body, name)?;
    if !valid_name(value) {
        return Err(pattern_error(
            field,
            value,
            "Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+ and have length between 1 and 128",
        ));
    }
    Ok(value)
}

fn optional<'a>(body: &'a Value, name: &str) -> Result<Option<&'a Value>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => Ok(Some(value)),
    }
}

fn optional_string(body: &Value, name: &str) -> Result<Option<String>, ApiError> {
    match optional(body, name)? {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(invalid(format!("{name} must be a string"))),
    }
}

fn limit(body: &Value) -> Result<i64, ApiError> {
    let Some(value) = optional(body, "Limit")? else {
        return Ok(MAX_LIMIT);
    };
    match value.as_i64() {
        Some(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(pattern_error(
            "limit",
            &value.to_string(),
            "Member must have value between 1 and 60",
        )),
    }
}

/// The pool's groups by name, a page at a time: `Limit` (capped by
/// `Emulator::set_list_groups_page_size`), the token naming the first group
/// of the next page.
pub(crate) fn list_groups(inner: &Inner, body: &Value) -> Result<Value, ApiError> {
    let id = pool_id(inner, body)?;
    let page = usize::try_from(limit(body)?)
        .unwrap_or(1)
        .min(inner.list_groups_page_size.unwrap_or(usize::MAX));
    let from = match optional_string(body, "NextToken")? {
        None => None,
        Some(token) => Some(
            token
                .strip_prefix(GROUP_TOKEN_PREFIX)
                .map(str::to_string)
                .ok_or_else(|| invalid("Invalid pagination token"))?,
        ),
    };
    let pool = inner
        .pools
        .get(id)
        .ok_or_else(|| not_found(format!("User pool {id} does not exist.")))?;
    let mut names = pool
        .groups
        .iter()
        .filter(|(name, _)| from.as_deref().is_none_or(|from| name.as_str() >= from));
    let groups: Vec<Value> = names
        .by_ref()
        .take(page)
        .map(|(name, group)| group_json(id, name, group))
        .collect();
    let mut response = json!({ "Groups": groups });
    if let Some((next, _)) = names.next() {
        response["NextToken"] = json!(format!("{GROUP_TOKEN_PREFIX}{next}"));
    }
    Ok(response)
}

pub(crate) fn create_group(inner: &mut Inner, body: &Value) -> Result<Value, ApiError> {
    let id = pool_id(inner, body)?.to_string();
    let name = name_param(body, "GroupName", "groupName")?;
    let precedence = match optional(body, "Precedence")? {
        None => None,
        Some(value) => Some(
            value
                .as_i64()
                .filter(|p| *p >= 0)
                .ok_or_else(|| invalid("Precedence must be a non-negative integer"))?,
        ),
    };
    let group = Group {
        description: optional_string(body, "Description")?,
        role_arn: optional_string(body, "RoleArn")?,
        precedence,
        creation_ms: util::now_ms(),
    };
    let pool = pool_or_default(inner, &id);
    if pool.groups.contains_key(name) {
        return Err(ApiError {
            code: "GroupExistsException",
            message: format!("A group with the name {name} already exists."),
        });
    }
    let record = group_json(&id, name, &group);
    pool.groups.insert(name.to_string(), group);
    Ok(json!({ "Group": record }))
}

/// Adds the membership; adding it again changes nothing. An unknown user is
/// reported before an unknown group.
pub(crate) fn add_user_to_group(inner: &mut Inner, body: &Value) -> Result<Value, ApiError> {
    let id = pool_id(inner, body)?.to_string();
    let username = name_param(body, "Username", "username")?;
    let group = name_param(body, "GroupName", "groupName")?;
    let pool = pool_or_default(inner, &id);
    if !pool.users.contains(username) {
        return Err(ApiError {
            code: "UserNotFoundException",
            message: USER_NOT_FOUND.to_string(),
        });
    }
    if !pool.groups.contains_key(group) {
        return Err(not_found(GROUP_NOT_FOUND.to_string()));
    }
    pool.memberships
        .entry(username.to_string())
        .or_default()
        .insert(group.to_string());
    Ok(json!({}))
}

fn sorted(names: Option<&BTreeSet<String>>) -> Vec<String> {
    names
        .map(|set| set.iter().cloned().collect())
        .unwrap_or_default()
}

// ---- the Rust API ----

impl Emulator {
    /// Adds a user to the pool (created if missing, as by the job seeders),
    /// so that an import of that `cognito:username` is `SKIPPED`.
    pub fn add_user(&self, pool_id: &str, username: &str) {
        let mut inner = self.state.lock();
        pool_or_default(&mut inner, pool_id)
            .users
            .insert(username.to_string());
    }

    /// Removes a user from the pool, with its status and memberships (an
    /// `AdminAddUserToGroup` for it is then `UserNotFoundException`).
    pub fn delete_user(&self, pool_id: &str, username: &str) {
        let mut inner = self.state.lock();
        if let Some(pool) = inner.pools.get_mut(pool_id) {
            pool.users.remove(username);
            pool.user_status.remove(username);
            pool.memberships.remove(username);
        }
    }

    /// The pool's usernames, sorted (empty if the pool does not exist).
    pub fn users(&self, pool_id: &str) -> Vec<String> {
        let inner = self.state.lock();
        sorted(inner.pools.get(pool_id).map(|pool| &pool.users))
    }

    /// Creates a group of the pool (the pool created if missing, as by the
    /// job seeders), without description, role or precedence; an existing
    /// group is left as it is.
    pub fn create_group(&self, pool_id: &str, name: &str) {
        let mut inner = self.state.lock();
        pool_or_default(&mut inner, pool_id)
            .groups
            .entry(name.to_string())
            .or_insert_with(|| Group::new(util::now_ms()));
    }

    /// Deletes a group and every membership of it (an `AdminAddUserToGroup`
    /// naming it is then `ResourceNotFoundException`).
    pub fn delete_group(&self, pool_id: &str, name: &str) {
        let mut inner = self.state.lock();
        if let Some(pool) = inner.pools.get_mut(pool_id) {
            pool.groups.remove(name);
            forget_group(pool, name);
        }
    }

    /// The pool's group names, sorted (empty if the pool does not exist).
    pub fn groups(&self, pool_id: &str) -> Vec<String> {
        let inner = self.state.lock();
        inner
            .pools
            .get(pool_id)
            .map(|pool| pool.groups.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The groups the user is a member of, sorted (empty for an unknown
    /// pool or user).
    pub fn user_groups(&self, pool_id: &str, username: &str) -> Vec<String> {
        let inner = self.state.lock();
        sorted(
            inner
                .pools
                .get(pool_id)
                .and_then(|pool| pool.memberships.get(username)),
        )
    }

    /// At most `n` groups a `ListGroups` page (at least 1; default 60, the
    /// most Cognito's `Limit` allows), to test paging with a few groups.
    pub fn set_list_groups_page_size(&self, n: usize) {
        self.state.lock().list_groups_page_size = Some(n.max(1));
    }
}

fn forget_group(pool: &mut Pool, name: &str) {
    for groups in pool.memberships.values_mut() {
        groups.remove(name);
    }
    pool.memberships.retain(|_, groups| !groups.is_empty());
}
