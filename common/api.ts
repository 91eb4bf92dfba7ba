/**
 * Shapes of the HTTP API (docs/api.md), shared by the server and the page.
 */

export interface LabSummary {
  readonly id: string;
  readonly title: string;
  readonly summary: string;
  readonly steps: number;
  /** About how long the lab takes, when its author says. */
  readonly minutes?: number;
  /** Steps that are challenges: a goal to reach without given commands. */
  readonly challenges: number;
  /** The containers a session of it starts, by name. */
  readonly hosts: readonly string[];
}

export interface SessionCreated {
  readonly id: string;
  readonly token: string;
  readonly lab: string;
  /** Path of the learner's page, token included; relative to the server. */
  readonly url: string;
}

/** A one-use pass for opening the terminal WebSocket (`?ticket=`), so the token stays out of URLs. */
export interface TerminalTicket {
  readonly ticket: string;
  readonly expiresInSeconds: number;
}

export interface StepState {
  readonly id: string;
  readonly title: string;
  readonly passed: boolean;
  /** False for steps that only explain or look: "checking" them just marks them done. */
  readonly hasCheck: boolean;
  /** The step's markdown rendered to HTML, with this session's variables filled in. */
  readonly html: string;
  /**
   * What a learner would type to complete the step, variables filled in; the page hides it behind
   * "Show solution". Always empty for a challenge: its answer is not sent.
   */
  readonly solution: readonly SolutionLine[];
  /** Present on a challenge step: how many hints it has, and those revealed so far (HTML). */
  readonly challenge?: ChallengeHints;
}

/** One line a learner would type, and the host whose terminal it goes to. */
export interface SolutionLine {
  readonly host: string;
  readonly command: string;
  /** How long `ipvs-lab test` waits for it, when the lab says (a long measurement). */
  readonly timeoutSeconds?: number;
}

/** A challenge's hints, and `POST /api/sessions/:id/steps/:step/hints`'s answer (one more revealed). */
export interface ChallengeHints {
  readonly hints: number;
  readonly revealed: readonly string[];
}

export interface SessionState {
  readonly id: string;
  readonly lab: string;
  readonly labTitle: string;
  readonly steps: readonly StepState[];
  readonly variables: Readonly<Record<string, string>>;
  /**
   * The hosts the learner has a terminal in, the main one first; open one with
   * `…/terminal?host=<name>` (without `host`, the main one).
   */
  readonly terminals: readonly string[];
  readonly limits: SessionLimits;
  /**
   * The host whose IPVS table the live panel shows (the lab's director); absent when the lab
   * programs no IPVS. The panel reads it from `GET /api/sessions/:id/ipvs`.
   */
  readonly ipvsHost?: string;
}

export interface CheckResult {
  readonly passed: boolean;
  /** One sentence for the learner, naming the values involved. */
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
  /** How long the check took, in milliseconds. */
  readonly elapsedMs?: number;
  /** Measurements the learner made, for the page to draw (and to show as a table). */
  readonly chart?: Chart;
}

/** A line chart: one line per series, x and y numeric. */
export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly { readonly name: string; readonly points: readonly { readonly x: number; readonly y: number }[] }[];
}

export type PreflightState = 'starting' | 'ready' | 'failed';

export interface ServerStatus {
  readonly state: PreflightState;
  /** What the server is doing now, or what the operator must do, in one or two sentences. */
  readonly message: string;
  /** Completed and running preflight steps, for progress display. */
  readonly progress: readonly string[];
  readonly engine?: { readonly dockerHost: string; readonly serverVersion?: string; readonly kernel?: string; readonly ipvs?: boolean };
  /** Whether anyone may start a session; false: only with a workshop's join code. */
  readonly openSessions?: boolean;
}

export interface ApiError {
  readonly error: string;
}

// ---- workshops (docs/api.md, "Workshops") -------------------------------------------------------

/** `POST /api/workshops` (instructor). */
export interface WorkshopCreateRequest {
  readonly lab: string;
  readonly title?: string;
  /** Most learners at once; 1 to the server's session cap. */
  readonly seats: number;
  /** Sessions kept started for learners who join; 0 to seats. */
  readonly warm?: number;
  /** Ends the workshop (and removes every learner's containers) this many minutes after creation; learners are warned before. */
  readonly minutes?: number;
}

