//! File-based bad-input cases: each `tests/ui/<case>/` (at the repository root) is a tiny
//! project that must fail validation; its `expected.txt` holds the exact rendered findings.
//!
//! A case folder holds `brickship.yaml`, `pipelines/<name>/job.yaml` (or `.json`), optional
//! overlays and config files, an optional `args` file with the arguments of
//! `brickship validate` (default `p`, i.e. pipeline `p` in environment `dev`) and an optional
//! `env` file of `NAME=VALUE` lines that `${env.NAME}` sees (nothing else from the real
//! environment leaks in). Supported arguments: the pipeline, `--environment/-e NAME`,
//! `--strict`, `--config-file FILE` (relative to the case folder).
//!
//! Run with `UPDATE_UI=1` to rewrite the expectations, then review every changed file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use deploy::project::LoadRequest;
use deploy::validate::load_and_validate;

struct Case {
    pipeline: String,
    environment: String,
    strict: bool,
    config_file: Option<PathBuf>,
    env: BTreeMap<String, String>,
}

fn parse_case(dir: &Path) -> Result<Case, String> {
    let args = std::fs::read_to_string(dir.join("args")).unwrap_or_else(|_| "p".to_string());
    let mut case = Case {
        pipeline: String::new(),
        environment: "dev".to_string(),
        strict: false,
        config_file: None,
        env: BTreeMap::new(),
    };
    let mut words = args.split_whitespace();
    while let Some(w) = words.next() {
        match w {
            "--environment" | "-e" => {
                case.environment = words.next().ok_or("--environment needs a value")?.to_string()
            }
            "--strict" => case.strict = true,
            "--offline" => {}
            "--config-file" => {
                case.config_file = Some(dir.join(words.next().ok_or("--config-file needs a value")?));
            }
            other if other.starts_with('-') => return Err(format!("unsupported argument `{other}`")),
            other => case.pipeline = other.to_string(),
        }
    }
    if case.pipeline.is_empty() {
        return Err("no pipeline in `args`".to_string());
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("env")) {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| format!("bad env line `{line}`"))?;
            case.env.insert(k.to_string(), v.to_string());
        }
    }
    Ok(case)
}

fn render(dir: &Path, case: &Case) -> (String, bool) {
    let lookup = |name: &str| case.env.get(name).cloned();
    let request = LoadRequest {
        config_file: case.config_file.as_deref(),
        env: &lookup,
        strict: case.strict,
        ..LoadRequest::new(dir, &case.pipeline, &case.environment)
    };
    let loaded = load_and_validate(&request);
    let d = &loaded.diagnostics;
    (format!("{}{}\n", d.render(false), d.summary()), d.has_errors())
}

#[test]
fn ui_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/ui");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 30,
        "expected at least 30 UI cases, found {}",
        dirs.len()
    );
    let update = std::env::var_os("UPDATE_UI").is_some();
    let mut failures = vec![];
    for dir in &dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let case = match parse_case(dir) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let (actual, has_errors) = render(dir, &case);
        if !has_errors {
            failures.push(format!(
                "{name}: expected at least one error (bad input must fail validation), got:\n{actual}"
            ));
        }
        let expected_path = dir.join("expected.txt");
        if update {
            if let Err(e) = std::fs::write(&expected_path, &actual) {
                failures.push(format!("{name}: cannot write expected.txt: {e}"));
            }
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "{name}: output differs (run with UPDATE_UI=1 to accept)\n--- expected\n{expected}\n--- actual\n{actual}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} UI cases failed:\n\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}
