// Compiles apps/ and libs/ (.ts, and .tsx: the pages, JSX for preact's runtime) to dist/ with SWC, the
// same transform jest uses, rewriting the @signoff/* path aliases of tsconfig.json into relative
// requires, and copies the static files (STATIC_DIRS) beside them. Type checking is `npm run typecheck`.
//   --if-needed  skip when dist/ is newer than every source file (what `npm start` uses)
//   --quiet      print nothing on success
//   --bench      also compile bench/ and test/support/ (the benchmarks reuse the test harness)
import { transformFile } from '@swc/core';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');
const stamp = join(out, '.build-stamp');
const args = new Set(process.argv.slice(2));
/** Served from disk at run time (apps/idp/src/http/static.controller.ts): copied as they are to dist/. */
const STATIC_DIRS = ['apps/idp/static'];

async function sources(dir) {
  const found = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await sources(path)));
    else if (/\.tsx?$/.test(entry.name) && !/\.(spec|e2e-spec)\.tsx?$|\.d\.ts$/.test(entry.name)) found.push(path);
  }
  return found;
}

async function everyFile(dir) {
  const found = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await everyFile(path)));
    else found.push(path);
  }
  return found;
}

async function mtime(path) {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return 0;
  }
}

const roots = ['apps', 'libs', ...(args.has('--bench') ? ['bench', 'test/support'] : [])];
const files = (await Promise.all(roots.map((dir) => sources(join(root, dir))))).flat();
if (args.has('--if-needed')) {
  const built = await mtime(stamp);
  const statics = (await Promise.all(STATIC_DIRS.map((dir) => everyFile(join(root, dir))))).flat();
  const inputs = [
    ...files,
    ...statics,
    ...STATIC_DIRS.map((dir) => join(root, dir)),
    join(root, 'tsconfig.json'),
    join(root, 'package.json'),
    fileURLToPath(import.meta.url),
  ];
  const newest = Math.max(...(await Promise.all(inputs.map(mtime))));
  const stampText = await readFile(stamp, 'utf8').catch(() => '');
  if (built > newest && stampText.endsWith(roots.join(','))) process.exit(0);
}

const tsconfig = JSON.parse(await readFile(join(root, 'tsconfig.json'), 'utf8'));
await rm(out, { recursive: true, force: true });
await Promise.all(
  files.map(async (file) => {
    const { code, map } = await transformFile(file, {
      swcrc: false,
      sourceMaps: true,
      jsc: {
        parser: { syntax: 'typescript', tsx: file.endsWith('.tsx'), decorators: true },
        transform: {
          legacyDecorator: true,
          decoratorMetadata: true,
          react: { runtime: 'automatic', importSource: 'preact' },
        },
        target: 'es2023',
        baseUrl: root,
        paths: tsconfig.compilerOptions.paths,
      },
      module: { type: 'commonjs' },
    });
    const target = join(out, relative(root, file)).replace(/\.tsx?$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, `${code}\n//# sourceMappingURL=${target.split('/').pop()}.map\n`);
    await writeFile(`${target}.map`, map);
  }),
);
await Promise.all(STATIC_DIRS.map((dir) => cp(join(root, dir), join(out, dir), { recursive: true })));
await writeFile(stamp, `${new Date().toISOString()} ${roots.join(',')}`);
if (!args.has('--quiet')) console.error(`built ${files.length} files into dist/`);
