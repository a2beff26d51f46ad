-- wrk script: POST /token, grant_type=client_credentials, client_secret_basic.
-- BENCH_BASIC is base64("client_id:client_secret"), set by bench/run.
local basic = os.getenv("BENCH_BASIC")
if basic == nil or basic == "" then
  error("BENCH_BASIC is not set")
end
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=api"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. basic
