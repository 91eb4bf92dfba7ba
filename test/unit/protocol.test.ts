import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  clampSize,
  encode,
  MAX_CLIENT_FRAME_BYTES,
  parseClientMessage,
  parseServerMessage,
  PROTOCOL_VERSION,
  TERMINAL_LIMITS,
  type ClientMessage,
  type ParseResult,
  type ServerMessage,
} from '../../common/protocol.js';
import { prng } from '../utils/prng.js';

/** The error of a result that must have failed; fails the test when it did not. */
function errorOf<T>(result: ParseResult<T>): string {
  assert.equal(result.ok, false, `expected a rejection, got ${JSON.stringify(result)}`);
  if (result.ok) throw new Error('unreachable');
  assert.equal(typeof result.error, 'string');
  assert.notEqual(result.error, '');
  return result.error;
}

function messageOf<T>(result: ParseResult<T>): T {
  if (!result.ok) assert.fail(`expected acceptance, got error ${JSON.stringify(result.error)}`);
  return result.message;
}

describe('parseClientMessage: valid messages', () => {
  it('accepts a bare hello and returns exactly the protocol version', () => {
    assert.deepEqual(messageOf(parseClientMessage('{"type":"hello","version":3}')), { type: 'hello', version: PROTOCOL_VERSION });
  });

  it('accepts hello with resumeFrom, cols and rows, and keeps their values', () => {
    assert.deepEqual(messageOf(parseClientMessage('{"type":"hello","version":3,"resumeFrom":0,"cols":80,"rows":24}')), {
      type: 'hello',
      version: 3,
      resumeFrom: 0,
      cols: 80,
      rows: 24,
    });
    assert.deepEqual(messageOf(parseClientMessage('{"type":"hello","version":3,"resumeFrom":123456}')), { type: 'hello', version: 3, resumeFrom: 123456 });
  });

  it('drops fields the protocol does not know instead of passing them on', () => {
    assert.deepEqual(messageOf(parseClientMessage('{"type":"hello","version":3,"evil":"x"}')), { type: 'hello', version: 3 });
    assert.deepEqual(messageOf(parseClientMessage('{"type":"input","data":"ls\\r","extra":[1]}')), { type: 'input', data: 'ls\r' });
  });

  it('accepts input, including empty data and control characters', () => {
    assert.deepEqual(messageOf(parseClientMessage('{"type":"input","data":""}')), { type: 'input', data: '' });
    assert.deepEqual(messageOf(parseClientMessage(JSON.stringify({ type: 'input', data: '\u0003\u001b[A' }))), { type: 'input', data: '\u0003\u001b[A' });
  });

  it('accepts resize with numbers, leaving clamping to clampSize', () => {
    assert.deepEqual(messageOf(parseClientMessage('{"type":"resize","cols":120,"rows":40}')), { type: 'resize', cols: 120, rows: 40 });
    assert.deepEqual(messageOf(parseClientMessage('{"type":"resize","cols":-3,"rows":0.5}')), { type: 'resize', cols: -3, rows: 0.5 });
  });

  it('accepts a frame of exactly MAX_CLIENT_FRAME_BYTES characters', () => {
    const envelope = '{"type":"input","data":""}';
    const frame = `{"type":"input","data":"${'a'.repeat(MAX_CLIENT_FRAME_BYTES - envelope.length)}"}`;
    assert.equal(frame.length, MAX_CLIENT_FRAME_BYTES);
    assert.equal(messageOf(parseClientMessage(frame)).type, 'input');
  });

  it('round-trips every client message made by encode', () => {
    const messages: ClientMessage[] = [
      { type: 'hello', version: PROTOCOL_VERSION },
      { type: 'hello', version: PROTOCOL_VERSION, resumeFrom: 42, cols: 100, rows: 30 },
      { type: 'input', data: 'ipvsadm -L -n\r' },
      { type: 'resize', cols: 2, rows: 1 },
    ];
    for (const m of messages) assert.deepEqual(messageOf(parseClientMessage(encode(m))), m);
  });
});

