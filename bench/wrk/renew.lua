-- wrk script: POST /renew_token with one refresh token (noRefresh: the same token comes back).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.body = '{"kid":"' .. os.getenv("BENCH_KID") .. '","refresh_token":"' .. os.getenv("BENCH_REFRESH") .. '"}'
