//! Workspace objects and files: the Workspace API (`/api/2.0/workspace/*`) and the workspace
//! files API (`/api/2.0/workspace-files/*`), persisted.
//!
//! # Concepts
//!
//! * **One tree.** Folders (`DIRECTORY`), notebooks (`NOTEBOOK`, with a language) and files
//!   (`FILE`) live in one tree rooted at `/`, with `/Users`, `/Users/<user>` and `/Shared`
//!   always present.
//! * **Two spellings of a path.** `/Workspace/Shared/x` and `/Shared/x` name the same object, as
//!   on a real workspace. Responses use the canonical form without the `/Workspace` prefix, as
//!   the Workspace API does; error messages echo the spelling the client used.
//! * **Notebooks drop their extension.** Importing `etl.py` with format `AUTO` (or through
//!   `import-file`) whose content starts with `# Databricks notebook source` creates the
//!   notebook `etl`; anything else is a file kept under its own name.
//! * **Create-if-absent is atomic.** An import with `overwrite=false` checks and creates under
//!   one lock, so of N concurrent imports of the same path exactly one succeeds; the others get
//!   `RESOURCE_ALREADY_EXISTS`. brickship's deploy lock relies on this.
//! * **Persistence.** The tree (content included, base64) is one JSON document written
//!   atomically on every change (see [`crate::persist`]). Secrets (see `catalog`) are kept beside it.
//!
//! Simplifications: folders cannot be exported (a real workspace returns a DBC archive);
//! notebooks export only in `SOURCE`/`AUTO` or in the format they were imported in; `HTML`,
//! `DBC` and `R_MARKDOWN` imports are stored as notebooks without conversion.

use std::collections::BTreeMap;
use std::path::Path as FsPath;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api_error::{ApiError, ApiResult};
use crate::catalog::Secrets;
use crate::control::{MAX_BODY_BYTES, json_body, lenient_bool, query};
use crate::persist::Persisted;
use crate::{AppState, Config};

/// Object ids start here so they look like a real workspace's (large, stable numbers).
const FIRST_OBJECT_ID: i64 = 1_000_000_000_000;

/// Workspace objects and secrets.
#[derive(Debug)]
pub struct ObjectsState {
    tree: Persisted<Tree>,
    pub(crate) secrets: Secrets,
}

impl ObjectsState {
    /// Loads `workspace-objects.json` and `secrets.json` from `dir` (or starts empty), making
    /// sure the root folders exist.
    pub fn load(dir: Option<&FsPath>, config: &Config) -> std::io::Result<Self> {
        let tree: Persisted<Tree> = Persisted::open(dir, "workspace-objects")?;
        let roots = [
            "/".to_owned(),
            "/Users".to_owned(),
            format!("/Users/{}", config.user_name),
            "/Shared".to_owned(),
        ];
        let missing = roots.iter().any(|root| !tree.read().nodes.contains_key(root));
        if missing {
            let now = crate::control::now_ms();
            tree.update_in_place(|tree| {
                for root in &roots {
                    if !tree.nodes.contains_key(root) {
                        let node = Node::directory(tree.new_id(), now);
                        tree.nodes.insert(root.clone(), node);
                    }
                }
            })?;
        }
        Ok(Self {
            tree,
            secrets: Secrets::load(dir)?,
        })
    }

    /// Applies a change under the tree's write lock and persists it. The change must validate
    /// before it mutates, so a refused request leaves no trace.
    fn mutate<R>(&self, change: impl FnOnce(&mut Tree) -> ApiResult<R>) -> ApiResult<R> {
        self.tree
            .update_in_place(change)
            .map_err(|err| ApiError::internal(format!("Cannot persist workspace objects: {err}")))?
    }
}

