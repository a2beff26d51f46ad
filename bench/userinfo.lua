-- wrk script: GET /userinfo with a user's access token.
-- BENCH_ACCESS_TOKEN is obtained by bench/run through the code flow.
local token = os.getenv("BENCH_ACCESS_TOKEN")
if token == nil or token == "" then
  error("BENCH_ACCESS_TOKEN is not set")
end
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. token
