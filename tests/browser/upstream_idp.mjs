// node-oidc-provider as an upstream identity provider of a Portcullis under
// test (tests/it/upstream/browser.rs): one confidential client, any user
// signing in through the provider's own development login and consent pages
// (any login and password), whose address is `<login>@example.com`, verified.
//
//   PORT=… CLIENT_ID=… CLIENT_SECRET=… REDIRECT_URI=… node upstream_idp.mjs
//
// Prints one line once listening.
import { randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const port = Number(env('PORT'));
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: env('CLIENT_ID'),
    client_secret: env('CLIENT_SECRET'),
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [env('REDIRECT_URI')],
  }],
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email', 'email_verified'],
  },
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, preferred_username: sub, name: `${sub} at node`, email: `${sub}@example.com`, email_verified: true };
      },
    };
  },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: { devInteractions: { enabled: true } },
});
provider.listen(port, '127.0.0.1');
process.stdout.write(`oidc-provider upstream listening on ${issuer}\n`);
