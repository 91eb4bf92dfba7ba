/**
 * What `/proc/net/ip_vs` and `ipvsadm -Ln` have in common: the same headers, and the same shape of
 * a service line followed by its indented `->` real server lines. Each parser brings its own
 * reading of a service line and a real server line.
 */
import { IpvsParseError } from './ipvs-parse-error.js';
import type { IpvsTable, RealServer, VirtualService } from './ipvs-table.js';

export const VERSION_LINE = /^IP Virtual Server version \d+\.\d+\.\d+ \(size=\d+\)$/;
export const SERVICE_HEADER = 'Prot LocalAddress:Port Scheduler Flags';
export const REAL_SERVER_HEADER = '-> RemoteAddress:Port Forward Weight ActiveConn InActConn';

export interface Line {
  readonly number: number;
  /** As read, less trailing whitespace: what errors quote. */
  readonly text: string;
  /** Without the indentation either: what is parsed. */
  readonly content: string;
}

/** Numbered lines, blank ones dropped: they carry nothing. */
export function significantLines(text: string): Line[] {
  return text
    .split(/\r?\n/)
    .map((raw, index) => ({ number: index + 1, text: raw.trimEnd(), content: raw.trim() }))
    .filter((line) => line.content !== '');
}

/** Groups the lines after the headers into services, each with the real server lines below it. */
export function collectServices(
  body: readonly Line[],
  parseService: (line: Line) => Omit<VirtualService, 'realServers'>,
  parseRealServer: (line: Line) => RealServer,
): IpvsTable {
  const builders: { service: Omit<VirtualService, 'realServers'>; realServers: RealServer[] }[] = [];
  for (const line of body) {
    if (line.content.startsWith('->')) {
      const current = builders.at(-1);
      if (current === undefined) throw new IpvsParseError(line.number, line.text, 'a real server line before any service line');
      current.realServers.push(parseRealServer(line));
    } else {
      builders.push({ service: parseService(line), realServers: [] });
    }
  }
  return { services: builders.map((b) => ({ ...b.service, realServers: b.realServers })) };
}
