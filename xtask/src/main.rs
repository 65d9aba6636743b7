//! brickship's build helper: `cargo xtask <command>`.
//!
//! * `setup` — installs what builds and tests need: the `wasm32-wasip2` Rust target and a Python
//!   virtual environment at `target/venv` with the packages in `xtask/requirements.txt`
//!   (`databricks-sdk` for the compatibility test). Idempotent: a stamp file records what was
//!   installed, so a second run does nothing.
//! * `test` — `setup`, then every test: the host workspace (`cargo nextest run --workspace`) and
//!   the plugin guests (`plugins/`, natively). This is the README's test command and what CI runs.
//! * `demo` — the main job: a real deploy of the example pipeline to the local workspace.
//! * `bench [workspace|deploy|plugins|rollouts|all] [args]` — `setup`, the release binary, then
//!   the benchmarks recorded in BENCHMARKS.md: `workspace` is `cargo bench -p tests --bench
//!   workspace_load` (local workspace throughput, client latency), `deploy` is
//!   `benches/deploy_vs_sdk.py` (`brickship deploy` versus a databricks-sdk script), `plugins`
//!   is `cargo bench -p plugin-host` (every built-in and the examples: compile, cached load,
//!   call) then `benches/plugin_overhead.py` (what plugins add to a deploy), `rollouts` is
//!   `benches/rollouts.py` (blue-green rollback, full canary). `args` go to the Python script of
//!   the one benchmark named. Default `all`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_else(|| "help".to_owned());
    let rest: Vec<String> = args.collect();
    let root = workspace_root();
    match command.as_str() {
        "setup" => setup(&root),
        "test" => {
            setup(&root)?;
            test(&root, &rest)
        }
        "demo" => {
            setup(&root)?;
            demo(&root, &rest)
        }
        "bench" => {
            let (selected, extra) = bench_selection(&rest)?;
            setup(&root)?;
            bench(&root, &selected, extra)
        }
        "help" | "--help" | "-h" => {
            println!("usage: cargo xtask <setup|test|demo|bench> [args]");
            println!(
                "  setup  install the wasm32-wasip2 target and the Python test environment (target/venv)"
            );
            println!("  test   setup, then run every test (host workspace and plugin guests)");
            println!("  demo   deploy the example pipeline to the local workspace");
            println!(
                "  bench  [workspace|deploy|plugins|rollouts|all] run the benchmarks of BENCHMARKS.md on the release binary"
            );
            Ok(())
        }
        other => bail!("unknown xtask command `{other}`: use setup, test, demo or bench"),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs a command, failing with its command line when it does not succeed.
fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: {shown}");
    let status = cmd.status().with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn setup(root: &Path) -> anyhow::Result<()> {
    ensure_wasm_target()?;
    ensure_venv(root)?;
    Ok(())
}

fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("cannot run `rustup`: brickship builds its plugins with rustup's wasm32-wasip2 target")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == "wasm32-wasip2")
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))
}

/// The Python interpreter of the test virtual environment.
pub fn venv_python(root: &Path) -> PathBuf {
    root.join("target/venv/bin/python")
}

fn ensure_venv(root: &Path) -> anyhow::Result<()> {
    let requirements_path = root.join("xtask/requirements.txt");
    let requirements = std::fs::read_to_string(&requirements_path)
        .with_context(|| format!("cannot read `{}`", requirements_path.display()))?;
    let venv = root.join("target/venv");
    let stamp = venv.join(".brickship-requirements");
    let python = venv_python(root);
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|done| done == requirements) {
        return Ok(());
    }
    if !python.exists() {
        let system_python = if Command::new("python3").arg("--version").output().is_ok() {
            "python3"
        } else {
            "python"
        };
        run(Command::new(system_python).args(["-m", "venv"]).arg(&venv))?;
    }
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--upgrade",
            "-r",
        ])
        .arg(&requirements_path))?;
    std::fs::write(&stamp, requirements).with_context(|| format!("cannot write `{}`", stamp.display()))?;
    Ok(())
}

fn test(root: &Path, extra: &[String]) -> anyhow::Result<()> {
    let python = venv_python(root);
    let nextest = Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    // The end-to-end tests drive the real `brickship` binary, which cargo builds only for the
    // brickship package's own tests: build it (fresh) in the profile the tests run in.
    run(Command::new("cargo")
        .args(["build", "--quiet", "-p", "brickship"])
        .args(cargo_profile(extra, nextest))
        .current_dir(root))?;
    let mut cmd = Command::new("cargo");
    if nextest {
        cmd.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        cmd.args(["test", "--workspace", "--no-fail-fast"]);
    }
    cmd.args(extra)
        .current_dir(root)
        .env("BRICKSHIP_TEST_PYTHON", &python);
    run(&mut cmd)?;
    let plugins = root.join("plugins/Cargo.toml");
    if plugins.exists() {
        run(Command::new("cargo")
            .args(["test", "--quiet", "--manifest-path"])
            .arg(&plugins)
            .current_dir(root))?;
    }
    Ok(())
}

