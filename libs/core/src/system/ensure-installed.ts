import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

// A fresh Debian/Ubuntu machine with only Node.js must run `npm install && npm start` as the README
// writes it (issue 12). What Signoff needs from the system beyond Node is one program, redis-server
// (the tests also want chromium); when it is missing, Signoff installs it if it can do so without
// asking anyone anything, saying what it runs, and otherwise stops with the one command to run.

/** A program Signoff (or its tests) needs, and where it comes from. */
export interface NeededProgram {
  /** Looked up on PATH; an absolute path is checked as it is (e.g. /usr/bin/chromium). */
  command: string;
  /** What it is needed for, as the messages say it: "for its private Redis". */
  purpose: string;
  /** The Debian/Ubuntu package. */
  apt: string;
  /** The Homebrew formula, when installing it there gives `command`. */
  brew?: string;
  /** What else would do instead of installing, appended to the message when nothing was installed. */
  otherwise?: string;
}

/** redis-server, for the private Redis of the embedded defaults (REDIS_URL unset). */
export const REDIS_SERVER: NeededProgram = {
  command: 'redis-server',
  purpose: 'for its private Redis (REDIS_URL is not set)',
  apt: 'redis-server',
  brew: 'redis',
  otherwise: 'or point Signoff at a running Redis with REDIS_URL=redis://host:6379',
};

/** What the decision needs to know of the machine; `systemProbe()` asks the real one. */
export interface SystemProbe {
  platform: NodeJS.Platform;
  /** Running as uid 0. */
  isRoot: boolean;
  /** Is this command on PATH (or, for an absolute path, that executable file there)? */
  has(command: string): boolean;
  /** Does `sudo -n true` succeed (sudo without a password prompt)? Asked only when it matters. */
  passwordlessSudo(): boolean;
}

/** A command line to run, with the environment variables it adds. */
export interface InstallCommand {
  argv: string[];
  env?: Record<string, string>;
}

/**
 * What to do about a program: nothing (`present`); run `install` (when it fails, run `refresh`, if
 * any, and try `install` once more: a fresh container has no apt package lists yet); or tell the
 * user the one command to run (`manual`; null where no one command is known: a system without
 * apt-get or Homebrew).
 */
export type InstallPlan =
  | { kind: 'present' }
  | { kind: 'install'; install: InstallCommand; refresh?: InstallCommand; manual: string }
  | { kind: 'manual'; manual: string | null };

/**
 * The decision, and only the decision (no system is touched here): apt-get as root, or through
 * passwordless sudo; Homebrew on macOS (not as root: brew refuses it); anything else is the user's.
 */
export function planInstall(program: NeededProgram, probe: SystemProbe): InstallPlan {
  if (probe.has(program.command)) return { kind: 'present' };
  if (probe.platform === 'darwin') {
    if (!program.brew) return { kind: 'manual', manual: null };
    const manual = `brew install ${program.brew}`;
    if (probe.has('brew') && !probe.isRoot)
      return { kind: 'install', install: { argv: ['brew', 'install', program.brew] }, manual };
    return { kind: 'manual', manual };
  }
  if (!probe.has('apt-get')) return { kind: 'manual', manual: null };
  const manual = `${probe.isRoot ? '' : 'sudo '}apt-get install -y ${program.apt}`;
  // DEBIAN_FRONTEND: no debconf question may wait for a terminal nobody watches. Through sudo it is
  // given to `env`, as sudo would otherwise drop it from the environment (env_reset).
  const apt = (...args: string[]): InstallCommand | undefined =>
    probe.isRoot
      ? { argv: ['apt-get', ...args], env: { DEBIAN_FRONTEND: 'noninteractive' } }
      : probe.has('sudo') && probe.passwordlessSudo()
        ? { argv: ['sudo', '-n', '-k', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args] }
        : undefined;
  const install = apt('install', '-y', program.apt);
  if (!install) return { kind: 'manual', manual };
  return { kind: 'install', install, refresh: apt('update'), manual };
}

/** The program is missing and was not installed: the message names the command to run. */
export class MissingProgramError extends Error {
  constructor(
    readonly program: NeededProgram,
    readonly manual: string | null,
    why: string,
  ) {
    super(
      `${program.command} ${why}; it is needed ${program.purpose}. ${howToInstall(manual)}` +
        (program.otherwise ? ` (${program.otherwise})` : ''),
    );
    this.name = 'MissingProgramError';
  }
}

/** What to tell the user: "Run: <the command>", or to use their own package manager when no one command is known. */
export function howToInstall(manual: string | null): string {
  return manual ? `Run: ${manual}` : "Install it with your system's package manager";
}

export interface EnsureOptions {
  probe?: SystemProbe;
  /** Runs a command, its output on our stderr; resolves with its exit code. */
  run?: (command: InstallCommand) => Promise<number>;
  /** Where to say what is being done. */
  say?: (line: string) => void;
}

/**
 * Makes sure `program` is there: installs it as {@link planInstall} decides, saying so, or throws a
 * {@link MissingProgramError} naming the one command the user should run.
 */
export async function ensureInstalled(program: NeededProgram, options: EnsureOptions = {}): Promise<void> {
  const probe = options.probe ?? systemProbe();
  const run = options.run ?? runCommand;
  const say = options.say ?? ((line: string) => process.stderr.write(`signoff: ${line}\n`));
  const plan = planInstall(program, probe);
  if (plan.kind === 'present') return;
  if (plan.kind === 'manual') throw new MissingProgramError(program, plan.manual, 'is not installed');
  say(`${program.command} is not installed; it is needed ${program.purpose}. Installing it: ${show(plan.install)}`);
  let code = await run(plan.install);
  if (code !== 0 && plan.refresh) {
    say(`that failed (exit code ${code}); refreshing the package lists first: ${show(plan.refresh)}`);
    if ((await run(plan.refresh)) === 0) code = await run(plan.install);
  }
  if (code !== 0)
    throw new MissingProgramError(program, plan.manual, `could not be installed (${show(plan.install)} failed)`);
  if (!probe.has(program.command))
    throw new MissingProgramError(program, plan.manual, 'was installed but is still not found');
  say(`installed ${program.command}`);
}

const show = (command: InstallCommand) =>
  [...Object.entries(command.env ?? {}).map(([name, value]) => `${name}=${value}`), ...command.argv].join(' ');

function runCommand(command: InstallCommand): Promise<number> {
  return new Promise((resolve) => {
    // stdout too goes to stderr: a server's stdout carries its JSON log lines.
    const child = spawn(command.argv[0], command.argv.slice(1), {
      env: { ...process.env, ...command.env },
      stdio: ['ignore', process.stderr, process.stderr],
    });
    child.once('error', () => resolve(127));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** The real machine. `env` gives PATH (the process's own unless said). */
export function systemProbe(env: NodeJS.ProcessEnv = process.env): SystemProbe {
  return {
    platform: process.platform,
    isRoot: process.getuid?.() === 0,
    has: (command) => isExecutable(command, env.PATH ?? ''),
    // -k: credentials cached by a recent `sudo` in the same terminal do not count; only a NOPASSWD rule does.
    passwordlessSudo: () => spawnSync('sudo', ['-n', '-k', 'true'], { stdio: 'ignore', timeout: 10_000 }).status === 0,
  };
}

function isExecutable(command: string, path: string): boolean {
  const candidates = command.includes('/')
    ? [command]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, command));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
}
