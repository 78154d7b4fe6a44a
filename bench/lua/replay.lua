-- Replay pre-signed requests round-robin; report latency percentiles and errors as JSON.
-- The requests file (REQUESTS env var) holds one request per line, as JSON:
--   {"method": "GET", "path": "/profile/...", "headers": {...}, "body": "..."}
-- wrk has no JSON library, so run.py writes a Lua file instead and we dofile() it.

local requests_file = os.getenv("REQUESTS")
local reqs = dofile(requests_file)
local counter = 0

function init(args)
  counter = math.random(0, #reqs - 1)
end

function request()
  counter = (counter % #reqs) + 1
  local r = reqs[counter]
  return wrk.format(r.method, r.path, r.headers, r.body)
end

function done(summary, latency, requests)
  -- wrk counts answers with a status above 399 itself (summary.errors.status): no
  -- response() callback, which would make wrk hand every response to Lua and take CPU
  -- from the server it measures
  local bad = summary.errors.status
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout + bad
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, ' ..
    '"p50_ms": %.3f, "p99_ms": %.3f, "mean_ms": %.3f}\n',
    summary.requests, summary.duration, errors, bad,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000))
end