// ---------------------------------------------------------------------------------------------
// The tree.

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Tree {
    next_id: i64,
    /// Canonical path (no `/Workspace` prefix, no trailing `/`) -> object.
    nodes: BTreeMap<String, Node>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Node {
    object_type: ObjectType,
    object_id: i64,
    created_at: i64,
    modified_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    language: Option<Language>,
    /// For notebooks: the format they were imported in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    format: Option<Format>,
    #[serde(default, with = "base64_bytes", skip_serializing_if = "Vec::is_empty")]
    content: Vec<u8>,
}

impl Node {
    fn directory(object_id: i64, now: i64) -> Self {
        Self {
            object_type: ObjectType::Directory,
            object_id,
            created_at: now,
            modified_at: now,
            language: None,
            format: None,
            content: Vec::new(),
        }
    }

    fn info(&self, path: &str) -> Value {
        let mut info = json!({
            "object_type": self.object_type,
            "path": path,
            "object_id": self.object_id,
            "resource_id": self.object_id.to_string(),
            "created_at": self.created_at,
            "modified_at": self.modified_at,
        });
        if let Some(language) = self.language {
            info["language"] = json!(language);
        }
        if self.object_type == ObjectType::File {
            info["size"] = json!(self.content.len());
        }
        info
    }
}

impl Tree {
    fn new_id(&mut self) -> i64 {
        self.next_id = self.next_id.max(FIRST_OBJECT_ID) + 1;
        self.next_id
    }

    /// Direct children of the folder `dir`, in path order.
    fn children<'a>(&'a self, dir: &str) -> impl Iterator<Item = (&'a String, &'a Node)> + 'a {
        let prefix = if dir == "/" {
            "/".to_owned()
        } else {
            format!("{dir}/")
        };
        let skip = prefix.len();
        self.nodes
            .range(prefix.clone()..)
            .take_while(move |(path, _)| path.starts_with(&prefix))
            .filter(move |(path, _)| {
                let rest = &path[skip..];
                !rest.is_empty() && !rest.contains('/')
            })
    }

    /// The folder that must exist to create `path`.
    fn check_parent(&self, path: &WsPath) -> ApiResult<()> {
        let Some(parent) = parent_of(&path.canonical) else {
            return Err(ApiError::invalid("The root folder cannot be replaced."));
        };
        match self.nodes.get(parent) {
            Some(node) if node.object_type == ObjectType::Directory => Ok(()),
            Some(_) => Err(ApiError::invalid(format!(
                "The parent ({}) is not a folder.",
                path.display(parent)
            ))),
            None => Err(ApiError::not_found(format!(
                "The parent folder ({}) does not exist.",
                path.display(parent)
            ))),
        }
    }

    /// Creates or (with `overwrite`) replaces a notebook or file at `path`. `conflict` builds
    /// the error for an existing object when `overwrite` is false.
    fn put(
        &mut self,
        path: &WsPath,
        mut node: Node,
        overwrite: bool,
        conflict: impl FnOnce(&Node) -> ApiError,
    ) -> ApiResult<()> {
        self.check_parent(path)?;
        if let Some(existing) = self.nodes.get(&path.canonical) {
            if existing.object_type == ObjectType::Directory {
                return Err(ApiError::already_exists(format!(
                    "Path ({}) already exists.",
                    path.shown()
                )));
            }
            if !overwrite {
                return Err(conflict(existing));
            }
            if existing.object_type == node.object_type {
                node.object_id = existing.object_id;
                node.created_at = existing.created_at;
            }
        }
        if node.object_id == 0 {
            node.object_id = self.new_id();
        }
        self.nodes.insert(path.canonical.clone(), node);
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum ObjectType {
    Notebook,
    Directory,
    File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Language {
    #[serde(rename = "PYTHON")]
    Python,
    #[serde(rename = "SQL")]
    Sql,
    #[serde(rename = "SCALA")]
    Scala,
    #[serde(rename = "R")]
    R,
}

impl Language {
    fn from_extension(ext: &str) -> Option<Self> {
        Some(match ext {
            "py" => Self::Python,
            "sql" => Self::Sql,
            "scala" => Self::Scala,
            "r" | "R" => Self::R,
            _ => return None,
        })
    }

    /// The first line of a notebook exported as source.
    fn header(self) -> &'static str {
        match self {
            Self::Python | Self::R => "# Databricks notebook source",
            Self::Sql => "-- Databricks notebook source",
            Self::Scala => "// Databricks notebook source",
        }
    }

    fn file_type(self) -> &'static str {
        match self {
            Self::Python => "py",
            Self::Sql => "sql",
            Self::Scala => "scala",
            Self::R => "r",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Format {
    Source,
    Html,
    Jupyter,
    Dbc,
    RMarkdown,
    Auto,
    Raw,
}

impl Format {
    fn parse(text: &str) -> ApiResult<Self> {
        serde_json::from_value(json!(text)).map_err(|_| {
            ApiError::invalid(format!(
                "Invalid format `{text}`: use one of SOURCE, HTML, JUPYTER, DBC, R_MARKDOWN, AUTO, RAW."
            ))
        })
    }
}

fn parse_language(text: &str) -> ApiResult<Language> {
    serde_json::from_value(json!(text)).map_err(|_| {
        ApiError::invalid(format!(
            "Invalid language `{text}`: use one of PYTHON, SQL, SCALA, R."
        ))
    })
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// Paths.

/// A client-supplied workspace path: its canonical form and how the client spelled it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct WsPath {
    canonical: String,
    /// The client used the `/Workspace/...` spelling.
    prefixed: bool,
}

impl WsPath {
    fn parse(raw: &str) -> ApiResult<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(ApiError::invalid(
                "Path is required: send an absolute workspace path such as `/Shared/x`.",
            ));
        }
        if !raw.starts_with('/') {
            return Err(ApiError::invalid(format!(
                "Path ({raw}) is not absolute: workspace paths start with `/`."
            )));
        }
        let mut segments: Vec<&str> = raw.split('/').filter(|s| !s.is_empty()).collect();
        if segments.iter().any(|s| *s == "." || *s == "..") {
            return Err(ApiError::invalid(format!(
                "Path ({raw}) must not contain `.` or `..` segments."
            )));
        }
        let prefixed = segments.first() == Some(&"Workspace");
        if prefixed {
            segments.remove(0);
        }
        Ok(Self {
            canonical: format!("/{}", segments.join("/")),
            prefixed,
        })
    }

    /// A canonical path spelled the way this client spells paths.
    fn display(&self, canonical: &str) -> String {
        match (self.prefixed, canonical) {
            (true, "/") => "/Workspace".to_owned(),
            (true, _) => format!("/Workspace{canonical}"),
            (false, _) => canonical.to_owned(),
        }
    }

    fn shown(&self) -> String {
        self.display(&self.canonical)
    }

    fn name(&self) -> &str {
        self.canonical.rsplit('/').next().unwrap_or("")
    }

    fn extension(&self) -> Option<&str> {
        let name = self.name();
        let (stem, ext) = name.rsplit_once('.')?;
        (!stem.is_empty()).then_some(ext)
    }

    fn without_extension(&self) -> Self {
        match self.extension() {
            Some(ext) => {
                let len = self.canonical.len() - ext.len() - 1;
                Self {
                    canonical: self.canonical[..len].to_owned(),
                    prefixed: self.prefixed,
                }
            }
            None => self.clone(),
        }
    }

    fn not_found(&self) -> ApiError {
        ApiError::not_found(format!("Path ({}) doesn't exist.", self.shown()))
    }
}

fn parent_of(canonical: &str) -> Option<&str> {
    if canonical == "/" {
        return None;
    }
    match canonical.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&canonical[..i]),
        None => None,
    }
}

