//! The `freeze-window` gate: no deploys to the chosen environments during freeze windows.
//!
//! A window is either weekly (`days` + `from`/`to` local times, in `timezone`; `to` before
//! `from` crosses midnight into the next day) or a date range (`from_date`..=`to_date`, whole
//! local days). Time comes from the host (`now-ms`); plugins have no clock.
//!
//! ```json
//! {"environments": ["prod"], "timezone": "Europe/Berlin",
//!  "windows": [{"days": ["fri"], "from": "15:00", "to": "23:59", "reason": "no Friday deploys"},
//!              {"from_date": "2026-12-20", "to_date": "2027-01-03", "reason": "holidays"}]}
//! ```

use brickship_plugin_sdk::config;
use brickship_plugin_sdk::types::{
    ConfigProblem, Finding, GateInput, PluginError, PluginInfo, PluginKind, Verdict,
};
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime as Zoned};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    environments: Vec<String>,
    #[serde(default = "utc")]
    timezone: String,
    windows: Vec<RawWindow>,
}

fn utc() -> String {
    "UTC".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    #[serde(default)]
    days: Vec<String>,
    from: Option<String>,
    to: Option<String>,
    from_date: Option<String>,
    to_date: Option<String>,
    #[serde(default)]
    reason: String,
}

#[derive(Debug)]
enum Window {
    Weekly {
        days: Vec<Weekday>,
        from: Time,
        to: Time,
        reason: String,
    },
    Dates {
        from: Date,
        to: Date,
        reason: String,
    },
}

struct Config {
    environments: Vec<String>,
    tz: TimeZone,
    windows: Vec<Window>,
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s.to_ascii_lowercase().get(..3)? {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    })
}

fn parse_config(text: &str) -> Result<Config, Vec<ConfigProblem>> {
    let raw: RawConfig = config::parse(text)?;
    let mut problems = Vec::new();
    let tz = TimeZone::get(&raw.timezone).unwrap_or_else(|_| {
        problems.push(config::problem(
            "/timezone",
            format!(
                "unknown time zone `{}`; use an IANA name such as `Europe/Berlin`",
                raw.timezone
            ),
        ));
        TimeZone::UTC
    });
    if raw.environments.is_empty() {
        problems.push(config::problem(
            "/environments",
            "name at least one environment to freeze",
        ));
    }
    if raw.windows.is_empty() {
        problems.push(config::problem("/windows", "give at least one window"));
    }
    let mut windows = Vec::new();
    for (i, w) in raw.windows.into_iter().enumerate() {
        let at = |field: &str| format!("/windows/{i}/{field}");
        match (&w.from_date, &w.to_date, &w.from, &w.to) {
            (Some(fd), Some(td), None, None) if w.days.is_empty() => {
                let parse = |s: &str, field: &str, problems: &mut Vec<ConfigProblem>| {
                    s.parse::<Date>()
                        .map_err(|_| {
                            problems.push(config::problem(
                                at(field),
                                format!("`{s}` is not a date like 2026-12-24"),
                            ))
                        })
                        .ok()
                };
                let from = parse(fd, "from_date", &mut problems);
                let to = parse(td, "to_date", &mut problems);
                if let (Some(from), Some(to)) = (from, to) {
                    if to < from {
                        problems.push(config::problem(at("to_date"), "ends before it starts"));
                    }
                    windows.push(Window::Dates {
                        from,
                        to,
                        reason: w.reason,
                    });
                }
            }
            (None, None, Some(f), Some(t)) => {
                let parse = |s: &str, field: &str, problems: &mut Vec<ConfigProblem>| {
                    s.parse::<Time>()
                        .map_err(|_| {
                            problems.push(config::problem(
                                at(field),
                                format!("`{s}` is not a time like 18:30"),
                            ))
                        })
                        .ok()
                };
                let from = parse(f, "from", &mut problems);
                let to = parse(t, "to", &mut problems);
                let mut days = Vec::new();
                for (j, d) in w.days.iter().enumerate() {
                    match weekday(d) {
                        Some(day) => days.push(day),
                        None => problems.push(config::problem(
                            format!("/windows/{i}/days/{j}"),
                            format!("`{d}` is not a weekday (mon..sun)"),
                        )),
                    }
                }
                if w.days.is_empty() {
                    problems.push(config::problem(at("days"), "a weekly window needs `days`"));
                }
                if let (Some(from), Some(to)) = (from, to) {
                    windows.push(Window::Weekly {
                        days,
                        from,
                        to,
                        reason: w.reason,
                    });
                }
            }
            _ => problems.push(config::problem(
                format!("/windows/{i}"),
                "a window is either `days` + `from` + `to` (weekly) or `from_date` + `to_date`",
            )),
        }
    }
    if problems.is_empty() {
        Ok(Config {
            environments: raw.environments,
            tz,
            windows,
        })
    } else {
        Err(problems)
    }
}

