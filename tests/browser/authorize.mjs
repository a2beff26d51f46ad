// Headless Chromium through an authorization code flow:
// client's /authorize URL -> sign-in page -> consent page (Allow) -> redirect to the client's callback.
// Proves the pages work under their CSP in a real browser: `form-action` applies to the whole redirect
// chain of a form submission, so the login and consent pages must allow the verified redirect URI.
// Usage: node authorize.mjs <authorize-url> <callback-prefix> <username> <password>
// Prints one JSON line: {"ok":true,"callback":...} or {"ok":false,"error":...}; exits non-zero on failure.
import { run } from './harness.mjs';

const [authorizeUrl, callbackPrefix, username, password] = process.argv.slice(2);

await run(async ({ page, report }) => {
  await page.goto(authorizeUrl);
  report.signInPath = new URL(page.url()).pathname;
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL('**/consent?request=*'), page.click('button[type=submit]')]);
  report.consentHeading = (await page.textContent('h1'))?.trim();
  await Promise.all([page.waitForURL(`${callbackPrefix}**`), page.click('#allow')]);
  report.callback = page.url();
  report.callbackBody = (await page.textContent('body'))?.trim();
});
