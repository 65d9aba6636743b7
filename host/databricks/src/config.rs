//! Config resolution ("unified client auth"), as the official Databricks SDKs do it.
//!
//! Each attribute (host, token, client id, …) is taken from the first source that sets it:
//!
//! 1. explicit values given to [`ConfigBuilder`] (flags, project files);
//! 2. environment variables ([`crate::env`]) — only for attributes still unset;
//! 3. one profile of the config file (`DATABRICKS_CONFIG_FILE`, default `~/.databrickscfg`) —
//!    skipped entirely when no profile was requested and a host or any credential is already
//!    set. The profile is the requested one (`profile` / `DATABRICKS_CONFIG_PROFILE`), else
//!    `[__settings__] default_profile`, else `[DEFAULT]`. A requested profile that does not
//!    exist is an error naming the file and the profiles it has; a missing `[DEFAULT]` is not.
//!    A profile section does not inherit keys from `[DEFAULT]`.
//!
//! Then the host is normalised (trailing `/` removed, `:443` dropped, `https://` added when
//! there is no scheme; `http://127.0.0.1:8080` is kept) and the credentials are chosen: an
//! explicit `auth_type` wins; otherwise attributes of more than one auth family (`pat`:
//! `token`; `oauth`: `client_id`/`client_secret`) are an error, and the one family present is
//! used. The host `local` means the local workspace (see the crate docs).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::env;
use crate::ini;
use crate::secret::Secret;

/// Default per-request HTTP timeout.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(60);
/// Default overall retry deadline of one call.
pub const DEFAULT_RETRY_TIMEOUT: Duration = Duration::from_secs(300);
/// The token sent to the local workspace (it accepts any token).
pub const LOCAL_DUMMY_TOKEN: &str = "dapi-local-workspace";

/// Why a config could not be resolved. Every message names the setting and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no Databricks host configured: set `DATABRICKS_HOST`, pass a host, or add `host = https://...` to a profile in `~/.databrickscfg`"
    )]
    MissingHost,
    #[error(
        "no credentials configured for `{host}`: set `DATABRICKS_TOKEN` (personal access token), or `DATABRICKS_CLIENT_ID` and `DATABRICKS_CLIENT_SECRET` (service principal), or choose a profile with `DATABRICKS_CONFIG_PROFILE`"
    )]
    MissingCredentials { host: String },
    #[error("`{auth_type}` auth needs `{missing}`: set `{env}` or add `{missing} = ...` to the profile")]
    MissingAttribute {
        auth_type: &'static str,
        missing: &'static str,
        env: &'static str,
    },
    #[error(
        "more than one authorization method configured: {}: set `DATABRICKS_AUTH_TYPE` (or `auth_type` in the profile) to `pat` or `oauth-m2m`, or remove the credentials you do not want",
        methods.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(" and ")
    )]
    ConflictingAuth { methods: Vec<&'static str> },
    #[error(
        "auth type `{auth_type}` is not supported: brickship supports `pat` and `oauth-m2m`; set `DATABRICKS_AUTH_TYPE` to one of them"
    )]
    UnsupportedAuthType { auth_type: String },
    #[error(
        "basic auth (`username`/`password`) is not supported: use a personal access token (`DATABRICKS_TOKEN`) or a service principal (`DATABRICKS_CLIENT_ID`/`DATABRICKS_CLIENT_SECRET`)"
    )]
    BasicAuthUnsupported,
    #[error("profile `{profile}` not found in `{}`; {}", file.display(), available_profiles(available))]
    ProfileNotFound {
        profile: String,
        file: PathBuf,
        available: Vec<String>,
    },
    #[error(
        "profile `{profile}` was requested but the config file `{}` does not exist: create it (e.g. with `databricks configure`) or point `DATABRICKS_CONFIG_FILE` at yours",
        file.display()
    )]
    ConfigFileMissing { profile: String, file: PathBuf },
    #[error("cannot read config file `{}`: {source}", file.display())]
    ConfigFileRead {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}:{line}`: {message}\n  {line} | {text}", file.display())]
    ConfigFileSyntax {
        file: PathBuf,
        line: usize,
        message: String,
        text: String,
    },
    #[error("invalid `{setting}` value `{value}` (from {origin}): {reason}")]
    InvalidValue {
        setting: &'static str,
        value: String,
        origin: Origin,
        reason: String,
    },
    #[error(
        "host `local` is not available in this build: enable the `local` feature of the `databricks` crate, or use a workspace URL"
    )]
    LocalUnavailable,
    #[error(
        "host `local` needs a state directory: pass one with `ConfigBuilder::local_state_dir` (brickship uses `<project>/.brickship/workspace/`)"
    )]
    LocalStateDirMissing,
    #[error(
        "invalid host `{host}` (from {origin}): {reason}; use a workspace URL such as `https://adb-1234567890123456.7.azuredatabricks.net`"
    )]
    InvalidHost {
        host: String,
        origin: Origin,
        reason: String,
    },
}

