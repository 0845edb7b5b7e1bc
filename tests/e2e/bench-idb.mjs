// B2 "browser log to IndexedDB" (docs: /work/shared/spec/benchmarks.md), the browser half of
// `cargo xtask bench log`. A benchmark program, not a test: it prints figures.
//
// Builds bench/idb for wasm32 and runs wasm-bindgen into target/bench-idb/pkg, copies the page,
// the worker and Dexie's ESM build next to it, serves that directory on 127.0.0.1, and runs the
// benchmark in a dedicated worker of headless Chromium: ours (PartitionLog -> IdbStorage, one
// transaction per Sync) against raw IndexedDB puts of the same chunk bytes and Dexie bulkPut of
// one object per record, interleaved, several repetitions. Prints a table of medians and
// ratios, the physical references of the same page, then JSON lines
// {bench, impl, params, metric, value}. Any failure exits non-zero.
//
// Environment (all optional):
//   BENCH_IDB_RECORDS=N      records per configuration (default 200000; Dexie writes fewer, see below)
//   BENCH_IDB_IMPLS=a,b      implementations, of ours, ours-seq, buffer, raw, dexie (default ours,raw,dexie);
//                            buffer is the LogBuffer JS API (`cargo xtask bench buffer`), from BENCH_IDB_BUFFER_PKG
//   BENCH_IDB_FLUSH=N        only this flush size in bytes (default 64, 256 and 1024 KiB)
//   BENCH_IDB_REPS=N         repetitions (default 3)
//   BENCH_IDB_DURABILITY=x   only `relaxed` or only `strict`
//   BENCH_IDB_QUICK=1        a smoke run: 20000 records, 1 repetition, flush 256 KiB only
//   BENCH_IDB_SKIP_BUILD=1   reuse target/bench-idb as it is
//   LOGSIM_CHROMIUM=path     another Chromium binary (default /usr/bin/chromium)

import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { serveStatic } from './static-server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TARGET = path.resolve(ROOT, process.env.CARGO_TARGET_DIR ?? 'target');
const OUT = path.join(TARGET, 'bench-idb');
const WASM = path.join(TARGET, 'wasm32-unknown-unknown/release/logsim_bench_idb.wasm');
const WASM_BINDGEN_VERSION = '0.2.130';

const KIB = 1024;
const BATCHES = [1, 16, 256, 4096];
const FLUSHES = [64 * KIB, 256 * KIB, 1024 * KIB];
const DURABILITIES = ['relaxed', 'strict'];
const RECORDS_DEFAULT = 200_000;
const IMPLS_DEFAULT = ['ours', 'raw', 'dexie'];
const IMPLS_KNOWN = ['ours', 'ours-seq', 'buffer', 'raw', 'dexie'];
// Dexie writes about 10k records/s on 2 cores: 200k records 3 times for each of the 24
// configurations would take over 20 minutes. It writes the first records of the same workload
// instead, in whole flush groups (the same records per transaction as ours): at least
// DEXIE_FLUSHES_MIN of them and DEXIE_RECORDS_MIN records. Its rate is compared with ours over
// all the records; its shorter run gives it a smaller database, if anything in its favour. The
// table says how many records it wrote.
const DEXIE_FLUSHES_MIN = 1;
const DEXIE_RECORDS_MIN = 6_000;

class BenchError extends Error {}

function fail(message) {
  throw new BenchError(message);
}

function run(program, args, what) {
  const result = spawnSync(program, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error) fail(`${what}: cannot run ${program}: ${result.error.message}`);
  if (result.status !== 0) {
    fail(`${what} failed (${program} ${args.join(' ')} exited with ${result.status ?? result.signal})`);
  }
}

