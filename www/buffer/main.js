// The edge-buffer demo: an offline-first form app on LogBuffer (see README, "Edge buffer").
// Observations are appended to a 3-partition topic keyed by site; the named consumer
// `uploader` drains them to "the cluster" when the network is up. The cluster here is a
// stand-in target in this page (kept in localStorage so a reload shows what it already has);
// point `drain({ url })` at a Kafka REST Proxy to ship to a real one.

import init, { LogBuffer } from './pkg/logsim_buffer.js';

const TOPIC = 'observations';
const CONSUMER = 'uploader';
const CLUSTER_KEY = 'logsim-buffer-demo-cluster';
const $ = (id) => document.getElementById(id);

let buffer;
let online = localStorage.getItem('logsim-buffer-demo-offline') !== '1';
let draining = false;
const cluster = JSON.parse(localStorage.getItem(CLUSTER_KEY) ?? '{"records":[],"keys":{}}');

function saveCluster() {
  localStorage.setItem(CLUSTER_KEY, JSON.stringify(cluster));
}

function status(id, text, kind) {
  const el = $(id);
  el.textContent = text;
  el.className = `status ${kind ?? ''}`;
}

// The drain target: refuses while offline (a retriable error, so the drain backs off) and
// drops a record whose idempotency key it has seen (a re-send after a crash).
async function clusterTarget(records, { partition, idempotencyKeys }) {
  await new Promise((r) => setTimeout(r, 150));
  if (!online) {
    const error = new Error('network is offline');
    error.retriable = true;
    throw error;
  }
  const decoder = new TextDecoder();
  records.forEach((r, i) => {
    const key = idempotencyKeys[i];
    if (cluster.keys[key]) return;
    cluster.keys[key] = true;
    cluster.records.push({ key, partition, offset: r.offset, value: decoder.decode(r.value ?? new Uint8Array()) });
  });
  saveCluster();
}

async function drainOnce() {
  if (draining || !buffer) return;
  draining = true;
  try {
    const result = await buffer.drain({ consumer: CONSUMER, topic: TOPIC, target: clusterTarget, maxRecords: 10, maxAttempts: 2, backoffMs: 200 });
    if (result.shipped > 0) status('drain-status', `Shipped ${result.shipped} record(s) in ${result.batches} batch(es); the uploader's offsets are stored.`, 'ok');
    else if (online) status('drain-status', 'Up to date: nothing left to ship.', 'ok');
  } catch (e) {
    status('drain-status', `Drain stopped, will retry: ${e.message}`, 'warn');
  }
  draining = false;
  await render();
}

async function render() {
  if (!buffer) return;
  const stats = await buffer.stats();
  const lag = await buffer.lag(CONSUMER, TOPIC);
  const log = $('log');
  log.replaceChildren();
  for (const p of stats.partitions.filter((p) => p.topic === TOPIC)) {
    const row = lag.find((l) => l.partition === p.partition);
    const shippedTo = row.currentOffset ?? p.logStartOffset;
    const div = document.createElement('div');
    div.className = 'partition';
    const h = document.createElement('h3');
    h.innerHTML = `${TOPIC}-${p.partition}<span class="offsets">log end ${p.logEndOffset}, durable to ${p.durableEndOffset}</span>`;
    const cells = document.createElement('div');
    cells.className = 'cells';
    const read = await buffer.read(TOPIC, p.partition, p.logStartOffset, { maxRecords: 200, decode: 'text' });
    if (read.records.length === 0) {
      cells.innerHTML = '<span class="empty">empty</span>';
    }
    for (const r of read.records) {
      const cell = document.createElement('span');
      const state = r.offset < shippedTo ? 'shipped' : r.offset < p.durableEndOffset ? 'durable' : 'pending';
      let note = r.value;
      let severity = 'info';
      try {
        const v = JSON.parse(r.value);
        note = `${v.site}: ${v.note} (${v.severity})`;
        severity = v.severity;
      } catch {}
      cell.className = `cell ${state} sev-${severity}`;
      cell.textContent = r.offset;
      cell.title = `offset ${r.offset}, ${state}: ${note}`;
      cells.append(cell);
    }
    div.append(h, cells);
    log.append(div);
  }
  $('lag').replaceChildren(
    ...lag.map((l) => {
      const tr = document.createElement('tr');
      tr.innerHTML = `<td>${l.partition}</td><td>${l.logStartOffset}</td><td>${l.logEndOffset}</td><td>${l.currentOffset ?? '–'}</td><td>${l.lag}</td>`;
      return tr;
    }),
  );
  const estimate = stats.storageEstimate ? `, origin storage ${(stats.storageEstimate.usage / 1024).toFixed(0)} KiB used` : '';
  $('stats').textContent = `${stats.records} records, ${stats.totalBytes} bytes in ${stats.partitions.reduce((n, p) => n + p.segments, 0)} segments (Kafka's record batch format), ${stats.unflushedBytes} bytes waiting for a flush, ${stats.flushes} flushes this session${estimate}.`;
  const received = $('received');
  received.replaceChildren(
    ...cluster.records.slice(-30).reverse().map((r) => {
      const li = document.createElement('li');
      const where = document.createElement('span');
      where.className = 'where';
      where.textContent = `p${r.partition} @${r.offset}`;
      where.title = `idempotency key ${r.key}`;
      li.append(where);
      try {
        const v = JSON.parse(r.value);
        const sev = document.createElement('span');
        sev.className = `sev ${v.severity}`;
        sev.textContent = v.severity;
        li.append(`${v.site} · `, sev, ` · ${v.note}`);
      } catch {
        li.append(r.value);
      }
      return li;
    }),
  );
  if (cluster.records.length === 0) received.innerHTML = '<li class="empty">Nothing yet.</li>';
}

