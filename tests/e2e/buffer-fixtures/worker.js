// A dedicated worker that appends records 0, 1, 2, ... to `crash` in batches and reports every
// flush that resolved: tests/e2e/buffer.test.mjs terminates it mid-append (a crash) and checks
// that every reported record survived, in order, without gaps.
import init, { LogBuffer } from './pkg/logsim_buffer.js';

onmessage = async ({ data }) => {
  try {
    await init();
    if (data.type === 'crash-loop') {
      const buffer = await LogBuffer.open(data.name, { topics: { crash: {} }, flush: { bytes: 1 << 30 } });
      let next = (await buffer.stats()).partitions[0].logEndOffset;
      postMessage({ type: 'opened', next });
      for (;;) {
        const records = Array.from({ length: data.batch }, (_, i) => ({ value: `record-${next + i}` }));
        const result = await buffer.append('crash', records);
        if (result.records[0].offset !== next) throw new Error(`offset ${result.records[0].offset}, expected ${next}`);
        next += data.batch;
        // Every other batch waits for its flush and reports it durable; the others stay pending.
        if ((next / data.batch) % 2 === 0) {
          await buffer.flush();
          postMessage({ type: 'durable', upTo: next });
        }
      }
    }
    if (data.type === 'roundtrip') {
      const buffer = await LogBuffer.open(data.name, { topics: { t: { partitions: 2 } }, flush: 'append' });
      const appended = await buffer.append('t', [{ key: 'k', value: 'from a worker' }]);
      const { partition, offset } = appended.records[0];
      const read = await buffer.read('t', partition, offset, { decode: 'text' });
      await buffer.close();
      postMessage({ type: 'done', durable: appended.durable, value: read.records[0].value, offset });
    }
  } catch (e) {
    postMessage({ type: 'error', message: `${e.code ?? ''} ${e.message}` });
  }
};
postMessage({ type: 'ready' });