fn available_profiles(available: &[String]) -> String {
    if available.is_empty() {
        "the file has no profiles: add a `[name]` section with `host` and credentials".to_owned()
    } else {
        format!(
            "profiles there: {} (set `DATABRICKS_CONFIG_PROFILE` or `--profile` to one of them)",
            available
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// Where an attribute's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Given to [`ConfigBuilder`].
    Explicit,
    /// An environment variable.
    Env(&'static str),
    /// A profile of a config file.
    File { file: PathBuf, profile: String },
    /// A built-in default.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Explicit => f.write_str("explicit setting"),
            Origin::Env(name) => write!(f, "env `{name}`"),
            Origin::File { file, profile } => write!(f, "profile `{profile}` in `{}`", file.display()),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// The workspace to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A workspace URL, normalised: scheme, host, optional port and path, no trailing `/`.
    Url(String),
    /// The local workspace, started in-process (feature `local`) or shared with another process.
    Local,
}

impl Host {
    /// Whether this is the special host `local`.
    pub fn is_local(&self) -> bool {
        matches!(self, Host::Local)
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Url(url) => f.write_str(url),
            Host::Local => f.write_str("local"),
        }
    }
}

/// The credentials the client authenticates with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Personal access token, sent as `Authorization: Bearer <token>`.
    Pat { token: Secret },
    /// OAuth machine-to-machine: a service principal's client id and secret, exchanged for
    /// short-lived bearer tokens at the workspace's OIDC token endpoint.
    OAuthM2m {
        client_id: String,
        client_secret: Secret,
    },
}

impl Credentials {
    /// The auth type name, as in `DATABRICKS_AUTH_TYPE` and the User-Agent: `pat` or `oauth-m2m`.
    pub fn auth_type(&self) -> &'static str {
        match self {
            Credentials::Pat { .. } => "pat",
            Credentials::OAuthM2m { .. } => "oauth-m2m",
        }
    }
}

/// Settings of the local workspace, used only when the host is `local`.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalSettings {
    /// State directory; the caller passes it (brickship uses `<project>/.brickship/workspace/`).
    pub state_dir: Option<PathBuf>,
    /// Run speed (1.0 = real time); from `BRICKSHIP_LOCAL_RUN_SPEED` unless set explicitly.
    pub run_speed: f64,
}

impl Default for LocalSettings {
    fn default() -> Self {
        Self {
            state_dir: None,
            run_speed: 1.0,
        }
    }
}

