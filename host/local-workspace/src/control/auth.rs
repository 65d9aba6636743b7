//! Bearer-token checks and the OAuth machine-to-machine tokens issued by `/oidc/v1/token`.
//!
//! * A request without `Authorization: Bearer <token>` is refused with 401 `UNAUTHORIZED`.
//! * A token issued by `/oidc/v1/token` is valid until it expires; after that it is refused
//!   like any invalid token.
//! * With `Config::token` set, only that token (or an unexpired issued one) is accepted; any
//!   other gets the real quirk: HTTP 403 with a *numeric* `error_code` 403,
//!   `"Invalid access token."`. Without it, any non-empty token is accepted.
//!
//! Issued tokens live in memory only: after a restart, clients fetch new ones.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::Config;

/// The outcome of checking an `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// No bearer token at all (401).
    Missing,
    /// A token that is not accepted here (403, numeric error code).
    Invalid,
}

/// A secret string whose `Debug` and `Display` are redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted(pub String);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// A successfully issued token.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: Redacted,
    pub expires_in: u64,
    pub scope: String,
}

/// Why the token endpoint refused: the OAuth `error` code, description and HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

#[derive(Debug)]
pub struct Auth {
    token: Option<Redacted>,
    client: Option<(String, Redacted)>,
    state: Mutex<TokenState>,
}

struct TokenState {
    ttl: Duration,
    /// Issued access token -> expiry.
    issued: HashMap<String, Instant>,
}

impl fmt::Debug for TokenState {
    /// Never prints the tokens themselves.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenState")
            .field("ttl", &self.ttl)
            .field("issued", &self.issued.len())
            .finish()
    }
}

impl Auth {
    pub fn new(config: &Config) -> Self {
        Self {
            token: config.token.clone().map(Redacted),
            client: config
                .oauth_client
                .clone()
                .map(|(id, secret)| (id, Redacted(secret))),
            state: Mutex::new(TokenState {
                ttl: config.oauth_token_ttl,
                issued: HashMap::new(),
            }),
        }
    }

    /// Checks an `Authorization` header value.
    pub fn check(&self, authorization: Option<&str>) -> Verdict {
        let Some(token) = authorization.and_then(bearer) else {
            return Verdict::Missing;
        };
        let issued = self.lock().issued.get(token).copied();
        match issued {
            Some(expiry) if expiry > Instant::now() => Verdict::Allowed,
            Some(_) => Verdict::Invalid,
            None => match &self.token {
                Some(expected) if expected.0 != token => Verdict::Invalid,
                _ => Verdict::Allowed,
            },
        }
    }

    /// Issues a token for a client-credentials request. `authorization` is the request's
    /// `Authorization` header (HTTP Basic); `form` the form fields (`grant_type`, `scope`, and
    /// optionally `client_id`/`client_secret`).
    pub fn issue(
        &self,
        authorization: Option<&str>,
        form: &HashMap<String, String>,
    ) -> Result<Issued, OAuthError> {
        let refuse = |status, error, description: &str| {
            Err(OAuthError {
                status,
                error,
                description: description.to_owned(),
            })
        };
        match form.get("grant_type").map(String::as_str) {
            None => return refuse(400, "invalid_request", "Missing required parameter: grant_type"),
            Some("client_credentials") => {}
            Some(_) => {
                return refuse(
                    400,
                    "unsupported_grant_type",
                    "Only grant_type=client_credentials is supported",
                );
            }
        }
        let credentials = authorization.and_then(basic).or_else(|| {
            let id = form.get("client_id")?;
            let secret = form.get("client_secret")?;
            Some((id.clone(), secret.clone()))
        });
        let Some((id, secret)) = credentials.filter(|(id, secret)| !id.is_empty() && !secret.is_empty())
        else {
            return refuse(
                401,
                "invalid_client",
                "Client authentication failed: no client credentials were sent",
            );
        };
        if let Some((expected_id, expected_secret)) = &self.client
            && (expected_id != &id || expected_secret.0 != secret)
        {
            return refuse(401, "invalid_client", "Client authentication failed");
        }
        let scope = form
            .get("scope")
            .cloned()
            .unwrap_or_else(|| "all-apis".to_owned());
        let access_token = format!("lwo{}", uuid::Uuid::new_v4().simple());
        let mut state = self.lock();
        let now = Instant::now();
        state.issued.retain(|_, expiry| *expiry > now);
        let ttl = state.ttl;
        state.issued.insert(access_token.clone(), now + ttl);
        Ok(Issued {
            access_token: Redacted(access_token),
            expires_in: ttl.as_secs(),
            scope,
        })
    }

