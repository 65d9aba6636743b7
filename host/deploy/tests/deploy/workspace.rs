//! Workspace checks (notebooks, files, node types, Spark versions, secret scopes) against a fake probe.

use std::collections::HashMap;
use std::sync::Mutex;

use deploy::diagnostics::{Diagnostics, code};
use deploy::project::load;
use deploy::validate::workspace::{ObjectKind, ProbeError, WorkspaceProbe, check_workspace};

use crate::support::{rendered_example, request, write};

/// A workspace with the local workspace's catalog and a configurable set of objects.
#[derive(Default)]
struct FakeProbe {
    objects: HashMap<String, ObjectKind>,
    fail_lists: bool,
    calls: Mutex<Vec<String>>,
}

impl FakeProbe {
    fn local() -> Self {
        Self::default()
    }

    fn record(&self, call: String) {
        if let Ok(mut c) = self.calls.lock() {
            c.push(call);
        }
    }

    fn list(&self, what: &str, items: &[&str]) -> Result<Vec<String>, ProbeError> {
        self.record(what.to_string());
        if self.fail_lists {
            return Err(ProbeError::new("connection refused"));
        }
        Ok(items.iter().map(|s| s.to_string()).collect())
    }
}

impl WorkspaceProbe for FakeProbe {
    async fn object_kind(&self, path: &str) -> Result<Option<ObjectKind>, ProbeError> {
        self.record(format!("get-status {path}"));
        let p = path.strip_prefix("/Workspace").unwrap_or(path);
        Ok(self.objects.get(p).copied())
    }

    async fn node_types(&self) -> Result<Vec<String>, ProbeError> {
        self.list("node-types", &["i3.xlarge", "i3.2xlarge", "m5d.large"])
    }

    async fn spark_versions(&self) -> Result<Vec<String>, ProbeError> {
        self.list("spark-versions", &["13.3.x-scala2.12", "15.4.x-scala2.12"])
    }

    async fn secret_scopes(&self) -> Result<Vec<String>, ProbeError> {
        self.list("secret-scopes", &["pipeline-secrets"])
    }
}

#[tokio::test]
async fn example_passes_because_sync_uploads_its_notebooks_and_wheel() {
    let p = rendered_example("prod");
    let probe = FakeProbe::local();
    let mut diags = Diagnostics::new(false);
    check_workspace(&p, &probe, &mut diags).await;
    assert!(diags.is_empty(), "{}", diags.render(false));
    let calls = probe.calls.lock().map(|c| c.clone()).unwrap_or_default();
    assert!(
        calls.iter().all(|c| !c.starts_with("get-status")),
        "synced paths need no lookup: {calls:?}"
    );
    assert_eq!(calls, vec!["node-types", "spark-versions"]);
}

const JOB: &str = "\
name: ws
job_clusters:
  - job_cluster_key: c
    new_cluster:
      spark_version: 13.3.x-scala2.13
      node_type_id: i3.xlarg
      num_workers: 1
      spark_conf:
        spark.secret: \"{{secrets/pipline-secrets/token}}\"
        spark.ok: \"{{secrets/pipeline-secrets/token}}\"
tasks:
  - task_key: a
    job_cluster_key: c
    notebook_task:
      notebook_path: /Workspace/shared/missing
  - task_key: b
    job_cluster_key: c
    notebook_task:
      notebook_path: /Workspace/shared/folder
  - task_key: c
    job_cluster_key: c
    spark_python_task:
      python_file: /Workspace/shared/present.py
    libraries:
      - whl: /Workspace/libs/gone.whl
      - whl: dbfs:/libs/elsewhere.whl
  - task_key: d
    job_cluster_key: c
    notebook_task:
      notebook_path: /shared/present
";

#[tokio::test]
async fn missing_objects_and_unknown_catalog_entries_are_findings_with_locations() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "brickship.yaml",
        "project: ws\nenvironments:\n  dev: {workspace: {host: local}}\n",
    );
    write(dir.path(), "pipelines/p/job.yaml", JOB);
    let loaded = load(&request(dir.path(), "p", "dev"));
    let p = loaded.pipeline.expect("rendered");
    let mut probe = FakeProbe::local();
    probe
        .objects
        .insert("/shared/folder".into(), ObjectKind::Directory);
    probe
        .objects
        .insert("/shared/present.py".into(), ObjectKind::File);
    probe
        .objects
        .insert("/shared/present".into(), ObjectKind::Notebook);
    let mut diags = Diagnostics::new(false);
    check_workspace(&p, &probe, &mut diags).await;
    let found: Vec<(&str, u32)> = diags
        .sorted()
        .iter()
        .map(|d| (d.code, d.location.as_ref().map_or(0, |l| l.line)))
        .collect();
    assert_eq!(
        found,
        vec![
            (code::SPARK_VERSION, 5),
            (code::NODE_TYPE, 6),
            (code::SECRET_SCOPE, 9),
            (code::WORKSPACE_PATH, 15),
            (code::WORKSPACE_PATH, 19),
            (code::WORKSPACE_PATH, 25),
        ],
        "{}",
        diags.render(false)
    );
    let text = diags.render(false);
    assert!(
        text.contains("error[E028]: node type `i3.xlarg` does not exist in this workspace"),
        "{text}"
    );
    assert!(text.contains("did you mean `i3.xlarge`?"), "{text}");
    assert!(text.contains("did you mean `13.3.x-scala2.12`?"), "{text}");
    assert!(text.contains("did you mean `pipeline-secrets`?"), "{text}");
    assert!(
        text.contains("`/Workspace/shared/folder` is a folder, not a notebook"),
        "{text}"
    );
    assert!(
        text.contains("file `/Workspace/libs/gone.whl` does not exist in the workspace"),
        "{text}"
    );
    assert!(text.contains("add its folder to `sync:`"), "{text}");
}

#[tokio::test]
async fn probe_failures_are_warnings_not_errors() {
    let p = rendered_example("dev");
    let probe = FakeProbe {
        fail_lists: true,
        ..FakeProbe::default()
    };
    let mut diags = Diagnostics::new(false);
    check_workspace(&p, &probe, &mut diags).await;
    assert!(!diags.has_errors());
    assert_eq!(diags.warning_count(), 2, "{}", diags.render(false));
    assert!(diags.iter().all(|d| d.code == code::PROBE_FAILED));
    assert!(
        diags
            .render(false)
            .contains("could not list the workspace's node types: connection refused")
    );
}