/// A resolved configuration: a host and one set of credentials. `Debug` never shows a secret.
#[derive(Debug, Clone)]
pub struct Config {
    /// The workspace.
    pub host: Host,
    /// How to authenticate.
    pub credentials: Credentials,
    /// The config-file profile that was loaded, if any.
    pub profile: Option<String>,
    /// The config file that profile came from.
    pub config_file: Option<PathBuf>,
    /// OIDC discovery override (`DATABRICKS_DISCOVERY_URL`).
    pub discovery_url: Option<String>,
    /// Per-request HTTP timeout (default 60 s; file key `http_timeout_seconds`).
    pub http_timeout: Duration,
    /// Overall deadline of one call including retries (default 5 min; file key `retry_timeout_seconds`).
    pub retry_timeout: Duration,
    /// Local workspace settings.
    pub local: LocalSettings,
    /// Where each attribute came from, for diagnostics (names only, never values).
    pub origins: BTreeMap<&'static str, Origin>,
}

impl Config {
    /// Starts a [`ConfigBuilder`].
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// A PAT config for `host`, bypassing env and files (tests, embedding).
    pub fn pat(host: &str, token: impl Into<Secret>) -> Result<Config, ConfigError> {
        ConfigBuilder::default()
            .host(host)
            .token(token)
            .resolve_with(&|_| None, None)
    }

    /// A one-line description for error messages: attributes set and where they came from,
    /// secrets as `***`, e.g. ``host=https://x (env `DATABRICKS_HOST`), token=*** (profile `dev` in `/h/.databrickscfg`)``.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("host={}", self.host)];
        match &self.credentials {
            Credentials::Pat { .. } => parts.push("auth=pat token=***".to_owned()),
            Credentials::OAuthM2m { client_id, .. } => {
                parts.push(format!("auth=oauth-m2m client_id={client_id} client_secret=***"))
            }
        }
        let origins: Vec<String> = self
            .origins
            .iter()
            .map(|(k, o)| format!("{k} from {o}"))
            .collect();
        if !origins.is_empty() {
            parts.push(format!("({})", origins.join(", ")));
        }
        parts.join(" ")
    }
}