describe('parseClientMessage: rejections name the problem', () => {
  it('rejects text that is not JSON, quoting its start', () => {
    assert.match(errorOf(parseClientMessage('')), /not JSON/);
    assert.match(errorOf(parseClientMessage('{"type":')), /not JSON: "\{\\"type\\":"/);
    assert.match(errorOf(parseClientMessage('hello')), /not JSON: "hello"/);
  });

  it('quotes at most 40 characters of a bad frame', () => {
    const error = errorOf(parseClientMessage(`x${'y'.repeat(1000)}`));
    assert.ok(error.includes(JSON.stringify(`x${'y'.repeat(39)}`)), error);
    assert.ok(!error.includes('y'.repeat(40)), error);
  });

  for (const raw of ['null', '[]', '[{"type":"input","data":"x"}]', '42', '"hello"', 'true']) {
    it(`rejects the non-object ${raw}`, () => {
      assert.equal(errorOf(parseClientMessage(raw)), 'frame is not a JSON object');
    });
  }

  it('rejects unknown or missing types, naming them', () => {
    assert.equal(errorOf(parseClientMessage('{"type":"ready","version":3,"offset":0}')), 'unknown message type "ready"');
    assert.equal(errorOf(parseClientMessage('{"type":"HELLO","version":3}')), 'unknown message type "HELLO"');
    assert.equal(errorOf(parseClientMessage('{"type":7}')), 'unknown message type 7');
    assert.equal(errorOf(parseClientMessage('{}')), 'unknown message type undefined');
  });

  it('accepts the terminal a resume belongs to, and refuses anything but a terminal id', () => {
    assert.deepEqual(messageOf(parseClientMessage('{"type":"hello","version":3,"resumeFrom":5,"terminal":"0a1b2c"}')), {
      type: 'hello',
      version: 3,
      resumeFrom: 5,
      terminal: '0a1b2c',
    });
    for (const terminal of ['""', '"XYZ"', '1', 'null', `"${'a'.repeat(65)}"`, '"a b"'])
      assert.match(errorOf(parseClientMessage(`{"type":"hello","version":3,"terminal":${terminal}}`)), /^hello\.terminal must be a terminal id/, terminal);
  });

  it('does not take the type from __proto__', () => {
    assert.equal(errorOf(parseClientMessage('{"__proto__":{"type":"input"},"data":"x"}')), 'unknown message type undefined');
  });

  it('rejects other protocol versions, naming the one sent and the one spoken', () => {
    for (const version of ['0', '1', '2', '4', '"3"', 'null', '3.5']) {
      const error = errorOf(parseClientMessage(`{"type":"hello","version":${version}}`));
      assert.ok(error.includes(`protocol version ${version} is not supported`), error);
      assert.ok(error.includes(`speaks ${PROTOCOL_VERSION}`), error);
    }
    assert.match(errorOf(parseClientMessage('{"type":"hello"}')), /protocol version undefined is not supported/);
  });

  for (const resumeFrom of ['-1', '1.5', '"10"', 'null', 'true', '9007199254740992', '1e400', '[0]']) {
    it(`rejects hello.resumeFrom ${resumeFrom}`, () => {
      const error = errorOf(parseClientMessage(`{"type":"hello","version":3,"resumeFrom":${resumeFrom}}`));
      assert.match(error, /^hello\.resumeFrom must be a non-negative integer, got /);
    });
  }

  it('names the bad resumeFrom value', () => {
    assert.equal(errorOf(parseClientMessage('{"type":"hello","version":3,"resumeFrom":-7}')), 'hello.resumeFrom must be a non-negative integer, got -7');
    assert.equal(errorOf(parseClientMessage('{"type":"hello","version":3,"resumeFrom":2.5}')), 'hello.resumeFrom must be a non-negative integer, got 2.5');
  });

  it('rejects hello sizes that are not finite numbers', () => {
    for (const size of ['"80"', 'null', '1e999', '-1e999', '{}']) {
      assert.equal(errorOf(parseClientMessage(`{"type":"hello","version":3,"cols":${size},"rows":24}`)), 'hello.cols and hello.rows must be numbers', size);
      assert.equal(errorOf(parseClientMessage(`{"type":"hello","version":3,"cols":80,"rows":${size}}`)), 'hello.cols and hello.rows must be numbers', size);
    }
  });

  it('rejects input without string data', () => {
    for (const data of ['5', 'null', '["a"]', '{"s":"a"}']) {
      assert.equal(errorOf(parseClientMessage(`{"type":"input","data":${data}}`)), 'input.data must be a string', data);
    }
    assert.equal(errorOf(parseClientMessage('{"type":"input"}')), 'input.data must be a string');
  });

  it('rejects resize without finite numeric cols and rows, naming what came', () => {
    assert.equal(errorOf(parseClientMessage('{"type":"resize","cols":"80","rows":24}')), 'resize needs numeric cols and rows, got "80" x 24');
    assert.equal(errorOf(parseClientMessage('{"type":"resize","cols":80}')), 'resize needs numeric cols and rows, got 80 x undefined');
    // JSON has no NaN or Infinity: 1e999 parses to Infinity, which is not a size.
    assert.match(errorOf(parseClientMessage('{"type":"resize","cols":1e999,"rows":24}')), /^resize needs numeric cols and rows/);
    assert.match(errorOf(parseClientMessage('{"type":"resize","cols":80,"rows":-1e999}')), /^resize needs numeric cols and rows/);
    assert.equal(errorOf(parseClientMessage('{"type":"resize","cols":NaN,"rows":24}')).startsWith('frame is not JSON'), true);
  });

  it('rejects a frame one character over MAX_CLIENT_FRAME_BYTES before parsing it', () => {
    const envelope = '{"type":"input","data":""}';
    const frame = `{"type":"input","data":"${'a'.repeat(MAX_CLIENT_FRAME_BYTES - envelope.length + 1)}"}`;
    assert.equal(errorOf(parseClientMessage(frame)), `frame of ${MAX_CLIENT_FRAME_BYTES + 1} bytes exceeds the limit of ${MAX_CLIENT_FRAME_BYTES}`);
    // Not even JSON: the size check comes first, so no huge parse is attempted.
    assert.match(errorOf(parseClientMessage('{'.repeat(MAX_CLIENT_FRAME_BYTES * 2))), /exceeds the limit of 65536/);
  });
});

