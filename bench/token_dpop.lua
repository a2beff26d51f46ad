-- wrk script: POST /token client_credentials with a DPoP proof (RFC 9449),
-- one fresh proof per request (a proof is accepted once).
-- BENCH_DPOP_PROOFS: a file of proofs, one a line (bench/node/dpop_proofs.mjs
-- makes them just before the run, with the server's nonce); each wrk thread
-- takes its share. Running out sends a used proof: a loud non-2xx.
-- BENCH_BASIC is base64("client_id:client_secret").
local basic = os.getenv("BENCH_BASIC")
local file = os.getenv("BENCH_DPOP_PROOFS")
if basic == nil or basic == "" or file == nil or file == "" then
  error("BENCH_BASIC or BENCH_DPOP_PROOFS is not set")
end

local threads = 0
function setup(thread)
  thread:set("index", threads)
  threads = threads + 1
end

local pool = {}
local last = nil
function init(args)
  local i = 0
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  for line in io.lines(file) do
    if i % nthreads == index then
      table.insert(pool, line)
    end
    i = i + 1
  end
end

local body = "grant_type=client_credentials&scope=api"
function request()
  local proof = table.remove(pool)
  if proof == nil then
    proof = last or "exhausted"
  end
  last = proof
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. basic,
    ["DPoP"] = proof,
  }, body)
end
