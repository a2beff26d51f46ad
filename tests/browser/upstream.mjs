// Headless Chromium signing in to a relying party of Portcullis through an
// upstream provider: the relying party's /authorize URL -> Portcullis's
// sign-in page -> "Continue with <label>" -> the upstream's sign-in (and
// consent) pages -> back to Portcullis -> the relying party's callback.
// With a seventh argument `prove`, Portcullis asks the person to sign in to the
// account that has the upstream's address first (to link it): the same username
// and password are typed there too.
// Usage: node upstream.mjs <authorize-url> <label> <portcullis|node> <username> <password> <callback-prefix> [prove]
// Prints one JSON line (see harness.mjs).
import { run } from './harness.mjs';

const [authorizeUrl, label, kind, username, password, callbackPrefix, prove] = process.argv.slice(2);
const home = new URL(authorizeUrl).origin;

await run(async ({ page, report }) => {
  await page.goto(authorizeUrl);
  report.signInPath = new URL(page.url()).pathname;
  const button = page.locator('a.upstream', { hasText: `Continue with ${label}` });
  await Promise.all([page.waitForURL((url) => url.origin !== home), button.click()]);
  report.upstreamOrigin = new URL(page.url()).origin;
  if (kind === 'portcullis') {
    await page.fill('#username', username);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL((url) => url.origin !== report.upstreamOrigin), page.click('button[type=submit]')]);
  } else {
    await page.fill('input[name=login]', username);
    await page.fill('input[name=password]', password);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    // The provider's consent page, unless it went on by itself.
    if (new URL(page.url()).origin === report.upstreamOrigin) {
      await Promise.all([page.waitForURL((url) => url.origin !== report.upstreamOrigin), page.click('button[type=submit]')]);
    }
  }
  if (prove === 'prove') {
    await page.waitForURL((url) => url.origin === home && url.pathname === '/login');
    report.proveNotice = (await page.textContent('.notice'))?.trim();
    await page.fill('#username', username);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL(`${callbackPrefix}**`), page.click('form[action="/login"] button[type=submit]')]);
  }
  await page.waitForURL(`${callbackPrefix}**`);
  report.callback = page.url();
  report.callbackBody = (await page.textContent('body'))?.trim();
});
