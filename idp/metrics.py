"""Prometheus metrics, counted where the facts are: every audit event (logins by result
and method, tokens, resets...), every token request by grant and outcome, and the
latency of every endpoint. With several worker processes set PROMETHEUS_MULTIPROC_DIR
(serve.py does) so all workers' numbers are summed."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS = Counter("tunnus_events_total", "Audit events by kind and result (login.password, token.issued...).",
                 ["event", "result"])
TOKENS = Counter("tunnus_token_requests_total", "Token endpoint requests by grant type and HTTP status.",
                 ["grant_type", "status"])
LATENCY = Histogram("tunnus_request_seconds", "Request latency by endpoint.", ["endpoint", "method"],
                    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