/// Explicit settings, then [`ConfigBuilder::resolve`] (process env and home) or
/// [`ConfigBuilder::resolve_with`] (an injected env and home, for tests).
///
/// Defaults: nothing explicit; config file `~/.databrickscfg`; HTTP timeout 60 s; retry
/// deadline 5 min; local run speed 1.0 (or `BRICKSHIP_LOCAL_RUN_SPEED`); no local state dir.
#[derive(Clone, Default)]
pub struct ConfigBuilder {
    host: Option<String>,
    token: Option<Secret>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    profile: Option<String>,
    config_file: Option<PathBuf>,
    auth_type: Option<String>,
    discovery_url: Option<String>,
    http_timeout: Option<Duration>,
    retry_timeout: Option<Duration>,
    local_state_dir: Option<PathBuf>,
    local_run_speed: Option<f64>,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("host", &self.host)
            .field("token", &self.token)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("profile", &self.profile)
            .field("config_file", &self.config_file)
            .field("auth_type", &self.auth_type)
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// Workspace URL or `local`.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }
    /// Personal access token.
    pub fn token(mut self, token: impl Into<Secret>) -> Self {
        self.token = Some(token.into());
        self
    }
    /// Service principal application id.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }
    /// Service principal OAuth secret.
    pub fn client_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }
    /// Config-file profile to load.
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }
    /// Config file path (default `~/.databrickscfg`).
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }
    /// Force an auth type: `pat` or `oauth-m2m`.
    pub fn auth_type(mut self, auth_type: impl Into<String>) -> Self {
        self.auth_type = Some(auth_type.into());
        self
    }
    /// OIDC discovery URL override.
    pub fn discovery_url(mut self, url: impl Into<String>) -> Self {
        self.discovery_url = Some(url.into());
        self
    }
    /// Per-request HTTP timeout (default 60 s).
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = Some(timeout);
        self
    }
    /// Overall deadline of one call including retries (default 5 min).
    pub fn retry_timeout(mut self, timeout: Duration) -> Self {
        self.retry_timeout = Some(timeout);
        self
    }
    /// State directory of the local workspace (used when the host is `local`).
    pub fn local_state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.local_state_dir = Some(dir.into());
        self
    }
    /// Run speed of the local workspace (default `BRICKSHIP_LOCAL_RUN_SPEED` or 1.0).
    pub fn local_run_speed(mut self, speed: f64) -> Self {
        self.local_run_speed = Some(speed);
        self
    }

    /// Resolves against the process environment and the user's home directory.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let home = dirs::home_dir();
        self.resolve_with(&|name| std::env::var(name).ok(), home.as_deref())
    }

    /// Resolves against an injected environment (`env(name)` returns a variable's value) and
    /// home directory (used for `~/.databrickscfg` and `~` in `DATABRICKS_CONFIG_FILE`).
    pub fn resolve_with(
        self,
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let mut attrs = Attrs::default();
        let explicit = [
            (Attr::Host, self.host.clone()),
            (Attr::Token, self.token.as_ref().map(|t| t.expose().to_owned())),
            (Attr::ClientId, self.client_id.clone()),
            (
                Attr::ClientSecret,
                self.client_secret.as_ref().map(|t| t.expose().to_owned()),
            ),
            (Attr::Profile, self.profile.clone()),
            (
                Attr::ConfigFile,
                self.config_file.as_ref().map(|p| p.display().to_string()),
            ),
            (Attr::AuthType, self.auth_type.clone()),
            (Attr::DiscoveryUrl, self.discovery_url.clone()),
        ];
        for (attr, value) in explicit {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                attrs.set(attr, value, Origin::Explicit);
            }
        }
        // 2. environment
        for attr in Attr::ALL {
            if let Some(name) = attr.env()
                && let Some(value) = env(name).filter(|v| !v.is_empty())
            {
                attrs.set_if_unset(*attr, value, Origin::Env(name));
            }
        }
        // 3. config file
        load_profile(&mut attrs, home)?;

        // host
        let (host_value, host_origin) = attrs.get(Attr::Host).ok_or(ConfigError::MissingHost)?;
        let host = if host_value.trim().eq_ignore_ascii_case("local") {
            Host::Local
        } else {
            Host::Url(
                normalize_host(host_value).map_err(|reason| ConfigError::InvalidHost {
                    host: host_value.to_owned(),
                    origin: host_origin.clone(),
                    reason,
                })?,
            )
        };

        let credentials = if host.is_local() {
            Credentials::Pat {
                token: Secret::new(LOCAL_DUMMY_TOKEN),
            }
        } else {
            choose_credentials(&attrs, &host)?
        };

        let http_timeout = match self.http_timeout {
            Some(t) => t,
            None => attrs
                .seconds(Attr::HttpTimeoutSeconds)?
                .unwrap_or(DEFAULT_HTTP_TIMEOUT),
        };
        let retry_timeout = match self.retry_timeout {
            Some(t) => t,
            None => attrs
                .seconds(Attr::RetryTimeoutSeconds)?
                .unwrap_or(DEFAULT_RETRY_TIMEOUT),
        };
        let run_speed = match self.local_run_speed {
            Some(speed) => speed,
            None => match env(env::BRICKSHIP_LOCAL_RUN_SPEED).filter(|v| !v.trim().is_empty()) {
                Some(raw) => parse_speed(&raw)?,
                None => 1.0,
            },
        };

        let (profile, config_file) = match attrs.loaded.take() {
            Some((file, profile)) => (Some(profile), Some(file)),
            None => (attrs.get(Attr::Profile).map(|(v, _)| v.to_owned()), None),
        };
        let discovery_url = attrs.get(Attr::DiscoveryUrl).map(|(v, _)| v.to_owned());
        let origins = attrs
            .values
            .iter()
            .map(|(attr, (_, origin))| (attr.name(), origin.clone()))
            .collect();
        Ok(Config {
            host,
            credentials,
            profile,
            config_file,
            discovery_url,
            http_timeout,
            retry_timeout,
            local: LocalSettings {
                state_dir: self.local_state_dir,
                run_speed,
            },
            origins,
        })
    }
}

