import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests of the jupyter-spaces frontend against a real domain
 * server (started by global-setup.ts from the repository's Python) in
 * Debian's chromium. Browsers are never downloaded.
 */
export default defineConfig({
  testDir: './tests',
  globalSetup: require.resolve('./global-setup'),
  globalTeardown: require.resolve('./global-teardown'),
  // One worker: the machine is small and tests share one domain.
  workers: 1,
  fullyParallel: false,
  // No retries: a test that passes only on its second try is a failure.
  retries: 0,
  timeout: 90_000,
  expect: {
    timeout: 15_000,
    toHaveScreenshot: {
      // Font hinting and anti-aliasing differ a little between machines.
      maxDiffPixelRatio: 0.02,
      threshold: 0.2,
      animations: 'disabled',
      caret: 'hide'
    }
  },
  reporter: [[process.env.CI ? 'line' : 'list'], ['html', { open: 'never' }]],
  snapshotPathTemplate: '{testDir}/{testFilePath}-snapshots/{arg}{ext}',
  use: {
    viewport: { width: 1280, height: 800 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--font-render-hinting=none'
      ]
    }
  }
});
