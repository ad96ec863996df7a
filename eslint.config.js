import oclif from 'eslint-config-oclif'
import prettier from 'eslint-config-prettier'

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
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      'max-nested-callbacks': 'off',
      // These are vitest files: mocha's rules do not apply.
      'mocha/max-top-level-suites': 'off',
      'mocha/no-exports': 'off',
      'mocha/no-nested-tests': 'off',
      'mocha/no-setup-in-describe': 'off',
      'mocha/no-sibling-hooks': 'off',
      'mocha/no-top-level-hooks': 'off',
      // page.evaluate callbacks run in the browser: TypeScript checks their names
      'no-undef': 'off',
      'no-unused-expressions': 'off',
    },
  },
]
