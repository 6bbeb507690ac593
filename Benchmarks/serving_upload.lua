-- wrk script for the serving benchmark (Benchmarks/serving_bench.py): every request POSTs one PNG as
-- multipart/form-data (field "file"), the way a browser form or `curl -F file=@x.png` uploads it.
--   wrk -t2 -c16 -d20s --latency -s Benchmarks/serving_upload.lua http://127.0.0.1:8000 -- /predict image.png
-- Arguments after `--`: the path to post to (Lumen: /api/predict/NAME; FastAPI: /predict) and the PNG
-- (default: $SERVE_BENCH_PNG). At the end one line "SERVE_BENCH_JSON {…}" gives the counts and the
-- latency percentiles in microseconds, for the orchestrator to read.

local boundary = "----lumen-serving-bench-7d41c2"

function init(args)
  local path = args[1] or "/predict"
  local file = args[2] or os.getenv("SERVE_BENCH_PNG")
  assert(file, "serving_upload.lua: give the PNG as the second argument after -- or in SERVE_BENCH_PNG")
  local f = assert(io.open(file, "rb"))
  local png = f:read("*a")
  f:close()
  local name = file:match("([^/]+)$")
  wrk.method = "POST"
  wrk.path = path
  wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
  wrk.body = "--" .. boundary .. "\r\n"
    .. 'Content-Disposition: form-data; name="file"; filename="' .. name .. '"\r\n'
    .. "Content-Type: image/png\r\n\r\n"
    .. png .. "\r\n"
    .. "--" .. boundary .. "--\r\n"
  -- wrk.init formats the request once after this returns and sends the same bytes every time.
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'SERVE_BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "non2xx": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
