// Headless Chromium through an authorization code flow:
// client's /authorize URL -> sign-in page -> consent page (Allow) -> redirect to the client's callback.
// Proves the pages work under their CSP in a real browser: `form-action` applies to the whole redirect
// chain of a form submission, so the login and consent pages must allow the verified redirect URI.
// Usage: node authorize.mjs <authorize-url> <callback-prefix> <username> <password>
// Prints one JSON line: {"ok":true,"callback":...} or {"ok":false,"error":...}; exits non-zero on failure.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [authorizeUrl, callbackPrefix, username, password] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'portcullis-chromium-'));
const report = { consoleErrors: [] };

const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('console', (msg) => { if (msg.type() === 'error') report.consoleErrors.push(msg.text()); });

  await page.goto(authorizeUrl);
  report.signInPath = new URL(page.url()).pathname;
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL('**/consent?request=*'), page.click('button[type=submit]')]);
  report.consentHeading = (await page.textContent('h1'))?.trim();
  await Promise.all([page.waitForURL(`${callbackPrefix}**`), page.click('#allow')]);
  report.callback = page.url();
  report.callbackBody = (await page.textContent('body'))?.trim();
  console.log(JSON.stringify({ ok: true, ...report }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e && e.stack || e), ...report }));
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
