/**
 * The tail of a terminal's output, addressed by offset (UTF-16 code units since the terminal
 * started). A page that reconnects asks for everything from the offset it had reached; whatever
 * fell out of the buffer in between is reported as a gap instead of being silently skipped.
 */
export class ReplayBuffer {
  private chunks: string[] = [];
  private startOffset = 0;
  private size = 0;

  /** @param capacity most code units kept; the oldest output is dropped first. */
  constructor(private readonly capacity: number) {
    if (!(capacity > 0)) throw new RangeError(`replay buffer capacity must be positive, got ${capacity}`);
  }

  /** Offset one past the last code unit ever appended. */
  get end(): number {
    return this.startOffset + this.size;
  }

  /** Offset of the oldest code unit still kept. */
  get start(): number {
    return this.startOffset;
  }

  /** Appends output and returns the offset of its first code unit. */
  append(data: string): number {
    const at = this.end;
    if (data.length === 0) return at;
    this.chunks.push(data);
    this.size += data.length;
    while (this.size > this.capacity && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      const excess = this.size - this.capacity;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.startOffset += first.length;
      } else {
        // Trim inside the chunk so the buffer never exceeds its capacity even for one huge write.
        this.chunks[0] = first.slice(excess);
        this.size -= excess;
        this.startOffset += excess;
      }
    }
    return at;
  }

  /**
   * Everything from `from` on. When `from` is older than what is kept, `gap` says which range is
   * gone and `data` starts at the oldest kept offset. `from` beyond the end is clamped to the end.
   */
  since(from: number): { offset: number; data: string; gap?: { from: number; to: number } } {
    if (from >= this.end) return { offset: this.end, data: '' };
    if (from < this.startOffset) return { offset: this.startOffset, data: this.chunks.join(''), gap: { from, to: this.startOffset } };
    const all = this.chunks.join('');
    return { offset: from, data: all.slice(from - this.startOffset) };
  }
}
