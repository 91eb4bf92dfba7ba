/** The outcome of {@link judgeRoundRobin}, ready to show to a learner. */
export interface RoundRobinVerdict {
  readonly passed: boolean;
  /** One sentence naming the values that decided the verdict. */
  readonly message: string;
  /**
   * Requests answered per backend, every backend listed (0 when it never answered). A name that
   * answered but is not in `backends` is counted under its own name; failed and unknown
   * requests are not counted.
   */
  readonly counts: Record<string, number>;
  /** The judged sequence, as given. */
  readonly sequence: readonly string[];
}

/** Marks a request that got no reply in a sequence: `error:<what went wrong>`. */
export const ERROR_PREFIX = 'error:';
/** Marks a reply that matched no backend in a sequence: `unknown:<body>`. */
export const UNKNOWN_PREFIX = 'unknown:';

/** Sequences in messages are cut here: enough to see the pattern, short enough to read. */
const MAX_SHOWN_IN_SEQUENCE = 20;
const MAX_SHOWN_BODY_CHARS = 80;

/**
 * Judges whether the responses seen when requesting a VIP one after another are what the
 * kernel's `rr` scheduler produces.
 *
 * `sequence` holds, per request in order, the name of the backend that answered (`nginx-1`),
 * `error:<text>` for a failed request, or `unknown:<body>` for a body that matched no backend.
 *
 * A sender may stop at the first failed request: then `sequence` ends with that `error:` entry
 * and `requested` says how many requests were meant to be sent; the verdict says how many were
 * answered and that the rest were not sent, rather than counting them as failed.
 *
 * Round robin passes when every request succeeded, every backend answered, the counts differ by
 * at most one, and (with two or more backends) no backend answered twice in a row. Which backend
 * answers first is not judged: the kernel starts with the backend added last.
 *
 * @throws RangeError when there are fewer than 2 requests or fewer requests than backends (no
 *   verdict is possible), when `backends` is empty or repeats a name, or when `sequence` is
 *   longer than `requested`, or shorter without ending in a failed request.
 */
export function judgeRoundRobin(sequence: readonly string[], backends: readonly string[], requested = sequence.length): RoundRobinVerdict {
  if (requested < 2) {
    throw new RangeError(`judgeRoundRobin needs at least 2 requests to judge round robin, got ${requested}`);
  }
  if (backends.length === 0) {
    throw new RangeError('judgeRoundRobin needs at least 1 backend, got none');
  }
  const duplicate = backends.find((b, i) => backends.indexOf(b) !== i);
  if (duplicate !== undefined) {
    throw new RangeError(`judgeRoundRobin: backend "${duplicate}" is listed twice in ${backends.join(', ')}`);
  }
  if (requested < backends.length) {
    throw new RangeError(`judgeRoundRobin: ${backends.length} backends need at least ${backends.length} requests, got ${requested}`);
  }
  checkSentRequests('judgeRoundRobin', sequence, requested);

  const counts = countAnswers(sequence, backends);
  const verdict = (passed: boolean, message: string): RoundRobinVerdict => ({
    passed,
    message,
    counts,
    sequence: [...sequence],
  });
  const shown = showSequence(sequence);
  const total = sequence.length;

  const failure = sendingFailure(sequence, backends, requested);
  if (failure !== undefined) return verdict(false, failure);

  const answering = backends.filter((b) => (counts[b] ?? 0) > 0);
  const silent = backends.filter((b) => (counts[b] ?? 0) === 0);
  if (silent.length > 0) {
    // Busiest first, so the sentence leads with where the traffic went.
    const byCount = [...answering].sort((a, b) => (counts[b] ?? 0) - (counts[a] ?? 0));
    const answered = byCount.map((b, i) => `${b}${i === 0 ? ' answered' : ''} ${counts[b] ?? 0}`);
    return verdict(
      false,
      `${joinWithAnd(answered)} of ${total} requests${answered.length > 1 ? ',' : ' and'} ${joinWithAnd(silent)} none: ` +
        `only ${answering.length} of the ${backends.length} backends ${answering.length === 1 ? 'is' : 'are'} ` +
        `receiving traffic (sequence: ${shown})`,
    );
  }

  const most = maxBy(backends, (b) => counts[b] ?? 0);
  const least = maxBy(backends, (b) => -(counts[b] ?? 0));
  const mostCount = counts[most] ?? 0;
  const leastCount = counts[least] ?? 0;
  if (mostCount - leastCount > 1) {
    return verdict(
      false,
      `${most} answered ${mostCount} of ${total} requests and ${least} only ${leastCount}: round robin shares ` +
        `requests evenly, so the counts should differ by at most 1 (sequence: ${shown})`,
    );
  }

  if (backends.length > 1) {
    const repeat = sequence.findIndex((name, i) => i > 0 && sequence[i - 1] === name);
    if (repeat !== -1) {
      return verdict(
        false,
        `${sequence[repeat] ?? ''} answered twice in a row (requests ${repeat} and ${repeat + 1}): ` + `that is not round robin (sequence: ${shown})`,
      );
    }
  }

  if (backends.length === 1) {
    return verdict(true, `all ${total} requests were answered by ${backends[0] ?? ''}, the only backend (sequence: ${shown})`);
  }
  const share = mostCount === leastCount ? `${mostCount} each` : backends.map((b) => `${b} ${counts[b] ?? 0}`).join(', ');
  return verdict(true, `round robin: ${total} requests went to ${joinWithAnd(backends)} in turn, ${share} (sequence: ${shown})`);
}

