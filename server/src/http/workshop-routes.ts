import type express from 'express';
import type { Request, Response } from 'express';
import type { TerminalTicket, WorkshopEvent } from '../../../common/api.js';
import { HttpError } from '../http-error.js';
import type { Logger } from '../logger.js';
import type { InstructorSecret } from '../workshops/instructor-secret.js';
import type { WorkshopManager } from '../workshops/workshop-manager.js';
import { openEventStream } from './event-stream.js';
import { abandonSignal, bearerToken, routeParam } from './request-parts.js';
import { mirrorTicketKey } from './terminal-gateway.js';
import { TICKET_LIFETIME_MS, type TerminalTickets } from './terminal-tickets.js';

export interface WorkshopRouteOptions {
  /** Undefined until preflight has passed. */
  readonly workshops: () => WorkshopManager | undefined;
  readonly instructor: InstructorSecret;
  readonly tickets: TerminalTickets;
  /** IPVS_LAB_PUBLIC_URL, if set: join links use it rather than the address the instructor used. */
  readonly publicUrl: string;
  readonly notReady: () => string;
  readonly log: Logger;
}

/** Event streams open at once, over all workshops: each holds a socket and a listener. */
const MAX_EVENT_STREAMS = 64;

const bearer = (req: Request): string | undefined => bearerToken(req.get('authorization'));

/**
 * The workshop API (docs/api.md, "Workshops"): the instructor's routes, which need the
 * instructor's secret as a Bearer token, and the two a learner uses to join.
 */
export function workshopRoutes(app: express.Express, options: WorkshopRouteOptions): void {
  let streams = 0;
  const ready = (): WorkshopManager => {
    const w = options.workshops();
    if (!w) throw new HttpError(503, options.notReady());
    return w;
  };
  /** Checked before anything else of the request is looked at, so a refusal reveals nothing. */
  const instructor = (req: Request): WorkshopManager => {
    if (!options.instructor.matches(bearer(req)))
      throw new HttpError(
        403,
        "this needs the instructor's secret as Authorization: Bearer <secret> (IPVS_LAB_INSTRUCTOR_TOKEN, or the one printed when the server first started)",
      );
    return ready();
  };
  const origin = (req: Request): string => options.publicUrl || `${req.protocol}://${req.get('host') ?? 'localhost'}`;

  // ---- learners -----------------------------------------------------------------------------------

  app.get('/api/workshops/by-code/:code', (req, res) => {
    res.json(ready().publicInfo(routeParam(req, 'code')));
  });

  app.post('/api/workshops/join', async (req, res) => {
    const body = (req.body ?? {}) as { code?: unknown; name?: unknown };
    const { status, body: joined } = await ready().join(body.code, body.name, bearer(req), abandonSignal(res));
    res.status(status).json(joined);
  });

  // ---- instructor ---------------------------------------------------------------------------------

  app.get('/api/workshops', (req, res) => {
    res.json(instructor(req).list());
  });

  app.post('/api/workshops', (req, res) => {
    const workshops = instructor(req);
    res.status(201).json(workshops.create(req.body, origin(req)));
  });

  app.get('/api/workshops/:id', (req, res) => {
    res.json(instructor(req).view(routeParam(req, 'id'), origin(req)));
  });

  app.get('/api/workshops/:id/results.csv', (req, res) => {
    const { filename, body } = instructor(req).csv(routeParam(req, 'id'));
    res.type('text/csv; charset=utf-8').attachment(filename).send(body);
  });

  app.get('/api/workshops/:id/events', (req: Request, res: Response) => {
    const workshops = instructor(req);
    const id = routeParam(req, 'id');
    if (streams >= MAX_EVENT_STREAMS) throw new HttpError(503, `${MAX_EVENT_STREAMS} event streams are open already; close a dashboard tab`);
    // Subscribing first: an unknown workshop is refused before the stream's headers go out.
    // Workshop events are never sent during subscribe, so `stream` exists by the first one.
    const subscription = workshops.subscribe(id, (event: WorkshopEvent) => {
      stream.send(event);
      if (event.type === 'ended') stream.end();
    });
    streams++;
    const stream = openEventStream(res);
    stream.onClose(() => {
      streams--;
      subscription.dispose();
    });
  });

  app.post('/api/workshops/:id/learners/:sessionId/reset', async (req, res) => {
    const workshops = instructor(req);
    const keep = (req.body as { keepProgress?: unknown } | undefined)?.keepProgress;
    if (keep !== undefined && typeof keep !== 'boolean') throw new HttpError(400, `"keepProgress" must be true or false, got ${JSON.stringify(keep)}`);
    await workshops.reset(routeParam(req, 'id'), routeParam(req, 'sessionId'), keep ?? true);
    res.status(204).end();
  });

  app.post('/api/workshops/:id/learners/:sessionId/terminal-tickets', (req, res) => {
    const workshops = instructor(req);
    const session = workshops.learnerSession(routeParam(req, 'id'), routeParam(req, 'sessionId'));
    const body: TerminalTicket = { ticket: options.tickets.issue(mirrorTicketKey(session.id)), expiresInSeconds: TICKET_LIFETIME_MS / 1000 };
    res.status(201).json(body);
  });

  app.delete('/api/workshops/:id/learners/:sessionId', async (req, res) => {
    await instructor(req).removeLearner(routeParam(req, 'id'), routeParam(req, 'sessionId'));
    res.status(204).end();
  });

  app.delete('/api/workshops/:id', async (req, res) => {
    await instructor(req).end(routeParam(req, 'id'));
    res.status(204).end();
  });
}
