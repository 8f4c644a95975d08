-- wrk script of scripts/bench.sh. Configured by environment variables:
--   BENCH_NAME, BENCH_CONC   label of the result line
--   BENCH_COOKIE             Cookie header (session + CSRF cookie)
--   BENCH_PATHS              file of request paths, one a line (rotated)
--   BENCH_METHOD, BENCH_BODY POST requests (follow-up, submission)
--   BENCH_SUBMIT=1           each path is used once; each request gets its own
--                            X-Forwarded-For (the per-address rate limit)
-- Prints: HTTP <name> <conc> <p50 ms> <p95 ms> <p99 ms> <req/s> <errors> <non-2xx/3xx>

local paths = {}
local counter = 0
local threads = {}

local function load_paths()
  local file = os.getenv("BENCH_PATHS")
  if file then
    for line in io.lines(file) do
      if line ~= "" then table.insert(paths, line) end
    end
  end
  if #paths == 0 then table.insert(paths, os.getenv("BENCH_PATH") or "/healthz") end
end

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  load_paths()
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  counter = thread_id or 0
  wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE") or ""
  wrk.method = os.getenv("BENCH_METHOD") or "GET"
  local body = os.getenv("BENCH_BODY")
  if body then
    wrk.body = body
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  step = nthreads
end

function request()
  local path = paths[(counter % #paths) + 1]
  local headers = nil
  if os.getenv("BENCH_SUBMIT") == "1" then
    local n = counter + 1
    -- wrk.format replaces wrk.headers by the table it is given: copy them.
    headers = {}
    for k, v in pairs(wrk.headers) do headers[k] = v end
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256,
      math.floor(n / 256) % 256, n % 256)
  end
  counter = counter + step
  return wrk.format(nil, path, headers, nil)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format("HTTP %s %s %.2f %.2f %.2f %.1f %d %d\n",
    os.getenv("BENCH_NAME") or "?", os.getenv("BENCH_CONC") or "?",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1000000), errors, summary.errors.status))
end
