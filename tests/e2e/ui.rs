//! Bad input through the binary: every `tests/ui/<case>/` fails with its exact findings, exit
//! code 2 and no change to the workspace.
//!
//! The same cases are checked at the library level by `host/deploy/tests/ui.rs` (which can
//! rewrite the expectations with `UPDATE_UI=1`); here `brickship deploy` runs on each case against
//! a served local workspace whose request log proves nothing was changed.

use std::path::Path;
use std::process::Stdio;

use tests::{Project, ServedWorkspace, brickship_command, repo_root};

/// The arguments and environment of one case (see `host/deploy/tests/ui.rs` for the format).
fn case_invocation(dir: &Path) -> (Vec<String>, Vec<(String, String)>) {
    let args = std::fs::read_to_string(dir.join("args")).unwrap_or_else(|_| "p".into());
    let env = std::fs::read_to_string(dir.join("env"))
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (key, value) = line.split_once('=').expect("NAME=VALUE");
            (key.to_owned(), value.to_owned())
        })
        .collect();
    (args.split_whitespace().map(str::to_owned).collect(), env)
}

#[tokio::test]
async fn every_bad_input_case_fails_with_its_findings_exit_2_and_no_change() {
    let workspace = ServedWorkspace::start(1000.0);
    let root = repo_root().join("tests/ui");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 30,
        "issue 3 asks for at least 30 cases, found {}",
        cases.len()
    );
    let seq = workspace.last_seq().await;
    let mut failures = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let expected = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
        let (findings, summary) = expected
            .trim_end()
            .rsplit_once('\n')
            .unwrap_or(("", expected.trim_end()));
        let (args, env) = case_invocation(dir);
        let mut cmd = brickship_command();
        cmd.current_dir(dir)
            .arg("deploy")
            .args(&args)
            .arg("--project")
            .arg(dir)
            .args(["--host", workspace.url()]);
        for (key, value) in env {
            cmd.env(key, value);
        }
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let want = format!("{findings}\nerror: validation failed: {summary}\n");
        if output.status.code() != Some(2) {
            failures.push(format!(
                "{name}: exit code {:?}, want 2\n{stderr}",
                output.status.code()
            ));
        } else if !stderr.contains(want.trim_start()) {
            failures.push(format!(
                "{name}: stderr differs\n--- want\n{want}\n--- got\n{stderr}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    let mutating = workspace.mutating_since(seq).await;
    assert!(
        mutating.is_empty(),
        "bad input changed the workspace: {mutating:#?}"
    );
}

/// `brickship … 2>&1 | head`: the reader goes away before the command has said anything. The
/// command still ends with its own exit code (2: the pipeline does not exist), not a panic (101)
/// on its first write to the closed stderr.
#[test]
fn closed_output_pipes_do_not_turn_an_error_into_a_panic() {
    let project = Project::example();
    for args in [
        ["validate", "nope", "--environment", "dev"],
        ["deploy", "nope", "--environment", "dev"],
    ] {
        let mut child = brickship_command()
            .current_dir(project.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn brickship");
        drop(child.stdout.take());
        drop(child.stderr.take());
        let status = child.wait().expect("wait for brickship");
        assert_eq!(status.code(), Some(2), "`brickship {}`", args.join(" "));
    }
}

/// `brickship workspace serve` refuses what it cannot honour with exit code 2 and says why,
/// instead of starting: a non-loopback address, a run speed that is not a positive number.
#[test]
fn workspace_serve_refuses_bad_arguments_with_exit_2() {
    for (args, says) in [
        (vec!["--addr", "0.0.0.0:0"], "is not a loopback address"),
        (vec!["--run-speed", "0"], "must be a positive number"),
        (vec!["--run-speed=-5"], "must be a positive number"),
    ] {
        let output = brickship_command()
            .args(["workspace", "serve"])
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .expect("run brickship");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
