import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every file under /static/, with its content type: the stylesheet and the pages' scripts (the CSP
 * admits scripts and styles from there only). Only these names are served: a request picks a name
 * from this list, never a path.
 */
export const STATIC_FILES = {
  'signoff.css': 'css',
  'console.css': 'css',
  'auto-post.js': 'js',
  'logout-page.js': 'js',
  'chain-step.js': 'js',
  'check-session.js': 'js',
  'live-region.js': 'js',
  'logout-status.js': 'js',
  'api-docs.js': 'js',
  'metadata-file.js': 'js',
  'local-time.js': 'js',
} as const;

export type StaticFileName = keyof typeof STATIC_FILES;
/** The scripts a page may load (layout.tsx's Script). */
export type StaticScript = {
  [Name in StaticFileName]: (typeof STATIC_FILES)[Name] extends 'js' ? Name : never;
}[StaticFileName];

/**
 * apps/idp/static, found from this file: apps/idp/src/http when running from source (jest), and
 * dist/apps/idp/src/http when running the build, where scripts/build.mjs copies the folder to
 * dist/apps/idp/static.
 */
export const STATIC_DIR = join(__dirname, '..', '..', 'static');

/** Reads every file of STATIC_FILES from `dir` (a missing one throws: the application does not start without it). */
export function loadStaticFiles(dir = STATIC_DIR): ReadonlyMap<string, { type: 'css' | 'js'; body: string }> {
  return new Map(
    Object.entries(STATIC_FILES).map(([name, type]) => [name, { type, body: readFileSync(join(dir, name), 'utf8') }]),
  );
}
