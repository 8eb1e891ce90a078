// The part of js-yaml (a dependency of the jest toolchain) that contract.ts uses;
// @types/js-yaml is not installed.
declare module 'js-yaml' {
  export const JSON_SCHEMA: unknown;
  export function load(text: string, options?: { schema?: unknown }): unknown;
}
