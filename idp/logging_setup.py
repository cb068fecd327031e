"""Log lines as readable text or as one JSON object a line (IDP_LOG_FORMAT=json).

JSON is written by python-json-logger (maintained, standard `logging` underneath), so
every library's lines come out the same way. Each line carries time, level, logger and
message; lines written while a request is handled also carry its request id, method,
path and client IP (after IDP_PROXY_HOPS); audit lines carry the event, access lines
(web/access_log.py) status and duration_ms. The server's own lines use the same
formatters (serve.py).

Never logged: query strings (they carry codes, id_token_hint, reset tokens), request
headers (Authorization, cookies) and path segments that are secrets (see SECRET_VIEW_ARGS).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing.util
import os
import re
import sys
import threading
import time
from urllib.parse import quote

from pythonjsonlogger.json import JsonFormatter

FORMATS = ("text", "json")
# URL variables that are secrets in themselves: the emailed confirmation token and the
# campaign link's signature. Logged as [redacted].
SECRET_VIEW_ARGS = frozenset({"token", "signature"})
FLUSH_EVERY = 0.2
BUFFER_BYTES = 64 * 1024
MAX_PENDING = 8 * 1024 * 1024
ACCESS_LOGGER = "tunnus.access"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestFields(logging.Filter):
    """Adds the request being handled (if any) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        from flask import has_request_context

        if has_request_context() and not hasattr(record, "request_id"):
            from .web import request_id

            for name, value in request_id.log_fields().items():
                setattr(record, name, value)
        return True


class JsonLines(JsonFormatter):
    def __init__(self):
        super().__init__("%(levelname)s %(name)s %(message)s", timestamp="time",
                         rename_fields={"levelname": "level", "name": "logger"}, json_ensure_ascii=False)

    def process_log_record(self, log_data):
        # time first, as log collectors and people read it.
        return {"time": log_data.pop("time"), **log_data}

    def access(self, message: str, fields: dict, created: float) -> str:
        """The line format() makes of an INFO record of ACCESS_LOGGER with these extra fields."""
        return json.dumps({"time": dt.datetime.fromtimestamp(created, tz=dt.timezone.utc).isoformat(), "level": "INFO",
                           "logger": ACCESS_LOGGER, "message": message, **fields}, ensure_ascii=False)


class TextLines(logging.Formatter):
    def __init__(self):
        super().__init__(TEXT_FORMAT, defaults={"request_id": "-"})
        self._second = (None, "")  # one tuple: threads read it whole

    def access(self, message: str, fields: dict, created: float) -> str:
        """The line format() makes of an INFO record of ACCESS_LOGGER with these extra fields."""
        second, stamp = self._second
        if second != int(created):
            second = int(created)
            stamp = time.strftime(self.default_time_format, self.converter(second))
            self._second = (second, stamp)
        asctime = self.default_msec_format % (stamp, int((created - second) * 1000))
        return TEXT_FORMAT % {"asctime": asctime, "levelname": "INFO", "name": ACCESS_LOGGER,
                              "request_id": fields["request_id"], "message": message}


