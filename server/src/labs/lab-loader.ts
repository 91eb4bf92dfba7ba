import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { SolutionLine } from '../../../common/api.js';
import type { CheckSpec, HostSpec, Lab, StepSpec } from './lab.js';
import { LabError, type LabProblem } from './lab-error.js';
import { CHECK_KINDS, labSchema } from './lab-schema.js';
import { hasCommandBlock, markdownProblems } from './render-step.js';
import { fillTemplate, findPlaceholders, hostVariableNames, lineOf, NETWORK_VARIABLE_NAMES, RESERVED_HOST_NAMES, TemplateError } from './template.js';
import { parseEndpoint, parseServiceAddress } from '../ipvs/service-address.js';

const ajv = new Ajv({ allErrors: true, strict: true, verbose: true });
const validateLabYaml = ajv.compile(labSchema);

export interface LoadOptions {
  /** Where `image: { build: <name> }` contexts live. */
  readonly containersDir: string;
  /** Paths in messages are relative to this folder (default: the current directory). */
  readonly relativeTo?: string;
}

/**
 * Reads `<dir>/lab.yaml` and its step files, and validates all of it. Throws a LabError listing
 * every problem found, each with its file and line, rather than stopping at the first.
 */
export function loadLab(dir: string, options: LoadOptions): Lab {
  const absDir = path.resolve(dir);
  const id = path.basename(absDir);
  const rel = (p: string) => path.relative(options.relativeTo ?? process.cwd(), p) || p;
  const yamlPath = path.join(absDir, 'lab.yaml');
  const yamlFile = rel(yamlPath);
  if (!existsSync(yamlPath)) throw new LabError([{ file: yamlFile, line: 0, field: '', message: 'no lab.yaml here: every lab folder needs one' }]);

  const source = readFileSync(yamlPath, 'utf8');
  const lineCounter = new LineCounter();
  // merge: a lab may write one traffic check once (&traffic) and vary it per step (<<: *traffic).
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  if (doc.errors.length > 0) {
    throw new LabError(
      doc.errors.map((e) => ({ file: yamlFile, line: lineCounter.linePos(e.pos[0]).line, field: '', message: `YAML syntax: ${e.message.split('\n')[0]}` })),
    );
  }
  const raw: unknown = doc.toJS();
  const lineAt = (fieldPath: readonly (string | number)[]): number => lineOfPath(doc, lineCounter, fieldPath);

  if (!validateLabYaml(raw)) {
    throw new LabError(dedupeSchemaErrors(validateLabYaml.errors ?? []).map((e) => schemaProblem(e, yamlFile, lineAt)));
  }
  const data = raw as LabYaml;
  const problems: LabProblem[] = [];
  const problem = (fieldPath: (string | number)[], message: string) => problems.push({ file: yamlFile, line: lineAt(fieldPath), field: formatPath(fieldPath), message });
  const lintProblems: LabProblem[] = [];
  const lint = (fieldPath: (string | number)[], message: string) => lintProblems.push({ file: yamlFile, line: lineAt(fieldPath), field: formatPath(fieldPath), message });

  const hosts: HostSpec[] = Object.entries(data.hosts).map(([name, h]) => ({
    name,
    image: typeof h.image === 'string' ? { ref: h.image } : { build: h.image.build },
    // Docker takes both spellings; one spelling lets the drop list compare them.
    capabilities: (h.capabilities ?? []).map((c) => c.replace(/^CAP_/, '')),
    shell: h.shell ?? false,
    files: h.files ?? {},
    ...(h.command ? { command: h.command } : {}),
    limits: {
      ...(h.limits?.memory === undefined ? {} : { memoryMib: h.limits.memory }),
      ...(h.limits?.pids === undefined ? {} : { pids: h.limits.pids }),
      ...(h.limits?.cpus === undefined ? {} : { cpus: h.limits.cpus }),
      ...(h.limits?.cpuShares === undefined ? {} : { cpuShares: h.limits.cpuShares }),
    },
    sysctls: h.sysctls ?? {},
  }));
  const hostNames = hosts.map((h) => h.name);
  const shellHosts = hosts.filter((h) => h.shell);
  if (shellHosts.length === 0) problem(['hosts'], `at least one host needs shell: true (the learner's terminal); found none`);
  const shellNames = shellHosts.map((h) => h.name);
  const mainShell = shellNames[0] ?? '';
  for (const h of hosts) {
    if ('build' in h.image && !existsSync(path.join(options.containersDir, h.image.build, 'Dockerfile')))
      problem(['hosts', h.name, 'image', 'build'], `no Dockerfile at ${rel(path.join(options.containersDir, h.image.build, 'Dockerfile'))}`);
  }

  const labVariables = data.variables ?? {};
  for (const reserved of RESERVED_HOST_NAMES)
    if (hostNames.includes(reserved)) problem(['hosts', reserved], `host name ${reserved} is taken by the session network's variables ({{${reserved}.…}}); rename the host`);
  const hostVariables = new Set([...hostVariableNames(hostNames), ...NETWORK_VARIABLE_NAMES]);
  const known = new Set([...hostVariables, ...Object.keys(labVariables)]);
  const checkVariables = (text: string, fieldPath: (string | number)[], allowed: ReadonlySet<string>) => {
    for (const p of findPlaceholders(text)) if (!allowed.has(p.name)) problem(fieldPath, `unknown variable {{${p.name}}}; known: ${[...allowed].sort().join(', ')}`);
  };
  for (const [name, value] of Object.entries(labVariables)) {
    if (hostVariables.has(name)) problem(['variables', name], `variable ${name} hides the host variable of the same name`);
    // Lab variables are filled from host variables only: no chains to resolve, no cycles possible.
    checkVariables(value, ['variables', name], hostVariables);
  }
  // Files are written before the containers start, when no address is known yet.
  for (const h of hosts) for (const [p, content] of Object.entries(h.files)) checkVariables(content, ['hosts', h.name, 'files', p], new Set());

  const seenIds = new Map<string, number>();
  const steps: StepSpec[] = data.steps.map((s, i) => {
    if (seenIds.has(s.id)) problem(['steps', i, 'id'], `step id ${s.id} is used twice (also step ${(seenIds.get(s.id) ?? 0) + 1})`);
    seenIds.set(s.id, i);
    const checks = (s.checks ?? []).map((c, j) => toCheckSpec(c, ['steps', i, 'checks', j], hostNames, problem));
    checks.forEach((c, j) => {
      checkVariables(JSON.stringify(c), ['steps', i, 'checks', j], known);
      checkAddresses(c, ['steps', i, 'checks', j, c.kind], known, problem);
    });
    const solution = (s.solution ?? []).map((line, j): SolutionLine => {
      const { host = mainShell, run, timeout } = typeof line === 'string' ? { run: line, timeout: undefined } : line;
      if (!shellNames.includes(host))
        problem(['steps', i, 'solution', j, 'host'], `host ${host} has no terminal (shell: true): solution lines go to ${shellNames.join(', ') || 'none'}`);
      checkVariables(run, ['steps', i, 'solution', j], known);
      return { host, command: run, ...(timeout !== undefined && { timeoutSeconds: timeout }) };
    });

    const stepPath = path.join(absDir, s.file);
    let markdown = '';
    if (!stepPath.startsWith(absDir + path.sep)) problem(['steps', i, 'file'], `${s.file} is outside the lab folder`);
    else if (!existsSync(stepPath) || !statSync(stepPath).isFile()) problem(['steps', i, 'file'], `step file ${rel(stepPath)} does not exist`);
    else {
      markdown = readFileSync(stepPath, 'utf8');
      for (const p of findPlaceholders(markdown))
        if (!known.has(p.name))
          problems.push({ file: rel(stepPath), line: lineOf(markdown, p.index), field: '', message: `unknown variable {{${p.name}}}; known: ${[...known].sort().join(', ')}` });
    }
    const readOnly = s.readOnly ?? false;
    const hints = s.challenge?.hints ?? [];
    hints.forEach((hint, j) => checkVariables(hint, ['steps', i, 'challenge', 'hints', j], known));
    if (s.challenge) {
      if (readOnly || checks.length === 0)
        problem(['steps', i, 'challenge'], `challenge ${s.id} needs checks and cannot be readOnly: a challenge is a goal the server can check`);
      // The goal only: a command block would hand the learner the answer with a Run button.
      if (markdown && hasCommandBlock(markdown))
        lint(['steps', i, 'file'], `challenge ${s.id} gives commands in ${s.file}: a challenge states the goal; put commands in its hints, if anywhere`);
    }
    if (!readOnly && checks.length === 0) lint(['steps', i], `step ${s.id} has no check: give it checks, or mark it readOnly: true if it changes nothing`);
    if (checks.length > 0 && solution.length === 0) lint(['steps', i], `step ${s.id} has checks but no solution: add the commands a learner would type, so the lab can be tested`);
    if (markdown) for (const p of markdownProblems(markdown, shellNames)) lintProblems.push({ file: rel(stepPath), line: p.line, field: '', message: p.message });
    return {
      id: s.id,
      title: s.title,
      file: s.file,
      markdown,
      checks,
      solution,
      readOnly,
      mayAlreadyPass: s.mayAlreadyPass ?? false,
      ...(s.challenge && { challenge: { hints } }),
    };
  });
  if (data.minutes === undefined) lint([], 'no minutes: say about how long the lab takes, so the list of labs can show it');

  if (problems.length > 0) throw new LabError(problems);
  return {
    id,
    dir: absDir,
    title: data.title,
    summary: data.summary,
    order: data.order ?? DEFAULT_ORDER,
    ...(data.minutes !== undefined && { minutes: data.minutes }),
    hosts,
    outside: data.network?.outside ?? false,
    variables: labVariables,
    steps,
    lint: lintProblems,
  };
}

