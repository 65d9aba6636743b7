//! Shared helpers: the example project, hermetic load requests and small temporary projects.

use std::path::{Path, PathBuf};

use deploy::project::{LoadRequest, RenderedPipeline, load};

pub fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/customer-360")
}

pub fn no_env(_: &str) -> Option<String> {
    None
}

pub fn request<'a>(dir: &'a Path, pipeline: &'a str, env: &'a str) -> LoadRequest<'a> {
    LoadRequest {
        env: &no_env,
        ..LoadRequest::new(dir, pipeline, env)
    }
}

/// Renders the example pipeline for `env`, panicking on errors.
pub fn rendered_example(env: &str) -> RenderedPipeline {
    let dir = example();
    let loaded = load(&request(&dir, "customer-360-pipeline", env));
    assert!(
        !loaded.diagnostics.has_errors(),
        "{}",
        loaded.diagnostics.render(false)
    );
    loaded.pipeline.expect("rendered")
}

pub fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}
