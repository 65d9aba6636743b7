//! The neighbouring APIs a deploy tool and the official SDKs touch: cluster catalogs, secrets,
//! SCIM `Me`, host metadata, OIDC discovery, the OAuth token endpoint and CLI telemetry.
//!
//! # Concepts
//!
//! * **Catalogs are fixed.** `clusters/list-node-types` and `clusters/spark-versions` return a
//!   realistic catalog spanning AWS, Azure and GCP (a real workspace lists only its own cloud's
//!   node types), so validation of node types and runtime versions can be tested offline.
//! * **Secrets are persisted, values never returned.** Scopes and secrets can be created through
//!   the real write APIs and are kept in `secrets.json` beside the workspace objects; the read
//!   APIs list names and timestamps only, as a real workspace does outside a cluster. The state
//!   file holds the values base64-encoded, not encrypted: it is test data.
//! * **Bootstrap endpoints are unauthenticated.** `/.well-known/databricks-config` (which the
//!   Python SDK probes on every `Config()`), OIDC discovery and `/oidc/v1/token` (OAuth M2M with
//!   client credentials); see `control::auth` for how issued tokens are checked.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::api_error::{ApiError, ApiResult};
use crate::control::{json_body, query};
use crate::persist::Persisted;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/2.0/clusters/list-node-types", get(list_node_types))
        .route("/api/2.1/clusters/list-node-types", get(list_node_types))
        .route("/api/2.0/clusters/spark-versions", get(spark_versions))
        .route("/api/2.1/clusters/spark-versions", get(spark_versions))
        .route("/api/2.0/secrets/scopes/list", get(list_scopes))
        .route("/api/2.0/secrets/scopes/create", post(create_scope))
        .route("/api/2.0/secrets/scopes/delete", post(delete_scope))
        .route("/api/2.0/secrets/list", get(list_secrets))
        .route("/api/2.0/secrets/put", post(put_secret))
        .route("/api/2.0/secrets/delete", post(delete_secret))
        .route("/api/2.0/preview/scim/v2/Me", get(me))
        .route("/.well-known/databricks-config", get(host_metadata))
        .route(
            "/oidc/.well-known/oauth-authorization-server",
            get(oidc_discovery),
        )
        .route("/oidc/v1/token", post(token))
        .route("/telemetry-ext", post(telemetry))
}

// ---------------------------------------------------------------------------------------------
// Clusters catalogs.

/// `(node_type_id, memory_mb, cores, category, gpus, local_disks, local_disk_gb, family, deprecated, graviton)`.
type NodeRow = (
    &'static str,
    u32,
    u32,
    &'static str,
    u32,
    u32,
    u32,
    &'static str,
    bool,
    bool,
);

const GENERAL: &str = "General Purpose";
const MEMORY: &str = "Memory Optimized";
const COMPUTE: &str = "Compute Optimized";
const STORAGE: &str = "Storage Optimized";
const GPU: &str = "GPU Accelerated";

