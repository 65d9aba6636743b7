//! Job permissions (`/api/2.0/permissions/jobs/{job_id}`), with the rules a real workspace enforces.
//!
//! A job has a direct ACL with exactly one `IS_OWNER` (a user or service principal, never a
//! group); its creator is the initial owner. Reads add the `admins` group's inherited
//! `CAN_MANAGE`. `PUT` replaces the direct ACL, `PATCH` merges into it; when one request names a
//! principal twice, the last level wins, so a request can leave no owner and is then refused
//! with "The job must have exactly one owner.".

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::request::{json_ok, opt_str, parse_body, wrong_type};
use super::store::{AclEntry, Grantee, JobRecord};
use crate::AppState;
use crate::api_error::{ApiError, ApiResult};

pub const IS_OWNER: &str = "IS_OWNER";
/// Levels with the descriptions `permissionLevels` returns.
pub const LEVELS: [(&str, &str); 4] = [
    ("CAN_VIEW", "Can view job"),
    ("CAN_MANAGE_RUN", "Can manage runs of job"),
    ("IS_OWNER", "Is owner of job"),
    ("CAN_MANAGE", "Can manage job"),
];

/// Parses an `access_control_list` request array.
pub fn parse_acl(value: Option<&Value>) -> ApiResult<Vec<AclEntry>> {
    let entries = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(entries)) => entries,
        Some(other) => return Err(wrong_type("access_control_list", "an array", other)),
    };
    entries.iter().map(parse_entry).collect()
}

fn parse_entry(entry: &Value) -> ApiResult<AclEntry> {
    let entry = entry
        .as_object()
        .ok_or_else(|| wrong_type("access_control_list", "an object", entry))?;
    let mut principals = Vec::new();
    if let Some(name) = opt_str(entry, "user_name")? {
        principals.push(Grantee::User(name.to_owned()));
    }
    if let Some(name) = opt_str(entry, "group_name")? {
        principals.push(Grantee::Group(name.to_owned()));
    }
    if let Some(name) = opt_str(entry, "service_principal_name")? {
        principals.push(Grantee::ServicePrincipal(name.to_owned()));
    }
    if principals.len() != 1 {
        return Err(ApiError::invalid(
            "Each access control entry must name exactly one of user_name, group_name or service_principal_name",
        ));
    }
    let level = opt_str(entry, "permission_level")?
        .ok_or_else(|| ApiError::invalid("Missing required field: access_control_list.permission_level"))?;
    if !LEVELS.iter().any(|(name, _)| *name == level) {
        return Err(ApiError::invalid(format!(
            "Invalid permission level {level} for a job (expected one of CAN_VIEW, CAN_MANAGE_RUN, CAN_MANAGE, IS_OWNER)"
        )));
    }
    let principal = principals.remove(0);
    if level == IS_OWNER
        && let Grantee::Group(group) = &principal
    {
        return Err(ApiError::invalid(format!(
            "Group {group} cannot be the owner of a job: IS_OWNER can only be granted to a user or a service principal"
        )));
    }
    Ok(AclEntry {
        principal,
        level: level.to_owned(),
    })
}

/// Applies `entries` to `acl` (replacing it when `replace`), then checks the single-owner rule.
pub fn apply(acl: &mut Vec<AclEntry>, entries: Vec<AclEntry>, replace: bool) -> ApiResult<()> {
    let mut next = if replace { Vec::new() } else { acl.clone() };
    for entry in entries {
        match next
            .iter_mut()
            .find(|existing| existing.principal == entry.principal)
        {
            Some(existing) => existing.level = entry.level,
            None => next.push(entry),
        }
    }
    if next.iter().filter(|entry| entry.level == IS_OWNER).count() != 1 {
        return Err(ApiError::invalid("The job must have exactly one owner."));
    }
    *acl = next;
    Ok(())
}

/// The ACL of a new job: the creator owns it unless the request names another owner.
pub fn initial_acl(creator: &str, requested: Vec<AclEntry>) -> ApiResult<Vec<AclEntry>> {
    let mut acl = Vec::new();
    if !requested.iter().any(|entry| entry.level == IS_OWNER) {
        acl.push(AclEntry {
            principal: Grantee::User(creator.to_owned()),
            level: IS_OWNER.to_owned(),
        });
    }
    apply(&mut acl, requested, false)?;
    Ok(acl)
}

fn display_name(principal: &Grantee) -> Option<String> {
    match principal {
        Grantee::User(name) => Some(name.split('@').next().unwrap_or(name).to_owned()),
        Grantee::ServicePrincipal(name) => Some(name.clone()),
        Grantee::Group(_) => None,
    }
}

