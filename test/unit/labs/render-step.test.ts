import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { COMMAND_LANGUAGES, markdownProblems, renderStep } from '../../../server/src/labs/render-step.js';
import { TemplateError } from '../../../server/src/labs/template.js';

const variables = { vip: '172.17.0.2', 'nginx-1.ip': '10.20.0.11' };
const fence = (lang: string, body: string) => `\`\`\`${lang}\n${body}\n\`\`\`\n`;
const copyButton = '<button type="button" class="copy" title="Copy to the clipboard">Copy</button>';
const runButton = '<button type="button" class="run" title="Type it into the terminal and press Enter">Run</button>';

describe('renderStep: command blocks', () => {
  it('exports the fence languages that are commands', () => {
    assert.deepEqual([...COMMAND_LANGUAGES].sort(), ['bash', 'sh', 'shell']);
  });

  for (const lang of ['sh', 'bash', 'shell']) {
    it(`turns a ${lang} fence into a command with Copy and Run buttons`, () => {
      const html = renderStep(fence(lang, 'ipvsadm -L -n'), variables);
      assert.equal(
        html,
        `<div class="command" data-command="ipvsadm -L -n"><pre><code class="language-${lang}">ipvsadm -L -n</code></pre>` +
          `<div class="command-actions">${copyButton}${runButton}</div></div>\n`,
      );
    });
  }

  it('uses the first word of the info string as the language', () => {
    assert.match(renderStep(fence('sh title="x"', 'ls'), variables), /^<div class="command" data-command="ls"><pre><code class="language-sh">/);
  });

  it('escapes the command in data-command and in the code, and fills variables first', () => {
    const html = renderStep(fence('sh', 'ipvsadm -A -t {{vip}}:80 -s rr && echo "<b>ok</b>"'), variables);
    const escaped = 'ipvsadm -A -t 172.17.0.2:80 -s rr &amp;&amp; echo &quot;&lt;b&gt;ok&lt;/b&gt;&quot;';
    assert.ok(html.includes(`data-command="${escaped}"`), html);
    assert.ok(html.includes(`<code class="language-sh">${escaped}</code>`), html);
    assert.ok(!html.includes('<b>'), html);
    assert.ok(!html.includes('{{vip}}'), html);
  });

  it('keeps inner newlines of a multi-line command and drops the trailing ones', () => {
    const html = renderStep('```bash\nfor i in 1 2; do\n  curl -s {{vip}}\ndone\n\n\n```\n', variables);
    assert.ok(html.includes('data-command="for i in 1 2; do\n  curl -s 172.17.0.2\ndone"'), html);
  });

  it('leaves other fences as plain code, without buttons', () => {
    for (const lang of ['', 'console', 'text', 'yaml', 'SH']) {
      const html = renderStep(fence(lang, '$ ipvsadm -L -n'), variables);
      assert.ok(!html.includes('class="command"'), `${lang}: ${html}`);
      assert.ok(!html.includes('<button'), `${lang}: ${html}`);
      assert.match(html, /^<pre><code[^>]*>\$ ipvsadm -L -n\n<\/code><\/pre>\n$/, lang);
    }
  });
});

describe('renderStep: text', () => {
  it('fills variables in prose and inline code', () => {
    assert.equal(renderStep('The VIP is `{{vip}}`, backend {{nginx-1.ip}}.', variables), '<p>The VIP is <code>172.17.0.2</code>, backend 10.20.0.11.</p>\n');
  });

  it('throws on an unknown variable rather than rendering a broken command', () => {
    assert.throws(() => renderStep('curl {{nginx-9.ip}}', variables), TemplateError);
  });

  it('escapes raw HTML instead of passing it through', () => {
    const html = renderStep('<script>alert(1)</script>\n\nText <img src=x onerror=alert(1)> here.', variables);
    assert.ok(!html.includes('<script>'), html);
    assert.ok(!html.includes('<img'), html);
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), html);
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), html);
  });

  it('opens links, written or bare, in a new tab without an opener', () => {
    const html = renderStep('See [the LVS docs](http://www.linuxvirtualserver.org/) or https://example.com/ipvs.', variables);
    assert.ok(html.includes('<a href="http://www.linuxvirtualserver.org/" target="_blank" rel="noopener noreferrer">the LVS docs</a>'), html);
    assert.ok(html.includes('<a href="https://example.com/ipvs" target="_blank" rel="noopener noreferrer">https://example.com/ipvs</a>'), html);
  });

  it('refuses javascript: links', () => {
    const html = renderStep('[click](javascript:alert(1))', variables);
    assert.ok(!html.includes('href="javascript:'), html);
  });
});

describe('markdownProblems', () => {
  it('finds nothing wrong in good command blocks, comments included', () => {
    assert.deepEqual(markdownProblems(`# Title\n\n${fence('sh', '# a comment\nipvsadm -L -n')}`), []);
  });
  it('reports a prompt inside a command block at its line', () => {
    const md = `# Title\n\nText\n\n${fence('sh', 'ipvsadm -v\n$ ipvsadm -L -n')}`;
    assert.deepEqual(markdownProblems(md).map((p) => p.line), [7]);
    assert.match(markdownProblems(md)[0]!.message, /starts with a prompt \("\$ "\): Run would type it too/);
  });
  it('reports an empty command block, and ignores output blocks', () => {
    assert.deepEqual(markdownProblems(`${fence('bash', '')}\n${fence('', '$ not a command block')}`), [{ line: 1, message: 'empty command block' }]);
  });
});

describe('renderStep: command blocks for another terminal', () => {
  it('marks a block whose info names a host with data-host, for Run to type there', () => {
    assert.match(renderStep('```sh client\nhostname\n```\n', {}), /^<div class="command" data-command="hostname" data-host="client"><pre>/);
  });

  it('takes no host from a word that cannot be a host name', () => {
    assert.ok(!renderStep('```sh Client!\nls\n```\n', {}).includes('data-host'));
  });

  it('names a block for a host without a terminal as a problem, at its line', () => {
    assert.deepEqual(markdownProblems('# T\n\n```sh web-1\nls\n```\n', ['host', 'client']), [
      { line: 3, message: 'command block for web-1, which has no terminal; terminals: host, client' },
    ]);
    assert.deepEqual(markdownProblems('```sh client\nls\n```\n', ['host', 'client']), []);
  });
});
