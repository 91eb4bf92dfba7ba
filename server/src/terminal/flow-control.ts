import { WatermarkGate } from './watermark-gate.js';

/**
 * Flow control for one page attached to a terminal. xterm.js draws 5-35 MB/s; a shell can print
 * far faster (`yes`, `cat` of a big file). Without a brake, unsent output piles up in the server
 * and the page freezes. So the server counts output it has sent but the page has not yet
 * acknowledged (drawn), pauses the shell above the high watermark and resumes it below the low one.
 * The gap between the two keeps the pty from flapping on every ack.
 *
 * Offsets are in UTF-16 code units, as everywhere in the terminal protocol.
 */
export const HIGH_WATERMARK = 2 * 1024 * 1024;
export const LOW_WATERMARK = 512 * 1024;

export class FlowControl {
  private sent: number;
  private acked: number;
  private readonly gate: WatermarkGate;

  /**
   * @param startOffset where this page starts: nothing before it is owed an ack
   * @param onPause / onResume called on each transition, never twice in a row
   */
  constructor(startOffset: number, onPause: () => void, onResume: () => void, high = HIGH_WATERMARK, low = LOW_WATERMARK) {
    this.gate = new WatermarkGate(onPause, onResume, high, low);
    this.sent = startOffset;
    this.acked = startOffset;
  }

  /** Sent but not yet acknowledged. */
  get unacked(): number {
    return this.sent - this.acked;
  }

  get isPaused(): boolean {
    return this.gate.isClosed;
  }

  /** Output up to `end` (exclusive) has been sent to the page. */
  sentUpTo(end: number): void {
    if (end <= this.sent) return;
    this.sent = end;
    this.gate.rose(this.unacked);
  }

  /** The page acknowledged everything before `offset`. Acks beyond what was sent are clamped. */
  ack(offset: number): void {
    if (offset <= this.acked) return;
    this.acked = Math.min(offset, this.sent);
    this.gate.fell(this.unacked);
  }

  /** The page went away: it no longer holds the shell back. */
  release(): void {
    this.gate.open();
  }
}
