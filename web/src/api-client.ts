import type { ApiError, CheckResult, LabSummary, ServerStatus, SessionCreated, SessionState, TerminalTicket } from '../../common/api.js';

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

export const api = {
  status: () => call<ServerStatus>('GET', '/api/status'),
  labs: () => call<LabSummary[]>('GET', '/api/labs'),
  createSession: (lab: string) => call<SessionCreated>('POST', '/api/sessions', undefined, { lab }),
  session: (id: string, token: string) => call<SessionState>('GET', `/api/sessions/${encodeURIComponent(id)}`, token),
  ticket: (id: string, token: string) => call<TerminalTicket>('POST', `/api/sessions/${encodeURIComponent(id)}/terminal-tickets`, token),
  check: (id: string, token: string, stepId: string) =>
    call<CheckResult>('POST', `/api/sessions/${encodeURIComponent(id)}/steps/${encodeURIComponent(stepId)}/check`, token),
};
