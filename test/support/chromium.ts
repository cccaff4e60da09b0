import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import type { NeededProgram } from '../../libs/core/src/system/ensure-installed';

/** Debian's chromium unless CHROMIUM_PATH names another build (e.g. Chrome on macOS). */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** The switches every browser suite launches Chromium with: background networking off (this machine has no network). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's chromium, headless, with its background networking off (this machine has no network). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
}

/** Debian's chromium, where the browser suites look for it (never a downloaded browser). */
export const CHROMIUM_PROGRAM: NeededProgram = {
  command: CHROMIUM,
  purpose: 'for the browser suites',
  apt: 'chromium',
};

/** Set by CI systems (and by .ci/run); "false" or "0" is unset. */
export const inCi = (): boolean => !!process.env.CI && !/^(false|0)$/i.test(process.env.CI);

/**
 * Browser suites run wherever chromium is installed. Elsewhere they are skipped, except in CI, where
 * a missing browser fails each suite with the command that installs it, never passing by skipping.
 */
export const describeInChromium = (name: string, suite: () => void): void => {
  if (existsSync(CHROMIUM)) return describe(name, suite);
  if (!inCi()) return describe.skip(name, suite);
  describe(name, () =>
    it(`needs ${CHROMIUM}`, () => {
      throw new Error(
        `${CHROMIUM} is missing and CI is set: the browser suites cannot run. Install it: sudo apt-get install -y chromium`,
      );
    }),
  );
};
