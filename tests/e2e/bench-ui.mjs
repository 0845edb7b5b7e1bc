// B5 "UI frame budget" (docs: /work/shared/spec/benchmarks.md), run by `cargo xtask bench ui`.
// A benchmark program, not a test: it prints a table and README-ready lines.
//
// For 3 and 9 brokers, 100 / 1,000 / 10,000 partitions (one topic, replication factor 3,
// min.insync.replicas=2, one acks=all producer sending every 1-5 ms over 10,000 keys, one
// consumer) and speeds 1x / 10x / 100x, it opens the built app (dist/) in headless Chromium (a
// fresh context, 1440x1000) with the scenario as an inline-recipe link, installs the page's
// frame probe (www/src/ui/frame_probe.rs: `window.__logsimFrames`, one entry per drawn step:
// from the newest worker message's arrival through decode, Yew render and its effects to a forced
// style and layout pass, in ms; when renders pass 16 ms Yew yields and the page draws fewer
// frames than it receives messages, hence the frames/s and messages/s columns),
// picks the speed, presses play, skips a warm-up and then collects the frame times for a fixed
// wall time. Per case: p50 / p95 / max main-thread work per frame, frames and worker messages per
// wall second, simulated seconds and events per wall second, and long tasks (> 50 ms) seen by a
// PerformanceObserver. B5's answer: per broker count, the largest partition count whose p95 is
// <= 10 ms at every speed (the worst speed decides; a case with no frames fails it).
// It also gzips (node zlib, level 9) every .wasm and .js of dist/: page, worker, total.
//
//   node tests/e2e/bench-ui.mjs [--quick] [--seconds S] [--warmup S] [--start-limit S] [--out FILE]
//
// --quick          3 brokers x 100 partitions x 1x only (a smoke run)
// --seconds S      wall seconds measured per case (default 8)
// --warmup S       wall seconds skipped after play (default 1)
// --start-limit S  how long a cluster may take to load and send its first snapshot (default 90);
//                  one that does not is reported as "did not start" (and its other speeds are
//                  not tried)
// --out FILE       also write the results as JSON (default target/bench-ui/results.json)
// LOGSIM_DIST      the built app (default dist/)
//
// Exits non-zero on any page error or console error, or if no case recorded a frame.

import { mkdirSync, readdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { gzipSync, constants as zlib } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { launchChromium } from './chromium.mjs';
import { serveStatic } from './static-server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = path.resolve(process.env.LOGSIM_DIST ?? path.join(ROOT, 'dist'));
const TARGET = path.resolve(ROOT, process.env.CARGO_TARGET_DIR ?? 'target');
const VIEWPORT = { width: 1440, height: 1000 };
const BUDGET_MS = 10;
const SPEEDS = [
  { value: 1_000, label: '1x' },
  { value: 10_000, label: '10x' },
  { value: 100_000, label: '100x' },
];

class BenchError extends Error {}

function fail(message) {
  throw new BenchError(message);
}

function parseArgs(argv) {
  const options = {
    quick: false,
    seconds: 8,
    warmup: 1,
    startLimit: 90,
    out: path.join(TARGET, 'bench-ui', 'results.json'),
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${flag} needs a value`);
      return argv[++i];
    };
    const seconds = (text, min) => {
      const n = Number(text);
      if (!Number.isFinite(n) || n < min || n > 3600) fail(`${flag} must be ${min} to 3600 seconds, got ${text}`);
      return n;
    };
    if (flag === '--quick') options.quick = true;
    else if (flag === '--seconds') options.seconds = seconds(value(), 1);
    else if (flag === '--warmup') options.warmup = seconds(value(), 0);
    else if (flag === '--start-limit') options.startLimit = seconds(value(), 1);
    else if (flag === '--out') options.out = path.resolve(value());
    else fail(`unknown option ${flag}; valid: --quick, --seconds S, --warmup S, --start-limit S, --out FILE`);
  }
  return options;
}

/** The benchmark's cluster: one topic, RF 3, min.insync.replicas=2, one busy producer. */
export function scenario(brokers, partitions) {
  return {
    scenario: 'cluster',
    name: `B5: ${brokers} brokers, ${partitions} partitions`,
    description: 'Benchmark B5 (cargo xtask bench ui): the page drawing a busy cluster.',
    seed: 1,
    duration_ms: 3_600_000,
    brokers,
    topics: [
      { name: 'bench', partitions, replication_factor: 3, config: { 'min.insync.replicas': '2' } },
    ],
    producers: [
      {
        topic: 'bench',
        keys: 10_000,
        interval_ms_min: 1,
        interval_ms_max: 5,
        config: { acks: 'all', 'enable.idempotence': true },
      },
    ],
    consumers: [{ topic: 'bench', poll_interval_ms: 100 }],
    steps: [],
  };
}

function link(base, brokers, partitions) {
  const recipe = { source: { inline: scenario(brokers, partitions) }, seed: 1 };
  return `${base}#r=${encodeURIComponent(JSON.stringify(recipe))}`;
}

/** Before the app starts: the frame probe's array, a worker-message counter, a long-task log. */
function instrument() {
  window.__logsimFrames = [];
  window.__benchMessages = 0;
  window.__benchLongTasks = [];
  const NativeWorker = window.Worker;
  window.Worker = class extends NativeWorker {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => {
        window.__benchMessages += 1;
      });
    }
  };
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.__benchLongTasks.push(entry.duration);
    }).observe({ type: 'longtask', buffered: true });
  } catch {
    // No long-task timing in this browser: the column stays empty.
  }
}

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index];
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads the page's counters at one moment. */
async function sample(page) {
  return page.evaluate(() => ({
    frames: window.__logsimFrames.length,
    messages: window.__benchMessages,
    longTasks: window.__benchLongTasks.length,
    steps: Number(document.querySelector('[data-testid="step-count"]')?.textContent ?? NaN),
    clock: parseFloat(document.querySelector('[data-testid="clock"]')?.textContent ?? 'NaN'),
    playing: /Pause/.test(document.querySelector('[data-testid="play"]')?.textContent ?? ''),
    wall: performance.now(),
  }));
}

