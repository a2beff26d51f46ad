// A single-page app as a relying party, in headless Chromium: oidc-client-ts
// (its browser build) served with a small page from a node `http` server on
// a loopback origin the client is allowed (its redirect URI's), calling the
// IdP on another origin. The journey: signinRedirect -> the IdP's sign-in
// page (typed) and consent page -> signinCallback (the code redeemed at
// /token from the page) -> the profile -> /userinfo fetched from the page ->
// signinSilent with the refresh token -> revokeTokens -> signoutRedirect ->
// signoutCallback, with no console error.
// Before the revocation, the same app on an origin no client is allowed,
// holding the same tokens: discovery (public) still loads, but /userinfo and
// /token answer without CORS headers, so the browser refuses the page their
// answers — read from the console's "blocked by CORS policy" messages.
// Usage: node spa.mjs <idp-url> <allowed-port> <blocked-port> <username> <password>
// Prints one JSON line: {"ok":true,...report} or {"ok":false,"error":...}; exits non-zero on failure.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { run } from './harness.mjs';

const [idp, allowedPort, blockedPort, username, password] = process.argv.slice(2);
const library = readFileSync(
  new URL('./node_modules/oidc-client-ts/dist/browser/oidc-client-ts.min.js', import.meta.url));

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SPA</title><link rel="icon" href="data:,">
<script src="/oidc-client-ts.min.js"></script><script src="/app.js"></script></head>
<body><h1>A single-page app</h1></body></html>`;

// The app: one UserManager for the public client `spa`, at this page's origin.
const app = `'use strict';
window.spa = new oidc.UserManager({
  authority: ${JSON.stringify(idp)},
  client_id: 'spa',
  redirect_uri: location.origin + '/callback',
  post_logout_redirect_uri: location.origin + '/signed-out',
  response_type: 'code',
  scope: 'openid profile email offline_access',
  automaticSilentRenew: false,
  loadUserInfo: false,
});
// UserInfo, fetched by the page with the access token.
window.userinfo = async () => {
  const user = await window.spa.getUser();
  const endpoint = await window.spa.metadataService.getUserInfoEndpoint();
  const res = await fetch(endpoint, { headers: { Authorization: 'Bearer ' + user.access_token } });
  return { status: res.status, body: await res.json() };
};`;

function serve(port) {
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (['/', '/callback', '/signed-out'].includes(path)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    } else if (path === '/app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(app);
    } else if (path === '/oidc-client-ts.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(library);
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), '127.0.0.1', () => resolve(server));
  });
}

const servers = await Promise.all([serve(allowedPort), serve(blockedPort)]);
const appOrigin = `http://localhost:${allowedPort}`;
const blockedOrigin = `http://localhost:${blockedPort}`;

try {
  await run(async ({ page, context, report }) => {
    await page.goto(`${appOrigin}/`);
    // signinRedirect: discovery from the page (CORS), then a navigation to /authorize.
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/login'),
      page.evaluate(() => { window.spa.signinRedirect(); }),
    ]);
    report.signInPage = page.url().split('?')[0];
    await page.fill('#username', username);
    await page.fill('#password', password);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/consent' || u.origin === appOrigin),
      page.click('button[type=submit]'),
    ]);
    if (new URL(page.url()).pathname === '/consent') {
      report.consent = (await page.textContent('h1'))?.trim();
      await Promise.all([page.waitForURL(`${appOrigin}/callback?**`), page.click('#allow')]);
    }

    // signinCallback: the code redeemed at /token by the page (CORS).
    const signedIn = await page.evaluate(async () => {
      const user = await window.spa.signinCallback();
      return {
        profile: user.profile, scope: user.scope, tokenType: user.token_type,
        accessToken: user.access_token, refreshToken: user.refresh_token,
      };
    });
    report.profile = signedIn.profile;
    report.scope = signedIn.scope;
    report.hasRefreshToken = Boolean(signedIn.refreshToken);

    report.userinfo = await page.evaluate(() => window.userinfo());

    // signinSilent: with a refresh token, oidc-client-ts renews at /token (CORS), no iframe.
    const renewed = await page.evaluate(async () => {
      const user = await window.spa.signinSilent();
      return { accessToken: user.access_token, refreshToken: user.refresh_token, sub: user.profile.sub };
    });
    report.renewed = {
      sub: renewed.sub,
      accessTokenChanged: renewed.accessToken !== signedIn.accessToken,
      refreshTokenRotated: Boolean(renewed.refreshToken) && renewed.refreshToken !== signedIn.refreshToken,
    };
    report.userinfoAfterRenewal = (await page.evaluate(() => window.userinfo())).status;

    const stored = await page.evaluate(() => Object.entries(sessionStorage));

    // The same app on an origin no client is allowed, holding the same
    // (valid) tokens: only CORS stands in its way. (The renewal is a simple
    // request — a form POST, no preflight — so the server does rotate the
    // refresh token; the browser only withholds the answer. CORS guards
    // what a page may read, not what it may send.)
    const blocked = await context.newPage();
    const blockedConsole = [];
    blocked.on('console', (msg) => blockedConsole.push({ type: msg.type(), text: msg.text() }));
    await blocked.goto(`${blockedOrigin}/`);
    await blocked.evaluate((entries) => {
      for (const [key, value] of entries) sessionStorage.setItem(key, value);
    }, stored);
    report.blocked = await blocked.evaluate(async () => {
      const outcome = async (f) => {
        try { return { ok: true, value: await f() }; } catch (e) { return { ok: false, error: String(e) }; }
      };
      return {
        hasUser: Boolean(await window.spa.getUser()),
        discovery: await outcome(async () => (await window.spa.metadataService.getMetadata()).issuer),
        userinfo: await outcome(() => window.userinfo()),
        renewal: await outcome(async () => (await window.spa.signinSilent()).access_token.length),
      };
    });
    // The console reports each refusal; give it a moment to arrive.
    for (let i = 0; i < 50 && blockedConsole.filter((m) => /CORS policy/.test(m.text)).length < 2; i++) {
      await blocked.waitForTimeout(100);
    }
    report.blocked.console = blockedConsole;
    await blocked.close();

    // Back on the allowed origin: revoke the tokens (CORS; the refresh token
    // this page holds was rotated by the other's renewal, and revoking it
    // still ends the grant), then sign out.
    await page.evaluate(() => window.spa.revokeTokens());
    report.revoked = true;
    await Promise.all([
      page.waitForURL(`${appOrigin}/signed-out**`),
      page.evaluate(() => { window.spa.signoutRedirect(); }),
    ]);
    report.signedOut = await page.evaluate(async () => {
      await window.spa.signoutCallback();
      return (await window.spa.getUser()) === null;
    });
  });
} finally {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
}
