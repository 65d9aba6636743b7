//! The `budget` gate: fails when the host's cost estimate exceeds a monthly budget.
//!
//! Without an estimate the gate cannot judge: by default it is `inconclusive`
//! (`when_unknown: "warn"` or `"pass"` to soften). Above `warn_at_percent` of the budget it
//! warns.
//!
//! ```json
//! {"monthly_budget": 5000, "currency": "USD", "warn_at_percent": 80, "when_unknown": "inconclusive"}
//! ```

use brickship_plugin_sdk::config;
use brickship_plugin_sdk::types::{
    ConfigProblem, Decision, Finding, GateInput, PluginError, PluginInfo, PluginKind, Verdict,
};
use serde::Deserialize;

#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum WhenUnknown {
    #[default]
    Inconclusive,
    Warn,
    Pass,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    monthly_budget: f64,
    #[serde(default = "usd")]
    currency: String,
    #[serde(default = "eighty")]
    warn_at_percent: f64,
    #[serde(default)]
    when_unknown: WhenUnknown,
}

fn usd() -> String {
    "USD".to_owned()
}
fn eighty() -> f64 {
    80.0
}

fn parse_config(text: &str) -> Result<Config, Vec<ConfigProblem>> {
    let c: Config = config::parse(text)?;
    let mut problems = Vec::new();
    if !(c.monthly_budget.is_finite() && c.monthly_budget > 0.0) {
        problems.push(config::problem("/monthly_budget", "must be a positive amount"));
    }
    if !(0.0..=100.0).contains(&c.warn_at_percent) {
        problems.push(config::problem("/warn_at_percent", "must be between 0 and 100"));
    }
    if c.currency.len() != 3 {
        problems.push(config::problem(
            "/currency",
            "must be an ISO 4217 code such as USD",
        ));
    }
    if problems.is_empty() { Ok(c) } else { Err(problems) }
}

struct Budget;

impl brickship_plugin_sdk::Gate for Budget {
    fn describe() -> PluginInfo {
        let mut info = brickship_plugin_sdk::info(
            "budget",
            env!("CARGO_PKG_VERSION"),
            PluginKind::Gate,
            "Fails when the estimated monthly cost exceeds the budget, warns near it, and is inconclusive (configurable) without an estimate.",
        );
        info.config_example =
            Some(r#"{"monthly_budget": 5000, "currency": "USD", "warn_at_percent": 80}"#.to_owned());
        info
    }

    fn validate_config(config: &str) -> Result<(), Vec<ConfigProblem>> {
        parse_config(config).map(|_| ())
    }

    fn evaluate(input: GateInput) -> Result<Verdict, PluginError> {
        let config = parse_config(&input.deployment.config).map_err(config::refused)?;
        let budget = config.monthly_budget;
        let Some(cost) = input.cost else {
            let finding = Finding::warning(
                "no-estimate",
                "no cost estimate is available, so the budget cannot be checked",
            );
            let (decision, summary) = match config.when_unknown {
                WhenUnknown::Inconclusive => (Decision::Inconclusive, "no cost estimate"),
                WhenUnknown::Warn => (Decision::Warn, "no cost estimate"),
                WhenUnknown::Pass => (Decision::Pass, "no cost estimate (allowed)"),
            };
            return Ok(Verdict {
                decision,
                summary: summary.to_owned(),
                findings: vec![finding],
            });
        };
        if !cost.currency.eq_ignore_ascii_case(&config.currency) {
            return Ok(Verdict {
                decision: Decision::Inconclusive,
                summary: "currency mismatch".to_owned(),
                findings: vec![Finding::warning(
                    "currency-mismatch",
                    format!(
                        "the estimate is in {} but the budget is in {}",
                        cost.currency, config.currency
                    ),
                )],
            });
        }
        let c = &config.currency;
        let percent = cost.per_month / budget * 100.0;
        let detail = format!(
            "estimated {:.2} {c}/month ({:.1} runs x {:.2} {c}; {}) against a budget of {budget:.2} {c} ({percent:.0}%)",
            cost.per_month, cost.runs_per_month, cost.per_run, cost.basis
        );
        let findings = if cost.per_month > budget {
            vec![Finding::error("over-budget", detail)]
        } else if percent >= config.warn_at_percent {
            vec![Finding::warning("near-budget", detail)]
        } else {
            vec![Finding::info("within-budget", detail)]
        };
        Ok(Verdict::from_findings(
            findings,
            &format!("{percent:.0}% of the monthly budget"),
        ))
    }
}

brickship_plugin_sdk::export_gate!(Budget);

#[cfg(test)]
mod tests {
    use super::*;
    use brickship_plugin_sdk::Gate;
    use brickship_plugin_sdk::testing;
    use brickship_plugin_sdk::types::{CostEstimate, GatePoint};

    fn eval(config: &str, per_month: Option<f64>) -> Verdict {
        let mut d = testing::customer_360_prod();
        d.config = config.to_owned();
        let mut input = testing::gate_input(d, GatePoint::PreDeploy);
        input.cost = per_month.map(|m| CostEstimate {
            currency: "USD".into(),
            per_run: m / 30.0,
            runs_per_month: 30.0,
            per_month: m,
            dbu_per_run: 40.0,
            basis: "list price".into(),
        });
        Budget::evaluate(input).unwrap()
    }

    #[test]
    fn thresholds() {
        let c = r#"{"monthly_budget": 1000}"#;
        assert_eq!(eval(c, Some(500.0)).decision, Decision::Pass);
        assert_eq!(eval(c, Some(850.0)).decision, Decision::Warn);
        let v = eval(c, Some(1200.0));
        assert_eq!(v.decision, Decision::Fail);
        assert!(
            v.findings[0].message.contains("1200.00 USD/month"),
            "{}",
            v.findings[0].message
        );
        assert_eq!(v.summary, "1 problem found");
    }

    #[test]
    fn no_estimate_follows_when_unknown() {
        assert_eq!(
            eval(r#"{"monthly_budget": 1000}"#, None).decision,
            Decision::Inconclusive
        );
        assert_eq!(
            eval(r#"{"monthly_budget": 1000, "when_unknown": "pass"}"#, None).decision,
            Decision::Pass
        );
        assert_eq!(
            eval(r#"{"monthly_budget": 1000, "currency": "EUR"}"#, Some(1.0)).decision,
            Decision::Inconclusive
        );
    }

    #[test]
    fn validates_config() {
        let p = Budget::validate_config(r#"{"monthly_budget": -1, "warn_at_percent": 120}"#).unwrap_err();
        assert_eq!(p.len(), 2);
        assert_eq!(
            Budget::validate_config("{}").unwrap_err()[0].message,
            "missing field `monthly_budget`"
        );
    }
}
