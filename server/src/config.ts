import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file so the server works from any working directory. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), import.meta.url.includes('/dist/') ? '../../..' : '../..');

interface OptionSpec<T> {
  readonly env: string;
  readonly description: string;
  readonly default: T;
  readonly parse: (raw: string, env: string) => T;
}

function integer(min: number, max: number) {
  return (raw: string, env: string): number => {
    const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${env}=${JSON.stringify(raw)} must be an integer from ${min} to ${max}`);
    return n;
  };
}
function boolean(raw: string, env: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${env}=${JSON.stringify(raw)} must be true or false`);
}
function text(raw: string): string {
  return raw;
}
function decimal(min: number, max: number) {
  return (raw: string, env: string): number => {
    const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= min && n <= max)) throw new ConfigError(`${env}=${JSON.stringify(raw)} must be a number from ${min} to ${max}`);
    return n;
  };
}
/** A comma-separated list; empty items are ignored. */
function list(item: (raw: string, env: string) => string) {
  return (raw: string, env: string): readonly string[] =>
    raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => item(s, env));
}
function hostName(raw: string, env: string): string {
  const name = raw.toLowerCase();
  if (!/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(name))
    throw new ConfigError(`${env}: ${JSON.stringify(raw)} is not a host name (such as lab.example.org, or *.example.org for every name under it)`);
  return name;
}
function capability(raw: string, env: string): string {
  const cap = raw.toUpperCase().replace(/^CAP_/, '');
  if (!/^[A-Z_]+$/.test(cap)) throw new ConfigError(`${env}: ${JSON.stringify(raw)} is not a capability name such as NET_RAW`);
  return cap;
}
function publicUrl(raw: string, env: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${env}=${JSON.stringify(raw)} is not a URL; give the address learners open, such as https://lab.example.org`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${env}=${JSON.stringify(raw)} must start with http:// or https://`);
  return url.origin;
}
/** The shape only: the runtime, which carves the subnets, checks the rest and names this variable. */
function cidr(raw: string, env: string): string {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(raw)) throw new ConfigError(`${env}=${JSON.stringify(raw)} must be an IPv4 range such as 10.200.0.0/16`);
  return raw;
}
function dnsLabel(raw: string, env: string): string {
  if (!/^[a-z0-9][a-z0-9_.-]{0,62}$/i.test(raw)) throw new ConfigError(`${env}=${JSON.stringify(raw)} must be letters, digits, '.', '_' or '-' (at most 63)`);
  return raw;
}