export interface WorkshopCreated {
  readonly id: string;
  /** What learners type on the landing page: six characters, no look-alikes. */
  readonly code: string;
  /** Absolute link learners open to join (uses IPVS_LAB_PUBLIC_URL when set). */
  readonly joinUrl: string;
  readonly lab: string;
  readonly title: string;
  readonly seats: number;
  readonly warm: number;
  /** When the workshop ends by itself (ms since the epoch), if it was given minutes. */
  readonly endsAt?: number;
}

/** `GET /api/workshops/by-code/:code` (anyone): what a join page shows before asking for a name. */
export interface WorkshopPublic {
  readonly code: string;
  readonly title: string;
  readonly lab: string;
  readonly labTitle: string;
  readonly seats: number;
  readonly taken: number;
  readonly endsAt?: number;
}

/** `POST /api/workshops/join`. */
export interface WorkshopJoinRequest {
  readonly code: string;
  readonly name: string;
}

/** The same shape as `POST /api/sessions`, plus the workshop. */
export interface WorkshopJoined extends SessionCreated {
  readonly workshop: string;
}

export interface LearnerStep {
  readonly id: string;
  readonly passed: boolean;
  /** When it first passed (ms since the epoch). */
  readonly passedAt?: number;
  /** The message of the last check of this step, passed or not. */
  readonly lastMessage?: string;
  /** Checks of this step that failed since it last passed (or ever, if it never did). */
  readonly failures: number;
  readonly lastCheckedAt?: number;
  /** Hints of this challenge step the learner revealed; absent when none. */
  readonly hints?: number;
}

export interface LearnerView {
  readonly name: string;
  readonly sessionId: string;
  /** The first step not passed; undefined when every step has passed. */
  readonly currentStep: string | undefined;
  /** Seconds since the learner last did anything (typed, ran a check, loaded the page). */
  readonly idleSeconds: number;
  readonly joinedAt: number;
  /** Why the learner looks stuck, in one sentence; undefined when they do not. */
  readonly stuck?: string;
  /** Whether the learner's session is live; an ended one says why. */
  readonly state: 'live' | 'ended';
  readonly endedReason?: string;
  readonly steps: readonly LearnerStep[];
}

/** `GET /api/workshops/:id` (instructor): what it was created with, and everyone's progress. */
export interface WorkshopView extends Omit<WorkshopCreated, 'warm'> {
  readonly createdAt: number;
  readonly warm: { readonly wanted: number; readonly ready: number };
  readonly steps: readonly { readonly id: string; readonly title: string }[];
  /** Per step: how many learners have passed it. */
  readonly totals: Readonly<Record<string, number>>;
  readonly learners: readonly LearnerView[];
}

/** `GET /api/workshops` (instructor): the live workshops. */
export interface WorkshopSummary {
  readonly id: string;
  readonly code: string;
  readonly title: string;
  readonly lab: string;
  readonly seats: number;
  readonly learners: number;
  readonly createdAt: number;
  readonly endsAt?: number;
}

/** Data of one `GET /api/workshops/:id/events` event; the SSE event name is `type`. */
export type WorkshopEvent =
  | { readonly type: 'join'; readonly at: number; readonly name: string; readonly sessionId: string; readonly warm: boolean }
  | {
      readonly type: 'check';
      readonly at: number;
      readonly name: string;
      readonly sessionId: string;
      readonly step: string;
      readonly passed: boolean;
      readonly message: string;
    }
  | { readonly type: 'hint'; readonly at: number; readonly name: string; readonly sessionId: string; readonly step: string; readonly revealed: number }
  | { readonly type: 'reset'; readonly at: number; readonly name: string; readonly sessionId: string; readonly keptProgress: boolean }
  | { readonly type: 'removed'; readonly at: number; readonly name: string; readonly sessionId: string; readonly reason: string }
  | { readonly type: 'pool'; readonly at: number; readonly wanted: number; readonly ready: number }
  | { readonly type: 'ended'; readonly at: number };

