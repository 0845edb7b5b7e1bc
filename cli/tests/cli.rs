//! The `logsim` binary as a user runs it: the seed first, one line per event, the trace hash
//! last; segments in Kafka's layout that an independent decoder reads; a rerun on the same data
//! directory continues the run; bad flags and files exit non-zero with a message.

use std::path::Path;
use std::process::{Command, Output};

fn logsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_logsim"))
        .args(args)
        .output()
        .expect("run logsim")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn hash_line(text: &str) -> String {
    text.lines()
        .last()
        .filter(|l| l.starts_with("trace hash "))
        .unwrap_or_else(|| panic!("no trace hash line at the end of:\n{text}"))
        .to_owned()
}

#[test]
fn run_prints_seed_first_trace_and_hash_and_is_deterministic() {
    let a = logsim(&[
        "run",
        "--scenario",
        "hello",
        "--seed",
        "42",
        "--duration-ms",
        "2000",
    ]);
    assert!(a.status.success(), "{}", stderr(&a));
    let text = stdout(&a);
    assert_eq!(text.lines().next(), Some("seed 42"));
    assert!(text.contains("producer   send"), "{text}");
    assert!(text.contains("broker-0   append events-"), "{text}");
    assert!(text.contains("consumer   poll events-"), "{text}");
    let b = logsim(&["run", "--seed", "42", "--duration-ms", "2000", "--quiet"]);
    assert_eq!(hash_line(&text), hash_line(&stdout(&b)));
    let c = logsim(&["run", "--seed", "43", "--duration-ms", "2000", "--quiet"]);
    assert_ne!(hash_line(&text), hash_line(&stdout(&c)));
}

