import oclif from 'eslint-config-oclif'
import prettier from 'eslint-config-prettier'

// The folders are the layers (README, "Architecture"): a folder imports only the folders below it.
// An import that runs up the diagram, or sideways where no arrow is, fails `npm run lint`.
const LAYERS = {
  cli: ['core', 'vault', 'store', 'jose', 'model', 'fs', 'redis', 'common'],
  commands: ['cli', 'server', 'core', 'vault', 'store', 'jose', 'model', 'fs', 'redis', 'common'],
  common: [],
  core: ['vault', 'store', 'jose', 'model', 'fs', 'redis', 'common'],
  debugger: ['jose', 'common'],
  fast: ['cli', 'core', 'vault', 'store', 'jose', 'model', 'fs', 'redis', 'common'],
  fs: ['common'],
  hooks: ['cli', 'core', 'common'],
  jose: ['common'],
  model: ['jose', 'common'],
  redis: ['common'],
  server: ['core', 'vault', 'store', 'jose', 'model', 'fs', 'redis', 'common'],
  store: ['model', 'jose', 'fs', 'redis', 'common'],
  vault: ['model', 'jose', 'fs', 'redis', 'common'],
}
const layerZones = Object.entries(LAYERS).map(([layer, below]) => ({
  from: Object.keys(LAYERS)
    .filter((other) => other !== layer && !below.includes(other))
    .map((other) => `./src/${other}`),
  message: `src/${layer} may import only ${below.length > 0 ? below.map((b) => `src/${b}`).join(', ') : 'node and packages'} (the layers: README, "Architecture").`,
  target: `./src/${layer}`,
}))

export default [
  {ignores: ['dist', 'node_modules', 'coverage']},
  ...oclif,
  prettier,
  {
    rules: {
      // The contract's JSON is snake_case (JWTIS compatibility).
      camelcase: 'off',
      'max-params': ['warn', 6],
      'n/no-unsupported-features/node-builtins': 'off',
      // Sequential awaits are deliberate where order or the lock matters.
      'no-await-in-loop': 'off',
      // File modes and byte flips are bit operations.
      'no-bitwise': 'off',
      'perfectionist/sort-classes': 'off',
      // chalk's Chalk class (for a per-stream colour level) is a named export.
      'unicorn/import-style': 'off',
      // Commands load their modules lazily (`await import`) so that each pays only for what it uses.
      'unicorn/no-await-expression-member': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'import/no-cycle': 'error',
      'import/no-restricted-paths': ['error', {zones: layerZones}],
      'max-lines-per-function': ['error', {max: 80}],
    },
  },
  {
    // The debugger page and what it shares with Node: browser code, type-checked by its own
    // tsconfig (so no-undef has nothing to add). atob/btoa and char codes are how a browser turns
    // base64 into bytes, byte by byte (code points would be wrong here).
    files: ['src/debugger/**/*.ts'],
    rules: {
      'no-restricted-globals': 'off',
      'no-undef': 'off',
      'unicorn/prefer-code-point': 'off',
    },
  },
  {
    // The entry points are CommonJS (bin/package.json, see bin/run.js): no ES module loader at start-up.
    files: ['bin/*.js'],
    languageOptions: {
      globals: {__dirname: 'readonly', process: 'readonly', require: 'readonly'},
      sourceType: 'commonjs',
    },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      // (the package's dependencies and files are in ../package.json, not in bin/package.json)
      'n/no-extraneous-import': 'off',
      'n/no-unpublished-require': 'off',
      // (a CommonJS file's top level is its module's scope, not the global one)
      'no-implicit-globals': 'off',
      'unicorn/prefer-module': 'off',
      'unicorn/prefer-top-level-await': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      'max-nested-callbacks': 'off',
      // These are vitest files: mocha's rules do not apply (a hook's argument is vitest's context, not `done`).
      'mocha/handle-done-callback': 'off',
      'mocha/max-top-level-suites': 'off',
      'mocha/no-exports': 'off',
      'mocha/no-nested-tests': 'off',
      'mocha/no-return-and-callback': 'off',
      'mocha/no-setup-in-describe': 'off',
      'mocha/no-sibling-hooks': 'off',
      'mocha/no-top-level-hooks': 'off',
      // page.evaluate callbacks run in the browser: TypeScript checks their names
      'no-undef': 'off',
      'no-unused-expressions': 'off',
    },
  },
]
