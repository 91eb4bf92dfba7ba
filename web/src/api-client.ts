import type {
  ApiError,
  ChallengeHints,
  CheckResult,
  LabSummary,
  ServerStatus,
  SessionCreated,
  SessionState,
  TerminalTicket,
  WorkshopCreated,
  WorkshopCreateRequest,
  WorkshopJoined,
  WorkshopPublic,
  WorkshopSummary,
  WorkshopView,
} from '../../common/api.js';

/** An API call that failed; `message` is the server's own explanation. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: string, url: string, token?: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiCallError(res.status, `${method} ${url} answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) throw new ApiCallError(res.status, (parsed as ApiError).error ?? `${method} ${url} answered ${res.status}`);
  return parsed as T;
}

/** A downloaded file: its bytes and the name the server suggests. */
export interface Download {
  readonly blob: Blob;
  readonly filename: string;
}

async function download(url: string, token: string, fallbackName: string): Promise<Download> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) {
    const text = await res.text();
    let message = `GET ${url} answered ${res.status}`;
    try {
      message = (JSON.parse(text) as ApiError).error ?? message;
    } catch {
      // Not JSON: keep the status line.
    }
    throw new ApiCallError(res.status, message);
  }
  const named = /filename="?([^";]+)"?/i.exec(res.headers.get('content-disposition') ?? '')?.[1];
  return { blob: await res.blob(), filename: named ?? fallbackName };
}

const workshopUrl = (id: string) => `/api/workshops/${encodeURIComponent(id)}`;
const learnerUrl = (id: string, sessionId: string) => `${workshopUrl(id)}/learners/${encodeURIComponent(sessionId)}`;

export const api = {
  status: () => call<ServerStatus>('GET', '/api/status'),
  labs: () => call<LabSummary[]>('GET', '/api/labs'),
  createSession: (lab: string) => call<SessionCreated>('POST', '/api/sessions', undefined, { lab }),
  session: (id: string, token: string) => call<SessionState>('GET', `/api/sessions/${encodeURIComponent(id)}`, token),
  ticket: (id: string, token: string) => call<TerminalTicket>('POST', `/api/sessions/${encodeURIComponent(id)}/terminal-tickets`, token),
  check: (id: string, token: string, stepId: string) =>
    call<CheckResult>('POST', `/api/sessions/${encodeURIComponent(id)}/steps/${encodeURIComponent(stepId)}/check`, token),
  /** Reveals one more hint of a challenge step; answers every hint revealed so far (the same again after the last). */
  hint: (id: string, token: string, stepId: string) =>
    call<ChallengeHints>('POST', `/api/sessions/${encodeURIComponent(id)}/steps/${encodeURIComponent(stepId)}/hints`, token),

  // ---- workshops: learners ----
  workshopByCode: (code: string) => call<WorkshopPublic>('GET', `/api/workshops/by-code/${encodeURIComponent(code)}`),
  /** With the token of an earlier join, the same name comes back to the same session (200 rather than 201). */
  joinWorkshop: (code: string, name: string, token?: string) => call<WorkshopJoined>('POST', '/api/workshops/join', token, { code, name }),

  // ---- workshops: instructor (`secret` is the instructor's secret) ----
  workshops: (secret: string) => call<WorkshopSummary[]>('GET', '/api/workshops', secret),
  createWorkshop: (secret: string, request: WorkshopCreateRequest) => call<WorkshopCreated>('POST', '/api/workshops', secret, request),
  workshop: (secret: string, id: string) => call<WorkshopView>('GET', workshopUrl(id), secret),
  endWorkshop: (secret: string, id: string) => call<void>('DELETE', workshopUrl(id), secret),
  results: (secret: string, id: string) => download(`${workshopUrl(id)}/results.csv`, secret, `workshop-${id}-results.csv`),
  resetLearner: (secret: string, id: string, sessionId: string, keepProgress: boolean) =>
    call<void>('POST', `${learnerUrl(id, sessionId)}/reset`, secret, { keepProgress }),
  removeLearner: (secret: string, id: string, sessionId: string) => call<void>('DELETE', learnerUrl(id, sessionId), secret),
  mirrorTicket: (secret: string, id: string, sessionId: string) => call<TerminalTicket>('POST', `${learnerUrl(id, sessionId)}/terminal-tickets`, secret),
  /** Where the read-only mirror of a learner's terminal is opened, with a ticket from `mirrorTicket`. */
  mirrorSocketUrl: (id: string, sessionId: string, ticket: string) =>
    `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${learnerUrl(id, sessionId)}/terminal?ticket=${encodeURIComponent(ticket)}`,
};
