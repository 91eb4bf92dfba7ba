import net from 'node:net';

/**
 * A loopback TCP proxy in front of the server, to cut the network under a real browser: drop()
 * destroys every connection through it, as a network blip or a sleeping laptop does, and while
 * refusing(true) is on, new connections are reset at once.
 */
export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private refuse = false;
  private readonly server = net.createServer((client) => this.accept(client));
  private listeningPort = 0;

  private constructor(private readonly targetPort: number) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.listeningPort = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  get port(): number {
    return this.listeningPort;
  }

  drop(): void {
    for (const s of this.sockets) s.resetAndDestroy();
  }

  refusing(on: boolean): void {
    this.refuse = on;
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.refuse) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
