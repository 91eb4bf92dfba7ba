import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { fillTemplate, findPlaceholders, hostVariableNames, lineOf, TemplateError } from '../../../server/src/labs/template.js';

describe('findPlaceholders', () => {
  it('finds host and lab variables with the index of their {{', () => {
    const text = 'curl {{nginx-1.ip}} and {{ vip }}:80';
    assert.deepEqual(findPlaceholders(text), [
      { name: 'nginx-1.ip', index: 5 },
      { name: 'vip', index: 24 },
    ]);
    assert.equal(text.slice(5, 7), '{{');
    assert.equal(text.slice(24, 26), '{{');
  });

  it('ignores braces that are not placeholders', () => {
    assert.deepEqual(findPlaceholders('{{}} {{a b}} {{a.b.c}} {vip} {{ }} ${HOME} awk {print $1}'), []);
  });

  it('finds repeated names each time', () => {
    assert.deepEqual(
      findPlaceholders('{{vip}}{{vip}}').map((p) => p.index),
      [0, 7],
    );
  });
});

describe('fillTemplate', () => {
  const values = { vip: '172.17.0.2', 'host.ip': '172.17.0.2', 'nginx-1.ip': '10.20.0.11' };

  it('fills every placeholder, with or without inner spaces', () => {
    assert.equal(fillTemplate('ipvsadm -a -t {{vip}}:80 -r {{ nginx-1.ip }}:80 -m', values), 'ipvsadm -a -t 172.17.0.2:80 -r 10.20.0.11:80 -m');
  });

  it('leaves text without placeholders alone', () => {
    assert.equal(fillTemplate('echo ${HOME} {x}', values), 'echo ${HOME} {x}');
  });

  it('does not treat $ patterns in values as replacement patterns', () => {
    assert.equal(fillTemplate('[{{v}}]', { v: "$& $1 $$ $'" }), "[$& $1 $$ $']");
  });

  it('throws a TemplateError naming the unknown variable and listing the known ones, sorted', () => {
    assert.throws(
      () => fillTemplate('curl {{nginx-3.ip}}', values),
      (e: unknown) => {
        assert.ok(e instanceof TemplateError);
        assert.equal(e.name, 'TemplateError');
        assert.equal(e.message, 'unknown variable {{nginx-3.ip}}; known: host.ip, nginx-1.ip, vip');
        return true;
      },
    );
  });

  it('never fills an unknown variable with an empty string', () => {
    assert.throws(() => fillTemplate('{{vip}} {{typo}}', values), /unknown variable \{\{typo\}\}/);
    assert.throws(() => fillTemplate('{{vip}}', {}), { message: 'unknown variable {{vip}}; known: ' });
  });
});

describe('hostVariableNames', () => {
  it('gives each host its .ip variable, in host order', () => {
    assert.deepEqual(hostVariableNames(['host', 'nginx-1', 'nginx-2']), ['host.ip', 'nginx-1.ip', 'nginx-2.ip']);
    assert.deepEqual(hostVariableNames([]), []);
  });
});

describe('lineOf', () => {
  const text = 'first\nsecond\n\nfourth';

  it('counts lines from 1', () => {
    assert.equal(lineOf(text, 0), 1);
    assert.equal(lineOf(text, 4), 1);
  });

  it('puts a newline on the line it ends and the next character on the next line', () => {
    assert.equal(lineOf(text, 5), 1);
    assert.equal(lineOf(text, 6), 2);
    assert.equal(lineOf(text, 13), 3);
    assert.equal(lineOf(text, 14), 4);
  });

  it('stops at the end of the text', () => {
    assert.equal(lineOf(text, text.length), 4);
    assert.equal(lineOf(text, 10_000), 4);
    assert.equal(lineOf('', 3), 1);
  });

  it('agrees with findPlaceholders to locate a placeholder', () => {
    const md = '# Title\n\nSome text.\n\n```sh\ncurl {{nope}}\n```\n';
    const [p] = findPlaceholders(md);
    assert.ok(p);
    assert.equal(lineOf(md, p.index), 6);
  });
});
