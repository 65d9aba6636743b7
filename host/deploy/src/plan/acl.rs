//! Desired access control list vs the job's live permissions.
//!
//! The live side is the Permissions API response (`GET /api/2.0/permissions/jobs/{id}`) or its
//! `access_control_list`: entries carry `all_permissions: [{permission_level, inherited}]`.
//! Inherited entries (e.g. `admins` `CAN_MANAGE` from `/jobs/`) are ignored; when a principal
//! holds several direct levels the highest counts. An empty desired list means brickship does
//! not manage the job's permissions: no changes are planned.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::project::{AclEntry, Principal};

/// One permission change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum AclChange {
    /// The principal gets a level it does not have.
    Grant {
        /// Who.
        principal: Principal,
        /// New level.
        level: String,
    },
    /// The principal's direct level is removed.
    Revoke {
        /// Who.
        principal: Principal,
        /// Level removed.
        level: String,
    },
    /// The principal's level changes.
    Change {
        /// Who.
        principal: Principal,
        /// Live level.
        old: String,
        /// Desired level.
        new: String,
    },
}

fn rank(level: &str) -> u8 {
    match level {
        "IS_OWNER" => 4,
        "CAN_MANAGE" => 3,
        "CAN_MANAGE_RUN" => 2,
        "CAN_VIEW" => 1,
        _ => 0,
    }
}

/// The direct (non-inherited) level of every principal in a live permissions document.
pub fn live_levels(live: &Value) -> BTreeMap<Principal, String> {
    let list = live.get("access_control_list").unwrap_or(live);
    let mut out: BTreeMap<Principal, String> = BTreeMap::new();
    let Some(items) = list.as_array() else { return out };
    for item in items {
        let Some(principal) = Principal::from_entry(item) else {
            continue;
        };
        let mut levels: Vec<String> = vec![];
        match item.get("all_permissions").and_then(Value::as_array) {
            Some(perms) => {
                for p in perms {
                    if p.get("inherited").and_then(Value::as_bool).unwrap_or(false) {
                        continue;
                    }
                    if let Some(l) = p.get("permission_level").and_then(Value::as_str) {
                        levels.push(l.to_string());
                    }
                }
            }
            None => {
                if let Some(l) = item.get("permission_level").and_then(Value::as_str) {
                    levels.push(l.to_string());
                }
            }
        }
        if let Some(best) = levels.into_iter().max_by_key(|l| rank(l)) {
            let keep = out.get(&principal).is_none_or(|cur| rank(&best) > rank(cur));
            if keep {
                out.insert(principal, best);
            }
        }
    }
    out
}

/// Changes that turn the live permissions into `desired`.
pub fn diff_acl(desired: &[AclEntry], live: Option<&Value>) -> Vec<AclChange> {
    if desired.is_empty() {
        return vec![];
    }
    let live = live.map(live_levels).unwrap_or_default();
    let mut want: BTreeMap<Principal, String> = BTreeMap::new();
    for e in desired {
        want.insert(e.principal.clone(), e.permission_level.clone());
    }
    let mut out = vec![];
    for (p, level) in &want {
        match live.get(p) {
            None => out.push(AclChange::Grant {
                principal: p.clone(),
                level: level.clone(),
            }),
            Some(cur) if cur != level => {
                out.push(AclChange::Change {
                    principal: p.clone(),
                    old: cur.clone(),
                    new: level.clone(),
                });
            }
            Some(_) => {}
        }
    }
    for (p, level) in &live {
        if !want.contains_key(p) {
            out.push(AclChange::Revoke {
                principal: p.clone(),
                level: level.clone(),
            });
        }
    }
    out.sort_by(|a, b| principal_of(a).cmp(principal_of(b)));
    out
}

fn principal_of(c: &AclChange) -> &Principal {
    match c {
        AclChange::Grant { principal, .. }
        | AclChange::Revoke { principal, .. }
        | AclChange::Change { principal, .. } => principal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(p: Principal, l: &str) -> AclEntry {
        AclEntry {
            principal: p,
            permission_level: l.to_string(),
        }
    }

    #[test]
    fn ignores_inherited_and_diffs_direct_levels() {
        let live = json!({"object_id": "/jobs/1", "access_control_list": [
            {"user_name": "me@x.com", "all_permissions": [{"permission_level": "IS_OWNER", "inherited": false}]},
            {"group_name": "admins", "all_permissions": [{"permission_level": "CAN_MANAGE", "inherited": true, "inherited_from_object": ["/jobs/"]}]},
            {"group_name": "analysts", "all_permissions": [{"permission_level": "CAN_MANAGE_RUN", "inherited": false}]},
            {"service_principal_name": "old-sp", "all_permissions": [{"permission_level": "CAN_VIEW", "inherited": false}]}
        ]});
        let desired = vec![
            entry(Principal::User("me@x.com".into()), "IS_OWNER"),
            entry(Principal::Group("analysts".into()), "CAN_VIEW"),
            entry(Principal::ServicePrincipal("sp".into()), "CAN_MANAGE_RUN"),
        ];
        let changes = diff_acl(&desired, Some(&live));
        assert_eq!(
            changes,
            vec![
                AclChange::Change {
                    principal: Principal::Group("analysts".into()),
                    old: "CAN_MANAGE_RUN".into(),
                    new: "CAN_VIEW".into()
                },
                AclChange::Revoke {
                    principal: Principal::ServicePrincipal("old-sp".into()),
                    level: "CAN_VIEW".into()
                },
                AclChange::Grant {
                    principal: Principal::ServicePrincipal("sp".into()),
                    level: "CAN_MANAGE_RUN".into()
                },
            ]
        );
    }

    #[test]
    fn unmanaged_permissions_plan_nothing() {
        assert!(diff_acl(&[], Some(&json!({"access_control_list": [{"user_name": "a@x.com", "all_permissions": [{"permission_level": "IS_OWNER"}]}]}))).is_empty());
    }

    #[test]
    fn same_permissions_plan_nothing() {
        let live = json!([{"user_name": "a@x.com", "all_permissions": [{"permission_level": "IS_OWNER", "inherited": false}]}]);
        assert!(
            diff_acl(
                &[entry(Principal::User("a@x.com".into()), "IS_OWNER")],
                Some(&live)
            )
            .is_empty()
        );
    }

    #[test]
    fn no_live_job_grants_everything() {
        let d = vec![entry(Principal::User("a@x.com".into()), "IS_OWNER")];
        assert_eq!(diff_acl(&d, None).len(), 1);
    }
}