/**
 * Loads every lab folder under `labsDir`. A broken lab does not hide the good ones: its error is
 * returned beside them so the server can report it and still serve the rest.
 */
export function loadLabs(labsDir: string, options: LoadOptions): { labs: Lab[]; errors: LabError[] } {
  const labs: Lab[] = [];
  const errors: LabError[] = [];
  if (!existsSync(labsDir)) return { labs, errors: [new LabError([{ file: labsDir, line: 0, field: '', message: 'labs folder does not exist' }])] };
  for (const entry of readdirSync(labsDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    try {
      labs.push(loadLab(path.join(labsDir, entry.name), options));
    } catch (e) {
      if (e instanceof LabError) errors.push(e);
      else throw e;
    }
  }
  // The order a learner should take them in, as the authors set it; the id breaks ties.
  labs.sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));
  errors.sort((a, b) => (a.problems[0]?.file ?? '').localeCompare(b.problems[0]?.file ?? ''));
  return { labs, errors };
}

// ---- helpers -------------------------------------------------------------------------------------

/** Labs that do not say where they belong come after those that do. */
const DEFAULT_ORDER = 1000;

interface LabYaml {
  title: string;
  summary: string;
  order?: number;
  minutes?: number;
  hosts: Record<
    string,
    {
      image: string | { build: string };
      capabilities?: string[];
      shell?: boolean;
      files?: Record<string, string>;
      command?: string[];
      limits?: { memory?: number; pids?: number; cpus?: number; cpuShares?: number };
      sysctls?: Record<string, string>;
    }
  >;
  network?: { outside?: boolean };
  variables?: Record<string, string>;
  steps: {
    id: string;
    title: string;
    file: string;
    checks?: Record<string, Record<string, unknown>>[];
    solution?: (string | { host?: string; run: string; timeout?: number })[];
    readOnly?: boolean;
    mayAlreadyPass?: boolean;
    challenge?: { hints: string[] };
  }[];
}

