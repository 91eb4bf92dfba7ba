#!/usr/bin/env node
// The installed command. It runs the compiled CLI; `npm install` builds it (the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/server/src/cli/main.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write(`ipvs-lab: ${cli} is missing; run "npm run build" in ${fileURLToPath(new URL('..', import.meta.url))}\n`);
  process.exit(2);
}
await import(cli);
