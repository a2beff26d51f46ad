// What every browser journey shares: headless Chromium on a throwaway
// profile with the flags these machines need, a page that collects console
// errors (CSP violations show there), and one JSON line on stdout —
// {"ok":true,...report} or {"ok":false,"error":...,...report} with a
// non-zero exit code.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A headless Chromium on a throwaway profile: { context, close }. A journey
// with two people (two browsers, two cookie jars) opens the second one here.
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'portcullis-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

export async function run(journey) {
  const report = { consoleErrors: [] };
  const { context, close } = await launch();
  try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(20000);
    page.on('console', (msg) => { if (msg.type() === 'error') report.consoleErrors.push(msg.text()); });
    await journey({ page, context, report });
    console.log(JSON.stringify({ ok: true, ...report }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: String(e && e.stack || e), ...report }));
    process.exitCode = 1;
  } finally {
    await close();
  }
}