function wasmBindgen() {
  const home = process.env.CARGO_HOME ?? path.join(os.homedir(), '.cargo');
  const local = path.join(home, 'bin', 'wasm-bindgen');
  const program = existsSync(local) ? local : 'wasm-bindgen';
  const probe = spawnSync(program, ['--version'], { encoding: 'utf8' });
  const version = probe.status === 0 ? probe.stdout.trim().split(/\s+/)[1] : undefined;
  if (version !== WASM_BINDGEN_VERSION) {
    fail(
      `wasm-bindgen ${WASM_BINDGEN_VERSION} is required (found ${version ?? 'none'} at ${program}); ` +
        `run \`cargo xtask setup\` or \`cargo install wasm-bindgen-cli --version ${WASM_BINDGEN_VERSION}\``,
    );
  }
  return program;
}

function build() {
  const dexie = path.join(ROOT, 'node_modules/dexie/dist/dexie.mjs');
  if (!existsSync(dexie)) fail(`${dexie} is missing; run \`npm ci\` in ${ROOT}`);
  const bindgen = wasmBindgen();
  console.error('bench-idb: building bench/idb for wasm32 (release)');
  run(
    'cargo',
    ['build', '--release', '--target', 'wasm32-unknown-unknown', '-p', 'logsim-bench-idb'],
    'building logsim-bench-idb',
  );
  run(bindgen, ['--target', 'web', '--out-dir', path.join(OUT, 'pkg'), WASM], 'wasm-bindgen');
  const www = path.join(ROOT, 'bench/idb/www');
  mkdirSync(OUT, { recursive: true });
  for (const file of readdirSync(www)) copyFileSync(path.join(www, file), path.join(OUT, file));
  copyFileSync(dexie, path.join(OUT, 'dexie.mjs'));
  const bufferPkg = process.env.BENCH_IDB_BUFFER_PKG;
  if (bufferPkg) cpSync(bufferPkg, path.join(OUT, 'buffer', 'pkg'), { recursive: true });
}

function positiveFromEnv(name, fallback) {
  const text = process.env[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) fail(`${name} must be a positive integer, got ${text}`);
  return value;
}

