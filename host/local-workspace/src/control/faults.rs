//! Injected faults: rules that make selected requests fail the way a real workspace or network
//! does, so clients' retry and idempotency logic can be tested.
//!
//! Each rule selects requests with an [`Endpoint`], fires with probability `rate` (drawn from its
//! own generator, seeded by `seed` when given so the sequence is reproducible), at most `count`
//! times. Rules are tried in the order they were added: a `latency` rule that fires adds its
//! delay and evaluation continues; the first other rule that fires decides the request.
//!
//! | kind | effect |
//! |---|---|
//! | `429` | 429 `REQUEST_LIMIT_EXCEEDED` + `Retry-After`, handler not run |
//! | `500` | 500 `INTERNAL_ERROR`, handler not run |
//! | `503` | 503 `TEMPORARILY_UNAVAILABLE` + `Retry-After`, handler not run |
//! | `latency` | waits `latency_ms`, then proceeds normally |
//! | `drop` | closes the connection without a response, handler not run |
//! | `drop-after` | runs the handler (its side effect happens), then closes the connection without sending the response |

use std::sync::Mutex;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::endpoint::{Endpoint, EndpointError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    TooManyRequests,
    InternalError,
    Unavailable,
    Latency,
    Drop,
    DropAfter,
}

impl FaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooManyRequests => "429",
            Self::InternalError => "500",
            Self::Unavailable => "503",
            Self::Latency => "latency",
            Self::Drop => "drop",
            Self::DropAfter => "drop-after",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "429" => Self::TooManyRequests,
            "500" => Self::InternalError,
            "503" => Self::Unavailable,
            "latency" => Self::Latency,
            "drop" => Self::Drop,
            "drop-after" => Self::DropAfter,
            _ => return None,
        })
    }
}

impl Serialize for FaultKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FaultKind {
    /// Accepts the kind as a string or, for the status kinds, a number (`429`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let text = match &value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        Self::parse(&text).ok_or_else(|| {
            D::Error::custom(format!(
                "unknown fault kind `{value}`: use one of \"429\", \"500\", \"503\", \"latency\", \"drop\", \"drop-after\""
            ))
        })
    }
}

/// The body of `POST /_local/faults`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    pub kind: FaultKind,
    /// Probability that a selected request is faulted, 0..=1 (default 1).
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// `Retry-After` seconds for 429 and 503 (default 1).
    #[serde(default = "default_retry_after")]
    pub retry_after_s: u64,
    /// Delay for `latency` (default 300).
    #[serde(default = "default_latency")]
    pub latency_ms: u64,
    /// Stop after this many injections (default: never).
    #[serde(default)]
    pub count: Option<u64>,
    /// Seed for this rule's generator, for a reproducible sequence (default: random).
    #[serde(default)]
    pub seed: Option<u64>,
}

fn default_endpoint() -> String {
    "*".to_owned()
}
fn default_rate() -> f64 {
    1.0
}
fn default_retry_after() -> u64 {
    1
}
fn default_latency() -> u64 {
    300
}

/// A rule as listed by `GET /_local/faults`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FaultView {
    pub fault_id: String,
    pub endpoint: String,
    pub kind: FaultKind,
    pub rate: f64,
    pub retry_after_s: u64,
    pub latency_ms: u64,
    pub count: Option<u64>,
    pub seed: Option<u64>,
    /// How many times this rule has fired.
    pub injected: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("fault rate `{0}` is out of range: use a probability between 0 and 1")]
    Rate(f64),
}

/// What to do with one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// Total delay from `latency` rules that fired.
    pub latency: Option<Duration>,
    /// The id of the last `latency` rule that fired.
    pub latency_id: Option<String>,
    /// The deciding (non-latency) fault, if any.
    pub action: Option<Action>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub fault_id: String,
    pub kind: FaultKind,
    pub retry_after_s: u64,
}

#[derive(Debug, Default)]
pub struct Faults {
    inner: Mutex<Rules>,
}

#[derive(Debug, Default)]
struct Rules {
    next_id: u64,
    rules: Vec<Rule>,
}

#[derive(Debug)]
struct Rule {
    id: String,
    endpoint: Endpoint,
    spec: FaultSpec,
    rng: fastrand::Rng,
    injected: u64,
}

impl Faults {
    /// Adds a rule and returns its id (`f-1`, `f-2`, ...).
    pub fn add(&self, spec: FaultSpec) -> Result<String, FaultError> {
        if !(0.0..=1.0).contains(&spec.rate) {
            return Err(FaultError::Rate(spec.rate));
        }
        let endpoint = Endpoint::parse(&spec.endpoint)?;
        let rng = match spec.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        let mut rules = self.lock();
        rules.next_id += 1;
        let id = format!("f-{}", rules.next_id);
        rules.rules.push(Rule {
            id: id.clone(),
            endpoint,
            spec,
            rng,
            injected: 0,
        });
        Ok(id)
    }