const NODE_TYPES: &[NodeRow] = &[
    // AWS
    (
        "m5d.large",
        8192,
        2,
        GENERAL,
        0,
        1,
        75,
        "EC2 m5d Family vCPUs",
        false,
        false,
    ),
    (
        "m5d.xlarge",
        16384,
        4,
        GENERAL,
        0,
        1,
        150,
        "EC2 m5d Family vCPUs",
        false,
        false,
    ),
    (
        "m5d.2xlarge",
        32768,
        8,
        GENERAL,
        0,
        1,
        300,
        "EC2 m5d Family vCPUs",
        false,
        false,
    ),
    (
        "m5d.4xlarge",
        65536,
        16,
        GENERAL,
        0,
        2,
        300,
        "EC2 m5d Family vCPUs",
        false,
        false,
    ),
    (
        "m6gd.xlarge",
        16384,
        4,
        GENERAL,
        0,
        1,
        237,
        "EC2 m6gd Family vCPUs",
        false,
        true,
    ),
    (
        "i3.xlarge",
        31232,
        4,
        STORAGE,
        0,
        1,
        950,
        "EC2 i3 Family vCPUs",
        false,
        false,
    ),
    (
        "i3.2xlarge",
        62464,
        8,
        STORAGE,
        0,
        1,
        1900,
        "EC2 i3 Family vCPUs",
        false,
        false,
    ),
    (
        "i3.4xlarge",
        124928,
        16,
        STORAGE,
        0,
        2,
        1900,
        "EC2 i3 Family vCPUs",
        false,
        false,
    ),
    (
        "i3.8xlarge",
        249856,
        32,
        STORAGE,
        0,
        4,
        1900,
        "EC2 i3 Family vCPUs",
        false,
        false,
    ),
    (
        "r5d.large",
        16384,
        2,
        MEMORY,
        0,
        1,
        75,
        "EC2 r5d Family vCPUs",
        false,
        false,
    ),
    (
        "r5d.xlarge",
        32768,
        4,
        MEMORY,
        0,
        1,
        150,
        "EC2 r5d Family vCPUs",
        false,
        false,
    ),
    (
        "r5d.2xlarge",
        65536,
        8,
        MEMORY,
        0,
        1,
        300,
        "EC2 r5d Family vCPUs",
        false,
        false,
    ),
    (
        "r5d.4xlarge",
        131072,
        16,
        MEMORY,
        0,
        2,
        300,
        "EC2 r5d Family vCPUs",
        false,
        false,
    ),
    (
        "c5d.xlarge",
        8192,
        4,
        COMPUTE,
        0,
        1,
        100,
        "EC2 c5d Family vCPUs",
        false,
        false,
    ),
    (
        "c5d.2xlarge",
        16384,
        8,
        COMPUTE,
        0,
        1,
        200,
        "EC2 c5d Family vCPUs",
        false,
        false,
    ),
    (
        "c5d.4xlarge",
        32768,
        16,
        COMPUTE,
        0,
        1,
        400,
        "EC2 c5d Family vCPUs",
        false,
        false,
    ),
    (
        "g4dn.xlarge",
        16384,
        4,
        GPU,
        1,
        1,
        125,
        "EC2 g4dn Family vCPUs",
        false,
        false,
    ),
    (
        "r3.xlarge",
        31232,
        4,
        MEMORY,
        0,
        1,
        80,
        "EC2 r3 Family vCPUs",
        true,
        false,
    ),
    // Azure
    (
        "Standard_DS3_v2",
        14336,
        4,
        GENERAL,
        0,
        1,
        28,
        "Standard DSv2 Family vCPUs",
        false,
        false,
    ),
    (
        "Standard_DS4_v2",
        28672,
        8,
        GENERAL,
        0,
        1,
        56,
        "Standard DSv2 Family vCPUs",
        false,
        false,
    ),
    (
        "Standard_DS5_v2",
        57344,
        16,
        GENERAL,
        0,
        1,
        112,
        "Standard DSv2 Family vCPUs",
        false,
        false,
    ),
    (
        "Standard_D4ds_v5",
        16384,
        4,
        GENERAL,
        0,
        1,
        150,
        "Standard DDSv5 Family vCPUs",
        false,
        false,
    ),
    (
        "Standard_D8ds_v5",
        32768,
        8,
        GENERAL,
        0,
        1,
        300,
        "Standard DDSv5 Family vCPUs",
        false,
        false,
    ),
    (
        "Standard_E8ds_v4",
        65536,
        8,
        MEMORY,
        0,
        1,
        300,
        "Standard EDSv4 Family vCPUs",
        false,
        false,
    ),
    (
        "Standard_E16ds_v4",
        131072,
        16,
        MEMORY,
        0,
        1,
        600,
        "Standard EDSv4 Family vCPUs",
        false,
        false,
    ),
    (
        "Standard_F8s_v2",
        16384,
        8,
        COMPUTE,
        0,
        1,
        64,
        "Standard FSv2 Family vCPUs",
        false,
        false,
    ),
    (
        "Standard_L8s_v3",
        65536,
        8,
        STORAGE,
        0,
        1,
        80,
        "Standard LSv3 Family vCPUs",
        false,
        false,
    ),
    (
        "Standard_NC6s_v3",
        114688,
        6,
        GPU,
        1,
        1,
        736,
        "Standard NCSv3 Family vCPUs",
        false,
        false,
    ),
    (
        "Standard_D3_v2",
        14336,
        4,
        GENERAL,
        0,
        1,
        200,
        "Standard Dv2 Family vCPUs",
        true,
        false,
    ),
    // GCP
    (
        "n1-standard-4",
        15360,
        4,
        GENERAL,
        0,
        1,
        375,
        "N1 Family vCPUs",
        false,
        false,
    ),
    (
        "n2-standard-4",
        16384,
        4,
        GENERAL,
        0,
        1,
        375,
        "N2 Family vCPUs",
        false,
        false,
    ),
    (
        "n2-standard-8",
        32768,
        8,
        GENERAL,
        0,
        1,
        375,
        "N2 Family vCPUs",
        false,
        false,
    ),
    (
        "n2-highmem-4",
        32768,
        4,
        MEMORY,
        0,
        1,
        375,
        "N2 Family vCPUs",
        false,
        false,
    ),
    (
        "n2-highmem-8",
        65536,
        8,
        MEMORY,
        0,
        1,
        375,
        "N2 Family vCPUs",
        false,
        false,
    ),
    (
        "n2-highmem-16",
        131072,
        16,
        MEMORY,
        0,
        2,
        375,
        "N2 Family vCPUs",
        false,
        false,
    ),
    (
        "c2-standard-8",
        32768,
        8,
        COMPUTE,
        0,
        1,
        375,
        "C2 Family vCPUs",
        false,
        false,
    ),
    (
        "a2-highgpu-1g",
        87040,
        12,
        GPU,
        1,
        1,
        375,
        "A2 Family vCPUs",
        false,
        false,
    ),
];

