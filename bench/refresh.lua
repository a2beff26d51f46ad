-- wrk script: POST /token with grant_type=refresh_token, rotating: every
-- answer carries the next refresh token of the family, which the next request
-- of that thread uses (reusing a rotated token would revoke the family).
-- BENCH_REFRESH_TOKENS: space-separated refresh tokens of distinct families,
-- at least as many as connections (bench/run mints them); each wrk thread
-- takes its share. BENCH_BASIC is base64("client_id:client_secret").
local basic = os.getenv("BENCH_BASIC")
local all = os.getenv("BENCH_REFRESH_TOKENS")
if basic == nil or basic == "" or all == nil or all == "" then
  error("BENCH_BASIC or BENCH_REFRESH_TOKENS is not set")
end

local threads = 0
function setup(thread)
  thread:set("index", threads)
  threads = threads + 1
end

local pool = {}
function init(args)
  local i = 0
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  for token in string.gmatch(all, "%S+") do
    if i % nthreads == index then
      table.insert(pool, token)
    end
    i = i + 1
  end
end

local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = "Basic " .. basic,
}
function request()
  local token = table.remove(pool)
  if token == nil then
    -- More connections than tokens: a request that fails loudly (non-2xx).
    token = "exhausted"
  end
  return wrk.format("POST", nil, headers, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local next_token = string.match(body, '"refresh_token"%s*:%s*"([^"]+)"')
  if next_token ~= nil then
    table.insert(pool, next_token)
  end
end
