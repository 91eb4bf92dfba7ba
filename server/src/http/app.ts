import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { CheckResult, LabSummary, ServerStatus, SessionCreated, TerminalTicket } from '../../../common/api.js';
import { HttpError } from '../http-error.js';
import type { Lab } from '../labs/lab.js';
import type { Logger } from '../logger.js';
import type { SessionManager } from '../sessions/session-manager.js';
import { openEventStream } from './event-stream.js';
import { hostAllowed, hostRefusal, originAllowed, type HostPolicy } from './host-guard.js';
import { abandonSignal, bearerToken, routeParam } from './request-parts.js';
import { TICKET_LIFETIME_MS, type TerminalTickets } from './terminal-tickets.js';
import { workshopRoutes } from './workshop-routes.js';
import type { InstructorSecret } from '../workshops/instructor-secret.js';
import type { WorkshopManager } from '../workshops/workshop-manager.js';

export interface AppOptions {
  readonly labs: readonly Lab[];
  readonly status: () => ServerStatus;
  /** Undefined until preflight has passed. */
  readonly sessions: () => SessionManager | undefined;
  readonly tickets: TerminalTickets;
  readonly hosts: HostPolicy;
  /** Built page assets (esbuild output) and the HTML templates. */
  readonly webDist: string;
  readonly log: Logger;
  /** Undefined until preflight has passed. */
  readonly workshops: () => WorkshopManager | undefined;
  readonly instructor: InstructorSecret;
  /** Whether anyone may start a session without a join code (IPVS_LAB_OPEN_SESSIONS). */
  readonly openSessions: boolean;
  /** IPVS_LAB_PUBLIC_URL, or empty. */
  readonly publicUrl: string;
}

/** IPVS panels open at once on one session: each page is one reader of the same feed. */
const MAX_PANEL_STREAMS = 8;