/** Every option, its variable, default and meaning. This table is the only reader of process.env. */
export const OPTIONS = {
  port: { env: 'PORT', description: 'HTTP port to listen on (0 picks a free one).', default: 3000, parse: integer(0, 65535) },
  host: { env: 'HOST', description: 'Address to listen on. Use 0.0.0.0 to serve a classroom.', default: '127.0.0.1', parse: text },
  labsDir: {
    env: 'IPVS_LAB_LABS_DIR',
    description: 'Folder holding one folder per lab.',
    default: path.join(PROJECT_ROOT, 'labs'),
    parse: (raw: string) => path.resolve(raw),
  },
  containersDir: {
    env: 'IPVS_LAB_CONTAINERS_DIR',
    description: 'Folder of the image build contexts that labs refer to.',
    default: path.join(PROJECT_ROOT, 'containers'),
    parse: (raw: string) => path.resolve(raw),
  },
  idleMinutes: {
    env: 'IPVS_LAB_IDLE_MINUTES',
    description: 'A session nobody used for this long is removed with its containers.',
    default: 60,
    parse: integer(1, 7 * 24 * 60),
  },
  maxSessions: { env: 'IPVS_LAB_MAX_SESSIONS', description: 'Most sessions alive at once; more are refused with 503.', default: 40, parse: integer(1, 1000) },
  serverName: {
    env: 'IPVS_LAB_SERVER_NAME',
    description:
      'Name put on every container and network this server makes, and the name of its database. At start, the server takes back the sessions in its database and removes whatever carries its name that no session owns. Give each server sharing one Docker engine its own name.',
    default: 'default',
    parse: dnsLabel,
  },
  requireIpvs: {
    env: 'IPVS_LAB_REQUIRE_IPVS',
    description:
      'Refuse to start sessions when the engine has no IPVS. Set to false to try the shell and page on an engine without IPVS (checks of IPVS steps then fail).',
    default: true,
    parse: boolean,
  },
  dockerCli: {
    env: 'IPVS_LAB_DOCKER_CLI',
    description: 'The docker command-line client that terminals run (`docker exec -it`).',
    default: 'docker',
    parse: text,
  },
  dockerHost: {
    env: 'DOCKER_HOST',
    description: 'Docker engine to use (read by Docker itself; shown in messages).',
    default: 'unix:///var/run/docker.sock',
    parse: text,
  },
  replayKib: {
    env: 'IPVS_LAB_REPLAY_KIB',
    description: 'Terminal history kept per session, in KiB (of UTF-16 code units), for pages that reconnect or reload.',
    default: 1024,
    parse: integer(4, 64 * 1024),
  },
  checkTimeoutMs: {
    env: 'IPVS_LAB_CHECK_TIMEOUT_MS',
    description: 'Longest a single check may run before it is reported as failed.',
    default: 30000,
    parse: integer(100, 600000),
  },
  panelIntervalMs: {
    env: 'IPVS_LAB_PANEL_INTERVAL_MS',
    description: "Pause between two readings of a director's IPVS table for a learner's open IPVS panel, in ms. Nothing is read while no panel is open.",
    default: 500,
    parse: integer(100, 60000),
  },
  panelReads: {
    env: 'IPVS_LAB_PANEL_READS',
    description: 'Most IPVS panel readings running at once over all sessions: with more panels open, each reads less often instead of loading the engine.',
    default: 4,
    parse: integer(1, 64),
  },
  publicUrl: {
    env: 'IPVS_LAB_PUBLIC_URL',
    description: 'The address learners open (https://lab.example.org). Its host name is allowed in Host and Origin headers.',
    default: '',
    parse: publicUrl,
  },
  allowedHosts: {
    env: 'IPVS_LAB_ALLOWED_HOSTS',
    description:
      'More host names the server answers to, comma-separated (*.example.org allows every name under it). Localhost names and IP addresses are always allowed; any other Host or Origin is refused, which stops DNS rebinding.',
    default: [] as readonly string[],
    parse: list(hostName),
  },
  stateDir: {
    env: 'IPVS_LAB_STATE_DIR',
    description: 'Folder of the session database (<server name>.sqlite). Sessions and progress survive restarts through it.',
    default: path.join(PROJECT_ROOT, 'state'),
    parse: (raw: string) => path.resolve(raw),
  },
  subnetPool: {
    env: 'IPVS_LAB_SUBNET_POOL',
    description: "Private IPv4 range session networks are carved from (a /28 each). The default is outside Docker's own address pools.",
    default: '10.200.0.0/16',
    parse: cidr,
  },
  subnetPrefix: {
    env: 'IPVS_LAB_SUBNET_PREFIX',
    description: 'Size of a session network, as a prefix length; a lab with many hosts gets a larger one.',
    default: 28,
    parse: integer(16, 29),
  },
  memoryMib: {
    env: 'IPVS_LAB_MEMORY_MIB',
    description: 'Memory of each lab container, in MiB (no swap): a memory hog is killed inside its own container. A lab host may set its own.',
    default: 256,
    parse: integer(16, 16384),
  },
  pids: {
    env: 'IPVS_LAB_PIDS',
    description: 'Most processes of each lab container: a fork storm stops there. A lab host may set its own.',
    default: 256,
    parse: integer(16, 32768),
  },
  cpus: {
    env: 'IPVS_LAB_CPUS',
    description: 'CPU ceiling of each lab container, in CPUs. A lab host may set its own.',
    default: 1,
    parse: decimal(0.05, 64),
  },
  cpuShares: {
    env: 'IPVS_LAB_CPU_SHARES',
    description: "Relative CPU weight of each lab container when the engine is busy (Docker's default is 1024).",
    default: 512,
    parse: integer(2, 262144),
  },
  dropCapabilities: {
    env: 'IPVS_LAB_DROP_CAPABILITIES',
    description:
      "Capabilities taken from Docker's default set in every lab container, comma-separated, unless the lab's host lists them. NET_RAW: no raw packets (ping still works through ICMP sockets).",
    default: ['NET_RAW', 'MKNOD', 'AUDIT_WRITE', 'SETFCAP', 'SYS_CHROOT'] as readonly string[],
    parse: list(capability),
  },
  maxPagesPerSession: {
    env: 'IPVS_LAB_MAX_PAGES',
    description: 'Most terminal WebSockets open on one terminal (a session and host) at once; more are closed with code 1013 and a reason.',
    default: 4,
    parse: integer(1, 100),
  },
  pingSeconds: {
    env: 'IPVS_LAB_PING_SECONDS',
    description: 'Terminal WebSockets are pinged this often; one that misses a pong is dropped, and stops holding the shell back.',
    default: 5,
    parse: integer(1, 300),
  },
  openSessions: {
    env: 'IPVS_LAB_OPEN_SESSIONS',
    description:
      'Whether anyone who reaches the server may start a session (POST /api/sessions) without a workshop join code: true, false, or auto (open only when HOST is a loopback address and IPVS_LAB_PUBLIC_URL, if set, is too).',
    default: 'auto',
    parse: (raw: string, env: string): 'auto' | 'true' | 'false' => {
      if (raw === 'auto' || raw === 'true' || raw === 'false') return raw;
      throw new ConfigError(`${env}=${JSON.stringify(raw)} must be true, false or auto`);
    },
  },
  instructorToken: {
    env: 'IPVS_LAB_INSTRUCTOR_TOKEN',
    description:
      "The instructor's secret, for the dashboard (/instructor) and the workshop API (at least 16 characters). Empty: one is generated at the first start, stored in the database and printed once in the log.",
    default: '',
    parse: (raw: string, env: string) => {
      if (raw.length < 16 || /\s/.test(raw)) throw new ConfigError(`${env} must be at least 16 characters without spaces (it has ${raw.length})`);
      return raw;
    },
  },
  stuckMinutes: {
    env: 'IPVS_LAB_STUCK_MINUTES',
    description: 'The instructor dashboard flags a learner who has been on the same step this long.',
    default: 10,
    parse: integer(1, 24 * 60),
  },
  stuckFailures: {
    env: 'IPVS_LAB_STUCK_FAILURES',
    description: 'The instructor dashboard flags a learner whose checks of the same step failed this many times in a row.',
    default: 3,
    parse: integer(1, 100),
  },
} satisfies Record<string, OptionSpec<unknown>>;

