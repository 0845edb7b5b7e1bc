// Page side of B2: starts the benchmark worker, forwards its progress to the console and
// resolves `window.runBench(config)` with `{ output }` or `{ error }` (a plain message, so the
// Node side can print it without a page stack). All measuring happens in the worker.

window.runBench = (config) =>
  new Promise((resolve) => {
    const worker = new Worker('./worker.js', { type: 'module' });
    const fail = (message) => {
      worker.terminate();
      resolve({ error: message });
    };
    worker.onerror = (event) =>
      fail(`the benchmark worker failed: ${event.message ?? 'no message'} (${event.filename ?? '?'}:${event.lineno ?? '?'})`);
    worker.onmessageerror = () => fail('a message from the benchmark worker could not be read');
    worker.onmessage = ({ data }) => {
      switch (data.type) {
        case 'ready':
          worker.postMessage(config);
          break;
        case 'progress':
          console.log(data.text);
          break;
        case 'done':
          worker.terminate();
          resolve({ output: data.results });
          break;
        case 'error':
          fail(data.message);
          break;
        default:
          fail(`unexpected message from the benchmark worker: ${JSON.stringify(data)}`);
      }
    };
  });

window.benchReady = true;
