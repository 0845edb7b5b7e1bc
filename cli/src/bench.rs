//! Benchmarks are programs that print figures, never tests (`logsim bench sim`, B4, lives in
//! `bench_sim.rs`). `logsim bench log` is B1 of
//! shared/spec/benchmarks.md: one partition appended through our log engine and file backend,
//! next to a raw `File::write_all` of the very same bytes with `fdatasync` at the same cadence,
//! interleaved (ours, raw, ours, raw, ...) so both see the same machine noise; the median of the
//! repetitions and the ratio are reported, plus physical references measured in the same run.
//! Output: a human table, then one JSON line per figure.

use crate::file_storage::FileStorage;
use logsim::ids::{LeaderEpoch, Offset, PartitionIndex, TopicPartition};
use logsim::log::batch::{NewRecord, ProducerFields, RecordBatch};
use logsim::log::config::LogConfig;
use logsim::log::partition_log::PartitionLog;
use logsim::storage::{RequestId, StorageRequest, SyncStorage};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Which benchmark: `log` (B1: native append and read against a raw file write) or `sim`
    /// (B4: simulation speed; `cargo xtask bench sim` runs it next to WebAssembly).
    pub which: String,
    /// Records per run without fsync (the spec's full size is 5000000).
    #[arg(long, default_value_t = 500_000)]
    pub records: u32,
    /// Batches per run when every batch (or group) is fsynced.
    #[arg(long, default_value_t = 400)]
    pub synced_batches: u32,
    /// Repetitions of each (ours, raw) pair; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub repetitions: u32,
    /// sim: swarm seeds to run (1..=N).
    #[arg(long, default_value_t = 20)]
    pub seeds: u32,
    /// sim: one small sized drill and a short LinkedIn run instead of the whole grid.
    #[arg(long)]
    pub quick: bool,
    /// sim: run only the cases of these groups (`swarm`, `b3-p100`, `linkedin-2014`, ...).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// sim: the repetition number written into each measurement line.
    #[arg(long, default_value_t = 0)]
    pub rep: u32,
    /// sim: append the measurement lines to this file instead of printing them and a table.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
    /// sim: run nothing; read these measurement files (native, wasm-node, wasm-chromium, any
    /// repetitions), check that every trace hash agrees, then print the table and result lines.
    #[arg(long, num_args = 1..)]
    pub report: Vec<std::path::PathBuf>,
}

pub fn run(args: BenchArgs) -> Result<(), String> {
    match args.which.as_str() {
        "log" => bench_log(&args),
        "sim" => crate::bench_sim::run(&args),
        other => Err(format!(
            "unknown benchmark {other:?}; this build has: log, sim"
        )),
    }
}

#[derive(Clone, Copy, Debug)]
enum Sync {
    /// Write everything, one fdatasync at the end (Kafka's default: the page cache).
    AtEnd,
    /// fdatasync after every batch.
    EveryBatch,
    /// fdatasync after every 32 batches (group commit).
    Group(u32),
}

impl Sync {
    fn name(self) -> String {
        match self {
            Sync::AtEnd => "none (one sync at end)".into(),
            Sync::EveryBatch => "every batch".into(),
            Sync::Group(n) => format!("every {n} batches"),
        }
    }

    fn due(self, batch_index: u32) -> bool {
        match self {
            Sync::AtEnd => false,
            Sync::EveryBatch => true,
            Sync::Group(n) => (batch_index + 1).is_multiple_of(n),
        }
    }
}

struct Case {
    record_bytes: u32,
    batch_records: u32,
    batches: u32,
    sync: Sync,
}

fn batches_for(case: &Case) -> Vec<RecordBatch> {
    let value = vec![b'x'; case.record_bytes as usize];
    (0..case.batches)
        .map(|b| {
            let records: Vec<NewRecord> = (0..case.batch_records)
                .map(|i| NewRecord::new(i64::from(b) * 1000 + i64::from(i), None, Some(&value)))
                .collect();
            RecordBatch::new_data(&records, ProducerFields::NONE)
        })
        .collect()
}

fn tp() -> TopicPartition {
    TopicPartition {
        topic: "bench".into(),
        partition: PartitionIndex(0),
    }
}