function toCheckSpec(
  entry: Record<string, Record<string, unknown>>,
  fieldPath: (string | number)[],
  hostNames: readonly string[],
  problem: (p: (string | number)[], m: string) => void,
): CheckSpec {
  const [kind, body] = Object.entries(entry)[0] as [CheckSpec['kind'] | 'round-robin-traffic', Record<string, unknown>];
  const hostField = kind === 'round-robin-traffic' ? 'from' : 'host';
  const host = body[hostField] as string;
  const knownHost = (field: (string | number)[], name: string, what: string) => {
    if (!hostNames.includes(name)) problem([...fieldPath, kind, ...field], `${what} ${name} is not defined in hosts (${hostNames.join(', ')})`);
  };
  knownHost([hostField], host, 'host');
  if (kind === 'round-robin-traffic' || kind === 'traffic') {
    for (const b of Object.keys(body.backends as object)) knownHost(['backends', b], b, 'backend');
    const from = (body.from as string | undefined) ?? host;
    if (kind === 'traffic') knownHost(['from'], from, 'host');
    const requests = (body.requests as number | undefined) ?? 12;
    const backendCount = Object.keys(body.backends as object).length;
    const scheduler = kind === 'traffic' ? (body.scheduler as string) : 'rr';
    // Round robin over n backends shows itself only after each came round at least twice.
    if (scheduler === 'rr' && requests < 2 * backendCount)
      problem([...fieldPath, kind, 'requests'], `${requests} requests cannot show round robin over ${backendCount} backends; use at least ${2 * backendCount}`);
    // The old spelling: round robin, judged on the replies' order alone, from the director itself.
    return {
      kind: 'traffic',
      host,
      from,
      ...(kind === 'traffic' && { service: body.service as string }),
      scheduler,
      url: body.url as string,
      requests,
      backends: body.backends as Record<string, string>,
      sources: (body.sources as string[] | undefined) ?? [],
    };
  }
  if (kind === 'ipvs-real-servers') {
    const servers = body.servers as string[];
    const weights = body.weights as number[] | undefined;
    if (weights && weights.length !== servers.length)
      problem([...fieldPath, kind, 'weights'], `${weights.length} weights for ${servers.length} servers: give one weight per server, in the same order`);
  }
  if (kind === 'file') {
    const target = body.path as string;
    return {
      kind,
      host,
      path: target,
      executable: (body.executable as boolean | undefined) ?? false,
      failMessage: body.failMessage as string,
      passMessage: (body.passMessage as string | undefined) ?? `${target} exists in ${host}`,
    };
  }
  if (kind === 'command') {
    const run = body.run as string;
    return { kind, host, run, failMessage: body.failMessage as string, passMessage: (body.passMessage as string | undefined) ?? `\`${run}\` succeeded` };
  }
  return { kind, ...body } as CheckSpec;
}

