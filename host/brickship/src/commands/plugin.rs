//! `brickship plugin`: list, inspect, scaffold and test plugin components.
//!
//! A test bench for plugin authors: `plugin new` writes a Rust project against the SDK,
//! `plugin test` runs one call of any component (Rust, Python, ...) on a JSON fixture with the
//! same sandbox and limits as a deploy, and `plugin inspect` shows what the host sees.

use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use deploy::engine::EngineError;
use deploy::engine::plugin_config::{ReferencedPlugin, referenced_plugins};
use plugin_host::types::{Decision, Event, GateInput, Outcome, PluginInfo, PluginKind};
use plugin_host::{PluginRef, PluginRuntime, PluginSource};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::cli::{
    PluginCommand, PluginInspectArgs, PluginKindArg, PluginListArgs, PluginNewArgs, PluginTestArgs,
};
use crate::env_vars;
use crate::exit;
use crate::printer::Printer;

/// Exit code when a tested gate says `fail` (the same as a deploy refused by a gate).
const GATE_REFUSED: u8 = 3;

/// `brickship plugin <command>`.
pub fn dispatch(command: PluginCommand, printer: &Printer) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::List(args) => list(args, printer),
        PluginCommand::Inspect(args) => inspect(args, printer),
        PluginCommand::New(args) => new(args, printer),
        PluginCommand::Test(args) => test(args, printer),
    }
}

fn runtime() -> anyhow::Result<PluginRuntime> {
    PluginRuntime::new().map_err(|e| EngineError::plugin("runtime", e).into())
}

fn plugin_error(name: &str, err: plugin_host::Error) -> anyhow::Error {
    EngineError::plugin(name.to_owned(), err).into()
}

/// Parses a plugin reference given on the command line (paths relative to the current folder).
fn parse_ref(text: &str) -> anyhow::Result<PluginRef> {
    let r: PluginRef = text.parse().map_err(|e| EngineError::Usage(format!("{e}")))?;
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    Ok(r.resolve_against(&cwd))
}

/// `describe` through the kind's loader, with the handle's sha256.
fn describe(
    rt: &PluginRuntime,
    kind: PluginKind,
    r: &PluginRef,
) -> Result<(PluginInfo, String), plugin_host::Error> {
    Ok(match kind {
        PluginKind::Strategy => {
            let h = rt.load_strategy(r)?;
            (h.info().clone(), h.sha256().to_owned())
        }
        PluginKind::Gate => {
            let h = rt.load_gate(r)?;
            (h.info().clone(), h.sha256().to_owned())
        }
        PluginKind::Notifier => {
            let h = rt.load_notifier(r)?;
            (h.info().clone(), h.sha256().to_owned())
        }
    })
}

fn short(digest: &str) -> &str {
    &digest[..digest.len().min(12)]
}

// ---------------------------------------------------------------------------------------------
// list

#[derive(Serialize)]
struct BuiltinRow {
    name: String,
    kind: PluginKind,
    version: String,
    contract: String,
    sha256: String,
    description: String,
}

#[derive(Serialize)]
struct ProjectRow {
    #[serde(flatten)]
    plugin: ReferencedPlugin,
    /// `built-in`, or the resolved path.
    source: String,
    /// Whether the component exists (built-in found, file present, pin matching).
    status: String,
    sha256: Option<String>,
}

/// The project folder: `--project`, else the nearest folder upward with `brickship.yaml`.
fn find_project(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = explicit {
        return Some(dir.to_path_buf());
    }
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .find(|d| deploy::project::PROJECT_FILES.iter().any(|n| d.join(n).is_file()))
        .map(Path::to_path_buf)
}

