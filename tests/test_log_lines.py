"""How log lines leave a process: access lines written without a LogRecord read exactly as
the record would, and buffered lines all come out, in order, whatever way the process ends."""
from __future__ import annotations

import logging
import select
import subprocess
import sys
from pathlib import Path

import pytest

from idp import logging_setup

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {"status": 200, "duration_ms": 0.4, "request_id": "lb-0001", "method": "POST", "path": "/token",
          "client_ip": "203.0.113.7"}
MESSAGE = '203.0.113.7 "POST /token" 200 0.4ms'


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_an_access_line_reads_as_the_record_would(log_format):
    chosen = logging_setup.formatter(log_format)
    record = logging.getLogger(logging_setup.ACCESS_LOGGER).makeRecord(
        logging_setup.ACCESS_LOGGER, logging.INFO, "(unknown file)", 0, MESSAGE, None, None, extra=FIELDS)
    chosen.access(MESSAGE, FIELDS, record.created - 61.5)  # a line of an earlier second came first
    assert chosen.access(MESSAGE, FIELDS, record.created) == chosen.format(record)


def _run(code: str) -> list[str]:
    """The stderr lines of a Python process that configures logging and runs `code`."""
    script = f"import logging, os, time\nfrom idp import logging_setup\nlogging_setup.configure('text')\n{code}"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    return [line.split(" ", 2)[2] for line in done.stderr.splitlines()]


def test_a_warning_goes_out_at_once_after_the_lines_before_it():
    lines = _run("logging.getLogger('a').info('first')\nlogging.getLogger('a').warning('second')\nos._exit(0)")
    assert lines == ["INFO a [-] first", "WARNING a [-] second"]


def test_info_lines_go_out_within_the_flush_interval_without_an_exit():
    lines = _run(f"logging.getLogger('a').info('waiting')\ntime.sleep({logging_setup.FLUSH_EVERY * 3})\nos._exit(0)")
    assert lines == ["INFO a [-] waiting"]


def test_a_multiprocessing_child_writes_its_lines_when_it_ends():
    # granian's workers are multiprocessing children (forked on Linux), which end without
    # running atexit.
    lines = _run("import multiprocessing\n"
                 "logging.getLogger('parent').info('before the fork')\n"
                 "def child():\n    logging.getLogger('child').info('from the child')\n"
                 "p = multiprocessing.get_context('fork').Process(target=child)\n"
                 "p.start(); p.join()")
    assert sorted(lines) == ["INFO child [-] from the child", "INFO parent [-] before the fork"]


def test_a_stderr_nobody_reads_holds_up_no_request():
    """A log collector that stops reading: access lines keep being taken (the ones beyond
    MAX_PENDING are counted and said to be dropped), in order, once stderr reads again."""
    lines = logging_setup.MAX_PENDING // 40  # more than fit: each line is over 40 bytes
    script = ("import os, sys, time\nfrom idp import logging_setup\nlogging_setup.configure('text')\n"
              f"for i in range({lines}):\n"
              "    logging_setup.write_access(f'line {i:07d}', {'request_id': 'r'})\n"
              "print('done', flush=True)\ntime.sleep(0.5)\nlogging_setup._handler.flush()\nos._exit(0)")
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)  # stderr not read meanwhile
        assert ready and process.stdout.readline() == "done\n", "the writes waited for stderr"
        written = process.stderr.read().splitlines()
    finally:
        process.kill()
        process.wait()
    numbers = [int(line.rsplit(" ", 1)[1]) for line in written if " line " in line]
    assert numbers == sorted(numbers) and numbers[0] == 0
    dropped = lines - len(numbers)
    assert dropped > 0 and written[-1].endswith(f"{dropped} log lines dropped: stderr was not taking them")
