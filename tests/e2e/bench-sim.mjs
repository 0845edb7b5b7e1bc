// B4 "simulation speed" (docs: /work/shared/spec/benchmarks.md), the WebAssembly side of
// `cargo xtask bench sim`. A benchmark program, not a test: it prints measurement lines.
//
// Runs every case of bench/sim (the same list the native `logsim bench sim` runs, from the same
// Rust code) in WebAssembly, one call per whole run, timed inside wasm with performance.now(),
// and appends one JSON line per case to --out. `cargo xtask bench sim` builds the packages
// first (cargo build --release --target wasm32-unknown-unknown -p logsim-bench-sim, then
// wasm-bindgen into target/bench-sim/node and target/bench-sim/web) and reads the lines back
// with `logsim bench sim --report`, which checks the trace hashes across targets.
//
//   node tests/e2e/bench-sim.mjs --target node|chromium --seeds N [--quick] [--rep R] --out FILE
//
// --target node      the nodejs package, in this Node process
// --target chromium  the web package, on the main thread of a headless Chromium page served
//                    from 127.0.0.1 (system Chromium through playwright-core)
// Any failure exits non-zero.

import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TARGET = path.resolve(ROOT, process.env.CARGO_TARGET_DIR ?? 'target');
const OUT_DIR = path.join(TARGET, 'bench-sim');
const MODULE = 'logsim_bench_sim';

class BenchError extends Error {}

function fail(message) {
  throw new BenchError(message);
}

function parseArgs(argv) {
  const options = { target: undefined, seeds: undefined, quick: false, rep: 0, out: undefined };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${flag} needs a value`);
      return argv[++i];
    };
    const count = (text) => {
      const n = Number(text);
      if (!Number.isInteger(n) || n < 0) fail(`${flag} must be a whole number, got ${text}`);
      return n;
    };
    if (flag === '--target') options.target = value();
    else if (flag === '--seeds') options.seeds = count(value());
    else if (flag === '--quick') options.quick = true;
    else if (flag === '--rep') options.rep = count(value());
    else if (flag === '--out') options.out = value();
    else fail(`unknown option ${flag}`);
  }
  if (!['node', 'chromium'].includes(options.target)) fail('--target must be node or chromium');
  if (options.seeds === undefined) fail('--seeds is required');
  if (options.out === undefined) fail('--out is required');
  return options;
}

function requirePackage(dir) {
  const js = path.join(OUT_DIR, dir, `${MODULE}.js`);
  if (!existsSync(js)) fail(`${js} is missing; run \`cargo xtask bench sim\`, which builds it`);
  return js;
}

function record(options, implementation, index, total, line) {
  const m = JSON.parse(line);
  if (m.impl !== implementation) fail(`case ${index}: measured as ${m.impl}, not ${implementation}`);
  appendFileSync(options.out, line + '\n');
  console.error(
    `bench sim ${implementation} rep ${options.rep}: [${index + 1}/${total}] ${m.group} seed ${m.seed}: ` +
      `${m.events} events in ${Math.round(m.wall_ms)} ms`,
  );
}

function runNode(options) {
  const js = requirePackage('node');
  // wasm-bindgen's nodejs output is CommonJS; the repository's package.json says "module".
  writeFileSync(path.join(path.dirname(js), 'package.json'), '{ "type": "commonjs" }\n');
  const wasm = createRequire(import.meta.url)(js);
  const total = wasm.case_count(options.seeds, options.quick);
  for (let index = 0; index < total; index++) {
    const line = wasm.run_case(index, options.seeds, options.quick, 'wasm-node', options.rep);
    record(options, 'wasm-node', index, total, line);
  }
}

async function runChromium(options) {
  const web = path.dirname(requirePackage('web'));
  writeFileSync(
    path.join(web, 'index.html'),
    `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>B4</title>
<script type="module">
import init, * as bench from './${MODULE}.js';
await init();
window.bench = bench;
window.benchReady = true;
</script>\n`,
  );
  const { launchChromium } = await import('./chromium.mjs');
  const { serveStatic } = await import('./static-server.mjs');
  const server = await serveStatic(web);
  let browser;
  try {
    browser = await launchChromium();
    console.error(`bench sim wasm-chromium: Chromium ${browser.version()}`);
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
    await page.goto(server.url);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
    const total = await page.evaluate(({ seeds, quick }) => window.bench.case_count(seeds, quick), options);
    for (let index = 0; index < total; index++) {
      const line = await page.evaluate(
        ({ index, seeds, quick, rep }) => window.bench.run_case(index, seeds, quick, 'wasm-chromium', rep),
        { index, seeds: options.seeds, quick: options.quick, rep: options.rep },
      );
      if (problems.length > 0) fail(problems.join('\n'));
      record(options, 'wasm-chromium', index, total, line);
    }
  } finally {
    await browser?.close();
    await server.close();
  }
}

try {
  const options = parseArgs(process.argv.slice(2));
  if (options.target === 'node') runNode(options);
  else await runChromium(options);
} catch (error) {
  console.error(`bench-sim: ${error instanceof BenchError ? error.message : error.stack ?? error}`);
  process.exit(1);
}
