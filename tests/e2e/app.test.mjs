// End-to-end: a new user opens the built app, plays the simulation, pauses, reloads, and finds
// the session restored from IndexedDB, then single-steps it.
//
// This is the contract between the app and its tests (data-testid names):
//   app                      root element, present once the Yew app has rendered
//   seed, trace-hash         the run's seed (non-empty) and its trace hash
//   play                     toggles play / pause
//   step                     advances the simulation by one step
//   step-count               optional: the number of steps taken
//   status                   contains "Restored" after a reload restored the session
//   partition-*              one element per partition, with data-leo, data-hw, data-log-start
//
// Run with LOGSIM_DIST pointing at a `trunk build --release` output (`cargo xtask test` does).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { launchChromium } from './chromium.mjs';
import { serveStatic } from './static-server.mjs';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = path.resolve(process.env.LOGSIM_DIST ?? path.join(REPO_ROOT, 'dist'));
const SCREENSHOTS = path.join(REPO_ROOT, 'target', 'e2e');
const WAIT_MS = 30_000;
const POLL_MS = 100;
const VIEWPORT = { width: 1280, height: 800 };
const PARTITIONS = '[data-testid^="partition-"][data-leo]';

/** Collects page errors and console errors; every wait fails as soon as one appears. */
class PageErrors {
  constructor(page) {
    this.errors = [];
    page.on('pageerror', (error) => this.errors.push(`pageerror: ${error.stack ?? error}`));
    page.on('console', (message) => {
      if (message.type() === 'error') {
        const where = message.location();
        const at = where?.url ? ` (at ${where.url}:${where.lineNumber})` : '';
        this.errors.push(`console.error: ${message.text()}${at}`);
      }
    });
  }

  check(phase) {
    if (this.errors.length > 0) {
      assert.fail(`errors in the page while ${phase}:\n  ${this.errors.join('\n  ')}`);
    }
  }
}

/**
 * Polls `probe` until it returns a truthy value, and returns that value. Fails after WAIT_MS
 * with `what`, the last probed value, or at once if the page reported an error.
 */