    pub fn list(&self) -> Vec<FaultView> {
        self.lock()
            .rules
            .iter()
            .map(|rule| FaultView {
                fault_id: rule.id.clone(),
                endpoint: rule.endpoint.to_string(),
                kind: rule.spec.kind,
                rate: rule.spec.rate,
                retry_after_s: rule.spec.retry_after_s,
                latency_ms: rule.spec.latency_ms,
                count: rule.spec.count,
                seed: rule.spec.seed,
                injected: rule.injected,
            })
            .collect()
    }

    /// Removes one rule; `false` if there was none with this id.
    pub fn remove(&self, id: &str) -> bool {
        let mut rules = self.lock();
        let before = rules.rules.len();
        rules.rules.retain(|rule| rule.id != id);
        rules.rules.len() != before
    }

    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Decides the faults for one request, consuming draws and counts of the rules that fire.
    pub fn decide(&self, method: &str, path: &str) -> Decision {
        let mut rules = self.lock();
        let mut decision = Decision::default();
        for rule in rules.rules.iter_mut() {
            if rule.spec.count.is_some_and(|max| rule.injected >= max) || !rule.endpoint.matches(method, path)
            {
                continue;
            }
            let fires = rule.spec.rate >= 1.0 || rule.rng.f64() < rule.spec.rate;
            if !fires {
                continue;
            }
            rule.injected += 1;
            if rule.spec.kind == FaultKind::Latency {
                let delay = Duration::from_millis(rule.spec.latency_ms);
                decision.latency = Some(decision.latency.unwrap_or_default() + delay);
                decision.latency_id = Some(rule.id.clone());
                continue;
            }
            decision.action = Some(Action {
                fault_id: rule.id.clone(),
                kind: rule.spec.kind,
                retry_after_s: rule.spec.retry_after_s,
            });
            break;
        }
        decision
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rules> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> FaultSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn count_limits_injections_and_order_decides() {
        let faults = Faults::default();
        let latency = faults
            .add(spec(serde_json::json!({"kind": "latency", "latency_ms": 5})))
            .unwrap();
        let unavailable = faults
            .add(spec(
                serde_json::json!({"endpoint": "jobs/create", "kind": 503, "count": 2}),
            ))
            .unwrap();
        let d = faults.decide("POST", "/api/2.2/jobs/create");
        assert_eq!(d.latency, Some(Duration::from_millis(5)));
        assert_eq!(d.latency_id.as_deref(), Some(latency.as_str()));
        assert_eq!(
            d.action.as_ref().map(|a| (a.fault_id.as_str(), a.kind)),
            Some((unavailable.as_str(), FaultKind::Unavailable))
        );
        assert!(faults.decide("POST", "/api/2.2/jobs/create").action.is_some());
        assert!(faults.decide("POST", "/api/2.2/jobs/create").action.is_none());
        assert!(faults.decide("GET", "/api/2.2/jobs/list").action.is_none());
        let listed = faults.list();
        assert_eq!(listed[1].injected, 2);
        assert!(faults.remove(&latency));
        assert!(!faults.remove(&latency));
        assert_eq!(faults.decide("GET", "/api/2.2/jobs/list"), Decision::default());
    }

    #[test]
    fn seeded_rules_repeat_their_sequence() {
        let pattern = |seed: u64| {
            let faults = Faults::default();
            faults
                .add(spec(
                    serde_json::json!({"kind": "500", "rate": 0.3, "seed": seed}),
                ))
                .unwrap();
            (0..64)
                .map(|_| faults.decide("GET", "/api/2.0/workspace/list").action.is_some())
                .collect::<Vec<_>>()
        };
        let first = pattern(42);
        assert_eq!(first, pattern(42));
        assert!(
            first.iter().any(|f| *f) && first.iter().any(|f| !*f),
            "rate 0.3 fires sometimes: {first:?}"
        );
    }

    #[test]
    fn rejects_bad_rules() {
        let faults = Faults::default();
        assert!(matches!(
            faults.add(spec(serde_json::json!({"kind": "500", "rate": 1.5}))),
            Err(FaultError::Rate(_))
        ));
        assert!(serde_json::from_value::<FaultSpec>(serde_json::json!({"kind": "418"})).is_err());
        assert!(serde_json::from_value::<FaultSpec>(serde_json::json!({"kind": "500", "typo": 1})).is_err());
    }
}
