-- wrk script of Carrel's load benchmark (e2e/load writes the requests file
-- and reads the CARREL_WRK line this prints at the end). Each line of the
-- file is one request:
--
--   METHOD <tab> PATH <tab> Name: value|Name: value|... <tab> BODY
--
-- Thread t of n keeps the lines whose number is t modulo n, builds each
-- request once in init (so request() costs a table lookup), and sends them
-- in order, round and round. The file lists sessions so that one session's
-- requests always fall to the same thread, one after the other.

local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

local function split(s, sep)
  local out, from = {}, 1
  while true do
    local i = string.find(s, sep, from, true)
    if not i then
      table.insert(out, string.sub(s, from))
      return out
    end
    table.insert(out, string.sub(s, from, i - 1))
    from = i + #sep
  end
end

function init(args)
  local n = tonumber(args[2])
  reqs, pos = {}, 0
  local i = 0
  for line in io.lines(args[1]) do
    if i % n == id then
      local f = split(line, "\t")
      local headers = {}
      for _, h in ipairs(split(f[3] or "", "|")) do
        local k, v = string.match(h, "^([^:]+): (.*)$")
        if k then headers[k] = v end
      end
      local body = f[4]
      if body == "" then body = nil end
      table.insert(reqs, wrk.format(f[1], f[2], headers, body))
    end
    i = i + 1
  end
  if #reqs == 0 then
    error("no requests for thread " .. id)
  end
end

function request()
  pos = pos % #reqs + 1
  return reqs[pos]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('CARREL_WRK {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
