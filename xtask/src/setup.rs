//! `cargo xtask setup`: bring a fresh Debian machine to the verified tool versions of
//! docs/toolchain notes, and do nothing (quickly) when they are already there.
//!
//! Each tool is probed first and installed only when missing or at the wrong version; after an
//! install it is probed again, so a stale binary earlier on `PATH` is reported, not ignored.

use std::path::Path;
use std::time::{Instant, SystemTime};

use crate::cmd::{Failure, Project};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// 0.22 needs rustc >= 1.96.1.
const TRUNK_VERSION: &str = "0.21.14";
/// Must equal the `wasm-bindgen = "=0.2.130"` pin in Cargo.toml: the CLI refuses other versions.
const WASM_BINDGEN_VERSION: &str = "0.2.130";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub fn run(project: &Project) -> Result<(), Failure> {
    let started = Instant::now();
    println!("xtask: setup");
    node(project)?;
    wasm_target(project)?;
    trunk(project)?;
    wasm_bindgen(project)?;
    npm_packages(project)?;
    chromium(project)?;
    println!(
        "xtask: setup done in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn node(project: &Project) -> Result<(), Failure> {
    let node = project.command("node", &["--version"]).probe();
    let npm = project.command("npm", &["--version"]).probe();
    match (node, npm) {
        (Some(node), Some(npm)) => {
            println!("ok node {node}, npm {npm}");
            Ok(())
        }
        _ => Err(Failure::new(
            "setup: node and npm are required (Node 20 or later) and were not found on PATH; \
             install them (e.g. `apt-get install -y nodejs npm`) and rerun",
        )),
    }
}

fn wasm_target(project: &Project) -> Result<(), Failure> {
    let installed = project
        .command("rustup", &["target", "list", "--installed"])
        .probe()
        .ok_or_else(|| {
            Failure::new("setup: `rustup target list --installed` failed; is rustup installed?")
        })?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        println!("ok {WASM_TARGET} target");
        return Ok(());
    }
    println!("installing {WASM_TARGET} target (rustup target add {WASM_TARGET})");
    project
        .command("rustup", &["target", "add", WASM_TARGET])
        .run("setup: wasm32 target")
}

fn trunk(project: &Project) -> Result<(), Failure> {
    let crate_at_version = format!("trunk@{TRUNK_VERSION}");
    ensure_cargo_tool(
        project,
        &["trunk"],
        TRUNK_VERSION,
        // --locked: trunk's own lockfile is known to build with rustc 1.95.
        &["install", "--locked", "--force", &crate_at_version],
        "about 6.5 minutes",
    )
}

fn wasm_bindgen(project: &Project) -> Result<(), Failure> {
    ensure_cargo_tool(
        project,
        &["wasm-bindgen", "wasm-bindgen-test-runner"],
        WASM_BINDGEN_VERSION,
        // No --locked: wasm-bindgen-cli's lockfile names a crate version the registry lacks.
        &[
            "install",
            "--force",
            "wasm-bindgen-cli",
            "--version",
            WASM_BINDGEN_VERSION,
        ],
        "about 2.5 minutes",
    )
}

/// Probes every binary of one `cargo install`; installs when any is missing or at another version.
fn ensure_cargo_tool(
    project: &Project,
    binaries: &[&str],
    version: &str,
    install_args: &[&str],
    duration_hint: &str,
) -> Result<(), Failure> {
    let name = binaries[0];
    let mismatches = |project: &Project| -> Vec<String> {
        binaries
            .iter()
            .filter_map(|binary| match tool_version(project, binary) {
                Some(found) if found == version => None,
                Some(found) => Some(format!("{binary} is {found}")),
                None => Some(format!("{binary} not found")),
            })
            .collect()
    };
    let before = mismatches(project);
    if before.is_empty() {
        println!("ok {name} {version}");
        return Ok(());
    }
    println!(
        "installing {name} {version} ({}; cargo {}, {duration_hint})",
        before.join(", "),
        install_args.join(" ")
    );
    project
        .cargo(install_args)
        .run(&format!("setup: installing {name} {version}"))?;
    let after = mismatches(project);
    if after.is_empty() {
        println!("ok {name} {version}");
        Ok(())
    } else {
        Err(Failure::new(format!(
            "setup: installed {name} {version}, but {}; check that no other copy comes \
             earlier on PATH (which {name})",
            after.join(", ")
        )))
    }
}

