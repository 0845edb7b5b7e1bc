// B2 in a dedicated worker: for each configuration, `reps` rounds of ours (our engine through
// IdbStorage, in WebAssembly), raw (JS puts of the same chunk bytes, one transaction per chunk)
// and dexie (bulkPut of one object per record, the same records per transaction), in rotating
// order, each on a fresh database deleted after the round. Also the physical references of this
// page: TypedArray.set bandwidth and IndexedDB transaction round trips.

import init, { prepare, run_ours } from './pkg/logsim_bench_idb.js';
import Dexie from './dexie.mjs';

const RECORD_VALUE_BYTES = 100;
// Must match workload.rs: record i has timestamp BASE_TIMESTAMP_MS + i.
const BASE_TIMESTAMP_MS = 1_700_000_000_000;

const progress = (text) => self.postMessage({ type: 'progress', text });

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed without an error'));
  });
}

function transactionDone(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

async function openRaw(name) {
  const r = indexedDB.open(name, 1);
  r.onupgradeneeded = () => r.result.createObjectStore('chunks');
  return request(r);
}

async function deleteDatabase(name) {
  const r = indexedDB.deleteDatabase(name);
  r.onblocked = () => progress(`  (deleting ${name} waits for an open connection)`);
  await request(r);
}

async function runOurs(name, config, prepared, { pipelined, verify }) {
  const strict = config.durability === 'strict';
  const result = await run_ours(name, config.records, config.batch, config.flush, strict, pipelined, verify);
  if (result.flushes !== prepared.chunks.length) {
    throw new Error(`ours synced ${result.flushes} times; the plan has ${prepared.chunks.length} flushes`);
  }
  if (verify && (result.bytes !== prepared.bytes || result.fingerprint !== prepared.fingerprint)) {
    throw new Error(
      `ours read back ${result.bytes} bytes (fingerprint ${result.fingerprint}); ` +
        `the workload has ${prepared.bytes} (fingerprint ${prepared.fingerprint})`,
    );
  }
  return { ms: result.ms, engineMs: result.engine_ms, storageCpuMs: result.storage_cpu_ms };
}

async function runRaw(name, config, prepared) {
  const db = await openRaw(name);
  try {
    const chunks = prepared.chunks;
    const started = performance.now();
    for (let i = 0; i < chunks.length; i++) {
      const tx = db.transaction('chunks', 'readwrite', { durability: config.durability });
      tx.objectStore('chunks').put(chunks[i], i);
      await transactionDone(tx);
    }
    const ms = performance.now() - started;
    const count = await request(db.transaction('chunks').objectStore('chunks').count());
    if (count !== chunks.length) {
      throw new Error(`raw: ${count} chunks stored, ${chunks.length} written`);
    }
    return { ms };
  } finally {
    db.close();
  }
}

/**
 * How many records Dexie writes: the first whole flush groups, at least
 * `config.dexieFlushesMin` of them and `config.dexieRecordsMin` records (or all).
 */
function dexieRecords(config, prepared) {
  let records = 0;
  let flushes = 0;
  for (const count of prepared.records) {
    if (flushes >= config.dexieFlushesMin && records >= config.dexieRecordsMin) break;
    records += count;
    flushes++;
  }
  return records;
}

/** Dexie writes the first `dexieRecords` records, with our records per transaction. */
async function runDexie(name, config, prepared) {
  const usageBefore = (await navigator.storage.estimate()).usage;
  const db = new Dexie(name, { chromeTransactionDurability: config.durability });
  db.version(1).stores({ records: 'offset' });
  await db.open();
  try {
    const values = prepared.values;
    const total = dexieRecords(config, prepared);
    let offset = 0;
    const started = performance.now();
    for (const flushed of prepared.records) {
      const count = Math.min(flushed, total - offset);
      if (count === 0) break;
      const objects = new Array(count);
      for (let j = 0; j < count; j++, offset++) {
        const at = offset * RECORD_VALUE_BYTES;
        objects[j] = {
          offset,
          key: null,
          // slice, not subarray: a view would make IndexedDB clone the whole buffer.
          value: values.slice(at, at + RECORD_VALUE_BYTES),
          timestamp: BASE_TIMESTAMP_MS + offset,
        };
      }
      await db.transaction('rw', db.records, () => db.records.bulkPut(objects));
    }
    const ms = performance.now() - started;
    const storedBytes = (await navigator.storage.estimate()).usage - usageBefore;
    const stored = await db.records.count();
    if (stored !== total) {
      throw new Error(`dexie: ${stored} records stored, ${total} written`);
    }
    return { ms, records: total, storedBytes };
  } finally {
    db.close();
  }
}

// The edge buffer's JS API (LogBuffer), loaded only when it is measured (`bench buffer`).
let LogBuffer;

/**
 * The same records through the public API: one `append` per batch of `config.batch` records
 * (each an object with a 100 B Uint8Array value), one `flush()` per flush group. Measures the
 * origin's IndexedDB usage before and after, for B6.
 */
async function runBuffer(name, config, prepared, rep) {
  if (!LogBuffer) ({ LogBuffer } = await import('./buffer/pkg/logsim_buffer.js').then(async (m) => (await m.default(), m)));
  const bufferName = name.replace(/[^A-Za-z0-9._-]/g, '-');
  const usageBefore = rep === 0 ? (await navigator.storage.estimate()).usage : 0;
  const buffer = await LogBuffer.open(bufferName, {
    topics: { bench: {} },
    durability: config.durability,
    flush: { bytes: 2 ** 52 },
    retentionCheckIntervalMs: 1e15,
  });
  let stats;
  let usage;
  try {
    const values = prepared.values;
    let offset = 0;
    const started = performance.now();
    for (const count of prepared.records) {
      for (let done = 0; done < count; ) {
        const n = Math.min(config.batch, count - done);
        const records = new Array(n);
        for (let j = 0; j < n; j++) {
          const at = (offset + j) * RECORD_VALUE_BYTES;
          records[j] = { value: values.subarray(at, at + RECORD_VALUE_BYTES) };
        }
        await buffer.append('bench', records);
        offset += n;
        done += n;
      }
      await buffer.flush();
    }
    const ms = performance.now() - started;
    stats = await buffer.stats();
    if (stats.records !== config.records) {
      throw new Error(`buffer: ${stats.records} records in the log, ${config.records} appended`);
    }
    if (rep === 0) usage = (await navigator.storage.estimate()).usage - usageBefore;
    return { ms, memoryBytes: stats.totalBytes, storedBytes: usage };
  } finally {
    await buffer.close();
    await LogBuffer.deleteBuffer(bufferName);
  }
}

const IMPLS = {
  buffer: runBuffer,
  ours: (name, config, prepared, rep) => runOurs(name, config, prepared, { pipelined: true, verify: rep === 0 }),
  'ours-seq': (name, config, prepared, rep) =>
    runOurs(name, config, prepared, { pipelined: false, verify: rep === 0 }),
  raw: runRaw,
  dexie: runDexie,
};

async function runConfig(runId, index, config, reps, impls) {
  const prepared = prepare(config.records, config.batch, config.flush);
  const samples = Object.fromEntries(impls.map((impl) => [impl, []]));
  const engineMs = Object.fromEntries(impls.map((impl) => [impl, []]));
  const storageCpuMs = Object.fromEntries(impls.map((impl) => [impl, []]));
  const storedBytes = {};
  const memoryBytes = {};
  for (let rep = 0; rep < reps; rep++) {
    // Rotate the order each repetition so no implementation always follows another's cleanup.
    const order = impls.map((_, i) => impls[(i + rep) % impls.length]);
    const names = order.map((impl) => `${runId}-${index}-${rep}-${impl}`);
    try {
      for (let i = 0; i < order.length; i++) {
        const impl = order[i];
        const run = IMPLS[impl];
        if (!run) throw new Error(`unknown implementation ${impl}`);
        const result = await run(names[i], config, prepared, rep);
        samples[impl].push(result.ms);
        if (result.engineMs !== undefined) engineMs[impl].push(result.engineMs);
        if (result.storageCpuMs !== undefined) storageCpuMs[impl].push(result.storageCpuMs);
        if (rep === 0 && result.storedBytes !== undefined) storedBytes[impl] = result.storedBytes;
        if (rep === 0 && result.memoryBytes !== undefined) memoryBytes[impl] = result.memoryBytes;
      }
    } finally {
      for (const name of names) {
        await deleteDatabase(name);
      }
    }
  }
  const records = Object.fromEntries(impls.map((impl) => [impl, impl === 'dexie' ? dexieRecords(config, prepared) : config.records]));
  return { config, bytes: prepared.bytes, flushes: prepared.chunks.length, records, samples, engineMs, storageCpuMs, storedBytes, memoryBytes };
}

function memcpyGBps() {
  const size = 32 << 20;
  const from = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) from[i] = i & 0xff;
  const to = new Uint8Array(size);
  to.set(from);
  const rounds = 16;
  const started = performance.now();
  for (let i = 0; i < rounds; i++) to.set(from);
  const seconds = (performance.now() - started) / 1000;
  return (rounds * size) / seconds / 1e9;
}

