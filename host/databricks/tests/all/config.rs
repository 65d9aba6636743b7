//! Config resolution matrix: explicit > env > profile, profile choice, errors, host normalisation.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use databricks::{Config, ConfigBuilder, ConfigError, Credentials, Host, Origin};

fn resolve(builder: ConfigBuilder, env: &[(&str, &str)], home: &Path) -> Result<Config, ConfigError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    builder.resolve_with(&|name| env.get(name).cloned(), Some(home))
}

fn home_with_cfg(text: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::write(home.path().join(".databrickscfg"), text).expect("write cfg");
    home
}

fn token(config: &Config) -> &str {
    match &config.credentials {
        Credentials::Pat { token } => token.expose(),
        other => panic!("expected pat, got {other:?}"),
    }
}

const CFG: &str = "\
[DEFAULT]
host = https://default.cloud.databricks.com/
token = dapi-default

[dev]
host = dev.cloud.databricks.com
token = dapi-dev
http_timeout_seconds = 5

[sp]
host = https://sp.cloud.databricks.com:443
client_id = app-id
client_secret = sp-secret

[nohost]
token = dapi-nohost
";

#[test]
fn env_only() {
    let home = tempfile::tempdir().expect("tempdir");
    let config = resolve(
        Config::builder(),
        &[
            ("DATABRICKS_HOST", "https://env.cloud.databricks.com/"),
            ("DATABRICKS_TOKEN", "dapi-env"),
        ],
        home.path(),
    )
    .expect("resolves");
    assert_eq!(config.host, Host::Url("https://env.cloud.databricks.com".into()));
    assert_eq!(token(&config), "dapi-env");
    assert_eq!(config.profile, None);
    assert_eq!(config.origins.get("host"), Some(&Origin::Env("DATABRICKS_HOST")));
    assert_eq!(config.http_timeout, Duration::from_secs(60));
    assert_eq!(config.retry_timeout, Duration::from_secs(300));
}

#[test]
fn env_host_and_token_skip_the_file() {
    let home = home_with_cfg(CFG);
    let config = resolve(
        Config::builder(),
        &[
            ("DATABRICKS_HOST", "https://env.cloud.databricks.com"),
            ("DATABRICKS_TOKEN", "dapi-env"),
        ],
        home.path(),
    )
    .expect("resolves");
    assert_eq!(token(&config), "dapi-env");
    assert_eq!(config.profile, None, "file must not be loaded");
    // Host alone also skips the file (SDK rule), so no token is found.
    let err = resolve(
        Config::builder(),
        &[("DATABRICKS_HOST", "https://x.com")],
        home.path(),
    )
    .expect_err("no token");
    assert!(matches!(err, ConfigError::MissingCredentials { .. }), "{err}");
}

#[test]
fn explicit_beats_env_beats_file() {
    let home = home_with_cfg(CFG);
    let config = resolve(
        Config::builder().profile("dev").token("dapi-explicit"),
        &[("DATABRICKS_HOST", "https://env.cloud.databricks.com")],
        home.path(),
    )
    .expect("resolves");
    assert_eq!(config.host, Host::Url("https://env.cloud.databricks.com".into()));
    assert_eq!(token(&config), "dapi-explicit");
    assert_eq!(config.profile.as_deref(), Some("dev"));
    assert_eq!(
        config.http_timeout,
        Duration::from_secs(5),
        "file-only key read from the profile"
    );
}

#[test]
fn default_profile_when_nothing_set() {
    let home = home_with_cfg(CFG);
    let config = resolve(Config::builder(), &[], home.path()).expect("resolves");
    assert_eq!(
        config.host,
        Host::Url("https://default.cloud.databricks.com".into())
    );
    assert_eq!(token(&config), "dapi-default");
    assert_eq!(config.profile.as_deref(), Some("DEFAULT"));
    assert_eq!(
        config.config_file.as_deref(),
        Some(home.path().join(".databrickscfg").as_path())
    );
}

