// node-oidc-provider with a configuration equivalent to bench/run's Portcullis:
// one confidential client (client_secret_basic), ES256 JWT access tokens for
// client_credentials through a default resource indicator, opaque access
// tokens for the user (userinfo and introspection: its JWT access tokens can
// be neither), refresh tokens rotated on every use, one user. Its default
// in-memory adapter holds everything (no database), in a single process.
//
//   PORT=… CLIENT_ID=… CLIENT_SECRET=… REDIRECT_URI=… USERNAME=… node server.mjs
//
// Sign-in is not measured against this peer (it has no password store): the
// interaction route below completes login and consent for USERNAME at once,
// which is how bench/run obtains the user's tokens through the code flow.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const port = Number(env('PORT'));
const issuer = `http://127.0.0.1:${port}`;
const clientId = env('CLIENT_ID');
const username = env('USERNAME');
const resource = 'urn:portcullis-bench:api';

// ES256 signs the access tokens; RS256 the ID tokens (the OIDC default, as in Portcullis).
const jwk = (options, type, alg) => ({
  ...generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' }),
  alg,
  use: 'sig',
  kid: `${alg.toLowerCase()}-1`,
});
const keys = [
  jwk({ namedCurve: 'P-256' }, 'ec', 'ES256'),
  jwk({ modulusLength: 2048 }, 'rsa', 'RS256'),
];

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: env('CLIENT_SECRET'),
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [env('REDIRECT_URI')],
    scope: 'openid offline_access profile email api',
  }],
  jwks: { keys },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api'],
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email', 'email_verified'],
  },
  async findAccount(_ctx, sub) {
    if (sub !== username) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, preferred_username: username, email: `${username}@example.com`, email_verified: true };
      },
    };
  },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => false },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  rotateRefreshToken: () => true,
  ttl: {
    AccessToken: 3600,
    ClientCredentials: 3600,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 30 * 24 * 3600,
    Grant: 30 * 24 * 3600,
    Interaction: 900,
    Session: 14 * 24 * 3600,
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // client_credentials gets the API (a JWT access token); the code flow
      // asks for none, so its access token is opaque and good for userinfo.
      defaultResource: (ctx) => (ctx.oidc.params?.grant_type === 'client_credentials' ? resource : undefined),
      useGrantedResource: () => false,
      getResourceServerInfo: (_ctx, indicator) => {
        if (indicator !== resource) throw new Provider.errors.InvalidTarget();
        return {
          scope: 'api',
          audience: resource,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
});

const koaHandler = provider.callback();
const server = http.createServer(async (req, res) => {
  const match = req.method === 'GET' && /^\/interaction\/([^/?]+)/.exec(req.url);
  if (!match) return koaHandler(req, res);
  try {
    // Login and consent, completed at once for the benchmark's user.
    const details = await provider.interactionDetails(req, res);
    const { params } = details;
    const grant = new provider.Grant({ accountId: username, clientId: params.client_id });
    grant.addOIDCScope(String(params.scope));
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: username }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  } catch (err) {
    res.statusCode = 500;
    res.end(String(err));
  }
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider listening on ${issuer}\n`);
});
