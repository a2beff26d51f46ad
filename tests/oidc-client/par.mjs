// oauth4webapi (panva, npm) as a client of pushed authorization requests
// (RFC 9126) and resource indicators (RFC 8707), driven by
// tests/it/oidc/oauth4webapi.rs.
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
//      resource=RESOURCE (ID token checked), refreshes with the resource;
//      prints {"ok":true,"steps":[...],"request_uri":...,"expires_in":...,
//      "sub":...,"access_token_aud":...,"access_token_scope":...,
//      "refreshed_aud":...}
// A failed check prints {"ok":false,"error":...,"steps":[...]} and exits 1.

import * as oauth from 'oauth4webapi';
import { createInterface } from 'node:readline';

const steps = [];

class CheckFailed extends Error {}

function check(condition, message, detail) {
  if (!condition) {
    const suffix = detail === undefined ? '' : `: ${JSON.stringify(detail)}`;
    throw new CheckFailed(`${message}${suffix}`);
  }
}

function env(name) {
  const value = process.env[name];
  check(typeof value === 'string' && value.length > 0, `environment variable ${name} is not set`);
  return value;
}

const print = (object) => process.stdout.write(`${JSON.stringify(object)}\n`);

const stdin = createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
async function readLine() {
  const { value, done } = await stdin.next();
  check(!done, 'stdin closed before the next line arrived');
  return value.trim();
}

// The payload of a JWT, unverified: the resource server would verify it
// against the JWKS; here only the audience is asserted.
function payload(jwt) {
  const part = jwt.split('.')[1];
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
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

  // 2. The pushed authorization request.
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

  // 4. The callback (state and iss checked), the code for the resource.
  const callback = new URL(await readLine());
  const callbackParameters = oauth.validateAuthResponse(as, client, callback, state);
  const tokens = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(as, client, auth, callbackParameters, redirectUri, verifier, {
      additionalParameters: { resource },
      ...http,
    }),
    { expectedNonce: nonce, requireIdToken: true },
  );
  const idClaims = oauth.getValidatedIdTokenClaims(tokens);
  check(idClaims?.aud === clientId, 'the ID token is the client\'s', idClaims);
  const access = payload(tokens.access_token);
  check(access.aud === resource, 'the access token\'s aud is the resource', access);
  steps.push('authorization_code_grant_with_resource');

  // 5. Refreshed for the same resource.
  check(typeof tokens.refresh_token === 'string', 'a refresh token');
  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, {
      additionalParameters: { resource },
      ...http,
    }),
  );
  const refreshedAccess = payload(refreshed.access_token);
  steps.push('refresh_token_grant_with_resource');

  print({
    ok: true,
    steps,
    request_uri: pushed.request_uri,
    expires_in: pushed.expires_in,
    sub: idClaims.sub,
    access_token_aud: access.aud,
    access_token_scope: access.scope,
    refreshed_aud: refreshedAccess.aud,
  });
}

main().catch((err) => {
  const error = err instanceof CheckFailed ? err.message : `${err?.name}: ${err?.message ?? err}`;
  const detail = err?.cause === undefined ? undefined : String(err.cause?.error ?? err.cause);
  print({ ok: false, error, detail, steps });
  process.exit(1);
});