/// Whether `content` starts with the notebook header for `language`.
fn has_header(content: &[u8], language: Language) -> bool {
    let content = content.strip_prefix(b"\xef\xbb\xbf").unwrap_or(content);
    content.starts_with(language.header().as_bytes())
}

/// What an import of `content` at `path` creates: the final path and a node template.
/// `format` is `None` for the workspace-files API (which detects like `AUTO`).
fn classify(
    path: &WsPath,
    format: Format,
    language: Option<Language>,
    content: Vec<u8>,
    now: i64,
) -> ApiResult<(WsPath, Node)> {
    let node = |object_type, language, format, content| Node {
        object_type,
        object_id: 0,
        created_at: now,
        modified_at: now,
        language,
        format,
        content,
    };
    let ext = path.extension();
    Ok(match format {
        Format::Source => {
            let Some(language) = language else {
                return Err(ApiError::invalid(
                    "The language is required when the format is SOURCE: send `language` (PYTHON, SQL, SCALA or R) or use format AUTO.",
                ));
            };
            (
                path.clone(),
                node(
                    ObjectType::Notebook,
                    Some(language),
                    Some(Format::Source),
                    content,
                ),
            )
        }
        Format::Auto => {
            let notebook_language = ext
                .and_then(Language::from_extension)
                .filter(|l| has_header(&content, *l));
            if let Some(language) = notebook_language {
                (
                    path.without_extension(),
                    node(
                        ObjectType::Notebook,
                        Some(language),
                        Some(Format::Source),
                        content,
                    ),
                )
            } else if ext == Some("ipynb") {
                let language = language.unwrap_or(Language::Python);
                (
                    path.without_extension(),
                    node(
                        ObjectType::Notebook,
                        Some(language),
                        Some(Format::Jupyter),
                        content,
                    ),
                )
            } else {
                (path.clone(), node(ObjectType::File, None, None, content))
            }
        }
        Format::Raw => (path.clone(), node(ObjectType::File, None, None, content)),
        other => {
            let known_ext = matches!(
                (other, ext),
                (Format::Jupyter, Some("ipynb"))
                    | (Format::Html, Some("html"))
                    | (Format::Dbc, Some("dbc"))
                    | (Format::RMarkdown, Some("Rmd"))
            );
            let path = if known_ext {
                path.without_extension()
            } else {
                path.clone()
            };
            (
                path,
                node(
                    ObjectType::Notebook,
                    Some(language.unwrap_or(Language::Python)),
                    Some(other),
                    content,
                ),
            )
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Handlers.

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/2.0/workspace/get-status", get(get_status))
        .route("/api/2.0/workspace/list", get(list))
        .route("/api/2.0/workspace/mkdirs", post(mkdirs))
        .route("/api/2.0/workspace/delete", post(delete))
        .route("/api/2.0/workspace/import", post(import))
        .route("/api/2.0/workspace/export", get(export))
        .route("/api/2.0/workspace-files/import-file/{*path}", post(import_file))
        .route("/api/2.0/workspace-files/{*path}", get(read_file))
}

#[derive(Debug, Deserialize)]
struct PathQuery {
    #[serde(default)]
    path: String,
}

async fn get_status(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Json<Value>> {
    let q: PathQuery = query(raw.as_deref())?;
    let path = WsPath::parse(&q.path)?;
    let tree = state.objects.tree.read();
    let node = tree.nodes.get(&path.canonical).ok_or_else(|| path.not_found())?;
    Ok(Json(node.info(&path.canonical)))
}

async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Json<Value>> {
    let q: PathQuery = query(raw.as_deref())?;
    let path = WsPath::parse(&q.path)?;
    let tree = state.objects.tree.read();
    let node = tree.nodes.get(&path.canonical).ok_or_else(|| path.not_found())?;
    let objects: Vec<Value> = if node.object_type == ObjectType::Directory {
        tree.children(&path.canonical)
            .map(|(child, node)| node.info(child))
            .collect()
    } else {
        vec![node.info(&path.canonical)]
    };
    // Like the real API, an empty folder lists as `{}`.
    Ok(Json(if objects.is_empty() {
        json!({})
    } else {
        json!({ "objects": objects })
    }))
}

#[derive(Debug, Deserialize)]
struct PathBody {
    #[serde(default)]
    path: String,
    #[serde(default, deserialize_with = "lenient_bool")]
    recursive: bool,
}

async fn mkdirs(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let request: PathBody = json_body(&body)?;
    let path = WsPath::parse(&request.path)?;
    let now = state.clock.now_ms();
    state.objects.mutate(|tree| {
        let mut prefixes = Vec::new();
        let mut current = path.canonical.as_str();
        while let Some(parent) = parent_of(current) {
            prefixes.push(current.to_owned());
            current = parent;
        }
        prefixes.reverse();
        // Validate the whole chain before creating anything.
        for prefix in &prefixes {
            if let Some(node) = tree.nodes.get(prefix)
                && node.object_type != ObjectType::Directory
            {
                let name = prefix.rsplit('/').next().unwrap_or_default();
                return Err(ApiError::already_exists(format!(
                    "Node named '{name}' already exists: ({}) is a {} and cannot be a folder.",
                    path.display(prefix),
                    if node.object_type == ObjectType::Notebook {
                        "notebook"
                    } else {
                        "file"
                    },
                )));
            }
        }
        for prefix in prefixes {
            if !tree.nodes.contains_key(&prefix) {
                let node = Node::directory(tree.new_id(), now);
                tree.nodes.insert(prefix, node);
            }
        }
        Ok(())
    })?;
    Ok(Json(json!({})))
}

async fn delete(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    let request: PathBody = json_body(&body)?;
    let path = WsPath::parse(&request.path)?;
    let user_home = format!("/Users/{}", state.config.user_name);
    let protected = ["/", "/Users", "/Shared", user_home.as_str()];
    if protected.contains(&path.canonical.as_str()) {
        return Err(ApiError::permission_denied(format!(
            "Cannot delete the system folder ({}).",
            path.shown()
        )));
    }
    state.objects.mutate(|tree| {
        let node = tree.nodes.get(&path.canonical).ok_or_else(|| path.not_found())?;
        if node.object_type == ObjectType::Directory {
            let has_children = tree.children(&path.canonical).next().is_some();
            if has_children && !request.recursive {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "DIRECTORY_NOT_EMPTY",
                    format!(
                        "Folder ({}) is not empty: delete it with `recursive: true`.",
                        path.shown()
                    ),
                ));
            }
            let prefix = format!("{}/", path.canonical);
            tree.nodes.retain(|key, _| !key.starts_with(&prefix));
        }
        tree.nodes.remove(&path.canonical);
        Ok(())
    })?;
    Ok(Json(json!({})))
}

/// `workspace/import` as JSON (`content` base64) or multipart form data (`content` raw), the
/// form the Python SDK's `workspace.upload` sends.
#[derive(Debug, Default, Deserialize)]
struct ImportBody {
    #[serde(default)]
    path: String,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    overwrite: bool,
}

async fn import(State(state): State<AppState>, request: Request) -> ApiResult<Json<Value>> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let (body, content) = if is_multipart {
        read_multipart(request).await?
    } else {
        let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|err| ApiError::malformed(format!("Cannot read the request body: {err}")))?;
        let body: ImportBody = json_body(&bytes)?;
        let content = match &body.content {
            Some(text) => decode_base64(text)?,
            None => Vec::new(),
        };
        (body, content)
    };
    let path = WsPath::parse(&body.path)?;
    let format = match body.format.as_deref() {
        None | Some("") => Format::Source,
        Some(text) => Format::parse(text)?,
    };
    let language = match body.language.as_deref() {
        None | Some("") => None,
        Some(text) => Some(parse_language(text)?),
    };
    let now = state.clock.now_ms();
    let (target, node) = classify(&path, format, language, content, now)?;
    state.objects.mutate(|tree| {
        tree.put(&target, node, body.overwrite, |_| {
            ApiError::already_exists(format!("Path ({}) already exists.", target.shown()))
        })
    })?;
    Ok(Json(json!({})))
}

