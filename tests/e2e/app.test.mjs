// End-to-end: new users of the built app, in headless Chromium, each in a fresh browser context
// (empty IndexedDB): take a lesson to its end; crash a leader and see the election and the ISR
// change; hover an offset cell and read its record; drop one message on the wire; cut a leader off and see the checker flag an acks=1 loss; scrub back and fork; share a
// link and open it in a fresh context to the same state; reload and resume; export a session and
// replay it with the native CLI to the same trace hash; get clear errors for bad links and files.
//
// The contract between the app and this test is its data-testid names (see www/src/ui/).
// Run with LOGSIM_DIST pointing at a `trunk build --release` output and LOGSIM_CLI at the
// native `logsim` binary (`cargo xtask test` sets both). Screenshots go to target/e2e/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { launchChromium } from './chromium.mjs';
import { serveStatic } from './static-server.mjs';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = path.resolve(process.env.LOGSIM_DIST ?? path.join(REPO_ROOT, 'dist'));
const CLI = path.resolve(process.env.LOGSIM_CLI ?? path.join(REPO_ROOT, 'target', 'debug', 'logsim'));
const SCREENSHOTS = path.join(REPO_ROOT, 'target', 'e2e');
const WAIT_MS = 60_000;
const POLL_MS = 100;
const VIEWPORT = { width: 1440, height: 1000 };

let server;
let browser;

