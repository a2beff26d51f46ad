// panva's oauth4webapi (npm) as a native app against a running Portcullis:
// authorization code + PKCE + DPoP (RFC 9449) — the token endpoint's nonce
// challenge, then success with a DPoP-bound access token — DPoP-bound
// UserInfo, a refresh with the same key, and a refresh with another key
// refused.
//
// Driven by tests/it/oidc/dpop.rs, which signs in through the real pages.
// Configuration from the environment: ISSUER, CLIENT_ID (a public client),
// REDIRECT_URI, DPOP_ALG (ES256, the default, or EdDSA) and SERVER_TIME: the
// server's current time in Unix seconds (the test server runs on a manual
// clock; proofs' iat and the ID token's checks are shifted onto it).
//
// Protocol over stdin/stdout, one JSON line each way:
//   1. prints {"authorize_url": "..."}
//   2. reads one line from stdin: the callback URL the browser was sent to
//   3. runs every step; prints {"ok": true, "steps": [...], ...}
// Any failed check prints {"ok": false, "error": ..., "steps": [...]} and
// exits 1 (details on stderr).

import * as oauth from 'oauth4webapi';
import { CheckFailed, check, env, print, readLine } from './harness.mjs';

const steps = [];
const report = {};

function describe(err) {
  const out = { name: err?.name, message: err?.message ?? String(err) };
  if (err?.code !== undefined) out.code = err.code;
  if (err instanceof oauth.ResponseBodyError) {
    out.status = err.status;
    out.error = err.error;
    out.error_description = err.error_description;
  } else if (err instanceof oauth.WWWAuthenticateChallengeError) {
    out.status = err.status;
    out.challenges = err.cause;
  } else if (err?.cause !== undefined) {
    try {
      out.cause = err.cause instanceof Error ? describe(err.cause) : JSON.parse(JSON.stringify(err.cause));
    } catch {
      out.cause = String(err.cause);
    }
  }
  return out;
}