impl Window {
    fn contains(&self, now: &Zoned) -> bool {
        match self {
            Window::Dates { from, to, .. } => (*from..=*to).contains(&now.date()),
            Window::Weekly { days, from, to, .. } => {
                let (day, t) = (now.weekday(), now.time());
                if from <= to {
                    days.contains(&day) && *from <= t && t < *to
                } else {
                    (days.contains(&day) && t >= *from) || (days.contains(&day.previous()) && t < *to)
                }
            }
        }
    }

    fn describe(&self) -> String {
        let (text, reason) = match self {
            Window::Dates { from, to, reason } => (format!("{from} to {to}"), reason),
            Window::Weekly {
                days,
                from,
                to,
                reason,
            } => {
                let days: Vec<String> = days.iter().map(|d| format!("{d:?}")).collect();
                (
                    format!(
                        "{} {}-{}",
                        days.join("/"),
                        from.strftime("%H:%M"),
                        to.strftime("%H:%M")
                    ),
                    reason,
                )
            }
        };
        if reason.is_empty() {
            text
        } else {
            format!("{text} ({reason})")
        }
    }
}

struct FreezeWindow;

impl brickship_plugin_sdk::Gate for FreezeWindow {
    fn describe() -> PluginInfo {
        let mut info = brickship_plugin_sdk::info(
            "freeze-window",
            env!("CARGO_PKG_VERSION"),
            PluginKind::Gate,
            "Fails deploys to the chosen environments during freeze windows: weekly days and hours in a time zone, or date ranges.",
        );
        info.config_example = Some(
            r#"{"environments": ["prod"], "timezone": "Europe/Berlin", "windows": [{"days": ["fri"], "from": "15:00", "to": "23:59"}, {"from_date": "2026-12-20", "to_date": "2027-01-03", "reason": "holidays"}]}"#
                .to_owned(),
        );
        info
    }

    fn validate_config(config: &str) -> Result<(), Vec<ConfigProblem>> {
        parse_config(config).map(|_| ())
    }

    fn evaluate(input: GateInput) -> Result<Verdict, PluginError> {
        let d = &input.deployment;
        let config = parse_config(&d.config).map_err(config::refused)?;
        if !config.environments.contains(&d.environment) {
            return Ok(Verdict::pass(format!(
                "no freeze windows for `{}`",
                d.environment
            )));
        }
        let now_ms =
            i64::try_from(d.now_ms).map_err(|_| PluginError::new("bad-input", "now-ms is out of range"))?;
        let now = Timestamp::from_millisecond(now_ms)
            .map_err(|e| PluginError::new("bad-input", format!("now-ms is not a valid instant: {e}")))?
            .to_zoned_datetime(config.tz.clone());
        let findings: Vec<Finding> = config
            .windows
            .iter()
            .enumerate()
            .filter(|(_, w)| w.contains(&now))
            .map(|(i, w)| {
                Finding::error(
                    "freeze-window",
                    format!(
                        "deploys to `{}` are frozen now ({}): {}",
                        d.environment,
                        now.strftime("%a %Y-%m-%d %H:%M %Z"),
                        w.describe()
                    ),
                )
                .at(format!("/windows/{i}"))
            })
            .collect();
        Ok(Verdict::from_findings(findings, "outside every freeze window"))
    }
}

