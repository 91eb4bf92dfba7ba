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
  private paused = false;

  /**
   * @param startOffset where this page starts: nothing before it is owed an ack
   * @param onPause / onResume called on each transition, never twice in a row
   */
  constructor(
    startOffset: number,
    private readonly onPause: () => void,
    private readonly onResume: () => void,
    private readonly high = HIGH_WATERMARK,
    private readonly low = LOW_WATERMARK,
  ) {
    if (!(low < high)) throw new RangeError(`low watermark ${low} must be below the high watermark ${high}`);
    this.sent = startOffset;
    this.acked = startOffset;
  }

  /** Sent but not yet acknowledged. */
  get unacked(): number {
    return this.sent - this.acked;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Output up to `end` (exclusive) has been sent to the page. */
  sentUpTo(end: number): void {
    if (end <= this.sent) return;
    this.sent = end;
    if (!this.paused && this.unacked > this.high) {
      this.paused = true;
      this.onPause();
    }
  }

  /** The page acknowledged everything before `offset`. Acks beyond what was sent are clamped. */
  ack(offset: number): void {
    if (offset <= this.acked) return;
    this.acked = Math.min(offset, this.sent);
    if (this.paused && this.unacked < this.low) {
      this.paused = false;
      this.onResume();
    }
  }

  /** The page went away: it no longer holds the shell back. */
  release(): void {
    if (this.paused) {
      this.paused = false;
      this.onResume();
    }
  }
}
