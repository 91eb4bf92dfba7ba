import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { problemsOf } from '../../utils/labs.js';

import { formatProblem } from '../../../server/src/labs/lab-error.js';
import { loadLab, loadLabs } from '../../../server/src/labs/lab-loader.js';
import { hasCommandBlock, renderHint, renderStep } from '../../../server/src/labs/render-step.js';
import { TemplateError } from '../../../server/src/labs/template.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fixtures = path.join(repoRoot, 'test', 'fixtures', 'labs');
const options = { containersDir: path.join(repoRoot, 'containers'), relativeTo: repoRoot };
const goodDir = path.join(fixtures, 'challenge-good');
const brokenDir = path.join(fixtures, 'challenge-broken');

const scratch = mkdtempSync(path.join(tmpdir(), 'ipvs-lab-challenge-'));
after(() => rmSync(scratch, { recursive: true, force: true }));


let copies = 0;
/** A copy of challenge-good in the scratch folder, as `name` (or a fresh name), for a test to edit. */
function copyOfGood(name = `copy-${copies++}`, parent = scratch): string {
  const dir = path.join(parent, name);
  cpSync(goodDir, dir, { recursive: true });
  return dir;
}
function edit(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, 'utf8');
  assert.ok(typeof from === 'string' ? text.includes(from) : from.test(text), `${from} is not in ${file}`);
  writeFileSync(file, text.replace(from, to));
}

const fence = (lang: string, body: string) => `\`\`\`${lang}\n${body}\n\`\`\`\n`;
const copyButton = '<button type="button" class="copy" title="Copy to the clipboard">Copy</button>';
const runButton = '<button type="button" class="run" title="Type it into the terminal and press Enter">Run</button>';

describe('loadLab: a challenge step', () => {
  const lab = loadLab(goodDir, options);
  const goal = lab.steps[1]!;

  it('loads challenge-good with no problem and no lint', () => {
    assert.equal(lab.id, 'challenge-good');
    assert.deepEqual(lab.lint, []);
  });

  it('reads order and minutes', () => {
    assert.equal(lab.order, 3);
    assert.equal(lab.minutes, 5);
  });

  it('reads the hints in order, as written, variables unfilled', () => {
    assert.deepEqual(goal.challenge, {
      hints: [
        'A virtual service is added with ipvsadm -A; it needs a protocol, an address and a scheduler.',
        "Add it on the director's own address:\n\n```sh\nipvsadm -A -t {{vip}}:80 -s rr\n```\n",
      ],
    });
  });

  it('keeps the check and the solution of the challenge, like any step', () => {
    assert.equal(goal.id, 'goal');
    assert.equal(goal.readOnly, false);
    assert.deepEqual(goal.checks, [{ kind: 'ipvs-service', host: 'director', service: 'TCP {{vip}}:80', scheduler: 'rr' }]);
    assert.deepEqual(goal.solution, [{ host: 'director', command: 'ipvsadm -A -t {{vip}}:80 -s rr' }]);
  });

  it('gives a step that is not a challenge no challenge field', () => {
    assert.equal('challenge' in lab.steps[0]!, false);
  });

  it('the goal has no command block; the second hint has one', () => {
    assert.equal(hasCommandBlock(goal.markdown), false);
    assert.deepEqual(goal.challenge?.hints.map(hasCommandBlock), [false, true]);
  });
});

describe('loadLab: a broken challenge names file, line and field', () => {
  const problems = problemsOf(brokenDir);
  const yamlFile = 'test/fixtures/labs/challenge-broken/lab.yaml';

  it('reports both problems, and only them', () => {
    assert.equal(problems.length, 2, problems.map(formatProblem).join('\n'));
  });

  it('a challenge without checks', () => {
    assert.deepEqual(
      problems.find((p) => p.field === 'steps[1].challenge'),
      { file: yamlFile, line: 24, field: 'steps[1].challenge', message: 'challenge goal needs checks and cannot be readOnly: a challenge is a goal the server can check' },
    );
  });

  it('an unknown variable in a hint, at the line of that hint', () => {
    assert.deepEqual(
      problems.find((p) => p.field.includes('hints')),
      {
        file: yamlFile,
        line: 27,
        field: 'steps[1].challenge.hints[1]',
        message: 'unknown variable {{client.ip}}; known: director.ip, net.prefix, spare.1, spare.2, spare.3, spare.4, vip',
      },
    );
  });

  it('a challenge marked readOnly, even with a check, as a problem', () => {
    const dir = copyOfGood();
    edit(path.join(dir, 'lab.yaml'), '    file: steps/goal.md\n', '    file: steps/goal.md\n    readOnly: true\n');
    const found = problemsOf(dir, { ...options, relativeTo: scratch });
    assert.deepEqual(
      found.map((p) => [p.field, p.message]),
      [['steps[1].challenge', 'challenge goal needs checks and cannot be readOnly: a challenge is a goal the server can check']],
    );
  });

  it('a challenge without hints, through the schema', () => {
    const dir = copyOfGood();
    edit(path.join(dir, 'lab.yaml'), / {4}challenge:\n {6}hints:\n[\s\S]*?(?= {4}checks:)/, '    challenge:\n      hints: []\n');
    const found = problemsOf(dir, { ...options, relativeTo: scratch });
    assert.deepEqual(
      found.map((p) => p.field),
      ['steps[1].challenge.hints'],
    );
  });
});

