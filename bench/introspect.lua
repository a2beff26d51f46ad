-- wrk script: POST /introspect (RFC 7662) of a user's access token, the
-- caller authenticating with client_secret_basic.
-- BENCH_BASIC is base64("client_id:client_secret"), BENCH_ACCESS_TOKEN the
-- token to introspect; both set by bench/run.
local basic = os.getenv("BENCH_BASIC")
local token = os.getenv("BENCH_ACCESS_TOKEN")
if basic == nil or basic == "" or token == nil or token == "" then
  error("BENCH_BASIC or BENCH_ACCESS_TOKEN is not set")
end
wrk.method = "POST"
wrk.body = "token=" .. token
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. basic
