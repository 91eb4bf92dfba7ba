/**
 * `npm run bench` runs every benchmark in turn; `npm run bench -- <name>` runs one. Each prints
 * its figures as lines, then one `BENCH {json}` line to quote. Needs the Docker engine named by
 * DOCKER_HOST (IPVS not required) and, for the server's memory figures, Linux /proc.
 */
import { availableParallelism, loadavg } from 'node:os';
import { payAll } from './support/cleanup.js';
import { classroom } from './classroom.js';
import { containment } from './containment.js';
import { echoLatency } from './echo-latency.js';
import { panel } from './panel.js';
import { restart } from './restart.js';
import { throughput } from './throughput.js';
import { timeToShell } from './time-to-shell.js';
import { workshop } from './workshop.js';

const BENCHMARKS: Readonly<Record<string, () => Promise<Record<string, unknown>>>> = {
  'time-to-shell': timeToShell,
  echo: echoLatency,
  throughput,
  classroom,
  restart,
  containment,
  workshop,
  panel,
};

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.error('interrupted: removing the benchmark containers (Ctrl-C again to exit at once)');
  void payAll().finally(() => process.exit(130));
});

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; benchmarks: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(2);
}

let failed = 0;
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHMARKS)) {
  const started = Date.now();
  // Other work on the machine skews every figure: say how busy it was.
  const load = loadavg().map((l) => l.toFixed(2));
  console.log(`${name}: machine has ${availableParallelism()} cores, load average ${load.join(' ')}`);
  try {
    const summary = await BENCHMARKS[name]!();
    const wallSeconds = Math.round((Date.now() - started) / 100) / 10;
    console.log(`BENCH ${JSON.stringify({ bench: name, ...summary, wallSeconds, loadAverage1mAtEnd: Math.round(loadavg()[0]! * 100) / 100 })}`);
  } catch (e) {
    failed++;
    console.error(`${name} failed: ${(e as Error).stack ?? String(e)}`);
    console.log(`BENCH ${JSON.stringify({ bench: name, error: (e as Error).message.split('\n')[0] })}`);
  }
  await payAll();
}
process.exit(failed > 0 ? 1 : 0);
