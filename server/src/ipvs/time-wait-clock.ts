import { clockKey } from './connection-order.js';
import { ipv4FromHex } from './parse-proc-net-ip-vs.js';

/**
 * A socket line of `/proc/net/tcp` in TIME_WAIT (state 06) with its timer (03) and what is left
 * of it, in hundredths of a second (`get_timewait4_sock` in net/ipv4/tcp_ipv4.c).
 */
const TIME_WAIT = /^\s*\d+: ([0-9A-Fa-f]{8}):([0-9A-Fa-f]{4}) ([0-9A-Fa-f]{8}):([0-9A-Fa-f]{4}) 06 [0-9A-Fa-f]{8}:[0-9A-Fa-f]{8} 03:([0-9A-Fa-f]{1,8})\s/;

/** The grep the panel's reading runs: only TIME_WAIT sockets, so a busy host sends little. */
export const TIME_WAIT_LINES = String.raw`^ *[0-9]+: [0-9A-F]{8}:[0-9A-F]{4} [0-9A-F]{8}:[0-9A-F]{4} 06 `;

/**
 * Reads the TIME_WAIT sockets of `/proc/net/tcp` into hundredths of a second left, by
 * {@link clockKey} (local end as the client, remote end as the virtual address).
 *
 * The file prints each address as the 32-bit word in memory, so its bytes come reversed on a
 * little-endian machine and not on a big-endian one; both readings go in, and only the right one
 * can match a connection. Lines that are not a TIME_WAIT socket are left out: this is a hint for
 * ordering, and the panel works without it.
 */
export function parseTimeWaitClock(text: string): Map<string, number> {
  const left = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = TIME_WAIT.exec(line);
    if (!m) continue;
    const [local, localPort, remote, remotePort, ticks] = [m[1]!, parseInt(m[2]!, 16), m[3]!, parseInt(m[4]!, 16), parseInt(m[5]!, 16)];
    for (const read of [ipv4FromHex, (hex: string) => ipv4FromHex(reversed(hex))]) {
      left.set(clockKey({ address: read(local), port: localPort }, { address: read(remote), port: remotePort }), ticks);
    }
  }
  return left;
}

function reversed(hex: string): string {
  return (hex.match(/../g) ?? []).reverse().join('');
}