async fn read_multipart(request: Request) -> ApiResult<(ImportBody, Vec<u8>)> {
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|err| ApiError::malformed(format!("Cannot read the multipart body: {err}")))?;
    let mut body = ImportBody::default();
    let mut content = Vec::new();
    let bad = |err: axum::extract::multipart::MultipartError| {
        ApiError::malformed(format!("Cannot read the multipart body: {err}"))
    };
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "content" {
            content = field.bytes().await.map_err(bad)?.to_vec();
            continue;
        }
        let text = field.text().await.map_err(bad)?;
        match name.as_str() {
            "path" => body.path = text,
            "format" => body.format = Some(text),
            "language" => body.language = Some(text),
            "overwrite" => body.overwrite = text.eq_ignore_ascii_case("true"),
            _ => {}
        }
    }
    Ok((body, content))
}

fn decode_base64(text: &str) -> ApiResult<Vec<u8>> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    engine
        .decode(&compact)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(compact.trim_end_matches('=')))
        .map_err(|err| ApiError::invalid(format!("The content is not valid base64: {err}")))
}

#[derive(Debug, Deserialize)]
struct ExportQuery {
    #[serde(default)]
    path: String,
    #[serde(default)]
    format: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    direct_download: bool,
}

async fn export(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let q: ExportQuery = query(raw.as_deref())?;
    let path = WsPath::parse(&q.path)?;
    let format = match q.format.as_deref() {
        None | Some("") => Format::Source,
        Some(text) => Format::parse(text)?,
    };
    let (content, file_type) = {
        let tree = state.objects.tree.read();
        let node = tree.nodes.get(&path.canonical).ok_or_else(|| path.not_found())?;
        exported(&path, node, format)?
    };
    if q.direct_download {
        return Ok(([(header::CONTENT_TYPE, "application/octet-stream")], content).into_response());
    }
    let mut body = json!({ "content": base64::engine::general_purpose::STANDARD.encode(&content) });
    if let Some(file_type) = file_type {
        body["file_type"] = json!(file_type);
    }
    Ok(Json(body).into_response())
}

