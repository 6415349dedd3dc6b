/**
 * Two projects: fast unit specs beside the code, integration suites under test/ that talk to real
 * services.
 *
 * The application is ESM (NestJS 12 ships only as ESM) and runs as ESM in production and in the
 * tests that start real processes. Inside jest it runs as CommonJS: a stack package
 * (nest-winston) is CommonJS that require()s NestJS, and jest on Node 20 cannot
 * require() an ES module. So ts-jest compiles our TypeScript and the ESM-only packages to CommonJS,
 * and every module, NestJS included, exists once in jest's registry.
 */
const ESM_ONLY = [
  '@nestjs',
  'file-type',
  'strtok3',
  'token-types',
  'peek-readable',
  'uint8array-extras',
  '@tokenizer',
  'load-esm',
];

const common = {
  testEnvironment: '<rootDir>/test/support/test-environment.cjs',
  transform: {
    '^.+\\.[tj]s$': [
      '<rootDir>/test/support/jest-esm-to-cjs.cjs',
      { tsconfig: 'tsconfig.jest.json' },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  // Sources import each other as './x.js' (Node ESM); jest resolves the .ts file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  moduleFileExtensions: ['ts', 'js', 'json'],
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