/** The JWT payload of `token` (not verified: the server signed it). */
function payload(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

/**
 * Runs `attempt` once; when it fails with use_dpop_nonce (the handle has
 * cached the nonce from that answer), runs it once more. Returns the result
 * and whether the nonce challenge happened.
 */
async function withNonceRetry(attempt) {
  try {
    return { result: await attempt(), challenged: false };
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err;
    return { result: await attempt(), challenged: true };
  }
}

async function main() {
  const issuer = new URL(env('ISSUER'));
  const clientId = env('CLIENT_ID');
  const redirectUri = env('REDIRECT_URI');
  const alg = process.env.DPOP_ALG || 'ES256';
  const serverTime = Number(env('SERVER_TIME'));
  check(Number.isInteger(serverTime), 'SERVER_TIME must be Unix seconds', process.env.SERVER_TIME);
  const skew = serverTime - Math.floor(Date.now() / 1000);
  const insecure = { [oauth.allowInsecureRequests]: true };

  // 1. Discovery: DPoP is advertised with the algorithm we sign with.
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
  check(as.dpop_signing_alg_values_supported?.includes(alg), `discovery: DPoP ${alg} not supported`, as.dpop_signing_alg_values_supported);
  steps.push('discovery');

  const client = { client_id: clientId, [oauth.clockSkew]: skew };
  const auth = oauth.None();
  const keyPair = await oauth.generateKeyPair(alg, { extractable: true });
  // oauth4webapi names an Ed25519 proof's alg "Ed25519" (RFC 9864); the
  // server verifies "EdDSA" (RFC 8037), as advertised.
  const remap = {
    [oauth.modifyAssertion]: (header) => {
      if (header.alg === 'Ed25519') header.alg = 'EdDSA';
    },
  };
  const DPoP = oauth.DPoP(client, keyPair, remap);
  const jkt = await DPoP.calculateThumbprint();

  // 2. The authorization request: code + PKCE S256 + state + nonce.
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const authorizeUrl = new URL(as.authorization_endpoint);
  for (const [k, v] of Object.entries({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid profile email offline_access',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  })) {
    authorizeUrl.searchParams.set(k, v);
  }
  print({ authorize_url: authorizeUrl.href });
  steps.push('authorize_url');

  // 3. The callback, validated (state, iss).
  const callback = new URL(await readLine());
  const params = oauth.validateAuthResponse(as, client, callback, state);
  steps.push('callback');

  // 4. The code exchange with a DPoP proof: the server asks for its nonce
  // first (use_dpop_nonce), then issues DPoP-bound tokens.
  const { result: tokens, challenged } = await withNonceRetry(async () => {
    const response = await oauth.authorizationCodeGrantRequest(as, client, auth, params, redirectUri, codeVerifier, { DPoP, ...insecure });
    return oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: nonce, requireIdToken: true });
  });
  check(challenged, 'the token endpoint did not ask for a DPoP nonce');
  steps.push('use_dpop_nonce_challenge');
  check(tokens.token_type === 'dpop', 'token_type', tokens.token_type);
  check(typeof tokens.refresh_token === 'string', 'no refresh_token');
  const claims = oauth.getValidatedIdTokenClaims(tokens);
  const sub = claims.sub;
  check(payload(tokens.access_token).cnf?.jkt === jkt, 'the access token is not bound to our key', payload(tokens.access_token).cnf);
  report.jkt = jkt;
  report.sub = sub;
  steps.push('authorization_code_grant');

  // 5. UserInfo with the DPoP-bound token (Authorization: DPoP + proof with ath).
  const userinfo = await withNonceRetry(async () => {
    const response = await oauth.userInfoRequest(as, client, tokens.access_token, { DPoP, ...insecure });
    return oauth.processUserInfoResponse(as, client, sub, response);
  });
  report.userinfo = userinfo.result;
  steps.push('userinfo');

  // 6. Refresh with the same key: new DPoP-bound tokens.
  const refreshed = await withNonceRetry(async () => {
    const response = await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, { DPoP, ...insecure });
    return oauth.processRefreshTokenResponse(as, client, response);
  });
  const next = refreshed.result;
  check(next.token_type === 'dpop', 'refresh: token_type', next.token_type);
  check(next.refresh_token !== tokens.refresh_token, 'refresh: not rotated');
  check(payload(next.access_token).cnf?.jkt === jkt, 'refresh: the access token is not bound to our key');
  steps.push('refresh_same_key');

  // 7. Refresh with another key: refused (the refresh token is bound).
  const otherKey = await oauth.generateKeyPair(alg, { extractable: true });
  const otherDPoP = oauth.DPoP(client, otherKey, remap);
  let refusal;
  try {
    await withNonceRetry(async () => {
      const response = await oauth.refreshTokenGrantRequest(as, client, auth, next.refresh_token, { DPoP: otherDPoP, ...insecure });
      return oauth.processRefreshTokenResponse(as, client, response);
    });
  } catch (err) {
    refusal = err;
  }
  check(refusal !== undefined, 'a refresh with another key succeeded');
  if (refusal instanceof CheckFailed) throw refusal;
  check(
    refusal instanceof oauth.ResponseBodyError && refusal.error === 'invalid_grant' && refusal.status === 400,
    'a refresh with another key must fail with a 400 invalid_grant',
    describe(refusal),
  );
  steps.push('refresh_other_key_refused');

  // 8. The rightful key still refreshes (the refusal revoked nothing).
  const again = await withNonceRetry(async () => {
    const response = await oauth.refreshTokenGrantRequest(as, client, auth, next.refresh_token, { DPoP, ...insecure });
    return oauth.processRefreshTokenResponse(as, client, response);
  });
  check(again.result.token_type === 'dpop', 'second refresh: token_type', again.result.token_type);
  steps.push('refresh_same_key_again');

  print({ ok: true, steps, ...report });
}

try {
  await main();
  process.exitCode = 0;
} catch (err) {
  const error = describe(err);
  process.stderr.write(`oauth4webapi DPoP run failed after steps [${steps.join(', ')}]:\n${err?.stack ?? err}\n${JSON.stringify(error, null, 2)}\n`);
  print({ ok: false, steps, error });
  process.exitCode = 1;
}
