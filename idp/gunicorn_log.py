"""gunicorn's log lines in Tunnus's format (gunicorn.conf.py sets `logger_class`).

The access line is written from what the app left in the WSGI environ (request id, the
path with secrets redacted) and the client IP after IDP_PROXY_HOPS; never the query
string or request headers, which gunicorn's default access format would log.
"""
from __future__ import annotations

import os

from gunicorn import glogging

from . import config, logging_setup
from .web.request_id import ENVIRON_ID, ENVIRON_PATH


def _log_format() -> str:
    default = next(s.default for s in config.SETTINGS if s.name == "IDP_LOG_FORMAT")
    return os.environ.get("IDP_LOG_FORMAT", default)


class GunicornLogger(glogging.Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        if _log_format() == "json":
            for handler in self.error_log.handlers + self.access_log.handlers:
                handler.setFormatter(logging_setup.JsonLines())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log.handlers:
            return
        status = str(resp.status).split(None, 1)[0]
        fields = {
            "request_id": environ.get(ENVIRON_ID),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get(ENVIRON_PATH) or environ.get("PATH_INFO", ""),
            "status": int(status) if status.isdigit() else status,
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "client_ip": environ.get("REMOTE_ADDR"),
        }
        self.access_log.info('%s "%s %s" %s %sms %s', fields["client_ip"], fields["method"], fields["path"],
                             fields["status"], fields["duration_ms"], fields["request_id"] or "-", extra=fields)
