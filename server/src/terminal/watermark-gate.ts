/**
 * A gate with two watermarks: it closes when a level rises above `high` and opens again only once
 * it falls below `low`, so a level that hovers near one mark does not flap the gate on every
 * change. Both the page's unacknowledged output and a socket's send backlog hold the shell this way.
 */
export class WatermarkGate {
  private closed = false;

  /** @param onClose / onOpen called on each transition, never twice in a row */
  constructor(
    private readonly onClose: () => void,
    private readonly onOpen: () => void,
    private readonly high: number,
    private readonly low: number,
  ) {
    if (!(low < high)) throw new RangeError(`low watermark ${low} must be below the high watermark ${high}`);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The level went up to `level`: close above the high mark. */
  rose(level: number): void {
    if (!this.closed && level > this.high) {
      this.closed = true;
      this.onClose();
    }
  }

  /** The level went down to `level`: open below the low mark. */
  fell(level: number): void {
    if (this.closed && level < this.low) this.open();
  }

  /** Opens whatever the level (what it measured is gone). */
  open(): void {
    if (!this.closed) return;
    this.closed = false;
    this.onOpen();
  }
}