/// Ours: the broker's path for a produce request: the log validates the producer's batch bytes
/// (CRC, every record), assigns offsets in place, indexes, and hands the bytes to the file
/// backend, which writes and syncs.
fn run_ours(dir: &Path, case: &Case, produced: &[Vec<u8>]) -> Result<(f64, f64, u64), String> {
    let mut storage = FileStorage::open(dir).map_err(|e| e.to_string())?;
    let mut log = PartitionLog::new(tp(), LogConfig::default(), 0).map_err(|e| e.to_string())?;
    let mut id = 0u64;
    let mut exec =
        |storage: &mut FileStorage, requests: Vec<StorageRequest>| -> Result<(), String> {
            let numbered = requests
                .into_iter()
                .map(|r| {
                    id += 1;
                    (RequestId(id), r)
                })
                .collect();
            for c in storage.execute(numbered) {
                if let logsim::storage::Completion::Failed(_, e) = c {
                    return Err(e.to_string());
                }
            }
            Ok(())
        };
    let start = Instant::now();
    for (i, bytes) in produced.iter().enumerate() {
        log.append_bytes_as_leader(bytes, LeaderEpoch(0), i as i64)
            .map_err(|e| e.to_string())?;
        let mut requests = log.take_storage_requests();
        if case.sync.due(i as u32) {
            requests.push(StorageRequest::Sync);
        }
        exec(&mut storage, requests)?;
    }
    exec(&mut storage, vec![StorageRequest::Sync])?;
    let append_s = start.elapsed().as_secs_f64();
    let leo = log.log_end_offset();
    log.set_high_watermark(leo);
    let start = Instant::now();
    let mut offset = Offset::ZERO;
    let mut read_bytes = 0u64;
    while offset < leo {
        let fetched = log
            .fetch(offset, 1024 * 1024, leo)
            .map_err(|e| e.to_string())?;
        read_bytes += fetched.bytes.len() as u64;
        let mut rest = &fetched.bytes[..];
        while !rest.is_empty() {
            let header = logsim::log::batch::BatchHeader::parse(rest).map_err(|e| e.to_string())?;
            offset = header.next_offset();
            rest = &rest[header.size_in_bytes() as usize..];
        }
    }
    let read_s = start.elapsed().as_secs_f64();
    Ok((append_s, read_s, read_bytes))
}

