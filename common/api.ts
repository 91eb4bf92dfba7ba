/**
 * Shapes of the HTTP API (docs/api.md), shared by the server and the page.
 */

export interface LabSummary {
  readonly id: string;
  readonly title: string;
  readonly summary: string;
  readonly steps: number;
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
  /** What a learner would type to complete the step, variables filled in; the page hides it behind "Show solution". */
  readonly solution: readonly string[];
}

export interface SessionState {
  readonly id: string;
  readonly lab: string;
  readonly labTitle: string;
  readonly steps: readonly StepState[];
  readonly variables: Readonly<Record<string, string>>;
}

export interface CheckResult {
  readonly passed: boolean;
  /** One sentence for the learner, naming the values involved. */
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
  /** How long the check took, in milliseconds. */
  readonly elapsedMs?: number;
}

export type PreflightState = 'starting' | 'ready' | 'failed';

export interface ServerStatus {
  readonly state: PreflightState;
  /** What the server is doing now, or what the operator must do, in one or two sentences. */
  readonly message: string;
  /** Completed and running preflight steps, for progress display. */
  readonly progress: readonly string[];
  readonly engine?: { readonly dockerHost: string; readonly serverVersion?: string; readonly kernel?: string; readonly ipvs?: boolean };
}

export interface ApiError {
  readonly error: string;
}