#[test]
fn data_dir_holds_kafka_readable_segments_and_a_rerun_continues() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().to_str().expect("utf-8 path");
    // 13.5 s falls between two broker flushes: the checkpoint the CLI writes on exit must not
    // change the continued trace.
    let first = logsim(&[
        "run",
        "--seed",
        "5",
        "--duration-ms",
        "13500",
        "--data-dir",
        d,
        "--quiet",
    ]);
    assert!(first.status.success(), "{}", stderr(&first));
    let second = logsim(&["run", "--duration-ms", "40000", "--data-dir", d, "--quiet"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("resumed at step"),
        "{}",
        stdout(&second)
    );
    let straight = logsim(&["run", "--seed", "5", "--duration-ms", "40000", "--quiet"]);
    assert_eq!(hash_line(&stdout(&second)), hash_line(&stdout(&straight)));

    // Every .log file is a sequence of v2 record batches that kafka-protocol decodes, with
    // offsets continuing across segments.
    let mut checked = 0;
    for p in 0..3 {
        let part = Path::new(d).join(format!("events-{p}"));
        let mut logs: Vec<_> = std::fs::read_dir(&part)
            .expect("partition dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        logs.sort();
        assert!(!logs.is_empty());
        for path in logs {
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            assert_eq!(name.len(), 20, "20-digit base offset: {name}");
            let base: i64 = name.parse().expect("numeric base offset");
            let bytes = std::fs::read(&path).expect("read segment");
            if bytes.is_empty() {
                continue;
            }
            let mut buf = bytes::Bytes::from(bytes);
            let decoded = kafka_protocol::records::RecordBatchDecoder::decode(&mut buf)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let first = decoded.records.first().expect("records").offset;
            assert_eq!(first, base, "{} starts at its base offset", path.display());
            checked += 1;
        }
    }
    assert!(
        checked >= 3,
        "expected segments with data, checked {checked}"
    );
}

#[test]
fn bad_input_exits_non_zero_with_a_reason() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["run", "--seed", "abc"],
            "invalid value 'abc' for '--seed",
        ),
        (
            vec!["run", "--scenario", "no-such-scenario"],
            "unknown scenario \"no-such-scenario\"",
        ),
        (vec!["run", "--bogus"], "unexpected argument '--bogus'"),
        (vec!["bench", "nope"], "unknown benchmark \"nope\""),
    ];
    for (args, message) in cases {
        let o = logsim(&args);
        assert!(!o.status.success(), "{args:?} should fail");
        assert!(stderr(&o).contains(message), "{args:?}: {}", stderr(&o));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for (content, message) in [
        ("{not json", "key must be a string"),
        (r#"{"scenario":"other"}"#, "unknown scenario \"other\""),
        (
            r#"{"scenario":"hello","config":{"partitions":0}}"#,
            "partitions = 0",
        ),
        (
            r#"{"scenario":"hello","config":{"log":{"segment.bytes":-5}}}"#,
            "segment.bytes",
        ),
        (r#"{"scenario":"hello","typo":1}"#, "unknown field `typo`"),
    ] {
        let path = dir.path().join("s.json");
        std::fs::write(&path, content).expect("write scenario");
        let o = logsim(&["run", "--scenario", path.to_str().unwrap()]);
        assert!(!o.status.success(), "{content} should fail");
        assert!(stderr(&o).contains(message), "{content}: {}", stderr(&o));
    }
    // A data directory that is not a session is refused, and nothing in it is touched.
    let junk = dir.path().join("junk");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("notes.txt"), b"mine").unwrap();
    let o = logsim(&["run", "--data-dir", junk.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no session.json"), "{}", stderr(&o));
    assert_eq!(std::fs::read(junk.join("notes.txt")).unwrap(), b"mine");
}

#[test]
fn a_scenario_file_sets_seed_and_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hello.json");
    std::fs::write(
        &path,
        r#"{"scenario":"hello","seed":11,"config":{"partitions":5,"log":{"segment.bytes":4096}}}"#,
    )
    .unwrap();
    let o = logsim(&[
        "run",
        "--scenario",
        path.to_str().unwrap(),
        "--duration-ms",
        "3000",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(text.lines().next(), Some("seed 11"));
    assert!(text.contains("events-4:"), "{text}");
}

#[test]
fn drill_runs_swarm_seeds_and_prints_a_table() {
    let o = logsim(&["drill", "--seeds", "3", "--start", "1"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("seeds run                    3"), "{text}");
    assert!(text.contains("failures (bugs, liveness)    0"), "{text}");
    let one = logsim(&["drill", "--seed", "2"]);
    assert!(one.status.success(), "{}", stderr(&one));
    assert!(stdout(&one).lines().next() == Some("seed 2"));
    assert!(stdout(&one).contains("trace hash "));
    let bad = logsim(&["drill", "--seeds", "0"]);
    assert!(!bad.status.success());
}

/// A campaign split across machines: each shard writes --json, --merge joins them and
/// refuses a missing shard, a duplicate, an unfinished file and garbage, naming the file.
#[test]
fn drill_shards_write_json_and_merge_into_one_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    for (shard, name) in [("0/2", "a.json"), ("1/2", "b.json")] {
        let o = logsim(&[
            "drill",
            "--start",
            "5",
            "--seeds",
            "3",
            "--shard",
            shard,
            "--json",
            &file(name),
        ]);
        assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    }
    let a = std::fs::read_to_string(file("a.json")).expect("a.json");
    assert!(a.contains(r#""shard":{"index":0,"count":2}"#), "{a}");
    assert!(a.contains(r#""seeds_run":2"#), "seeds 5 and 7: {a}");
    let merged = logsim(&["drill", "--merge", &file("a.json"), &file("b.json")]);
    assert!(merged.status.success(), "{}", stderr(&merged));
    let text = stdout(&merged);
    assert!(text.contains("seeds 5..=7"), "{text}");
    assert!(text.contains("seeds run                    3"), "{text}");
    let missing = logsim(&["drill", "--merge", &file("a.json")]);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("shard(s) 1/2 missing"),
        "{}",
        stderr(&missing)
    );
    let twice = logsim(&["drill", "--merge", &file("a.json"), &file("a.json")]);
    assert!(
        stderr(&twice).contains("both hold shard 0/2"),
        "{}",
        stderr(&twice)
    );
    let first_line = a
        .lines()
        .next()
        .unwrap_or_default()
        .replace("summary", "summery");
    std::fs::write(file("bad.json"), first_line).expect("write");
    let bad = logsim(&["drill", "--merge", &file("bad.json")]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("bad.json line 1"), "{}", stderr(&bad));
    let shard = logsim(&["drill", "--shard", "2/2"]);
    assert!(stderr(&shard).contains("0 <= I < N"), "{}", stderr(&shard));
}

#[test]
fn an_exported_history_is_checked_under_its_policy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let history = dir.path().join("h.json");
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/d1-acks1-leader-crash.json"
    );
    let run = logsim(&[
        "run",
        "--scenario",
        scenario,
        "--quiet",
        "--export-history",
        history.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stdout(&run).contains("lost-write"), "{}", stdout(&run));
    let ok = logsim(&["check", history.to_str().unwrap()]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).contains(" 0 bug(s)"), "{}", stdout(&ok));
    // The same history under acks=all with min.insync.replicas=2 is a list of bugs.
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&history).unwrap()).unwrap();
    value["policy"]["producers"] = serde_json::json!([]);
    value["policy"]["partitions"] = serde_json::json!([]);
    std::fs::write(&history, value.to_string()).unwrap();
    let bug = logsim(&["check", history.to_str().unwrap()]);
    assert!(!bug.status.success());
    assert!(stdout(&bug).contains("(BUG)"), "{}", stdout(&bug));
}

#[test]
fn bench_sim_reports_only_when_every_trace_hash_agrees() {
    // One swarm seed natively, then the report over it and over a copy that claims to be the
    // wasm run: agreeing lines give the table; one changed hash is an error naming the seed.
    let dir = tempfile::tempdir().expect("temp dir");
    let native = dir.path().join("native.jsonl");
    let n = native.to_str().expect("utf-8 path");
    let run = logsim(&[
        "bench", "sim", "--quick", "--seeds", "1", "--only", "swarm", "--out", n,
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let lines = std::fs::read_to_string(&native).expect("measurements");
    assert_eq!(lines.lines().count(), 1, "{lines}");
    assert!(lines.contains("\"group\":\"swarm\"") && lines.contains("\"seed\":1"));
    let wasm = dir.path().join("wasm-node.jsonl");
    let w = wasm.to_str().expect("utf-8 path");
    std::fs::write(&wasm, lines.replace("\"native\"", "\"wasm-node\"")).expect("write");
    let ok = logsim(&["bench", "sim", "--report", n, w]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let table = stdout(&ok);
    assert!(table.contains("swarm          wasm-node"), "{table}");
    assert!(table.contains("\"metric\":\"wasm_over_native\""), "{table}");
    // Flip one hex digit of the wasm run's hash.
    let mut changed = lines.replace("\"native\"", "\"wasm-node\"");
    let start = changed.find("\"hash\":\"").expect("hash") + 8;
    let digit = if &changed[start..start + 1] == "0" {
        "1"
    } else {
        "0"
    };
    changed.replace_range(start..start + 1, digit);
    std::fs::write(&wasm, changed).expect("write");
    let bad = logsim(&["bench", "sim", "--report", n, w]);
    assert!(!bad.status.success(), "a hash mismatch must fail");
    assert!(
        stderr(&bad).contains("trace hashes disagree for swarm seed 1"),
        "{}",
        stderr(&bad)
    );
    assert!(
        !stdout(&bad).contains("events/s"),
        "no figure is printed on a mismatch"
    );
}
