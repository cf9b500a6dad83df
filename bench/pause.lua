-- wrk script: the default GET, each connection waiting WRK_PAUSE_MS milliseconds (from the
-- environment) before each request. create.lua does the same for creates.
local pause_ms = tonumber(os.getenv("WRK_PAUSE_MS") or "0")

function delay()
  return pause_ms
end
