-- wrk script: POST /issue_token as a client would (token and kid from the environment).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.body = '{"kid":"' .. os.getenv("BENCH_KID") .. '","claims":{"sub":"alice","role":"admin"}}'
