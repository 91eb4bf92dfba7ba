import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import type { Response } from 'express';

import { openEventStream, type EventStream } from '../../../server/src/http/event-stream.js';

/** A real HTTP server whose one route opens an event stream and hands it to the test. */
async function serve(): Promise<{ port: number; next: () => Promise<{ stream: EventStream; res: http.ServerResponse }>; close: () => void }> {
  const waiting: ((s: { stream: EventStream; res: http.ServerResponse }) => void)[] = [];
  const server = http.createServer((_req, res) => {
    // openEventStream uses only what http.ServerResponse has; express's Response extends it.
    const stream = openEventStream(res as unknown as Response);
    waiting.shift()?.({ stream, res });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe('openEventStream', async () => {
  const server = await serve();
  after(() => server.close());

  it('sends each event named by its type, with its JSON as data', async () => {
    const opened = server.next();
    const res = await fetch(`http://127.0.0.1:${server.port}/`);
    const { stream } = await opened;
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    stream.send({ type: 'table', n: 1 } as { type: string });
    stream.end();
    assert.equal(await res.text(), 'retry: 3000\n\nevent: table\ndata: {"type":"table","n":1}\n\n');
  });

  it('closes the stream of a client that stopped reading, instead of buffering for it without end', async () => {
    const opened = server.next();
    const socket = net.connect(server.port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    // A frozen tab: the connection stays open, and nothing is read from it.
    socket.pause();
    const { stream, res } = await opened;
    let closed = false;
    stream.onClose(() => (closed = true));
    const event = { type: 'table', padding: 'x'.repeat(64 * 1024) };
    let sent = 0;
    while (!res.writableEnded && sent < 2000) {
      stream.send(event);
      sent++;
      // Let the socket take what the kernel will still accept.
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(res.writableEnded, true, `still open after ${sent} events of 64 KiB`);
    assert.ok(res.writableLength < 2 * 1024 * 1024, `at most about 1 MiB is held for it, held ${res.writableLength}`);
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(closed, true, 'the stream says it closed, so its feed lets go');
  });
});
