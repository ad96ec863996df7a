import {configDefaults, defineConfig} from 'vitest/config'

const FAULTS = 'test/hardening/faults.test.ts'

export default defineConfig({
  test: {
    // The suites spawn the CLI, age, python and Redis: give slow machines room, and keep at most
    // two test files running at once on the 2-core CI machine.
    hookTimeout: 120_000,
    maxWorkers: 2,
    outputFile: {json: '.vitest-results.json'},
    pool: 'forks',
    // The faults suite measures 8 writers contending for one vault lock: it runs after the
    // others, alone, so that what it measures is the writers and not whichever suite shares
    // the two cores with it.
    projects: [
      {
        extends: true,
        test: {
          exclude: [...configDefaults.exclude, FAULTS],
          include: ['test/**/*.test.ts'],
          name: 'main',
          sequence: {groupOrder: 0},
        },
      },
      {extends: true, test: {include: [FAULTS], name: 'faults', sequence: {groupOrder: 1}}},
    ],
    reporters: ['default', 'json'],
    testTimeout: 120_000,
  },
})
