import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    // The suites spawn the CLI, age, python and Redis: give slow machines room, and keep at most
    // two test files running at once on the 2-core CI machine.
    hookTimeout: 120_000,
    include: ['test/**/*.test.ts'],
    maxWorkers: 2,
    outputFile: {json: '.vitest-results.json'},
    pool: 'forks',
    reporters: ['default', 'json'],
    testTimeout: 120_000,
  },
})
