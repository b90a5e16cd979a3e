-- wrk script for bench.sh's `wrk` scenario: closed-loop single sends of the officer-call template (id 1), each to its
-- own Singapore mobile number, as the load generator's `send` verb makes them (Sending/Recipients.cs), so that ingest
-- is also measured by a client no one here wrote. Environment: GOVSG_KEY, an API key whose user may send template 1;
-- BENCH_KEYED=1 gives each send an Idempotency-Key of its own, as an agency's first attempt carries.
--   GOVSG_KEY=... wrk -t2 -c64 -d60s -s tests/GovSg.LoadGenerator/wrk/send.lua http://localhost:8080
local key = os.getenv("GOVSG_KEY") or error("set GOVSG_KEY to an API key")
local keyed = os.getenv("BENCH_KEYED") == "1"

-- Stepping through the 20,000,000 numbers 8xxxxxxx and 9xxxxxxx by a stride coprime to that count visits each once;
-- thread t (of at most 16) takes every 16th step from t, from an offset of this run's own.
local first, count, stride, most_threads = 80000000, 20000000, 7368787, 16
local offset = os.time() % count
local started = 0

function setup(thread)
  if started == most_threads then error("at most " .. most_threads .. " threads") end
  thread:set("thread_index", started)
  thread:set("run_offset", offset)
  started = started + 1
end

function init(args)
  issued = 0
  wrk.method = "POST"
  wrk.path = "/v1/transactional/govsg/send"
  wrk.headers["Authorization"] = "Bearer " .. key
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local index = issued * most_threads + thread_index
  issued = issued + 1
  local recipient = string.format("%d", first + (run_offset + index * stride) % count)
  if keyed then wrk.headers["Idempotency-Key"] = string.format("wrk-%d-%d", run_offset, index) end
  return wrk.format(nil, nil, nil, '{"recipient":"' .. recipient .. '","template_id":1,"language_code":"en_GB",' ..
    '"params":{"recipient_name":"Stanley Nguyen","officer_name":"John Tan","officer_designation":"Reception Officer",' ..
    '"agency":"Open Government Products","topic":"document collection","timeslot":"1-3PM"}}')
end

-- One line bench.sh reads: requests, seconds, answers outside 2xx/3xx, socket errors, latency percentiles in ms.
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("wrk: requests %d seconds %.2f non2xx %d socket_errors %d p50_ms %.1f p99_ms %.1f max_ms %.1f\n",
    summary.requests, summary.duration / 1e6, errors.status, errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
