/**
 * The browser side of bench/bench_pageload.py (which starts the servers and
 * prints the table): Chromium page loads, navigation until JupyterLab's
 * launcher (or the spaces home's list) is visible, in milliseconds.
 *
 *   node bench/pageload.js <plan.json>   → one JSON object on stdout
 *
 * "cold" is a fresh browser context (an empty HTTP cache, only the domain's
 * login cookie); "warm" the same URL again in the context that loaded it.
 * Playwright comes from ui-tests/node_modules; the browser is never downloaded.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const uiRequire = createRequire(path.join(__dirname, '..', 'ui-tests', 'package.json'));
const { chromium } = uiRequire('@playwright/test');

const LAUNCHER = '.jp-LauncherCard';
const HOME = '.jp-SpacesHome-inner';

/** What a page still waits for and what failed: said when a load times out. */
function watch(page) {
  const pending = new Set();
  const failed = [];
  page.on('request', q => pending.add(q));
  page.on('requestfinished', q => pending.delete(q));
  page.on('requestfailed', q => {
    pending.delete(q);
    failed.push(`${q.url()} ${q.failure()?.errorText}`);
  });
  page.on('response', r => r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`));
  page.on('pageerror', e => failed.push(`pageerror ${e}`));
  return { pending, failed };
}

/**
 * In every page: the moment (performance.now()) the launcher, or the home's
 * loaded list, is first rendered. Playwright's own wait polls at 0, 20, 50,
 * 100, 100, 500, 500 ... ms, which would add up to half a second to a figure.
 */
function markReady({ launcher, home, loading }) {
  const rendered = el => el !== null && el.getClientRects().length > 0;
  const check = () => {
    if (window.__benchReady === undefined) {
      const ready =
        rendered(document.querySelector(launcher)) ||
        (rendered(document.querySelector(home)) && !document.querySelector(loading));
      if (ready) {
        window.__benchReady = performance.now();
      }
    }
  };
  new MutationObserver(check).observe(document, {
    subtree: true,
    childList: true,
    attributes: true
  });
}

async function timed(page, url, ready) {
  const seen = page._benchWatch || (page._benchWatch = watch(page));
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'commit', timeout: 120000 });
  try {
    await ready(page);
  } catch (error) {
    console.error(`no launcher at ${url} (now ${page.url()}); pending:`);
    seen.pending.forEach(q => console.error(`  ${q.method()} ${q.url()}`));
    console.error('failed:');
    seen.failed.forEach(f => console.error(`  ${f}`));
    throw error;
  }
  // From navigation to the frame that first showed it (the time origin is the
  // navigation's start, before any redirect; Date.now() for a page without the mark).
  const inPage = await page.evaluate(() =>
    window.__benchReady === undefined ? null : performance.timeOrigin + window.__benchReady
  );
  const ms = Math.round((inPage ?? Date.now()) - t0);
  // Let the page finish what it started (settings, kernelspecs ...) before
  // the next navigation, so one load's tail does not fall in the next one.
  await page.waitForLoadState('networkidle', { timeout: 3000 }).catch(() => undefined);
  return ms;
}

const launcher = async page =>
  page.locator(LAUNCHER).first().waitFor({ state: 'visible', timeout: 60000 });
const home = async page => {
  await page.locator(HOME).waitFor({ state: 'visible', timeout: 120000 });
  await page.locator('.jp-SpacesHome-loading').waitFor({ state: 'detached', timeout: 120000 });
};

async function main() {
  const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf-8'));
  const runs = plan.runs;
  const browser = await chromium.launch({
    executablePath: plan.chromium,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...(plan.chromiumArgs || [])
    ]
  });
  const out = {};
  const push = (key, ms) => (out[key] = out[key] || []).push(ms);
  const context = async (storage) => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, storageState: storage });
    await ctx.addInitScript(markReady, { launcher: LAUNCHER, home: HOME, loading: '.jp-SpacesHome-loading' });
    return ctx;
  };

  try {
    for (let i = 0; i < runs; i++) {
      // bare jupyter lab: cold, then warm in the same context
      {
        const ctx = await context(undefined);
        const page = await ctx.newPage();
        push('bare_cold', await timed(page, plan.bare.first, launcher));
        push('bare_warm', await timed(page, plan.bare.again, launcher));
        await ctx.close();
      }
      for (const site of plan.sites) {
        const tag = site.tag;
        // the spaces home
        {
          const ctx = await context(site.storage);
          const page = await ctx.newPage();
          push(`${tag}:home_cold`, await timed(page, site.home, home));
          push(`${tag}:home_warm`, await timed(page, site.home, home));
          await ctx.close();
        }
        // first space cold, second space after it, then switches between them
        {
          const ctx = await context(site.storage);
          const page = await ctx.newPage();
          const [a, b] = site.spaces;
          push(`${tag}:first_cold`, await timed(page, a.entry, launcher));
          push(`${tag}:first_warm`, await timed(page, a.own, launcher));
          push(`${tag}:second`, await timed(page, b.entry, launcher));
          // switching: the other running space's address on the domain, as the home opens it
          push(`${tag}:switch`, await timed(page, a.entry, launcher));
          push(`${tag}:switch`, await timed(page, b.entry, launcher));
          await ctx.close();
        }
      }
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
