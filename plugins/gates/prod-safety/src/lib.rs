//! The `prod-safety` gate: in the configured production environments (default `prod` and
//! `production`) a job must
//! - run on job clusters or serverless, never on an all-purpose cluster (`existing_cluster_id`);
//! - give every task a positive `timeout_seconds` and an explicit `max_retries`;
//! - give its schedule a `timezone_id`;
//! - be owned (`IS_OWNER` in the ACL) by a service principal, not a person or nobody.
//!
//! Elsewhere it passes with an info finding.
//!
//! ```json
//! {"environments": ["prod"], "allow_user_owner": false}
//! ```

use brickship_plugin_sdk::config;
use brickship_plugin_sdk::settings::{Acl, JobSettings, Principal};
use brickship_plugin_sdk::types::{
    ConfigProblem, Finding, GateInput, PluginError, PluginInfo, PluginKind, Verdict,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "default_envs")]
    environments: Vec<String>,
    /// Downgrade a non-service-principal owner to a warning.
    #[serde(default)]
    allow_user_owner: bool,
}

fn default_envs() -> Vec<String> {
    vec!["prod".to_owned(), "production".to_owned()]
}

fn parse_config(text: &str) -> Result<Config, Vec<ConfigProblem>> {
    let c: Config = config::parse(text)?;
    if c.environments.is_empty() {
        return Err(vec![config::problem(
            "/environments",
            "name at least one production environment",
        )]);
    }
    Ok(c)
}

struct ProdSafety;

impl brickship_plugin_sdk::Gate for ProdSafety {
    fn describe() -> PluginInfo {
        let mut info = brickship_plugin_sdk::info(
            "prod-safety",
            env!("CARGO_PKG_VERSION"),
            PluginKind::Gate,
            "In production environments: no all-purpose clusters, every task has timeout_seconds and max_retries, \
             the schedule has a timezone, and a service principal owns the job.",
        );
        info.config_example = Some(r#"{"environments": ["prod"], "allow_user_owner": false}"#.to_owned());
        info
    }

    fn validate_config(config: &str) -> Result<(), Vec<ConfigProblem>> {
        parse_config(config).map(|_| ())
    }

    fn evaluate(input: GateInput) -> Result<Verdict, PluginError> {
        let d = &input.deployment;
        let config = parse_config(&d.config).map_err(config::refused)?;
        if !config.environments.contains(&d.environment) {
            let mut v = Verdict::pass(format!("`{}` is not a production environment", d.environment));
            v.findings.push(Finding::info(
                "not-production",
                "prod-safety checks apply only to production environments",
            ));
            return Ok(v);
        }
        let settings = JobSettings::parse(&d.desired)?;
        let mut findings = Vec::new();
        for task in settings.tasks() {
            let key = task.key();
            if task.existing_cluster_id().is_some() {
                findings.push(
                    Finding::error(
                        "all-purpose-cluster",
                        format!("task `{key}` runs on an existing all-purpose cluster; use a job cluster or serverless in production"),
                    )
                    .at(task.pointer("existing_cluster_id")),
                );
            }
            if task.get("condition_task").is_some() {
                continue; // condition tasks have no cluster, timeout or retries
            }
            match task.timeout_seconds() {
                None | Some(0) => findings.push(
                    Finding::error(
                        "missing-timeout",
                        format!("task `{key}` has no `timeout_seconds`; a hung task would run forever"),
                    )
                    .at(task.pointer("timeout_seconds")),
                ),
                Some(_) => {}
            }
            if task.max_retries().is_none() {
                findings.push(
                    Finding::error(
                        "missing-max-retries",
                        format!("task `{key}` does not set `max_retries`"),
                    )
                    .at(task.pointer("max_retries")),
                );
            }
        }
        if let Some(schedule) = settings.schedule()
            && schedule.timezone_id().is_none_or(str::is_empty)
        {
            findings.push(
                Finding::error(
                    "schedule-without-timezone",
                    "the schedule has no `timezone_id`; cron times would be ambiguous",
                )
                .at("/schedule/timezone_id"),
            );
        }
        let acl = match &d.acl {
            Some(text) => Some(Acl::parse(text)?),
            None => settings.embedded_acl(),
        };
        let owner_finding = |code: &str, message: String| {
            if config.allow_user_owner {
                Finding::warning(code, message)
            } else {
                Finding::error(code, message)
            }
        };
        match acl {
            None => findings.push(Finding::warning(
                "no-acl",
                "the deployment sets no ACL, so the owner cannot be checked; the deploying identity will own the job",
            )),
            Some(acl) => {
                let owners = acl.owners();
                match owners.as_slice() {
                    [] => findings.push(owner_finding("no-owner", "the ACL has no `IS_OWNER` entry".to_owned()).at("/access_control_list")),
                    [owner] => {
                        let path = format!("/access_control_list/{}", owner.index);
                        match &owner.principal {
                            Principal::ServicePrincipal(_) => {}
                            Principal::User(u) => findings.push(
                                owner_finding("owner-not-service-principal", format!("user `{u}` owns the job; production jobs are owned by a service principal"))
                                    .at(path),
                            ),
                            Principal::Group(g) => findings.push(
                                Finding::error("owner-not-service-principal", format!("group `{g}` cannot own a job")).at(path),
                            ),
                            Principal::Unknown => findings.push(
                                Finding::error("owner-not-service-principal", "the owner entry names no principal").at(path),
                            ),
                        }
                    }
                    _ => findings.push(
                        Finding::error("several-owners", format!("the ACL has {} `IS_OWNER` entries; a job has exactly one owner", owners.len()))
                            .at("/access_control_list"),
                    ),
                }
            }
        }
        Ok(Verdict::from_findings(
            findings,
            "the job meets the production safety rules",
        ))
    }
}

brickship_plugin_sdk::export_gate!(ProdSafety);

#[cfg(test)]
mod tests {
    use super::*;
    use brickship_plugin_sdk::Gate;
    use brickship_plugin_sdk::testing;
    use brickship_plugin_sdk::types::{Decision, GatePoint, Severity};

