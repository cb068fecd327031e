-- wrk script: POST token=<access token> to the introspection endpoint given on the wrk
-- command line (RFC 7662 §2.1). The token comes in via env WRK_INTROSPECT_TOKEN (compare.sh
-- obtains it from the same provider with client_credentials first); client authentication
-- is HTTP Basic via -H "Authorization: Basic ...", like token_post.lua. Base64url and "."
-- need no form encoding, so the token is sent as it is.
-- Peer: node-oidc-provider's server.mjs already enables introspection (features.introspection,
-- only the client the token was issued to may introspect it), at /token/introspection as its
-- discovery says; no configuration change is needed.
wrk.method = "POST"
local token = os.getenv("WRK_INTROSPECT_TOKEN")
if not token or token == "" then
  error("WRK_INTROSPECT_TOKEN is not set")
end
wrk.body = "token=" .. token .. "&token_type_hint=access_token"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
-- compare.sh checks once, before timing, that the answer says "active": true.

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d non2xx3xx=%d sock_errors=%d\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
