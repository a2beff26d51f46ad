// panva's openid-client (an OpenID-certified relying party library) against a
// running Portcullis: discovery, code + PKCE + nonce, ID-token validation,
// userinfo, refresh with rotation, introspection, revocation.
//
// Driven by tests/it/oidc/openid_client.rs, which signs in through the real
// pages (this script cannot drive a browser). Configuration comes from the
// environment: ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, CLIENT_AUTH
// (client_secret_basic, the default, or client_secret_post) and SERVER_TIME:
// the server's current time in Unix seconds. The test server runs on a
// manual clock, so the library's "now" (for exp/iat) is shifted onto it.
//
// Protocol over stdin/stdout, one JSON line each way:
//   1. prints {"authorize_url": "..."}
//   2. reads one line from stdin: the callback URL the browser was sent to
//   3. runs every step; prints {"ok": true, "sub": ..., "steps": [...], ...}
// Any failed check prints {"ok": false, "error": ..., "steps": [...]} and
// exits 1 (details on stderr).

import * as client from 'openid-client';
import { CheckFailed, check, env, print, readLine } from './harness.mjs';

const steps = [];
const report = {};

function describe(err) {
  const out = { name: err?.name, message: err?.message ?? String(err) };
  if (err?.code !== undefined) out.code = err.code;
  if (err instanceof client.ResponseBodyError) {
    out.status = err.status;
    out.error = err.error;
    out.error_description = err.error_description;
    out.body = err.cause;
  } else if (err instanceof client.AuthorizationResponseError) {
    out.error = err.error;
    out.error_description = err.error_description;
  } else if (err?.cause !== undefined) {
    try {
      out.cause = err.cause instanceof Error ? describe(err.cause) : JSON.parse(JSON.stringify(err.cause));
    } catch {
      out.cause = String(err.cause);
    }
  }
  return out;
}