/// The reference: the same encoded bytes, `write_all` per batch, `fdatasync` at the same cadence.
fn run_raw(dir: &Path, case: &Case, encoded: &[Vec<u8>]) -> Result<(f64, f64, u64), String> {
    let path = dir.join("raw.log");
    let start = Instant::now();
    let mut f = File::create(&path).map_err(|e| e.to_string())?;
    for (i, bytes) in encoded.iter().enumerate() {
        f.write_all(bytes).map_err(|e| e.to_string())?;
        if case.sync.due(i as u32) {
            f.sync_data().map_err(|e| e.to_string())?;
        }
    }
    f.sync_data().map_err(|e| e.to_string())?;
    let append_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut buf = Vec::new();
    File::open(&path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(|e| e.to_string())?;
    let read_s = start.elapsed().as_secs_f64();
    Ok((append_s, read_s, buf.len() as u64))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn physical_references(dir: &Path) -> Result<Vec<(&'static str, f64)>, String> {
    let src = vec![7u8; 64 * 1024 * 1024];
    let mut dst = vec![0u8; src.len()];
    let start = Instant::now();
    for _ in 0..4 {
        dst.copy_from_slice(&src);
        std::hint::black_box(&dst);
    }
    let memcpy = 4.0 * src.len() as f64 / start.elapsed().as_secs_f64() / 1e9;
    let path = dir.join("sync-probe");
    let mut f = File::create(&path).map_err(|e| e.to_string())?;
    let page = [1u8; 4096];
    let start = Instant::now();
    for _ in 0..100 {
        f.write_all(&page).map_err(|e| e.to_string())?;
        f.sync_data().map_err(|e| e.to_string())?;
    }
    let syncs = 100.0 / start.elapsed().as_secs_f64();
    Ok(vec![("memcpy GB/s", memcpy), ("fdatasync 4KiB/s", syncs)])
}

fn json_line(implementation: &str, params: &str, metric: &str, value: f64) -> String {
    format!(
        "{{\"bench\":\"B1\",\"impl\":\"{implementation}\",\"params\":{params},\"metric\":\"{metric}\",\"value\":{value:.4}}}"
    )
}

fn bench_log(args: &BenchArgs) -> Result<(), String> {
    if args.repetitions == 0 || args.records == 0 || args.synced_batches == 0 {
        return Err("--records, --synced-batches and --repetitions must be at least 1".into());
    }
    let dir = std::env::temp_dir().join(format!("logsim-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut json = Vec::new();
    println!("B1 native log append/read: ours (PartitionLog + FileStorage) vs raw File::write_all of the same bytes");
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::consts::ARCH
    );
    for (name, value) in physical_references(&dir)? {
        println!("reference {name}: {value:.2}");
        json.push(json_line("physical", "{}", name, value));
    }
    println!(
        "{:>6} {:>6} {:>22} {:>9} {:>12} {:>12} {:>7} {:>12} {:>12} {:>7} {:>8}",
        "rec B",
        "batch",
        "sync",
        "records",
        "ours MB/s",
        "raw MB/s",
        "ratio",
        "ours rd MB/s",
        "raw rd MB/s",
        "ratio",
        "B/record"
    );
    let mut cases = Vec::new();
    for record_bytes in [100u32, 1024] {
        for batch_records in [1u32, 16, 256] {
            let records = if record_bytes == 100 {
                args.records
            } else {
                args.records / 8
            };
            cases.push(Case {
                record_bytes,
                batch_records,
                batches: (records / batch_records).max(1),
                sync: Sync::AtEnd,
            });
        }
        for sync in [Sync::EveryBatch, Sync::Group(32)] {
            cases.push(Case {
                record_bytes,
                batch_records: 16,
                batches: args.synced_batches,
                sync,
            });
        }
    }
    for case in &cases {
        let batches = batches_for(case);
        let encoded: Vec<Vec<u8>> = batches.iter().map(RecordBatch::encode).collect();
        let total_bytes: u64 = encoded.iter().map(|b| b.len() as u64).sum();
        let records = u64::from(case.batches) * u64::from(case.batch_records);
        let (mut ours_w, mut raw_w, mut ours_r, mut raw_r) = (vec![], vec![], vec![], vec![]);
        for rep in 0..args.repetitions {
            let run_dir = dir.join(format!("run-{rep}"));
            let _ = std::fs::remove_dir_all(&run_dir);
            std::fs::create_dir_all(&run_dir).map_err(|e| e.to_string())?;
            let (w, r, read) = run_ours(&run_dir, case, &encoded)?;
            if read != total_bytes {
                return Err(format!("ours read back {read} bytes, wrote {total_bytes}"));
            }
            ours_w.push(w);
            ours_r.push(r);
            let (w, r, read) = run_raw(&run_dir, case, &encoded)?;
            if read != total_bytes {
                return Err(format!("raw read back {read} bytes, wrote {total_bytes}"));
            }
            raw_w.push(w);
            raw_r.push(r);
            let _ = std::fs::remove_dir_all(&run_dir);
        }
        let mb = total_bytes as f64 / 1e6;
        let (ow, rw, or, rr) = (
            mb / median(ours_w),
            mb / median(raw_w),
            mb / median(ours_r),
            mb / median(raw_r),
        );
        println!(
            "{:>6} {:>6} {:>22} {:>9} {:>12.1} {:>12.1} {:>7.2} {:>12.1} {:>12.1} {:>7.2} {:>8.1}",
            case.record_bytes,
            case.batch_records,
            case.sync.name(),
            records,
            ow,
            rw,
            ow / rw,
            or,
            rr,
            or / rr,
            total_bytes as f64 / records as f64
        );
        let params = format!(
            "{{\"record_bytes\":{},\"batch_records\":{},\"sync\":\"{}\",\"records\":{}}}",
            case.record_bytes,
            case.batch_records,
            case.sync.name(),
            records
        );
        json.push(json_line("ours", &params, "append MB/s", ow));
        json.push(json_line("raw-file", &params, "append MB/s", rw));
        json.push(json_line("ours", &params, "read MB/s", or));
        json.push(json_line("raw-file", &params, "read MB/s", rr));
        json.push(json_line("ours/raw-file", &params, "append ratio", ow / rw));
        json.push(json_line(
            "ours",
            &params,
            "bytes per record",
            total_bytes as f64 / records as f64,
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
    for line in json {
        println!("{line}");
    }
    Ok(())
}
