/**
 * Two projects: fast unit specs beside the code (src/, tools/), integration suites under test/ and
 * load/ that talk to real services.
 *
 * The application is ESM (NestJS 12 ships only as ESM) and runs as ESM in production and in the
 * suites that start real processes. Inside jest it runs as CommonJS: a stack package
 * (nest-winston) is CommonJS that require()s NestJS, and jest on Node 20 cannot require() an ES
 * module. So swc compiles everything jest loads, our TypeScript and every package, to CommonJS
 * (`import.meta` included): no list of ESM-only packages to keep, and every module, NestJS
 * included, exists once in jest's registry. swc caches what it compiled, so only a cold run pays.
 */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
      keepClassNames: true,
    },
    // CommonJS packages pass through unchanged: no "use strict" is added to them.
    module: { type: 'commonjs', strict: false, strictMode: false, importInterop: 'node' },
    sourceMaps: 'inline',
  },
];

const common = {
  testEnvironment: '<rootDir>/test/support/test-environment.cjs',
  transform: { '^.+\\.(ts|js|mjs|cjs)$': swc },
  transformIgnorePatterns: [],
  // Sources import each other as './x.js' (Node ESM); jest resolves the .ts file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
};

export default {
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  // Applies to both projects: jest ignores testTimeout set inside a project.
  testTimeout: 60_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{src,tools,test,load}/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{test,load}/**/*.e2e-spec.ts'],
    },
  ],
};
