// Headless Chromium through the first-admin journey:
// setup link -> sign in -> enrollment page (admins need a second factor) -> landing ("Signed in as ...") -> sign out -> landing with the sign-in link.
// Usage: node first_admin.mjs <base-url> <setup-url>
// Prints one JSON line: {"ok":true,...} or {"ok":false,"error":...}; exits non-zero on failure.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [base, setupUrl] = process.argv.slice(2);
const PASSWORD = 'a long browser passphrase';
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

  await page.goto(setupUrl);
  await page.getByLabel('Username').fill('root');
  await page.getByLabel('Email').fill('root@example.com');
  await page.fill('#password', PASSWORD);
  await page.fill('#password_confirm', PASSWORD);
  await Promise.all([page.waitForURL('**/login?setup=done'), page.click('button[type=submit]')]);
  report.afterSetup = new URL(page.url()).pathname;
  report.notice = (await page.textContent('p.notice'))?.trim();

  // Keyboard only: type into the focused username field, tab past the passkey
  // button (next to the username) to the password, press Enter.
  await page.keyboard.type('root');
  await page.keyboard.press('Tab');
  report.tabStop = await page.evaluate(() => document.activeElement && document.activeElement.id);
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  // An administrator must have a second factor: sign-in leads to enrollment first.
  await Promise.all([page.waitForURL('**/account?enroll=required*'), page.keyboard.press('Enter')]);
  report.afterSignIn = new URL(page.url()).pathname;
  report.enrollNotice = (await page.textContent('#enroll-required'))?.trim();
  await page.goto(`${base}/`);
  report.landing = (await page.textContent('#signed-in'))?.replace(/\s+/g, ' ').trim();
  const cookie = (await context.cookies(base)).find((c) => c.name === '__Host-portcullis_session');
  report.cookie = cookie && { httpOnly: cookie.httpOnly, secure: cookie.secure, sameSite: cookie.sameSite, path: cookie.path };
  report.stylesheetApplied = await page.evaluate(() => getComputedStyle(document.querySelector('main')).maxWidth);

  await Promise.all([page.waitForSelector('#signed-out'), page.click('button[type=submit]')]);
  report.afterSignOut = (await page.textContent('#signed-out'))?.trim();
  report.signInLink = await page.getAttribute('a.button', 'href');
  report.cookieAfterSignOut = (await context.cookies(base)).some((c) => c.name === '__Host-portcullis_session');

  console.log(JSON.stringify({ ok: true, ...report }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e && e.stack || e), ...report }));
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