/// The bytes and `file_type` of `node` exported in `format`.
fn exported(path: &WsPath, node: &Node, format: Format) -> ApiResult<(Vec<u8>, Option<String>)> {
    match node.object_type {
        ObjectType::Directory => Err(ApiError::invalid(format!(
            "Path ({}) is a folder: the local workspace exports only notebooks and files.",
            path.shown()
        ))),
        ObjectType::File => Ok((node.content.clone(), path.extension().map(str::to_owned))),
        ObjectType::Notebook => {
            let language = node.language.unwrap_or(Language::Python);
            let stored = node.format.unwrap_or(Format::Source);
            match (format, stored) {
                (Format::Source | Format::Auto, Format::Source) => {
                    let mut content = node.content.clone();
                    if !has_header(&content, language) {
                        let mut with_header = format!("{}\n", language.header()).into_bytes();
                        with_header.append(&mut content);
                        content = with_header;
                    }
                    Ok((content, Some(language.file_type().to_owned())))
                }
                (requested, stored) if requested == stored || requested == Format::Auto => {
                    let file_type = match stored {
                        Format::Jupyter => "ipynb",
                        Format::Html => "html",
                        Format::Dbc => "dbc",
                        Format::RMarkdown => "Rmd",
                        _ => language.file_type(),
                    };
                    Ok((node.content.clone(), Some(file_type.to_owned())))
                }
                (requested, stored) => Err(ApiError::invalid(format!(
                    "Cannot export notebook ({}) as {requested:?}: the local workspace does not convert notebooks; it was imported as {stored:?}, export it as SOURCE or {stored:?}.",
                    path.shown()
                ))),
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct ImportFileQuery {
    #[serde(default, deserialize_with = "lenient_bool")]
    overwrite: bool,
}

/// `POST /api/2.0/workspace-files/import-file/{path}?overwrite=`: the raw body becomes a file
/// (or a notebook, when it has a notebook extension and header). The parent folder must exist.
async fn import_file(
    State(state): State<AppState>,
    Path(raw_path): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let q: ImportFileQuery = query(raw.as_deref())?;
    let path = WsPath::parse(&format!("/{}", raw_path.trim_start_matches('/')))?;
    let (target, node) = classify(&path, Format::Auto, None, body.to_vec(), state.clock.now_ms())?;
    state.objects.mutate(|tree| {
        tree.put(&target, node, q.overwrite, |existing| {
            if existing.object_type == ObjectType::File {
                // The files API answers 409 for an existing file, 400 for a notebook.
                ApiError::new(
                    StatusCode::CONFLICT,
                    "RESOURCE_ALREADY_EXISTS",
                    format!("File already exists at ({}).", target.shown()),
                )
            } else {
                ApiError::already_exists(format!("Path ({}) already exists.", target.shown()))
            }
        })
    })?;
    Ok(Json(json!({})))
}

/// `GET /api/2.0/workspace-files/{path}`: the raw content of a file or notebook source.
async fn read_file(State(state): State<AppState>, Path(raw_path): Path<String>) -> ApiResult<Response> {
    let path = WsPath::parse(&format!("/{}", raw_path.trim_start_matches('/')))?;
    let tree = state.objects.tree.read();
    let node = tree.nodes.get(&path.canonical).ok_or_else(|| path.not_found())?;
    let (content, _) = exported(&path, node, Format::Source)?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], content).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_name_one_path() {
        let plain = WsPath::parse("/Shared/x/").unwrap();
        let prefixed = WsPath::parse("/Workspace/Shared//x").unwrap();
        assert_eq!(plain.canonical, "/Shared/x");
        assert_eq!(prefixed.canonical, "/Shared/x");
        assert_eq!(prefixed.shown(), "/Workspace/Shared/x");
        assert_eq!(WsPath::parse("/Workspace").unwrap().canonical, "/");
        assert!(WsPath::parse("Shared/x").is_err());
        assert!(WsPath::parse("/Shared/../x").is_err());
        assert!(WsPath::parse("").is_err());
        assert_eq!(parent_of("/a/b"), Some("/a"));
        assert_eq!(parent_of("/a"), Some("/"));
        assert_eq!(parent_of("/"), None);
    }

    #[test]
    fn auto_detects_notebooks_by_extension_and_header() {
        let path = WsPath::parse("/Shared/etl.py").unwrap();
        let (target, node) = classify(
            &path,
            Format::Auto,
            None,
            b"# Databricks notebook source\nprint(1)".to_vec(),
            1,
        )
        .unwrap();
        assert_eq!(
            (target.canonical.as_str(), node.object_type, node.language),
            ("/Shared/etl", ObjectType::Notebook, Some(Language::Python))
        );
        let (target, node) = classify(&path, Format::Auto, None, b"print(1)".to_vec(), 1).unwrap();
        assert_eq!(
            (target.canonical.as_str(), node.object_type),
            ("/Shared/etl.py", ObjectType::File)
        );
        let sql = WsPath::parse("/Shared/q.sql").unwrap();
        let (target, node) = classify(
            &sql,
            Format::Auto,
            None,
            b"-- Databricks notebook source\nselect 1".to_vec(),
            1,
        )
        .unwrap();
        assert_eq!(
            (target.canonical.as_str(), node.language),
            ("/Shared/q", Some(Language::Sql))
        );
        assert!(classify(&path, Format::Source, None, Vec::new(), 1).is_err());
        let dotfile = WsPath::parse("/Shared/.lock").unwrap();
        assert_eq!(dotfile.extension(), None);
    }

    #[test]
    fn children_are_direct_only() {
        let mut tree = Tree::default();
        for path in ["/", "/a", "/a/b", "/a/b/c", "/a/d", "/ab"] {
            let id = tree.new_id();
            tree.nodes.insert(path.to_owned(), Node::directory(id, 0));
        }
        let names = |dir: &str| tree.children(dir).map(|(p, _)| p.clone()).collect::<Vec<_>>();
        assert_eq!(names("/"), vec!["/a", "/ab"]);
        assert_eq!(names("/a"), vec!["/a/b", "/a/d"]);
        assert!(names("/a/b/c").is_empty());
    }
}