async function runCase(browser, server, options, brokers, partitions, speed) {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const problems = [];
  try {
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.stack ?? error}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
    await page.addInitScript(instrument);
    const opened = Date.now();
    await page.goto(link(server.url, brokers, partitions));
    const limit = options.startLimit * 1000;
    // The first snapshot is the first recorded frame.
    try {
      await page.waitForFunction(() => window.__logsimFrames.length > 0, null, {
        timeout: limit,
        polling: 100,
      });
    } catch (error) {
      if (problems.length > 0) fail(`${brokers} brokers, ${partitions} partitions: ${problems.join('\n')}`);
      if (error.name === 'TimeoutError') return { brokers, partitions, speed, started: false, startMs: null };
      throw error;
    }
    const startMs = Date.now() - opened;
    await page.selectOption('[data-testid="speed"]', String(speed.value));
    await page.click('[data-testid="play"]');
    await page.waitForFunction(
      () => /Pause/.test(document.querySelector('[data-testid="play"]')?.textContent ?? ''),
      null,
      { timeout: 10_000, polling: 50 },
    );
    await sleep(options.warmup * 1000);
    const before = await sample(page);
    await sleep(options.seconds * 1000);
    const after = await sample(page);
    const frames = await page.evaluate(
      ({ from, to }) => window.__logsimFrames.slice(from, to),
      { from: before.frames, to: after.frames },
    );
    const longTasks = await page.evaluate(
      ({ from, to }) => window.__benchLongTasks.slice(from, to),
      { from: before.longTasks, to: after.longTasks },
    );
    if (problems.length > 0) fail(`${brokers} brokers, ${partitions} partitions, ${speed.label}: ${problems.join('\n')}`);
    const wallS = (after.wall - before.wall) / 1000;
    const sorted = [...frames].sort((a, b) => a - b);
    return {
      brokers,
      partitions,
      speed,
      started: true,
      startMs,
      stillPlaying: after.playing,
      wallS,
      frames: frames.length,
      framesPerS: frames.length / wallS,
      messagesPerS: (after.messages - before.messages) / wallS,
      p50: quantile(sorted, 0.5),
      p95: quantile(sorted, 0.95),
      max: sorted.length > 0 ? sorted[sorted.length - 1] : NaN,
      simSPerS: (after.clock - before.clock) / wallS,
      eventsPerS: (after.steps - before.steps) / wallS,
      longTasks: longTasks.length,
      longTaskMaxMs: longTasks.length > 0 ? Math.max(...longTasks) : 0,
    };
  } finally {
    await context.close();
  }
}

/** gzip -9 sizes of every .wasm and .js in dist/, split into the page's and the worker's. */
function bundle() {
  const files = readdirSync(DIST)
    .filter((name) => name.endsWith('.wasm') || name.endsWith('.js'))
    .sort()
    .map((name) => {
      const bytes = readFileSync(path.join(DIST, name));
      return {
        name,
        part: name.startsWith('logsim-worker') ? 'worker' : 'page',
        raw: bytes.length,
        gzip: gzipSync(bytes, { level: zlib.Z_BEST_COMPRESSION }).length,
      };
    });
  if (files.length === 0) fail(`no .wasm or .js in ${DIST}`);
  const sum = (part) =>
    files
      .filter((f) => part === 'total' || f.part === part)
      .reduce((acc, f) => ({ raw: acc.raw + f.raw, gzip: acc.gzip + f.gzip }), { raw: 0, gzip: 0 });
  return { files, page: sum('page'), worker: sum('worker'), total: sum('total') };
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const num = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '-');

function meetsBudget(result) {
  return result.started && result.frames > 0 && result.p95 <= BUDGET_MS;
}