describe('loadLab: a challenge that gives commands', () => {
  it('is a lint at the step file field when its markdown has a sh block', () => {
    const dir = copyOfGood('gives-commands');
    appendFileSync(path.join(dir, 'steps', 'goal.md'), `\n${fence('sh', 'ipvsadm -A -t {{vip}}:80 -s rr')}`);
    const lab = loadLab(dir, { ...options, relativeTo: scratch });
    assert.deepEqual(lab.lint, [
      {
        file: 'gives-commands/lab.yaml',
        line: 25,
        field: 'steps[1].file',
        message: 'challenge goal gives commands in steps/goal.md: a challenge states the goal; put commands in its hints, if anywhere',
      },
    ]);
  });

  for (const lang of ['bash', 'shell', 'sh director']) {
    it(`is a lint for a ${lang} block too`, () => {
      const dir = copyOfGood();
      appendFileSync(path.join(dir, 'steps', 'goal.md'), `\n${fence(lang, 'ipvsadm -L -n')}`);
      assert.deepEqual(
        loadLab(dir, { ...options, relativeTo: scratch }).lint.map((p) => p.field),
        ['steps[1].file'],
      );
    });
  }

  it('is not a lint for a block of output', () => {
    const dir = copyOfGood();
    appendFileSync(path.join(dir, 'steps', 'goal.md'), `\n${fence('text', 'TCP  172.17.0.2:80 rr')}`);
    assert.deepEqual(loadLab(dir, { ...options, relativeTo: scratch }).lint, []);
  });

  it('is not a lint in a step that is not a challenge', () => {
    const dir = copyOfGood();
    appendFileSync(path.join(dir, 'steps', 'look.md'), `\n${fence('sh', 'ip -br addr')}`);
    assert.deepEqual(loadLab(dir, { ...options, relativeTo: scratch }).lint, []);
  });
});

describe('renderHint and renderStep', () => {
  const variables = { vip: '172.17.0.2' };
  const hint = loadLab(goodDir, options).steps[1]!.challenge!.hints[1]!;

  it('renderHint renders a sh block as plain code, without Copy or Run, variables filled', () => {
    assert.equal(
      renderHint(hint, variables),
      "<p>Add it on the director's own address:</p>\n<pre><code class=\"language-sh\">ipvsadm -A -t 172.17.0.2:80 -s rr\n</code></pre>\n",
    );
  });

  for (const lang of ['sh', 'bash', 'shell', 'sh director']) {
    it(`renderHint gives a ${lang} block no button and no data-command`, () => {
      const html = renderHint(fence(lang, 'ipvsadm -L -n'), variables);
      assert.ok(!html.includes('<button'), html);
      assert.ok(!html.includes('class="command"'), html);
      assert.ok(!html.includes('data-command'), html);
      assert.ok(!html.includes('data-host'), html);
      assert.match(html, /^<pre><code class="language-\w+">ipvsadm -L -n\n<\/code><\/pre>\n$/);
    });
  }

  it('renderStep renders the same block with Copy and Run', () => {
    assert.equal(
      renderStep(hint, variables),
      "<p>Add it on the director's own address:</p>\n" +
        '<div class="command" data-command="ipvsadm -A -t 172.17.0.2:80 -s rr"><pre><code class="language-sh">ipvsadm -A -t 172.17.0.2:80 -s rr</code></pre>' +
        `<div class="command-actions">${copyButton}${runButton}</div></div>\n`,
    );
  });

  it('renderStep after renderHint, and the other way round, each keep their own kind of block', () => {
    const block = fence('sh', 'ls');
    for (let i = 0; i < 2; i++) {
      assert.ok(!renderHint(block, {}).includes('<button'));
      assert.ok(renderStep(block, {}).includes(runButton));
    }
  });

  it('renderHint escapes HTML and fills variables in prose too', () => {
    assert.equal(renderHint('Use `{{vip}}` <b>now</b>.', variables), '<p>Use <code>172.17.0.2</code> &lt;b&gt;now&lt;/b&gt;.</p>\n');
    assert.equal(renderHint(fence('sh', 'echo "<b>"'), {}), '<pre><code class="language-sh">echo &quot;&lt;b&gt;&quot;\n</code></pre>\n');
  });

  it('renderHint throws on an unknown variable, as renderStep does', () => {
    assert.throws(() => renderHint('curl {{nope}}', variables), TemplateError);
  });
});

