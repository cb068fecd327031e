-- wrk script: runs the script named by WRK_SCRIPT (its request and its RESULT line), each
-- connection pausing about WRK_PAUSE_MS milliseconds between its requests, so that the load
-- stays below what the server can do and the latency shows the server rather than the queue
-- in front of it. Each pause is drawn from PAUSE/2 ... 3*PAUSE/2 (whole ms, as wrk takes
-- them): with equal pauses the connections would send in step, in bursts that queue.
dofile(os.getenv("WRK_SCRIPT"))
local pause = tonumber(os.getenv("WRK_PAUSE_MS"))
if not pause then
  error("WRK_PAUSE_MS is not set")
end
local spread = math.floor(pause / 2)

local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

init = function(args)
  math.randomseed(os.time() * 1000 + seed)
end

delay = function()
  return math.random(pause - spread, pause + spread)
end
