/** Test tiers, each a jest project: `npm run test:<tier>` runs one. */
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }],
  // jose 6 ships only ES modules; jest's CommonJS runtime needs it transpiled.
  '/node_modules/jose/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' } }],
};
const tier = (name, extra = {}) => ({
  displayName: name,
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
  setupFiles: ['<rootDir>/test/helpers/quiet-runtime.ts'],
  ...extra,
});

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    tier('workflows'),
    tier('activities'),
    tier('api'),
    tier('integration'),
    tier('docs'),
    tier('contract'),
    tier('cluster'),
    // A real Chromium against api and worker processes; its setup builds web/dist and provisions Chromium.
    tier('e2e', { globalSetup: '<rootDir>/test/e2e/global-setup.ts' }),
  ],
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  testTimeout: 60_000,
  // No forceExit: every file closes what it opens, and test/helpers/quiet-runtime.ts prints the
  // native runtime's logs itself (log forwarding held a handle open in files without a worker).
};
