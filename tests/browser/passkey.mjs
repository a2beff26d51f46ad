// Headless Chromium with a CDP virtual authenticator (ctap2, internal,
// resident keys, user verification) through the passkey journey:
// sign in with the password -> account page -> add a passkey -> recovery
// codes -> sign out -> the client's /authorize URL -> autofill offers the
// passkey (nothing typed) -> the client's callback -> sign out -> again with
// autofill unavailable -> "Sign in with a passkey" -> the callback.
// Usage: node passkey.mjs <base-url> <username> <password> <authorize-url> <callback-prefix> <authorize-url-2>
// Prints one JSON line: {"ok":true,...} or {"ok":false,"error":...}; exits non-zero on failure.
import { run } from './harness.mjs';

const [base, username, password, authorizeUrl, callbackPrefix, authorizeUrl2] = process.argv.slice(2);

await run(async ({ page, context, report }) => {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    },
  });

  // 1. Password sign-in.
  await page.goto(`${base}/login`);
  report.passkeyButton = (await page.textContent('#passkey-signin'))?.trim();
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/`), page.click('button[type=submit]')]);

  // 2. Register a passkey from the account page; the first factor brings recovery codes.
  await page.goto(`${base}/account`);
  await page.fill('#passkey-name', 'Virtual key');
  await Promise.all([page.waitForSelector('#recovery-codes'), page.click('#passkey-add')]);
  report.recoveryCodes = await page.locator('#recovery-codes li').count();
  await Promise.all([page.waitForURL(`${base}/account`), page.click('#codes-saved')]);
  report.passkeyRows = await page.locator('tr.passkey-row').count();
  report.passkeyName = (await page.textContent('tr.passkey-row td'))?.trim();
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  report.credentials = credentials.length;
  report.residentKey = credentials[0] && credentials[0].isResidentCredential;

  // 3. Sign out.
  await page.goto(`${base}/logout`);
  await Promise.all([page.waitForSelector('#signed-out'), page.click('button[type=submit]')]);

  // 4. The client sends the browser to /authorize. Autofill (conditional UI)
  // offers the passkey on the username field; the virtual authenticator picks
  // it, and the browser signs in with nothing typed.
  await Promise.all([page.waitForURL(`${callbackPrefix}**`), page.goto(authorizeUrl)]);
  report.autofillCallback = page.url();

  // 5. Sign out again; now a browser without autofill: the button.
  await page.goto(`${base}/logout`);
  await Promise.all([page.waitForSelector('#signed-out'), page.click('button[type=submit]')]);
  await page.addInitScript(() => {
    PublicKeyCredential.isConditionalMediationAvailable = async () => false;
  });
  await page.goto(authorizeUrl2);
  report.signInPath = new URL(page.url()).pathname;
  report.typedUsername = await page.inputValue('#username');
  await Promise.all([page.waitForURL(`${callbackPrefix}**`), page.click('#passkey-signin')]);
  report.callback = page.url();
});
