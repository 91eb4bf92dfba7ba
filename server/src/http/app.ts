import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { CheckResult, LabSummary, ServerStatus, SessionCreated } from '../../../common/api.js';
import type { Lab } from '../labs/lab.js';
import type { Logger } from '../logger.js';
import type { SessionManager } from '../sessions/session-manager.js';
import { HttpError } from './http-error.js';

export interface AppOptions {
  readonly labs: readonly Lab[];
  readonly status: () => ServerStatus;
  /** Undefined until preflight has passed. */
  readonly sessions: () => SessionManager | undefined;
  /** Built page assets (esbuild output) and the HTML templates. */
  readonly webDist: string;
  readonly log: Logger;
}

/** Builds the express app: the JSON API, the learner's pages and the static assets. */
export function createApp(options: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));

  const summaries: LabSummary[] = options.labs.map((l) => ({ id: l.id, title: l.title, summary: l.summary, steps: l.steps.length }));
  const readySessions = (): SessionManager => {
    const sessions = options.sessions();
    if (!sessions) throw new HttpError(503, options.status().message);
    return sessions;
  };
  const bearer = (req: Request): string | undefined => /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
  const param = (req: Request, name: string): string => String(req.params[name] ?? '');

  app.get('/api/status', (_req, res) => {
    res.json(options.status());
  });

  app.get('/api/labs', (_req, res) => {
    res.json(summaries);
  });

  app.post('/api/sessions', async (req, res) => {
    const lab: unknown = (req.body as Record<string, unknown> | undefined)?.lab;
    if (typeof lab !== 'string' || lab === '') throw new HttpError(400, 'send {"lab": "<lab id>"}; GET /api/labs lists them');
    if (!summaries.some((s) => s.id === lab)) throw new HttpError(404, `no lab ${JSON.stringify(lab)}; labs: ${summaries.map((s) => s.id).join(', ')}`);
    const session = await readySessions().create(lab);
    const body: SessionCreated = { id: session.id, token: session.token, lab, url: `/s/${session.id}?token=${encodeURIComponent(session.token)}` };
    res.status(201).json(body);
  });

  app.get('/api/sessions/:id', (req, res) => {
    const session = readySessions().authenticate(param(req, 'id'), bearer(req));
    session.touch();
    res.json(session.state());
  });

  app.post('/api/sessions/:id/steps/:stepId/check', async (req, res) => {
    const session = readySessions().authenticate(param(req, 'id'), bearer(req));
    const result: CheckResult | undefined = await session.check(param(req, 'stepId'));
    if (!result)
      throw new HttpError(
        404,
        `no step ${JSON.stringify(param(req, 'stepId'))} in lab ${session.lab.id}; steps: ${session.lab.steps.map((s) => s.id).join(', ')}`,
      );
    options.log.info('check', { sessionId: session.id, step: param(req, 'stepId'), passed: result.passed, ms: result.elapsedMs });
    res.json(result);
  });

  app.delete('/api/sessions/:id', async (req, res) => {
    const sessions = readySessions();
    const session = sessions.authenticate(param(req, 'id'), bearer(req));
    await sessions.delete(session.id);
    res.status(204).end();
  });

  app.use('/api', (req) => {
    throw new HttpError(404, `no API route ${req.method} ${req.originalUrl}`);
  });

  // ---- pages --------------------------------------------------------------------------------------
  const page = (name: string) => {
    const file = path.join(options.webDist, name);
    if (!existsSync(file)) throw new HttpError(500, `the page ${name} is not built: run npm run build`);
    return readFileSync(file, 'utf8');
  };

  app.get('/', (_req, res) => {
    res.type('html').send(page('index.html'));
  });

  app.get('/s/:id', (req, res) => {
    const sessions = options.sessions();
    if (!sessions) {
      res.status(503).type('html').send(errorPage('The lab server is not ready', options.status().message));
      return;
    }
    const token = typeof req.query.token === 'string' ? req.query.token : undefined;
    try {
      sessions.authenticate(param(req, 'id'), token);
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      const title = e.status === 404 ? 'This lab session does not exist any more' : 'This link is not valid for this session';
      res.status(e.status).type('html').send(errorPage(title, e.message));
      return;
    }
    // The token is in the URL: keep it out of Referer headers to other sites.
    res.set('Referrer-Policy', 'no-referrer').type('html').send(page('session.html'));
  });

  app.use('/assets', express.static(path.join(options.webDist, 'assets'), { fallthrough: false, maxAge: '1h' }));

  app.use((req: Request, res: Response) => {
    res
      .status(404)
      .type('html')
      .send(errorPage('Page not found', `Nothing lives at ${req.path}.`));
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = err instanceof HttpError ? err.status : typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    const message =
      status === 400 && (err as { type?: string }).type === 'entity.parse.failed'
        ? `the request body is not valid JSON: ${(err as Error).message}`
        : (err as Error).message;
    if (status >= 500) options.log.error('request failed', { method: req.method, path: req.path, status, error: message });
    if (res.headersSent) return;
    if (req.path.startsWith('/api/')) res.status(status).json({ error: message });
    else res.status(status).type('html').send(errorPage('Something went wrong', message));
  });

  return app;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A small self-contained page for errors: no stack traces, a way back. */
export function errorPage(title: string, detail: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)} · ipvs-lab</title><link rel="stylesheet" href="/assets/style.css"></head>
<body class="message-page"><main><h1>${escapeHtml(title)}</h1><p class="detail">${escapeHtml(detail)}</p><p><a href="/">Start a new lab session</a></p></main></body></html>`;
}
