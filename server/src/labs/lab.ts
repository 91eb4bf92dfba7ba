import type { SolutionLine } from '../../../common/api.js';
import type { LabProblem } from './lab-error.js';

/**
 * A lab as the server uses it, after lab-loader has read and validated `labs/<id>/lab.yaml` and its
 * step files. See docs/authoring.md for the file format.
 */

export interface HostSpec {
  /** Name in lab.yaml; also the container's hostname and its alias on the session network. */
  readonly name: string;
  /** A ready image (`nginx:1.23.2`), or a build context under containers/ (`{ build: host }`). */
  readonly image: { readonly ref: string } | { readonly build: string };
  /** Linux capabilities added to Docker's default set, e.g. NET_ADMIN. */
  readonly capabilities: readonly string[];
  /** The learner gets a terminal in each host marked `shell: true`; the first is the main one. */
  readonly shell: boolean;
  /** Files written into the container before it starts: path → content (variables allowed). */
  readonly files: Readonly<Record<string, string>>;
  /** Overrides the image's command. */
  readonly command?: readonly string[];
  /** Per-host overrides of the server's container limits (memory in MiB, pids, cpus, cpuShares). */
  readonly limits: Partial<HostLimits>;
  /** Kernel parameters of the host's network namespace (`net.*` only). */
  readonly sysctls: Readonly<Record<string, string>>;
}

export interface HostLimits {
  readonly memoryMib: number;
  readonly pids: number;
  readonly cpus: number;
  readonly cpuShares: number;
}

export interface CommandCheck {
  readonly kind: 'command';
  /** The host whose network namespace the command runs in, as the trusted checker. */
  readonly host: string;
  /** Run with `sh -c` by the checker; passes when it exits 0. */
  readonly run: string;
  readonly failMessage: string;
  readonly passMessage: string;
}
export interface IpvsServiceCheck {
  readonly kind: 'ipvs-service';
  readonly host: string;
  /** `TCP 10.0.0.1:80` (variables allowed). */
  readonly service: string;
  readonly scheduler?: string;
  /** Persistence timeout in seconds (`ipvsadm -p`) the service must have; 0: it must not be persistent. */
  readonly persistent?: number;
}
export interface IpvsRealServersCheck {
  readonly kind: 'ipvs-real-servers';
  readonly host: string;
  readonly service: string;
  /** `address:port` of every real server the service must have, and no others. */
  readonly servers: readonly string[];
  readonly forward: 'Masq' | 'Route' | 'Tunnel';
  /** The weight each of `servers` must have, in the same order; without it, any weight above 0. */
  readonly weights?: readonly number[];
}
/**
 * Sends requests one after another and judges where they went against what the kernel's
 * scheduler does (`round-robin-traffic` in lab.yaml is this with scheduler rr and no service).
 * Which real server took each request comes from the director's connection table, not from the
 * reply alone.
 */
export interface TrafficCheck {
  readonly kind: 'traffic';
  /** The director: whose IPVS table and connection table are read. */
  readonly host: string;
  /** Host the requests are sent from (default: the director). */
  readonly from: string;
  /**
   * The virtual service (`TCP 10.0.0.1:80`): its scheduler must be `scheduler`, and its real
   * servers' weights and connection counts before the traffic decide what that scheduler does.
   * Without it, only round robin over `backends` can be judged.
   */
  readonly service?: string;
  readonly scheduler: string;
  readonly url: string;
  readonly requests: number;
  /** Backend name → the body it answers with. */
  readonly backends: Readonly<Record<string, string>>;
  /** Source addresses to send from, in turn (`curl --interface`); none: the host's own. */
  readonly sources: readonly string[];
}
/**
 * Passes when a path exists in the host's filesystem (and is executable, if asked). The engine
 * stats it; nothing runs in the learner's container.
 */
export interface FileCheck {
  readonly kind: 'file';
  readonly host: string;
  readonly path: string;
  readonly executable: boolean;
  readonly failMessage: string;
  readonly passMessage: string;
}
/**
 * Which way a virtual service's replies go, from the director's own counters: `director` (NAT:
 * OutPkts grows) or `direct` (direct routing, tunnelling: OutPkts stays 0).
 */
export interface IpvsRepliesCheck {
  readonly kind: 'ipvs-replies';
  readonly host: string;
  readonly service: string;
  readonly replies: 'director' | 'direct';
  /** The client the learner sends traffic from, named in the message when nothing was counted. */
  readonly from?: string;
}
/**
 * Measurements the learner made with a tool of the lab (`kube-scale`), read from the file it
 * writes: lines `#result key=value ...`. The engine reads the file; nothing runs in the host. The
 * learner could write the file by hand: this checks that they ran the measurement, not its truth.
 */
