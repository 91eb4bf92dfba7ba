import { WatermarkGate } from '../terminal/watermark-gate.js';

/**
 * Server memory per page, whatever the page does. Acks say what a page has drawn, but a page can
 * ack everything and still never read its socket: then every frame sent piles up in the socket's
 * send buffer (ws's `bufferedAmount`). So the socket's own backlog is watched too: above HIGH the
 * shell is held (the pty is no longer read), below LOW it is released; a backlog above the hard
 * limit means the page is not reading at all, and the socket is closed.
 *
 * Bytes, of encoded frames. HIGH is well above a normal burst (a 64 KiB batch, a replay), so a
 * page that reads is never held by this.
 */
export const SOCKET_HIGH = 1024 * 1024;
export const SOCKET_LOW = 256 * 1024;
export const SOCKET_HARD_LIMIT = 16 * 1024 * 1024;

export class SocketBackpressure {
  private readonly gate: WatermarkGate;

  constructor(
    hold: () => void,
    release: () => void,
    high = SOCKET_HIGH,
    low = SOCKET_LOW,
    private readonly hardLimit = SOCKET_HARD_LIMIT,
  ) {
    if (!(low < high && high < hardLimit)) throw new RangeError(`need low ${low} < high ${high} < hard limit ${hardLimit}`);
    this.gate = new WatermarkGate(hold, release, high, low);
  }

  get isHolding(): boolean {
    return this.gate.isClosed;
  }

  /** After a frame was queued, with the socket's backlog; 'overflow' means close the socket. */
  sent(buffered: number): 'ok' | 'overflow' {
    if (buffered > this.hardLimit) return 'overflow';
    this.gate.rose(buffered);
    return 'ok';
  }

  /** After queued data reached the kernel, with what is still buffered. */
  flushed(buffered: number): void {
    this.gate.fell(buffered);
  }

  /** The socket is gone: it holds nothing any more. */
  dispose(): void {
    this.gate.open();
  }
}
