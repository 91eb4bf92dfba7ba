import MarkdownIt from 'markdown-it';
import { fillTemplate } from './template.js';

/** Fence languages whose blocks are commands for the terminal, and get Copy and Run buttons. */
export const COMMAND_LANGUAGES = new Set(['sh', 'bash', 'shell']);

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });
const defaultFence = md.renderer.rules.fence!;

md.renderer.rules.fence = (tokens, idx, options, env, self) => {
  const token = tokens[idx]!;
  const lang = token.info.trim().split(/\s+/)[0] ?? '';
  if (!COMMAND_LANGUAGES.has(lang)) return defaultFence(tokens, idx, options, env, self);
  const command = token.content.replace(/\n+$/, '');
  const escaped = md.utils.escapeHtml(command);
  return (
    `<div class="command" data-command="${escaped}">` +
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
  return md.render(fillTemplate(markdown, variables));
}

/** Renders markdown, for lab validation: returns nothing, throws nothing on odd but valid input. */
export function renderMarkdown(markdown: string): string {
  return md.render(markdown);
}