function configurations() {
  const quick = process.env.BENCH_IDB_QUICK === '1';
  const only = process.env.BENCH_IDB_DURABILITY;
  if (only !== undefined && !DURABILITIES.includes(only)) {
    fail(`BENCH_IDB_DURABILITY must be one of ${DURABILITIES.join(', ')}, got ${only}`);
  }
  const impls = (process.env.BENCH_IDB_IMPLS ?? IMPLS_DEFAULT.join(',')).split(',');
  for (const impl of impls) {
    if (!IMPLS_KNOWN.includes(impl)) fail(`BENCH_IDB_IMPLS: unknown ${impl}; known: ${IMPLS_KNOWN.join(', ')}`);
  }
  const override = positiveFromEnv('BENCH_IDB_RECORDS', undefined);
  const reps = quick ? 1 : positiveFromEnv('BENCH_IDB_REPS', 3);
  const configs = [];
  for (const durability of only ? [only] : DURABILITIES) {
    const flushOnly = positiveFromEnv('BENCH_IDB_FLUSH', undefined);
    for (const flush of quick ? [256 * KIB] : flushOnly ? [flushOnly] : FLUSHES) {
      for (const batch of BATCHES) {
        const records = quick ? 20_000 : override ?? RECORDS_DEFAULT;
        configs.push({
          durability,
          batch,
          flush,
          records,
          dexieFlushesMin: DEXIE_FLUSHES_MIN,
          dexieRecordsMin: quick ? 2_000 : DEXIE_RECORDS_MIN,
        });
      }
    }
  }
  return { configs, reps, impls };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const pad = (value, width) => String(value).padStart(width);
const fixed = (value, digits) => value.toFixed(digits);
const rate = (value) => (value >= 1e6 ? `${fixed(value / 1e6, 2)}M` : `${fixed(value / 1e3, 1)}k`);

function report(chromiumVersion, output, impls) {
  const json = [];
  const line = (impl, params, metric, value) =>
    json.push(JSON.stringify({ bench: 'B2', impl, params, metric, value: Number(value.toFixed(4)) }));
  const cpus = os.cpus();
  const b6 = [];

  console.log('B2 browser log to IndexedDB, in a dedicated worker of headless Chromium');
  console.log(`chromium ${chromiumVersion}; ${cpus.length} cores, ${cpus[0]?.model ?? 'unknown cpu'}`);
  console.log(
    '  ours: PartitionLog -> IdbStorage (wasm), one transaction per Sync, next group appended while it commits',
  );
  if (impls.includes('ours-seq')) console.log('  ours-seq: the same, each group appended only after the previous commit');
  console.log('  raw: JS puts of the same chunk bytes, one transaction per chunk');
  console.log('  dexie: Dexie bulkPut, one object {offset, key, value, timestamp} per record, same records per transaction');
  console.log(
    '  100 B values; medians of the repetitions; MB/s counts the encoded log bytes (ours, raw: the same bytes), ' +
      'the 100 B values for dexie; ratios of records/s',
  );
  console.log(
    '  "log", "idb": shares of ours\' time spent appending in the log, and in IdbStorage before awaiting the commit',
  );
  for (const [name, value] of Object.entries(output.references)) {
    console.log(`reference ${name}: ${fixed(value, 2)}`);
    line('physical', {}, name, value);
  }
  if (impls.includes('buffer')) {
    console.log('  buffer: the LogBuffer JS API, one append() per batch of record objects, one flush() per group');
  }
  const ratios = [['ours', 'raw'], ['buffer', 'raw'], ['buffer', 'dexie']];
  if (impls.includes('ours-seq')) ratios.push(['ours-seq', 'raw']);
  if (impls.includes('dexie')) ratios.push(['ours', 'dexie']);
  const present = (pair) => pair.every((impl) => impls.includes(impl));
  const header = [pad('durab.', 7), pad('batch', 5), pad('flush', 7), pad('records', 7), pad('tx', 4), pad('B/rec', 5)];
  for (const impl of impls) header.push(pad(`${impl} rec/s`, Math.max(9, impl.length + 6)), pad('MB/s', 5));
  if (impls.includes('dexie')) header.push(pad('dexie N', 7));
  for (const pair of ratios.filter(present)) header.push(pad(pair.join('/'), Math.max(6, pair.join('/').length)));
  if (impls.includes('ours')) header.push(pad('log', 4), pad('idb', 4));
  console.log(header.join(' '));
  for (const result of output.results) {
    const { config, bytes, flushes, samples, engineMs, storageCpuMs, records } = result;
    const seconds = (impl) => median(samples[impl]) / 1000;
    const perSecond = (impl) => records[impl] / seconds(impl);
    const megabytes = (impl) => (impl === 'dexie' ? (records.dexie * 100) / 1e6 : bytes / 1e6);
    const row = [
      pad(config.durability, 7), pad(config.batch, 5), pad(`${config.flush / KIB}KiB`, 7),
      pad(`${config.records / 1000}k`, 7), pad(flushes, 4), pad(fixed(bytes / config.records, 0), 5),
    ];
    const params = {
      durability: config.durability,
      batch_records: config.batch,
      flush_bytes: config.flush,
      records: config.records,
      record_value_bytes: 100,
      transactions: flushes,
      repetitions: samples[impls[0]].length,
    };
    for (const impl of impls) {
      row.push(pad(rate(perSecond(impl)), Math.max(9, impl.length + 6)), pad(fixed(megabytes(impl) / seconds(impl), 1), 5));
      const implParams = impl === 'dexie' ? { ...params, records: records.dexie } : params;
      line(impl, implParams, 'records/s', perSecond(impl));
      line(impl, implParams, 'MB/s', megabytes(impl) / seconds(impl));
    }
    if (impls.includes('dexie')) row.push(pad(`${fixed(records.dexie / 1000, 1)}k`, 7));
    for (const pair of ratios.filter(present)) {
      const ratio = perSecond(pair[0]) / perSecond(pair[1]);
      row.push(pad(fixed(ratio, ratio >= 10 ? 1 : 2), Math.max(6, pair.join('/').length)));
      line(pair.join('/'), params, 'records/s ratio', ratio);
    }
    if (impls.includes('ours')) {
      const share = median(engineMs.ours) / median(samples.ours);
      const idbShare = median(storageCpuMs.ours) / median(samples.ours);
      row.push(pad(`${fixed(share * 100, 0)}%`, 4), pad(`${fixed(idbShare * 100, 0)}%`, 4));
      line('ours', params, 'log append share of time', share);
      line('ours', params, 'IdbStorage synchronous share of time', idbShare);
    }
    line('ours', params, 'log bytes per record', bytes / config.records);
    console.log(row.join(' '));
    // B6: bytes per record, in memory and in IndexedDB (origin usage growth of the first
    // repetition), against Kafka's own format (the log bytes: it is Kafka's record batch v2).
    for (const impl of Object.keys(result.storedBytes ?? {})) {
      const n = records[impl];
      const stored = result.storedBytes[impl] / n;
      const kafka = bytes / config.records;
      line(impl, params, 'B6 stored bytes per record', stored);
      line(impl, params, 'B6 stored / Kafka format', stored / kafka);
      b6.push(`  ${impl.padEnd(7)} ${config.durability.padEnd(8)} batch ${String(config.batch).padStart(4)}: stored ${fixed(stored, 1)} B/rec = ${fixed(stored / kafka, 2)}x Kafka's ${fixed(kafka, 1)} B/rec` +
        (result.memoryBytes?.[impl] ? `; in memory ${fixed(result.memoryBytes[impl] / n, 1)} B/rec = ${fixed(result.memoryBytes[impl] / n / kafka, 2)}x` : ''));
      if (result.memoryBytes?.[impl]) line(impl, params, 'B6 memory bytes per record', result.memoryBytes[impl] / n);
    }
  }
  const reduced = output.results.filter((r) => r.records.dexie !== undefined && r.records.dexie < r.config.records);
  if (reduced.length > 0) {
    console.log(
      `dexie wrote fewer records (column "dexie N": the first ${DEXIE_FLUSHES_MIN}+ flush groups, ` +
        `>= ${DEXIE_RECORDS_MIN} records) to keep the run within a few minutes; its rate is per record`,
    );
  }
  if (b6.length > 0) {
    console.log('B6 bytes per record (IndexedDB: growth of navigator.storage.estimate().usage; memory: the log and its indexes):');
    for (const text of b6) console.log(text);
  }
  console.log(`browser time ${fixed(output.seconds, 1)} s`);
  for (const text of json) console.log(text);
}

async function main() {
  if (process.env.BENCH_IDB_SKIP_BUILD !== '1') build();
  if (!existsSync(path.join(OUT, 'pkg/logsim_bench_idb.js'))) {
    fail(`${OUT} holds no build; run without BENCH_IDB_SKIP_BUILD=1`);
  }
  const { configs, reps, impls } = configurations();
  const server = await serveStatic(OUT);
  let browser;
  try {
    browser = await launchChromium();
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
      else console.error(`bench-idb: ${message.text()}`);
    });
    await page.goto(server.url);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 });
    const runId = `b2-${Date.now().toString(36)}`;
    console.error(`bench-idb: ${configs.length} configurations x ${reps} repetitions x ${impls.join('/')}`);
    const { output, error } = await page.evaluate((config) => window.runBench(config), { configs, reps, runId, impls });
    if (error !== undefined) fail(`in the browser: ${error}`);
    if (problems.length > 0) fail(`the page reported problems:\n  ${problems.join('\n  ')}`);
    report(browser.version(), output, impls);
  } finally {
    await browser?.close();
    await server.close();
  }
}

try {
  await main();
} catch (error) {
  const message = error instanceof BenchError ? error.message : `${error?.stack ?? error}`;
  console.error(`bench-idb: error: ${message}`);
  process.exit(1);
}
