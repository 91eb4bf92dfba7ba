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
      'Name put on every container and network this server makes. At start, the server removes everything carrying its name: what a crashed run left behind. Give each server sharing one Docker engine its own name.',
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
} satisfies Record<string, OptionSpec<unknown>>;

type Options = typeof OPTIONS;
export type Config = { readonly [K in keyof Options]: Options[K]['default'] };

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
  return Object.values(OPTIONS)
    .map((o) => `  ${o.env.padEnd(26)} ${o.description} (default: ${String(o.default)})`)
    .join('\n');
}