/** Transactions per second, one at a time, over about `budgetMs` (at least 20). */
async function transactionRate(db, durability, put, budgetMs) {
  const value = new Uint8Array(RECORD_VALUE_BYTES);
  let count = 0;
  const started = performance.now();
  while (count < 20 || performance.now() - started < budgetMs) {
    const tx = db.transaction('chunks', 'readwrite', { durability });
    if (put) tx.objectStore('chunks').put(value, count);
    await transactionDone(tx);
    count++;
  }
  return count / ((performance.now() - started) / 1000);
}

async function physical(runId) {
  const name = `${runId}-physical`;
  const db = await openRaw(name);
  try {
    const references = { 'TypedArray.set GB/s': memcpyGBps() };
    await transactionRate(db, 'relaxed', true, 100); // warm-up
    references['empty readwrite tx/s (relaxed)'] = await transactionRate(db, 'relaxed', false, 700);
    references['1 put of 100 B tx/s (relaxed)'] = await transactionRate(db, 'relaxed', true, 700);
    references['1 put of 100 B tx/s (strict)'] = await transactionRate(db, 'strict', true, 700);
    return references;
  } finally {
    db.close();
    await deleteDatabase(name);
  }
}

async function runAll({ configs, reps, runId, impls }) {
  const started = performance.now();
  progress('physical references');
  const references = await physical(runId);
  // Warm-up, not reported: lets the WebAssembly and JS tiers compile the hot paths before the
  // first measured configuration.
  progress('warm-up');
  const warmup = {
    durability: 'relaxed',
    batch: 16,
    flush: 256 * 1024,
    records: 20_000,
    dexieFlushesMin: 1,
    dexieRecordsMin: 5_000,
  };
  await runConfig(`${runId}-warmup`, 0, warmup, 1, impls);
  const results = [];
  for (let i = 0; i < configs.length; i++) {
    const c = configs[i];
    const t = performance.now();
    try {
      results.push(await runConfig(runId, i, c, reps, impls));
    } catch (error) {
      throw new Error(`${c.durability} batch ${c.batch} flush ${c.flush} records ${c.records}: ${error?.message ?? error}`);
    }
    progress(
      `[${i + 1}/${configs.length}] ${c.durability} batch ${c.batch} flush ${c.flush} ` +
        `records ${c.records}: ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  }
  return { references, results, seconds: (performance.now() - started) / 1000 };
}

self.onmessage = async ({ data }) => {
  try {
    self.postMessage({ type: 'done', results: await runAll(data) });
  } catch (error) {
    self.postMessage({ type: 'error', message: `${error?.message ?? error}` });
  }
};

try {
  await init();
  self.postMessage({ type: 'ready' });
} catch (error) {
  self.postMessage({ type: 'error', message: `cannot load the benchmark's WebAssembly: ${error?.message ?? error}` });
}