fn list(args: PluginListArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    let mut builtins = Vec::new();
    for (name, kind) in plugin_host::builtins() {
        let (info, sha256) =
            describe(&rt, kind, &PluginRef::builtin(name)).map_err(|e| plugin_error(name, e))?;
        builtins.push(BuiltinRow {
            name: name.to_owned(),
            kind,
            version: info.version,
            contract: info.contract,
            sha256,
            description: info.description,
        });
    }

    let project = find_project(args.project.as_deref());
    let mut rows = Vec::new();
    if let Some(root) = &project {
        let file = deploy::project::PROJECT_FILES
            .iter()
            .map(|n| root.join(n))
            .find(|p| p.is_file());
        let text = match &file {
            Some(f) => {
                std::fs::read_to_string(f).with_context(|| format!("cannot read `{}`", f.display()))?
            }
            None => {
                return Err(
                    EngineError::Usage(format!("`{}` has no `brickship.yaml`", root.display())).into(),
                );
            }
        };
        for plugin in referenced_plugins(&text) {
            rows.push(project_row(plugin, root, &builtins));
        }
    }

    if printer.is_json() {
        printer.json(&json!({
            "builtins": builtins,
            "project": project.as_ref().map(|root| json!({"root": root, "plugins": rows})),
        }));
        return Ok(ExitCode::from(exit::OK));
    }
    printer.line("built-in plugins:");
    for b in &builtins {
        printer.line(format!(
            "  {:<9} {:<14} {:<8} {}  {}",
            b.kind.as_str(),
            b.name,
            b.version,
            short(&b.sha256),
            b.description
        ));
    }
    if let Some(root) = &project {
        printer.line(format!("\nused by the project in `{}`:", root.display()));
        if rows.is_empty() {
            printer.line("  none (the default strategy `direct`, no gates, no notifiers)");
        }
        for r in &rows {
            printer.line(format!(
                "  {:<9} {:<32} {:<40} {}",
                r.plugin.kind, r.plugin.reference, r.plugin.used_by, r.status
            ));
        }
    }
    Ok(ExitCode::from(exit::OK))
}

fn project_row(plugin: ReferencedPlugin, root: &Path, builtins: &[BuiltinRow]) -> ProjectRow {
    let parsed = plugin.reference.parse::<PluginRef>();
    let (source, status, sha256) = match parsed {
        Err(e) => (String::new(), format!("invalid reference: {e}"), None),
        Ok(r) => match &r.resolve_against(root).source {
            PluginSource::BuiltIn(name) => {
                let found = builtins
                    .iter()
                    .find(|b| b.name == *name && b.kind.as_str() == plugin.kind);
                match found {
                    Some(b) if r.sha256.as_ref().is_none_or(|p| *p == b.sha256) => {
                        ("built-in".into(), "built-in".into(), Some(b.sha256.clone()))
                    }
                    Some(b) => ("built-in".into(), "pin mismatch".into(), Some(b.sha256.clone())),
                    None => (
                        "built-in".into(),
                        format!("no built-in {} of this name", plugin.kind),
                        None,
                    ),
                }
            }
            PluginSource::Path(path) => match std::fs::read(path) {
                Ok(bytes) => {
                    let digest = hex::encode(Sha256::digest(&bytes));
                    let status = match &r.sha256 {
                        Some(p) if *p != digest => "pin mismatch".to_owned(),
                        Some(_) => "file, pin matches".to_owned(),
                        None => "file".to_owned(),
                    };
                    (path.display().to_string(), status, Some(digest))
                }
                Err(_) => (path.display().to_string(), "missing: build it first".into(), None),
            },
        },
    };
    ProjectRow {
        plugin,
        source,
        status,
        sha256,
    }
}

// ---------------------------------------------------------------------------------------------
// inspect