describe('hasCommandBlock', () => {
  it('finds sh, bash and shell blocks, with or without a host after the language', () => {
    for (const lang of ['sh', 'bash', 'shell', 'sh client', 'bash title="x"']) assert.equal(hasCommandBlock(`# T\n\n${fence(lang, 'ls')}`), true, lang);
  });

  it('finds one among other blocks', () => {
    assert.equal(hasCommandBlock(`${fence('text', 'out')}\n${fence('sh', 'ls')}`), true);
  });

  it('finds none in prose, inline code, indented code or blocks of other languages', () => {
    for (const md of ['Run `ipvsadm -L -n`.', '    ipvsadm -L -n\n', fence('', 'ls'), fence('text', 'ls'), fence('console', '$ ls'), fence('SH', 'ls'), fence('shx', 'ls'), '']) {
      assert.equal(hasCommandBlock(md), false, JSON.stringify(md));
    }
  });
});

describe('loadLabs: order, then id', () => {
  /** A labs folder holding a copy of challenge-good for each name, with that `order` (undefined: none). */
  function labsFolder(orders: Record<string, number | undefined>): string {
    const dir = mkdtempSync(path.join(scratch, 'labs-'));
    for (const [name, order] of Object.entries(orders)) {
      const lab = copyOfGood(name, dir);
      edit(path.join(lab, 'lab.yaml'), /^order: 3\n/m, order === undefined ? '' : `order: ${order}\n`);
    }
    return dir;
  }

  it('sorts three labs by order, and two of the same order by id', () => {
    const dir = labsFolder({ 'b-third': 3, 'c-first': 1, 'a-second': 3 });
    const { labs, errors } = loadLabs(dir, { ...options, relativeTo: dir });
    assert.deepEqual(errors, []);
    assert.deepEqual(
      labs.map((l) => [l.id, l.order, l.minutes]),
      [
        ['c-first', 1, 5],
        ['a-second', 3, 5],
        ['b-third', 3, 5],
      ],
    );
  });

  it('puts order 0 first and a lab without order last (order 1000)', () => {
    const dir = labsFolder({ 'a-unordered': undefined, 'b-zero': 0, 'c-middle': 500 });
    const { labs } = loadLabs(dir, { ...options, relativeTo: dir });
    assert.deepEqual(
      labs.map((l) => [l.id, l.order]),
      [
        ['b-zero', 0],
        ['c-middle', 500],
        ['a-unordered', 1000],
      ],
    );
  });

  it('keeps a broken lab out of the order, reporting it beside the others', () => {
    const dir = labsFolder({ 'a-lab': 2, 'b-lab': 1 });
    cpSync(brokenDir, path.join(dir, 'c-broken'), { recursive: true });
    const { labs, errors } = loadLabs(dir, { ...options, relativeTo: dir });
    assert.deepEqual(
      labs.map((l) => l.id),
      ['b-lab', 'a-lab'],
    );
    assert.deepEqual(
      errors.map((e) => e.problems.map((p) => `${p.file}:${p.line}:${p.field}`)),
      [['c-broken/lab.yaml:27:steps[1].challenge.hints[1]', 'c-broken/lab.yaml:24:steps[1].challenge']],
    );
  });

  it('refuses an order outside 0-1000 and minutes outside 1-600, at their lines', () => {
    const dir = copyOfGood();
    edit(path.join(dir, 'lab.yaml'), /^order: 3\nminutes: 5\n/m, 'order: 1001\nminutes: 0\n');
    assert.deepEqual(
      problemsOf(dir, { ...options, relativeTo: scratch }).map((p) => `${p.line}:${p.field}`),
      ['5:order', '6:minutes'],
    );
  });

  it('lints a lab without minutes', () => {
    const dir = copyOfGood();
    edit(path.join(dir, 'lab.yaml'), /^minutes: 5\n/m, '');
    const lab = loadLab(dir, { ...options, relativeTo: scratch });
    assert.equal(lab.minutes, undefined);
    assert.deepEqual(
      lab.lint.map((p) => p.message),
      ['no minutes: say about how long the lab takes, so the list of labs can show it'],
    );
  });
});
