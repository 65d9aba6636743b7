//! The `naming` gate: the job name must match a regular expression chosen per environment
//! (`"*"` applies to environments without their own pattern). Patterns are anchored: the whole
//! name must match.
//!
//! ```json
//! {"patterns": {"prod": "[a-z0-9-]+-prod", "*": "[a-z0-9-]+-(dev|staging)"}}
//! ```

use std::collections::BTreeMap;

use brickship_plugin_sdk::config;
use brickship_plugin_sdk::settings::JobSettings;
use brickship_plugin_sdk::types::{
    ConfigProblem, Finding, GateInput, PluginError, PluginInfo, PluginKind, Verdict,
};
use regex::Regex;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    patterns: BTreeMap<String, String>,
}

fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?:{pattern})$"))
}

fn parse_config(text: &str) -> Result<BTreeMap<String, (String, Regex)>, Vec<ConfigProblem>> {
    let c: Config = config::parse(text)?;
    if c.patterns.is_empty() {
        return Err(vec![config::problem(
            "/patterns",
            "give at least one pattern (use `*` for every environment)",
        )]);
    }
    let mut problems = Vec::new();
    let mut out = BTreeMap::new();
    for (env, pattern) in c.patterns {
        match compile(&pattern) {
            Ok(re) => {
                out.insert(env, (pattern, re));
            }
            Err(e) => problems.push(config::problem(
                format!("/patterns/{}", config::escape(&env)),
                format!(
                    "`{pattern}` is not a valid regular expression: {}",
                    e.to_string().lines().last().unwrap_or("")
                ),
            )),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

struct Naming;

impl brickship_plugin_sdk::Gate for Naming {
    fn describe() -> PluginInfo {
        let mut info = brickship_plugin_sdk::info(
            "naming",
            env!("CARGO_PKG_VERSION"),
            PluginKind::Gate,
            "Fails when the job name does not match the environment's pattern (a whole-name regular expression; `*` is the default).",
        );
        info.config_example =
            Some(r#"{"patterns": {"prod": "[a-z0-9-]+-prod", "*": "[a-z0-9-]+"}}"#.to_owned());
        info
    }

    fn validate_config(config: &str) -> Result<(), Vec<ConfigProblem>> {
        parse_config(config).map(|_| ())
    }

    fn evaluate(input: GateInput) -> Result<Verdict, PluginError> {
        let d = &input.deployment;
        let patterns = parse_config(&d.config).map_err(config::refused)?;
        let Some((pattern, re)) = patterns.get(&d.environment).or_else(|| patterns.get("*")) else {
            let mut v = Verdict::pass(format!("no naming pattern for `{}`", d.environment));
            v.findings.push(Finding::info(
                "no-pattern",
                format!("no pattern applies to environment `{}`", d.environment),
            ));
            return Ok(v);
        };
        let settings = JobSettings::parse(&d.desired)?;
        let findings = match settings.name() {
            None => vec![Finding::error("missing-name", "the job has no `name`").at("/name")],
            Some(name) if !re.is_match(name) => vec![
                Finding::error(
                    "bad-name",
                    format!(
                        "job name `{name}` does not match `{pattern}` required in `{}`",
                        d.environment
                    ),
                )
                .at("/name"),
            ],
            Some(_) => Vec::new(),
        };
        Ok(Verdict::from_findings(
            findings,
            "the job name follows the convention",
        ))
    }
}

brickship_plugin_sdk::export_gate!(Naming);

#[cfg(test)]
mod tests {
    use super::*;
    use brickship_plugin_sdk::Gate;
    use brickship_plugin_sdk::testing;
    use brickship_plugin_sdk::types::{Decision, GatePoint};

    const CONFIG: &str = r#"{"patterns": {"prod": "[a-z0-9-]+-prod", "*": "[a-z0-9-]+-(dev|staging)"}}"#;

    fn eval(env: &str, settings: &str) -> Verdict {
        let mut d = testing::deployment(env, settings);
        d.config = CONFIG.to_owned();
        Naming::evaluate(testing::gate_input(d, GatePoint::PreDeploy)).unwrap()
    }

    #[test]
    fn customer_360_prod_name_matches_prod_and_not_dev() {
        assert_eq!(
            eval("prod", testing::CUSTOMER_360_SETTINGS).decision,
            Decision::Pass
        );
        let v = eval("dev", testing::CUSTOMER_360_SETTINGS);
        assert_eq!(v.decision, Decision::Fail);
        assert_eq!(v.findings[0].path.as_deref(), Some("/name"));
        assert!(v.findings[0].message.contains("customer-360-pipeline-prod"));
    }

    #[test]
    fn anchors_patterns_and_reports_missing_names() {
        assert_eq!(eval("prod", r#"{"name": "x-prod-old"}"#).decision, Decision::Fail);
        assert_eq!(eval("prod", r#"{"tasks": []}"#).findings[0].code, "missing-name");
    }

    #[test]
    fn passes_with_info_when_no_pattern_applies() {
        let mut d = testing::deployment("qa", r#"{"name": "anything"}"#);
        d.config = r#"{"patterns": {"prod": "x"}}"#.to_owned();
        let v = Naming::evaluate(testing::gate_input(d, GatePoint::PreDeploy)).unwrap();
        assert_eq!(v.decision, Decision::Pass);
        assert_eq!(v.findings[0].code, "no-pattern");
    }

    #[test]
    fn rejects_bad_regexes() {
        let p = Naming::validate_config(r#"{"patterns": {"prod": "([a-z"}}"#).unwrap_err();
        assert_eq!(p[0].path, "/patterns/prod");
        assert!(Naming::validate_config(r#"{"patterns": {}}"#).is_err());
    }
}
