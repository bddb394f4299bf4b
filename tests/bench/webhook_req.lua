-- wrk request generator for webhook_bench.sh: the same signed body on every
-- request, with a unique X-GitHub-Delivery per request (labelrun answers a
-- repeated GUID with 200 and does not store it again, which would flatter it).
-- Arguments (after --): BODY_FILE SIGNATURE RUN_TAG

local threads = {}
local next_tid = 1

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

local head, tail
local counter = 0

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local body = f:read("*a")
  f:close()
  local sig, tag = args[2], args[3]
  -- RUN_TAG is 8 hex digits; tid and counter complete a GUID-shaped id.
  head = "POST " .. wrk.path .. " HTTP/1.1\r\n" ..
         "Host: " .. wrk.host .. ":" .. wrk.port .. "\r\n" ..
         "User-Agent: GitHub-Hookshot/bench\r\n" ..
         "Content-Type: application/json\r\n" ..
         "X-GitHub-Event: issues\r\n" ..
         "X-GitHub-Hook-ID: 1\r\n" ..
         "X-Hub-Signature-256: sha256=" .. sig .. "\r\n" ..
         "Content-Length: " .. #body .. "\r\n" ..
         "X-GitHub-Delivery: " .. tag .. "-" .. string.format("%04x", tid) .. "-4000-8000-"
  tail = "\r\n\r\n" .. body
end

function request()
  counter = counter + 1
  return head .. string.format("%012x", counter) .. tail
end