function report(results, sizes, options, chromiumVersion) {
  const lines = [];
  lines.push(
    `| brokers | partitions | speed | first snapshot | frames/s | messages/s | p50 ms | p95 ms | max ms | long tasks | sim s per s | events/s |`,
  );
  lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    if (!r.started) {
      lines.push(
        `| ${r.brokers} | ${r.partitions} | ${r.speed.label} | did not start in ${options.startLimit} s | - | - | - | - | - | - | - | - |`,
      );
      continue;
    }
    lines.push(
      `| ${r.brokers} | ${r.partitions} | ${r.speed.label} | ${num(r.startMs / 1000)} s | ${num(r.framesPerS)} | ` +
        `${num(r.messagesPerS)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.max)} | ${r.longTasks} | ` +
        `${num(r.simSPerS, 2)} | ${num(r.eventsPerS, 0)} |`,
    );
  }
  const verdicts = [];
  for (const brokers of [...new Set(results.map((r) => r.brokers))]) {
    const mine = results.filter((r) => r.brokers === brokers);
    const counts = [...new Set(mine.map((r) => r.partitions))].sort((a, b) => a - b);
    const good = counts.filter((p) => mine.filter((r) => r.partitions === p).every(meetsBudget));
    const speeds = [...new Set(mine.map((r) => r.speed.label))].join(', ');
    verdicts.push(
      good.length > 0
        ? `- ${brokers} brokers: largest partition count with p95 <= ${BUDGET_MS} ms at ${speeds}: ` +
            `**${Math.max(...good)}** (of ${counts.join(', ')})`
        : `- ${brokers} brokers: none of ${counts.join(', ')} partitions keeps p95 <= ${BUDGET_MS} ms at ${speeds}`,
    );
  }
  const size = (s) => `${kib(s.gzip)} gzipped (${kib(s.raw)} raw)`;
  const bundleLines = [
    `- page (${sizes.files.filter((f) => f.part === 'page').map((f) => f.name).join(', ')}): ${size(sizes.page)}`,
    `- worker (${sizes.files.filter((f) => f.part === 'worker').map((f) => f.name).join(', ')}): ${size(sizes.worker)}`,
    `- total .wasm + .js: ${size(sizes.total)}`,
  ];
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${os.platform()} ${os.release()}, ` +
    `Node ${process.version}, Chromium ${chromiumVersion}, load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`;
  console.log('');
  console.log(`B5 UI frame budget, ${new Date().toISOString().slice(0, 10)}, ${machine}`);
  console.log(`${options.seconds} s measured per case after ${options.warmup} s of warm-up; viewport ${VIEWPORT.width}x${VIEWPORT.height}`);
  console.log('');
  console.log(lines.join('\n'));
  console.log('');
  console.log(verdicts.join('\n'));
  console.log('');
  console.log('Bundle, gzip -9 (node zlib):');
  for (const f of sizes.files) console.log(`  ${f.part.padEnd(6)} ${f.name.padEnd(40)} ${kib(f.raw).padStart(12)} raw ${kib(f.gzip).padStart(12)} gzip`);
  console.log(bundleLines.join('\n'));
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(path.join(DIST, 'index.html'))) {
    fail(`no built app at ${DIST}/index.html: run \`cargo xtask build\` (or set LOGSIM_DIST)`);
  }
  const sizes = bundle();
  const brokerCounts = options.quick ? [3] : [3, 9];
  const partitionCounts = options.quick ? [100] : [100, 1_000, 10_000];
  const speeds = options.quick ? SPEEDS.slice(0, 1) : SPEEDS;
  const server = await serveStatic(DIST);
  let browser;
  const results = [];
  let chromiumVersion = 'unknown';
  try {
    browser = await launchChromium();
    chromiumVersion = browser.version();
    for (const brokers of brokerCounts) {
      for (const partitions of partitionCounts) {
        let startedOnce = true;
        for (const speed of speeds) {
          if (!startedOnce) {
            results.push({ brokers, partitions, speed, started: false, startMs: null });
            continue;
          }
          const r = await runCase(browser, server, options, brokers, partitions, speed);
          startedOnce = r.started;
          results.push(r);
          console.error(
            r.started
              ? `bench ui: ${brokers} brokers, ${partitions} partitions, ${speed.label}: first snapshot after ` +
                  `${num(r.startMs / 1000)} s; ${r.frames} frames (${num(r.framesPerS)}/s), p50 ${ms(r.p50)} ms, ` +
                  `p95 ${ms(r.p95)} ms, max ${ms(r.max)} ms; ${num(r.simSPerS, 2)} simulated s per s`
              : `bench ui: ${brokers} brokers, ${partitions} partitions, ${speed.label}: no snapshot within ${options.startLimit} s`,
          );
        }
      }
    }
  } finally {
    await browser?.close();
    await server.close();
  }
  report(results, sizes, options, chromiumVersion);
  mkdirSync(path.dirname(options.out), { recursive: true });
  writeFileSync(
    options.out,
    JSON.stringify({ date: new Date().toISOString(), options, chromium: chromiumVersion, loadavg: os.loadavg(), results, bundle: sizes }, null, 2) + '\n',
  );
  console.error(`bench ui: results in ${options.out}`);
  if (!results.some((r) => r.started && r.frames > 0)) fail('no frames were recorded: is the frame probe (www/src/ui/frame_probe.rs) wired?');
}

try {
  await main();
} catch (error) {
  console.error(`bench-ui: ${error instanceof BenchError ? error.message : error.stack ?? error}`);
  process.exit(1);
}
