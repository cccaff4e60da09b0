import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/', '.ci/tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
    },
  },
  {
    files: ['libs/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/apps/**'], message: 'libs never import apps (DESIGN.md)' }] }] },
  },
  {
    files: ['apps/idp/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/worker/src/**', '**/apps/worker/**'], message: 'no app imports another app: compose libs instead (DESIGN.md)' }] }] },
  },
  {
    files: ['apps/worker/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/idp/src/**', '**/apps/idp/**'], message: 'no app imports another app: compose libs instead (DESIGN.md)' }] }] },
  },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { sourceType: 'module' } },
  { files: ['jest.config.js'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } } },
);