fn inspect(args: PluginInspectArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    let r = parse_ref(&args.plugin)?;
    let name = r.display_name();
    let inspection = rt.inspect(&r).map_err(|e| plugin_error(&name, e))?;
    let described = inspection.kind.map(|kind| describe(&rt, kind, &r));
    let (info, load_error) = match described {
        Some(Ok((info, _))) => (Some(info), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    if printer.is_json() {
        printer.json(&json!({
            "inspection": inspection,
            "describe": info,
            "load_error": load_error.as_ref().map(ToString::to_string),
        }));
    } else {
        let kind = inspection
            .kind
            .map(|k| k.as_str())
            .unwrap_or("not a brickship plugin");
        printer.line(format!(
            "plugin       {} ({})",
            inspection.name, inspection.source
        ));
        printer.line(format!("kind         {kind}"));
        if let Some(info) = &info {
            printer.line(format!("name         {}", info.name));
            printer.line(format!("version      {}", info.version));
            printer.line(format!("contract     {}", info.contract));
            printer.line(format!("description  {}", info.description));
        }
        printer.line(format!("sha256       {}", inspection.sha256));
        printer.line(format!("size         {} bytes", inspection.size_bytes));
        let cache = match (&inspection.cache_file, inspection.cached) {
            (_, true) => "cached (compiled code reused)".to_owned(),
            (Some(f), false) => format!("not cached (compiled now, cached at `{}`)", f.display()),
            (None, false) => "not cached (no disk cache)".to_owned(),
        };
        printer.line(format!("cache        {cache}"));
        if let Some(info) = &info {
            if let Some(example) = &info.config_example {
                printer.line(format!("config       {example}"));
            }
            if let Some(schema) = &info.config_schema {
                printer.line(format!("schema       {schema}"));
            }
        }
        printer.line("imports");
        for i in &inspection.imports {
            let note = if i.allowed {
                ""
            } else {
                "   <- not provided: loading refuses it"
            };
            printer.line(format!("  {}{note}", i.name));
        }
        printer.line("exports");
        for e in &inspection.exports {
            printer.line(format!("  {e}"));
        }
    }
    match load_error {
        Some(e) => Err(plugin_error(&name, e)),
        None if inspection.kind.is_none() => Err(EngineError::Usage(format!(
            "`{name}` exports no brickship interface (strategy, gate or notifier); build it for a brickship world"
        ))
        .into()),
        None => Ok(ExitCode::from(exit::OK)),
    }
}

// ---------------------------------------------------------------------------------------------
// test

/// Fills the `deployment` fields a fixture may leave out.
fn complete_deployment(d: &mut Value, config: &Value) -> anyhow::Result<()> {
    let Some(obj) = d.as_object_mut() else {
        return Err(EngineError::Usage("the fixture's `deployment` must be an object".into()).into());
    };
    let now = u64::try_from(deploy::engine::now_ms()).unwrap_or(0);
    let defaults = [
        ("id", json!("dep-plugin-test")),
        ("pipeline", json!("pipeline")),
        ("environment", json!("dev")),
        ("version", json!("plugin-test")),
        ("desired", json!({})),
        ("now_ms", json!(now)),
    ];
    for (key, value) in defaults {
        obj.entry(key).or_insert(value);
    }
    let action = if obj.get("live").is_some_and(|l| !l.is_null()) {
        "update"
    } else {
        "create"
    };
    obj.entry("plan")
        .or_insert(json!({"action": action, "changes": []}));
    obj.insert("config".into(), config.clone());
    Ok(())
}

fn from_fixture<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> anyhow::Result<T> {
    serde_json::from_value(value)
        .map_err(|e| EngineError::Usage(format!("the fixture is not a valid {what}: {e}")).into())
}

fn test(args: PluginTestArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    let r = parse_ref(&args.plugin)?;
    let name = r.display_name();
    let text = std::fs::read_to_string(&args.input).map_err(|e| {
        EngineError::Usage(format!("cannot read the fixture `{}`: {e}", args.input.display()))
    })?;
    let mut fixture: Value = serde_json::from_str(&text).map_err(|e| {
        EngineError::Usage(format!("the fixture `{}` is not JSON: {e}", args.input.display()))
    })?;
    let Some(obj) = fixture.as_object_mut() else {
        return Err(EngineError::Usage("the fixture must be a JSON object".into()).into());
    };
    let config = obj.remove("config");
    let config_given = config.is_some();
    let config = config.unwrap_or_else(|| json!({}));
    let inspection = rt.inspect(&r).map_err(|e| plugin_error(&name, e))?;
    let Some(kind) = inspection.kind else {
        return Err(EngineError::Usage(format!("`{name}` exports no brickship interface")).into());
    };
    let deployment = obj.entry("deployment").or_insert_with(|| json!({}));
    complete_deployment(deployment, &config)?;

    let call_ms: f64;
    let (function, result, refused) = match kind {
        PluginKind::Strategy => {
            let handle = rt.load_strategy(&r).map_err(|e| plugin_error(&name, e))?;
            if config_given {
                handle
                    .validate_config(&config)
                    .map_err(|e| plugin_error(&name, e))?;
            }
            let d = from_fixture(obj.remove("deployment").unwrap_or_default(), "deployment")?;
            let state = obj.remove("state").and_then(|s| s.as_str().map(str::to_owned));
            let outcomes: Vec<Outcome> =
                from_fixture(obj.remove("outcomes").unwrap_or(json!([])), "list of outcomes")?;
            let started = Instant::now();
            let result = handle
                .step(&d, state.as_deref(), &outcomes)
                .map_err(|e| plugin_error(&name, e))?;
            call_ms = started.elapsed().as_secs_f64() * 1000.0;
            ("step", serde_json::to_value(result)?, false)
        }
        PluginKind::Gate => {
            let handle = rt.load_gate(&r).map_err(|e| plugin_error(&name, e))?;
            if config_given {
                handle
                    .validate_config(&config)
                    .map_err(|e| plugin_error(&name, e))?;
            }
            obj.entry("point").or_insert(json!("pre-deploy"));
            obj.entry("evidence").or_insert(json!([]));
            let input: GateInput = from_fixture(fixture, "gate input")?;
            let started = Instant::now();
            let verdict = handle.evaluate(&input).map_err(|e| plugin_error(&name, e))?;
            call_ms = started.elapsed().as_secs_f64() * 1000.0;
            let refused = verdict.decision == Decision::Fail;
            ("evaluate", serde_json::to_value(verdict)?, refused)
        }
        PluginKind::Notifier => {
            let handle = rt.load_notifier(&r).map_err(|e| plugin_error(&name, e))?;
            if config_given {
                handle
                    .validate_config(&config)
                    .map_err(|e| plugin_error(&name, e))?;
            }
            let now = u64::try_from(deploy::engine::now_ms()).unwrap_or(0);
            for (key, value) in [
                ("kind", json!("succeeded")),
                ("strategy", json!("direct")),
                ("message", json!("")),
                ("detail", json!("")),
                ("findings", json!([])),
                ("at_ms", json!(now)),
            ] {
                obj.entry(key).or_insert(value);
            }
            let event: Event = from_fixture(fixture, "event")?;
            let started = Instant::now();
            let messages = handle.render(&event).map_err(|e| plugin_error(&name, e))?;
            call_ms = started.elapsed().as_secs_f64() * 1000.0;
            ("render", serde_json::to_value(messages)?, false)
        }
    };
    let duration_ms = call_ms;

    if printer.is_json() {
        printer.json(&json!({
            "plugin": name,
            "kind": kind,
            "sha256": inspection.sha256,
            "function": function,
            "config_valid": config_given.then_some(true),
            "duration_ms": duration_ms,
            "result": result,
        }));
    } else {
        printer.line(format!(
            "{kind} `{name}` ({}), {function} in {duration_ms:.1} ms",
            short(&inspection.sha256)
        ));
        if config_given {
            printer.line("config: accepted by validate-config");
        }
        match kind {
            PluginKind::Gate => {
                printer.line(format!(
                    "verdict: {} — {}",
                    result["decision"].as_str().unwrap_or("?"),
                    result["summary"].as_str().unwrap_or("")
                ));
                for f in result["findings"].as_array().into_iter().flatten() {
                    let at = f["path"].as_str().map(|p| format!(" at {p}")).unwrap_or_default();
                    printer.line(format!(
                        "  [{}] {}: {}{at}",
                        f["severity"].as_str().unwrap_or(""),
                        f["code"].as_str().unwrap_or(""),
                        f["message"].as_str().unwrap_or("")
                    ));
                }
            }
            PluginKind::Strategy => {
                printer.line(format!(
                    "phase: {} — {}",
                    result["phase"].as_str().unwrap_or("?"),
                    result["message"].as_str().unwrap_or("")
                ));
                for a in result["actions"].as_array().into_iter().flatten() {
                    printer.line(format!(
                        "  action {}: {}",
                        a["id"].as_str().unwrap_or(""),
                        a["type"].as_str().unwrap_or("")
                    ));
                }
                printer.line(format!("state: {}", result["state"].as_str().unwrap_or("")));
            }
            PluginKind::Notifier => {
                let n = result.as_array().map_or(0, Vec::len);
                printer.line(format!("{n} message(s)"));
            }
        }
        printer.line(serde_json::to_string_pretty(&result)?);
    }
    Ok(ExitCode::from(if refused { GATE_REFUSED } else { exit::OK }))
}

// ---------------------------------------------------------------------------------------------
// new

/// The SDK crate inside a brickship checkout, relative to `root`.
const SDK_IN_CHECKOUT: &str = "plugins/sdk";

/// Finds `plugins/sdk` of a brickship checkout: `--sdk`, else upward from the current folder,
/// else beside the source this binary was built from.
fn find_sdk(explicit: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    let is_sdk = |dir: &Path| {
        std::fs::read_to_string(dir.join("Cargo.toml"))
            .is_ok_and(|t| t.contains("name = \"brickship-plugin-sdk\""))
    };
    if let Some(dir) = explicit {
        let dir = std::path::absolute(dir).context("cannot resolve `--sdk`")?;
        if !is_sdk(&dir) {
            return Err(EngineError::Usage(format!(
                "`{}` is not brickship's plugin SDK (no `brickship-plugin-sdk` Cargo.toml); point `--sdk` at `plugins/sdk` of a brickship checkout",
                dir.display()
            ))
            .into());
        }
        return Ok(Some(dir));
    }
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Ok(cwd
        .ancestors()
        .chain(std::iter::once(built_from.as_path()))
        .map(|d| d.join(SDK_IN_CHECKOUT))
        .find(|d| is_sdk(d))
        .and_then(|d| d.canonicalize().ok()))
}

/// `to` relative to `from` (both absolute), with `..` where needed.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c.as_os_str());
    }
    out
}

