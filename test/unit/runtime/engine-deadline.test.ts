/**
 * A hung engine must fail a call with its name, not hang it: a real dockerode client against a
 * real socket that accepts requests and answers some of them never.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Dockerode from 'dockerode';
import { EngineTimeoutError, withCallDeadline } from '../../../server/src/runtime/docker/engine.js';

describe('withCallDeadline', () => {
  let server: http.Server;
  let docker: Dockerode;
  const pending: http.ServerResponse[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      // The "engine" answers the list of networks and never anything else.
      if (req.url?.includes('/networks')) {
        res.setHeader('Content-Type', 'application/json');
        res.end('[]');
        return;
      }
      pending.push(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    docker = new Dockerode({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, protocol: 'http' });
    withCallDeadline(docker, 300);
    withCallDeadline(docker, 300); // a second install (Engine.connect runs again) must not stack
  });
  after(() => {
    for (const res of pending) res.destroy();
    server.close();
  });

  it('fails a call the engine never answers, naming the call and the deadline', { timeout: 5000 }, async () => {
    const started = Date.now();
    const error = await docker
      .getContainer('abc123')
      .remove({ force: true })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const took = Date.now() - started;
    assert.ok(error instanceof EngineTimeoutError, `expected EngineTimeoutError, got ${String(error)}`);
    assert.match(error.message, /^the Docker engine did not answer DELETE \/containers\/abc123 within 0\.3 s$/);
    assert.ok(took >= 290 && took < 2000, `failed after ${took} ms`);
  });

  it('leaves a call the engine answers in time alone', async () => {
    assert.deepEqual(await docker.listNetworks(), []);
  });

  it('leaves a caller that brings its own abort signal alone', async () => {
    const controller = new AbortController();
    const call = docker.listContainers({ abortSignal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof Error && !(error instanceof EngineTimeoutError), `the caller's own abort: ${String(error)}`);
  });
});