#[test]
fn profile_from_env_and_settings_default_profile() {
    let home = home_with_cfg(CFG);
    let config = resolve(
        Config::builder(),
        &[("DATABRICKS_CONFIG_PROFILE", "dev")],
        home.path(),
    )
    .expect("resolves");
    assert_eq!(config.host, Host::Url("https://dev.cloud.databricks.com".into()));
    assert_eq!(token(&config), "dapi-dev");

    let with_settings = format!("[__settings__]\ndefault_profile = dev\n\n{CFG}");
    let home = home_with_cfg(&with_settings);
    let config = resolve(Config::builder(), &[], home.path()).expect("resolves");
    assert_eq!(
        config.profile.as_deref(),
        Some("dev"),
        "__settings__ wins over DEFAULT"
    );
    assert_eq!(token(&config), "dapi-dev");
}

#[test]
fn profiles_do_not_inherit_default() {
    let home = home_with_cfg(CFG);
    let err = resolve(Config::builder().profile("nohost"), &[], home.path()).expect_err("no host in profile");
    assert!(matches!(err, ConfigError::MissingHost), "{err}");
}

#[test]
fn missing_profile_names_file_and_profiles() {
    let home = home_with_cfg(CFG);
    let err = resolve(Config::builder().profile("prod"), &[], home.path()).expect_err("missing");
    let message = err.to_string();
    assert!(matches!(err, ConfigError::ProfileNotFound { .. }));
    assert!(message.contains("profile `prod` not found"), "{message}");
    assert!(
        message.contains(&home.path().join(".databrickscfg").display().to_string()),
        "{message}"
    );
    for profile in ["`DEFAULT`", "`dev`", "`sp`", "`nohost`"] {
        assert!(message.contains(profile), "{message}");
    }
    assert!(!message.contains("__settings__"), "{message}");

    let empty = tempfile::tempdir().expect("tempdir");
    let err = resolve(Config::builder().profile("prod"), &[], empty.path()).expect_err("no file");
    assert!(matches!(err, ConfigError::ConfigFileMissing { .. }), "{err}");
}

#[test]
fn config_file_from_env_with_tilde() {
    let home = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(home.path().join("cfg")).expect("mkdir");
    std::fs::write(
        home.path().join("cfg/custom"),
        "[DEFAULT]\nhost = https://custom.com\ntoken = t\n",
    )
    .expect("write");
    let config = resolve(
        Config::builder(),
        &[("DATABRICKS_CONFIG_FILE", "~/cfg/custom")],
        home.path(),
    )
    .expect("resolves");
    assert_eq!(config.host, Host::Url("https://custom.com".into()));
}

#[test]
fn oauth_profile_and_host_normalisation() {
    let home = home_with_cfg(CFG);
    let config = resolve(Config::builder().profile("sp"), &[], home.path()).expect("resolves");
    assert_eq!(config.host, Host::Url("https://sp.cloud.databricks.com".into()));
    match &config.credentials {
        Credentials::OAuthM2m {
            client_id,
            client_secret,
        } => {
            assert_eq!(client_id, "app-id");
            assert_eq!(client_secret.expose(), "sp-secret");
        }
        other => panic!("expected oauth-m2m, got {other:?}"),
    }
    assert_eq!(config.credentials.auth_type(), "oauth-m2m");
}

#[test]
fn conflicting_auth_needs_auth_type() {
    let home = tempfile::tempdir().expect("tempdir");
    let env = [
        ("DATABRICKS_HOST", "https://x.com"),
        ("DATABRICKS_TOKEN", "dapi"),
        ("DATABRICKS_CLIENT_ID", "id"),
        ("DATABRICKS_CLIENT_SECRET", "secret"),
    ];
    let err = resolve(Config::builder(), &env, home.path()).expect_err("conflict");
    let message = err.to_string();
    assert!(matches!(err, ConfigError::ConflictingAuth { .. }));
    assert!(
        message.contains("more than one authorization method configured: `oauth` and `pat`"),
        "{message}"
    );
    assert!(message.contains("DATABRICKS_AUTH_TYPE"), "{message}");
    assert!(
        !message.contains("secret") || !message.contains("=secret"),
        "{message}"
    );

    let mut with_type = env.to_vec();
    with_type.push(("DATABRICKS_AUTH_TYPE", "oauth-m2m"));
    let config = resolve(Config::builder(), &with_type, home.path()).expect("auth type decides");
    assert_eq!(config.credentials.auth_type(), "oauth-m2m");
    let config = resolve(Config::builder().auth_type("pat"), &env, home.path()).expect("explicit auth type");
    assert_eq!(token(&config), "dapi");
}