/** Whether a host name or address is this machine's loopback, where only its own users can connect. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Whether anonymous sessions may start: IPVS_LAB_OPEN_SESSIONS, or by default only when the server
 * serves this machine alone: on loopback, and not behind a proxy for others (a public URL elsewhere).
 */
export function sessionsOpen(config: Pick<Config, 'openSessions' | 'host' | 'publicUrl'>): boolean {
  if (config.openSessions !== 'auto') return config.openSessions === 'true';
  const publicHost = config.publicUrl ? new URL(config.publicUrl).hostname.replace(/^\[|\]$/g, '') : undefined;
  return isLoopback(config.host) && (publicHost === undefined || isLoopback(publicHost));
}

type Options = typeof OPTIONS;
export type Config = { readonly [K in keyof Options]: ReturnType<Options[K]['parse']> };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Reads the environment once into a frozen Config. Anything else that needs a setting gets it
 * passed in; nothing else reads process.env. `overrides` lets tests build a config without
 * touching the environment.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const config: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(OPTIONS) as [keyof Options, OptionSpec<unknown>][]) {
    const raw = env[spec.env];
    config[key] = raw === undefined || raw === '' ? spec.default : spec.parse(raw, spec.env);
  }
  return Object.freeze({ ...(config as Config), ...overrides });
}

/** The option table as text, for `--help` and docs. */
export function describeOptions(): string {
  const shown = (v: unknown) => (Array.isArray(v) ? v.join(',') || '(none)' : v === '' ? '(none)' : String(v));
  return Object.values(OPTIONS)
    .map((o) => `  ${o.env.padEnd(28)} ${o.description} (default: ${shown(o.default)})`)
    .join('\n');
}

/**
 * The environment of child processes (the terminals' `docker exec`): this process's own, so
 * DOCKER_HOST, DOCKER_CONFIG and friends reach the docker client. Read here, with the settings.
 */
export function childEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => typeof kv[1] === 'string'));
}

/** The database file of a server: one per server name, so two servers never share one. */
export function databaseFile(config: Pick<Config, 'stateDir' | 'serverName'>): string {
  return path.join(config.stateDir, `${config.serverName}.sqlite`);
}
