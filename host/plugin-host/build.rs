//! Builds the `plugins/` workspace for `wasm32-wasip2` (release) and embeds the built-in
//! plugins (`plugins/{strategies,gates,notifiers}/<name>`) with `include_bytes!`.
//!
//! The nested build uses its own target directory (`<target>/wasm-plugins`, beside the outer
//! profile directories, or `$BRICKSHIP_WASM_TARGET_DIR`) so it never waits on the outer build's
//! lock and stays incremental across `build`, `test`, `clippy` and `bench`. Environment
//! variables cargo sets for build scripts that would leak into the nested build (flags,
//! wrappers, target overrides) are removed. Tests find the fixtures through the
//! `BRICKSHIP_PLUGIN_WASM_DIR` compile-time variable.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

const TARGET: &str = "wasm32-wasip2";
const KINDS: &[(&str, &str, &str)] = &[
    ("strategies", "strategy", "Strategy"),
    ("gates", "gate", "Gate"),
    ("notifiers", "notifier", "Notifier"),
];

/// Variables cargo sets (or users set for the outer build) that must not reach the nested one.
const LEAKY_ENV: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_PKG_NAME",
    "CARGO_CRATE_NAME",
    "CARGO_INCREMENTAL",
    "__CARGO_FIX_PLZ",
    "CARGO_CFG_TARGET_FEATURE",
    "CARGO_TARGET_WASM32_WASIP2_RUNNER",
];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../..");
    let plugins = root.join("plugins");
    let wit = root.join("wit");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed={}", plugins.display());
    println!("cargo:rerun-if-changed={}", wit.display());
    println!("cargo:rerun-if-env-changed=BRICKSHIP_WASM_TARGET_DIR");

    check_target_installed();

    let target_dir = match env::var_os("BRICKSHIP_WASM_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => wasm_target_dir(&out_dir),
    };
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(plugins.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for var in LEAKY_ENV {
        cmd.env_remove(var);
    }
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PROFILE_") || key.starts_with("CARGO_FEATURE_") {
            cmd.env_remove(key.as_ref());
        }
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the plugins: {e}"));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        panic!(
            "building the plugin components (plugins/, for {TARGET}) failed:\n{stderr}\n\
             reproduce with: cargo build --release --target {TARGET} --manifest-path plugins/Cargo.toml"
        );
    }

    let wasm_dir = target_dir.join(TARGET).join("release");
    println!("cargo:rustc-env=BRICKSHIP_PLUGIN_WASM_DIR={}", wasm_dir.display());

    let mut code = String::from("static BUILTINS: &[Builtin] = &[\n");
    for (folder, kind, variant) in KINDS {
        let dir = plugins.join(folder);
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("Cargo.toml").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            let file = wasm_dir.join(format!("{kind}_{}.wasm", name.replace('-', "_")));
            assert!(
                file.is_file(),
                "built-in `{name}` was not built to `{}`: its package must be named `{kind}-{name}`",
                file.display()
            );
            writeln!(
                code,
                "    Builtin {{ name: {name:?}, kind: PluginKind::{variant}, wasm: include_bytes!({:?}) }},",
                file.display().to_string()
            )
            .expect("writing to a String cannot fail");
        }
    }
    code.push_str("];\n");
    fs::write(out_dir.join("builtins.rs"), code).expect("write builtins.rs");
}

/// `<target>/wasm-plugins`: `OUT_DIR` is `<target>[/<triple>]/<profile>/build/<pkg>-<hash>/out`.
fn wasm_target_dir(out_dir: &Path) -> PathBuf {
    let build = out_dir
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"));
    match build.and_then(Path::parent).and_then(Path::parent) {
        Some(target) => target.join("wasm-plugins"),
        None => out_dir.join("wasm-plugins"),
    }
}

fn check_target_installed() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let libdir = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = libdir
        .as_deref()
        .is_some_and(|dir| dir.is_dir() && fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()));
    if !installed {
        panic!(
            "the `{TARGET}` Rust target is not installed, and brickship's built-in plugins are built for it; \
             run `rustup target add {TARGET}` (or `cargo xtask setup`) and build again"
        );
    }
}
