//! Generates `export_strategy!`, `export_gate!` and `export_notifier!`: each expands to a
//! `wit_bindgen::generate!` over the contract in `wit/` (inlined, so plugin crates need no path
//! to it) plus an adapter from the SDK's trait to the generated `Guest` trait.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let wit_dir = manifest_dir.join("../../wit");
    println!("cargo:rerun-if-changed={}", wit_dir.display());
    let wit = concatenate_wit(&wit_dir);

    let mut out = String::new();
    for (kind, trait_name, interface, fns) in [
        ("strategy", "Strategy", "strategy", STRATEGY_FNS),
        ("gate", "Gate", "gate", GATE_FNS),
        ("notifier", "Notifier", "notifier", NOTIFIER_FNS),
    ] {
        write!(
            out,
            r####"
/// Export `$ty` (which implements [`{trait_name}`]) as this crate's `{kind}-plugin` component.
///
/// Invoke once, at the crate root of a `cdylib` crate built for `wasm32-wasip2`.
#[macro_export]
macro_rules! export_{kind} {{
    ($ty:ty) => {{
        #[doc(hidden)]
        #[allow(unsafe_code, clippy::all, missing_docs, dead_code)]
        mod __brickship_bindings {{
            ::brickship_plugin_sdk::__wit_bindgen::generate!({{
                inline: r###"{wit}"###,
                world: "{kind}-plugin",
                runtime_path: "::brickship_plugin_sdk::__wit_bindgen::rt",
                with: {{
                    "brickship:plugin/types@0.1.0": ::brickship_plugin_sdk::types,
                    "brickship:plugin/log@0.1.0": ::brickship_plugin_sdk::__log,
                }},
            }});
        }}

        #[doc(hidden)]
        struct __BrickshipExport;

        impl __brickship_bindings::exports::brickship::plugin::{interface}::Guest for __BrickshipExport {{
{fns}
        }}

        __brickship_bindings::export!(__BrickshipExport with_types_in __brickship_bindings);
    }};
}}
"####,
            fns = fns.replace("TRAIT", &format!("::brickship_plugin_sdk::{trait_name}")),
        )
        .expect("writing to a String cannot fail");
    }
    let out_file =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("export_macros.rs");
    fs::write(&out_file, out).expect("write export_macros.rs");
}

const STRATEGY_FNS: &str = concat!(
    r#"
            fn describe() -> ::brickship_plugin_sdk::types::PluginInfo {
                <$ty as TRAIT>::describe()
            }
            fn validate_config(config: String) -> Result<(), Vec<::brickship_plugin_sdk::types::ConfigProblem>> {
                <$ty as TRAIT>::validate_config(&config)
            }"#,
    r#"
            fn step(
                deployment: ::brickship_plugin_sdk::types::Deployment,
                state: Option<String>,
                outcomes: Vec<::brickship_plugin_sdk::types::Outcome>,
            ) -> Result<::brickship_plugin_sdk::types::StepResult, ::brickship_plugin_sdk::types::PluginError> {
                <$ty as TRAIT>::step(deployment, state, outcomes)
            }"#
);

const GATE_FNS: &str = concat!(
    r#"
            fn describe() -> ::brickship_plugin_sdk::types::PluginInfo {
                <$ty as TRAIT>::describe()
            }
            fn validate_config(config: String) -> Result<(), Vec<::brickship_plugin_sdk::types::ConfigProblem>> {
                <$ty as TRAIT>::validate_config(&config)
            }"#,
    r#"
            fn evaluate(
                input: ::brickship_plugin_sdk::types::GateInput,
            ) -> Result<::brickship_plugin_sdk::types::Verdict, ::brickship_plugin_sdk::types::PluginError> {
                <$ty as TRAIT>::evaluate(input)
            }"#
);

const NOTIFIER_FNS: &str = concat!(
    r#"
            fn describe() -> ::brickship_plugin_sdk::types::PluginInfo {
                <$ty as TRAIT>::describe()
            }
            fn validate_config(config: String) -> Result<(), Vec<::brickship_plugin_sdk::types::ConfigProblem>> {
                <$ty as TRAIT>::validate_config(&config)
            }"#,
    r#"
            fn render(
                event: ::brickship_plugin_sdk::types::Event,
            ) -> Result<Vec<::brickship_plugin_sdk::types::Message>, ::brickship_plugin_sdk::types::PluginError> {
                <$ty as TRAIT>::render(event)
            }"#
);

/// All `.wit` files of the package as one document: one `package` line, then every file's
/// items in name order.
fn concatenate_wit(dir: &Path) -> String {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the WIT folder `{}`: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wit"))
        .collect();
    files.sort();
    let mut package = None;
    let mut body = String::new();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let text =
            fs::read_to_string(file).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", file.display()));
        for line in text.lines() {
            if line.trim_start().starts_with("package ") {
                package.get_or_insert_with(|| line.trim().to_owned());
            } else {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    let package = package.unwrap_or_else(|| panic!("no `package` line in `{}`", dir.display()));
    assert!(!body.contains("\"###"), "the WIT must not contain `\"###`");
    format!("{package}\n{body}")
}