fn node_type(index: usize, row: &NodeRow) -> Value {
    let &(id, memory_mb, cores, category, gpus, local_disks, disk_gb, family, deprecated, graviton) = row;
    let aws = !id.starts_with("Standard_") && id.contains('.');
    // Instance-store NVMe: the AWS `d`/`i3` families and Azure's L series. Always sent (0 when
    // absent): the SDKs' node-type selectors sort on these fields and cannot compare a null.
    let nvme = (aws && !id.starts_with("r3.")) || id.starts_with("Standard_L");
    json!({
        "node_type_id": id,
        "memory_mb": memory_mb,
        "num_cores": f64::from(cores),
        "description": id,
        "instance_type_id": id,
        "is_deprecated": deprecated,
        "category": category,
        "support_ebs_volumes": aws,
        "support_cluster_tags": true,
        "num_gpus": gpus,
        "node_instance_type": {
            "instance_type_id": id,
            "local_disks": local_disks,
            "local_disk_size_gb": disk_gb,
            "local_nvme_disks": if nvme { local_disks } else { 0 },
            "local_nvme_disk_size_gb": if nvme { disk_gb } else { 0 },
            "instance_family": family,
        },
        "is_hidden": false,
        "support_port_forwarding": true,
        "supports_elastic_disk": true,
        "display_order": index,
        "is_io_cache_enabled": category == STORAGE,
        "node_info": { "available_core_quota": 350.0, "total_core_quota": 350.0 },
        "photon_worker_capable": gpus == 0,
        "photon_driver_capable": gpus == 0,
        "is_graviton": graviton,
    })
}

async fn list_node_types() -> Json<Value> {
    let node_types: Vec<Value> = NODE_TYPES
        .iter()
        .enumerate()
        .map(|(i, row)| node_type(i, row))
        .collect();
    Json(json!({ "node_types": node_types }))
}

/// `(version, spark, scala, lts)`; each yields the standard, Photon and ML runtimes.
const RUNTIMES: &[(&str, &str, &str, bool)] = &[
    ("17.3", "4.0.0", "2.13", true),
    ("17.2", "4.0.0", "2.13", false),
    ("17.1", "4.0.0", "2.13", false),
    ("17.0", "4.0.0", "2.13", false),
    ("16.4", "3.5.2", "2.13", true),
    ("16.4", "3.5.2", "2.12", true),
    ("15.4", "3.5.0", "2.12", true),
    ("14.3", "3.5.0", "2.12", true),
    ("13.3", "3.4.1", "2.12", true),
    ("12.2", "3.3.2", "2.12", true),
];