/**
 * xterm.js writes its theme into a <style> element, so styles need 'unsafe-inline'; scripts,
 * frames, forms and everything else are held to this origin.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(res: Response): void {
  res.set({
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
  });
}

/** Builds the express app: the JSON API, the learner's pages and the static assets. */
export function createApp(options: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  // Before routing: a refused Host or Origin never reaches a route, not even a 404.
  app.use((req: Request, res: Response, next: NextFunction) => {
    securityHeaders(res);
    if (!hostAllowed(req.headers.host, options.hosts)) throw new HttpError(403, hostRefusal('Host', req.headers.host));
    // A browser sends Origin with every cross-site write: a page elsewhere must not start sessions here.
    const origin = req.headers.origin;
    if (origin !== undefined && req.method !== 'GET' && req.method !== 'HEAD' && !originAllowed(origin, options.hosts))
      throw new HttpError(403, hostRefusal('Origin', origin));
    next();
  });
  app.use(express.json({ limit: '16kb' }));

  const summaries: LabSummary[] = options.labs.map((l) => ({
    id: l.id,
    title: l.title,
    summary: l.summary,
    steps: l.steps.length,
    ...(l.minutes !== undefined && { minutes: l.minutes }),
    challenges: l.steps.filter((s) => s.challenge).length,
    hosts: l.hosts.map((h) => h.name),
  }));
  const readySessions = (): SessionManager => {
    const sessions = options.sessions();
    if (!sessions) throw new HttpError(503, options.status().message);
    return sessions;
  };
  const authenticated = (req: Request) => readySessions().authenticate(routeParam(req, 'id'), bearerToken(req.get('authorization')));

  app.get('/api/status', (_req, res) => {
    const status: ServerStatus = { ...options.status(), openSessions: options.openSessions };
    res.json(status);
  });

  app.get('/api/labs', (_req, res) => {
    res.json(summaries);
  });

  app.post('/api/sessions', async (req, res) => {
    if (!options.openSessions)
      throw new HttpError(
        403,
        'this server starts sessions only for workshop learners: join with the code your instructor gave you (its operator can open it to everyone with IPVS_LAB_OPEN_SESSIONS=true)',
      );
    const lab: unknown = (req.body as Record<string, unknown> | undefined)?.lab;
    if (typeof lab !== 'string' || lab === '') throw new HttpError(400, 'send {"lab": "<lab id>"}; GET /api/labs lists them');
    if (!summaries.some((s) => s.id === lab)) throw new HttpError(404, `no lab ${JSON.stringify(lab)}; labs: ${summaries.map((s) => s.id).join(', ')}`);
    const { session, token } = await readySessions().create(lab, abandonSignal(res));
    const body: SessionCreated = { id: session.id, token, lab, url: `/s/${session.id}?token=${encodeURIComponent(token)}` };
    res.status(201).json(body);
  });

  app.get('/api/sessions/:id', (req, res) => {
    const session = authenticated(req);
    session.touch();
    res.json(session.state());
  });

  app.post('/api/sessions/:id/terminal-tickets', (req, res) => {
    const session = authenticated(req);
    const body: TerminalTicket = { ticket: options.tickets.issue(session.id), expiresInSeconds: TICKET_LIFETIME_MS / 1000 };
    res.status(201).json(body);
  });

  app.post('/api/sessions/:id/steps/:stepId/check', async (req, res) => {
    const session = authenticated(req);
    const result: CheckResult | undefined = await session.check(routeParam(req, 'stepId'));
    if (!result)
      throw new HttpError(
        404,
        `no step ${JSON.stringify(routeParam(req, 'stepId'))} in lab ${session.lab.id}; steps: ${session.lab.steps.map((s) => s.id).join(', ')}`,
      );
    options.log.info('check', { sessionId: session.id, step: routeParam(req, 'stepId'), passed: result.passed, ms: result.elapsedMs });
    res.json(result);
  });

  app.post('/api/sessions/:id/steps/:stepId/hints', (req, res) => {
    const session = authenticated(req);
    const stepId = routeParam(req, 'stepId');
    const hints = session.revealHint(stepId);
    if (!hints) {
      const challenges = session.lab.steps.filter((s) => s.challenge).map((s) => s.id);
      throw new HttpError(
        404,
        `step ${JSON.stringify(stepId)} of lab ${session.lab.id} is not a challenge with hints; ${challenges.length ? `challenges: ${challenges.join(', ')}` : 'it has none'}`,
      );
    }
    options.log.info('hint', { sessionId: session.id, step: stepId, revealed: hints.revealed.length, of: hints.hints });
    res.json(hints);
  });

  app.get('/api/sessions/:id/ipvs', (req, res) => {
    const session = authenticated(req);
    const feed = session.ipvsPanel();
    if (!feed) throw new HttpError(404, `lab ${session.lab.id} programs no IPVS table, so it has no IPVS panel`);
    if (feed.subscribers >= MAX_PANEL_STREAMS)
      throw new HttpError(429, `${MAX_PANEL_STREAMS} IPVS panels of this session are open already; close one in another tab`);
    const stream = openEventStream(res);
    // After the headers: a feed that is running sends its last reading at once.
    const subscription = feed.subscribe({ event: (e) => stream.send(e), ended: () => stream.end() });
    stream.onClose(() => subscription.dispose());
  });

  app.delete('/api/sessions/:id', async (req, res) => {
    const session = authenticated(req);
    options.tickets.revoke(session.id);
    await readySessions().delete(session.id);
    res.status(204).end();
  });

  workshopRoutes(app, {
    workshops: options.workshops,
    instructor: options.instructor,
    tickets: options.tickets,
    publicUrl: options.publicUrl,
    notReady: () => options.status().message,
    log: options.log,
  });

  app.use('/api', (req) => {
    throw new HttpError(404, `no API route ${req.method} ${req.path}`);
  });

  // ---- pages --------------------------------------------------------------------------------------
  const page = (name: string) => {
    const file = path.join(options.webDist, name);
    if (!existsSync(file)) throw new Error(`the page ${name} is not built in ${options.webDist}: run npm run build`);
    return readFileSync(file, 'utf8');
  };

  app.get('/', (_req, res) => {
    res.type('html').send(page('index.html'));
  });

  app.get('/instructor', (_req, res) => {
    res.type('html').send(page('instructor.html'));
  });

  app.get('/join/:code', (_req, res) => {
    res.type('html').send(page('join.html'));
  });

  app.get('/s/:id', (req, res) => {
    const sessions = options.sessions();
    if (!sessions) {
      res.status(503).type('html').send(errorPage('The lab server is not ready', options.status().message));
      return;
    }
    // With a token in the link, a wrong or stale link gets a clear page at once. Without one (the
    // page removed it from the address bar), the page uses the token it kept and explains itself.
    const token = typeof req.query.token === 'string' ? req.query.token : undefined;
    if (token !== undefined) {
      try {
        sessions.authenticate(routeParam(req, 'id'), token);
      } catch (e) {
        if (!(e instanceof HttpError)) throw e;
        const title = e.status === 403 ? 'This link is not valid for this session' : 'This lab session does not exist any more';
        res.status(e.status).type('html').send(errorPage(title, e.message));
        return;
      }
    }
    res.type('html').send(page('session.html'));
  });

  app.use('/assets', express.static(path.join(options.webDist, 'assets'), { fallthrough: false, maxAge: '1h' }));

  app.use((req: Request, res: Response) => {
    res
      .status(404)
      .type('html')
      .send(errorPage('Page not found', `Nothing lives at ${req.path}.`));
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, message } = publicError(err);
    if (status >= 500) {
      const reference = randomBytes(4).toString('hex');
      options.log.error('request failed', {
        reference,
        method: req.method,
        path: req.path,
        status,
        error: (err as Error).message,
        stack: (err as Error).stack,
      });
      if (!(err instanceof HttpError)) return reply(req, res, status, `${message} (reference ${reference} in the server's log)`);
    }
    reply(req, res, status, message);
  });

  return app;
}

/**
 * What a client may learn of an error: an HttpError's own message, express's 4xx answers (bad
 * JSON, bad URL escapes), and for everything else only that it failed, with no internals.
 */
function publicError(err: unknown): { status: number; message: string } {
  if (err instanceof HttpError) return { status: err.status, message: err.message };
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.parse.failed') return { status, message: `the request body is not valid JSON: ${(err as Error).message}` };
    if (type === 'entity.too.large') return { status, message: 'the request body is too large (at most 16 KiB)' };
    if (err instanceof URIError) return { status: 400, message: 'the address has a malformed %-escape' };
    return { status, message: (err as Error).message };
  }
  if (err instanceof URIError) return { status: 400, message: 'the address has a malformed %-escape' };
  return { status: 500, message: 'the server failed to answer this request' };
}

function reply(req: Request, res: Response, status: number, message: string): void {
  if (res.headersSent) return;
  securityHeaders(res);
  if (req.path.startsWith('/api/')) res.status(status).json({ error: message });
  else
    res
      .status(status)
      .type('html')
      .send(errorPage(status >= 500 ? 'Something went wrong' : 'This request was refused', message));
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A small self-contained page for errors: no stack traces, a way back. */
export function errorPage(title: string, detail: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)} · ipvs-lab</title><link rel="stylesheet" href="/assets/style.css"></head>
<body class="message-page"><main><h1>${escapeHtml(title)}</h1><p class="detail">${escapeHtml(detail)}</p><p><a href="/">Start a new lab session</a></p></main></body></html>`;
}
