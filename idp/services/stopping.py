"""Stopping a sender (`tunnus mail send`, `tunnus logouts send`) with Ctrl-C or SIGTERM
without it keeping a row in hand until the row's lease ends.

A stop is taken at once where nothing is lost by it: while the sender waits between
rounds, or while it waits on the network for a row it claimed and the other side has not
taken yet (the row is then given back, leases.in_hand, and another sender sends it at
once). Anywhere else (claiming, recording an outcome) it is taken at the next such point
or before the next claim, so every outcome is recorded: a mail the server accepted is
never sent again; the goodbye after it is only cut short.
"""
from __future__ import annotations

import contextlib
import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(BaseException):
    """A BaseException, as KeyboardInterrupt: no `except Exception` on the way takes it for
    a failed delivery."""


class _MainThread(threading.local):
    # Signal handlers run in the main thread: other threads (first back-channel attempts,
    # requests) have their own copy, so they are never stopped half way.
    requested = False
    interruptible = False


_main = _MainThread()


@contextlib.contextmanager
def on_signals():
    """Within this block Ctrl-C and SIGTERM stop the sender at the first point they may."""
    previous = {number: signal.signal(number, _requested) for number in SIGNALS}
    _main.requested = False
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _requested(number, _frame) -> None:
    _main.requested = True
    if _main.interruptible:
        raise Stopped(signal.Signals(number).name)


def check() -> None:
    """Stop here if a stop came meanwhile."""
    if _main.requested:
        raise Stopped()


@contextlib.contextmanager
def interruptible():
    """A wait that a stop may cut short: nothing would be lost, or the row is given back."""
    check()
    _main.interruptible = True
    try:
        yield
    finally:
        _main.interruptible = False


@contextlib.contextmanager
def cut_short():
    """A wait that a stop ends without ending what follows: the stop is taken at the next
    check (the next claim, or the wait between rounds)."""
    with contextlib.suppress(Stopped), interruptible():
        yield
