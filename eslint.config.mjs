// @ts-check
import js from '@eslint/js';
import importPlugin from 'eslint-plugin-import';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'web/dist/',
      'coverage/',
      'bench/results/',
      'eslint.config.mjs',
      'jest.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    plugins: { import: importPlugin },
    settings: {
      'import/resolver': { typescript: { project: './tsconfig.json' }, node: true },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import/no-cycle': 'error',
      eqeqeq: ['error', 'always'],
      // Activities and handlers are async by contract even when a body needs no await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // One direction of dependencies: entry points → api / workflows → activities → domain
    // (queue, seats, money) → db / redis / shared. Nothing below the HTTP layer imports it.
    files: ['src/**/*.ts'],
    rules: {
      'import/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: [
                './src/queue',
                './src/seats',
                './src/money',
                './src/db',
                './src/redis',
                './src/shared',
                './src/activities',
              ],
              from: './src/api',
              message: 'The domain never imports the HTTP layer.',
            },
            {
              target: ['./src/queue', './src/seats', './src/money', './src/db', './src/redis', './src/shared'],
              from: ['./src/activities', './src/workflows'],
              message: 'The domain sits below activities and workflows.',
            },
            {
              target: ['./src/db', './src/redis', './src/shared'],
              from: ['./src/queue', './src/seats', './src/money'],
              message: 'db, redis and shared sit below the domain modules.',
            },
          ],
        },
      ],
    },
  },
  {
    // Shared process helpers live in scripts/lib: bench imports them, never the other way round.
    files: ['scripts/lib/**/*.ts', 'test/**/*.ts'],
    rules: {
      'import/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: ['./scripts/lib', './test'],
              from: './bench',
              message: 'scripts/lib and tests never import bench/.',
            },
          ],
        },
      ],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Node built-ins are not available in workflow code.' },
            {
              group: ['typeorm', 'ioredis', 'mysql2', 'express', '**/db/**', '**/redis/**', '**/api/**'],
              message: 'Workflows reach I/O only through activities.',
            },
            { group: ['**/activities/**'], allowTypeImports: true, message: 'Import activities as types only.' },
          ],
          paths: ['fs', 'path', 'crypto', 'os', 'http', 'net', 'child_process'],
        },
      ],
    },
  },
  {
    // Identity is a domain module: the HTTP layer uses it, never the other way round.
    files: ['src/identity/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/api/**', '**/activities/**', 'express'],
              message: 'Domain code does not import the HTTP layer.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
