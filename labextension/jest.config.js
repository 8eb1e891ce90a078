/**
 * Unit tests run in node with ts-jest. JupyterLab 4 packages ship ES
 * modules, so they are transformed too (allowJs in tsconfig.test.json).
 */
const esModules = [
  '@codemirror',
  '@jupyterlab/',
  '@jupyter/',
  '@microsoft',
  'exenv-es6',
  'lib0',
  'nanoid',
  'y-protocols',
  'yjs'
].join('|');

module.exports = {
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/jest-shims.js'],
  testRegex: 'src/.*/.*\\.spec\\.tsx?$',
  transform: {
    '^.+\\.[jt]sx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esModules})).+`],
  moduleNameMapper: {
    '\\.(css|svg)$': '<rootDir>/src/__tests__/stub.js'
  },
  collectCoverageFrom: ['src/**/*.ts', '!src/**/*.d.ts', '!src/__tests__/**']
};
