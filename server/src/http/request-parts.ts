import type { Request, Response } from 'express';

/** The token of an `Authorization: Bearer <token>` header, for HTTP routes and WebSocket upgrades alike. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
}

/** A route parameter as text (express leaves a missing one undefined). */
export function routeParam(req: Request, name: string): string {
  return String(req.params[name] ?? '');
}

/**
 * Aborted when the client goes away before the answer (closes the tab, times out): a session
 * started for nobody is then removed at once instead of sitting until the idle sweep.
 */
export function abandonSignal(res: Response): AbortSignal {
  const abandoned = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abandoned.abort(new Error('the client closed the connection'));
  });
  return abandoned.signal;
}