export interface ResultsFileCheck {
  readonly kind: 'results-file';
  readonly host: string;
  readonly path: string;
  /** Rows that must be there: each `key=value ...`, all of whose pairs one result line must have. */
  readonly require: readonly string[];
  readonly failMessage: string;
  readonly chart?: {
    readonly title: string;
    /** The key plotted across, the key whose values name the lines, the key plotted up. */
    readonly x: string;
    readonly series: string;
    readonly y: string;
    readonly xLabel: string;
    readonly yLabel: string;
  };
}
export type CheckSpec = ResultsFileCheck | CommandCheck | IpvsServiceCheck | IpvsRealServersCheck | TrafficCheck | FileCheck | IpvsRepliesCheck;
export type CheckKind = CheckSpec['kind'];

export interface StepSpec {
  readonly id: string;
  readonly title: string;
  /** Path relative to the lab folder. */
  readonly file: string;
  readonly markdown: string;
  /** All must pass, in order; the first failure is reported. Empty for steps that change nothing. */
  readonly checks: readonly CheckSpec[];
  /** What a learner would type to complete the step: one shell line each, in the terminal of `host`. */
  readonly solution: readonly SolutionLine[];
  /** The step only explains or looks around; it changes nothing, so it needs no check. */
  readonly readOnly: boolean;
  /** The step's check may pass before its solution runs (it observes what earlier steps built). */
  readonly mayAlreadyPass: boolean;
  /**
   * A challenge gives the goal, not the commands: its text has no Run buttons, its solution is
   * never sent to the page (only `ipvs-lab test` uses it), and its hints are revealed one at a
   * time, on request, and counted.
   */
  readonly challenge?: { readonly hints: readonly string[] };
}

export interface Lab {
  readonly id: string;
  readonly dir: string;
  readonly title: string;
  readonly summary: string;
  /** Where the lab sits in the list of labs: lower first, then by id. */
  readonly order: number;
  /** About how long a learner needs, in minutes, when the author says. */
  readonly minutes?: number;
  readonly hosts: readonly HostSpec[];
  /** Whether the session network may reach beyond itself (by default it cannot: no internet, no engine host). */
  readonly outside: boolean;
  /** Lab-level variables: name → template over host variables. */
  readonly variables: Readonly<Record<string, string>>;
  readonly steps: readonly StepSpec[];
  /**
   * Problems that do not stop the lab from running but make it untestable or confusing (a step
   * that changes state without a check, a command block with a prompt in it). The server logs
   * them; `ipvs-lab validate` fails on them.
   */
  readonly lint: readonly LabProblem[];
}

/** The learner's main terminal's host: the first with `shell: true`. */
export function shellHost(lab: Lab): HostSpec {
  const host = lab.hosts.find((h) => h.shell);
  if (!host) throw new Error(`lab ${lab.id} has no host with shell: true`);
  return host;
}

/** Every host the learner gets a terminal in, the main one first (lab order). */
export function shellHosts(lab: Lab): HostSpec[] {
  return lab.hosts.filter((h) => h.shell);
}

/**
 * Hosts whose network namespace some check or the IPVS panel reads: each gets a trusted checker
 * container beside it. File checks are answered by the engine and need none.
 */
export function checkedHosts(lab: Lab): Set<string> {
  const director = ipvsHost(lab);
  const names = new Set<string>(director === undefined ? [] : [director]);
  for (const step of lab.steps)
    for (const c of step.checks) {
      if (c.kind === 'traffic') names.add(c.from);
      // The engine answers file checks itself; they need no checker.
      if (c.kind !== 'file' && c.kind !== 'results-file') names.add(c.host);
    }
  return names;
}

/** Checks that read a host's IPVS table: the host they name is a director. */
const IPVS_CHECKS: ReadonlySet<CheckKind> = new Set(['ipvs-service', 'ipvs-real-servers', 'traffic', 'ipvs-replies']);

/**
 * The host whose IPVS table the live panel shows: the director. That is the host the lab's IPVS
 * checks read most (the first in lab order on a tie), or, in a lab whose checks read no IPVS table
 * (one that measures, say), the first host that may program IPVS (NET_ADMIN). Undefined when no
 * host can have an IPVS table of its own.
 */
export function ipvsHost(lab: Lab): string | undefined {
  const reads = new Map<string, number>();
  for (const step of lab.steps) for (const c of step.checks) if (IPVS_CHECKS.has(c.kind)) reads.set(c.host, (reads.get(c.host) ?? 0) + 1);
  let best: string | undefined;
  for (const h of lab.hosts) if ((reads.get(h.name) ?? 0) > (best === undefined ? 0 : reads.get(best)!)) best = h.name;
  return best ?? lab.hosts.find((h) => h.capabilities.includes('NET_ADMIN'))?.name;
}