fn parse_speed(raw: &str) -> Result<f64, ConfigError> {
    match raw.trim().parse::<f64>() {
        Ok(speed) if speed.is_finite() && speed > 0.0 => Ok(speed),
        _ => Err(ConfigError::InvalidValue {
            setting: "run_speed",
            value: raw.to_owned(),
            origin: Origin::Env(env::BRICKSHIP_LOCAL_RUN_SPEED),
            reason: "expected a positive number such as `1000`".to_owned(),
        }),
    }
}

fn choose_credentials(attrs: &Attrs, host: &Host) -> Result<Credentials, ConfigError> {
    let value = |attr| attrs.get(attr).map(|(v, _)| v.to_owned());
    let pat = || -> Result<Credentials, ConfigError> {
        let token = value(Attr::Token).ok_or(ConfigError::MissingAttribute {
            auth_type: "pat",
            missing: "token",
            env: env::DATABRICKS_TOKEN,
        })?;
        Ok(Credentials::Pat {
            token: Secret::new(token),
        })
    };
    let m2m = || -> Result<Credentials, ConfigError> {
        let client_id = value(Attr::ClientId).ok_or(ConfigError::MissingAttribute {
            auth_type: "oauth-m2m",
            missing: "client_id",
            env: env::DATABRICKS_CLIENT_ID,
        })?;
        let secret = value(Attr::ClientSecret).ok_or(ConfigError::MissingAttribute {
            auth_type: "oauth-m2m",
            missing: "client_secret",
            env: env::DATABRICKS_CLIENT_SECRET,
        })?;
        Ok(Credentials::OAuthM2m {
            client_id,
            client_secret: Secret::new(secret),
        })
    };
    if let Some((auth_type, _)) = attrs.get(Attr::AuthType) {
        return match auth_type.trim() {
            "pat" => pat(),
            "oauth-m2m" => m2m(),
            "basic" => Err(ConfigError::BasicAuthUnsupported),
            other => Err(ConfigError::UnsupportedAuthType {
                auth_type: other.to_owned(),
            }),
        };
    }
    let mut families: Vec<&'static str> = Attr::ALL
        .iter()
        .filter(|a| attrs.get(**a).is_some())
        .filter_map(|a| a.auth_family())
        .collect();
    families.sort_unstable();
    families.dedup();
    match families.as_slice() {
        [] => Err(ConfigError::MissingCredentials {
            host: host.to_string(),
        }),
        ["pat"] => pat(),
        ["oauth"] => m2m(),
        ["basic"] => Err(ConfigError::BasicAuthUnsupported),
        _ => Err(ConfigError::ConflictingAuth { methods: families }),
    }
}

/// Normalises a workspace URL like the SDKs: add `https://` when there is no scheme, drop a
/// trailing `/` and an explicit `:443`. Rejects anything that is not an http(s) URL with a host.
pub fn normalize_host(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("the host is empty".to_owned());
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("https://{trimmed}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|err| format!("not a URL ({err})"))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(format!(
            "scheme `{}` is not supported, use `https://`",
            url.scheme()
        ));
    }
    let Some(host) = url.host_str() else {
        return Err("the URL has no host name".to_owned());
    };
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the URL must not have a query or fragment".to_owned());
    }
    let mut out = format!("{}://{}", url.scheme(), host);
    // `Url::port` is `None` for the scheme's default port, so `https://x:443` loses its port here.
    if let Some(port) = url.port()
        && port != 443
    {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(url.path().trim_end_matches('/'));
    Ok(out)
}

/// The attributes config resolution knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Attr {
    Host,
    Token,
    ClientId,
    ClientSecret,
    Username,
    Password,
    Profile,
    ConfigFile,
    AuthType,
    DiscoveryUrl,
    HttpTimeoutSeconds,
    RetryTimeoutSeconds,
}