/// `trunk --version` prints `trunk 0.21.14`; `wasm-bindgen --version` prints `wasm-bindgen 0.2.130`.
fn tool_version(project: &Project, binary: &str) -> Option<String> {
    let output = project.command(binary, &["--version"]).probe()?;
    let first_line = output.lines().next()?;
    first_line.split_whitespace().nth(1).map(str::to_string)
}

fn npm_packages(project: &Project) -> Result<(), Failure> {
    let lock = project.root.join("package-lock.json");
    let installed_marker = project.root.join("node_modules").join(".package-lock.json");
    let (args, reason): (&[&str], &str) = if !lock.exists() {
        (&["install"], "no package-lock.json yet")
    } else if !installed_marker.exists() {
        (&["ci"], "node_modules missing")
    } else if modified(&lock)? > modified(&installed_marker)? {
        (&["ci"], "package-lock.json is newer than node_modules")
    } else {
        println!("ok npm packages (node_modules matches package-lock.json)");
        return Ok(());
    };
    println!("installing npm packages ({reason}; npm {})", args.join(" "));
    project.command("npm", args).run("setup: npm packages")?;
    println!("ok npm packages");
    Ok(())
}

fn modified(path: &Path) -> Result<SystemTime, Failure> {
    std::fs::metadata(path)
        .and_then(|metadata| metadata.modified())
        .map_err(|e| {
            Failure::new(format!(
                "setup: cannot read mtime of {}: {e}",
                path.display()
            ))
        })
}

fn chromium(project: &Project) -> Result<(), Failure> {
    if !(Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()) {
        install_chromium(project)?;
    }
    let browser = project.command(CHROMIUM, &["--version"]).probe();
    let driver = project.command(CHROMEDRIVER, &["--version"]).probe();
    let (browser, driver) = match (browser, driver) {
        (Some(browser), Some(driver)) => (browser, driver),
        _ => {
            return Err(Failure::new(format!(
                "setup: {CHROMIUM} or {CHROMEDRIVER} exists but `--version` fails; \
                 reinstall with `apt-get install --reinstall -y chromium chromium-driver`"
            )))
        }
    };
    let major = |text: &str| {
        text.split_whitespace()
            .find(|word| word.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .and_then(|version| version.split('.').next())
            .map(str::to_string)
    };
    if major(&browser) != major(&driver) {
        return Err(Failure::new(format!(
            "setup: chromium and chromedriver disagree ({browser} / {driver}); \
             run `apt-get install -y chromium chromium-driver` to upgrade both"
        )));
    }
    println!("ok {browser}");
    println!("ok {}", driver.split(" (").next().unwrap_or(&driver));
    Ok(())
}

fn install_chromium(project: &Project) -> Result<(), Failure> {
    println!("installing chromium + chromium-driver (apt-get, about 20 s)");
    let is_root = project
        .command("id", &["-u"])
        .probe()
        .is_some_and(|uid| uid == "0");
    let apt = |args: &[&str]| {
        let (program, mut full): (&str, Vec<&str>) = if is_root {
            ("apt-get", Vec::new())
        } else {
            ("sudo", vec!["apt-get"])
        };
        full.extend_from_slice(args);
        project
            .command(program, &full)
            .env("DEBIAN_FRONTEND", "noninteractive")
    };
    apt(&["update"]).run("setup: apt-get update")?;
    apt(&["install", "-y", "chromium", "chromium-driver"]).run("setup: installing chromium")?;
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "setup: apt-get installed chromium, but {CHROMIUM} or {CHROMEDRIVER} is still missing"
        )))
    }
}
