// DPoP proofs (RFC 9449) for the `token-dpop` workload of bench/run: one ES256
// key, the server's current nonce (from the use_dpop_nonce challenge of a
// first request without one), then COUNT proofs for POST <BASE>/token, each
// with its own jti, one compact JWS a line on stdout. Signed with node:crypto
// directly (no JOSE library per proof), so making them is quick.
//
//   BASE=http://127.0.0.1:8080 BASIC=<base64 id:secret> COUNT=200000 node dpop_proofs.mjs > proofs.txt
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

const base = process.env.BASE;
const basic = process.env.BASIC;
const count = Number(process.env.COUNT || '1000');
if (!base || !basic) throw new Error('BASE and BASIC are required');
const htu = `${base}/token`;

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } });
const proof = (nonce) => {
  const claims = { jti: randomBytes(16).toString('hex'), htm: 'POST', htu, iat: Math.floor(Date.now() / 1000) };
  if (nonce) claims.nonce = nonce;
  const input = `${header}.${b64(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
};

const challenge = await fetch(htu, {
  method: 'POST',
  headers: {
    authorization: `Basic ${basic}`,
    'content-type': 'application/x-www-form-urlencoded',
    dpop: proof(null),
  },
  body: 'grant_type=client_credentials&scope=api',
});
const nonce = challenge.headers.get('dpop-nonce');
if (challenge.status !== 400 || !nonce) {
  throw new Error(`expected a use_dpop_nonce challenge, got ${challenge.status}: ${await challenge.text()}`);
}
const lines = [];
for (let i = 0; i < count; i++) lines.push(proof(nonce));
process.stdout.write(lines.join('\n') + '\n');