function setOnline(value) {
  online = value;
  localStorage.setItem('logsim-buffer-demo-offline', value ? '0' : '1');
  $('network').setAttribute('aria-pressed', String(value));
  $('network-label').textContent = value ? 'Online' : 'Offline (simulated)';
  if (!value) status('drain-status', 'Offline: appends keep working; the uploader waits.', 'warn');
}

async function append(count) {
  const site = $('site').value;
  const severity = $('severity').value;
  const note = $('note').value.trim() || '(no note)';
  const records = Array.from({ length: count }, (_, i) => ({
    key: site,
    value: JSON.stringify({ site, severity, note: count > 1 ? `${note} #${i + 1}` : note, at: new Date().toISOString() }),
    headers: { 'content-type': 'application/json' },
  }));
  try {
    const result = await buffer.append(TOPIC, records);
    const first = result.records[0];
    status('last', `Appended ${count} record(s) to ${TOPIC}-${first.partition} at offset ${first.offset}${count > 1 ? `–${result.records[count - 1].offset}` : ''} (key "${site}", murmur2 partitioning). Durable after the next flush (within 0.5 s).`, 'ok');
  } catch (e) {
    status('last', `${e.code}: ${e.message}`, 'bad');
  }
  await render();
  setTimeout(render, 700);
}

async function main() {
  await init();
  try {
    buffer = await LogBuffer.open('demo', {
      topics: { [TOPIC]: { partitions: 3, 'retention.ms': 7 * 24 * 3600 * 1000 } },
      flush: { intervalMs: 500 },
    });
  } catch (e) {
    status('last', `Cannot open the buffer: ${e.code ?? ''} ${e.message}`, 'bad');
    return;
  }
  const cut = buffer.recovery.filter((n) => n.tornTailBytes > 0);
  const total = (await buffer.stats()).records;
  status('last', total > 0 ? `Reopened: ${total} record(s) recovered from IndexedDB${cut.length ? `, ${cut.length} torn tail(s) cut by CRC` : ''}.` : 'A new, empty buffer. Append an observation.', 'ok');
  setOnline(online);
  $('report').addEventListener('submit', (e) => {
    e.preventDefault();
    append(1);
  });
  $('burst').addEventListener('click', () => append(20));
  $('network').addEventListener('click', () => {
    setOnline(!online);
    drainOnce();
  });
  $('drain').addEventListener('click', drainOnce);
  $('reload').addEventListener('click', async () => {
    await buffer.close();
    location.reload();
  });
  window.addEventListener('online', () => setOnline(true));
  window.addEventListener('offline', () => setOnline(false));
  setInterval(() => online && drainOnce(), 2000);
  await render();
  window.demoReady = true;
}

main();
