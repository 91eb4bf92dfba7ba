// Builds the page: bundles web/src with esbuild and copies the static files into dist/web.
import { build } from 'esbuild';
import { cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'web');
const started = Date.now();
mkdirSync(path.join(out, 'assets'), { recursive: true });
await build({
  entryPoints: {
    landing: path.join(root, 'web/src/landing.ts'),
    session: path.join(root, 'web/src/session-page.ts'),
    instructor: path.join(root, 'web/src/instructor-page.ts'),
    join: path.join(root, 'web/src/join-page.ts'),
  },
  outdir: path.join(out, 'assets'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
cpSync(path.join(root, 'node_modules/@xterm/xterm/css/xterm.css'), path.join(out, 'assets/xterm.css'));
cpSync(path.join(root, 'web/public/style.css'), path.join(out, 'assets/style.css'));
for (const page of ['index.html', 'session.html', 'instructor.html', 'join.html']) cpSync(path.join(root, 'web/public', page), path.join(out, page));
console.log(`page built into ${path.relative(process.cwd(), out) || out} in ${Date.now() - started} ms`);
