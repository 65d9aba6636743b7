//! Names of the environment variables the client reads, in one place.
//!
//! The `DATABRICKS_*` names are the ones every official Databricks SDK and the CLI read, so a
//! shell already set up for the `databricks` CLI works unchanged.

/// Workspace URL, e.g. `https://adb-123.4.azuredatabricks.net`, or `local`.
pub const DATABRICKS_HOST: &str = "DATABRICKS_HOST";
/// Personal access token (PAT auth).
pub const DATABRICKS_TOKEN: &str = "DATABRICKS_TOKEN";
/// Service principal application id (OAuth M2M auth).
pub const DATABRICKS_CLIENT_ID: &str = "DATABRICKS_CLIENT_ID";
/// Service principal OAuth secret (OAuth M2M auth).
pub const DATABRICKS_CLIENT_SECRET: &str = "DATABRICKS_CLIENT_SECRET";
/// Name of the `.databrickscfg` profile to load.
pub const DATABRICKS_CONFIG_PROFILE: &str = "DATABRICKS_CONFIG_PROFILE";
/// Path of the config file (default `~/.databrickscfg`).
pub const DATABRICKS_CONFIG_FILE: &str = "DATABRICKS_CONFIG_FILE";
/// Forces one auth method: `pat` or `oauth-m2m`.
pub const DATABRICKS_AUTH_TYPE: &str = "DATABRICKS_AUTH_TYPE";
/// Overrides OIDC discovery: the URL of an `oauth-authorization-server` document.
pub const DATABRICKS_DISCOVERY_URL: &str = "DATABRICKS_DISCOVERY_URL";
/// Basic-auth user name. Not supported by brickship; read only to report a clear error.
pub const DATABRICKS_USERNAME: &str = "DATABRICKS_USERNAME";
/// Basic-auth password. Not supported by brickship; read only to report a clear error.
pub const DATABRICKS_PASSWORD: &str = "DATABRICKS_PASSWORD";
/// How much faster than real time runs advance in the in-process local workspace (default 1.0).
pub const BRICKSHIP_LOCAL_RUN_SPEED: &str = "BRICKSHIP_LOCAL_RUN_SPEED";

/// Every variable [`crate::Config`] resolution reads, for diagnostics.
pub const ALL: &[&str] = &[
    DATABRICKS_HOST,
    DATABRICKS_TOKEN,
    DATABRICKS_CLIENT_ID,
    DATABRICKS_CLIENT_SECRET,
    DATABRICKS_CONFIG_PROFILE,
    DATABRICKS_CONFIG_FILE,
    DATABRICKS_AUTH_TYPE,
    DATABRICKS_DISCOVERY_URL,
    DATABRICKS_USERNAME,
    DATABRICKS_PASSWORD,
    BRICKSHIP_LOCAL_RUN_SPEED,
];
