/** Long lines are cut in messages so one bad line cannot flood a log or a learner's screen. */
const MAX_QUOTED_CHARS = 160;

function quote(text: string): string {
  const shown = text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}…` : text;
  return JSON.stringify(shown);
}

/**
 * A line of an IPVS listing (`/proc/net/ip_vs`, `ipvsadm -Ln`) that a parser could not understand,
 * including input that is not such a listing at all.
 *
 * The message reads `line 4 "TCP  zz:80 rr": <what was expected>`.
 */
export class IpvsParseError extends Error {
  override readonly name = 'IpvsParseError';
  /** 1-based number of the offending line in the parsed text. */
  readonly line: number;
  /** The offending line, without its trailing whitespace. */
  readonly text: string;
  /** What was expected there, for a human. */
  readonly problem: string;

  /**
   * @param line 1-based line number.
   * @param text The offending line.
   * @param problem What was expected there, for a human.
   */
  constructor(line: number, text: string, problem: string) {
    super(`line ${line} ${quote(text)}: ${problem}`);
    this.line = line;
    this.text = text;
    this.problem = problem;
  }
}
