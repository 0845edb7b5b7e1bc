// End-to-end tests of the edge buffer's JS API (LogBuffer, browser/src/js_api.rs), the way an
// app uses it: in Node with the in-memory backend, and in headless Chromium in a window, a
// dedicated worker and a service worker over IndexedDB; a worker killed mid-append; one writer
// across tabs (Web Locks); a full quota; the drain to a Kafka REST Proxy v3 test server; the
// demo page, with screenshots in target/e2e/.
//
// The package comes from LOGSIM_BUFFER (a directory with pkg/), else dist/buffer (Trunk's
// post-build hook) or target/buffer (`cargo xtask buffer-pkg`), whichever was built last.
// LOGSIM_BLESS=1 rewrites browser/logbuffer.d.ts from the generated types.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { launchChromium } from './chromium.mjs';
import { serveStatic } from './static-server.mjs';
import { startRestProxy } from './rest-proxy-server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CANDIDATES = [process.env.LOGSIM_BUFFER, path.join(ROOT, 'dist', 'buffer'), path.join(ROOT, 'target', 'buffer')];
const built = (d) => d && existsSync(path.join(d, 'pkg', 'logsim_buffer_bg.wasm'));
const builtAt = (d) => statSync(path.join(d, 'pkg', 'logsim_buffer_bg.wasm')).mtimeMs;
// LOGSIM_BUFFER if set, else the newer of the two builds.
const BUFFER_DIR = built(CANDIDATES[0])
  ? CANDIDATES[0]
  : CANDIDATES.slice(1).filter(built).sort((a, b) => builtAt(b) - builtAt(a))[0];
const SITE = path.join(ROOT, 'target', 'e2e-buffer');
const SCREENSHOTS = path.join(ROOT, 'target', 'e2e');
const TYPES = path.join(ROOT, 'browser', 'logbuffer.d.ts');
const WAIT_MS = 30_000;

let server;
let browser;
let LogBuffer;