brickship_plugin_sdk::export_gate!(FreezeWindow);

#[cfg(test)]
mod tests {
    use super::*;
    use brickship_plugin_sdk::Gate;
    use brickship_plugin_sdk::testing::{self, MONDAY_NOON_MS};
    use brickship_plugin_sdk::types::{Decision, GatePoint};

    const HOUR: u64 = 3_600_000;
    const DAY: u64 = 24 * HOUR;

    fn eval(config: &str, env: &str, now_ms: u64) -> Verdict {
        let mut d = testing::deployment(env, testing::CUSTOMER_360_SETTINGS);
        d.config = config.to_owned();
        d.now_ms = now_ms;
        FreezeWindow::evaluate(testing::gate_input(d, GatePoint::PreDeploy)).unwrap()
    }

    #[test]
    fn weekly_window_in_a_time_zone() {
        // Fridays from 15:00 Berlin time (UTC+1 in January).
        let config = r#"{"environments": ["prod"], "timezone": "Europe/Berlin", "windows": [{"days": ["fri"], "from": "15:00", "to": "23:59", "reason": "weekend"}]}"#;
        let friday_1330_utc = MONDAY_NOON_MS + 4 * DAY + HOUR + HOUR / 2; // 14:30 Berlin
        assert_eq!(eval(config, "prod", friday_1330_utc).decision, Decision::Pass);
        let v = eval(config, "prod", friday_1330_utc + HOUR); // 15:30 Berlin
        assert_eq!(v.decision, Decision::Fail);
        assert!(
            v.findings[0].message.contains("Fri 2026-01-09 15:30 CET"),
            "{}",
            v.findings[0].message
        );
        assert_eq!(
            eval(config, "dev", friday_1330_utc + HOUR).decision,
            Decision::Pass
        );
    }

    #[test]
    fn overnight_window_spans_midnight() {
        let config =
            r#"{"environments": ["prod"], "windows": [{"days": ["mon"], "from": "22:00", "to": "06:00"}]}"#;
        let monday_23 = MONDAY_NOON_MS + 11 * HOUR;
        let tuesday_05 = MONDAY_NOON_MS + 17 * HOUR;
        let tuesday_07 = MONDAY_NOON_MS + 19 * HOUR;
        assert_eq!(eval(config, "prod", monday_23).decision, Decision::Fail);
        assert_eq!(eval(config, "prod", tuesday_05).decision, Decision::Fail);
        assert_eq!(eval(config, "prod", tuesday_07).decision, Decision::Pass);
        assert_eq!(eval(config, "prod", MONDAY_NOON_MS).decision, Decision::Pass);
    }

    #[test]
    fn date_range_is_inclusive() {
        let config = r#"{"environments": ["prod"], "windows": [{"from_date": "2026-01-01", "to_date": "2026-01-05", "reason": "new year"}]}"#;
        assert_eq!(eval(config, "prod", MONDAY_NOON_MS).decision, Decision::Fail);
        assert_eq!(
            eval(config, "prod", MONDAY_NOON_MS + DAY).decision,
            Decision::Pass
        );
    }

    #[test]
    fn validates_config() {
        let p = FreezeWindow::validate_config(r#"{"environments": ["prod"], "timezone": "Mars/Base", "windows": [{"days": ["fry"], "from": "25:00", "to": "10:00"}]}"#).unwrap_err();
        let paths: Vec<_> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["/timezone", "/windows/0/from", "/windows/0/days/0"]);
        assert!(
            FreezeWindow::validate_config(r#"{"environments": ["prod"], "windows": [{"from": "10:00"}]}"#)
                .is_err()
        );
    }
}
