// panva's openid-client as the relying party of the console journey
// (tests/it/admin/journey.rs): a user signs in to it, then an administrator
// disables the user, then the RP uses its tokens again.
//
// Configuration from the environment, as for rp.mjs: ISSUER, CLIENT_ID,
// CLIENT_SECRET, REDIRECT_URI, SERVER_TIME (the server's manual clock, Unix
// seconds; the library's "now" is shifted onto it).
//
// Protocol over stdin/stdout, one JSON line each way:
//   1. prints {"authorize_url": "..."} (code + PKCE + state + nonce,
//      scope "openid profile email offline_access")
//   2. reads the callback URL; exchanges the code (ID token validated),
//      calls userinfo, refreshes (rotation checked), calls userinfo with the
//      new access token; prints {"event":"signed_in","sub":...,"userinfo":...}
//   3. reads one more line (any); calls userinfo with the last access token
//      and refreshes with the last refresh token; prints
//      {"ok":true,"after":{"userinfo":{...},"refresh":{...}}} where each is
//      {"ok":true} or the error as described below.
// A failed check prints {"ok":false,"error":...,"steps":[...]} and exits 1.

import * as client from 'openid-client';
import { CheckFailed, check, env, print, readLine } from './harness.mjs';

const steps = [];

// An error as the test asserts on it: HTTP status, OAuth error code, and
// for a 401 the WWW-Authenticate challenges.
function describe(err) {
  const out = { name: err?.name, message: err?.message ?? String(err) };
  if (err?.code !== undefined) out.code = err.code;
  if (err instanceof client.ResponseBodyError) {
    out.status = err.status;
    out.error = err.error;
    out.error_description = err.error_description;
  } else if (err instanceof client.WWWAuthenticateChallengeError) {
    out.status = err.status;
    out.challenges = err.cause;
    out.error = err.cause?.[0]?.parameters?.error;
  } else if (err?.cause !== undefined) {
    out.cause = err.cause instanceof Error ? describe(err.cause) : String(err.cause);
  }
  return out;
}

async function attempt(f) {
  try {
    await f();
    return { ok: true };
  } catch (err) {
    if (err instanceof CheckFailed) throw err;
    return { ok: false, ...describe(err) };
  }
}

async function main() {
  const issuer = env('ISSUER');
  const clientId = env('CLIENT_ID');
  const clientSecret = env('CLIENT_SECRET');
  const redirectUri = env('REDIRECT_URI');
  const serverTime = Number(env('SERVER_TIME'));
  check(Number.isInteger(serverTime), 'SERVER_TIME must be Unix seconds', process.env.SERVER_TIME);
  const skew = serverTime - Math.floor(Date.now() / 1000);

  const config = await client.discovery(
    new URL(issuer),
    clientId,
    { client_secret: clientSecret, redirect_uris: [redirectUri], [client.clockSkew]: skew },
    client.ClientSecretBasic(clientSecret),
    { execute: [client.allowInsecureRequests] },
  );
  steps.push('discovery');

  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizeUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email offline_access',
    response_type: 'code',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  print({ authorize_url: authorizeUrl.href });
  steps.push('authorize_url');

  const callback = new URL(await readLine());
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  check(typeof tokens.refresh_token === 'string' && tokens.refresh_token.length > 0, 'no refresh_token (offline_access was asked for)');
  const claims = tokens.claims();
  const sub = claims?.sub;
  check(typeof sub === 'string' && sub.length > 0, 'ID token sub', sub);
  steps.push('authorization_code_grant');

  const userinfo = await client.fetchUserInfo(config, tokens.access_token, sub);
  steps.push('userinfo');

  // A refresh works while the user is enabled (so its later refusal is the
  // disabling's doing); the RP keeps the rotated tokens.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  check(typeof refreshed.refresh_token === 'string' && refreshed.refresh_token !== tokens.refresh_token, 'refresh: the refresh token was not rotated');
  check(refreshed.access_token !== tokens.access_token, 'refresh: the access token did not change');
  await client.fetchUserInfo(config, refreshed.access_token, sub);
  steps.push('refresh_token_grant', 'userinfo_after_refresh');
  print({ event: 'signed_in', sub, id_token: claims, userinfo });

  await readLine();
  const after = {
    userinfo: await attempt(() => client.fetchUserInfo(config, refreshed.access_token, sub)),
    refresh: await attempt(() => client.refreshTokenGrant(config, refreshed.refresh_token)),
  };
  steps.push('after_disable');
  print({ ok: true, steps, after });
}

try {
  await main();
  process.exitCode = 0;
} catch (err) {
  process.stderr.write(`openid-client journey failed after steps [${steps.join(', ')}]:\n${err?.stack ?? err}\n`);
  print({ ok: false, steps, error: describe(err) });
  process.exitCode = 1;
}
