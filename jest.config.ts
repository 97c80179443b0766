/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

const config: Config = {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: '<rootDir>/test/support/isolated-environment.mjs',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  // One embedded AWS for the whole run; each test file provisions its own table.
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  testTimeout: 120_000,
  // One file at a time: several files start their own emulators and load, and two cores shared
  // between them would turn a correctness test into a timing lottery.
  maxWorkers: 1,
  // A fresh worker for every file (any worker holds more than 1 MB): each file's ESM module graph
  // (handlers, SDK clients, CDK) and whatever its stack left running go with it, so the last files of the
  // run (the 2,200-attempt spike, the restock race) are not slowed by the first ones.
  workerIdleMemoryLimit: '1MB',
};

export default config;
