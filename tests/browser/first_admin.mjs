// Headless Chromium through the first-admin journey:
// setup link -> sign in -> enrollment page (admins need a second factor) -> landing ("Signed in as ...") -> sign out -> landing with the sign-in link.
// Usage: node first_admin.mjs <base-url> <setup-url>
// Prints one JSON line: {"ok":true,...} or {"ok":false,"error":...}; exits non-zero on failure.
import { run } from './harness.mjs';

const [base, setupUrl] = process.argv.slice(2);
const PASSWORD = 'a long browser passphrase';

await run(async ({ page, context, report }) => {
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
});
