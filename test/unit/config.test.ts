import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { ConfigError, describeOptions, loadConfig, OPTIONS, PROJECT_ROOT, sessionsOpen } from '../../server/src/config.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Asserts that loading `env` fails with a ConfigError whose message is exactly `message`. */
function assertConfigError(env: Record<string, string>, message: string): void {
  assert.throws(
    () => loadConfig(env),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
      assert.equal(e.name, 'ConfigError');
      assert.equal(e.message, message);
      return true;
    },
  );
}

describe('loadConfig', () => {
  it('finds the repository root from its own file', () => {
    assert.equal(path.resolve(PROJECT_ROOT), path.resolve(repoRoot));
  });

  it('gives every default when the environment is empty', () => {
    assert.deepEqual(
      { ...loadConfig({}) },
      {
        port: 3000,
        host: '127.0.0.1',
        labsDir: path.join(PROJECT_ROOT, 'labs'),
        containersDir: path.join(PROJECT_ROOT, 'containers'),
        idleMinutes: 60,
        maxSessions: 40,
        serverName: 'default',
        requireIpvs: true,
        dockerCli: 'docker',
        replayKib: 1024,
        dockerHost: 'unix:///var/run/docker.sock',
        checkTimeoutMs: 30000,
        publicUrl: '',
        allowedHosts: [],
        stateDir: path.join(PROJECT_ROOT, 'state'),
        subnetPool: '10.200.0.0/16',
        subnetPrefix: 28,
        memoryMib: 256,
        panelIntervalMs: 500,
        panelReads: 4,
        pids: 256,
        cpus: 1,
        cpuShares: 512,
        dropCapabilities: ['NET_RAW', 'MKNOD', 'AUDIT_WRITE', 'SETFCAP', 'SYS_CHROOT'],
        maxPagesPerSession: 4,
        pingSeconds: 5,
        openSessions: 'auto',
        instructorToken: '',
        stuckMinutes: 10,
        stuckFailures: 3,
      },
    );
  });

  it('treats an empty variable as unset', () => {
    assert.equal(loadConfig({ PORT: '', IPVS_LAB_REQUIRE_IPVS: '' }).port, 3000);
    assert.equal(loadConfig({ IPVS_LAB_REQUIRE_IPVS: '' }).requireIpvs, true);
  });

  it('reads only the env object it is given, and only the variables in OPTIONS', () => {
    const read = new Set<string>();
    const env = new Proxy<Record<string, string>>(
      { PORT: '8080' },
      {
        get(target, key): string | undefined {
          if (typeof key === 'string') read.add(key);
          return target[key as string];
        },
      },
    );
    assert.equal(loadConfig(env).port, 8080);
    assert.deepEqual(
      [...read].sort(),
      Object.values(OPTIONS)
        .map((o) => o.env)
        .sort(),
    );
  });

  it('parses every option from its variable', () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '0.0.0.0',
      IPVS_LAB_LABS_DIR: '/srv/labs',
      IPVS_LAB_CONTAINERS_DIR: '/srv/containers/',
      IPVS_LAB_IDLE_MINUTES: '5',
      IPVS_LAB_MAX_SESSIONS: '1000',
      IPVS_LAB_SERVER_NAME: 'class-2.a_b',
      IPVS_LAB_REQUIRE_IPVS: 'false',
      IPVS_LAB_DOCKER_CLI: '/usr/local/bin/docker',
      DOCKER_HOST: 'tcp://10.0.0.5:2375',
      IPVS_LAB_CHECK_TIMEOUT_MS: '100',
      IPVS_LAB_REPLAY_KIB: '16',
      IPVS_LAB_PUBLIC_URL: 'https://Lab.Example.org:8443/some/path',
      IPVS_LAB_ALLOWED_HOSTS: ' lab2.example.org, *.Class.example.org ,',
      IPVS_LAB_STATE_DIR: '/var/lib/ipvs-lab',
      IPVS_LAB_SUBNET_POOL: '10.99.0.0/20',
      IPVS_LAB_SUBNET_PREFIX: '27',
      IPVS_LAB_MEMORY_MIB: '128',
      IPVS_LAB_PANEL_INTERVAL_MS: '250',
      IPVS_LAB_PANEL_READS: '2',
      IPVS_LAB_PIDS: '100',
      IPVS_LAB_CPUS: '0.5',
      IPVS_LAB_CPU_SHARES: '256',
      IPVS_LAB_DROP_CAPABILITIES: 'cap_net_raw,MKNOD',
      IPVS_LAB_MAX_PAGES: '2',
      IPVS_LAB_PING_SECONDS: '1',
      IPVS_LAB_OPEN_SESSIONS: 'true',
      IPVS_LAB_INSTRUCTOR_TOKEN: 'a-secret-of-16-chars',
      IPVS_LAB_STUCK_MINUTES: '15',
      IPVS_LAB_STUCK_FAILURES: '5',
    });
    assert.deepEqual(
      { ...config },
      {
        port: 0,
        host: '0.0.0.0',
        labsDir: '/srv/labs',
        containersDir: '/srv/containers',
        idleMinutes: 5,
        maxSessions: 1000,
        serverName: 'class-2.a_b',
        requireIpvs: false,
        dockerCli: '/usr/local/bin/docker',
        replayKib: 16,
        dockerHost: 'tcp://10.0.0.5:2375',
        checkTimeoutMs: 100,
        publicUrl: 'https://lab.example.org:8443',
        allowedHosts: ['lab2.example.org', '*.class.example.org'],
        stateDir: '/var/lib/ipvs-lab',
        subnetPool: '10.99.0.0/20',
        subnetPrefix: 27,
        memoryMib: 128,
        panelIntervalMs: 250,
        panelReads: 2,
        pids: 100,
        cpus: 0.5,
        cpuShares: 256,
        dropCapabilities: ['NET_RAW', 'MKNOD'],
        maxPagesPerSession: 2,
        pingSeconds: 1,
        openSessions: 'true',
        instructorToken: 'a-secret-of-16-chars',
        stuckMinutes: 15,
        stuckFailures: 5,
      },
    );
  });

  it('opens anonymous sessions by default only on loopback, and as told otherwise', () => {
    assert.equal(sessionsOpen(loadConfig({})), true);
    assert.equal(sessionsOpen(loadConfig({ HOST: 'localhost' })), true);
    assert.equal(sessionsOpen(loadConfig({ HOST: '::1' })), true);
    assert.equal(sessionsOpen(loadConfig({ HOST: '0.0.0.0' })), false);
    assert.equal(sessionsOpen(loadConfig({ HOST: '192.168.1.5' })), false);
    assert.equal(sessionsOpen(loadConfig({ HOST: '0.0.0.0', IPVS_LAB_OPEN_SESSIONS: 'true' })), true);
    // Behind a reverse proxy for others: loopback, but not only this machine's users.
    assert.equal(sessionsOpen(loadConfig({ IPVS_LAB_PUBLIC_URL: 'https://lab.example.org' })), false);
    assert.equal(sessionsOpen(loadConfig({ IPVS_LAB_PUBLIC_URL: 'http://localhost:3000' })), true);
    assert.equal(sessionsOpen(loadConfig({ HOST: '127.0.0.1', IPVS_LAB_OPEN_SESSIONS: 'false' })), false);
    assertConfigError({ IPVS_LAB_OPEN_SESSIONS: 'yes' }, 'IPVS_LAB_OPEN_SESSIONS="yes" must be true, false or auto');
    assertConfigError({ IPVS_LAB_INSTRUCTOR_TOKEN: 'short' }, 'IPVS_LAB_INSTRUCTOR_TOKEN must be at least 16 characters without spaces (it has 5)');
  });

  it('rejects hosts, URLs, ranges and numbers it cannot use, naming the variable', () => {
    assertConfigError(
      { IPVS_LAB_ALLOWED_HOSTS: 'ok.example.org,bad host' },
      'IPVS_LAB_ALLOWED_HOSTS: "bad host" is not a host name (such as lab.example.org, or *.example.org for every name under it)',
    );
    assertConfigError(
      { IPVS_LAB_PUBLIC_URL: 'lab.example.org' },
      'IPVS_LAB_PUBLIC_URL="lab.example.org" is not a URL; give the address learners open, such as https://lab.example.org',
    );
    assertConfigError({ IPVS_LAB_PUBLIC_URL: 'ftp://lab.example.org' }, 'IPVS_LAB_PUBLIC_URL="ftp://lab.example.org" must start with http:// or https://');
    assertConfigError({ IPVS_LAB_SUBNET_POOL: '10.200.0.0' }, 'IPVS_LAB_SUBNET_POOL="10.200.0.0" must be an IPv4 range such as 10.200.0.0/16');
    assertConfigError({ IPVS_LAB_CPUS: '0' }, 'IPVS_LAB_CPUS="0" must be a number from 0.05 to 64');
    assertConfigError({ IPVS_LAB_CPUS: '1,5' }, 'IPVS_LAB_CPUS="1,5" must be a number from 0.05 to 64');
    assertConfigError({ IPVS_LAB_DROP_CAPABILITIES: 'NET-RAW' }, 'IPVS_LAB_DROP_CAPABILITIES: "NET-RAW" is not a capability name such as NET_RAW');
    assertConfigError({ IPVS_LAB_SUBNET_PREFIX: '30' }, 'IPVS_LAB_SUBNET_PREFIX="30" must be an integer from 16 to 29');
  });

  it('resolves relative folders to absolute paths', () => {
    const config = loadConfig({ IPVS_LAB_LABS_DIR: 'my-labs' });
    assert.ok(path.isAbsolute(config.labsDir), config.labsDir);
    assert.equal(config.labsDir, path.resolve('my-labs'));
  });

  it('reads booleans in their usual spellings, in any case', () => {
    for (const raw of ['1', 'true', 'TRUE', 'yes', 'On']) assert.equal(loadConfig({ IPVS_LAB_REQUIRE_IPVS: raw }).requireIpvs, true, raw);
    for (const raw of ['0', 'false', 'False', 'no', 'OFF']) assert.equal(loadConfig({ IPVS_LAB_REQUIRE_IPVS: raw }).requireIpvs, false, raw);
  });

  it('rejects a port that is not an integer, naming the variable and the value', () => {
    assertConfigError({ PORT: 'abc' }, 'PORT="abc" must be an integer from 0 to 65535');
    assertConfigError({ PORT: '80.5' }, 'PORT="80.5" must be an integer from 0 to 65535');
  });

  it('rejects integers outside their range, giving the range', () => {
    assertConfigError({ PORT: '-1' }, 'PORT="-1" must be an integer from 0 to 65535');
    assertConfigError({ PORT: '65536' }, 'PORT="65536" must be an integer from 0 to 65535');
    assertConfigError({ IPVS_LAB_IDLE_MINUTES: '0' }, 'IPVS_LAB_IDLE_MINUTES="0" must be an integer from 1 to 10080');
    assertConfigError({ IPVS_LAB_MAX_SESSIONS: '1001' }, 'IPVS_LAB_MAX_SESSIONS="1001" must be an integer from 1 to 1000');
    assertConfigError({ IPVS_LAB_CHECK_TIMEOUT_MS: '99' }, 'IPVS_LAB_CHECK_TIMEOUT_MS="99" must be an integer from 100 to 600000');
  });

  it('rejects a boolean it cannot read', () => {
    assertConfigError({ IPVS_LAB_REQUIRE_IPVS: 'maybe' }, 'IPVS_LAB_REQUIRE_IPVS="maybe" must be true or false');
    assertConfigError({ IPVS_LAB_REQUIRE_IPVS: 'truee' }, 'IPVS_LAB_REQUIRE_IPVS="truee" must be true or false');
  });

  it('rejects server names that cannot label Docker objects', () => {
    for (const raw of ['a b', '-lead', 'x'.repeat(64), 'ä']) {
      assertConfigError({ IPVS_LAB_SERVER_NAME: raw }, `IPVS_LAB_SERVER_NAME=${JSON.stringify(raw)} must be letters, digits, '.', '_' or '-' (at most 63)`);
    }
    assert.equal(loadConfig({ IPVS_LAB_SERVER_NAME: 'x'.repeat(63) }).serverName, 'x'.repeat(63));
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    assert.equal(Object.isFrozen(config), true);
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
    assert.equal(config.port, 3000);
  });

  it('applies overrides after the environment and still freezes', () => {
    const config = loadConfig({ PORT: '8080', HOST: '0.0.0.0' }, { port: 0, requireIpvs: false });
    assert.equal(config.port, 0);
    assert.equal(config.requireIpvs, false);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(Object.isFrozen(config), true);
  });
});

describe('describeOptions', () => {
  it('lists every variable with its default', () => {
    const text = describeOptions();
    for (const o of Object.values(OPTIONS)) assert.ok(text.includes(o.env), o.env);
    assert.match(text, /PORT\s+HTTP port to listen on \(0 picks a free one\)\. \(default: 3000\)/);
    assert.match(text, /IPVS_LAB_REQUIRE_IPVS\s+.*\(default: true\)/);
    assert.equal(text.split('\n').length, Object.keys(OPTIONS).length);
  });
});
