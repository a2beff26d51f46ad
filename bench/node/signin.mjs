// The password sign-in round trip, driven for a fixed time by CONCURRENCY
// workers: GET /login (a fresh session cookie and CSRF token), then
// POST /login with the user's password (one argon2id verification on the
// server), which must answer 303 (signed in). Worker i signs in as
// `${USERNAME}-${i}`: an attempt in flight counts against its account
// until it is known to be right (so parallel guesses cannot slip past the
// lockout), and one account signing in from many places at once is not
// the workload measured here. BASE may list several servers (space-separated,
// instances of one deployment): worker i then drives server i mod their
// number. Prints one JSON line:
// {"signins": N, "seconds": S, "p50_ms": …, "p99_ms": …} — latencies of the
// whole round trip. Any other answer fails the run (exit 1).
//
//   BASE=http://127.0.0.1:PORT USERNAME=prefix PASSWORD=… DURATION=10 CONCURRENCY=4 node signin.mjs
import http from 'node:http';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
};
const base = env('BASE');
const username = env('USERNAME');
const password = env('PASSWORD');
const seconds = Number(env('DURATION', '10'));
const concurrency = Number(env('CONCURRENCY', '4'));

const hidden = (html, name) => {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  return m ? m[1].replaceAll('&#x2F;', '/').replaceAll('&amp;', '&') : undefined;
};

// node:http with a keep-alive agent rather than fetch(): the driver shares the
// two cores with the server, and fetch's streams and Response objects cost
// about 2.5 ms of CPU per round trip, a quarter of a core at these rates
// (node:http: a tenth).
const servers = base.split(/\s+/).filter(Boolean).map((b) => ({
  target: new URL(b),
  agent: new http.Agent({ keepAlive: true, maxSockets: concurrency }),
}));

function send({ target, agent }, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: target.hostname, port: target.port, method, path, headers, agent },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function roundTrip(server, username) {
  const page = await send(server, 'GET', '/login', {});
  const cookie = (page.headers['set-cookie'] || []).map((c) => c.split(';')[0]).join('; ');
  const csrf = hidden(page.text, 'csrf_token');
  if (page.status !== 200 || !cookie || !csrf) throw new Error(`GET /login answered ${page.status} without a session`);
  const body = new URLSearchParams({ csrf_token: csrf, username, password, request: hidden(page.text, 'request') ?? '' }).toString();
  const res = await send(server, 'POST', '/login', {
    cookie,
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': Buffer.byteLength(body),
  }, body);
  if (res.status !== 303) throw new Error(`POST /login answered ${res.status}, not 303`);
}

const latencies = [];
const deadline = performance.now() + seconds * 1000;
const started = performance.now();
async function worker(_, i) {
  while (performance.now() < deadline) {
    const t0 = performance.now();
    await roundTrip(servers[i % servers.length], `${username}-${i}`);
    latencies.push(performance.now() - t0);
  }
}
try {
  await Promise.all(Array.from({ length: concurrency }, worker));
} catch (err) {
  process.stderr.write(`signin: ${err.message}\n`);
  process.exit(1);
}
const elapsed = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] : 0);
process.stdout.write(`${JSON.stringify({
  signins: latencies.length,
  seconds: Number(elapsed.toFixed(3)),
  p50_ms: Number(pct(0.5).toFixed(2)),
  p99_ms: Number(pct(0.99).toFixed(2)),
})}\n`);
