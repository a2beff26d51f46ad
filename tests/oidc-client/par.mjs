// oauth4webapi (panva, npm) as a client of pushed authorization requests
// (RFC 9126), resource indicators (RFC 8707) and DPoP (RFC 9449), driven by
// tests/it/oidc/oauth4webapi_par.rs.
//
// Configuration from the environment: ISSUER, CLIENT_ID, CLIENT_SECRET
// (client_secret_basic), REDIRECT_URI, RESOURCE (a resource server the
// client may ask for), SERVER_TIME (the server's manual clock, Unix
// seconds; the library's "now" is shifted onto it).
//
// Protocol over stdin/stdout, one JSON line each way:
//   1. discovery; pushes the authorization request (code + PKCE + state +
//      nonce + resource) to the pushed_authorization_request_endpoint;
//      prints {"authorize_url": "..."} carrying only client_id and the
//      request_uri
//   2. reads the callback URL; validates it, exchanges the code with
//      resource=RESOURCE (ID token checked) and a DPoP proof (the token
//      endpoint first answers use_dpop_nonce; the request is retried once
//      with the nonce), refreshes with the resource and a proof of the same
//      key; prints {"ok":true,"steps":[...],"request_uri":...,
//      "expires_in":...,"sub":...,"jkt":...,"token_type":...,
//      "access_token_aud":...,"access_token_scope":...,"access_token_jkt":...,
//      "refreshed_token_type":...,"refreshed_aud":...,"refreshed_jkt":...}
//      (token_type as the server sent it; jkt the key's thumbprint, the
//      *_jkt the access tokens' cnf.jkt).
// The pushed request itself carries no DPoP proof: Portcullis does not bind
// the code to a key at /par (RFC 9449 §10.1, dpop_jkt); the access tokens
// are bound at /token.
// A failed check prints {"ok":false,"error":...,"steps":[...]} and exits 1.

import * as oauth from 'oauth4webapi';
import { createHash } from 'node:crypto';
import { CheckFailed, check, env, print, readLine } from './harness.mjs';

const steps = [];