    /// The lifetime of tokens issued from now on.
    pub fn token_ttl(&self) -> Duration {
        self.lock().ttl
    }

    pub fn set_token_ttl(&self, ttl: Duration) {
        self.lock().ttl = ttl;
    }

    /// Makes every token issued so far expire now; returns how many were still valid.
    pub fn expire_issued(&self) -> usize {
        let mut state = self.lock();
        let now = Instant::now();
        let live = state.issued.values().filter(|expiry| **expiry > now).count();
        for expiry in state.issued.values_mut() {
            *expiry = now;
        }
        live
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TokenState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The token of `Bearer <token>` (scheme case-insensitive), if non-empty.
fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The `(id, secret)` of `Basic base64(id:secret)`.
fn basic(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn bearer_rules_without_and_with_a_configured_token() {
        let open = Auth::new(&Config::default());
        assert_eq!(open.check(None), Verdict::Missing);
        assert_eq!(open.check(Some("Bearer ")), Verdict::Missing);
        assert_eq!(open.check(Some("Basic abc")), Verdict::Missing);
        assert_eq!(open.check(Some("Bearer anything")), Verdict::Allowed);
        assert_eq!(open.check(Some("bearer anything")), Verdict::Allowed);

        let closed = Auth::new(&Config {
            token: Some("dapi-good".to_owned()),
            ..Config::default()
        });
        assert_eq!(closed.check(Some("Bearer dapi-good")), Verdict::Allowed);
        assert_eq!(closed.check(Some("Bearer dapi-bad")), Verdict::Invalid);
    }

    #[test]
    fn issued_tokens_are_valid_until_they_expire() {
        let auth = Auth::new(&Config {
            token: Some("dapi-good".to_owned()),
            oauth_client: Some(("id".to_owned(), "secret".to_owned())),
            ..Config::default()
        });
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("id:secret")
        );
        let issued = auth
            .issue(
                Some(&basic),
                &form(&[("grant_type", "client_credentials"), ("scope", "all-apis")]),
            )
            .unwrap();
        assert_eq!(issued.expires_in, 3600);
        let header = format!("Bearer {}", issued.access_token.0);
        assert_eq!(auth.check(Some(&header)), Verdict::Allowed);
        assert_eq!(auth.expire_issued(), 1);
        assert_eq!(auth.check(Some(&header)), Verdict::Invalid);

        let via_form = auth.issue(
            None,
            &form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "id"),
                ("client_secret", "secret"),
            ]),
        );
        assert!(via_form.is_ok());
        let wrong = auth.issue(
            None,
            &form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "id"),
                ("client_secret", "no"),
            ]),
        );
        assert_eq!(
            wrong.map_err(|e| (e.status, e.error)).err(),
            Some((401, "invalid_client"))
        );
        let grant = auth.issue(Some(&basic), &form(&[("grant_type", "password")]));
        assert_eq!(
            grant.map_err(|e| (e.status, e.error)).err(),
            Some((400, "unsupported_grant_type"))
        );
        assert!(format!("{:?}", auth).contains("<redacted>") && !format!("{:?}", auth).contains("secret\""));
    }
}