/**
 * Service and server fields hold addresses once variables are filled; fill them with a sample
 * address so a malformed one (`TCP {{vip}}` without a port) is caught here, not by a learner.
 */
function checkAddresses(check: CheckSpec, fieldPath: (string | number)[], known: ReadonlySet<string>, problem: (p: (string | number)[], m: string) => void): void {
  const sample = Object.fromEntries([...known].map((k) => [k, '192.0.2.1']));
  const attempt = (field: (string | number)[], text: string, parse: (t: string) => unknown) => {
    try {
      parse(fillTemplate(text, sample));
    } catch (e) {
      if (!(e instanceof TemplateError)) problem([...fieldPath, ...field], (e as Error).message.replace('192.0.2.1', '<address>'));
    }
  };
  if ((check.kind === 'ipvs-service' || check.kind === 'ipvs-real-servers' || check.kind === 'traffic' || check.kind === 'ipvs-replies') && check.service !== undefined)
    attempt(['service'], check.service, parseServiceAddress);
  if (check.kind === 'ipvs-real-servers') check.servers.forEach((s, k) => attempt(['servers', k], s, parseEndpoint));
}

function formatPath(fieldPath: readonly (string | number)[]): string {
  return fieldPath.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : /^[A-Za-z_][\w-]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`)).join('');
}

function lineOfPath(doc: Document, lineCounter: LineCounter, fieldPath: readonly (string | number)[]): number {
  // Walk up until a node exists: a missing field is reported at its parent.
  for (let n = fieldPath.length; n >= 0; n--) {
    // A field's line is the line of its key: a block value starts on the line after it.
    const parent = n === 0 ? undefined : n === 1 ? doc.contents : doc.getIn(fieldPath.slice(0, n - 1), true);
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(fieldPath[n - 1]));
      if (pair && isNode(pair.key) && pair.key.range) return lineCounter.linePos(pair.key.range[0]).line;
    }
    const node = n === 0 ? doc.contents : doc.getIn(fieldPath.slice(0, n), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `oneOf`/`maxProperties` produce echoes of the real error; keep the most specific per field. */
function dedupeSchemaErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const specific = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'if');
  const seen = new Set<string>();
  return (specific.length ? specific : errors).filter((e) => {
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function schemaProblem(e: ErrorObject, file: string, lineAt: (p: readonly (string | number)[]) => number): LabProblem {
  const fieldPath = pointerToPath(e.instancePath);
  const params = e.params as Record<string, unknown>;
  let message: string;
  switch (e.keyword) {
    case 'required':
      message = `missing required field ${String(params.missingProperty)}`;
      break;
    case 'additionalProperties':
      fieldPath.push(String(params.additionalProperty));
      message = isCheckList(fieldPath)
        ? `unknown check kind ${String(params.additionalProperty)}; use one of: ${CHECK_KINDS.join(', ')}`
        : `unknown field ${String(params.additionalProperty)}`;
      break;
    case 'enum':
      message = `${JSON.stringify(valueHint(e))} is not allowed; use one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`;
      break;
    case 'pattern':
      message = `${JSON.stringify(valueHint(e))} does not match ${String(params.pattern)}`;
      break;
    case 'propertyNames':
      message = `invalid name ${JSON.stringify(params.propertyName)}`;
      break;
    case 'maxProperties':
    case 'minProperties':
      message = isCheckEntry(fieldPath) ? 'each check is an object with exactly one key, the check kind' : (e.message ?? 'invalid');
      break;
    default:
      message = e.message ?? 'invalid';
  }
  return { file, line: lineAt(fieldPath), field: formatPath(fieldPath), message };
}

function valueHint(e: ErrorObject): unknown {
  return (e as ErrorObject & { data?: unknown }).data ?? e.instancePath;
}
function isCheckList(p: readonly (string | number)[]): boolean {
  return p.length === 5 && p[0] === 'steps' && p[2] === 'checks';
}
function isCheckEntry(p: readonly (string | number)[]): boolean {
  return p.length === 4 && p[0] === 'steps' && p[2] === 'checks';
}
