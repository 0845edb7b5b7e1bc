// A service worker using the buffer: answers {name} with the result of an append and a read.
import init, { LogBuffer } from './pkg/logsim_buffer.js';

const ready = init();
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('message', (event) => {
  const port = event.ports[0];
  event.waitUntil(
    (async () => {
      try {
        await ready;
        const buffer = await LogBuffer.open(event.data.name, { topics: { sw: {} }, flush: 'append' });
        const appended = await buffer.append('sw', [{ value: 'from the service worker', headers: { via: 'sw' } }]);
        const read = await buffer.read('sw', 0, 0, { decode: 'text' });
        await buffer.close();
        port.postMessage({ durable: appended.durable, values: read.records.map((r) => r.value), header: read.records[0].headers[0].value });
      } catch (e) {
        port.postMessage({ error: `${e.code ?? ''} ${e.message}` });
      }
    })(),
  );
});