before(async () => {
  assert.ok(BUFFER_DIR, `no buffer package in ${CANDIDATES.filter(Boolean).join(' or ')}: run \`cargo xtask buffer-pkg\``);
  rmSync(SITE, { recursive: true, force: true });
  mkdirSync(SITE, { recursive: true });
  cpSync(BUFFER_DIR, path.join(SITE, 'demo'), { recursive: true });
  cpSync(path.join(BUFFER_DIR, 'pkg'), path.join(SITE, 'pkg'), { recursive: true });
  cpSync(path.join(ROOT, 'tests', 'e2e', 'buffer-fixtures'), SITE, { recursive: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
  const pkg = await import(pathToFileURL(path.join(SITE, 'pkg', 'logsim_buffer.js')).href);
  pkg.initSync({ module: readFileSync(path.join(SITE, 'pkg', 'logsim_buffer_bg.wasm')) });
  LogBuffer = pkg.LogBuffer;
  server = await serveStatic(SITE);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Rejects with a LogBufferError whose code is `code`; returns the error. */
async function refused(promise, code) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.name, 'LogBufferError', `${e}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

async function page(context) {
  const p = await context.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(`pageerror: ${e.stack ?? e}`));
  p.on('console', (m) => m.type() === 'error' && errors.push(`console.error: ${m.text()}`));
  p.errors = errors;
  await p.goto(server.url);
  await p.waitForFunction(() => window.bufferReady === true, null, { timeout: WAIT_MS });
  return p;
}

test('node: the in-memory buffer appends, reads, follows, tracks consumers and refuses bad input', async () => {
  const buffer = await LogBuffer.open('node-demo', { storage: 'memory', topics: { events: { partitions: 3 } }, flush: 'append' });
  const appended = await buffer.append('events', [
    { key: 'user-1', value: 'one', headers: { source: 'form' }, timestamp: 1000 },
    { key: 'user-1', value: new TextEncoder().encode('two'), timestamp: 2000 },
    { key: 'user-1', value: new Uint8Array([116, 104, 114, 101, 101]).buffer, timestamp: new Date(3000) },
  ]);
  assert.equal(appended.durable, true);
  assert.equal(appended.partitions.length, 1, 'one key, one partition');
  const { partition } = appended.partitions[0];
  assert.deepEqual(appended.records.map((r) => r.offset), [0, 1, 2]);
  const read = await buffer.read('events', partition, 0, { decode: 'text' });
  assert.deepEqual(read.records.map((r) => r.value), ['one', 'two', 'three']);
  assert.deepEqual(read.records[0].headers, [{ key: 'source', value: 'form' }]);
  assert.equal(read.highWatermark, 3);
  const bytes = await buffer.read('events', partition, 1, { maxRecords: 1 });
  assert.ok(bytes.records[0].value instanceof Uint8Array);
  assert.equal(bytes.nextOffset, 2);
  assert.deepEqual(await buffer.offsetForTimestamp('events', partition, 1500), { offset: 1, timestamp: 2000 });

  // follow(): an async iterator that waits at the log end for the next append.
  const seen = [];
  const following = (async () => {
    for await (const record of buffer.follow('events', partition, 1, { decode: 'text', pollMs: 20 })) {
      seen.push(record.value);
      if (seen.length === 3) break;
    }
  })();
  setTimeout(() => buffer.append('events', [{ key: 'user-1', value: 'four' }]), 50);
  await following;
  assert.deepEqual(seen, ['two', 'three', 'four']);

  // Named consumers: offsets and lag, as kafka-consumer-groups shows them.
  await buffer.commitOffset('uploader', 'events', partition, 2, { metadata: 'batch 1' });
  assert.deepEqual((await buffer.committed('uploader', 'events', partition)).offset, 2);
  assert.equal(await buffer.committed('nobody', 'events', partition), null);
  const lag = await buffer.lag('uploader', 'events');
  assert.equal(lag.length, 3);
  assert.deepEqual(lag.find((l) => l.partition === partition), { topic: 'events', partition, currentOffset: 2, logStartOffset: 0, logEndOffset: 4, lag: 2 });

  // Idempotent producer: a retry with the same id and sequence is answered, not written twice.
  const { producerId, producerEpoch } = await buffer.initProducerId('forms');
  const producer = { producerId, producerEpoch, sequence: 0 };
  const first = await buffer.append('events', [{ partition: 0, value: 'once' }], { producer });
  const retry = await buffer.append('events', [{ partition: 0, value: 'once' }], { producer });
  assert.equal(retry.partitions[0].duplicate, true);
  assert.deepEqual(retry.records, first.records);
  assert.deepEqual(await buffer.initProducerId('forms'), { producerId, producerEpoch });
  assert.equal((await buffer.producerState(producerId, 'events', 0)).lastSequence, 0);
  await refused(buffer.append('events', [{ partition: 0, value: 'gap' }], { producer: { producerId, sequence: 5 } }), 'OUT_OF_ORDER_SEQUENCE_NUMBER');

  // Bad input: clear errors, nothing written.
  await refused(buffer.append('nope', [{ value: 'x' }]), 'UNKNOWN_TOPIC_OR_PARTITION');
  const wrongType = await refused(buffer.append('events', [{ value: 42 }]), 'INVALID_REQUEST');
  assert.match(wrongType.message, /records\[0\]\.value must be a string, Uint8Array, ArrayBuffer or null, got the number 42/);
  await refused(buffer.append('events', [{ vaule: 'typo' }]), 'INVALID_REQUEST');
  await refused(buffer.append('events', 'not an array'), 'INVALID_REQUEST');
  await refused(buffer.append('events', [{ partition: 9, value: 'x' }]), 'UNKNOWN_TOPIC_OR_PARTITION');
  await refused(buffer.append('events', [{ value: 'x'.repeat(1100 * 1024) }]), 'MESSAGE_TOO_LARGE');
  const negative = await refused(buffer.read('events', 0, -1), 'INVALID_REQUEST');
  assert.match(negative.message, /offset must be a whole number from 0/);
  const beyond = await refused(buffer.read('events', partition, 99), 'OFFSET_OUT_OF_RANGE');
  assert.match(beyond.message, /the log holds \[0, 4\)/);
  await refused(buffer.commitOffset('', 'events', 0, 0), 'INVALID_GROUP_ID');
  await refused(buffer.offsetForTimestamp('events', 0, new Date(NaN)), 'INVALID_REQUEST');
  await refused(buffer.offsetForTimestamp('events', 0, new Date(-2)), 'INVALID_REQUEST');
  await refused(LogBuffer.open('bad name!', { storage: 'memory' }), 'INVALID_REQUEST');
  await refused(LogBuffer.open('x', { storage: 'memory', flush: 'sometimes' }), 'INVALID_REQUEST');
  await refused(LogBuffer.open('x', { storage: 'memory', topics: { t: { 'retention.mss': 1 } } }), 'INVALID_CONFIG');
  await refused(LogBuffer.open('x', { storage: 'memory', topics: { __consumer_offsets: {} } }), 'INVALID_TOPIC_EXCEPTION');
  await refused(LogBuffer.open('x', { durability: 'sometimes', storage: 'memory' }), 'INVALID_REQUEST');
  const noIdb = await refused(LogBuffer.open('x', {}), 'KAFKA_STORAGE_ERROR');
  assert.match(noIdb.message, /IndexedDB is not available/);
  assert.equal((await buffer.stats()).partitions.find((p) => p.partition === 0).logEndOffset, 1, 'nothing of the refused appends was written');

  // Retention as Kafka runs it: tighten retention.bytes, old segments go, the log start moves.
  await buffer.setTopicConfig('events', { 'segment.bytes': 1024 });
  for (let i = 0; i < 30; i++) await buffer.append('events', [{ partition: 1, value: 'v'.repeat(200) }]);
  await buffer.setTopicConfig('events', { 'retention.bytes': 2048 });
  const report = await buffer.enforceRetention();
  assert.ok(report.deletedSegments > 0, JSON.stringify(report));
  const p1 = (await buffer.stats()).partitions.find((p) => p.partition === 1);
  assert.ok(p1.logStartOffset > 0 && p1.logEndOffset === 30, JSON.stringify(p1));
  await refused(buffer.read('events', 1, 0), 'OFFSET_OUT_OF_RANGE');
  await buffer.close();
  await refused(buffer.append('events', [{ value: 'late' }]), 'BUFFER_CLOSED');
});

test('node: the generated TypeScript declarations are the checked-in browser/logbuffer.d.ts', () => {
  const generated = readFileSync(path.join(SITE, 'pkg', 'logsim_buffer.d.ts'), 'utf8');
  const start = generated.indexOf('export type InitInput');
  const api = start > 0 ? generated.slice(0, start) : generated;
  if (process.env.LOGSIM_BLESS === '1') writeFileSync(TYPES, api);
  assert.ok(existsSync(TYPES), 'browser/logbuffer.d.ts is missing: run with LOGSIM_BLESS=1');
  assert.equal(api, readFileSync(TYPES, 'utf8'), 'the JS API changed: review it and re-bless with LOGSIM_BLESS=1');
  for (const member of ['static open(name: string, options: LogBufferOptions): Promise<LogBuffer>;', 'append(topic: any, records: AppendRecordInput[], options: AppendOptions): Promise<AppendResult>;']) {
    assert.ok(api.includes(member), `missing ${member}`);
  }
});

test('node: drain ships to a Kafka REST Proxy v3 at least once, storing offsets only after success', async () => {
  const proxy = await startRestProxy({ topics: ['field-events'] });
  try {
    const buffer = await LogBuffer.open('drainer', { storage: 'memory', topics: { events: { partitions: 2 } } });
    const records = Array.from({ length: 25 }, (_, i) => ({ key: `k${i % 5}`, value: `event-${i}` }));
    await buffer.append('events', records);
    const options = { consumer: 'shipper', topic: 'events', url: proxy.url, clusterId: proxy.clusterId, maxRecords: 4, backoffMs: 5 };

    // An unknown topic on the cluster is not retried: the drain stops and stores nothing.
    const missing = await buffer.drain({ ...options, url: proxy.url }).catch((e) => e);
    assert.equal(missing.retriable, false, 'events is not a topic of the proxy');
    assert.match(missing.message, /40403 This server does not host this topic-partition/);
    assert.deepEqual((await buffer.lag('shipper', 'events')).map((l) => l.currentOffset), [null, null]);

    // Overload (503 twice) and one record refused mid-batch: backed off and retried.
    proxy.state.topics.set('events', []);
    proxy.failNext(2, 503);
    proxy.failRecordAt(1);
    const result = await buffer.drain(options);
    assert.equal(result.shipped, 25);
    assert.ok(result.retries >= 3, JSON.stringify(result));
    const shipped = proxy.state.topics.get('events');
    const keys = shipped.map((r) => r.headers['logsim-idempotency-key']);
    // At least once: every record arrived; a re-sent one carries the same idempotency key.
    assert.equal(new Set(keys).size, 25);
    assert.deepEqual(new Set(shipped.map((r) => r.value)), new Set(records.map((r) => r.value)));
    assert.ok(keys.every((k) => /^drainer\/events\/[01]\/\d+$/.test(k)), keys[0]);
    const lag = await buffer.lag('shipper', 'events');
    assert.deepEqual(lag.map((l) => l.lag), [0, 0]);
    // Nothing new: a second drain ships nothing.
    assert.equal((await buffer.drain(options)).shipped, 0);

    // Retries run out: the error says where the consumer stopped; its offset is not moved.
    await buffer.append('events', [{ partition: 0, value: 'late' }]);
    proxy.failNext(10, 503);
    const exhausted = await buffer.drain({ ...options, maxAttempts: 3 }).catch((e) => e);
    assert.equal(exhausted.retriable, true);
    assert.match(exhausted.message, /after 3 attempt\(s\).*HTTP 503/);
    assert.equal((await buffer.lag('shipper', 'events'))[0].lag, 1);

    // A pluggable target: any async function.
    const taken = [];
    const custom = await buffer.drain({ consumer: 'other', topic: 'events', target: async (batch, ctx) => taken.push(...batch.map((r) => `${ctx.partition}:${r.offset}`)) });
    assert.equal(custom.shipped, 26);
    assert.equal(taken.length, 26);
    await refused(buffer.drain({ consumer: 'x', topic: 'events' }), 'INVALID_REQUEST');
    await buffer.close();
  } finally {
    await proxy.close();
  }
});

test('node: the README\'s ten-line example runs as written (memory storage, the REST proxy test server)', async () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The edge buffer in ten lines'));
  const code = section.slice(section.indexOf('```js') + 5, section.indexOf('```', section.indexOf('```js') + 5)).trim().split('\n');
  assert.equal(code.length, 10, 'ten lines');
  assert.match(code[0], /^import init, \{ LogBuffer \}/);
  const proxy = await startRestProxy({ topics: ['events'], clusterId: 'lkc-1' });
  try {
    const body = code
      .slice(2) // the import and init(): done by this test
      .join('\n')
      .replace("LogBuffer.open('outbox', {", "LogBuffer.open('outbox', { storage: 'memory',")
      .replace('http://localhost:8082', proxy.url)
      .replace(/\bconsole\./g, 'quiet.');
    const AsyncFunction = (async () => {}).constructor;
    const quiet = { log() {}, table() {} };
    await new AsyncFunction('LogBuffer', 'quiet', body)(LogBuffer, quiet);
    assert.deepEqual(proxy.state.topics.get('events').map((r) => r.value), ['{"clicked":"buy"}']);
  } finally {
    await proxy.close();
  }
});

test('window: records survive a reload, offsets continue, and recovery is reported', async () => {
  const context = await browser.newContext();
  try {
    const p = await page(context);
    const first = await p.evaluate(async () => {
      const buffer = await LogBuffer.open('reload', { topics: { events: { partitions: 2 } }, durability: 'strict' });
      const a = await buffer.append('events', [{ key: 'a', value: 'kept' }, { key: 'a', value: 'kept too' }]);
      await buffer.commitOffset('reader', 'events', a.records[0].partition, 1);
      await buffer.flush();
      await buffer.append('events', [{ key: 'a', value: 'not flushed' }]);
      return { partition: a.records[0].partition, stats: await buffer.stats() };
    });
    assert.equal(first.stats.partitions[first.partition].durableEndOffset, 2);
    assert.ok(first.stats.storageEstimate.usage > 0);
    // A reload without close: whatever was not flushed is gone, the rest is there.
    await p.reload();
    await p.waitForFunction(() => window.bufferReady === true);
    const after = await p.evaluate(async (partition) => {
      const buffer = await LogBuffer.open('reload', {});
      const read = await buffer.read('events', partition, 0, { decode: 'text' });
      const next = await buffer.append('events', [{ key: 'a', value: 'after reload' }]);
      const committed = await buffer.committed('reader', 'events', partition);
      const topics = buffer.topics();
      await buffer.close();
      return { values: read.records.map((r) => r.value), next: next.records[0], committed, recovery: buffer.recovery, topics };
    }, first.partition);
    assert.deepEqual(after.values, ['kept', 'kept too']);
    assert.deepEqual(after.next, { partition: first.partition, offset: 2 });
    assert.equal(after.committed.offset, 1);
    assert.equal(after.topics.events.partitions, 2, 'the topics are remembered');
    assert.ok(after.recovery.length >= 1 && after.recovery.every((n) => n.tornTailBytes === 0));
    // The interval flush also writes a stored position, not only appends.
    await p.evaluate(async (partition) => {
      const buffer = await LogBuffer.open('reload', { flush: { intervalMs: 50 } });
      await buffer.commitOffset('reader', 'events', partition, 3);
      await new Promise((r) => setTimeout(r, 400));
    }, first.partition);
    await p.reload();
    await p.waitForFunction(() => window.bufferReady === true);
    const stored = await p.evaluate(async (partition) => {
      const buffer = await LogBuffer.open('reload', {});
      return (await buffer.committed('reader', 'events', partition)).offset;
    }, first.partition);
    assert.equal(stored, 3);
    assert.deepEqual(p.errors, []);
  } finally {
    await context.close();
  }
});

test('dedicated worker: killed mid-append, every record whose flush resolved is there, in order, without gaps', async () => {
  const context = await browser.newContext();
  try {
    const p = await page(context);
    const outcome = await p.evaluate(async () => {
      const run = (stopAfter) =>
        new Promise((resolve, reject) => {
          const worker = new Worker('./worker.js', { type: 'module' });
          let durable = 0;
          let flushes = 0;
          worker.onmessage = ({ data }) => {
            if (data.type === 'ready') worker.postMessage({ type: 'crash-loop', name: 'crash', batch: 50 });
            if (data.type === 'error') reject(new Error(data.message));
            if (data.type === 'durable') {
              durable = data.upTo;
              if (++flushes === stopAfter) {
                // Kill it while it appends the next batches (no close, no flush).
                setTimeout(() => {
                  worker.terminate();
                  resolve(durable);
                }, 3);
              }
            }
          };
        });
      const firstRun = await run(4);
      const secondRun = await run(3);
      const buffer = await LogBuffer.open('crash', { readOnly: true });
      const stats = await buffer.stats();
      const read = await buffer.read('crash', 0, 0, { maxRecords: 100000, decode: 'text' });
      await buffer.close();
      return { firstRun, secondRun, end: stats.partitions[0].logEndOffset, values: read.records.map((r) => r.value), offsets: read.records.map((r) => r.offset) };
    });
    assert.ok(outcome.end >= outcome.secondRun, JSON.stringify({ ...outcome, values: undefined, offsets: undefined }));
    assert.ok(outcome.secondRun > outcome.firstRun, 'the second run continued after the first');
    assert.equal(outcome.values.length, outcome.end);
    outcome.values.forEach((v, i) => assert.equal(v, `record-${i}`));
    outcome.offsets.forEach((o, i) => assert.equal(o, i));
    // A round trip in a fresh worker, flush policy "append".
    const roundtrip = await p.evaluate(
      () =>
        new Promise((resolve) => {
          const worker = new Worker('./worker.js', { type: 'module' });
          worker.onmessage = ({ data }) => {
            if (data.type === 'ready') worker.postMessage({ type: 'roundtrip', name: 'worker-roundtrip' });
            if (data.type === 'done' || data.type === 'error') resolve(data);
          };
        }),
    );
    assert.deepEqual(roundtrip, { type: 'done', durable: true, value: 'from a worker', offset: 0 });
    assert.deepEqual(p.errors, []);
  } finally {
    await context.close();
  }
});

test('service worker: the same API appends and reads durably', async () => {
  const context = await browser.newContext();
  try {
    const p = await page(context);
    const reply = await p.evaluate(async () => {
      const registration = await navigator.serviceWorker.register('./sw.js', { type: 'module' });
      await navigator.serviceWorker.ready;
      const worker = registration.active ?? registration.installing ?? registration.waiting;
      const channel = new MessageChannel();
      const answer = new Promise((resolve) => (channel.port1.onmessage = ({ data }) => resolve(data)));
      worker.postMessage({ name: 'from-sw' }, [channel.port2]);
      const data = await answer;
      // The page sees what the service worker flushed.
      const buffer = await LogBuffer.open('from-sw', { readOnly: true });
      const read = await buffer.read('sw', 0, 0, { decode: 'text' });
      await buffer.close();
      return { ...data, fromPage: read.records.map((r) => r.value) };
    });
    assert.deepEqual(reply, { durable: true, values: ['from the service worker'], header: 'sw', fromPage: ['from the service worker'] });
  } finally {
    await context.close();
  }
});

test('web locks: one writer across tabs; a second writer gets LOCK_HELD or waits; readers read', async () => {
  const context = await browser.newContext();
  try {
    const tabA = await page(context);
    const tabB = await page(context);
    await tabA.evaluate(async () => {
      window.writer = await LogBuffer.open('shared', { topics: { t: {} } });
      await window.writer.append('t', [{ value: 'from tab A' }]);
      await window.writer.flush();
    });
    const second = await tabB.evaluate(async () => {
      try {
        await LogBuffer.open('shared', {});
        return 'opened';
      } catch (e) {
        return { code: e.code, message: e.message };
      }
    });
    assert.equal(second.code, 'LOCK_HELD');
    assert.match(second.message, /open for writing in another tab or worker.*readOnly: true.*lock: "wait"/);
    const reader = await tabB.evaluate(async () => {
      const r = await LogBuffer.open('shared', { readOnly: true });
      const values = (await r.read('t', 0, 0, { decode: 'text' })).records.map((x) => x.value);
      let code;
      try {
        await r.append('t', [{ value: 'no' }]);
      } catch (e) {
        code = e.code;
      }
      window.waiting = LogBuffer.open('shared', { lock: 'wait' }).then(async (b) => {
        const appended = await b.append('t', [{ value: 'from tab B' }]);
        await b.close();
        return appended.records[0].offset;
      });
      return { values, code };
    });
    assert.deepEqual(reader, { values: ['from tab A'], code: 'READ_ONLY' });
    await tabA.evaluate(() => window.writer.close());
    const offset = await tabB.evaluate(() => window.waiting);
    assert.equal(offset, 1, 'the waiting writer got the lock when tab A closed, and continued the log');
  } finally {
    await context.close();
  }
});

test('quota: a full origin fails flushes and appends with QUOTA_EXCEEDED, loses nothing flushed, and tightened retention makes room', async () => {
  const context = await browser.newContext();
  try {
    const p = await page(context);
    const cdp = await context.newCDPSession(p);
    const origin = new URL(server.url).origin;
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 6 * 1024 * 1024 });
    const outcome = await p.evaluate(async () => {
      const buffer = await LogBuffer.open('quota', { topics: { big: { 'segment.bytes': 1048576 } }, flush: { bytes: 1 << 30 } });
      // Random bytes: IndexedDB compresses what it stores, so repeated text would not fill it.
      const chunk = () => {
        const bytes = new Uint8Array(100 * 1024);
        for (let at = 0; at < bytes.length; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
        return bytes;
      };
      let flushed = 0;
      let failure;
      for (let i = 0; i < 200 && !failure; i++) {
        await buffer.append('big', [{ value: chunk() }]);
        try {
          await buffer.flush();
          flushed = i + 1;
        } catch (e) {
          failure = { code: e.code, quotaExceeded: e.quotaExceeded, message: e.message };
        }
      }
      let appendError;
      try {
        await buffer.append('big', [{ value: 'more' }]);
      } catch (e) {
        appendError = { code: e.code, message: e.message };
      }
      await buffer.setTopicConfig('big', { 'retention.bytes': 2 * 1048576 });
      const retention = await buffer.enforceRetention();
      let recovered = true;
      try {
        await buffer.flush();
        await buffer.append('big', [{ value: 'after making room' }]);
        await buffer.flush();
      } catch (e) {
        recovered = `${e.code}: ${e.message}`;
      }
      const stats = await buffer.stats();
      await buffer.close();
      const reopened = await LogBuffer.open('quota', {});
      const end = (await reopened.stats()).partitions[0];
      const last = await reopened.read('big', 0, end.logEndOffset - 1, { decode: 'text' });
      await reopened.close();
      return { flushed, failure, appendError, retention, recovered, start: end.logStartOffset, end: end.logEndOffset, last: last.records[0].value, total: stats.totalBytes };
    });
    assert.ok(outcome.failure, 'the quota was reached');
    assert.equal(outcome.failure.code, 'QUOTA_EXCEEDED', outcome.failure.message);
    assert.equal(outcome.failure.quotaExceeded, true);
    assert.ok(outcome.flushed > 5, `flushed ${outcome.flushed} before the quota`);
    assert.equal(outcome.appendError.code, 'QUOTA_EXCEEDED');
    assert.match(outcome.appendError.message, /Nothing flushed before is lost.*retention\.bytes/);
    assert.ok(outcome.retention.deletedSegments > 0);
    assert.equal(outcome.recovered, true);
    // Every record flushed or kept pending before the failure survives, past the log start.
    assert.equal(outcome.end, outcome.flushed + 2);
    assert.equal(outcome.last, 'after making room');
    assert.ok(outcome.start > 0);
  } finally {
    await context.close();
  }
});

test('demo page: an offline-first form app appends, drains when online, and shows the log by offset', async () => {
  const context = await browser.newContext({ viewport: { width: 1360, height: 1000 } });
  try {
    const p = await context.newPage();
    const errors = [];
    p.on('pageerror', (e) => errors.push(`${e}`));
    p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await p.goto(`${server.url}demo/`);
    await p.waitForFunction(() => window.demoReady === true, null, { timeout: WAIT_MS });
    // Offline: appends work, nothing ships.
    await p.click('#network');
    await p.fill('#note', 'Forklift blocking exit 2');
    await p.selectOption('#severity', 'critical');
    await p.click('#submit');
    await p.click('#burst');
    await p.waitForFunction(() => document.querySelectorAll('#log .cell.durable').length >= 21, null, { timeout: WAIT_MS });
    assert.match(await p.textContent('#last'), /Appended 20 record\(s\) to observations-\d at offset/);
    assert.match(await p.textContent('#drain-status'), /Offline/);
    assert.equal(await p.locator('#received li.empty').count(), 1);
    await p.screenshot({ path: path.join(SCREENSHOTS, 'buffer-offline.png'), fullPage: true });
    // Online: the uploader drains; the cells turn "shipped" and the cluster lists the records.
    await p.click('#network');
    await p.click('#drain');
    await p.waitForFunction(() => document.querySelectorAll('#log .cell.shipped').length >= 21, null, { timeout: WAIT_MS });
    assert.match(await p.textContent('#drain-status'), /Shipped|Up to date/);
    const lags = await p.$$eval('#lag tr td:last-child', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(lags, ['0', '0', '0']);
    assert.ok((await p.locator('#received li').count()) >= 21);
    await p.screenshot({ path: path.join(SCREENSHOTS, 'buffer-drained.png'), fullPage: true });
    // Reload: the log is still there.
    await p.click('#reload');
    await p.waitForFunction(() => window.demoReady === true, null, { timeout: WAIT_MS });
    assert.match(await p.textContent('#last'), /Reopened: 21 record\(s\) recovered from IndexedDB/);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