impl Attr {
    const ALL: &'static [Attr] = &[
        Attr::Host,
        Attr::Token,
        Attr::ClientId,
        Attr::ClientSecret,
        Attr::Username,
        Attr::Password,
        Attr::Profile,
        Attr::ConfigFile,
        Attr::AuthType,
        Attr::DiscoveryUrl,
        Attr::HttpTimeoutSeconds,
        Attr::RetryTimeoutSeconds,
    ];

    /// The attribute name, which is also its config-file key.
    fn name(self) -> &'static str {
        match self {
            Attr::Host => "host",
            Attr::Token => "token",
            Attr::ClientId => "client_id",
            Attr::ClientSecret => "client_secret",
            Attr::Username => "username",
            Attr::Password => "password",
            Attr::Profile => "profile",
            Attr::ConfigFile => "config_file",
            Attr::AuthType => "auth_type",
            Attr::DiscoveryUrl => "discovery_url",
            Attr::HttpTimeoutSeconds => "http_timeout_seconds",
            Attr::RetryTimeoutSeconds => "retry_timeout_seconds",
        }
    }

    fn env(self) -> Option<&'static str> {
        Some(match self {
            Attr::Host => env::DATABRICKS_HOST,
            Attr::Token => env::DATABRICKS_TOKEN,
            Attr::ClientId => env::DATABRICKS_CLIENT_ID,
            Attr::ClientSecret => env::DATABRICKS_CLIENT_SECRET,
            Attr::Username => env::DATABRICKS_USERNAME,
            Attr::Password => env::DATABRICKS_PASSWORD,
            Attr::Profile => env::DATABRICKS_CONFIG_PROFILE,
            Attr::ConfigFile => env::DATABRICKS_CONFIG_FILE,
            Attr::AuthType => env::DATABRICKS_AUTH_TYPE,
            Attr::DiscoveryUrl => env::DATABRICKS_DISCOVERY_URL,
            Attr::HttpTimeoutSeconds | Attr::RetryTimeoutSeconds => return None,
        })
    }

    /// The auth family an attribute belongs to (as the SDKs' `ConfigAttribute(auth=...)`).
    fn auth_family(self) -> Option<&'static str> {
        match self {
            Attr::Token => Some("pat"),
            Attr::ClientId | Attr::ClientSecret => Some("oauth"),
            Attr::Username | Attr::Password => Some("basic"),
            _ => None,
        }
    }

    fn from_key(key: &str) -> Option<Attr> {
        Attr::ALL.iter().copied().find(|a| a.name() == key)
    }
}

#[derive(Default)]
struct Attrs {
    values: BTreeMap<Attr, (String, Origin)>,
    /// The file and profile that were loaded.
    loaded: Option<(PathBuf, String)>,
}

impl Attrs {
    fn set(&mut self, attr: Attr, value: String, origin: Origin) {
        self.values.insert(attr, (value, origin));
    }
    fn set_if_unset(&mut self, attr: Attr, value: String, origin: Origin) {
        self.values.entry(attr).or_insert((value, origin));
    }
    fn get(&self, attr: Attr) -> Option<(&str, &Origin)> {
        self.values.get(&attr).map(|(v, o)| (v.as_str(), o))
    }
    fn any_auth(&self) -> bool {
        self.values.keys().any(|a| a.auth_family().is_some()) || self.values.contains_key(&Attr::AuthType)
    }
    fn seconds(&self, attr: Attr) -> Result<Option<Duration>, ConfigError> {
        let Some((raw, origin)) = self.get(attr) else {
            return Ok(None);
        };
        match raw.trim().parse::<f64>() {
            Ok(secs) if secs.is_finite() && secs > 0.0 => Ok(Some(Duration::from_secs_f64(secs))),
            _ => Err(ConfigError::InvalidValue {
                setting: attr.name(),
                value: raw.to_owned(),
                origin: origin.clone(),
                reason: "expected a positive number of seconds".to_owned(),
            }),
        }
    }
}

fn expand_home(path: &str, home: Option<&Path>) -> PathBuf {
    if let Some(home) = home {
        if path == "~" {
            return home.to_path_buf();
        }
        if let Some(rest) = path.strip_prefix("~/") {
            return home.join(rest);
        }
    }
    PathBuf::from(path)
}