describe('parseClientMessage: fuzz', () => {
  const random = prng(0x1f5);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const alphabet = '{}[]":,0123456789.-+eE truefalsnhloyp\\u\u0000\u00e9\ud83d\ude00\ud800';
  const keys = ['type', 'version', 'resumeFrom', 'cols', 'rows', 'data', '__proto__', 'constructor', ''];
  const types = ['hello', 'input', 'resize', 'ready', 'output', '', 'toString'];

  function randomValue(depth: number): unknown {
    switch (int(depth > 2 ? 6 : 8)) {
      case 0:
        return null;
      case 1:
        return random() < 0.5;
      case 2:
        return pick([0, 1, -1, 1.5, 2 ** 53, -0, 1e308, PROTOCOL_VERSION, int(1000)]);
      case 3:
        return pick(types);
      case 4:
        return Array.from({ length: int(8) }, () => pick(alphabet.split(''))).join('');
      case 5:
        return int(100_000);
      case 6:
        return Array.from({ length: int(4) }, () => randomValue(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = int(5); i > 0; i--) o[pick(keys)] = randomValue(depth + 1);
        if (random() < 0.7) o.type = pick(types);
        return o;
      }
    }
  }

  /** Close to a real message: the right type and fields, each value sometimes of the wrong kind. */
  function nearlyValid(): Record<string, unknown> {
    const field = (good: () => unknown) => (random() < 0.8 ? good() : randomValue(1));
    const o: Record<string, unknown> = { type: pick(['hello', 'input', 'resize']) };
    if (o.type === 'hello') {
      o.version = field(() => PROTOCOL_VERSION);
      if (random() < 0.5) o.resumeFrom = field(() => int(1_000_000));
      if (random() < 0.5) o.cols = field(() => int(1000) - 100);
      if (random() < 0.5) o.rows = field(() => int(1000) - 100);
    } else if (o.type === 'input') {
      o.data = field(() => Array.from({ length: int(20) }, () => pick(alphabet.split(''))).join(''));
    } else {
      o.cols = field(() => random() * 1000 - 100);
      o.rows = field(() => random() * 1000 - 100);
    }
    return o;
  }

  function randomFrame(): string {
    const kind = int(5);
    if (kind === 4) return JSON.stringify(nearlyValid());
    if (kind === 0) return Array.from({ length: int(40) }, () => pick(alphabet.split(''))).join('');
    const json = JSON.stringify(randomValue(0)) ?? 'undefined';
    // Cut or corrupt some of the JSON so the parser also sees near-misses.
    if (kind === 1 && json.length > 0) return json.slice(0, int(json.length));
    if (kind === 2 && json.length > 0) {
      const at = int(json.length);
      return json.slice(0, at) + pick(alphabet.split('')) + json.slice(at + 1);
    }
    return json;
  }

  it('never throws on 5,000 seeded random frames and always answers ok: boolean', () => {
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 5000; i++) {
      const frame = randomFrame();
      let result: ParseResult<ClientMessage>;
      try {
        result = parseClientMessage(frame);
      } catch (e) {
        assert.fail(`parseClientMessage threw on case ${i} ${JSON.stringify(frame)}: ${String(e)}`);
      }
      assert.equal(typeof result.ok, 'boolean', frame);
      if (result.ok) {
        accepted++;
        const m = result.message;
        assert.ok(['hello', 'input', 'resize'].includes(m.type), frame);
        if (m.type === 'hello') assert.equal(m.version, PROTOCOL_VERSION);
        if (m.type === 'input') assert.equal(typeof m.data, 'string');
        if (m.type === 'resize') assert.ok(Number.isFinite(m.cols) && Number.isFinite(m.rows), frame);
        // What was accepted is stable: encoding and parsing it again gives the same message.
        assert.deepEqual(parseClientMessage(encode(m)), result, frame);
      } else {
        rejected++;
        assert.equal(typeof result.error, 'string');
        assert.ok(result.error.length > 0, frame);
      }
    }
    // The generator must reach both outcomes, or the loop proves little.
    assert.ok(accepted > 50, `only ${accepted} frames were accepted`);
    assert.ok(rejected > 1000, `only ${rejected} frames were rejected`);
  });
});

