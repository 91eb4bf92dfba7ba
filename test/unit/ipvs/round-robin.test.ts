import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { judgeRoundRobin } from '../../../server/src/ipvs/round-robin.js';
import { capturedSchedule } from '../../utils/fixtures.js';

const realSequence = capturedSchedule;

const TWO = ['nginx-1', 'nginx-2'];
const THREE = ['nginx-1', 'nginx-2', 'nginx-3'];

describe('judgeRoundRobin on the kernel’s real sequences', () => {
  it('passes the real rr sequence, which starts with the backend added last', () => {
    const sequence = realSequence('rr');
    assert.equal(sequence[0], 'nginx-2');
    const verdict = judgeRoundRobin(sequence, TWO);
    assert.equal(verdict.passed, true);
    assert.deepEqual(verdict.counts, { 'nginx-1': 5, 'nginx-2': 5 });
    assert.deepEqual(verdict.sequence, sequence);
    assert.equal(
      verdict.message,
      'round robin: 10 requests went to nginx-1 and nginx-2 in turn, 5 each ' +
        '(sequence: nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1 nginx-2 nginx-1)',
    );
    // The order the backends are listed in does not matter.
    assert.equal(judgeRoundRobin(sequence, ['nginx-2', 'nginx-1']).passed, true);
  });

  it('fails the quiesced rr sequence: one backend gets everything', () => {
    const verdict = judgeRoundRobin(realSequence('rr (weights 3,0 quiesced)'), TWO);
    assert.equal(verdict.passed, false);
    assert.deepEqual(verdict.counts, { 'nginx-1': 6, 'nginx-2': 0 });
    assert.equal(
      verdict.message,
      'nginx-1 answered 6 of 6 requests and nginx-2 none: only 1 of the 2 backends is receiving traffic ' +
        '(sequence: nginx-1 nginx-1 nginx-1 nginx-1 nginx-1 nginx-1)',
    );
  });

  it('fails wrr 3,1,1: the counts follow the weights', () => {
    const verdict = judgeRoundRobin(realSequence('wrr (weights 3,1,1)'), THREE);
    assert.equal(verdict.passed, false);
    assert.deepEqual(verdict.counts, { 'nginx-1': 6, 'nginx-2': 3, 'nginx-3': 3 });
    assert.match(
      verdict.message,
      /^nginx-1 answered 6 of 12 requests and nginx-2 only 3: round robin shares requests evenly, so the counts should differ by at most 1 \(sequence: nginx-3 nginx-2 nginx-1 nginx-1 /,
    );
  });

  it('fails wrr 3,1', () => {
    const verdict = judgeRoundRobin(realSequence('wrr (weights 3,1)'), TWO);
    assert.equal(verdict.passed, false);
    assert.deepEqual(verdict.counts, { 'nginx-1': 9, 'nginx-2': 3 });
    assert.match(verdict.message, /^nginx-1 answered 9 of 12 requests and nginx-2 only 3: /);
  });

  it('fails lc 3,1,1: one backend never answers', () => {
    const verdict = judgeRoundRobin(realSequence('lc (weights 3,1,1)'), THREE);
    assert.equal(verdict.passed, false);
    assert.deepEqual(verdict.counts, { 'nginx-1': 0, 'nginx-2': 3, 'nginx-3': 9 });
    assert.match(
      verdict.message,
      /^nginx-3 answered 9 and nginx-2 3 of 12 requests, nginx-1 none: only 2 of the 3 backends are receiving traffic \(sequence: nginx-3 nginx-3 /,
    );
  });

  for (const label of ['wlc', 'sed', 'nq', 'sh', 'dh', 'mh', 'lblc', 'lblcr', 'fo', 'ovf']) {
    it(`fails ${label} 3,1,1: a single backend answers`, () => {
      const verdict = judgeRoundRobin(realSequence(`${label} (weights 3,1,1)`), THREE);
      assert.equal(verdict.passed, false);
      assert.match(verdict.message, /^nginx-\d answered 12 of 12 requests and nginx-\d and nginx-\d none: only 1 of the 3 backends is receiving traffic/);
    });
  }
});

describe('judgeRoundRobin on made-up sequences', () => {
  it('fails a backend answering twice in a row even when the counts are even', () => {
    const sequence = ['nginx-1', 'nginx-2', 'nginx-1', 'nginx-2', 'nginx-2', 'nginx-1'];
    const verdict = judgeRoundRobin(sequence, TWO);
    assert.equal(verdict.passed, false);
    assert.equal(
      verdict.message,
      'nginx-2 answered twice in a row (requests 4 and 5): that is not round robin ' + '(sequence: nginx-1 nginx-2 nginx-1 nginx-2 nginx-2 nginx-1)',
    );
  });

  it('reports the first failed request and how many failed', () => {
    const sequence = ['nginx-1', 'nginx-2', 'error:curl: (7) Failed to connect to 172.17.0.2 port 80', 'nginx-2', 'error:timeout'];
    const verdict = judgeRoundRobin(sequence, TWO);
    assert.equal(verdict.passed, false);
    assert.equal(verdict.message, 'request 3 failed: curl: (7) Failed to connect to 172.17.0.2 port 80 (2 of 5 requests failed)');
    assert.deepEqual(verdict.counts, { 'nginx-1': 1, 'nginx-2': 2 });
    assert.equal(judgeRoundRobin(['nginx-1', 'error:reset'], TWO).message, 'request 2 failed: reset');
  });

  it('tells a sender that stopped at a failure apart from failed requests: the rest were not sent', () => {
    const sequence = ['nginx-2', 'nginx-1', 'error:curl: (28) Connection timed out after 2001 milliseconds'];
    const verdict = judgeRoundRobin(sequence, TWO, 12);
    assert.equal(verdict.passed, false);
    assert.equal(
      verdict.message,
      'request 3 of 12 failed (curl: (28) Connection timed out after 2001 milliseconds) after 2 answered; the other 9 were not sent ' +
        '(sequence before it: nginx-2 nginx-1)',
    );
    assert.doesNotMatch(verdict.message, /requests failed/);
    assert.deepEqual(verdict.sequence, sequence, 'no made-up entries for requests that were not sent');
    assert.deepEqual(verdict.counts, { 'nginx-1': 1, 'nginx-2': 1 });
    assert.equal(judgeRoundRobin(['error:refused'], THREE, 6).message, 'request 1 of 6 failed (refused); the other 5 were not sent');
    assert.equal(
      judgeRoundRobin(['nginx-1', 'error:reset'], TWO, 3).message,
      'request 2 of 3 failed (reset) after 1 answered; the last one was not sent (sequence before it: nginx-1)',
    );
  });

  it('still names an earlier problem when the sender stopped at a later failure', () => {
    const verdict = judgeRoundRobin(['nginx-2', 'unknown:nginx 3', 'error:reset'], TWO, 12);
    assert.equal(
      verdict.message,
      'request 3 of 12 failed (reset) after 2 answered; the other 9 were not sent. ' +
        'Before that, request 2 was answered by none of the backends (nginx-1, nginx-2): the reply was "nginx 3"',
    );
  });

  it('reports a body that matched no backend', () => {
    const verdict = judgeRoundRobin(['nginx-2', 'unknown:<html>\n  502 Bad Gateway\n</html>', 'nginx-2'], TWO);
    assert.equal(verdict.passed, false);
    assert.equal(verdict.message, 'request 2 was answered by none of the backends (nginx-1, nginx-2): the reply was "<html> 502 Bad Gateway </html>"');
  });

  it('reports a name that is not one of the backends', () => {
    const verdict = judgeRoundRobin(['nginx-1', 'nginx-2', 'nginx-9'], THREE);
    assert.equal(verdict.passed, false);
    assert.equal(verdict.message, 'request 3 was answered by nginx-9, which is not one of the backends (nginx-1, nginx-2, nginx-3)');
    assert.equal(verdict.counts['nginx-9'], 1);
    assert.equal(verdict.counts['nginx-3'], 0);
  });

  it('passes a single backend answering every request', () => {
    const verdict = judgeRoundRobin(['nginx-1', 'nginx-1', 'nginx-1'], ['nginx-1']);
    assert.equal(verdict.passed, true);
    assert.equal(verdict.message, 'all 3 requests were answered by nginx-1, the only backend (sequence: nginx-1 nginx-1 nginx-1)');
    assert.equal(judgeRoundRobin(['nginx-1', 'error:refused'], ['nginx-1']).passed, false);
  });

  it('passes three backends in turn, counts differing by one', () => {
    const sequence = ['nginx-3', 'nginx-2', 'nginx-1', 'nginx-3', 'nginx-2', 'nginx-1', 'nginx-3'];
    const verdict = judgeRoundRobin(sequence, THREE);
    assert.equal(verdict.passed, true);
    assert.deepEqual(verdict.counts, { 'nginx-1': 2, 'nginx-2': 2, 'nginx-3': 3 });
    assert.match(verdict.message, /^round robin: 7 requests went to nginx-1, nginx-2 and nginx-3 in turn, nginx-1 2, nginx-2 2, nginx-3 3 \(sequence: /);
  });

  it('fails three backends without repeats but with uneven counts', () => {
    const verdict = judgeRoundRobin(['nginx-1', 'nginx-2', 'nginx-1', 'nginx-3', 'nginx-1', 'nginx-2', 'nginx-1', 'nginx-3'], THREE);
    assert.equal(verdict.passed, false);
    assert.match(verdict.message, /^nginx-1 answered 4 of 8 requests and nginx-2 only 2: /);
  });

  it('shortens long sequences in messages', () => {
    const sequence = Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? 'nginx-2' : 'nginx-1'));
    const verdict = judgeRoundRobin(sequence, TWO);
    assert.equal(verdict.passed, true);
    assert.match(verdict.message, /\(sequence: (nginx-2 nginx-1 ){9}nginx-2 nginx-1 …\)$/);
    assert.equal(verdict.sequence.length, 30);
  });
});

describe('judgeRoundRobin errors', () => {
  it('needs at least 2 requests, naming the count', () => {
    assert.throws(() => judgeRoundRobin([], TWO), { name: 'RangeError', message: /at least 2 requests.*got 0/ });
    assert.throws(() => judgeRoundRobin(['nginx-1'], ['nginx-1']), { name: 'RangeError', message: /got 1/ });
  });

  it('needs as many requests as backends', () => {
    assert.throws(() => judgeRoundRobin(['nginx-1', 'nginx-2'], THREE), {
      name: 'RangeError',
      message: /3 backends need at least 3 requests, got 2/,
    });
  });

  it('takes a sequence shorter than the requests only when it ends in the failure that stopped the sender', () => {
    assert.throws(() => judgeRoundRobin(['nginx-1', 'nginx-2', 'nginx-1'], TWO, 2), { name: 'RangeError', message: /3 responses for 2 requests/ });
    assert.throws(() => judgeRoundRobin(['nginx-1', 'nginx-2'], TWO, 12), {
      name: 'RangeError',
      message: /2 of 12 requests were sent, so the last must have failed, but it is "nginx-2"/,
    });
    assert.throws(() => judgeRoundRobin([], TWO, 12), { name: 'RangeError', message: /0 of 12 requests were sent.*"missing"/ });
    assert.throws(() => judgeRoundRobin(['error:refused'], TWO, 1), { name: 'RangeError', message: /at least 2 requests.*got 1/ });
  });

  it('needs backends, each listed once', () => {
    assert.throws(() => judgeRoundRobin(['nginx-1', 'nginx-1'], []), { name: 'RangeError', message: /at least 1 backend/ });
    assert.throws(() => judgeRoundRobin(['nginx-1', 'nginx-2'], ['nginx-1', 'nginx-1']), {
      name: 'RangeError',
      message: /"nginx-1" is listed twice/,
    });
  });
});
