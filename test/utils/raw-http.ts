import net from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly head: string;
  readonly body: string;
}

/**
 * Sends `request` byte for byte (fetch and ws would normalise a path like `//[` or refuse a bad
 * header) and reads the answer until the server closes the connection or `timeoutMs` passes.
 */
export function rawRequest(port: number, request: string, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let settled = false;
    const timer = setTimeout(() => {
      socket.destroy();
      finish();
    }, timeoutMs);
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const [head = '', body = ''] = data.split('\r\n\r\n', 2);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? NaN);
      if (Number.isNaN(status)) reject(new Error(`no HTTP answer to ${JSON.stringify(request.split('\r\n')[0])}: ${JSON.stringify(data.slice(0, 200))}`));
      else resolve({ status, head, body });
    };
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('end', finish);
    socket.on('error', finish);
    socket.write(request);
  });
}

/** A WebSocket upgrade request for `path`, with extra header lines. */
export function upgradeRequest(path: string, port: number, headers: Record<string, string> = {}): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}
