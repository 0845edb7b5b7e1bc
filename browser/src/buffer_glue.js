// JS glue of the edge buffer's API (browser/src/js_api.rs): the parts that are plain platform
// calls — Web Locks, the storage estimate, timers — plus the async iterator and the drain loop,
// which only call the buffer's own methods. No log logic lives here.

// Takes the buffer's writer lock. Resolves with the release function, `null` when another tab
// or worker holds it (and `wait` is false), or `undefined` where Web Locks do not exist (Node).
export function acquireLock(name, wait) {
  const locks = globalThis.navigator && globalThis.navigator.locks;
  if (!locks) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    locks
      .request(name, wait ? {} : { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(null);
          return undefined;
        }
        // The lock is held until this promise settles: until `release()`.
        return new Promise((release) => resolve(() => release()));
      })
      .catch(reject);
  });
}

// navigator.storage.estimate(), or undefined where it does not exist.
export async function storageEstimate() {
  const storage = globalThis.navigator && globalThis.navigator.storage;
  if (!storage || typeof storage.estimate !== 'function') return undefined;
  try {
    const { usage, quota } = await storage.estimate();
    return { usage, quota };
  } catch {
    return undefined;
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// `for await (const record of buffer.follow(topic, partition, offset))`: reads from `offset` on
// and, at the log end, waits for the next append (or polls every `pollMs`, for a read-only
// buffer another tab writes). `break` or `return()` stops it.
export function follow(buffer, topic, partition, offset, options) {
  const maxRecords = options?.maxRecords ?? 500;
  const pollMs = options?.pollMs ?? 1000;
  const decode = options?.decode;
  let position = offset;
  let queue = [];
  let stopped = false;
  return {
    async next() {
      while (!stopped) {
        if (queue.length > 0) return { value: queue.shift(), done: false };
        const read = await buffer.read(topic, partition, position, { maxRecords, decode });
        position = read.nextOffset;
        queue = read.records;
        if (queue.length === 0) {
          if (buffer.closed) break;
          if (buffer.readOnly) await buffer.refresh();
          await Promise.race([buffer.waitForAppend(), sleep(pollMs)]);
        }
      }
      return { value: undefined, done: true };
    },
    async return() {
      stopped = true;
      queue = [];
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

function base64(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

class DrainError extends Error {
  constructor(message, retriable, status) {
    super(message);
    this.name = 'LogBufferError';
    this.code = retriable ? 'NETWORK_EXCEPTION' : 'INVALID_REQUEST';
    this.retriable = retriable;
    this.status = status;
  }
}

// The Kafka REST Proxy v3 produce call: POST /v3/clusters/{cluster}/topics/{topic}/records with
// the records as concatenated JSON (the API's streaming mode), one delivery report per record
// back, each with its own error_code (200 = written). Returns how many leading records were
// written; throws a DrainError for the first failure (retriable for 429, 5xx and network errors).
function restProxyTarget(options) {
  const base = String(options.url).replace(/\/+$/, '');
  const cluster = encodeURIComponent(options.clusterId ?? 'logsim');
  const extraHeaders = options.headers ?? {};
  const keepPartition = options.preservePartition === true;
  return async (records, { topic, partition, idempotencyKeys }) => {
    const body = records
      .map((r, i) => {
        const out = {};
        if (keepPartition) out.partition_id = partition;
        if (r.key) out.key = { type: 'BINARY', data: base64(r.key) };
        if (r.value) out.value = { type: 'BINARY', data: base64(r.value) };
        out.headers = r.headers
          .map((h) => ({ name: h.key, value: h.value ? base64(h.value) : null }))
          .concat([{ name: 'logsim-idempotency-key', value: btoa(idempotencyKeys[i]) }]);
        out.timestamp = new Date(r.timestamp).toISOString();
        return JSON.stringify(out);
      })
      .join('\n');
    const url = `${base}/v3/clusters/${cluster}/topics/${encodeURIComponent(topic)}/records`;
    let response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...extraHeaders },
        body,
      });
    } catch (e) {
      throw new DrainError(`cannot reach ${url}: ${e.message}`, true);
    }
    const text = await response.text();
    if (!response.ok) {
      let detail = text;
      try {
        const parsed = JSON.parse(text);
        detail = `${parsed.error_code ?? response.status} ${parsed.message ?? ''}`.trim();
      } catch {}
      const retriable = response.status === 429 || response.status >= 500;
      throw new DrainError(`the REST proxy answered HTTP ${response.status}: ${detail}`, retriable, response.status);
    }
    // Concatenated JSON: one delivery report per record, in order.
    const reports = [];
    let depth = 0;
    let start = -1;
    let inString = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{') {
        if (depth++ === 0) start = i;
      } else if (c === '}' && --depth === 0) reports.push(JSON.parse(text.slice(start, i + 1)));
    }
    for (let i = 0; i < records.length; i++) {
      const report = reports[i];
      if (!report) {
        throw new DrainError(`the REST proxy sent ${reports.length} delivery reports for ${records.length} records`, true);
      }
      if (report.error_code !== 200) {
        const retriable = report.error_code === 429 || report.error_code >= 500;
        const error = new DrainError(
          `the REST proxy refused record ${i} of the batch: ${report.error_code} ${report.message ?? ''}`.trim(),
          retriable,
          report.error_code,
        );
        error.written = i;
        throw error;
      }
    }
    return records.length;
  };
}

// Ships a topic's records from a named consumer's position to a target, at least once: each
// batch is sent, and the consumer's offset is stored (and flushed) only after the target took
// it; a retriable failure backs off exponentially and retries the same records, with the same
// idempotency keys, up to `maxAttempts` times.
export async function drain(buffer, options) {
  if (options === null || typeof options !== 'object') {
    throw new DrainError('drain needs options: { consumer, topic, url | target }', false);
  }
  const { consumer, topic } = options;
  if (typeof consumer !== 'string' || typeof topic !== 'string') {
    throw new DrainError('drain options need consumer and topic names (strings)', false);
  }
  let target = options.target;
  if (target === undefined) {
    if (typeof options.url !== 'string') {
      throw new DrainError('drain options need a url (the REST proxy) or a target function', false);
    }
    target = restProxyTarget(options);
  } else if (typeof target !== 'function') {
    throw new DrainError('drain option target must be an async function (records, context)', false);
  }
  const maxRecords = options.maxRecords ?? 500;
  const maxAttempts = options.maxAttempts ?? 5;
  const backoffMs = options.backoffMs ?? 100;
  const maxBackoffMs = options.maxBackoffMs ?? 10000;
  const partitions = (await buffer.stats()).partitions.filter((p) => p.topic === topic);
  if (partitions.length === 0) {
    throw new DrainError(`unknown topic ${JSON.stringify(topic)}`, false);
  }
  const result = { shipped: 0, batches: 0, retries: 0, partitions: [] };
  for (const { partition, logStartOffset } of partitions) {
    const stored = await buffer.committed(consumer, topic, partition);
    // Below the log start (retention ran) the consumer resumes at the log start, as
    // auto.offset.reset=earliest would.
    let position = Math.max(stored ? stored.offset : logStartOffset, logStartOffset);
    const from = position;
    for (;;) {
      // Ship only durable records: an offset is not reused after a crash once it is flushed,
      // so the idempotency key of a record shipped now names that record for good.
      await buffer.flush();
      let read;
      try {
        read = await buffer.read(topic, partition, position, { maxRecords });
      } catch (error) {
        if (error?.code !== 'OFFSET_OUT_OF_RANGE') throw error;
        // Retention moved the log start past the position meanwhile: resume there.
        const stats = (await buffer.stats()).partitions.find((p) => p.topic === topic && p.partition === partition);
        if (position >= stats.logStartOffset) throw error;
        position = stats.logStartOffset;
        continue;
      }
      if (read.records.length === 0) {
        // Nothing left, or only offsets compaction removed: step over them and go on.
        if (read.nextOffset > position) {
          position = read.nextOffset;
          await buffer.commitOffset(consumer, topic, partition, position);
          continue;
        }
        break;
      }
      let records = read.records;
      let attempt = 1;
      for (;;) {
        const keys = records.map((r) => `${buffer.name}/${topic}/${partition}/${r.offset}`);
        try {
          await target(records, { topic, partition, idempotencyKeys: keys });
          break;
        } catch (error) {
          // Records the target took before failing are stored as consumed.
          const written = Number.isInteger(error?.written) ? error.written : 0;
          if (written > 0) {
            position = records[written - 1].offset + 1;
            await buffer.commitOffset(consumer, topic, partition, position);
            await buffer.flush();
            result.shipped += written;
            records = records.slice(written);
          }
          const retriable = error?.retriable !== false;
          if (!retriable || attempt >= maxAttempts) {
            const wrapped = new DrainError(
              `drain of ${topic}-${partition} stopped at offset ${position} after ${attempt} attempt(s): ${error?.message ?? error}`,
              retriable,
              error?.status,
            );
            wrapped.shipped = result.shipped;
            wrapped.position = position;
            throw wrapped;
          }
          result.retries++;
          await sleep(Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1)));
          attempt++;
        }
      }
      position = read.nextOffset;
      await buffer.commitOffset(consumer, topic, partition, position);
      await buffer.flush();
      result.shipped += records.length;
      result.batches++;
    }
    result.partitions.push({ partition, from, to: position });
  }
  return result;
}
