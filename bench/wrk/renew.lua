-- wrk script: POST /renew_token as clients would, each refresh token from its own family.
-- BENCH_REFRESH_FILE holds one refresh token a line; a request takes the oldest, its answer's
-- refresh_token goes to the back of the queue. With refreshBoth every renewal spends its token
-- and answers a new one, so no token is presented twice; with noRefresh the same one comes back.
-- An answer that is not 2xx gives nothing back (wrk counts it as non-2xx); an empty queue sends
-- an empty token, which fails, so the run is marked invalid rather than quietly reusing tokens.
-- At the end the tokens still live (not in flight) are written back to the file for the next run.
local file = os.getenv("BENCH_REFRESH_FILE")
local kid = os.getenv("BENCH_KID")
local strategy = os.getenv("BENCH_STRATEGY")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")

-- globals, so that done() can read them from the thread
queue, first, last = {}, 1, 0
for line in io.lines(file) do
  last = last + 1
  queue[last] = line
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function request()
  local refresh = ""
  if first <= last then
    refresh = queue[first]
    queue[first] = nil
    first = first + 1
  end
  return wrk.format(nil, nil, nil,
    '{"kid":"' .. kid .. '","refresh_strategy":"' .. strategy .. '","refresh_token":"' .. refresh .. '"}')
end

function response(status, headers, body)
  if status < 300 then
    local refresh = string.match(body, '"refresh_token":"([^"]+)"')
    if refresh then
      last = last + 1
      queue[last] = refresh
    end
  end
end

function done(summary, latency, requests)
  local out = io.open(file, "w")
  for _, thread in ipairs(threads) do
    local live = thread:get("queue")
    for i = thread:get("first"), thread:get("last") do
      out:write(live[i], "\n")
    end
  end
  out:close()
end
