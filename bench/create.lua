-- wrk script: POST /api/v1/bookings with a new person's name on every request, so that no
-- booking overlaps another and every answer should be 201 Created. Answers other than 201
-- are counted and printed by done() as "unexpected_status N".
--
-- wrk ... -s create.lua URL -- RUN_TAG FROM_DATE TO_DATE
-- RUN_TAG keeps the names of one wrk run apart from those of the runs before it.

-- With WRK_PAUSE_MS in the environment, each connection waits that long before each request.
local pause_ms = tonumber(os.getenv("WRK_PAUSE_MS") or "")
if pause_ms then
  function delay()
    return pause_ms
  end
end

threads = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  run_tag = args[1] or "run"
  from_date = args[2] or "2031-06-10"
  to_date = args[3] or from_date
  sent = 0
  unexpected = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  sent = sent + 1
  local body = string.format(
    '{"user_name":"bench %s %d %d","from_date":"%s","to_date":"%s"}',
    run_tag, thread_no, sent, from_date, to_date)
  return wrk.format(nil, "/api/v1/bookings", nil, body)
end

function response(status, headers, body)
  if status ~= 201 then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
  end
  io.write(string.format("unexpected_status %d\n", total))
end
