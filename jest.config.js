/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFiles: ['<rootDir>/test/support/env.ts'],
  testTimeout: 30000,
  // Test files run in a worker that is replaced once it holds more than this after a file: on a
  // 2-core machine jest would otherwise run every file in its main process (one worker or less
  // means "in band"), where what each file leaves behind (its module registry, held by a timer
  // or socket) added up to the 4 GB heap limit at the end of a full run.
  workerIdleMemoryLimit: '1GB',
};
