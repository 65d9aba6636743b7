//! Plugins built outside the host — the Rust canary strategy and the Python gate of
//! `examples/plugins/`, and a `plugin new` scaffold — used by the already-built binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

use serde_json::{Value, json};
use tests::{Project, ServedWorkspace, brickship_bin, brickship_command, python, repo_root};

const PIPELINE: &str = "customer-360-pipeline";
const DEV_JOB: &str = "customer-360-pipeline-dev";
const CANARY_JOB: &str = "customer-360-pipeline-dev [canary]";

/// Where the example plugins are built (a target dir of their own: no wait on the host's).
fn plugins_target() -> PathBuf {
    repo_root().join("target/examples-plugins")
}

/// What identifies the brickship binary: size, modification time and a hash of its bytes.
#[derive(Debug, PartialEq)]
struct Fingerprint(u64, SystemTime, u64);

fn fingerprint(path: &Path) -> Fingerprint {
    use std::hash::{Hash, Hasher};
    let meta = std::fs::metadata(path).expect("binary metadata");
    let bytes = std::fs::read(path).expect("read the binary");
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    Fingerprint(meta.len(), meta.modified().expect("mtime"), h.finish())
}

/// `cargo` for nested builds, without the variables of the outer build that would leak.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_PKG_NAME",
        "CARGO_CRATE_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_INCREMENTAL",
        "CARGO_TARGET_WASM32_WASIP2_RUNNER",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(mut cmd: Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `cargo build --target wasm32-wasip2 --release` of the Rust project at `dir`; the component.
fn build_rust(dir: &Path, artifact: &str) -> PathBuf {
    let mut cmd = cargo();
    cmd.current_dir(dir)
        .args(["build", "--target", "wasm32-wasip2", "--release", "--target-dir"])
        .arg(plugins_target());
    run(cmd, &format!("cargo build of `{}`", dir.display()));
    let wasm = plugins_target()
        .join("wasm32-wasip2/release")
        .join(format!("{artifact}.wasm"));
    assert!(wasm.is_file(), "`{}` was not built", wasm.display());
    wasm
}

/// The Python gate, built with componentize-py when its sources or the contract changed. The
/// build writes a temporary file and renames it, so concurrent test processes never see half
/// a component.
fn build_python_gate() -> PathBuf {
    let source = repo_root().join("examples/plugins/gate-python");
    let out = plugins_target().join("data_contract.wasm");
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut inputs = vec![source.join("app.py"), source.join("contract.py")];
    inputs.extend(
        std::fs::read_dir(repo_root().join("wit"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    let newest = inputs.iter().filter_map(|p| mtime(p)).max();
    if mtime(&out).is_some_and(|built| Some(built) > newest) {
        return out;
    }
    let componentize = python().with_file_name("componentize-py");
    assert!(
        componentize.is_file(),
        "`{}` is missing: run `cargo xtask setup` (xtask/requirements.txt lists componentize-py)",
        componentize.display()
    );
    std::fs::create_dir_all(plugins_target()).unwrap();
    let tmp = plugins_target().join(format!("data_contract.{}.wasm.tmp", std::process::id()));
    let mut cmd = Command::new(&componentize);
    cmd.current_dir(&source)
        .args([
            "-d",
            "../../../wit",
            "-w",
            "gate-plugin",
            "componentize",
            "--stub-wasi",
            "app",
            "-o",
        ])
        .arg(&tmp);
    run(cmd, "componentize-py");
    std::fs::rename(&tmp, &out).unwrap();
    out
}

struct Examples {
    canary: PathBuf,
    gate: PathBuf,
}

/// Builds both examples once per test process.
fn examples() -> &'static Examples {
    static BUILT: OnceLock<Examples> = OnceLock::new();
    BUILT.get_or_init(|| Examples {
        canary: build_rust(&repo_root().join("examples/plugins/canary-rust"), "scored_canary"),
        gate: build_python_gate(),
    })
}

fn sha256_of(plugin: &Path) -> String {
    let out = brickship_command()
        .args(["plugin", "inspect", "--output", "json"])
        .arg(plugin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["inspection"]["sha256"].as_str().unwrap().to_owned()
}

/// The example project with `plugin` copied to `plugins/<file name>`.
fn project_with(plugins: &[&Path]) -> Project {
    let project = Project::example();
    std::fs::create_dir_all(project.path().join("plugins")).unwrap();
    for p in plugins {
        std::fs::copy(p, project.path().join("plugins").join(p.file_name().unwrap())).unwrap();
    }
    project
}

fn plugin_test(plugin: &Path, fixture: &Path) -> tests::Finished {
    let out = brickship_command()
        .args(["plugin", "test", "--output", "json"])
        .arg(plugin)
        .arg("--input")
        .arg(fixture)
        .output()
        .unwrap();
    tests::Finished {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn a_rust_canary_built_outside_the_host_rolls_out_and_rolls_back_by_its_score() {
    let before = fingerprint(&brickship_bin());
    let examples = examples();

    // The author's bench: the first step creates the canary and reads the baseline.
    let fixtures = repo_root().join("examples/plugins/canary-rust/fixtures");
    let first = plugin_test(&examples.canary, &fixtures.join("first-step.json"));
    first.expect_code(0);
    let first: Value = serde_json::from_str(&first.stdout).unwrap();
    assert_eq!(first["kind"], "strategy");
    let ids: Vec<&str> = first["result"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["create-canary", "baseline"]);
    let scoring = plugin_test(&examples.canary, &fixtures.join("scoring-step.json"));
    scoring.expect_code(0);
    assert!(
        scoring.stdout.contains("canary scored 88: promoting"),
        "{}",
        scoring.stdout
    );

    // A real deploy with the component named by path and pinned.
    let workspace = ServedWorkspace::start(1000.0);
    let project = project_with(&[&examples.canary]);
    let sha = sha256_of(&examples.canary);
    project.edit(
        "brickship.yaml",
        "  dev:\n    workspace:\n      host: local\n",
        &format!(
            "  dev:\n    workspace:\n      host: local\n    strategy:\n      name: plugins/scored_canary.wasm@sha256:{sha}\n      business_hours: null\n"
        ),
    );
    let done = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run();
    done.expect_code(0);
    for step in [
        "creating the canary job",
        "running the canary on 0.1 of the work",
        "canary scored 100: promoting",
    ] {
        assert!(done.stdout.contains(step), "missing {step:?} in\n{}", done.stdout);
    }
    assert_eq!(
        workspace.jobs_named(DEV_JOB).await.len(),
        1,
        "promoted to the live job"
    );
    assert!(
        workspace.jobs_named(CANARY_JOB).await.is_empty(),
        "the canary is deleted after promotion"
    );
    let canary_runs: Vec<Value> = workspace
        .requests()
        .await
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/jobs/run-now")))
        .collect();
    assert_eq!(canary_runs.len(), 1, "one canary run: {canary_runs:#?}");

    // A change whose canary run fails scores 0: the canary is deleted, the live job keeps its
    // settings, the deploy fails (exit 1).
    let live_id = workspace.jobs_named(DEV_JOB).await[0]["job_id"].as_i64().unwrap();
    let live_before = workspace.job_settings(live_id).await;
    project.edit(
        "pipelines/customer-360-pipeline/job.yaml",
        "max_concurrent_runs: 1",
        "max_concurrent_runs: 2",
    );
    workspace
        .control(
            reqwest::Method::POST,
            "/_local/scripts",
            Some(json!({"job_name": CANARY_JOB, "outcomes": ["FAILED"]})),
        )
        .await;
    let failed = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run();
    failed.expect_code(1);
    assert!(
        failed.stdout.contains("did not succeed") || failed.stderr.contains("did not succeed"),
        "{}\n{}",
        failed.stdout,
        failed.stderr
    );
    assert!(
        workspace.jobs_named(CANARY_JOB).await.is_empty(),
        "the failed canary is cleaned up"
    );
    let live_after = workspace.job_settings(live_id).await;
    assert_eq!(
        live_after["max_concurrent_runs"], live_before["max_concurrent_runs"],
        "the live job was not changed"
    );

    // A tampered component is refused by its pin before anything happens.
    let mut bytes = std::fs::read(project.path().join("plugins/scored_canary.wasm")).unwrap();
    bytes.extend_from_slice(b"\0tampered");
    std::fs::write(project.path().join("plugins/scored_canary.wasm"), bytes).unwrap();
    let seq = workspace.last_seq().await;
    let refused = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run();
    refused.expect_code(2);
    assert!(refused.stderr.contains("pinned to"), "{}", refused.stderr);
    assert!(workspace.mutating_since(seq).await.is_empty());

    assert_eq!(fingerprint(&brickship_bin()), before, "brickship was not rebuilt");
}

#[tokio::test]
async fn a_python_gate_built_with_componentize_py_judges_through_plugin_test() {
    let before = fingerprint(&brickship_bin());
    let examples = examples();

    let inspect = brickship_command()
        .args(["plugin", "inspect", "--output", "json"])
        .arg(&examples.gate)
        .output()
        .unwrap();
    assert!(
        inspect.status.success(),
        "{}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    let inspect: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(inspect["inspection"]["kind"], "gate");
    assert_eq!(inspect["describe"]["name"], "data-contract");
    assert!(
        inspect["inspection"]["imports"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["allowed"] == true),
        "componentize-py --stub-wasi leaves no import brickship refuses: {}",
        inspect["inspection"]["imports"]
    );

    let fixtures = repo_root().join("examples/plugins/gate-python/fixtures");
    let ok = plugin_test(&examples.gate, &fixtures.join("dev-ok.json"));
    ok.expect_code(0);
    let ok: Value = serde_json::from_str(&ok.stdout).unwrap();
    assert_eq!(ok["result"]["decision"], "pass");
    assert_eq!(ok["config_valid"], true);

    let bad = plugin_test(&examples.gate, &fixtures.join("dev-writes-prod.json"));
    bad.expect_code(3);
    let bad: Value = serde_json::from_str(&bad.stdout).unwrap();
    assert_eq!(bad["result"]["decision"], "fail");
    let codes: Vec<(&str, &str)> = bad["result"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            (
                "wrong-catalog",
                "/tasks/0/notebook_task/base_parameters/target_catalog"
            ),
            ("missing-catalog", "/tasks/1/notebook_task/base_parameters"),
        ]
    );

    // A config the gate refuses is bad input (exit 2), with the gate's problem.
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("bad-config.json");
    std::fs::write(
        &fixture,
        r#"{"config": {"catalogs": {"prod": ""}}, "deployment": {"desired": {"tasks": []}}}"#,
    )
    .unwrap();
    let refused = plugin_test(&examples.gate, &fixture);
    refused.expect_code(2);
    assert!(
        refused
            .stderr
            .contains("`/catalogs/prod`: must be a non-empty catalog name"),
        "{}",
        refused.stderr
    );

    // The project lists it, pinned.
    let project = project_with(&[&examples.gate]);
    let sha = sha256_of(&examples.gate);
    let text = project.read("brickship.yaml");
    std::fs::write(
        project.path().join("brickship.yaml"),
        format!("{text}\ngates:\n  data-contract:\n    plugin: plugins/data_contract.wasm@sha256:{sha}\n"),
    )
    .unwrap();
    let list = brickship_command()
        .current_dir(project.path())
        .args(["plugin", "list", "--output", "json"])
        .output()
        .unwrap();
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    let list: Value = serde_json::from_slice(&list.stdout).unwrap();
    let used: Vec<(&str, &str)> = list["project"]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["used_by"].as_str().unwrap(), p["status"].as_str().unwrap()))
        .collect();
    assert!(
        used.contains(&("gates.data-contract", "file, pin matches")),
        "{used:?}"
    );
    assert!(
        list["builtins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["name"] == "required-tags" && b["kind"] == "gate")
    );

    assert_eq!(fingerprint(&brickship_bin()), before, "brickship was not rebuilt");
}

/// A custom gate built outside the host changes a real deploy: enforced, it refuses with exit
/// code 3 before any change; in monitor mode it only reports.
#[tokio::test]
async fn a_custom_python_gate_refuses_a_deploy_that_breaks_its_rule_with_exit_3() {
    let before = fingerprint(&brickship_bin());
    let examples = examples();
    let workspace = ServedWorkspace::start(1000.0);
    let project = project_with(&[&examples.gate]);
    let text = project.read("brickship.yaml");
    std::fs::write(
        project.path().join("brickship.yaml"),
        format!(
            "{text}\ngates:\n  data-contract:\n    plugin: plugins/data_contract.wasm\n    mode: enforce\n    config: {{parameter: [target_catalog, catalog]}}\n"
        ),
    )
    .unwrap();
    // The example keeps its contract: dev writes to the dev catalog.
    project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run()
        .expect_code(0);

    // The dev overlay now writes to the prod catalog: refused before any mutation.
    project.edit(
        "brickship.yaml",
        "      catalog: dev\n      tag_environment: development",
        "      catalog: prod\n      tag_environment: development",
    );
    let seq = workspace.last_seq().await;
    let refused = project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run();
    refused.expect_code(3);
    assert!(refused.stderr.contains("data-contract"), "{}", refused.stderr);
    assert!(
        refused.stdout.contains("wrong-catalog") || refused.stderr.contains("wrong-catalog"),
        "{}\n{}",
        refused.stdout,
        refused.stderr
    );
    assert!(
        workspace.mutating_since(seq).await.is_empty(),
        "a refused deploy changes nothing"
    );

    // In monitor mode the same deploy goes through, with the verdict reported.
    project.edit("brickship.yaml", "    mode: enforce\n", "    mode: monitor\n");
    project
        .brickship(&workspace)
        .args(["deploy", PIPELINE, "-e", "dev"])
        .run()
        .expect_code(0);
    assert_eq!(fingerprint(&brickship_bin()), before, "brickship was not rebuilt");
}

#[test]
fn plugin_new_scaffolds_build_and_pass_plugin_test() {
    let before = fingerprint(&brickship_bin());
    let dir = tempfile::tempdir().unwrap();
    for (kind, artifact) in [
        ("gate", "max_tasks"),
        ("strategy", "all_at_once"),
        ("notifier", "post_json"),
    ] {
        let name = artifact.replace('_', "-");
        let project = dir.path().join(&name);
        let out = brickship_command()
            .current_dir(dir.path())
            .args(["plugin", "new", kind, &name, "--dir"])
            .arg(&project)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("brickship-plugin-sdk = { path = "),
            "found the SDK of this checkout: {manifest}"
        );
        let wasm = build_rust(&project, artifact);
        let tested = plugin_test(&wasm, &project.join("fixtures/input.json"));
        tested.expect_code(0);
        let result: Value = serde_json::from_str(&tested.stdout).unwrap();
        assert_eq!(result["kind"], kind, "{result}");
        assert_eq!(result["config_valid"], true);
    }
    // A second scaffold into a non-empty folder is refused.
    let again = brickship_command()
        .args(["plugin", "new", "gate", "max-tasks", "--dir"])
        .arg(dir.path().join("max-tasks"))
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(fingerprint(&brickship_bin()), before, "brickship was not rebuilt");
}
