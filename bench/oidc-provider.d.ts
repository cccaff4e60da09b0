// oidc-provider ships no type declarations; the benchmark uses it untyped.
declare module 'oidc-provider';