describe('parseServerMessage', () => {
  const messages: ServerMessage[] = [
    { type: 'ready', version: PROTOCOL_VERSION, terminal: 'a1b2c3', offset: 0 },
    { type: 'ready', version: PROTOCOL_VERSION, terminal: 'ffff', offset: 987654 },
    { type: 'output', offset: 12, data: '\u001b[1;32mroot@host\u001b[0m:/# ' },
    { type: 'output', offset: 0, data: '' },
    { type: 'gap', from: 0, to: 4096 },
    { type: 'exit', exitCode: 130, message: 'the shell exited' },
    { type: 'exit', exitCode: 0, message: '' },
    { type: 'error', message: 'protocol version 2 is not supported; this server speaks 1' },
    { type: 'notice', kind: 'idle-warning', message: 'removed at 12:00', at: 1_700_000_000_000 },
    { type: 'notice', kind: 'reset', message: 'fresh containers' },
  ];

  for (const m of messages) {
    it(`round-trips ${encode(m)}`, () => {
      assert.deepEqual(messageOf(parseServerMessage(encode(m))), m);
    });
  }

  it('rejects frames missing the fields of their type', () => {
    assert.equal(errorOf(parseServerMessage('{"type":"ready","version":3}')), 'ready needs version, terminal and offset');
    assert.equal(errorOf(parseServerMessage('{"type":"ready","version":3,"offset":0}')), 'ready needs version, terminal and offset');
    assert.equal(errorOf(parseServerMessage('{"type":"output","offset":"0","data":"x"}')), 'output needs offset and data');
    assert.equal(errorOf(parseServerMessage('{"type":"gap","from":0}')), 'gap needs from and to');
    assert.equal(errorOf(parseServerMessage('{"type":"exit","exitCode":0}')), 'exit needs exitCode and message');
    assert.equal(errorOf(parseServerMessage('{"type":"error"}')), 'error needs message');
    assert.match(errorOf(parseServerMessage('{"type":"notice","kind":"party","message":"x"}')), /^notice needs a kind \(idle-warning, /);
    assert.equal(errorOf(parseServerMessage('{"type":"notice","kind":"reset","message":"x","at":"soon"}')), 'notice.at must be a number');
  });

  it('rejects non-JSON, non-objects and client message types', () => {
    assert.equal(errorOf(parseServerMessage('<html>')), 'frame is not JSON');
    assert.equal(errorOf(parseServerMessage('null')), 'frame is not a JSON object');
    assert.equal(errorOf(parseServerMessage('[]')), 'frame is not a JSON object');
    assert.equal(errorOf(parseServerMessage('{"type":"input","data":"x"}')), 'unknown message type "input"');
  });
});

describe('clampSize', () => {
  const { minCols, maxCols, minRows, maxRows } = TERMINAL_LIMITS;

  it('keeps sizes inside the limits unchanged', () => {
    assert.deepEqual(clampSize(80, 24), { cols: 80, rows: 24 });
    assert.deepEqual(clampSize(minCols, minRows), { cols: minCols, rows: minRows });
    assert.deepEqual(clampSize(maxCols, maxRows), { cols: maxCols, rows: maxRows });
  });

  it('raises zero and negative sizes to the minimum', () => {
    assert.deepEqual(clampSize(0, 0), { cols: 2, rows: 1 });
    assert.deepEqual(clampSize(-80, -24), { cols: 2, rows: 1 });
    assert.deepEqual(clampSize(1, 24), { cols: 2, rows: 24 });
  });

  it('lowers huge sizes to the maximum', () => {
    assert.deepEqual(clampSize(10_000, 10_000), { cols: 500, rows: 200 });
    assert.deepEqual(clampSize(Number.MAX_SAFE_INTEGER, 201), { cols: 500, rows: 200 });
    assert.deepEqual(clampSize(Infinity, -Infinity), { cols: 500, rows: 1 });
  });

  it('rounds fractions down, then clamps', () => {
    assert.deepEqual(clampSize(80.9, 24.99), { cols: 80, rows: 24 });
    assert.deepEqual(clampSize(2.5, 1.5), { cols: 2, rows: 1 });
    assert.deepEqual(clampSize(1.99, 0.5), { cols: 2, rows: 1 });
    assert.deepEqual(clampSize(500.7, 200.7), { cols: 500, rows: 200 });
  });
});

describe('parseClientMessage: the frame limit counts bytes', () => {
  it('refuses a frame under the limit in characters but over it in UTF-8 bytes', () => {
    const data = '€'.repeat(Math.floor(MAX_CLIENT_FRAME_BYTES / 2)); // 3 bytes each in UTF-8
    const result = parseClientMessage(JSON.stringify({ type: 'input', data }));
    assert.equal(result.ok, false);
    assert.match((result as { error: string }).error, /bytes exceeds the limit of 65536/);
  });
});
