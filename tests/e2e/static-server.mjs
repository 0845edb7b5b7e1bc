// A tiny static file server for the built app (dist/), for end-to-end tests and benchmarks.
//
// Loopback only, on an ephemeral port, with the MIME types a Trunk build needs (WebAssembly
// must be served as application/wasm for streaming compilation). Paths without a file
// extension fall back to index.html, as a single-page app expects; a missing asset is a 404,
// which the page reports as a console error, so the tests notice it.

import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

async function isFile(file) {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Resolves a request path inside `root`, or null if it would escape it. */
function resolveInside(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const file = path.resolve(root, '.' + path.posix.normalize('/' + decoded));
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

/**
 * Serves `root` on 127.0.0.1 at an ephemeral port.
 * Returns { url, close }, where url ends with '/'.
 */
export async function serveStatic(root) {
  const absoluteRoot = path.resolve(root);
  const server = createServer(async (request, response) => {
    try {
      const urlPath = new URL(request.url, 'http://localhost').pathname;
      let file = resolveInside(absoluteRoot, urlPath);
      if (file !== null && (await isFile(path.join(file, 'index.html')))) {
        file = path.join(file, 'index.html');
      }
      if ((file === null || !(await isFile(file))) && path.extname(urlPath) === '') {
        file = path.join(absoluteRoot, 'index.html');
      }
      if (file === null || !(await isFile(file))) {
        response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(`not found: ${urlPath}\n`);
        return;
      }
      const body = await readFile(file);
      response.writeHead(200, {
        'content-type': MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
        'content-length': body.length,
        'cache-control': 'no-store',
      });
      response.end(request.method === 'HEAD' ? undefined : body);
    } catch (error) {
      response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(`static server error: ${error}\n`);
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
