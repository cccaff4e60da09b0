import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NO_APPS = { group: ['**/apps/**'], message: 'libs never import apps (DESIGN.md)' };
const NO_IDP = {
  group: ['**/idp/src/**', '**/apps/idp/**'],
  message: 'no app imports another app: compose libs instead (DESIGN.md)',
};
const NO_WORKER_APP = {
  group: ['**/apps/worker/**'],
  message: 'no app imports another app: compose libs instead (DESIGN.md)',
};
/** The demo (`npm run demo`) is a sample built on Signoff, not part of it. */
const NO_DEMO = {
  group: ['**/apps/demo/**', '**/demo/src/**'],
  message: 'nothing imports the demo apps (apps/demo): they are samples, not part of Signoff',
};
/** Production code never depends on the tests' harness. */
const NO_TEST = { group: ['**/test/**'], message: 'production code never imports test code (test/)' };
const NO_LIB_INTERNALS = {
  group: ['**/libs/*/src/**', '@signoff/*/src/**'],
  message: 'import a lib by its name (@signoff/x), not its files',
};
const NO_SAML = {
  group: ['@signoff/saml', '**/libs/saml/**'],
  message: 'libs/oidc and libs/saml never import each other',
};
const NO_OIDC = {
  group: ['@signoff/oidc', '**/libs/oidc/**'],
  message: 'libs/oidc and libs/saml never import each other',
};
/** Only libs/logout reads or writes the logout books (its entities live in libs/core with the schema). */
const LOGOUT_BOOKS = {
  name: '@signoff/core',
  importNames: ['LogoutDelivery', 'LogoutOperation', 'LogoutOperationUser'],
  message: 'only libs/logout touches LogoutDelivery/LogoutOperation/LogoutOperationUser: use its services',
};
/** Protocol libraries plug into the engine through LogoutProtocol and the journey, not its internals. */
const LOGOUT_INTERNALS = {
  name: '@signoff/logout',
  importNames: ['LogoutOperationsService', 'BackchannelDeliverer', 'OutboxRelay', 'FlowExecutor', 'LogoutOrchestrator'],
  message: "protocol libraries use the LogoutProtocol interface and LogoutJourney, not the engine's internals",
};

/** Controllers parse HTTP, call one lib entry point and render: the database and Redis are the libs' business. */
const THIN_CONTROLLERS = [
  { name: 'typeorm', message: 'controllers do not query: call a lib service (docs/architecture.md)' },
  {
    name: '@signoff/core',
    importNames: ['RedisService'],
    message: 'controllers do not use Redis: PendingStore, ReplayCache or a lib service',
  },
];

function restrict(files, patterns, paths = []) {
  return { files, rules: { 'no-restricted-imports': ['error', { patterns, paths }] } };
}

function walls() {
  return [
    restrict(['apps/idp/**/*.{ts,tsx}'], [NO_WORKER_APP, NO_DEMO, NO_LIB_INTERNALS], [LOGOUT_BOOKS]),
    restrict(
      ['apps/idp/**/*.controller.{ts,tsx}'],
      [NO_WORKER_APP, NO_DEMO, NO_LIB_INTERNALS],
      [LOGOUT_BOOKS, ...THIN_CONTROLLERS],
    ),
    restrict(['apps/worker/**/*.{ts,tsx}'], [NO_IDP, NO_DEMO, NO_LIB_INTERNALS], [LOGOUT_BOOKS]),
    // The demo composes libs (as the CLI does) and runs the idp as a process, never imports it.
    restrict(['apps/demo/**/*.{ts,tsx}'], [NO_IDP, NO_WORKER_APP, NO_LIB_INTERNALS, NO_TEST], [LOGOUT_BOOKS]),
    restrict(['libs/**/*.{ts,tsx}'], [NO_APPS], [LOGOUT_BOOKS]),
    restrict(['libs/core/**/*.{ts,tsx}', 'libs/logout/**/*.{ts,tsx}'], [NO_APPS]),
    restrict(['libs/oidc/**/*.{ts,tsx}'], [NO_APPS, NO_SAML], [LOGOUT_BOOKS, LOGOUT_INTERNALS]),
    restrict(['libs/saml/**/*.{ts,tsx}'], [NO_APPS, NO_OIDC], [LOGOUT_BOOKS, LOGOUT_INTERNALS]),
    // The Shared Signals transmitter plugs in as the protocols do (SecurityEventTransmitter), and keeps
    // its events' books through SecurityEventBooks.
    restrict(['libs/ssf/**/*.{ts,tsx}'], [NO_APPS, NO_OIDC, NO_SAML], [LOGOUT_BOOKS, LOGOUT_INTERNALS]),
  ];
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'data-demo/', 'coverage/', '.ci/tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
    },
  },
  // The walls of the house (docs/architecture.md). Flat config replaces a rule per file rather than
  // merging it, so each area's restricted imports are composed in one place: walls(...).
  ...walls(),
  // Pages escape by default (apps/idp/src/http/layout.tsx). Raw HTML gets in through its trustedHtml()
  // only; the CSP admits no inline script, handler or style, so pages write none.
  {
    files: ['**/*.ts', '**/*.tsx'],
    ignores: ['apps/idp/src/http/layout.tsx'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "JSXAttribute[name.name='dangerouslySetInnerHTML'], Property[key.name='dangerouslySetInnerHTML']",
          message: 'raw HTML only through trustedHtml() (apps/idp/src/http/layout.tsx)',
        },
        {
          selector: "JSXAttribute[name.name=/^on[A-Za-z]/], JSXAttribute[name.name='style']",
          message: 'the CSP admits no inline handler or style: use a static script or signoff.css',
        },
        {
          selector: "JSXElement[openingElement.name.name='script'][children.length>0]",
          message: 'the CSP admits no inline script: use Script (layout.tsx) with a file of apps/idp/static',
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { sourceType: 'module' } },
  // The pages' scripts (served by StaticController): classic browser scripts, the globals they use.
  {
    files: ['apps/idp/static/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'setTimeout',
          'fetch',
          'URLSearchParams',
          'HTMLIFrameElement',
          'DOMParser',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  { files: ['jest.config.js'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } } },
);
