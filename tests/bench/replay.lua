-- wrk script for `make bench`: replays the raw HTTP requests that
-- tests/bench/wrk.py wrote to a file (a learner's cookies, CSRF token and form
-- body already in each), and reports in one line that the bench parses.
--
--   wrk --threads T ... --script replay.lua URL -- REQUESTS_FILE T
--
-- Thread n of T sends requests n, n+T, n+2T, ... so no two threads send the
-- same one: an answer slot of the quiz-answer pool is used once. A thread that
-- runs past the end of the file starts it again, and `repeats` counts those
-- requests (a repeated answer is refused, so it also counts as an error).
-- No response() hook: wrk then skips handing bodies to Lua, and counts
-- statuses above 399 itself (summary.errors.status).

-- Globals, not locals: thread:get() reaches only globals.
threads = {}
requests = {}
index, stride, repeats = 0, 1, 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  -- Records: "<length>\n<raw request>".
  local pos = 1
  while pos <= #data do
    local newline = data:find("\n", pos, true)
    local length = tonumber(data:sub(pos, newline - 1))
    requests[#requests + 1] = data:sub(newline + 1, newline + length)
    pos = newline + length + 1
  end
  count = #requests
  -- From the command line, not from setup(): wrk calls the first thread's
  -- request() (to check it) before the second thread exists.
  stride = tonumber(args[2])
  index = id
end

function request()
  if index >= count then
    repeats = repeats + 1
  end
  local raw = requests[index % count + 1]
  index = index + stride
  return raw
end

function done(summary, latency, _requests)
  local total_repeats, pool = 0, 0
  for _, t in ipairs(threads) do
    total_repeats = total_repeats + t:get("repeats")
    pool = t:get("count")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d status_errors=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p95_us=%d p99_us=%d max_us=%d repeats=%d pool=%d\n",
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, total_repeats, pool))
end