#[test]
fn other_config_errors_say_what_to_fix() {
    let home = tempfile::tempdir().expect("tempdir");
    let err = resolve(Config::builder(), &[], home.path()).expect_err("nothing");
    assert!(matches!(err, ConfigError::MissingHost));
    assert!(err.to_string().contains("DATABRICKS_HOST"));

    let err = resolve(
        Config::builder().host("https://x.com").client_id("id"),
        &[],
        home.path(),
    )
    .expect_err("no secret");
    assert!(
        err.to_string().contains("`client_secret`") && err.to_string().contains("DATABRICKS_CLIENT_SECRET"),
        "{err}"
    );

    let err = resolve(
        Config::builder()
            .host("https://x.com")
            .token("t")
            .auth_type("azure-cli"),
        &[],
        home.path(),
    )
    .expect_err("unsupported");
    assert!(matches!(err, ConfigError::UnsupportedAuthType { .. }), "{err}");

    let err =
        resolve(Config::builder().host("ftp://x.com").token("t"), &[], home.path()).expect_err("bad host");
    assert!(matches!(err, ConfigError::InvalidHost { .. }), "{err}");

    let bad = home_with_cfg("[DEFAULT]\nhost = https://x.com\ntoken = t\ngarbage line\n");
    let err = resolve(Config::builder(), &[], bad.path()).expect_err("syntax");
    let message = err.to_string();
    assert!(message.contains(".databrickscfg:4`"), "{message}");
    assert!(message.contains("garbage line"), "{message}");

    let err = resolve(
        Config::builder().host("https://x.com").token("t"),
        &[("BRICKSHIP_LOCAL_RUN_SPEED", "fast")],
        home.path(),
    )
    .expect_err("bad speed");
    assert!(err.to_string().contains("BRICKSHIP_LOCAL_RUN_SPEED"), "{err}");
}

#[test]
fn host_normalisation_matrix() {
    let home = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "adb-123.4.azuredatabricks.net",
            "https://adb-123.4.azuredatabricks.net",
        ),
        (
            "https://x.cloud.databricks.com/",
            "https://x.cloud.databricks.com",
        ),
        (
            "https://x.cloud.databricks.com:443",
            "https://x.cloud.databricks.com",
        ),
        ("x.cloud.databricks.com:443/", "https://x.cloud.databricks.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:8080/", "http://localhost:8080"),
    ];
    for (raw, want) in cases {
        let config = resolve(Config::builder().host(raw).token("t"), &[], home.path()).expect(raw);
        assert_eq!(config.host, Host::Url(want.into()), "{raw}");
    }
}

#[test]
fn local_host_uses_a_dummy_token_and_run_speed_from_env() {
    let home = home_with_cfg(CFG);
    let config = resolve(
        Config::builder().host("local").local_state_dir("/tmp/x"),
        &[
            ("DATABRICKS_TOKEN", "dapi-real"),
            ("BRICKSHIP_LOCAL_RUN_SPEED", "1000"),
        ],
        home.path(),
    )
    .expect("resolves");
    assert_eq!(config.host, Host::Local);
    assert_ne!(
        token(&config),
        "dapi-real",
        "the real token is never sent to the local workspace"
    );
    assert_eq!(config.local.run_speed, 1000.0);
    let config = resolve(Config::builder().host("LOCAL"), &[], home.path()).expect("resolves");
    assert_eq!(config.host, Host::Local);
    assert_eq!(config.local.run_speed, 1.0);
}

#[test]
fn debug_of_config_redacts_secrets() {
    let home = tempfile::tempdir().expect("tempdir");
    let config = resolve(
        Config::builder()
            .host("https://x.com")
            .client_id("id")
            .client_secret("very-secret-value"),
        &[],
        home.path(),
    )
    .expect("resolves");
    let debug = format!("{config:?} {}", config.describe());
    assert!(!debug.contains("very-secret-value"), "{debug}");
    assert!(debug.contains("***"), "{debug}");
    let builder = Config::builder().token("dapi-secret-token");
    assert!(!format!("{builder:?}").contains("dapi-secret-token"));
}