async function main() {
  const issuer = env('ISSUER');
  const clientId = env('CLIENT_ID');
  const clientSecret = env('CLIENT_SECRET');
  const redirectUri = env('REDIRECT_URI');
  const authMethod = process.env.CLIENT_AUTH || 'client_secret_basic';
  const auth = {
    client_secret_basic: client.ClientSecretBasic,
    client_secret_post: client.ClientSecretPost,
  }[authMethod];
  check(auth !== undefined, 'CLIENT_AUTH must be client_secret_basic or client_secret_post', authMethod);
  const serverTime = Number(env('SERVER_TIME'));
  check(Number.isInteger(serverTime), 'SERVER_TIME must be Unix seconds', process.env.SERVER_TIME);
  const skew = serverTime - Math.floor(Date.now() / 1000);

  // 1. Discovery (the library checks the metadata's issuer equals ISSUER).
  // The issuer is http on loopback, hence allowInsecureRequests.
  const config = await client.discovery(
    new URL(issuer),
    clientId,
    { client_secret: clientSecret, redirect_uris: [redirectUri], [client.clockSkew]: skew },
    auth(clientSecret),
    { execute: [client.allowInsecureRequests] },
  );
  const meta = config.serverMetadata();
  check(meta.issuer === issuer, 'discovered issuer', meta.issuer);
  for (const endpoint of [
    'authorization_endpoint',
    'token_endpoint',
    'userinfo_endpoint',
    'jwks_uri',
    'introspection_endpoint',
    'revocation_endpoint',
  ]) {
    check(typeof meta[endpoint] === 'string', `discovery lacks ${endpoint}`);
  }
  check(meta.code_challenge_methods_supported?.includes('S256'), 'discovery: S256 not supported', meta.code_challenge_methods_supported);
  check(meta.token_endpoint_auth_methods_supported?.includes(authMethod), `discovery: ${authMethod} not supported`, meta.token_endpoint_auth_methods_supported);
  check(meta.authorization_response_iss_parameter_supported === true, 'discovery: authorization_response_iss_parameter_supported is not true');
  steps.push('discovery');

  // 2. The authorization request: code + PKCE S256 + state + nonce.
  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizeUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email offline_access',
    response_type: 'code',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  print({ authorize_url: authorizeUrl.href });
  steps.push('authorize_url');

  // 3. The callback (RFC 9207: iss must be there and be ours).
  const callback = new URL(await readLine());
  check(`${callback.origin}${callback.pathname}` === redirectUri, 'callback is not at the redirect URI', callback.href);
  check(callback.searchParams.get('iss') === issuer, 'callback iss', callback.searchParams.get('iss'));
  check(callback.searchParams.get('state') === state, 'callback state', callback.searchParams.get('state'));

  // 4. Code exchange; the library validates the authorization response
  // (state, iss), the token response and the ID token (signature against the
  // JWKS, iss, aud, exp, iat, nonce).
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  check(typeof tokens.access_token === 'string' && tokens.access_token.length > 0, 'no access_token');
  check(typeof tokens.id_token === 'string', 'no id_token');
  check(typeof tokens.refresh_token === 'string' && tokens.refresh_token.length > 0, 'no refresh_token (offline_access was asked for)');
  check(tokens.token_type?.toLowerCase() === 'bearer', 'token_type', tokens.token_type);
  check(typeof tokens.expiresIn() === 'number' && tokens.expiresIn() > 0, 'expires_in', tokens.expires_in);
  const claims = tokens.claims();
  check(claims !== undefined, 'no ID token claims');
  const sub = claims.sub;
  check(typeof sub === 'string' && sub.length > 0, 'ID token sub', sub);
  check(claims.iss === issuer, 'ID token iss', claims.iss);
  check(claims.aud === clientId || (Array.isArray(claims.aud) && claims.aud.includes(clientId)), 'ID token aud', claims.aud);
  check(claims.nonce === nonce, 'ID token nonce', claims.nonce);
  report.id_token = claims;
  steps.push('authorization_code_grant');

  // 5. UserInfo with the access token (the library checks sub).
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, sub);
  check(userinfo.sub === sub, 'userinfo sub', userinfo.sub);
  report.userinfo = userinfo;
  steps.push('userinfo');

  // 6. Refresh: a new access token, and a new refresh token (rotation).
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  check(typeof refreshed.access_token === 'string' && refreshed.access_token.length > 0, 'refresh: no access_token');
  check(refreshed.access_token !== tokens.access_token, 'refresh: the access token did not change');
  check(typeof refreshed.refresh_token === 'string' && refreshed.refresh_token.length > 0, 'refresh: no refresh_token');
  check(refreshed.refresh_token !== tokens.refresh_token, 'refresh: the refresh token was not rotated');
  const refreshedClaims = refreshed.claims();
  if (refreshedClaims !== undefined) {
    check(refreshedClaims.sub === sub, 'refresh: ID token sub', refreshedClaims.sub);
    check(refreshedClaims.iss === issuer, 'refresh: ID token iss', refreshedClaims.iss);
  }
  report.refresh_id_token = refreshedClaims !== undefined;
  steps.push('refresh_token_grant');

  const userinfo2 = await client.fetchUserInfo(config, refreshed.access_token, sub);
  check(userinfo2.sub === sub, 'userinfo (refreshed token) sub', userinfo2.sub);
  steps.push('userinfo_after_refresh');

  // 7. Introspection (RFC 7662) of the access token and the refresh token.
  const atInfo = await client.tokenIntrospection(config, refreshed.access_token, { token_type_hint: 'access_token' });
  check(atInfo.active === true, 'introspection of the access token: not active', atInfo);
  check(atInfo.client_id === clientId, 'introspection of the access token: client_id', atInfo);
  check(atInfo.sub === sub, 'introspection of the access token: sub', atInfo);
  report.access_token_introspection = atInfo;
  steps.push('introspect_access_token');

  const rtInfo = await client.tokenIntrospection(config, refreshed.refresh_token, { token_type_hint: 'refresh_token' });
  check(rtInfo.active === true, 'introspection of the refresh token: not active', rtInfo);
  check(rtInfo.client_id === clientId, 'introspection of the refresh token: client_id', rtInfo);
  check(rtInfo.sub === sub, 'introspection of the refresh token: sub', rtInfo);
  report.refresh_token_introspection = rtInfo;
  steps.push('introspect_refresh_token');

  // 8. Revocation (RFC 7009) of the refresh token, then it is dead.
  await client.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: 'refresh_token' });
  steps.push('revoke_refresh_token');

  const revokedInfo = await client.tokenIntrospection(config, refreshed.refresh_token, { token_type_hint: 'refresh_token' });
  check(revokedInfo.active === false, 'introspection after revocation: still active', revokedInfo);
  steps.push('introspect_revoked_refresh_token');

  let refusal;
  try {
    await client.refreshTokenGrant(config, refreshed.refresh_token);
  } catch (err) {
    refusal = err;
  }
  check(refusal !== undefined, 'a refresh with the revoked refresh token succeeded');
  if (refusal instanceof CheckFailed) throw refusal;
  check(
    refusal instanceof client.ResponseBodyError && refusal.error === 'invalid_grant' && refusal.status === 400,
    'a refresh with the revoked refresh token must fail with a 400 invalid_grant',
    describe(refusal),
  );
  steps.push('refresh_with_revoked_token_refused');

  print({ ok: true, sub, steps, ...report });
}

try {
  await main();
  process.exitCode = 0;
} catch (err) {
  const error = describe(err);
  process.stderr.write(`openid-client run failed after steps [${steps.join(', ')}]:\n${err?.stack ?? err}\n${JSON.stringify(error, null, 2)}\n`);
  print({ ok: false, steps, error });
  process.exitCode = 1;
}
