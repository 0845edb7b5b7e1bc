// A local stand-in for the Kafka REST Proxy v3 produce API, for the drain tests: the request
// and response contract of POST /v3/clusters/{cluster_id}/topics/{topic_name}/records in its
// streaming mode (records as concatenated JSON in, one delivery report per record out, each
// with its own error_code; 200 = written), and the API's error responses ({error_code, message}
// with HTTP 400 for a body that does not parse, 404/40403 for an unknown topic, 429 and 503 for
// overload). Records are kept per topic with the offsets a single-partition topic would give.
//
// Faults for tests: `failNext(n, status)` answers the next n requests with that HTTP status;
// `failRecordAt(i)` refuses the record at index i of the next request with error_code 50002
// (after writing the ones before it).

import { createServer } from 'node:http';

export async function startRestProxy({ topics = ['events'], clusterId = 'lkc-test' } = {}) {
  const state = { topics: new Map(topics.map((t) => [t, []])), requests: 0, failures: [], failRecord: null };
  const send = (response, status, body) => {
    response.writeHead(status, {
      'content-type': 'application/json',
      'access-control-allow-origin': '*',
      'access-control-allow-headers': 'content-type, accept',
    });
    response.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const server = createServer(async (request, response) => {
    if (request.method === 'OPTIONS') return send(response, 204, '');
    const url = new URL(request.url, 'http://localhost');
    const match = url.pathname.match(/^\/v3\/clusters\/([^/]+)\/topics\/([^/]+)\/records$/);
    if (request.method !== 'POST' || !match) {
      return send(response, 404, { error_code: 404, message: 'HTTP 404 Not Found' });
    }
    state.requests++;
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString('utf8');
    const fault = state.failures.shift();
    if (fault) return send(response, fault, { error_code: fault, message: fault === 429 ? 'Too Many Requests' : 'Service Unavailable' });
    const [, cluster, topic] = match.map(decodeURIComponent);
    if (cluster !== clusterId) return send(response, 404, { error_code: 404, message: `Cluster ${cluster} cannot be found.` });
    const log = state.topics.get(topic);
    if (!log) return send(response, 404, { error_code: 40403, message: 'This server does not host this topic-partition.' });
    let records;
    try {
      // Concatenated JSON: objects one after another (our client separates them by newlines).
      records = body.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
    } catch (e) {
      return send(response, 400, { error_code: 400, message: `Unexpected character: ${e.message}` });
    }
    const reports = [];
    for (const [i, record] of records.entries()) {
      if (state.failRecord === i) {
        state.failRecord = null;
        reports.push({ error_code: 50002, message: 'Local: Message timed out' });
        // Like the proxy, later records of the stream still get their own reports.
        continue;
      }
      if (record.value && record.value.type !== 'BINARY') {
        reports.push({ error_code: 400, message: `unsupported type ${record.value.type}` });
        continue;
      }
      const decode = (data) => (data == null ? null : Buffer.from(data.data, 'base64').toString('utf8'));
      const headers = Object.fromEntries((record.headers ?? []).map((h) => [h.name, h.value == null ? null : Buffer.from(h.value, 'base64').toString('utf8')]));
      log.push({ key: decode(record.key), value: decode(record.value), headers, timestamp: record.timestamp });
      reports.push({
        error_code: 200,
        cluster_id: clusterId,
        topic_name: topic,
        partition_id: 0,
        offset: log.length - 1,
        timestamp: record.timestamp,
        value: record.value ? { type: 'BINARY', size: Buffer.from(record.value.data, 'base64').length } : null,
      });
    }
    send(response, 200, reports.map((r) => JSON.stringify(r)).join(''));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    clusterId,
    state,
    failNext(n, status = 503) {
      for (let i = 0; i < n; i++) state.failures.push(status);
    },
    failRecordAt(i) {
      state.failRecord = i;
    },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