fn spark_version_list() -> Vec<Value> {
    let mut versions = Vec::new();
    for &(version, spark, scala, lts) in RUNTIMES {
        let lts = if lts { " LTS" } else { "" };
        let key = |flavour: &str| format!("{version}.x-{flavour}scala{scala}");
        versions.push(json!({
            "key": key(""),
            "name": format!("{version}{lts} (includes Apache Spark {spark}, Scala {scala})"),
        }));
        versions.push(json!({
            "key": key("photon-"),
            "name": format!("{version}{lts} Photon (includes Apache Spark {spark}, Scala {scala})"),
        }));
        versions.push(json!({
            "key": key("cpu-ml-"),
            "name": format!("{version}{lts} ML (includes Apache Spark {spark}, Scala {scala})"),
        }));
        versions.push(json!({
            "key": key("gpu-ml-"),
            "name": format!("{version}{lts} ML (includes Apache Spark {spark}, GPU, Scala {scala})"),
        }));
    }
    versions
}

async fn spark_versions() -> Json<Value> {
    Json(json!({ "versions": spark_version_list() }))
}

// ---------------------------------------------------------------------------------------------
// Secrets.

/// The largest secret value a real workspace accepts.
const MAX_SECRET_BYTES: usize = 128 * 1024;

/// Secret scopes and their secrets, persisted as `secrets.json`.
#[derive(Debug)]
pub struct Secrets {
    store: Persisted<SecretsDoc>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SecretsDoc {
    scopes: BTreeMap<String, Scope>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Scope {
    backend_type: String,
    #[serde(default)]
    secrets: BTreeMap<String, StoredSecret>,
}

#[derive(Clone, Serialize, Deserialize)]
struct StoredSecret {
    /// The value, base64.
    value: String,
    last_updated_timestamp: i64,
}

impl fmt::Debug for StoredSecret {
    /// Never prints the value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredSecret")
            .field("value", &"<redacted>")
            .field("last_updated_timestamp", &self.last_updated_timestamp)
            .finish()
    }
}

impl Secrets {
    pub fn load(dir: Option<&Path>) -> std::io::Result<Self> {
        Ok(Self {
            store: Persisted::open(dir, "secrets")?,
        })
    }

    fn mutate<R>(&self, change: impl FnOnce(&mut SecretsDoc) -> ApiResult<R>) -> ApiResult<R> {
        self.store
            .update_in_place(change)
            .map_err(|err| ApiError::internal(format!("Cannot persist secrets: {err}")))?
    }
}

fn scope_missing(scope: &str) -> ApiError {
    ApiError::not_found(format!("Scope {scope} does not exist"))
}

/// Scope and key names: letters, digits, `-`, `_`, `.` and `@`, at most 128 characters.
fn check_name(kind: &str, name: &str) -> ApiResult<()> {
    let valid = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "{kind} name `{name}` is invalid: use 1 to 128 letters, digits, dashes, underscores, periods or @."
        )))
    }
}

#[derive(Debug, Deserialize)]
struct ScopeBody {
    #[serde(default)]
    scope: String,
    #[serde(default)]
    scope_backend_type: Option<String>,
}

async fn create_scope(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let request: ScopeBody = json_body(&body)?;
    check_name("Scope", &request.scope)?;
    let backend_type = request
        .scope_backend_type
        .unwrap_or_else(|| "DATABRICKS".to_owned());
    if backend_type != "DATABRICKS" && backend_type != "AZURE_KEYVAULT" {
        return Err(ApiError::invalid(format!(
            "Scope backend type `{backend_type}` is invalid: use DATABRICKS or AZURE_KEYVAULT."
        )));
    }
    state.objects.secrets.mutate(|doc| {
        if doc.scopes.contains_key(&request.scope) {
            return Err(ApiError::already_exists(format!(
                "Scope {} already exists!",
                request.scope
            )));
        }
        doc.scopes.insert(
            request.scope.clone(),
            Scope {
                backend_type,
                secrets: BTreeMap::new(),
            },
        );
        Ok(())
    })?;
    Ok(Json(json!({})))
}

