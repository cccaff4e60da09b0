import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureInstalled,
  type InstallCommand,
  MissingProgramError,
  type NeededProgram,
  planInstall,
  REDIS_SERVER,
  type SystemProbe,
  systemProbe,
} from './ensure-installed';

/** A machine described, not asked: which commands it has, who we are, whether sudo asks for a password. */
function machine(
  commands: string[],
  {
    platform = 'linux',
    isRoot = false,
    sudo = false,
  }: { platform?: NodeJS.Platform; isRoot?: boolean; sudo?: boolean },
): SystemProbe & { sudoAsked: number } {
  const probe = {
    platform,
    isRoot,
    sudoAsked: 0,
    has: (command: string) => commands.includes(command),
    passwordlessSudo: () => {
      probe.sudoAsked++;
      return sudo;
    },
  };
  return probe;
}

const CHROMIUM: NeededProgram = { command: '/usr/bin/chromium', purpose: 'for the browser suites', apt: 'chromium' };

describe('planInstall: which command for which machine', () => {
  it('does nothing when the program is there', () => {
    const probe = machine(['redis-server', 'apt-get'], { isRoot: true });
    expect(planInstall(REDIS_SERVER, probe)).toEqual({ kind: 'present' });
  });

  it('as root with apt-get: apt-get install -y, non-interactive, with apt-get update to retry after', () => {
    const probe = machine(['apt-get'], { isRoot: true });
    expect(planInstall(REDIS_SERVER, probe)).toEqual({
      kind: 'install',
      install: { argv: ['apt-get', 'install', '-y', 'redis-server'], env: { DEBIAN_FRONTEND: 'noninteractive' } },
      refresh: { argv: ['apt-get', 'update'], env: { DEBIAN_FRONTEND: 'noninteractive' } },
      manual: 'apt-get install -y redis-server',
    });
    expect(probe.sudoAsked).toBe(0);
  });

  it('not root, passwordless sudo and apt-get: through sudo -n, DEBIAN_FRONTEND passed by env', () => {
    const plan = planInstall(REDIS_SERVER, machine(['apt-get', 'sudo'], { sudo: true }));
    expect(plan).toMatchObject({
      kind: 'install',
      install: {
        argv: ['sudo', '-n', '-k', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', 'redis-server'],
      },
      refresh: { argv: ['sudo', '-n', '-k', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'update'] },
    });
  });

  it('not root and sudo wants a password (or there is no sudo): the one command to run', () => {
    expect(planInstall(REDIS_SERVER, machine(['apt-get', 'sudo'], { sudo: false }))).toEqual({
      kind: 'manual',
      manual: 'sudo apt-get install -y redis-server',
    });
    const noSudo = machine(['apt-get'], { sudo: true });
    expect(planInstall(REDIS_SERVER, noSudo)).toEqual({
      kind: 'manual',
      manual: 'sudo apt-get install -y redis-server',
    });
    expect(noSudo.sudoAsked).toBe(0);
  });

  it('macOS with Homebrew: brew install redis; without it, or as root (brew refuses root), the command to run', () => {
    expect(planInstall(REDIS_SERVER, machine(['brew'], { platform: 'darwin' }))).toEqual({
      kind: 'install',
      install: { argv: ['brew', 'install', 'redis'] },
      manual: 'brew install redis',
    });
    for (const probe of [machine([], { platform: 'darwin' }), machine(['brew'], { platform: 'darwin', isRoot: true })])
      expect(planInstall(REDIS_SERVER, probe)).toEqual({ kind: 'manual', manual: 'brew install redis' });
  });

  it('a Linux without apt-get is left to its own package manager, root or not', () => {
    expect(planInstall(REDIS_SERVER, machine(['dnf', 'sudo'], { isRoot: true, sudo: true }))).toEqual({
      kind: 'manual',
      manual: null,
    });
  });

  it('the same rules for the tests’ chromium, checked at its path; no Homebrew formula gives that path', () => {
    expect(planInstall(CHROMIUM, machine(['apt-get'], { isRoot: true }))).toMatchObject({
      kind: 'install',
      install: { argv: ['apt-get', 'install', '-y', 'chromium'] },
    });
    expect(planInstall(CHROMIUM, machine(['/usr/bin/chromium'], {}))).toEqual({ kind: 'present' });
    expect(planInstall(CHROMIUM, machine(['brew'], { platform: 'darwin' }))).toEqual({ kind: 'manual', manual: null });
  });
});

describe('ensureInstalled', () => {
  it('throws the one command to run (and the alternative) when it cannot install', async () => {
    const attempt = ensureInstalled(REDIS_SERVER, { probe: machine(['apt-get'], {}), run: () => Promise.resolve(0) });
    await expect(attempt).rejects.toThrow(MissingProgramError);
    await expect(attempt).rejects.toThrow(
      'redis-server is not installed; it is needed for its private Redis (REDIS_URL is not set). ' +
        'Run: sudo apt-get install -y redis-server (or point Signoff at a running Redis with REDIS_URL=redis://host:6379)',
    );
  });

  it('tells a machine without apt-get or Homebrew to use its own package manager', async () => {
    await expect(ensureInstalled(REDIS_SERVER, { probe: machine(['dnf'], { isRoot: true }) })).rejects.toThrow(
      "redis-server is not installed; it is needed for its private Redis (REDIS_URL is not set). Install it with your system's package manager (or point",
    );
  });

  it('says what it runs, refreshes the package lists once when the install fails, and checks the result', async () => {
    const installed: string[] = [];
    const probe = {
      ...machine(['apt-get'], { isRoot: true }),
      has: (c: string) => ['apt-get', ...installed].includes(c),
    };
    const ran: string[] = [];
    const said: string[] = [];
    // The first install fails as on a fresh container without package lists; after the update it works.
    const run = async ({ argv }: InstallCommand) => {
      ran.push(argv.join(' '));
      if (argv[1] === 'install' && !ran.includes('apt-get update')) return 100;
      if (argv[1] === 'install') installed.push('redis-server');
      return 0;
    };
    await ensureInstalled(REDIS_SERVER, { probe, run, say: (line) => said.push(line) });
    expect(ran).toEqual(['apt-get install -y redis-server', 'apt-get update', 'apt-get install -y redis-server']);
    expect(said[0]).toBe(
      'redis-server is not installed; it is needed for its private Redis (REDIS_URL is not set). ' +
        'Installing it: DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server',
    );
    expect(said.at(-1)).toBe('installed redis-server');
  });

  it('fails with the command to run when the install fails, or leaves the program still missing', async () => {
    const probe = machine(['apt-get'], { isRoot: true });
    await expect(
      ensureInstalled(REDIS_SERVER, { probe, run: () => Promise.resolve(100), say: () => undefined }),
    ).rejects.toThrow(
      'redis-server could not be installed (DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server failed); ' +
        'it is needed for its private Redis (REDIS_URL is not set). Run: apt-get install -y redis-server',
    );
    await expect(
      ensureInstalled(REDIS_SERVER, { probe, run: () => Promise.resolve(0), say: () => undefined }),
    ).rejects.toThrow('redis-server was installed but is still not found;');
  });
});

describe('systemProbe', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'signoff-probe-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds executable files on the PATH it is given, not plain files or directories', () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'tool'), '#!/bin/sh\n');
    chmodSync(join(bin, 'tool'), 0o755);
    writeFileSync(join(bin, 'data'), '');
    chmodSync(join(bin, 'data'), 0o644);
    mkdirSync(join(bin, 'folder'));
    const probe = systemProbe({ PATH: `/nonexistent:${bin}` });
    expect(probe.has('tool')).toBe(true);
    expect(probe.has(join(bin, 'tool'))).toBe(true);
    expect(probe.has('folder')).toBe(false);
    expect(probe.has('redis-server')).toBe(false);
    expect(probe.has('data')).toBe(false); // even for root: X_OK wants an execute bit
    expect(systemProbe({}).has('tool')).toBe(false);
  });
});
