// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest reads this file as CommonJS
const { availableParallelism } = require('node:os');

// Jest runs TypeScript through SWC (the same transform as scripts/build.mjs). NestJS 12, jose and
// preact 11 are ESM-only, so they are transformed too (STACK.md, gotcha 1).
const ESM = [
  '@nestjs',
  'jose',
  'openid-client',
  'oauth4webapi',
  'file-type',
  'strtok3',
  'token-types',
  '@tokenizer',
  'uint8array-extras',
  '@borewit',
  'cookie',
  'preact',
];

/** SWC's options for TypeScript, as in scripts/build.mjs: TSX (the pages, preact's JSX runtime) is parsed in .tsx files only. */
const typescript = (tsx) => [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', tsx, decorators: true },
      transform: {
        legacyDecorator: true,
        decoratorMetadata: true,
        react: { runtime: 'automatic', importSource: 'preact' },
      },
      target: 'es2023',
    },
    module: { type: 'commonjs' },
  },
];

const base = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.tsx$': typescript(true),
    '^.+\\.ts$': typescript(false),
    '^.+\\.m?js$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2023' }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!.*/node_modules/)(?!(${ESM.join('|')})/)`],
  moduleNameMapper: {
    '^@signoff/(core|sessions|oidc|saml|logout|flows|dispatch|worker|providers|ssf)$': '<rootDir>/libs/$1/src',
  },
};

module.exports = {
  testTimeout: 30000,
  // Two suites at once at least. Jest's default (one worker per core but one) runs them one after the
  // other on a 2-core machine, CI's, where the end-to-end suites mostly wait (a browser, child
  // processes, a deadline): two at once took the SQLite end-to-end run from about 12 minutes to 8.
  maxWorkers: Math.max(2, availableParallelism() - 1),
  // Some suite leaves a handle open after the run (jest warns "did not exit one second after"), and
  // once it kept the process alive for good, so CI never ended. Exit when the results are in; the
  // leak itself is still to be found (run with --detectOpenHandles).
  forceExit: true,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,test/unit}/**/*.spec.{ts,tsx}'] },
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'] },
  ],
};