before(async () => {
  assert.ok(
    existsSync(path.join(DIST, 'index.html')),
    `no built app at ${DIST}/index.html: run \`cargo xtask build\` (or set LOGSIM_DIST)`,
  );
  mkdirSync(SCREENSHOTS, { recursive: true });
  server = await serveStatic(DIST);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** Collects page errors and console errors; every wait fails as soon as one appears. */
class PageErrors {
  constructor(page) {
    this.errors = [];
    page.on('pageerror', (error) => this.errors.push(`pageerror: ${error.stack ?? error}`));
    page.on('console', (message) => {
      if (message.type() === 'error') {
        this.errors.push(`console.error: ${message.text()}`);
      }
    });
  }

  check(phase) {
    if (this.errors.length > 0) {
      assert.fail(`errors in the page while ${phase}:\n  ${this.errors.join('\n  ')}`);
    }
  }
}

/** A new user: a fresh context (empty IndexedDB) and a page on the app. */
async function newUser(url = server.url) {
  const context = await browser.newContext({ viewport: VIEWPORT, acceptDownloads: true });
  const page = await context.newPage();
  const errors = new PageErrors(page);
  await page.goto(url);
  await waitUntil(errors, 'the app to render', () => page.$('[data-testid="app"]'));
  return { context, page, errors };
}

async function waitUntil(errors, what, probe, waitMs = WAIT_MS) {
  const deadline = Date.now() + waitMs;
  let last;
  for (;;) {
    errors.check(`waiting for ${what}`);
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) {
      assert.fail(`timed out after ${waitMs / 1000} s waiting for ${what} (last: ${JSON.stringify(last)})`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

const sel = (testId) => `[data-testid="${testId}"]`;

async function text(page, testId) {
  const element = await page.$(sel(testId));
  return element === null ? null : (await element.textContent()).trim();
}

async function attr(page, testId, name) {
  const element = await page.$(sel(testId));
  return element === null ? null : element.getAttribute(name);
}

async function step(page) {
  return Number(await text(page, 'step-count'));
}

async function clockSeconds(page) {
  return parseFloat(await text(page, 'clock'));
}

async function load(page, errors, value) {
  await page.selectOption(sel('picker'), value);
  await waitUntil(errors, `${value} to load`, async () => (await step(page)) === 0);
}

async function setSpeed(page, simMsPerSecond) {
  await page.selectOption(sel('speed'), String(simMsPerSecond));
}

async function isPlaying(page) {
  return (await text(page, 'play')).includes('Pause');
}

async function play(page) {
  if (!(await isPlaying(page))) await page.click(sel('play'));
}

async function pause(page, errors) {
  if (await isPlaying(page)) await page.click(sel('play'));
  await waitUntil(errors, 'the run to pause', async () => !(await isPlaying(page)));
}

/**
 * Scrolls a panel into view, as a user watching it has it. While the cluster plays, the page
 * redraws only what is on screen (www/src/ui/on_screen.rs); a paused picture is drawn whole.
 */
async function watch(page, testid) {
  await page.$$eval(sel(testid), (els) => els[0]?.scrollIntoView({ block: 'start' }));
}

/** Plays until `probe` holds, then pauses. */
async function playUntil(page, errors, what, probe, waitMs = WAIT_MS) {
  await play(page);
  const result = await waitUntil(errors, what, probe, waitMs);
  await pause(page, errors);
  return result;
}

/** A partition's state as drawn, or null before it exists. */
async function partition(page, name) {
  const element = await page.$(sel(`partition-${name}`));
  if (element === null) return null;
  return element.evaluate((el) => ({
    leader: el.getAttribute('data-leader'),
    isr: el.getAttribute('data-isr'),
    epoch: Number(el.getAttribute('data-leader-epoch')),
    hw: Number(el.getAttribute('data-hw')),
    leo: Number(el.getAttribute('data-leo')),
  }));
}

async function allPartitions(page) {
  return page.$$eval('[data-testid^="partition-"][data-leo]', (els) =>
    els.map((el) => [el.getAttribute('data-testid'), el.getAttribute('data-leader'), el.getAttribute('data-isr'), el.getAttribute('data-hw'), el.getAttribute('data-leo')].join(' ')),
  );
}

async function seekTo(page, value) {
  await page.$eval(
    sel('scrubber'),
    (el, v) => {
      el.value = String(v);
      el.dispatchEvent(new Event('change', { bubbles: true }));
    },
    value,
  );
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

test('a new user takes a lesson to its end, then plays freely', { timeout: 300_000 }, async () => {
  const { context, page, errors } = await newUser();
  const lessons = await page.$$eval(`${sel('picker')} option`, (os) =>
    os.map((o) => o.value).filter((v) => v.startsWith('lesson:')),
  );
  assert.ok(lessons.length >= 8, `at least 8 lessons, found ${lessons.length}`);
  await load(page, errors, lessons[0]);
  await waitUntil(errors, 'the lesson panel', () => page.$(sel('lesson')));
  await setSpeed(page, 3000);
  await shot(page, 'lesson-start');
  for (let n = 0; n < 20 && !(await page.$(sel('lesson-done'))); n++) {
    const doIt = await page.$(sel('lesson-do'));
    if (doIt) await doIt.click();
    await playUntil(page, errors, `the checkpoint of lesson step ${await text(page, 'lesson-step')}`, async () =>
      (await attr(page, 'lesson-goal', 'data-met')) === 'true',
    );
    const next = await page.$(sel('lesson-next'));
    if (next) {
      await next.click();
      await waitUntil(errors, 'the next lesson step', async () => (await attr(page, 'lesson-goal', 'data-met')) !== 'true' || (await page.$(sel('lesson-done'))));
    }
  }
  assert.ok(await page.$(sel('lesson-done')), 'the lesson reached its end');
  await shot(page, 'lesson-done');
  // Free play from the same state: the clock keeps going.
  const before = await clockSeconds(page);
  await playUntil(page, errors, 'free play to run on', async () => (await clockSeconds(page)) > before + 1);
  await context.close();
});

test('crashing a leader elects a new one and shrinks the ISR', { timeout: 180_000 }, async () => {
  const { context, page, errors } = await newUser();
  await setSpeed(page, 3000);
  await playUntil(page, errors, 'the playground to elect leaders and fill orders-0', async () => {
    const p = await partition(page, 'orders-0');
    return p !== null && p.leader !== 'none' && p.hw >= 3;
  });
  const first = await partition(page, 'orders-0');
  await shot(page, 'playground-before-crash');
  await page.click(sel(`partition-orders-0-menu`));
  await page.click(sel('crash-leader-orders-0'));
  await waitUntil(errors, 'the action to be listed', async () => (await text(page, 'actions-count'))?.startsWith('1'));
  const after = await playUntil(page, errors, 'a new leader for orders-0 and the old one out of the ISR', async () => {
    const p = await partition(page, 'orders-0');
    const isr = p.isr.split(',').map((s) => s.trim());
    return p.leader !== 'none' && p.leader !== first.leader && !isr.includes(first.leader) ? p : null;
  });
  assert.ok(after.epoch > first.epoch, `the leader epoch grew: ${first.epoch} -> ${after.epoch}`);
  assert.equal(await attr(page, `broker-${first.leader}`, 'data-state'), 'crashed');
  const events = await page.$$eval(sel('event'), (els) => els.map((e) => e.textContent));
  assert.ok(events.length > 0, 'the event log explains what happened');
  await shot(page, 'leader-crashed');
  await context.close();
});

test('hovering an offset cell shows its record and where it stands', { timeout: 180_000 }, async () => {
  const { context, page, errors } = await newUser();
  await setSpeed(page, 1000);
  await playUntil(page, errors, 'orders-0 to have records below the high watermark', async () => {
    const p = await partition(page, 'orders-0');
    return p !== null && p.leader !== 'none' && p.hw >= 3;
  });
  // The first cell of the first replica row: the strip's cells start after the 128-unit label
  // column, 20 units apart, the first row 12 units down (www/src/ui/cluster.rs).
  const strip = await page.$(`${sel('partition-orders-0')} svg.log-strip`);
  await strip.scrollIntoViewIfNeeded();
  const box = await strip.boundingBox();
  const scale = box.width / Number(await strip.getAttribute('width'));
  await page.mouse.move(box.x + (128 + 9) * scale, box.y + (12 + 11) * scale);
  const card = await waitUntil(errors, 'the record card to show the record', async () => {
    const t = await text(page, 'record-card');
    return t && /key/.test(t) && /value/.test(t) ? t : null;
  });
  assert.match(card, /orders-0 offset 0 on broker \d/, card);
  assert.match(card, /below the high watermark/, card);
  assert.match(card, /leader epoch/, card);
  await shot(page, 'record-card');
  // The keyboard reads the same cells: the strip takes focus, the arrows move the card.
  const stepBefore = await text(page, 'step-count');
  await strip.focus();
  await page.keyboard.press('ArrowRight');
  await waitUntil(errors, 'the card to move to offset 1', async () => /orders-0 offset 1 on broker/.test(await text(page, 'record-card')));
  const brokerBefore = (await text(page, 'record-card')).match(/on broker (\d)/)[1];
  await page.keyboard.press('ArrowDown');
  await waitUntil(errors, 'the card to move to the next replica', async () => {
    const m = (await text(page, 'record-card'))?.match(/orders-0 offset 1 on broker (\d)/);
    return m && m[1] !== brokerBefore;
  });
  assert.equal(await text(page, 'step-count'), stepBefore, 'the arrows read cells instead of stepping the simulation');
  await page.keyboard.press('Escape');
  await waitUntil(errors, 'Escape to close the card', async () => (await page.$(sel('record-card'))) === null);
  errors.check('hovering');
  await context.close();
});

test('one produce request on the wire is dropped and the event log says so', { timeout: 180_000 }, async () => {
  const { context, page, errors } = await newUser();
  await setSpeed(page, 1000);
  await playUntil(page, errors, 'orders-0 to have a leader and records', async () => {
    const p = await partition(page, 'orders-0');
    return p !== null && p.leader !== 'none' && p.hw >= 2;
  });
  // Paused: the wire lists its messages; step until a produce request is among them.
  const produce = `${sel('wire-message')}[data-kind="Produce"]`;
  await waitUntil(errors, 'a produce request on the wire', async () => {
    if (await page.$(produce)) return true;
    await page.click(sel('step'));
    return false;
  });
  const label = await page.$eval(`${produce} ${sel('drop-message')}`, (b) => b.getAttribute('aria-label'));
  const number = label.match(/#(\d+)/)[1];
  await page.click(`${produce} ${sel('drop-message')}`);
  await waitUntil(errors, 'the action to be listed', async () => (await text(page, 'actions-count'))?.startsWith('1'));
  // The action runs at the next simulated millisecond: step to it.
  const lost = await waitUntil(errors, 'the event log to report the lost request', async () => {
    await page.click(sel('step'));
    const lines = await page.$$eval(sel('event'), (els) => els.map((e) => e.textContent));
    return lines.find((l) => l.includes(`Produce #${number}`) && l.includes('is lost')) ?? null;
  });
  assert.match(lost, /on the wire from producer 0 to broker \d is lost/, lost);
  await shot(page, 'message-dropped');
  await context.close();
});

test('cutting an acks=1 leader off and crashing it: the checker flags the loss as legal', { timeout: 180_000 }, async () => {
  const { context, page, errors } = await newUser();
  await load(page, errors, 'library:playground-acks1');
  await setSpeed(page, 1000);
  await playUntil(page, errors, 'orders-0 to have a leader and records', async () => {
    const p = await partition(page, 'orders-0');
    return p !== null && p.leader !== 'none' && p.hw >= 5;
  });
  await page.click(sel('partition-orders-0-menu'));
  await page.click(sel('cut-leader-orders-0'));
  await playUntil(page, errors, 'the cut leader to acknowledge writes its followers never fetch', async () => {
    const p = await partition(page, 'orders-0');
    return p.leo > p.hw + 5;
  });
  await page.click(sel('partition-orders-0-menu'));
  await page.click(sel('crash-leader-orders-0'));
  await page.click(sel('heal'));
  await setSpeed(page, 3000);
  const findings = await playUntil(page, errors, 'the live checker to flag a lost write', async () => {
    const kinds = await page.$$eval(sel('finding'), (els) => els.map((e) => e.getAttribute('data-kind')));
    return kinds.includes('lost-write') ? kinds : null;
  });
  assert.ok(findings.length > 0);
  assert.equal(await attr(page, 'checker', 'data-bugs'), '0', 'acks=1 makes the loss legal, not a bug');
  const legal = await page.$eval(`${sel('finding')}[data-kind="lost-write"]`, (e) => e.textContent);
  assert.match(legal, /acks=1/);
  await shot(page, 'acks1-loss-flagged');
  await context.close();
});

test('scrubbing back and acting forks the timeline', { timeout: 180_000 }, async () => {
  const { context, page, errors } = await newUser();
  await setSpeed(page, 3000);
  await playUntil(page, errors, 'the playground to run 6 s', async () => (await clockSeconds(page)) >= 6);
  const horizon = await step(page);
  await seekTo(page, Math.floor(horizon / 2));
  await waitUntil(errors, 'the rewind', async () => (await step(page)) === Math.floor(horizon / 2));
  assert.ok(await page.$(sel('in-past')), 'the bar says we are in the past');
  await page.click(sel('broker-2-menu'));
  await page.click(sel('crash-2'));
  await waitUntil(errors, 'a forked timeline', async () => (await text(page, 'timelines')) === 'timeline 2');
  assert.equal(await page.$(sel('in-past')), null, 'the fork made this the present');
  await playUntil(page, errors, 'broker 2 to be down on the new timeline', async () => (await attr(page, 'broker-2', 'data-state')) === 'crashed');
  await shot(page, 'forked-timeline');
  await context.close();
});

test('a share link opens the same state in a fresh browser; a reload resumes', { timeout: 180_000 }, async () => {
  const { context, page, errors } = await newUser();
  await setSpeed(page, 3000);
  await playUntil(page, errors, 'the playground to run 3 s', async () => (await clockSeconds(page)) >= 3);
  await page.click(sel('broker-3-menu'));
  await page.click(sel('pause-3'));
  await playUntil(page, errors, 'the run to continue after the action', async () => (await clockSeconds(page)) >= 5);
  const mine = { hash: await text(page, 'trace-hash'), step: await step(page), partitions: await allPartitions(page) };
  await page.click(sel('share'));
  const link = await waitUntil(errors, 'the share link', () => page.inputValue(sel('share-link')));
  assert.match(link, /#r=/);
  await shot(page, 'share-link');

  const friend = await newUser(link);
  await waitUntil(friend.errors, 'the shared state', async () => (await step(friend.page)) === mine.step);
  assert.equal(await text(friend.page, 'trace-hash'), mine.hash);
  assert.deepEqual(await allPartitions(friend.page), mine.partitions);
  assert.equal(await attr(friend.page, 'broker-3', 'data-state'), 'paused');
  await friend.context.close();

  // The session was saved in IndexedDB: a reload (no link) resumes it.
  await page.goto(server.url);
  await waitUntil(errors, 'the restored session', async () => (await text(page, 'status'))?.includes('Restored'));
  await waitUntil(errors, 'the restored step', async () => (await step(page)) === mine.step);
  assert.equal(await text(page, 'trace-hash'), mine.hash);
  assert.deepEqual(await allPartitions(page), mine.partitions);
  await shot(page, 'reloaded');
  await context.close();
});

test('an exported session replays natively to the same trace hash', { timeout: 240_000 }, async () => {
  assert.ok(existsSync(CLI), `no native CLI at ${CLI}: build it (cargo build -p logsim-cli) or set LOGSIM_CLI`);
  const { context, page, errors } = await newUser();
  const scenario = {
    scenario: 'cluster', name: 'Short run for export', duration_ms: 8000, brokers: 3,
    topics: [{ name: 't', partitions: 2, replication_factor: 3 }],
    producers: [{ topic: 't', config: { acks: 'all' } }],
    consumers: [{ topic: 't' }],
  };
  const file = path.join(SCREENSHOTS, 'short-run.json');
  writeFileSync(file, JSON.stringify(scenario));
  await page.setInputFiles(sel('import'), file);
  await waitUntil(errors, 'the imported scenario', async () => (await text(page, 'title')) === 'Short run for export');
  await setSpeed(page, 3000);
  await playUntil(page, errors, 'two seconds', async () => (await clockSeconds(page)) >= 2);
  await page.click(sel('broker-1-menu'));
  await page.click(sel('crash-1'));
  await setSpeed(page, 100000);
  await play(page);
  await waitUntil(errors, 'the run to end', async () => (await text(page, 'play')).includes('Ended'));
  const hash = await text(page, 'trace-hash');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(sel('export'))]);
  const exported = path.join(SCREENSHOTS, 'exported-session.json');
  await download.saveAs(exported);
  const out = execFileSync(CLI, ['run', '--scenario', exported], { encoding: 'utf8' });
  const native = out.match(/trace hash ([0-9a-f]{16})/)?.[1];
  assert.equal(native, hash, `logsim run printed:\n${out.slice(-500)}`);
  await context.close();
});

test('bad links and files get clear errors and lose nothing', { timeout: 120_000 }, async () => {
  const { context, page, errors } = await newUser(`${server.url}#r=${encodeURIComponent('{"source":{"library":"nope"},"seed":1}')}`);
  await waitUntil(errors, 'the error banner', async () => (await text(page, 'error'))?.includes('no built-in scenario'));
  assert.equal(await text(page, 'title'), 'Playground: three brokers, one replicated topic', 'the playground runs instead');
  const bad = path.join(SCREENSHOTS, 'not-a-scenario.json');
  writeFileSync(bad, '<script>alert(1)</script>');
  await page.setInputFiles(sel('import'), bad);
  await waitUntil(errors, 'the import error', async () => (await text(page, 'error'))?.includes('not a valid scenario file'));
  assert.equal(await page.$('script[src=""]'), null);
  await shot(page, 'bad-input');
  await context.close();
});

/** A consumer group as drawn: state, generation, members, and each partition's owner. */
async function group(page, id) {
  await watch(page, 'groups');
  const element = await page.$(sel(`group-${id}`));
  if (element === null) return null;
  return element.evaluate((el) => ({
    state: el.getAttribute('data-state'),
    generation: Number(el.getAttribute('data-generation')),
    members: Number(el.getAttribute('data-members')),
    owners: Array.from(el.querySelectorAll('[data-owner]')).map((c) => c.getAttribute('data-owner')),
  }));
}

const allOwned = (g) => g !== null && g.state === 'Stable' && g.owners.length > 0 && g.owners.every((o) => o !== 'none');

test('a new user adds a third consumer and a cooperative rebalance moves only one partition', { timeout: 240_000 }, async () => {
  const { context, page, errors } = await newUser();
  await load(page, errors, 'library:groups');
  await setSpeed(page, 3000);
  const before = await playUntil(page, errors, 'group shop to be stable with both members owning partitions', async () => {
    const g = await group(page, 'shop');
    return allOwned(g) && g.members === 2 && new Set(g.owners).size === 2 ? g : null;
  });
  assert.equal(await attr(page, 'group-shop', 'data-protocol'), 'cooperative');
  await shot(page, 'groups-before-join');
  await page.click(sel('group-shop-add'));
  await waitUntil(errors, "the join to be listed", async () => (await text(page, "actions-count"))?.startsWith("1"));
  const after = await playUntil(page, errors, 'the third member to own a partition in a stable group', async () => {
    const g = await group(page, 'shop');
    return allOwned(g) && g.members === 3 && g.owners.includes('2') ? g : null;
  });
  const moved = before.owners.map((o, p) => [o, after.owners[p]]).filter(([a, b]) => a !== b);
  assert.equal(moved.length, 1, `one partition moved: ${JSON.stringify(before.owners)} -> ${JSON.stringify(after.owners)}`);
  assert.equal(moved[0][1], '2', 'to the new member');
  // Cooperative: the move took two rebalances (revoke, then assign).
  assert.ok(after.generation >= before.generation + 2, `generations ${before.generation} -> ${after.generation}`);
  // Each member's line tells its part: one old member revoked exactly one partition and kept
  // the rest, the newcomer was assigned it.
  const line = (i) => text(page, `member-${i}-rebalance`);
  const old = [await line(0), await line(1)];
  const revoked = old.filter((l) => /revoked p\d(,|$)/.test(l));
  assert.equal(revoked.length, 1, old.join('\n'));
  assert.ok(old.every((l) => /kept p\d/.test(l)), old.join('\n'));
  assert.match(await line(2), /assigned p\d$/, await line(2));
  assert.ok(await page.$(sel('group-shop-story')), 'the group panel tells the rebalance');
  await page.$eval(sel('groups'), (el) => el.scrollIntoView());
  await shot(page, 'groups-cooperative-join');
  await context.close();
});

test('a consumer stalled past max.poll.interval.ms leaves and its partitions move', { timeout: 240_000 }, async () => {
  const { context, page, errors } = await newUser();
  await load(page, errors, 'library:groups');
  await setSpeed(page, 3000);
  const before = await playUntil(page, errors, 'both members to own partitions', async () => {
    const g = await group(page, 'shop');
    return allOwned(g) && new Set(g.owners).size === 2 ? g : null;
  });
  assert.ok(before.owners.includes('0'));
  await page.click(sel('stall-0'));
  await waitUntil(errors, 'the stall to be listed', async () => (await text(page, 'actions-count'))?.startsWith('1'));
  await playUntil(page, errors, 'consumer 0 to leave and consumer 1 to own every partition', async () => {
    const g = await group(page, 'shop');
    const state = await text(page, 'member-0-state');
    return allOwned(g) && g.owners.every((o) => o === '1') && /left the group/.test(state ?? '');
  });
  assert.match(await text(page, 'member-0-state'), /max\.poll\.interval\.ms=10000/);
  await page.$eval(sel('groups'), (el) => el.scrollIntoView());
  await shot(page, 'groups-stalled-member-left');
  await context.close();
});

test('a new user reads the lag table and sees a stalled member fall behind', { timeout: 240_000 }, async () => {
  const { context, page, errors } = await newUser();
  await load(page, errors, 'library:groups');
  await setSpeed(page, 3000);
  const rowsOf = async () => {
    await watch(page, 'groups');
    return page.$$eval(`${sel('group-shop-lag-table')} tbody tr`, (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent.trim())),
    );
  };
  await playUntil(page, errors, 'every partition to have a committed offset', async () => {
    const rows = await rowsOf();
    return rows.length === 3 && rows.every((r) => r[2] !== '-') ? rows : null;
  });
  const rows = await rowsOf();
  for (const [topic, p, current, logEnd, lag, consumerId] of rows) {
    assert.equal(topic, 'orders');
    assert.equal(Number(lag), Math.max(0, Number(logEnd) - Number(current)), `LAG = LOG-END-OFFSET - CURRENT-OFFSET on partition ${p}`);
    // LOG-END-OFFSET is what a consumer can read: the partition's high watermark.
    assert.equal(Number(logEnd), (await partition(page, `orders-${p}`)).hw, `partition ${p}`);
    assert.match(consumerId, /^consumer-\d-/, 'each partition has an owner');
  }
  // The member that owns partition 0 stalls: it neither reads nor commits, so its lag grows.
  const owner = (await group(page, 'shop')).owners[0];
  const lagBefore = Number((await rowsOf())[0][4]);
  await page.click(sel(`stall-${owner}`));
  await playUntil(page, errors, 'the stalled member\'s lag to grow', async () => Number((await rowsOf())[0][4]) >= lagBefore + 5);
  assert.ok(await page.$(sel('chart-lag')), 'a lag chart is drawn');
  const chartLabel = await page.$eval(`${sel('chart-lag')} svg`, (el) => el.getAttribute('aria-label'));
  assert.match(chartLabel, /shop \d+/, chartLabel);
  await page.$eval(sel('group-shop-lag-table'), (el) => el.scrollIntoView());
  await shot(page, 'groups-lag-table');
  await context.close();
});

test('a large cluster stays responsive and says when the simulation cannot keep up', { timeout: 240_000 }, async () => {
  // 3 brokers x 1,000 partitions with a busy producer: more than the worker can play at 10x.
  const scenario = {
    scenario: 'cluster', name: 'Large', description: 'A large cluster', seed: 1, duration_ms: 600000, brokers: 3,
    topics: [{ name: 'big', partitions: 1000, replication_factor: 3, config: { 'min.insync.replicas': '2' } }],
    producers: [{ topic: 'big', keys: 10000, interval_ms_min: 1, interval_ms_max: 5, config: { acks: 'all', 'enable.idempotence': true } }],
    consumers: [{ topic: 'big', poll_interval_ms: 100 }], steps: [],
  };
  const recipe = { source: { inline: scenario }, seed: 1 };
  const { context, page, errors } = await newUser(`${server.url}#r=${encodeURIComponent(JSON.stringify(recipe))}`);
  await setSpeed(page, 10000);
  await play(page);
  const badge = await waitUntil(errors, 'the time bar to say the simulation cannot keep up', async () => text(page, 'achieved-speed'));
  await shot(page, 'large-cluster');
  await pause(page, errors);
  assert.match(await text(page, 'cluster-summary'), /3 broker\(s\), 1000 partition\(s\)/);
  const [, achieved] = badge.match(/running at ([\d.]+)x of the chosen 10x/) ?? [];
  assert.ok(achieved !== undefined && Number(achieved) > 0 && Number(achieved) < 8, badge);
  // The heat map covers every partition, and the page still answers: paging moves the detail.
  assert.ok(await page.$(sel('heat-map')), 'past 6 partitions a heat map shows them all');
  await page.click('nav.pager button:has-text("Next")');
  await waitUntil(errors, 'the second page of partitions', () => page.$(sel('partition-big-6')));
  // Paused, the badge goes: it describes play.
  assert.equal(await text(page, 'achieved-speed'), null);
  await context.close();
});

/** What the transaction layer of a partition's log strip draws now. */
async function txnCells(page, name) {
  return page.$eval(sel(`partition-${name}`), (el) => ({
    markers: [...el.querySelectorAll('.marker-text')].map((t) => t.textContent),
    aborted: [...el.querySelectorAll('path.txn-aborted')].some((p) => (p.getAttribute('d') ?? '').length > 0),
    struck: [...el.querySelectorAll('path.txn-strike')].some((p) => (p.getAttribute('d') ?? '').length > 0),
    lso: el.querySelector('.lso-mark') !== null,
  }));
}

test('a new user sees transactions in the log: markers, aborted records struck out, the LSO, read_committed beside read_uncommitted', { timeout: 240_000 }, async () => {
  const { context, page, errors } = await newUser();
  await load(page, errors, 'library:transactions');
  await setSpeed(page, 3000);
  await playUntil(page, errors, 'a COMMIT and an ABORT marker in payments-0', async () => {
    const cells = await txnCells(page, 'payments-0').catch(() => null);
    return cells && cells.markers.includes('C') && cells.markers.includes('A') && cells.aborted ? cells : null;
  });
  const cells = await txnCells(page, 'payments-0');
  assert.ok(cells.struck, 'aborted records are struck through');
  assert.ok(cells.lso, 'the LSO is drawn');
  assert.match(await text(page, 'lso-payments-0'), /HW \d+ · LSO \d+ · LEO \d+/);
  assert.ok(await page.$(sel('legend-transactions')), 'the legend explains the transaction cells');
  assert.equal(await text(page, 'consumer-0-isolation'), 'isolation.level=read_committed');
  assert.equal(await text(page, 'consumer-1-isolation'), 'isolation.level=read_uncommitted');
  // The coordinator's view of payments-app, its state marked on the state machine.
  const state = await attr(page, 'txn-payments-app', 'data-state');
  assert.ok(['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort'].includes(state), state);
  assert.ok(await page.$(`${sel('txn-payments-app')} .txn-state.current`), 'the current state is marked');
  assert.match(await text(page, 'producer-0-txn'), /producer id \d+ · epoch 0 · (READY|IN_TRANSACTION|COMMITTING_TRANSACTION|ABORTING_TRANSACTION)/);
  // A marker's record card names it as a control record.
  await page.$eval(sel('partition-payments-0'), (el) => el.scrollIntoView({ block: 'center' }));
  const box = await page.$eval(sel('partition-payments-0'), (el) => {
    const text = [...el.querySelectorAll('.replica.leader .marker-text')][0];
    const r = text.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  });
  await page.mouse.move(box.x, box.y);
  await waitUntil(errors, 'the marker\'s record card', async () => {
    const card = await text(page, 'record-card');
    return card && /control record\s*(COMMIT|ABORT) \(coordinator epoch \d+\)/.test(card) ? card : null;
  });
  assert.match(await text(page, 'record-card'), /marker of producer id \d+: a control record/);
  await shot(page, 'transactions-log');
  await context.close();
});

test('a producer frozen past transaction.timeout.ms is aborted by its coordinator and fenced on screen', { timeout: 240_000 }, async () => {
  const { context, page, errors } = await newUser();
  await load(page, errors, 'library:transactions');
  await setSpeed(page, 3000);
  // Freeze it inside a transaction (between two, there is nothing to time out).
  const inTransaction = async () => (await attr(page, 'producer-0-txn', 'data-state')) === 'IN_TRANSACTION';
  await setSpeed(page, 1000);
  for (let tries = 0; tries < 20; tries++) {
    await playUntil(page, errors, 'a transaction to be open', inTransaction);
    if (await inTransaction()) break;
  }
  assert.ok(await inTransaction(), 'paused inside a transaction');
  assert.equal(await attr(page, 'txn-payments-app', 'data-epoch'), '0');
  await page.click(sel('freeze-producer-0'));
  await waitUntil(errors, 'the freeze to be listed', async () => (await text(page, 'actions-count'))?.startsWith('1'));
  await playUntil(page, errors, 'producer 0 to be fenced', () => page.$(sel('producer-0-fenced')), 120_000);
  assert.match(await text(page, 'producer-0-fenced'), /fenced: (PRODUCER_FENCED|INVALID_PRODUCER_EPOCH)/);
  // The coordinator's timeout abort bumped the epoch.
  assert.ok(Number(await attr(page, 'txn-payments-app', 'data-epoch')) >= 1, 'the epoch was bumped');
  assert.match(await text(page, 'producer-0-errors'), /ProducerFencedException/);
  await watch(page, 'transactions');
  await shot(page, 'transactions-timeout-fenced');
  await context.close();
});

test('a zombie transactional producer wakes after its replacement started and is fenced', { timeout: 240_000 }, async () => {
  const { context, page, errors } = await newUser();
  await load(page, errors, 'library:d12-zombie-transactional-producer');
  await setSpeed(page, 3000);
  await playUntil(page, errors, 'the zombie (producer 0) to be fenced', () => page.$(sel('producer-0-fenced')), 120_000);
  assert.equal(await page.$(sel('producer-1-fenced')), null, 'the new instance is not fenced');
  assert.ok(Number(await attr(page, 'producer-1-txn', 'data-epoch')) > Number(await attr(page, 'producer-0-txn', 'data-epoch')), 'the new instance has the higher epoch');
  assert.equal(await attr(page, 'txn-app', 'data-epoch'), await attr(page, 'producer-1-txn', 'data-epoch'));
  await shot(page, 'transactions-zombie-fenced');
  await context.close();
});

test('a new user starts a consume-transform-produce pipeline, crashes its coordinator mid-commit, and exactly-once holds', { timeout: 300_000 }, async () => {
  const { context, page, errors } = await newUser();
  await load(page, errors, 'library:pipeline');
  await setSpeed(page, 3000);
  // Run until the pipeline's transactions flow, then stop inside one: Ongoing (outputs being
  // written, offsets being sent) or PrepareCommit (markers being written).
  const midCommit = async () => ['Ongoing', 'PrepareCommit'].includes(await attr(page, 'txn-shipper', 'data-state'));
  await playUntil(page, errors, 'the pipeline to commit transactions', async () => {
    const checks = await attr(page, 'pipeline-check', 'data-outputs');
    return Number(checks) > 20 && (await midCommit());
  });
  for (let tries = 0; tries < 20 && !(await midCommit()); tries++) {
    await playUntil(page, errors, 'a transaction in progress', midCommit);
  }
  assert.ok(await midCommit(), 'paused inside a transaction');
  await shot(page, 'pipeline-before-crash');
  const coordinator = await attr(page, 'txn-shipper', 'data-coordinator');
  await page.click(sel(`broker-${coordinator}-menu`));
  await page.click(sel(`crash-${coordinator}`));
  await waitUntil(errors, 'the crash to be listed', async () => (await text(page, 'actions-count'))?.startsWith('1'));
  await playUntil(page, errors, `broker ${coordinator} to be down`, async () => (await attr(page, `broker-${coordinator}`, 'data-state')) === 'crashed');
  // The transaction coordinator moves, the pipeline carries on, and at the end every order
  // below the committed offset has exactly one committed shipment.
  await playUntil(page, errors, 'the transactions to move to a new coordinator', async () => {
    const now = await attr(page, 'txn-shipper', 'data-coordinator');
    return now !== null && now !== coordinator;
  }, 120_000);
  await setSpeed(page, 10000);
  await playUntil(page, errors, 'the pipeline to finish and settle', async () => {
    const inputs = Number(await attr(page, 'pipeline-check', 'data-inputs'));
    return (await clockSeconds(page)) >= 39 && (await attr(page, 'pipeline-check', 'data-settled')) === 'true' && inputs >= 400;
  }, 240_000);
  assert.equal(await attr(page, 'pipeline-check', 'data-exactly-once'), 'true', await text(page, 'pipeline-check'));
  assert.equal(await attr(page, 'pipeline-check', 'data-inputs'), await attr(page, 'pipeline-check', 'data-outputs'));
  assert.match(await text(page, 'pipeline-check'), /Exactly once: orders → shipments: \d+ inputs below group shipper's committed offsets, \d+ committed outputs, one each/);
  assert.equal(await attr(page, 'checker', 'data-bugs'), '0');
  await watch(page, 'checker');
  await shot(page, 'pipeline-exactly-once-after-crash');
  await context.close();
});

test('the abort-without-seek drill shows the inputs it skipped', { timeout: 240_000 }, async () => {
  const { context, page, errors } = await newUser();
  await load(page, errors, 'library:d16-abort-without-seek');
  await setSpeed(page, 10000);
  await playUntil(page, errors, 'the run to settle with skipped inputs', async () =>
    (await clockSeconds(page)) >= 19 && (await attr(page, 'pipeline-check', 'data-settled')) === 'true' && Number(await attr(page, 'pipeline-check', 'data-lost')) > 0,
  240_000);
  assert.equal(await attr(page, 'pipeline-check', 'data-exactly-once'), 'false');
  assert.match(await text(page, 'pipeline-check'), /⚠ Not exactly once: orders → shipments: \d+ lost, 0 duplicated, 0 ahead.*Legal here: the application does not seek back/);
  const kinds = await page.$$eval('[data-testid="finding"]', (els) => els.map((e) => e.getAttribute('data-kind')));
  assert.ok(kinds.includes('exactly-once-lost'), kinds.join(','));
  assert.match(await page.$eval('[data-testid="finding"][data-kind="exactly-once-lost"] .why', (e) => e.textContent), /Legal: the application does not seek back/);
  await watch(page, 'checker');
  await shot(page, 'pipeline-d16-skipped');
  await context.close();
});

test('the hanging-transaction drill: a late produce pins the LSO, and verification refuses it', { timeout: 240_000 }, async () => {
  const { context, page, errors } = await newUser();
  await load(page, errors, 'library:d14-hanging-transaction');
  await setSpeed(page, 3000);
  // While it plays, the page redraws what is on screen: watch the transactions panel.
  await playUntil(page, errors, 'the transactions panel', () => page.$(sel('transactions')));
  await watch(page, 'transactions');
  await playUntil(page, errors, 'a hanging transaction in t-0', () => page.$(sel('hanging-t-0')), 120_000);
  const first = Number(await attr(page, 'hanging-t-0', 'data-first-offset'));
  assert.match(await text(page, 'hanging-t-0'), /Hanging transaction in t-0: producer id \d+ \(epoch \d+\) has a transaction open there since offset \d+/);
  // Later the HW has moved on and the LSO has not.
  await playUntil(page, errors, 'the HW to move past the hanging transaction', async () => {
    const lso = (await text(page, 'lso-t-0')) ?? '';
    const m = lso.match(/HW (\d+) · LSO (\d+)/);
    return m && Number(m[1]) > first + 20 && Number(m[2]) === first;
  }, 120_000);
  await watch(page, 'transactions');
  await shot(page, 'transactions-hanging');
  // The same drill with partition verification on: nothing hangs.
  await load(page, errors, 'library:d14-verification-on');
  await setSpeed(page, 10000);
  await playUntil(page, errors, 'the run to pass the late produce', async () => (await clockSeconds(page)) >= 12, 120_000);
  assert.equal(await page.$(sel('hanging-t-0')), null, 'nothing hangs with verification on');
  const lso = (await text(page, 'lso-t-0')) ?? '';
  const m = lso.match(/HW (\d+) · LSO (\d+)/);
  assert.ok(m && m[1] === m[2], `LSO = HW: ${lso}`);
  await context.close();
});
