// oauth4webapi (panva, pinned in package.json) as a CLI using the device
// authorization grant (RFC 8628), driven by tests/it/oidc/device.rs.
//
// Configuration from the environment: ISSUER, CLIENT_ID (a public client),
// SCOPE, SERVER_TIME (the server's manual clock, Unix seconds; the
// library's "now" is shifted onto it).
//
// Protocol over stdin/stdout, one JSON line each way:
//   1. discovery, then the device authorization request; prints
//      {"event":"device_authorization","user_code":...,"verification_uri":...,
//       "verification_uri_complete":...,"expires_in":...,"interval":...}
//   2. polls the token endpoint once; prints {"event":"polled","error":"authorization_pending"}
//      (or whatever the error was)
//   3. reads one line (the test approved on /device and moved the clock on);
//      polls again, validates the token response (ID token claims), calls
//      userinfo; prints {"ok":true,"steps":[...],"sub":...,...}
// A failed check prints {"ok":false,"error":...,"steps":[...]} and exits 1.

import * as oauth from 'oauth4webapi';
import { CheckFailed, check, env, print, readLine } from './harness.mjs';

const steps = [];

async function main() {
  const issuer = new URL(env('ISSUER'));
  const serverTime = Number(env('SERVER_TIME'));
  check(Number.isInteger(serverTime), 'SERVER_TIME must be Unix seconds', process.env.SERVER_TIME);
  const skew = serverTime - Math.floor(Date.now() / 1000);
  // The test server speaks plain HTTP on the loopback interface.
  const http = { [oauth.allowInsecureRequests]: true };

  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, http));
  check(typeof as.device_authorization_endpoint === 'string', 'no device_authorization_endpoint', as);
  check(
    as.grant_types_supported?.includes('urn:ietf:params:oauth:grant-type:device_code'),
    'the device grant is not advertised',
    as.grant_types_supported,
  );
  steps.push('discovery');

  const client = { client_id: env('CLIENT_ID'), token_endpoint_auth_method: 'none', [oauth.clockSkew]: skew };
  const auth = oauth.None();

  const started = await oauth.processDeviceAuthorizationResponse(
    as,
    client,
    await oauth.deviceAuthorizationRequest(as, client, auth, { scope: env('SCOPE') }, http),
  );
  steps.push('device_authorization');
  print({
    event: 'device_authorization',
    user_code: started.user_code,
    verification_uri: started.verification_uri,
    verification_uri_complete: started.verification_uri_complete,
    expires_in: started.expires_in,
    interval: started.interval,
  });

  const poll = async () =>
    oauth.processDeviceCodeResponse(
      as,
      client,
      await oauth.deviceCodeGrantRequest(as, client, auth, started.device_code, http),
    );

  try {
    await poll();
    check(false, 'the first poll got tokens before anyone approved');
  } catch (err) {
    if (err instanceof CheckFailed) throw err;
    check(err instanceof oauth.ResponseBodyError, 'the first poll failed unexpectedly', String(err));
    print({ event: 'polled', error: err.error, status: err.status });
    steps.push(`poll_${err.error}`);
  }

  await readLine();
  const tokens = await poll();
  steps.push('device_code_grant');
  check(tokens.token_type.toLowerCase() === 'bearer', 'token_type', tokens.token_type);
  const claims = oauth.getValidatedIdTokenClaims(tokens);
  check(claims !== undefined, 'no ID token for scope openid');

  const userinfo = await oauth.processUserInfoResponse(
    as,
    client,
    claims.sub,
    await oauth.userInfoRequest(as, client, tokens.access_token, http),
  );
  steps.push('userinfo');

  print({
    ok: true,
    steps,
    sub: claims.sub,
    id_token: { iss: claims.iss, aud: claims.aud, azp: claims.azp ?? null, amr: claims.amr ?? null },
    scope: tokens.scope,
    refresh_token: typeof tokens.refresh_token === 'string',
    userinfo,
  });
}

main().catch((err) => {
  const error = err instanceof CheckFailed ? err.message : `${err?.name}: ${err?.message ?? err}`;
  const detail = err instanceof oauth.ResponseBodyError ? { error: err.error, status: err.status } : undefined;
  print({ ok: false, error, detail, steps });
  process.exit(1);
});