def formatter(log_format: str) -> JsonLines | TextLines:
    if log_format not in FORMATS:
        raise ValueError(f"IDP_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    return JsonLines() if log_format == "json" else TextLines()


class _Stderr(logging.Handler):
    """Writes to the process's own stderr, even while a runner (click's, a test's) swaps
    sys.stderr to capture a command's output: log lines are not a command's output.

    Lines below WARNING wait up to FLUSH_EVERY seconds (or BUFFER_BYTES) and go out in one
    write, as nginx's buffered access_log does: a write per access line lets another thread
    take the interpreter lock, and made a machine's token request 3-7% dearer
    (bench/compare.sh). A WARNING or worse goes out at once, after the lines before it; the
    rest go out when the process exits, or are lost with it if it is killed.

    A write can block: a log collector that stops reading the pipe, a disk that stalls.
    So below WARNING only the flusher thread writes (woken early by a full buffer), and a
    request never waits for a write: meanwhile lines gather, up to MAX_PENDING bytes;
    beyond that they are dropped and counted, and the count is logged once writing works.
    """

    def __init__(self):
        super().__init__()
        self._reset()
        self._flusher_pid: int | None = None
        os.register_at_fork(after_in_child=self._reset)  # the parent writes its own lines

    def _reset(self) -> None:
        self._pending = threading.Lock()  # the buffer
        self._writing = threading.Lock()  # one write at a time, in the order lines were taken
        self._full = threading.Event()
        self._lines: list[str] = []
        self._size = 0
        self._dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.append(line, at_once=record.levelno >= logging.WARNING)

    def append(self, line: str, at_once: bool = False) -> None:
        with self._pending:
            if self._size >= MAX_PENDING and not at_once:
                self._dropped += 1
                return
            self._lines.append(line + "\n")
            self._size += len(line) + 1
            if self._flusher_pid != os.getpid():
                self._start_flusher()
            if self._size >= BUFFER_BYTES:
                self._full.set()
        if at_once:
            self.flush()

    def flush(self) -> None:
        with self._writing:
            with self._pending:
                text = "".join(self._lines)
                dropped, self._dropped = self._dropped, 0
                self._lines, self._size = [], 0
            if dropped:
                text += self.format(logging.LogRecord(__name__, logging.WARNING, __file__, 0, "%d log lines dropped: "
                                                      "stderr was not taking them", (dropped,), None)) + "\n"
            stream = sys.__stderr__
            if text and stream is not None:
                try:
                    stream.write(text)
                    stream.flush()
                except (OSError, ValueError):
                    pass  # stderr is gone: nowhere left to say so

    def _start_flusher(self) -> None:
        self._flusher_pid = os.getpid()
        threading.Thread(target=self._flush_every, name="log-flush", daemon=True).start()
        # Runs at exit in a multiprocessing child too (granian's workers), where atexit
        # (and so logging.shutdown) does not.
        multiprocessing.util.Finalize(self, self.flush, exitpriority=10)

    def _flush_every(self) -> None:
        while True:
            self._full.wait(FLUSH_EVERY)
            self._full.clear()
            self.flush()


_handler: _Stderr | None = None
_access = logging.getLogger(ACCESS_LOGGER)  # getLogger takes logging's module lock


def configure(log_format: str) -> None:
    """One stderr handler on the root logger, in the chosen format; calling again (a second
    app in one process) only changes the format."""
    global _handler
    chosen = formatter(log_format)
    root = logging.getLogger()
    if _handler is None:
        # No format here shows the caller, thread or process: don't collect them for every
        # line (the logging HOWTO's "Optimization"; an access line per token request adds up).
        logging._srcfile = None
        logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
        _handler = _Stderr()
        _handler.addFilter(RequestFields())
        root.addHandler(_handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
    _handler.setFormatter(chosen)


def write_access(message: str, fields: dict) -> None:
    """An access line (web/access_log.py), the same as logging it at INFO to ACCESS_LOGGER
    with `fields` as extra would write, without the LogRecord: logging's machinery cost a
    machine's token request an eighth of its time (bench/compare.sh)."""
    if _handler is not None and _access.isEnabledFor(logging.INFO):
        _handler.append(_handler.formatter.access(message, fields, time.time()))


def safe_path(path: str, rule: str | None, view_args: dict | None) -> str:
    """The request path with secret URL variables replaced by [redacted], as one word of
    printable characters (one_word)."""
    if not rule or not view_args or not SECRET_VIEW_ARGS & set(view_args):
        return one_word(path)

    def value(match: re.Match) -> str:
        name = match.group(1)
        return "[redacted]" if name in SECRET_VIEW_ARGS else str(view_args.get(name, ""))

    return one_word(re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", value, rule))


def one_word(path: str) -> str:
    """The path with what is not printable, and spaces, percent-encoded again: a client's
    %0a wrote log lines of its own in the text format, its %1b drove the terminal showing
    the log, and U+2028 split a JSON line for many a collector."""
    if path.isprintable() and " " not in path:
        return path
    return "".join(c if c.isprintable() and c != " " else quote(c, safe="") for c in path)