/**
 * Checks that `sequence` can be the result of sending `requested` requests with a sender that
 * stops at the first failure: no longer than asked for, and shorter only when it ends in the
 * `error:` entry that stopped it.
 *
 * @throws RangeError naming `caller` when it cannot.
 */
export function checkSentRequests(caller: string, sequence: readonly string[], requested: number): void {
  if (sequence.length > requested) {
    throw new RangeError(`${caller}: ${sequence.length} responses for ${requested} requests`);
  }
  const stoppedAt = sequence.at(-1);
  if (sequence.length < requested && !stoppedAt?.startsWith(ERROR_PREFIX)) {
    throw new RangeError(
      `${caller}: ${sequence.length} of ${requested} requests were sent, so the last must have failed, ` +
        `but it is ${JSON.stringify(stoppedAt ?? 'missing')}`,
    );
  }
}

/**
 * The message for the first thing that went wrong while sending, whatever the scheduler: the
 * sender stopped early at a failure, a request failed, or a reply came from no backend in
 * `backends`. Undefined when every request was answered by one of `backends`.
 */
export function sendingFailure(sequence: readonly string[], backends: readonly string[], requested: number): string | undefined {
  if (sequence.length < requested) return stoppedAtFailure(sequence, backends, requested);
  return firstFailure(sequence, backends);
}

/** Requests answered per backend, every backend listed (0 when it never answered); see {@link RoundRobinVerdict.counts}. */
export function countAnswers(sequence: readonly string[], backends: readonly string[]): Record<string, number> {
  const counts = new Map<string, number>(backends.map((b) => [b, 0]));
  for (const entry of sequence) {
    if (entry.startsWith(ERROR_PREFIX) || entry.startsWith(UNKNOWN_PREFIX)) continue;
    counts.set(entry, (counts.get(entry) ?? 0) + 1);
  }
  return Object.fromEntries(counts);
}

/** How many requests of `sequence` got a reply, whether from a backend or not. */
export function countAnswered(sequence: readonly string[]): number {
  return sequence.filter((entry) => !entry.startsWith(ERROR_PREFIX)).length;
}

/**
 * The message for a sender that stopped at its last request, which failed: what was answered,
 * what failed and how, that the rest was not sent, and what went wrong before, if anything did.
 */
function stoppedAtFailure(sequence: readonly string[], backends: readonly string[], requested: number): string {
  const sent = sequence.length;
  const before = sequence.slice(0, -1);
  const answered = countAnswered(before);
  const error = (sequence.at(-1) ?? '').slice(ERROR_PREFIX.length).trim();
  const notSent = requested - sent;
  const stop =
    `request ${sent} of ${requested} failed (${error})${answered > 0 ? ` after ${answered} answered` : ''}; ` +
    `${notSent === 1 ? 'the last one was' : `the other ${notSent} were`} not sent`;
  const earlier = firstFailure(before, backends);
  if (earlier !== undefined) return `${stop}. Before that, ${earlier}`;
  return before.length > 0 ? `${stop} (sequence before it: ${showSequence(before)})` : stop;
}

/** The message for the first request that did not reach a known backend, if any. */
function firstFailure(sequence: readonly string[], backends: readonly string[]): string | undefined {
  const index = sequence.findIndex((entry) => !backends.includes(entry));
  const entry = sequence[index];
  if (entry === undefined) return undefined;
  const request = index + 1;
  if (entry.startsWith(ERROR_PREFIX)) {
    const failed = sequence.filter((e) => e.startsWith(ERROR_PREFIX)).length;
    const tally = failed > 1 ? ` (${failed} of ${sequence.length} requests failed)` : '';
    return `request ${request} failed: ${entry.slice(ERROR_PREFIX.length).trim()}${tally}`;
  }
  if (entry.startsWith(UNKNOWN_PREFIX)) {
    const body = entry.slice(UNKNOWN_PREFIX.length).replace(/\s+/g, ' ').trim();
    const shownBody = body.length > MAX_SHOWN_BODY_CHARS ? `${body.slice(0, MAX_SHOWN_BODY_CHARS)}…` : body;
    return `request ${request} was answered by none of the backends (${backends.join(', ')}): ` + `the reply was ${JSON.stringify(shownBody)}`;
  }
  return `request ${request} was answered by ${entry}, which is not one of the backends (${backends.join(', ')})`;
}

/** A sequence as messages show it: names separated by spaces, cut after the first 20. */
export function showSequence(sequence: readonly string[]): string {
  const shown = sequence.slice(0, MAX_SHOWN_IN_SEQUENCE).join(' ');
  return sequence.length > MAX_SHOWN_IN_SEQUENCE ? `${shown} …` : shown;
}

/** `a`, `a and b`, `a, b and c`. */
export function joinWithAnd(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`;
}

/** The first item with the highest score: backends are reported in the order the caller gave. */
function maxBy(items: readonly string[], score: (item: string) => number): string {
  let best = items[0] ?? '';
  for (const item of items) if (score(item) > score(best)) best = item;
  return best;
}