async function waitUntil(errors, what, probe) {
  const deadline = Date.now() + WAIT_MS;
  let last;
  for (;;) {
    errors.check(`waiting for ${what}`);
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) {
      assert.fail(`timed out after ${WAIT_MS / 1000} s waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function parseOffset(partition, name, text) {
  assert.ok(
    typeof text === 'string' && /^\d+$/.test(text),
    `${partition} has ${name}=${JSON.stringify(text)}, expected a non-negative integer`,
  );
  const value = Number(text);
  assert.ok(Number.isSafeInteger(value), `${partition} ${name}=${text} is too large`);
  return value;
}

/** Every partition as { id, leo, hw, logStart }, in document order. */
async function readPartitions(page) {
  const raw = await page.$$eval(PARTITIONS, (elements) =>
    elements.map((element) => ({
      id: element.getAttribute('data-testid'),
      leo: element.getAttribute('data-leo'),
      hw: element.getAttribute('data-hw'),
      logStart: element.getAttribute('data-log-start'),
    })),
  );
  return raw.map(({ id, leo, hw, logStart }) => ({
    id,
    leo: parseOffset(id, 'data-leo', leo),
    hw: parseOffset(id, 'data-hw', hw),
    logStart: parseOffset(id, 'data-log-start', logStart),
  }));
}

const sumOfLeo = (partitions) => partitions.reduce((sum, partition) => sum + partition.leo, 0);

async function textOf(page, testId) {
  const element = await page.$(`[data-testid="${testId}"]`);
  return element === null ? null : (await element.textContent()).trim();
}

async function waitForApp(page, errors) {
  await waitUntil(errors, 'the app to render [data-testid=app]', () =>
    page.$('[data-testid="app"]'),
  );
}

async function click(page, testId) {
  await page.click(`[data-testid="${testId}"]`, { timeout: WAIT_MS });
}

/** Reads partitions until two reads POLL_MS * 5 apart agree: the pause has taken effect. */
async function waitForStablePartitions(page, errors) {
  let previous = JSON.stringify(await readPartitions(page));
  return waitUntil(errors, 'partition offsets to stop changing after pause', async () => {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 5));
    const partitions = await readPartitions(page);
    const current = JSON.stringify(partitions);
    const stable = current === previous;
    previous = current;
    return stable ? partitions : null;
  });
}

test('a new user plays, pauses, reloads into a restored session, and steps', { timeout: 180_000 }, async (t) => {
  assert.ok(
    existsSync(path.join(DIST, 'index.html')),
    `no built app at ${DIST}/index.html: run \`cargo xtask build\` (or set LOGSIM_DIST)`,
  );
  mkdirSync(SCREENSHOTS, { recursive: true });

  const server = await serveStatic(DIST);
  t.after(() => server.close());
  const browser = await launchChromium();
  t.after(() => browser.close());
  // A fresh context is a new user: empty IndexedDB, no cookies.
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  const errors = new PageErrors(page);

  // 1. First visit.
  await page.goto(server.url, { waitUntil: 'domcontentloaded', timeout: WAIT_MS });
  await waitForApp(page, errors);
  const seed = await waitUntil(errors, 'a non-empty [data-testid=seed]', () =>
    textOf(page, 'seed'),
  );
  const traceHash = await textOf(page, 'trace-hash');
  assert.notEqual(traceHash, null, 'the page has no [data-testid=trace-hash]');
  t.diagnostic(`seed ${seed}, trace hash ${traceHash}`);

  // 2. Play: offsets must start moving and keep moving.
  await click(page, 'play');
  const firstSum = await waitUntil(errors, 'the sum of data-leo over partitions to exceed 0', async () => {
    const sum = sumOfLeo(await readPartitions(page));
    return sum > 0 ? sum : null;
  });
  await waitUntil(errors, `the sum of data-leo to keep growing past ${firstSum}`, async () =>
    sumOfLeo(await readPartitions(page)) > firstSum,
  );
  await page.screenshot({ path: path.join(SCREENSHOTS, 'app-playing.png') });

  // 3. Pause and record every partition.
  await click(page, 'play');
  const paused = await waitForStablePartitions(page, errors);
  assert.ok(paused.length > 0, `no partitions matched ${PARTITIONS}`);
  for (const { id, leo, hw, logStart } of paused) {
    assert.ok(hw <= leo, `${id}: high watermark ${hw} is above log end offset ${leo}`);
    assert.ok(logStart <= leo, `${id}: log start offset ${logStart} is above log end offset ${leo}`);
  }
  t.diagnostic(`paused at ${paused.map((p) => `${p.id}=${p.logStart}/${p.hw}/${p.leo}`).join(' ')}`);

  // 4. Reload: the session comes back from IndexedDB exactly where it paused.
  await page.reload({ waitUntil: 'domcontentloaded', timeout: WAIT_MS });
  await waitForApp(page, errors);
  await waitUntil(errors, '[data-testid=status] to contain "Restored"', async () =>
    ((await textOf(page, 'status')) ?? '').includes('Restored'),
  );
  const restored = await readPartitions(page);
  assert.deepEqual(
    restored.map(({ id, leo }) => ({ id, leo })),
    paused.map(({ id, leo }) => ({ id, leo })),
    'after reload, every partition must show the log end offset it had when paused',
  );
  await page.screenshot({ path: path.join(SCREENSHOTS, 'app-restored.png') });

  // 5. One step moves something: the step counter or some partition's log end offset.
  const stepsBefore = await textOf(page, 'step-count');
  const leoBefore = JSON.stringify(restored.map(({ leo }) => leo));
  await click(page, 'step');
  await waitUntil(errors, 'a step to advance [data-testid=step-count] or some data-leo', async () => {
    const steps = await textOf(page, 'step-count');
    const stepped = stepsBefore !== null && steps !== null && steps !== stepsBefore;
    const leo = JSON.stringify((await readPartitions(page)).map((p) => p.leo));
    return stepped || leo !== leoBefore;
  });
  errors.check('stepping');
});
