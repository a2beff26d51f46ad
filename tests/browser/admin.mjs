// The admin console in headless Chromium: the admin signs in with their
// password, adds a passkey on /account through a CDP virtual authenticator
// (the second factor the console needs), then opens every console page
// given. On each: axe-core (serious and critical violations are reported),
// a keyboard walk (Tab from the top: every link, button and field must
// receive focus) and screenshots at 1280 and 390 pixels wide into
// <screenshot-dir>.
// Usage: node admin.mjs <base-url> <username> <password> <screenshot-dir> <path>...
// Prints one JSON line: {"ok":true,"pages":{...}} or {"ok":false,...}.
import { run } from './harness.mjs';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// Evaluated through DevTools, which the pages' CSP (script-src 'self') does
// not govern: injecting a <script> would rightly be refused.
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const [base, username, password, shots, ...paths] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });

await run(async ({ page, context, report }) => {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    },
  });

  // Password, then a passkey: an admin must enroll a second factor.
  await page.goto(`${base}/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/account**`), page.click('button[type=submit]')]);
  await page.fill('#passkey-name', 'Virtual key');
  await Promise.all([page.waitForSelector('#recovery-codes'), page.click('#passkey-add')]);
  await Promise.all([page.waitForURL(`${base}/account**`), page.click('#codes-saved')]);

  report.pages = {};
  for (const path of paths) {
    const result = {};
    const response = await page.goto(`${base}${path}`);
    result.status = response.status();
    result.title = await page.title();
    await page.evaluate(axeSource);
    const axe = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
    });
    result.serious = axe.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    result.minor = axe.filter((v) => !(v.impact === 'serious' || v.impact === 'critical')).map((v) => v.id);

    // Keyboard: Tab through the page; every control must be reached.
    const controls = await page.evaluate(() => {
      const all = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')];
      all.forEach((el, i) => el.setAttribute('data-kb', String(i)));
      return all.length;
    });
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    const reached = new Set();
    // A date-time field takes several Tabs (one per part): a generous budget,
    // stopping once every control was reached.
    for (let i = 0; i < controls * 8 + 20 && reached.size < controls; i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('data-kb'));
      if (id !== null && id !== undefined) reached.add(id);
    }
    result.controls = controls;
    result.unreachable = controls - reached.size;

    const name = path.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '') || 'admin';
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await page.screenshot({ path: `${shots}/${name}-${width}.png`, fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    report.pages[path] = result;
  }
});