/// The cargo profile the test arguments select, as `cargo build` arguments: `--release`, or
/// `--cargo-profile P` for nextest (whose own `--profile` is a nextest profile), `--profile P`
/// for `cargo test`.
fn cargo_profile(extra: &[String], nextest: bool) -> Vec<String> {
    let flag = if nextest { "--cargo-profile" } else { "--profile" };
    let mut args = extra.iter();
    while let Some(arg) = args.next() {
        if arg == "--release" {
            return vec![arg.clone()];
        }
        let profile = if arg == flag {
            args.next().cloned()
        } else {
            arg.strip_prefix(flag)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_owned)
        };
        if let Some(profile) = profile {
            return vec!["--profile".to_owned(), profile];
        }
    }
    Vec::new()
}

fn demo(root: &Path, extra: &[String]) -> anyhow::Result<()> {
    // The dev profile shares its build with the tests (dependencies are optimised there too).
    run(Command::new("cargo")
        .args(["build", "--quiet", "-p", "brickship"])
        .current_dir(root))?;
    let brickship = root.join("target/debug/brickship");
    let project = root.join("examples/customer-360");
    let mut cmd = Command::new(&brickship);
    cmd.args([
        "deploy",
        "customer-360-pipeline",
        "--environment",
        "dev",
        "--project",
    ])
    .arg(&project)
    .args(extra);
    run(&mut cmd)
}

/// The benchmarks `cargo xtask bench` knows, in the order `all` runs them.
const BENCHMARKS: [&str; 4] = ["workspace", "deploy", "plugins", "rollouts"];

/// `[workspace|deploy|plugins|rollouts|all] [args]` -> (benchmarks to run, args for the script).
fn bench_selection(args: &[String]) -> anyhow::Result<(Vec<&'static str>, &[String])> {
    let (which, extra) = match args.split_first() {
        Some((first, rest)) => (first.as_str(), rest),
        None => ("all", args),
    };
    if which == "all" {
        return Ok((BENCHMARKS.to_vec(), extra));
    }
    match BENCHMARKS.iter().find(|name| **name == which) {
        Some(name) => Ok((vec![*name], extra)),
        None => bail!("unknown benchmark `{which}`: use workspace, deploy, plugins, rollouts or all"),
    }
}

/// Builds the release binary, then runs the selected benchmarks.
fn bench(root: &Path, selected: &[&str], extra: &[String]) -> anyhow::Result<()> {
    // Measurements use the optimised binary; `cargo bench` builds into the same target/release.
    run(Command::new("cargo")
        .args(["build", "--release", "-p", "brickship"])
        .current_dir(root))?;
    for name in selected {
        match *name {
            "workspace" => run(Command::new("cargo")
                .args(["bench", "-p", "tests", "--bench", "workspace_load"])
                .current_dir(root))?,
            "deploy" => run(Command::new(venv_python(root))
                .arg(root.join("benches/deploy_vs_sdk.py"))
                .args(extra)
                .current_dir(root))?,
            "plugins" => {
                // The criterion numbers first: plugin_overhead.py reads them from target/criterion.
                run(Command::new("cargo")
                    .args(["bench", "-p", "plugin-host"])
                    .current_dir(root))?;
                run(Command::new(venv_python(root))
                    .arg(root.join("benches/plugin_overhead.py"))
                    .args(extra)
                    .current_dir(root))?;
            }
            "rollouts" => run(Command::new(venv_python(root))
                .arg(root.join("benches/rollouts.py"))
                .args(extra)
                .current_dir(root))?,
            other => bail!("unknown benchmark `{other}`: use {}", BENCHMARKS.join(", ")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::cargo_profile;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn the_binary_is_built_in_the_profile_the_tests_run_in() {
        assert!(cargo_profile(&args(&["-E", "test(deploy)"]), true).is_empty());
        assert_eq!(cargo_profile(&args(&["--release"]), true), args(&["--release"]));
        assert_eq!(
            cargo_profile(&args(&["--cargo-profile", "ci"]), true),
            args(&["--profile", "ci"])
        );
        assert_eq!(
            cargo_profile(&args(&["--cargo-profile=ci"]), true),
            args(&["--profile", "ci"])
        );
        // nextest's own --profile picks a nextest profile, not a cargo one.
        assert!(cargo_profile(&args(&["--profile", "ci"]), true).is_empty());
        assert_eq!(
            cargo_profile(&args(&["--profile", "ci"]), false),
            args(&["--profile", "ci"])
        );
    }
}