// The payload of a JWT, unverified: the resource server would verify it
// against the JWKS; here only the audience and the key binding are asserted.
function payload(jwt) {
  const part = jwt.split('.')[1];
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

// The RFC 7638 thumbprint of an EC public JWK: SHA-256 of the required
// members in lexicographic order, base64url (what cnf.jkt must be).
function thumbprint({ crv, kty, x, y }) {
  return createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
}

// Runs `attempt` once; when it fails with use_dpop_nonce (the DPoP handle
// has cached the nonce from that answer), runs it once more. Returns the
// result and whether the nonce challenge happened.
async function withNonceRetry(attempt) {
  try {
    return { result: await attempt(), challenged: false };
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err;
    return { result: await attempt(), challenged: true };
  }
}

// The token endpoint's answer processed by `processResponse` (the object
// itself: getValidatedIdTokenClaims knows it by identity), and its
// token_type as the server spelled it (oauth4webapi lowercases it).
async function tokenResponse(response, processResponse) {
  const raw = await response.clone().json().catch(() => ({}));
  return { tokens: await processResponse(response), sentTokenType: raw.token_type };
}

async function main() {
  const issuer = new URL(env('ISSUER'));
  const clientId = env('CLIENT_ID');
  const clientSecret = env('CLIENT_SECRET');
  const redirectUri = env('REDIRECT_URI');
  const resource = env('RESOURCE');
  const serverTime = Number(env('SERVER_TIME'));
  check(Number.isInteger(serverTime), 'SERVER_TIME must be Unix seconds', process.env.SERVER_TIME);
  // The issuer is http on loopback, hence allowInsecureRequests.
  const http = { [oauth.allowInsecureRequests]: true };

  // 1. Discovery.
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...http }),
  );
  check(typeof as.pushed_authorization_request_endpoint === 'string', 'discovery lacks the PAR endpoint');
  steps.push('discovery');

  const client = {
    client_id: clientId,
    [oauth.clockSkew]: serverTime - Math.floor(Date.now() / 1000),
  };
  const auth = oauth.ClientSecretBasic(clientSecret);
  check(as.dpop_signing_alg_values_supported?.includes('ES256'), 'discovery: DPoP ES256 not supported', as.dpop_signing_alg_values_supported);
  const keyPair = await oauth.generateKeyPair('ES256', { extractable: true });
  const DPoP = oauth.DPoP(client, keyPair);
  const jkt = thumbprint(await crypto.subtle.exportKey('jwk', keyPair.publicKey));
  check(jkt === await DPoP.calculateThumbprint(), 'our thumbprint and oauth4webapi\'s agree', jkt);

  // 2. The pushed authorization request (no DPoP proof: see the top).
  const verifier = oauth.generateRandomCodeVerifier();
  const challenge = await oauth.calculatePKCECodeChallenge(verifier);
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const parameters = new URLSearchParams({
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid profile api offline_access',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    nonce,
    resource,
  });
  const pushed = await oauth.processPushedAuthorizationResponse(
    as,
    client,
    await oauth.pushedAuthorizationRequest(as, client, auth, parameters, http),
  );
  check(pushed.request_uri.startsWith('urn:ietf:params:oauth:request_uri:'), 'request_uri', pushed);
  steps.push('pushed_authorization_request');

  // 3. The browser goes to /authorize with only client_id and request_uri.
  const authorizeUrl = new URL(as.authorization_endpoint);
  authorizeUrl.searchParams.set('client_id', clientId);
  authorizeUrl.searchParams.set('request_uri', pushed.request_uri);
  print({ authorize_url: authorizeUrl.href });
  steps.push('authorize_url');

  // 4. The callback (state and iss checked), the code for the resource
  // with a DPoP proof: the server asks for its nonce first (use_dpop_nonce),
  // then issues an access token bound to the key.
  const callback = new URL(await readLine());
  const callbackParameters = oauth.validateAuthResponse(as, client, callback, state);
  const { result: { tokens, sentTokenType }, challenged } = await withNonceRetry(async () => {
    const response = await oauth.authorizationCodeGrantRequest(as, client, auth, callbackParameters, redirectUri, verifier, {
      additionalParameters: { resource },
      DPoP,
      ...http,
    });
    return tokenResponse(response, (r) =>
      oauth.processAuthorizationCodeResponse(as, client, r, { expectedNonce: nonce, requireIdToken: true }));
  });
  check(challenged, 'the token endpoint did not ask for a DPoP nonce');
  steps.push('use_dpop_nonce_challenge');
  check(tokens.token_type === 'dpop', 'token_type', tokens.token_type);
  const idClaims = oauth.getValidatedIdTokenClaims(tokens);
  check(idClaims?.aud === clientId, 'the ID token is the client\'s', idClaims);
  const access = payload(tokens.access_token);
  check(access.aud === resource, 'the access token\'s aud is the resource', access);
  check(access.cnf?.jkt === jkt, 'the access token is not bound to our key', access.cnf);
  steps.push('authorization_code_grant_with_resource');

  // 5. Refreshed for the same resource, with a proof of the same key (the
  // handle carries the nonce of the last answer).
  check(typeof tokens.refresh_token === 'string', 'a refresh token');
  const { result: { tokens: refreshed, sentTokenType: refreshedTokenType } } = await withNonceRetry(async () => {
    const response = await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, {
      additionalParameters: { resource },
      DPoP,
      ...http,
    });
    return tokenResponse(response, (r) => oauth.processRefreshTokenResponse(as, client, r));
  });
  check(refreshed.token_type === 'dpop', 'refresh: token_type', refreshed.token_type);
  const refreshedAccess = payload(refreshed.access_token);
  check(refreshedAccess.cnf?.jkt === jkt, 'refresh: the access token is not bound to our key', refreshedAccess.cnf);
  steps.push('refresh_token_grant_with_resource');

  print({
    ok: true,
    steps,
    request_uri: pushed.request_uri,
    expires_in: pushed.expires_in,
    sub: idClaims.sub,
    jkt,
    token_type: sentTokenType,
    access_token_aud: access.aud,
    access_token_scope: access.scope,
    access_token_jkt: access.cnf?.jkt,
    refreshed_token_type: refreshedTokenType,
    refreshed_aud: refreshedAccess.aud,
    refreshed_jkt: refreshedAccess.cnf?.jkt,
  });
}

main().catch((err) => {
  const error = err instanceof CheckFailed ? err.message : `${err?.name}: ${err?.message ?? err}`;
  const detail = err?.cause === undefined ? undefined : String(err.cause?.error ?? err.cause);
  print({ ok: false, error, detail, steps });
  process.exit(1);
});
