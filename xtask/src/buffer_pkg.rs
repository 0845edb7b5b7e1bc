//! `cargo xtask buffer-pkg [--out DIR]`: the edge buffer's JS package. Builds the `browser`
//! crate with its `js-api` feature for wasm32, runs wasm-bindgen (`--target web`, so the same
//! files load in a page, a worker, a service worker and Node) and wasm-opt, and copies the demo
//! page of `www/buffer/` next to `pkg/`.
//!
//! Trunk runs it as a post-build hook (Trunk.toml), writing into its staging directory, so
//! `dist/buffer/` always matches the app it ships with; `--out` (default `target/buffer`) is
//! for the tests and the benchmark.

use crate::cmd::{Failure, Project};
use std::path::{Path, PathBuf};

const WASM: &str = "wasm32-unknown-unknown";

pub fn run(project: &Project, args: &[String]) -> Result<(), Failure> {
    let out = match args {
        [] => match std::env::var_os("TRUNK_STAGING_DIR") {
            Some(staging) => PathBuf::from(staging).join("buffer"),
            None => crate::bench::target_dir(project).join("buffer"),
        },
        [flag, dir] if flag == "--out" => project.root.join(dir),
        [other, ..] => {
            return Err(Failure::usage(format!(
                "unknown option `{other}` for `buffer-pkg`; valid options: --out DIR"
            )))
        }
    };
    build(project, &out)
}

pub fn build(project: &Project, out: &Path) -> Result<(), Failure> {
    project
        .cargo(&[
            "build",
            "--release",
            "--target",
            WASM,
            "-p",
            "logsim-browser",
            "--features",
            "js-api",
            "--lib",
        ])
        .run("build the buffer's wasm")?;
    let target = crate::bench::target_dir(project);
    let wasm = target
        .join(WASM)
        .join("release")
        .join("logsim_browser.wasm");
    let pkg = out.join("pkg");
    std::fs::create_dir_all(&pkg)
        .map_err(|e| Failure::new(format!("cannot create {}: {e}", pkg.display())))?;
    project
        .command(
            "wasm-bindgen",
            &[
                "--target",
                "web",
                "--out-name",
                "logsim_buffer",
                "--out-dir",
                &pkg.to_string_lossy(),
                &wasm.to_string_lossy(),
            ],
        )
        .run("wasm-bindgen (buffer)")?;
    let bg = pkg.join("logsim_buffer_bg.wasm");
    let bg = bg.to_string_lossy();
    project
        .command(
            "wasm-opt",
            &[
                "-Oz",
                "--enable-bulk-memory",
                "--enable-nontrapping-float-to-int",
                "--enable-reference-types",
                "--enable-sign-ext",
                &bg,
                "-o",
                &bg,
            ],
        )
        .run("wasm-opt (buffer)")?;
    let demo = project.root.join("www").join("buffer");
    for entry in std::fs::read_dir(&demo)
        .map_err(|e| Failure::new(format!("cannot read {}: {e}", demo.display())))?
    {
        let entry = entry.map_err(|e| Failure::new(e.to_string()))?;
        if entry.path().is_file() {
            std::fs::copy(entry.path(), out.join(entry.file_name())).map_err(|e| {
                Failure::new(format!("cannot copy {}: {e}", entry.path().display()))
            })?;
        }
    }
    println!("xtask: the buffer package is in {}", out.display());
    Ok(())
}