/** `POST /api/workshops/:id/learners/:sessionId/reset` body. */
export interface LearnerResetRequest {
  /** Keep the steps already passed (default true). */
  readonly keepProgress?: boolean;
}

/** What a learner's page learns of its session beyond the lab: its workshop and when it would be removed. */
export interface SessionLimits {
  /** Minutes without activity after which the server removes the session. */
  readonly idleMinutes: number;
  readonly workshop?: { readonly id: string; readonly title: string; readonly name: string; readonly endsAt?: number };
}

// ---- the live IPVS panel: GET /api/sessions/:id/ipvs (text/event-stream) ----------------------

/** Counters of `ipvsadm -Ln --stats --exact`, since the service or real server was added. */
export interface IpvsPanelCounters {
  readonly conns: number;
  readonly inPackets: number;
  readonly outPackets: number;
  readonly inBytes: number;
  readonly outBytes: number;
}

export interface IpvsPanelRealServer {
  /** `10.200.0.3:80`, `[::2]:80`: what the page matches rows (and connections) by. */
  readonly endpoint: string;
  /** The session host at that address, when one is (`nginx-1`). */
  readonly host?: string;
  /** As the kernel spells it: Masq is NAT (-m), Route is direct routing (-g), Tunnel is IPIP (-i). */
  readonly forward: 'Masq' | 'Route' | 'Tunnel' | 'Local';
  /** 0 is quiesced: no new connections. */
  readonly weight: number;
  readonly activeConns: number;
  readonly inactiveConns: number;
  /** Absent when the counters could not be read in the same pass. */
  readonly stats?: IpvsPanelCounters;
}

/** One connection of the kernel's IPVS connection table (`ipvsadm -Lnc`). */
export interface IpvsPanelConnection {
  /** The real server that took it: an `IpvsPanelRealServer.endpoint`. */
  readonly server: string;
  /** `address:port` of the client. */
  readonly client: string;
  /** TCP state as the kernel names it (ESTABLISHED, TIME_WAIT, FIN_WAIT, ...). */
  readonly state: string;
}

export interface IpvsPanelService {
  /** `TCP 10.200.0.2:80`, `FWM 7`: as ipvsadm names the service, and the key the page matches it by. */
  readonly key: string;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP' | 'FWM';
  readonly scheduler: string;
  /** `sh-port`, `mh-fallback`, `ops`…; empty when none. */
  readonly schedulerFlags: readonly string[];
  /** `-p` in seconds, when the service is persistent. */
  readonly persistentSeconds?: number;
  /** Sorted by address, as `ipvsadm -Ln` lists them. */
  readonly realServers: readonly IpvsPanelRealServer[];
  readonly stats?: IpvsPanelCounters;
  /**
   * The real server of each of the service's last connections, oldest first (at most
   * `IPVS_PANEL_RECENT`). New connections are taken from each read of the connection table;
   * those that arrived between two reads are ordered by the kernel's expiry and the client port.
   */
  readonly recent: readonly IpvsPanelConnection[];
  /** Persistence templates in the connection table: clients pinned to a real server. */
  readonly templates: number;
}

/** How many connections `IpvsPanelService.recent` keeps. */
export const IPVS_PANEL_RECENT = 20;

/** One reading of the director's IPVS table. */
export interface IpvsPanelTable {
  readonly type: 'table';
  /** The host it was read in. */
  readonly host: string;
  /** When it was read (ms since the epoch). */
  readonly at: number;
  readonly services: readonly IpvsPanelService[];
  /** Services the kernel has beyond those listed: the panel shows the first ones only. */
  readonly moreServices: number;
  /** The connection table was longer than the panel reads, so `recent` misses some connections. */
  readonly connectionsTruncated: boolean;
}

/** The table cannot be read now (the host is restarting, the engine has no IPVS); the message says why. */
export interface IpvsPanelUnavailable {
  readonly type: 'unavailable';
  readonly host: string;
  readonly at: number;
  readonly message: string;
}

/** Data of one `GET /api/sessions/:id/ipvs` event; the SSE event name is `type`. */
export type IpvsPanelEvent = IpvsPanelTable | IpvsPanelUnavailable;
