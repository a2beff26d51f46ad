-- wrk script: POST /login with a wrong password for an account that is
-- backing off (bench/run locks it first), so every request is refused at the
-- account's counter before any argon2id work: a session lookup, the CSRF
-- check, the user lookup, one counter reservation (refused) and a 429 page.
-- Any other answer than 429 is counted and reported by done(); bench/run
-- fails the run on it. BENCH_COOKIE is the session cookie (name=value),
-- BENCH_CSRF its CSRF token, BENCH_LOCKED the locked account's name.
local cookie = os.getenv("BENCH_COOKIE")
local csrf = os.getenv("BENCH_CSRF")
local user = os.getenv("BENCH_LOCKED")
if cookie == nil or cookie == "" or csrf == nil or csrf == "" or user == nil or user == "" then
  error("BENCH_COOKIE, BENCH_CSRF or BENCH_LOCKED is not set")
end

local function encode(s)
  return (string.gsub(s, "[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = cookie
wrk.body = "csrf_token=" .. encode(csrf) .. "&username=" .. encode(user) .. "&password=not-the-password"

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

unexpected = 0
function response(status, headers, body)
  if status ~= 429 then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local n = 0
  for _, thread in ipairs(threads) do
    n = n + (thread:get("unexpected") or 0)
  end
  io.write(string.format("Not 429: %d\n", n))
end
