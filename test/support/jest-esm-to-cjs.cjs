// Jest transformer: ts-jest compiling TypeScript and ESM-only packages to CommonJS, after replacing
// `import.meta` (ESM-only syntax that TypeScript leaves in place) with its CommonJS equivalents,
// which is all the ESM-only packages of this project need.
const { TsJestTransformer } = require('ts-jest');

const IMPORT_META = [
  [/\bimport\.meta\.resolve\b/g, 'require.resolve'],
  [/\bimport\.meta\.url\b/g, "require('node:url').pathToFileURL(__filename).href"],
  [/\bimport\.meta\.dirname\b/g, '__dirname'],
  [/\bimport\.meta\.filename\b/g, '__filename'],
  // `const require = createRequire(import.meta.url)` would shadow CommonJS's own require.
  [/\b(const|let|var)\s+require\s*=/g, '$1 esmRequire ='],
];

class EsmToCjsTransformer extends TsJestTransformer {
  process(source, path, options) {
    return super.process(withoutImportMeta(source), path, options);
  }

  async processAsync(source, path, options) {
    return super.processAsync(withoutImportMeta(source), path, options);
  }

  getCacheKey(source, path, options) {
    return super.getCacheKey(withoutImportMeta(source), path, options);
  }
}

function withoutImportMeta(source) {
  if (!source.includes('import.meta')) return source;
  return IMPORT_META.reduce(
    (text, [pattern, replacement]) => text.replace(pattern, replacement),
    source,
  );
}

module.exports = { createTransformer: (config) => new EsmToCjsTransformer(config) };
