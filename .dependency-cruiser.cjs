/**
 * The layering rules (docs/ARCHITECTURE.md), checked in CI by `npm run arch`:
 *   test/, load/ → tools/ → src/; test/ and load/ never import each other;
 *   inside src/: composition (main, bootstrap, app modules, HTTP set-up) → features → common/ →
 *   config/; domain/ folders are plain TypeScript; no cycles anywhere.
 */
const FEATURES = '(admin|auth|events|health|metrics|order|rate-limit|stock|users)';

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'A cycle means two modules are one: merge them or move what they share down.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'product-imports-no-tooling',
      comment: 'src/ is the product: nothing in it may need tools/, test/ or load/ to run.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(tools|test|load)/' },
    },
    {
      name: 'tools-serve-tests-not-the-reverse',
      comment:
        'tools/ (offline MongoDB, harness, storefront client, dev runner) is shared by test/ and load/.',
      severity: 'error',
      from: { path: '^tools/' },
      to: { path: '^(test|load)/' },
    },
    {
      name: 'tests-and-load-apart',
      comment: 'What both need lives in tools/.',
      severity: 'error',
      from: { path: '^(test|load)/' },
      to: { path: '^(test|load)/', pathNot: '^$1/' },
    },
    {
      name: 'bottom-layer-imports-no-feature',
      comment: 'common/ and config/ are the bottom layer: features use them, never the reverse.',
      severity: 'error',
      from: { path: '^src/(common|config)/' },
      to: { path: `^src/${FEATURES}/` },
    },
    {
      name: 'config-is-the-floor',
      comment: 'config/ reads the environment and imports nothing of ours.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/(?!config/)' },
    },
    {
      name: 'features-do-not-import-the-composition',
      comment:
        'Only the files at the top of src/ wire modules together; features never import them.',
      severity: 'error',
      from: { path: '^src/[^/]+/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    {
      name: 'domain-is-plain',
      comment:
        'domain/ holds plain functions with exhaustive unit tests: no framework, database or queue. ' +
        'Luxon (calendar arithmetic in IANA zones, no I/O) is as plain as the standard library; ' +
        'specs may use fast-check.',
      severity: 'error',
      from: { path: '^src/[^/]+/domain/', pathNot: '\\.spec\\.ts$' },
      to: { path: '^(node_modules|src/(?![^/]+/domain/))', pathNot: '^node_modules/luxon/' },
    },
    {
      name: 'domain-specs-are-plain',
      comment: 'Domain specs: the domain, jest and fast-check, nothing else.',
      severity: 'error',
      from: { path: '^src/[^/]+/domain/.+\\.spec\\.ts$' },
      to: {
        path: '^(node_modules|src/(?![^/]+/domain/))',
        pathNot: '^node_modules/(fast-check|@jest|@types/jest)/',
      },
    },
    {
      name: 'product-uses-runtime-dependencies',
      comment:
        'What src/ imports must be in "dependencies": the production image installs only those.',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.spec\\.ts$' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'resolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|coverage|load/results|\\.data)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mjs', '.cjs', '.js', '.json'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
