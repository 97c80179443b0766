/**
 * Loaded as Node loads it: Node 24 strips the types itself (`process.features.typescript`),
 * and Jest 30 tries that before any TypeScript loader, so the config needs none.
 */
import type { Config } from 'jest';

const config: Config = {
  preset: 'ts-jest/presets/default-esm',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  // fauxqs (SQS, SNS) once for the whole run; DynamoDB Local once per test file that uses it.
  testEnvironment: '<rootDir>/test/support/isolated-environment.mjs',
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  testTimeout: 120_000,
  // One file at a time: several files start their own emulators and load, and two cores shared
  // between them would turn a correctness test into a timing lottery.
  maxWorkers: 1,
  // A worker is replaced between files once it holds 1 GB (the integration files' module graphs: handlers,
  // SDK clients, CDK); below that it is reused, which keeps the unit files fast. What made late files slow
  // was the shared DynamoDB Local, not the worker: each file now has its own (isolated-environment.mjs).
  workerIdleMemoryLimit: '1GB',
};

export default config;
