//! Plans: what a deploy would change, computed offline from desired and live settings.
//!
//! [`Plan::compute`] normalises both sides ([`mod@normalize`]), diffs them field by field
//! ([`mod@diff`]) and diffs the access control list ([`acl`]). The job action is
//! [`JobAction::Create`] (no live job), [`JobAction::Update`] with changes like
//! `tasks[process-silver].timeout_seconds: 5400 -> 7200`, or [`JobAction::NoChange`].
//! [`Plan::render`] prints it like `terraform plan`; the plan serialises to JSON for
//! `--output json`.

pub mod acl;
pub mod diff;
pub mod normalize;

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

pub use acl::{AclChange, diff_acl};
pub use diff::{Change, diff};
pub use normalize::{NormalizeOptions, normalize, normalize_pair};

use crate::project::AclEntry;

/// What happens to the job.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum JobAction {
    /// No live job: it will be created with these (normalised) settings.
    Create {
        /// The settings to create.
        settings: Value,
    },
    /// The live job differs.
    Update {
        /// Field-level changes, sorted by path.
        changes: Vec<Change>,
    },
    /// The live job already matches.
    NoChange,
}

/// A deploy plan for one job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// The job's name.
    pub job_name: String,
    /// Settings changes.
    #[serde(flatten)]
    pub job: JobAction,
    /// Permission changes (empty when the project does not manage permissions).
    pub permissions: Vec<AclChange>,
}

impl Plan {
    /// Plans `desired` (+ `desired_acl`) against the live job's settings and permissions
    /// (`None` when there is no live job / no permissions read).
    pub fn compute(
        desired: &Value,
        desired_acl: &[AclEntry],
        live: Option<&Value>,
        live_permissions: Option<&Value>,
        opts: &NormalizeOptions,
    ) -> Plan {
        let job_name = desired
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let job = match live {
            None => JobAction::Create {
                settings: normalize(desired, opts),
            },
            Some(live) => {
                let (d, l) = normalize_pair(desired, live, opts);
                let changes = diff(&l, &d);
                if changes.is_empty() {
                    JobAction::NoChange
                } else {
                    JobAction::Update { changes }
                }
            }
        };
        Plan {
            job_name,
            job,
            permissions: diff_acl(desired_acl, live_permissions),
        }
    }

    /// True when the deploy would change nothing.
    pub fn is_empty(&self) -> bool {
        matches!(self.job, JobAction::NoChange) && self.permissions.is_empty()
    }

    /// Number of job field changes (top-level fields for a create).
    pub fn job_change_count(&self) -> usize {
        match &self.job {
            JobAction::Create { settings } => settings.as_object().map_or(0, serde_json::Map::len),
            JobAction::Update { changes } => changes.len(),
            JobAction::NoChange => 0,
        }
    }

