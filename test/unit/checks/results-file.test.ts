import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckContext } from '../../../server/src/checks/check-context.js';
import { chartOf, MAX_RESULTS_BYTES, parseResults, runResultsFileCheck } from '../../../server/src/checks/results-file-check.js';
import type { ResultsFileCheck } from '../../../server/src/labs/lab.js';
import type { FileRead } from '../../../server/src/runtime/runtime.js';

const RESULTS = [
  '# kube-scale results',
  '#result mode=iptables variant=iptables-full n=100 add_ms=2720.4 connect_ms=12.977',
  '#result mode=ipvs variant=ipvs n=100 add_ms=416.2 connect_ms=7.098',
  '#result mode=iptables variant=iptables-full n=1000 add_ms=6689.9 connect_ms=-',
  '#result mode=ipvs variant=ipvs n=1000 add_ms=1260.0 connect_ms=12.764',
  'a line that is not a result',
  '',
].join('\n');

const chart = { title: 'Adding one Service', x: 'n', series: 'variant', y: 'add_ms', xLabel: 'Services', yLabel: 'ms' };
const check = (require: string[]): ResultsFileCheck => ({
  kind: 'results-file',
  host: 'node',
  path: '/root/kube-scale.results',
  require,
  failMessage: 'run kube-scale first',
  chart,
});

function reading(answer: FileRead): { ctx: CheckContext; asked: [string, string, number][] } {
  const asked: [string, string, number][] = [];
  const ctx: CheckContext = {
    exec: () => Promise.reject(new Error('a results-file check runs nothing in the host')),
    statPath: () => Promise.reject(new Error('a results-file check stats nothing')),
    readFile: (host, target, maxBytes) => {
      asked.push([host, target, maxBytes]);
      return Promise.resolve(answer);
    },
    variables: {},
    hostIps: new Map(),
  };
  return { ctx, asked };
}

describe('parseResults', () => {
  it('reads only #result lines, key by key, and skips words without a key', () => {
    assert.deepEqual(parseResults('#result a=1 b=x=y junk =z\nnot #result c=3\n#result\n'), [{ a: '1', b: 'x=y' }]);
    assert.equal(parseResults(RESULTS).length, 4);
  });
});

describe('chartOf', () => {
  it('draws a line per series, sorted by x, leaving out values that are not numbers, the latest row winning', () => {
    const rows = [...parseResults(RESULTS), { variant: 'ipvs', n: '100', add_ms: '400' }];
    assert.deepEqual(chartOf(rows, chart).series, [
      {
        name: 'iptables-full',
        points: [
          { x: 100, y: 2720.4 },
          { x: 1000, y: 6689.9 },
        ],
      },
      {
        name: 'ipvs',
        points: [
          { x: 100, y: 400 },
          { x: 1000, y: 1260 },
        ],
      },
    ]);
    assert.deepEqual(chartOf(parseResults(RESULTS), { ...chart, y: 'connect_ms' }).series[0]!.points, [{ x: 100, y: 12.977 }]);
  });
});

describe('results-file', () => {
  it('passes with a chart when every required row is there, reading the file through the engine, bounded', async () => {
    const { ctx, asked } = reading({ content: Buffer.from(RESULTS) });
    const result = await runResultsFileCheck(check(['variant=ipvs n=1000', 'mode=iptables n=100']), ctx);
    assert.equal(result.passed, true, result.message);
    assert.equal(result.message, '/root/kube-scale.results has all 2 measurements (4 results in all).');
    assert.equal(result.chart?.series.length, 2);
    assert.deepEqual(asked, [['node', '/root/kube-scale.results', MAX_RESULTS_BYTES]]);
  });

  it('names the rows that are missing: every pair of a row must be on one line', async () => {
    const result = await runResultsFileCheck(check(['variant=ipvs n=5000', 'mode=ipvs variant=iptables-full']), reading({ content: Buffer.from(RESULTS) }).ctx);
    assert.equal(result.passed, false);
    assert.equal(result.message, 'run kube-scale first (/root/kube-scale.results has no result for variant=ipvs n=5000; mode=ipvs variant=iptables-full)');
    assert.equal(result.chart, undefined);
  });

  it('says why the file could not be read', async () => {
    const result = await runResultsFileCheck(check(['n=100']), reading({ problem: 'there is no such file' }).ctx);
    assert.equal(result.passed, false);
    assert.equal(result.message, 'run kube-scale first (/root/kube-scale.results in node: there is no such file)');
  });
});

describe('chartOf on a file a learner filled by hand', () => {
  it('draws at most 12 lines of at most 200 points, whatever the file holds', () => {
    const rows = Array.from({ length: 50 }, (_, s) => Array.from({ length: 300 }, (_, x) => ({ variant: `v${s}`, n: String(x), add_ms: '1' }))).flat();
    const { series } = chartOf(rows, chart);
    assert.equal(series.length, 12);
    assert.ok(series.every((line) => line.points.length === 200));
  });
});
