// The console's journey (issue 16, acceptance 1) in two headless Chromiums:
// the administrator's (with a CDP virtual authenticator) and the invited
// user's (a separate profile, so separate cookies). Driven step by step by
// tests/it/admin/journey.rs, which reads the mail and runs the relying party
// (tests/oidc-client/journey.mjs) in between.
//
// Usage: node admin_journey.mjs <base-url> <setup-url> <screenshot-dir> <redirect-uri>
//
// Protocol, one JSON line each way:
//   A. the admin: setup link -> first admin -> password sign-in -> passkey
//      (+ recovery codes) -> sign out -> passkey sign-in to /admin ->
//      registers the relying party -> creates the user with an invitation;
//      prints {"event":"invited","userPath":...,"clientSecret":...}
//   B. reads {"invitation": <mailed link>, "authorize": <the RP's URL>}; the
//      user sets a password from the link, signs out, follows the RP's
//      authorization URL, signs in on the login page, consents; prints
//      {"event":"callback","url":...}
//   C. reads {"disable": true}; the admin opens the user's page and disables
//      them; then the usual closing line of harness.mjs ({"ok":true,...}).
// Every page passed through is photographed at 1280 and 390 pixels wide into
// <screenshot-dir> as NN-<name>-<width>.png (report.screenshots: the names).
import { launch, run } from './harness.mjs';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [base, setupUrl, shots, redirectUri] = process.argv.slice(2);
const ADMIN_PASSWORD = 'a long browser passphrase';
const USER_PASSWORD = 'correct horse battery staple';
mkdirSync(shots, { recursive: true });

const stdin = createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
async function receive() {
  const { value, done } = await stdin.next();
  if (done) throw new Error('stdin closed: the test stopped driving the journey');
  return JSON.parse(value);
}
const send = (object) => console.log(JSON.stringify(object));
const text = async (page, selector) => (await page.textContent(selector))?.replace(/\s+/g, ' ').trim();
const path = (page) => new URL(page.url()).pathname;

