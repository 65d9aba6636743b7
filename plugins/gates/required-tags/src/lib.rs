//! The `required-tags` gate: the job must carry the configured tag keys (with non-empty
//! values). Config: `tags` for every environment plus `environments.<name>` for one.
//!
//! ```json
//! {"tags": ["owner", "pipeline"], "environments": {"prod": ["sla", "cost_center"]}}
//! ```

use std::collections::BTreeMap;

use brickship_plugin_sdk::config;
use brickship_plugin_sdk::settings::JobSettings;
use brickship_plugin_sdk::types::{
    ConfigProblem, Finding, GateInput, PluginError, PluginInfo, PluginKind, Verdict,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    environments: BTreeMap<String, Vec<String>>,
}

fn parse_config(text: &str) -> Result<Config, Vec<ConfigProblem>> {
    let c: Config = config::parse(text)?;
    let mut problems = Vec::new();
    for (i, t) in c.tags.iter().enumerate() {
        if t.trim().is_empty() {
            problems.push(config::problem(format!("/tags/{i}"), "a tag key cannot be empty"));
        }
    }
    for (env, tags) in &c.environments {
        for (i, t) in tags.iter().enumerate() {
            if t.trim().is_empty() {
                let path = format!("/environments/{}/{i}", config::escape(env));
                problems.push(config::problem(path, "a tag key cannot be empty"));
            }
        }
    }
    if c.tags.is_empty() && c.environments.values().all(Vec::is_empty) {
        problems.push(config::problem(
            "",
            "name at least one tag in `tags` or `environments.<name>`",
        ));
    }
    if problems.is_empty() { Ok(c) } else { Err(problems) }
}

struct RequiredTags;

impl brickship_plugin_sdk::Gate for RequiredTags {
    fn describe() -> PluginInfo {
        let mut info = brickship_plugin_sdk::info(
            "required-tags",
            env!("CARGO_PKG_VERSION"),
            PluginKind::Gate,
            "Fails when the job lacks a required tag (or has it empty). Tags can be required everywhere or per environment.",
        );
        info.config_example =
            Some(r#"{"tags": ["owner", "pipeline"], "environments": {"prod": ["sla"]}}"#.to_owned());
        info.config_schema = Some(
            r#"{"type":"object","additionalProperties":false,"properties":{"tags":{"type":"array","items":{"type":"string","minLength":1}},"environments":{"type":"object","additionalProperties":{"type":"array","items":{"type":"string","minLength":1}}}}}"#.to_owned(),
        );
        info
    }

    fn validate_config(config: &str) -> Result<(), Vec<ConfigProblem>> {
        parse_config(config).map(|_| ())
    }

    fn evaluate(input: GateInput) -> Result<Verdict, PluginError> {
        let d = &input.deployment;
        let config = parse_config(&d.config).map_err(config::refused)?;
        let settings = JobSettings::parse(&d.desired)?;
        let mut required: Vec<&str> = config.tags.iter().map(String::as_str).collect();
        if let Some(extra) = config.environments.get(&d.environment) {
            required.extend(extra.iter().map(String::as_str));
        }
        required.sort_unstable();
        required.dedup();
        let mut findings = Vec::new();
        for key in &required {
            let path = format!("/tags/{}", config::escape(key));
            match settings.tag(key) {
                None => findings.push(
                    Finding::error(
                        "missing-tag",
                        format!("the job has no `{key}` tag, required in `{}`", d.environment),
                    )
                    .at("/tags"),
                ),
                Some(v) if v.trim().is_empty() => findings
                    .push(Finding::error("empty-tag", format!("the job's `{key}` tag is empty")).at(path)),
                Some(_) => {}
            }
        }
        Ok(Verdict::from_findings(
            findings,
            &format!("all {} required tags present", required.len()),
        ))
    }
}

brickship_plugin_sdk::export_gate!(RequiredTags);

#[cfg(test)]
mod tests {
    use super::*;
    use brickship_plugin_sdk::Gate;
    use brickship_plugin_sdk::testing;
    use brickship_plugin_sdk::types::{Decision, GatePoint};

    fn eval(env: &str, config: &str, settings: &str) -> Verdict {
        let mut d = testing::deployment(env, settings);
        d.config = config.to_owned();
        RequiredTags::evaluate(testing::gate_input(d, GatePoint::PreDeploy)).unwrap()
    }

    #[test]
    fn passes_when_customer_360_has_its_tags() {
        let v = eval(
            "prod",
            r#"{"tags": ["owner", "pipeline"], "environments": {"prod": ["sla"]}}"#,
            testing::CUSTOMER_360_SETTINGS,
        );
        assert_eq!(v.decision, Decision::Pass, "{v:?}");
        assert_eq!(v.summary, "all 3 required tags present");
    }

    #[test]
    fn fails_on_missing_and_empty_tags_only_in_their_environment() {
        let config = r#"{"tags": ["owner"], "environments": {"prod": ["cost_center", "team"]}}"#;
        let settings = r#"{"name": "x", "tags": {"owner": "data", "team": " "}}"#;
        let v = eval("prod", config, settings);
        assert_eq!(v.decision, Decision::Fail);
        let codes: Vec<_> = v
            .findings
            .iter()
            .map(|f| (f.code.as_str(), f.path.as_deref()))
            .collect();
        assert_eq!(
            codes,
            [("missing-tag", Some("/tags")), ("empty-tag", Some("/tags/team"))]
        );
        assert_eq!(eval("dev", config, settings).decision, Decision::Pass);
    }

    #[test]
    fn validates_config() {
        assert!(RequiredTags::validate_config(r#"{"tags": ["a"]}"#).is_ok());
        assert_eq!(RequiredTags::validate_config(r#"{}"#).unwrap_err()[0].path, "");
        assert_eq!(
            RequiredTags::validate_config(r#"{"environments": {"prod": ["", "x"]}}"#).unwrap_err()[0].path,
            "/environments/prod/0"
        );
        assert_eq!(
            RequiredTags::validate_config(r#"{"tags": "owner"}"#).unwrap_err()[0].path,
            "/tags"
        );
    }
}
