//! Tidy: the rules of DESIGN.md that a machine can check, over every Rust source file of the
//! workspace. A failure names the file, the line and the rule.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && name != "node_modules" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Source lines before the file's `#[cfg(test)]` module (tests live at the end of a file).
fn production_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| !l.trim_start().starts_with("#[cfg(test)]"))
        .map(|(i, l)| (i + 1, l))
}

/// The code part of a line: no `//` comment, no string literal contents (naive but enough for
/// our style: one-line literals).
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let mut in_str = false;
    let mut prev = ' ';
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !in_str && c == '/' && chars.get(i + 1) == Some(&'/') {
            break;
        }
        if c == '"' && prev != '\\' && prev != '\'' {
            in_str = !in_str;
        } else if !in_str {
            out.push(c);
        }
        prev = c;
        i += 1;
    }
    out
}

fn violations(files: &[PathBuf], rule: &str, bad: impl Fn(&str) -> bool) -> Vec<String> {
    let mut found = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        for (n, line) in production_lines(&text) {
            if bad(&code_of(line)) {
                found.push(format!("{}:{n}: {rule}: {}", path.display(), line.trim()));
            }
        }
    }
    found
}

const SOURCE_DIRS: [&str; 6] = [
    "src",
    "cli/src",
    "browser/src",
    "www/src",
    "xtask/src",
    "bench",
];

/// The Rust files git tracks (so a colleague's scratch file in a shared tree is not judged),
/// or every file on disk when git is not available. Test-only files (`tests.rs`) are skipped.
fn workspace_sources() -> Vec<PathBuf> {
    let tracked = std::process::Command::new("git")
        .args(["ls-files", "--"])
        .args(SOURCE_DIRS)
        .current_dir(root())
        .output();
    let mut files = Vec::new();
    match tracked {
        Ok(out) if out.status.success() => files.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.ends_with(".rs"))
                .map(|l| root().join(l))
                .filter(|p| p.exists()),
        ),
        _ => {
            for dir in SOURCE_DIRS {
                rust_files(&root().join(dir), &mut files);
            }
        }
    }
    files.retain(|p| !p.ends_with("tests.rs"));
    files
}

#[test]
fn every_file_opens_with_a_module_paragraph() {
    let missing: Vec<String> = workspace_sources()
        .into_iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! paragraph:\n{}",
        missing.join("\n")
    );
}

#[test]
fn no_unwrap_or_expect_outside_tests() {
    let found = violations(
        &workspace_sources(),
        "unwrap/expect outside tests",
        |code| code.contains(".unwrap()") || code.contains(".expect("),
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_core_never_asks_the_world() {
    let core: Vec<PathBuf> = workspace_sources()
        .into_iter()
        .filter(|p| p.starts_with(root().join("src")))
        .collect();
    let forbidden = [
        "Instant",
        "SystemTime",
        "HashMap",
        "HashSet",
        "std::fs",
        "std::thread",
        "std::net",
        "async fn",
        ".await",
        "getrandom",
        "rand::",
        "web_sys",
        "js_sys",
        "wasm_bindgen::",
    ];
    let found = violations(
        &core,
        "clock, entropy, IO, threads, async or hash order in the core",
        |code| forbidden.iter().any(|f| code.contains(f)),
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn no_bare_commit_in_identifiers() {
    // Kafka overloads the word: say offset_commit, transaction_commit or high-watermark advance.
    let found = violations(&workspace_sources(), "bare \"commit\" identifier", |code| {
        code.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|ident| {
                ident.eq_ignore_ascii_case("commit") || ident.eq_ignore_ascii_case("commits")
            })
    });
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_engine_never_imports_its_checkers() {
    // Checkers are oracles outside the engine: if the engine used them, a shared mistake could
    // hide a bug. The session layer is a driver over the engine (it reads the checkers too), so
    // the engine imports it no more than a checker.
    let engine: Vec<PathBuf> = workspace_sources()
        .into_iter()
        .filter(|p| {
            p.starts_with(root().join("src"))
                && !p.starts_with(root().join("src/check"))
                && !p.starts_with(root().join("src/session"))
        })
        .collect();
    let found = violations(
        &engine,
        "engine imports a checker or the session layer",
        |code| {
            [
                "crate::check",
                "logsim::check",
                "crate::session",
                "logsim::session",
            ]
            .iter()
            .any(|path| code.contains(path))
        },
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
}
