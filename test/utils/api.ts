import type { CheckResult, SessionCreated, SessionState } from '../../common/api.js';

/** A thin typed client of the HTTP API, failing loudly with the server's message. */
export function apiClient(baseUrl: string) {
  async function call<T>(method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(baseUrl + path, {
      method,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }
  return {
    call,
    async createSession(lab: string): Promise<SessionCreated> {
      const r = await call<SessionCreated & { error?: string }>('POST', '/api/sessions', undefined, { lab });
      if (r.status !== 201) throw new Error(`POST /api/sessions answered ${r.status}: ${r.body.error}`);
      return r.body;
    },
    async state(s: SessionCreated): Promise<SessionState> {
      const r = await call<SessionState>('GET', `/api/sessions/${s.id}`, s.token);
      if (r.status !== 200) throw new Error(`GET session answered ${r.status}`);
      return r.body;
    },
    async check(s: SessionCreated, step: string): Promise<CheckResult> {
      const r = await call<CheckResult & { error?: string }>('POST', `/api/sessions/${s.id}/steps/${step}/check`, s.token);
      if (r.status !== 200) throw new Error(`check ${step} answered ${r.status}: ${r.body.error}`);
      return r.body;
    },
    async remove(s: SessionCreated): Promise<number> {
      return (await call('DELETE', `/api/sessions/${s.id}`, s.token)).status;
    },
  };
}