    fn codes(v: &Verdict) -> Vec<(&str, Option<&str>)> {
        v.findings
            .iter()
            .map(|f| (f.code.as_str(), f.path.as_deref()))
            .collect()
    }

    #[test]
    fn customer_360_prod_fails_on_retries_and_its_user_owner() {
        let d = testing::customer_360_prod();
        let v = ProdSafety::evaluate(testing::gate_input(d, GatePoint::PreDeploy)).unwrap();
        assert_eq!(v.decision, Decision::Fail);
        assert_eq!(
            codes(&v),
            [
                ("missing-max-retries", Some("/tasks/2/max_retries")),
                ("missing-max-retries", Some("/tasks/3/max_retries")),
                ("missing-timeout", Some("/tasks/4/timeout_seconds")),
                ("missing-max-retries", Some("/tasks/4/max_retries")),
                ("owner-not-service-principal", Some("/access_control_list/0")),
            ]
        );
    }

    #[test]
    fn a_compliant_job_passes_and_other_environments_are_skipped() {
        let settings = r#"{"name": "j", "tasks": [{"task_key": "a", "job_cluster_key": "c", "timeout_seconds": 60, "max_retries": 1}],
            "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"}}"#;
        let mut d = testing::deployment("prod", settings);
        d.acl = Some(r#"[{"service_principal_name": "deployer", "permission_level": "IS_OWNER"}]"#.into());
        let v = ProdSafety::evaluate(testing::gate_input(d, GatePoint::PreDeploy)).unwrap();
        assert_eq!(v.decision, Decision::Pass, "{v:?}");
        let dev = testing::deployment("dev", testing::CUSTOMER_360_SETTINGS);
        assert_eq!(
            ProdSafety::evaluate(testing::gate_input(dev, GatePoint::PreDeploy))
                .unwrap()
                .decision,
            Decision::Pass
        );
    }

    #[test]
    fn flags_all_purpose_clusters_and_schedules_without_timezone() {
        let settings = r#"{"tasks": [{"task_key": "a", "existing_cluster_id": "0101-abc", "timeout_seconds": 60, "max_retries": 0}],
            "schedule": {"quartz_cron_expression": "0 0 2 * * ?"}}"#;
        let mut d = testing::deployment("production", settings);
        d.config = r#"{"allow_user_owner": true}"#.into();
        let v = ProdSafety::evaluate(testing::gate_input(d, GatePoint::PreDeploy)).unwrap();
        assert_eq!(
            codes(&v),
            [
                ("all-purpose-cluster", Some("/tasks/0/existing_cluster_id")),
                ("schedule-without-timezone", Some("/schedule/timezone_id")),
                ("no-acl", None),
            ]
        );
        assert_eq!(v.findings[2].severity, Severity::Warning);
    }
}