fn load_profile(attrs: &mut Attrs, home: Option<&Path>) -> Result<(), ConfigError> {
    let requested = attrs.get(Attr::Profile).map(|(v, _)| v.to_owned());
    if requested.is_none() && (attrs.any_auth() || attrs.get(Attr::Host).is_some()) {
        tracing::debug!("host or credentials already set and no profile requested: config file skipped");
        return Ok(());
    }
    let file = match attrs.get(Attr::ConfigFile) {
        Some((path, _)) => expand_home(path, home),
        None => match home {
            Some(home) => home.join(".databrickscfg"),
            None => {
                return match requested {
                    Some(profile) => Err(ConfigError::ConfigFileMissing {
                        profile,
                        file: PathBuf::from("~/.databrickscfg"),
                    }),
                    None => Ok(()),
                };
            }
        },
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            tracing::debug!(file = %file.display(), "config file does not exist");
            return match requested {
                Some(profile) => Err(ConfigError::ConfigFileMissing { profile, file }),
                None => Ok(()),
            };
        }
        Err(source) => return Err(ConfigError::ConfigFileRead { file, source }),
    };
    let sections = ini::parse(&text).map_err(|err| ConfigError::ConfigFileSyntax {
        file: file.clone(),
        line: err.line,
        message: err.message,
        text: err.text,
    })?;
    let profile = match requested {
        Some(profile) => profile,
        None => {
            let default_profile = sections
                .iter()
                .find(|s| s.name == "__settings__")
                .and_then(|s| s.get("default_profile"))
                .map(str::trim)
                .filter(|p| !p.is_empty());
            match default_profile {
                Some(profile) => profile.to_owned(),
                None if sections
                    .iter()
                    .any(|s| s.name == "DEFAULT" && !s.entries.is_empty()) =>
                {
                    "DEFAULT".to_owned()
                }
                None => {
                    tracing::debug!(file = %file.display(), "config file has no DEFAULT profile");
                    return Ok(());
                }
            }
        }
    };
    let Some(section) = sections
        .iter()
        .find(|s| s.name == profile && s.name != "__settings__")
    else {
        let available = sections
            .iter()
            .filter(|s| s.name != "__settings__")
            .map(|s| s.name.clone())
            .collect();
        return Err(ConfigError::ProfileNotFound {
            profile,
            file,
            available,
        });
    };
    let keys: Vec<&str> = section.entries.iter().map(|(k, _)| k.as_str()).collect();
    tracing::debug!(profile = %profile, file = %file.display(), keys = ?keys, "loading config profile");
    for (key, value) in &section.entries {
        if let Some(attr) = Attr::from_key(key)
            && !value.is_empty()
        {
            attrs.set_if_unset(
                attr,
                value.clone(),
                Origin::File {
                    file: file.clone(),
                    profile: profile.clone(),
                },
            );
        }
    }
    attrs.loaded = Some((file, profile));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::normalize_host;

    #[test]
    fn normalizes_hosts_like_the_sdks() {
        let cases = [
            (
                "adb-1.2.azuredatabricks.net",
                "https://adb-1.2.azuredatabricks.net",
            ),
            (
                "https://adb-1.2.azuredatabricks.net/",
                "https://adb-1.2.azuredatabricks.net",
            ),
            (
                "https://x.cloud.databricks.com:443/",
                "https://x.cloud.databricks.com",
            ),
            ("x.cloud.databricks.com:443", "https://x.cloud.databricks.com"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://localhost:8080/", "http://localhost:8080"),
            ("https://x.com:8443", "https://x.com:8443"),
            ("https://x.com/prefix/", "https://x.com/prefix"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_host(raw).as_deref(), Ok(want), "{raw}");
        }
        assert!(normalize_host("ftp://x").is_err());
        assert!(normalize_host("").is_err());
        assert!(normalize_host("https://x.com/?a=b").is_err());
    }
}