async fn delete_scope(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let request: ScopeBody = json_body(&body)?;
    state
        .objects
        .secrets
        .mutate(|doc| match doc.scopes.remove(&request.scope) {
            Some(_) => Ok(()),
            None => Err(scope_missing(&request.scope)),
        })?;
    Ok(Json(json!({})))
}

async fn list_scopes(State(state): State<AppState>) -> Json<Value> {
    let doc = state.objects.secrets.store.read();
    let scopes: Vec<Value> = doc
        .scopes
        .iter()
        .map(|(name, scope)| json!({ "name": name, "backend_type": scope.backend_type }))
        .collect();
    Json(if scopes.is_empty() {
        json!({})
    } else {
        json!({ "scopes": scopes })
    })
}

#[derive(Debug, Deserialize)]
struct ScopeQuery {
    #[serde(default)]
    scope: String,
}

async fn list_secrets(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Json<Value>> {
    let q: ScopeQuery = query(raw.as_deref())?;
    let doc = state.objects.secrets.store.read();
    let scope = doc.scopes.get(&q.scope).ok_or_else(|| scope_missing(&q.scope))?;
    let secrets: Vec<Value> = scope
        .secrets
        .iter()
        .map(|(key, secret)| json!({ "key": key, "last_updated_timestamp": secret.last_updated_timestamp }))
        .collect();
    Ok(Json(if secrets.is_empty() {
        json!({})
    } else {
        json!({ "secrets": secrets })
    }))
}

#[derive(Deserialize)]
struct PutSecretBody {
    #[serde(default)]
    scope: String,
    #[serde(default)]
    key: String,
    string_value: Option<String>,
    bytes_value: Option<String>,
}

async fn put_secret(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let request: PutSecretBody = json_body(&body)?;
    check_name("Secret key", &request.key)?;
    let value = match (request.string_value, request.bytes_value) {
        (Some(text), None) => text.into_bytes(),
        (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|err| ApiError::invalid(format!("`bytes_value` is not valid base64: {err}")))?,
        _ => {
            return Err(ApiError::invalid(
                "Exactly one of `string_value` and `bytes_value` must be set.",
            ));
        }
    };
    if value.len() > MAX_SECRET_BYTES {
        return Err(ApiError::invalid(format!(
            "The secret value is {} bytes; the limit is {MAX_SECRET_BYTES} bytes.",
            value.len()
        )));
    }
    let now = state.clock.now_ms();
    state.objects.secrets.mutate(|doc| {
        let scope = doc
            .scopes
            .get_mut(&request.scope)
            .ok_or_else(|| scope_missing(&request.scope))?;
        let value = base64::engine::general_purpose::STANDARD.encode(&value);
        scope.secrets.insert(
            request.key.clone(),
            StoredSecret {
                value,
                last_updated_timestamp: now,
            },
        );
        Ok(())
    })?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
struct DeleteSecretBody {
    #[serde(default)]
    scope: String,
    #[serde(default)]
    key: String,
}

async fn delete_secret(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let request: DeleteSecretBody = json_body(&body)?;
    state.objects.secrets.mutate(|doc| {
        let scope = doc
            .scopes
            .get_mut(&request.scope)
            .ok_or_else(|| scope_missing(&request.scope))?;
        match scope.secrets.remove(&request.key) {
            Some(_) => Ok(()),
            None => Err(ApiError::not_found(format!(
                "Secret {} does not exist in scope {}",
                request.key, request.scope
            ))),
        }
    })?;
    Ok(Json(json!({})))
}

// ---------------------------------------------------------------------------------------------
// Identity and bootstrap.

/// A stable numeric id derived from a name (FNV-1a), shaped like a SCIM id.
fn stable_id(name: &str) -> u64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    1_000_000_000_000_000 + hash % 8_000_000_000_000_000
}

async fn me(State(state): State<AppState>) -> Response {
    let user = &state.config.user_name;
    let display = user.split('@').next().unwrap_or(user);
    let admins = stable_id("admins").to_string();
    let body = json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:workspace:2.0:User",
        ],
        "id": stable_id(user).to_string(),
        "userName": user,
        "displayName": display,
        "active": true,
        "name": { "givenName": display },
        "emails": [{ "type": "work", "value": user, "primary": true }],
        "groups": [{ "display": "admins", "type": "direct", "value": admins, "$ref": format!("Groups/{admins}") }],
        "entitlements": [
            { "value": "allow-cluster-create" },
            { "value": "databricks-sql-access" },
            { "value": "workspace-access" },
        ],
    });
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&state.config.workspace_id.to_string()) {
        response.headers_mut().insert("x-databricks-org-id", value);
    }
    response
}

