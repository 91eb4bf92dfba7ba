import MarkdownIt from 'markdown-it';
import { fillTemplate } from './template.js';

/** Fence languages whose blocks are commands for the terminal, and get Copy and Run buttons. */
export const COMMAND_LANGUAGES = new Set(['sh', 'bash', 'shell']);

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });
const defaultFence = md.renderer.rules.fence!;

/** A host name as lab.yaml spells them; other words after the language are not a host. */
const HOST_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** ```sh client → the language, and the host whose terminal the block is for, if it names one. */
function fenceInfo(info: string): { lang: string; host?: string } {
  const [lang = '', second] = info.trim().split(/\s+/);
  return second !== undefined && HOST_NAME.test(second) ? { lang, host: second } : { lang };
}

interface RenderEnv {
  /** False renders command blocks as plain code, with no Copy or Run button (a challenge's hints). */
  readonly commands: boolean;
}

md.renderer.rules.fence = (tokens, idx, options, env: RenderEnv, self) => {
  const token = tokens[idx]!;
  const { lang, host } = fenceInfo(token.info);
  if (!COMMAND_LANGUAGES.has(lang) || !env.commands) return defaultFence(tokens, idx, options, env, self);
  const command = token.content.replace(/\n+$/, '');
  const escaped = md.utils.escapeHtml(command);
  // ```sh client: the block is for the client's terminal; Run types it there.
  const target = host ? ` data-host="${md.utils.escapeHtml(host)}"` : '';
  return (
    `<div class="command" data-command="${escaped}"${target}>` +
    `<pre><code class="language-${md.utils.escapeHtml(lang)}">${escaped}</code></pre>` +
    `<div class="command-actions"><button type="button" class="copy" title="Copy to the clipboard">Copy</button>` +
    `<button type="button" class="run" title="Type it into the terminal and press Enter">Run</button></div></div>\n`
  );
};

// Links in lab text open beside the lab, never replacing the learner's terminal.
const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx]!.attrSet('target', '_blank');
  tokens[idx]!.attrSet('rel', 'noopener noreferrer');
  return defaultLinkOpen(tokens, idx, options, env, self);
};

/** Renders a step's markdown with the session's variables filled in. */
export function renderStep(markdown: string, variables: Readonly<Record<string, string>>): string {
  return md.render(fillTemplate(markdown, variables), { commands: true } satisfies RenderEnv);
}

/** Renders a challenge's hint: the same markdown, but a hint may point at a command without a Run button for it. */
export function renderHint(markdown: string, variables: Readonly<Record<string, string>>): string {
  return md.render(fillTemplate(markdown, variables), { commands: false } satisfies RenderEnv);
}

/** Whether the markdown has a block of commands (which gets Copy and Run buttons). */
export function hasCommandBlock(markdown: string): boolean {
  return md.parse(markdown, {}).some((t) => t.type === 'fence' && COMMAND_LANGUAGES.has(t.info.trim().split(/\s+/)[0] ?? ''));
}

/**
 * Problems in a step's markdown that would hurt a learner: command blocks that are empty, or that
 * include a shell prompt (`$ ls`), which Run would type into the terminal too. Lines are 1-based.
 */
export function markdownProblems(markdown: string, terminals?: readonly string[]): { line: number; message: string }[] {
  const problems: { line: number; message: string }[] = [];
  for (const token of md.parse(markdown, {})) {
    const { lang, host } = fenceInfo(token.info);
    if (token.type !== 'fence' || !COMMAND_LANGUAGES.has(lang)) continue;
    const first = (token.map?.[0] ?? 0) + 1;
    if (host !== undefined && terminals !== undefined && !terminals.includes(host))
      problems.push({ line: first, message: `command block for ${host}, which has no terminal; terminals: ${terminals.join(', ')}` });
    if (token.content.trim() === '') problems.push({ line: first, message: 'empty command block' });
    token.content.split('\n').forEach((text, i) => {
      if (/^\s*\$ /.test(text)) problems.push({ line: first + 1 + i, message: `command line starts with a prompt (${JSON.stringify(text.trim().slice(0, 2))}): Run would type it too; remove it, or fence the block without sh for output` });
    });
  }
  return problems;
}