    /// The plan as JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Renders the plan like `terraform plan`: `+` added, `-` removed, `~` changed, values as
    /// compact JSON; ANSI colours when `color` is set.
    pub fn render(&self, color: bool) -> String {
        let paint = |sym: char, text: &str| -> String {
            if !color {
                return text.to_string();
            }
            let c = match sym {
                '+' => "\x1b[32m",
                '-' => "\x1b[31m",
                _ => "\x1b[33m",
            };
            format!("{c}{text}\x1b[0m")
        };
        let mut out = String::new();
        match &self.job {
            JobAction::Create { settings } => {
                let _ = writeln!(out, "job `{}` will be created", self.job_name);
                if let Some(obj) = settings.as_object() {
                    for (k, v) in obj {
                        match (k.as_str(), v) {
                            (
                                "tasks" | "job_clusters" | "parameters" | "environments",
                                Value::Array(items),
                            ) => {
                                let key = match k.as_str() {
                                    "tasks" => "task_key",
                                    "job_clusters" => "job_cluster_key",
                                    "parameters" => "name",
                                    _ => "environment_key",
                                };
                                for item in items {
                                    let id = item.get(key).and_then(Value::as_str).unwrap_or("?");
                                    let line = format!("  + {k}[{id}]: {item}");
                                    let _ = writeln!(out, "{}", paint('+', &line));
                                }
                            }
                            _ => {
                                let _ = writeln!(out, "{}", paint('+', &format!("  + {k}: {v}")));
                            }
                        }
                    }
                }
            }
            JobAction::Update { changes } => {
                let _ = writeln!(out, "job `{}` will be updated in place", self.job_name);
                for c in changes {
                    let line = match (&c.old, &c.new) {
                        (None, Some(n)) => format!("  + {}: {n}", c.path),
                        (Some(o), None) => format!("  - {}: {o}", c.path),
                        (Some(o), Some(n)) => format!("  ~ {}: {o} -> {n}", c.path),
                        (None, None) => continue,
                    };
                    let _ = writeln!(out, "{}", paint(c.symbol(), &line));
                }
            }
            JobAction::NoChange => {
                let _ = writeln!(out, "job `{}` is up to date", self.job_name);
            }
        }
        if !self.permissions.is_empty() {
            let _ = writeln!(out, "permissions will change");
            for c in &self.permissions {
                let (sym, line) = match c {
                    AclChange::Grant { principal, level } => ('+', format!("  + {principal}: {level}")),
                    AclChange::Revoke { principal, level } => ('-', format!("  - {principal}: {level}")),
                    AclChange::Change { principal, old, new } => {
                        ('~', format!("  ~ {principal}: {old} -> {new}"))
                    }
                };
                let _ = writeln!(out, "{}", paint(sym, &line));
            }
        }
        let verb = match self.job {
            JobAction::Create { .. } => "to create",
            _ => "to change",
        };
        let _ = writeln!(
            out,
            "Plan: {} job field{} {verb}, {} permission change{}.",
            self.job_change_count(),
            if self.job_change_count() == 1 { "" } else { "s" },
            self.permissions.len(),
            if self.permissions.len() == 1 { "" } else { "s" },
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::Principal;
    use serde_json::json;

    #[test]
    fn update_plan_renders_like_terraform() {
        let desired = json!({"name": "j", "tasks": [{"task_key": "a", "timeout_seconds": 7200, "notebook_task": {"notebook_path": "/n"}}],
            "tags": {"env": "prod"}});
        let live = json!({"name": "j", "tasks": [{"task_key": "a", "timeout_seconds": 5400, "notebook_task": {"notebook_path": "/n", "source": "WORKSPACE"}}],
            "tags": {"env": "prod", "sla": "critical", "brickship-deployment": "x"}, "format": "MULTI_TASK"});
        let acl = vec![AclEntry {
            principal: Principal::Group("g".into()),
            permission_level: "CAN_VIEW".into(),
        }];
        let plan = Plan::compute(
            &desired,
            &acl,
            Some(&live),
            Some(&json!([])),
            &NormalizeOptions::ignoring_tags(["brickship-deployment"]),
        );
        let text = plan.render(false);
        assert_eq!(
            text,
            "job `j` will be updated in place\n  - tags.sla: \"critical\"\n  ~ tasks[a].timeout_seconds: 5400 -> 7200\npermissions will change\n  + group:g: CAN_VIEW\nPlan: 2 job fields to change, 1 permission change.\n"
        );
        let v = plan.to_json();
        assert_eq!(v["action"], "update");
        assert_eq!(v["changes"][1]["path"], "tasks[a].timeout_seconds");
        assert_eq!(v["permissions"][0]["op"], "grant");
    }

    #[test]
    fn create_and_no_change() {
        let desired =
            json!({"name": "j", "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "/n"}}]});
        let create = Plan::compute(&desired, &[], None, None, &NormalizeOptions::default());
        assert!(matches!(create.job, JobAction::Create { .. }));
        assert!(
            create
                .render(false)
                .contains("  + tasks[a]: {\"notebook_task\":{\"notebook_path\":\"/n\"},\"task_key\":\"a\"}")
        );
        let same = Plan::compute(&desired, &[], Some(&desired), None, &NormalizeOptions::default());
        assert!(same.is_empty());
        assert!(same.render(false).starts_with("job `j` is up to date\n"));
    }
}