/// The `ObjectPermissions` read shape of a job.
pub fn render(job: &JobRecord) -> Value {
    let admins = Grantee::Group("admins".to_owned());
    let inherited =
        json!({"permission_level": "CAN_MANAGE", "inherited": true, "inherited_from_object": ["/jobs/"]});
    let mut list = Vec::with_capacity(job.acl.len() + 1);
    let mut admins_listed = false;
    for entry in &job.acl {
        let mut item = Map::new();
        let (field, name) = match &entry.principal {
            Grantee::User(name) => ("user_name", name),
            Grantee::Group(name) => ("group_name", name),
            Grantee::ServicePrincipal(name) => ("service_principal_name", name),
        };
        item.insert(field.into(), json!(name));
        if let Some(display) = display_name(&entry.principal) {
            item.insert("display_name".into(), json!(display));
        }
        let mut all = vec![json!({"permission_level": entry.level, "inherited": false})];
        if entry.principal == admins {
            admins_listed = true;
            all.push(inherited.clone());
        }
        item.insert("all_permissions".into(), Value::Array(all));
        list.push(Value::Object(item));
    }
    if !admins_listed {
        list.push(json!({"group_name": "admins", "all_permissions": [inherited]}));
    }
    json!({"object_id": format!("/jobs/{}", job.job_id), "object_type": "job", "access_control_list": list})
}

fn parse_job_id(raw: &str) -> ApiResult<i64> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::invalid(format!("Invalid job id '{raw}': expected an integer")))
}

/// `GET /api/2.0/permissions/jobs/{job_id}`.
pub async fn get(State(state): State<AppState>, Path(job_id): Path<String>) -> Result<Response, ApiError> {
    let job_id = parse_job_id(&job_id)?;
    let store = state.jobs.read();
    let job = store
        .jobs
        .get(&job_id)
        .ok_or_else(|| ApiError::job_not_found(job_id))?;
    json_ok(&render(job))
}

/// `GET /api/2.0/permissions/jobs/{job_id}/permissionLevels`.
pub async fn levels(State(state): State<AppState>, Path(job_id): Path<String>) -> Result<Response, ApiError> {
    let job_id = parse_job_id(&job_id)?;
    if !state.jobs.read().jobs.contains_key(&job_id) {
        return Err(ApiError::job_not_found(job_id));
    }
    let levels: Vec<Value> = LEVELS
        .iter()
        .map(|(level, description)| json!({"permission_level": level, "description": description}))
        .collect();
    json_ok(&json!({ "permission_levels": levels }))
}

/// `PUT /api/2.0/permissions/jobs/{job_id}`: replaces the direct ACL.
pub async fn put(state: State<AppState>, job_id: Path<String>, body: Bytes) -> Result<Response, ApiError> {
    change(state, job_id, body, true).await
}

/// `PATCH /api/2.0/permissions/jobs/{job_id}`: merges into the direct ACL.
pub async fn patch(state: State<AppState>, job_id: Path<String>, body: Bytes) -> Result<Response, ApiError> {
    change(state, job_id, body, false).await
}

async fn change(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
    body: Bytes,
    replace: bool,
) -> Result<Response, ApiError> {
    let job_id = parse_job_id(&job_id)?;
    let body = parse_body(&body)?;
    let entries = parse_acl(body.get("access_control_list"))?;
    let rendered = super::blocking(move || {
        state.jobs.mutate(&state.clock, |store, _now| {
            let job = store
                .jobs
                .get_mut(&job_id)
                .ok_or_else(|| ApiError::job_not_found(job_id))?;
            apply(&mut job.acl, entries, replace)?;
            Ok(render(job))
        })
    })
    .await?;
    json_ok(&rendered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(value: Value) -> AclEntry {
        parse_entry(&value).unwrap()
    }

    #[test]
    fn exactly_one_owner() {
        let mut acl = initial_acl("me@x", Vec::new()).unwrap();
        assert_eq!(acl.len(), 1);
        // Last level wins: the same user as owner then manager leaves no owner.
        let err = apply(
            &mut acl.clone(),
            vec![
                entry(json!({"user_name": "me@x", "permission_level": "IS_OWNER"})),
                entry(json!({"user_name": "me@x", "permission_level": "CAN_MANAGE"})),
            ],
            true,
        )
        .unwrap_err();
        assert_eq!(err.message, "The job must have exactly one owner.");
        let err = apply(
            &mut acl,
            vec![entry(json!({"user_name": "b@x", "permission_level": "IS_OWNER"}))],
            false,
        )
        .unwrap_err();
        assert_eq!(err.error_code, "INVALID_PARAMETER_VALUE");
        assert!(
            parse_entry(&json!({"group_name": "g", "permission_level": "IS_OWNER"}))
                .unwrap_err()
                .message
                .contains("cannot be the owner")
        );
        assert!(parse_entry(&json!({"user_name": "u", "permission_level": "CAN_FLY"})).is_err());
        apply(
            &mut acl,
            vec![
                entry(json!({"user_name": "me@x", "permission_level": "CAN_MANAGE"})),
                entry(json!({"service_principal_name": "sp-1", "permission_level": "IS_OWNER"})),
            ],
            false,
        )
        .unwrap();
        assert_eq!(acl.iter().filter(|e| e.level == IS_OWNER).count(), 1);
    }
}