await run(async ({ page, context, report }) => {
  report.screenshots = [];
  async function shoot(p, name) {
    const file = `${String(report.screenshots.length + 1).padStart(2, '0')}-${name}`;
    for (const width of [1280, 390]) {
      await p.setViewportSize({ width, height: 900 });
      await p.screenshot({ path: `${shots}/${file}-${width}.png`, fullPage: true });
    }
    await p.setViewportSize({ width: 1280, height: 900 });
    report.screenshots.push(file);
  }

  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  // The admin signs in with the button, not autofill: one way, every run.
  await page.addInitScript(() => {
    if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
  });

  // --- A. The first administrator ----------------------------------------
  const a = {};
  report.admin = a;
  await page.goto(setupUrl);
  await shoot(page, 'setup');
  await page.fill('#username', 'root');
  await page.fill('#email', 'root@example.com');
  await page.fill('#password', ADMIN_PASSWORD);
  await page.fill('#password_confirm', ADMIN_PASSWORD);
  await Promise.all([page.waitForURL('**/login?setup=done'), page.click('button[type=submit]')]);
  a.setupNotice = await text(page, 'p.notice');
  await shoot(page, 'login-after-setup');

  await page.fill('#username', 'root');
  await page.fill('#password', ADMIN_PASSWORD);
  await Promise.all([page.waitForURL('**/account?enroll=required*'), page.click('form[action="/login"] button[type=submit]')]);
  a.afterPasswordSignIn = path(page);
  a.enrollNotice = await text(page, '#enroll-required');
  // Without a second factor the console sends the admin to enroll one.
  await page.goto(`${base}/admin`);
  a.consoleBeforeSecondFactor = page.url().slice(base.length);
  await shoot(page, 'account-enroll');

  await page.fill('#passkey-name', 'Virtual key');
  await Promise.all([page.waitForSelector('#recovery-codes'), page.click('#passkey-add')]);
  a.recoveryCodes = await page.locator('#recovery-codes li').count();
  await shoot(page, 'recovery-codes');
  await Promise.all([page.waitForURL(`${base}/account**`), page.click('#codes-saved')]);
  a.passkeyRows = await page.locator('tr.passkey-row').count();
  a.credentials = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.length;

  // Signed out, the console does not exist; the passkey alone brings it back.
  await page.goto(`${base}/logout`);
  await Promise.all([page.waitForSelector('#signed-out'), page.click('button[type=submit]')]);
  a.consoleSignedOut = (await page.goto(`${base}/admin`)).status();
  await page.goto(`${base}/login?return=/admin`);
  await shoot(page, 'login-passkey');
  await Promise.all([page.waitForURL(`${base}/admin`), page.click('#passkey-signin')]);
  a.afterPasskeySignIn = path(page);
  a.dashboardHeading = await text(page, 'h1');
  a.signedInAs = await text(page, '.admin-nav .who');
  a.usersTotal = await text(page, '#users-total');
  await shoot(page, 'admin-dashboard');

  // The relying party, registered in the console (its secret shown once).
  await Promise.all([page.waitForURL(`${base}/admin/clients`), page.click('.admin-nav a[href="/admin/clients"]')]);
  await shoot(page, 'admin-clients');
  await Promise.all([page.waitForURL(`${base}/admin/clients/new`), page.click('#register-client')]);
  await page.fill('#client_id', 'journey-rp');
  await page.fill('#name', 'Journey RP');
  await page.fill('#redirect_uris', redirectUri);
  await shoot(page, 'admin-client-new');
  await Promise.all([page.waitForSelector('#client-secret'), page.click('form[action="/admin/clients/new"] button[type=submit]')]);
  a.clientHeading = await text(page, 'h1');
  a.clientId = await text(page, '#client-id');
  a.clientSecret = await text(page, '#client-secret');
  await shoot(page, 'admin-client-registered');

  // The user, with an invitation.
  await Promise.all([page.waitForURL(`${base}/admin/users`), page.click('.admin-nav a[href="/admin/users"]')]);
  await shoot(page, 'admin-users');
  await Promise.all([page.waitForURL(`${base}/admin/users/new`), page.click('#new-user')]);
  await page.fill('#username', 'bob');
  await page.fill('#email', 'bob@example.com');
  await page.fill('#name', 'Bob Builder');
  await shoot(page, 'admin-user-new');
  await Promise.all([page.waitForURL('**/admin/users/*?done=invited'), page.click('form[action="/admin/users"] button[type=submit]')]);
  a.userPath = path(page);
  a.invitedNotice = await text(page, '#notice');
  a.invitedName = await text(page, '#user-name');
  a.invitedStatus = await text(page, '#user-status');
  await shoot(page, 'admin-user-invited');
  send({ event: 'invited', userPath: a.userPath, clientId: a.clientId, clientSecret: a.clientSecret });

  // --- B. The invited user, in a browser of their own ---------------------
  const { invitation, authorize } = await receive();
  const u = {};
  report.user = u;
  const user = await launch();
  try {
    const userPage = user.context.pages()[0] || await user.context.newPage();
    userPage.setDefaultTimeout(20000);
    userPage.on('console', (msg) => { if (msg.type() === 'error') report.consoleErrors.push(`user: ${msg.text()}`); });

    await userPage.goto(invitation);
    u.resetHeading = await text(userPage, 'h1');
    u.resetFor = await text(userPage, 'main strong');
    await shoot(userPage, 'user-set-password');
    await userPage.fill('#password', USER_PASSWORD);
    await userPage.fill('#password_confirm', USER_PASSWORD);
    await Promise.all([userPage.waitForURL(`${base}/`), userPage.click('form[action="/recover/reset"] button[type=submit]')]);
    u.landing = await text(userPage, '#signed-in');
    await shoot(userPage, 'user-signed-in');
    const again = await userPage.goto(invitation);
    u.linkAgain = { status: again.status(), text: await text(userPage, '#link-invalid') };
    await shoot(userPage, 'user-link-used');

    await userPage.goto(`${base}/`);
    await Promise.all([userPage.waitForSelector('#signed-out'), userPage.click('form[action="/logout"] button')]);

    // The relying party sends the browser to Portcullis: sign in, consent.
    await userPage.goto(authorize);
    u.signInPath = path(userPage);
    await shoot(userPage, 'user-login');
    await userPage.fill('#username', 'bob');
    await userPage.fill('#password', USER_PASSWORD);
    await Promise.all([userPage.waitForSelector('#allow'), userPage.click('form[action="/login"] button[type=submit]')]);
    u.consentPath = path(userPage);
    u.consentHeading = await text(userPage, 'h1');
    u.consentScopes = await userPage.locator('ul.scopes li').allTextContents();
    await shoot(userPage, 'user-consent');
    await Promise.all([userPage.waitForURL(`${redirectUri}**`), userPage.click('#allow')]);
    u.callbackBody = await text(userPage, 'body');
    send({ event: 'callback', url: userPage.url() });

    // --- C. The admin disables the user ----------------------------------
    const { disable } = await receive();
    if (disable !== true) throw new Error('expected {"disable": true}');
    const c = {};
    report.disable = c;
    await page.goto(`${base}/admin/users`);
    c.listed = await page.locator('#users tbody tr').allInnerTexts();
    await Promise.all([page.waitForURL(`${base}${a.userPath}`), page.click('#users a:text-is("bob")')]);
    c.statusBefore = await text(page, '#user-status');
    c.sessionsBefore = await page.locator('section[aria-labelledby="sessions-heading"] tbody tr').count();
    c.connected = await page.locator('section[aria-labelledby="clients-heading"] tbody tr').allInnerTexts();
    await shoot(page, 'admin-user');
    await Promise.all([page.waitForURL('**?done=disabled'), page.click(`form[action="${a.userPath}/disable"] button`)]);
    c.notice = await text(page, '#notice');
    c.statusAfter = await text(page, '#user-status');
    c.sessionsAfter = await page.locator('section[aria-labelledby="sessions-heading"] tbody tr').count();
    c.enableButton = await page.locator(`form[action="${a.userPath}/enable"] button`).count();
    await shoot(page, 'admin-user-disabled');

    await Promise.all([page.waitForURL(`${base}/admin/audit`), page.click('.admin-nav a[href="/admin/audit"]')]);
    await page.fill('#user', a.userPath.split('/').pop());
    await Promise.all([page.waitForURL('**/admin/audit?**'), page.click('form.filters button[type=submit]')]);
    c.auditKinds = await page.locator('#events tbody tr td:nth-child(2)').allTextContents();
    await shoot(page, 'admin-audit');
    await Promise.all([page.waitForURL(`${base}/admin`), page.click('.admin-nav a[href="/admin"]')]);
    c.usersDisabled = await text(page, '#users-disabled');
    await shoot(page, 'admin-dashboard-after');

    // The user's browser session ended with the account.
    await userPage.goto(`${base}/`);
    c.userBrowser = await text(userPage, 'main p');
  } finally {
    await user.close();
  }
});