fn valid_plugin_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && name.len() <= 64
}

fn new(args: PluginNewArgs, printer: &Printer) -> anyhow::Result<ExitCode> {
    if !valid_plugin_name(&args.name) {
        return Err(EngineError::Usage(format!(
            "`{}` is not a plugin name: use lowercase letters, digits and `-`, starting with a letter (e.g. `max-tasks`)",
            args.name
        ))
        .into());
    }
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(&args.name));
    let dir = std::path::absolute(&dir).context("cannot resolve the project folder")?;
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(EngineError::Usage(format!(
            "`{}` already exists and is not empty; choose another `--dir`",
            dir.display()
        ))
        .into());
    }
    let sdk = find_sdk(args.sdk.as_deref())?;
    let crate_name = args.name.replace('-', "_");
    let (kind, source, fixture) = match args.kind {
        PluginKindArg::Strategy => (
            "strategy",
            include_str!("plugin_templates/strategy.rs.tmpl"),
            include_str!("plugin_templates/strategy.json"),
        ),
        PluginKindArg::Gate => (
            "gate",
            include_str!("plugin_templates/gate.rs.tmpl"),
            include_str!("plugin_templates/gate.json"),
        ),
        PluginKindArg::Notifier => (
            "notifier",
            include_str!("plugin_templates/notifier.rs.tmpl"),
            include_str!("plugin_templates/notifier.json"),
        ),
    };
    let sdk_dependency = match &sdk {
        Some(path) => format!("{{ path = {:?} }}", relative(&dir, path).display().to_string()),
        None => format!(
            "{{ git = {:?}, package = \"brickship-plugin-sdk\" }}",
            env!("CARGO_PKG_REPOSITORY")
        ),
    };
    let cargo_toml = format!(
        r#"[package]
name = "{name}"
description = "A brickship {kind} plugin"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
brickship-plugin-sdk = {sdk_dependency}
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"

# A workspace of its own: it builds on its own wherever it lives.
[workspace]

# Small components; keep symbol names so a crash's backtrace names the function.
[profile.release]
opt-level = "s"
strip = "debuginfo"
"#,
        name = args.name,
    );
    let readme = format!(
        r#"# {name}

A brickship {kind} plugin: a WebAssembly component built for `wasm32-wasip2` against
brickship's plugin contract, with the Rust SDK (`brickship-plugin-sdk`).

```sh
rustup target add wasm32-wasip2            # once
cargo build --target wasm32-wasip2 --release
brickship plugin test target/wasm32-wasip2/release/{crate_name}.wasm --input fixtures/input.json
brickship plugin inspect target/wasm32-wasip2/release/{crate_name}.wasm
cargo test                                  # unit tests, natively
```

Use it from a project's `brickship.yaml` by path (relative to the project), optionally pinned
to the sha256 that `brickship plugin inspect` prints:

```yaml
{usage}
```
"#,
        name = args.name,
        usage = match args.kind {
            PluginKindArg::Strategy =>
                format!("environments:\n  prod:\n    strategy: {{name: plugins/{crate_name}.wasm}}"),
            PluginKindArg::Gate => format!(
                "gates:\n  {name}:\n    plugin: plugins/{crate_name}.wasm   # or ...wasm@sha256:<hex>\n    mode: enforce\n    config: {{max_tasks: 20}}",
                name = args.name
            ),
            PluginKindArg::Notifier => format!(
                "notifications:\n  allowed_hosts: [hooks.example.com]\nnotifiers:\n  {name}:\n    plugin: plugins/{crate_name}.wasm\n    config: {{url: https://hooks.example.com/brickship}}",
                name = args.name
            ),
        },
    );
    let files = [
        ("Cargo.toml", cargo_toml),
        (
            "src/lib.rs",
            source
                .replace("{{name}}", &args.name)
                .replace("{{crate}}", &crate_name),
        ),
        ("fixtures/input.json", fixture.to_owned()),
        ("README.md", readme),
        (".gitignore", "/target\n".to_owned()),
    ];
    for (file, text) in &files {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    if printer.is_json() {
        printer.json(&json!({
            "dir": dir,
            "kind": kind,
            "name": args.name,
            "sdk": sdk,
            "files": files.iter().map(|(f, _)| *f).collect::<Vec<_>>(),
            "component": format!("target/wasm32-wasip2/release/{crate_name}.wasm"),
        }));
    } else {
        printer.line(format!(
            "created the {kind} plugin `{}` in `{}`",
            args.name,
            dir.display()
        ));
        match &sdk {
            Some(path) => printer.info(format!("SDK: `{}` (by path)", path.display())),
            None => printer.info(format!(
                "SDK: from git ({}); no brickship checkout was found (pass `--sdk <checkout>/plugins/sdk` or set {} to use one)",
                env!("CARGO_PKG_REPOSITORY"),
                env_vars::PLUGIN_SDK
            )),
        }
        printer.line("next:");
        printer.line(format!("  cd {}", dir.display()));
        printer.line("  cargo build --target wasm32-wasip2 --release");
        printer.line(format!(
            "  brickship plugin test target/wasm32-wasip2/release/{crate_name}.wasm --input fixtures/input.json"
        ));
    }
    Ok(ExitCode::from(exit::OK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_and_descend() {
        assert_eq!(
            relative(Path::new("/a/b/c"), Path::new("/a/x/y")),
            PathBuf::from("../../x/y")
        );
        assert_eq!(relative(Path::new("/a"), Path::new("/a/b")), PathBuf::from("b"));
    }

    #[test]
    fn plugin_names_are_kebab_case() {
        assert!(valid_plugin_name("max-tasks"));
        assert!(valid_plugin_name("gate2"));
        for bad in ["", "Max", "2fast", "a_b", "trailing-", "a b"] {
            assert!(!valid_plugin_name(bad), "{bad}");
        }
    }

    #[test]
    fn fixtures_of_the_templates_complete_into_contract_types() {
        let gate: Value = serde_json::from_str(include_str!("plugin_templates/gate.json")).unwrap();
        let mut d = gate["deployment"].clone();
        complete_deployment(&mut d, &gate["config"]).unwrap();
        let input: GateInput = from_fixture(
            json!({"deployment": d, "point": "pre-deploy", "evidence": []}),
            "gate input",
        )
        .unwrap();
        assert_eq!(input.deployment.config, json!({"max_tasks": 20}));
        assert_eq!(
            input.deployment.plan.action,
            plugin_host::types::PlanAction::Create
        );
        let strategy: Value = serde_json::from_str(include_str!("plugin_templates/strategy.json")).unwrap();
        let mut d = strategy["deployment"].clone();
        complete_deployment(&mut d, &json!({})).unwrap();
        let _: plugin_host::types::Deployment = from_fixture(d, "deployment").unwrap();
    }
}