async fn host_metadata(State(state): State<AppState>) -> Json<Value> {
    // The Python SDK reads `workspace_id` as a string and derives its OIDC discovery URL from
    // `oidc_endpoint`.
    Json(json!({
        "oidc_endpoint": format!("{}/oidc", state.base_url),
        "workspace_id": state.config.workspace_id.to_string(),
    }))
}

async fn oidc_discovery(State(state): State<AppState>) -> Json<Value> {
    let oidc = format!("{}/oidc", state.base_url);
    Json(json!({
        "issuer": oidc,
        "authorization_endpoint": format!("{oidc}/v1/authorize"),
        "token_endpoint": format!("{oidc}/v1/token"),
        "jwks_uri": format!("{oidc}/jwks.json"),
        "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
        "response_types_supported": ["code"],
        "scopes_supported": ["all-apis", "offline_access", "sql"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

/// `POST /oidc/v1/token`: OAuth client credentials (HTTP Basic or form fields).
async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = match serde_urlencoded::from_bytes(&body) {
        Ok(form) => form,
        Err(err) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("The form body is invalid: {err}"),
            );
        }
    };
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match state.control.auth.issue(authorization, &form) {
        Ok(issued) => Json(json!({
            "access_token": issued.access_token.0,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "scope": issued.scope,
        }))
        .into_response(),
        Err(err) => oauth_error(
            StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST),
            err.error,
            &err.description,
        ),
    }
}

/// An OAuth error: `{"error", "error_description"}` with a JSON `Content-Type` (the Python SDK
/// reads that header unguarded).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

async fn telemetry(body: Bytes) -> Json<Value> {
    let logs = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("protoLogs").and_then(Value::as_array).map(Vec::len))
        .unwrap_or(0);
    Json(json!({ "errors": [], "numProtoSuccess": logs }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogs_have_the_real_shapes() {
        let i3 = NODE_TYPES.iter().position(|r| r.0 == "i3.xlarge").unwrap();
        let node = node_type(i3, &NODE_TYPES[i3]);
        assert_eq!(node["memory_mb"], 31232);
        assert_eq!(node["num_cores"], 4.0);
        assert_eq!(node["node_instance_type"]["local_disk_size_gb"], 950);
        let ids: Vec<&str> = NODE_TYPES.iter().map(|r| r.0).collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "node type ids are unique");

        let versions = spark_version_list();
        let find = |key: &str| {
            versions
                .iter()
                .find(|v| v["key"] == key)
                .map(|v| v["name"].clone())
        };
        assert_eq!(
            find("13.3.x-scala2.12"),
            Some(json!("13.3 LTS (includes Apache Spark 3.4.1, Scala 2.12)"))
        );
        assert_eq!(
            find("15.4.x-photon-scala2.12"),
            Some(json!("15.4 LTS Photon (includes Apache Spark 3.5.0, Scala 2.12)"))
        );
        assert!(find("17.3.x-scala2.13").is_some());
    }

    #[test]
    fn names_and_ids() {
        assert!(check_name("Scope", "team-a_1.x@y").is_ok());
        assert!(check_name("Scope", "bad name").is_err());
        assert!(check_name("Scope", "").is_err());
        assert_eq!(stable_id("a"), stable_id("a"));
        assert_ne!(stable_id("a"), stable_id("b"));
        let secret = StoredSecret {
            value: "c2VjcmV0".to_owned(),
            last_updated_timestamp: 1,
        };
        assert!(!format!("{secret:?}").contains("c2VjcmV0"));
    }
}
