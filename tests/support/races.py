"""Two requests made to interleave deterministically, as a double click does when several
worker processes serve it: a barrier right after the check each request makes, so both
have checked before either writes. A fix that serialises them (a row lock, a unique
constraint's conflict handled) makes the barrier wait out its timeout and go on.

Only PostgreSQL shows these races: SQLite lets one writer in at a time and has no row
locks, so tests using this are marked `row_locks` (skipped on SQLite).
"""
from __future__ import annotations

import os
import threading
from urllib.parse import urljoin

import pytest

row_locks = pytest.mark.skipif(
    not os.environ.get("IDP_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="races need PostgreSQL (IDP_TEST_DATABASE_URL): SQLite lets one writer in at a time")

WAIT = 3  # seconds a barrier waits for the other requests (a serialising fix waits it out)


def barrier_after(monkeypatch, owner, name, parties=2, barrier=None):
    """Make owner.name wait, after it returns, until `parties` calls have reached that point;
    with the `barrier` an earlier call returned, until the calls of both have (two different
    steps meeting: a token request's and a logout's). The barrier."""
    original = getattr(owner, name)
    barrier = barrier or threading.Barrier(parties, timeout=WAIT)

    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return result

    monkeypatch.setattr(owner, name, wrapped)
    return barrier


def meet_after(monkeypatch, *points):
    """Make each (owner, name), the first time it returns, wait until every one has: two
    different requests (a person's and an admin's) each at its own check."""
    barrier = threading.Barrier(len(points), timeout=WAIT)
    for owner, name in points:
        monkeypatch.setattr(owner, name, _meeting(getattr(owner, name), barrier))


def _meeting(original, barrier):
    first = threading.Event()

    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        if not first.is_set():
            first.set()
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
        return result
    return wrapped


def clone(app, browser):
    """Another test client carrying the same cookies: the same browser's second request."""
    client = app.test_client()
    client._cookies = dict(browser.client._cookies)
    return client


def at_once(*requests):
    """Run the callables in threads at once; their answers, in order."""
    answers, errors = [None] * len(requests), []

    def run(n):
        try:
            answers[n] = requests[n]()
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return answers


def post(app, browser, where, **fields):
    """A callable posting the form on the browser's page whose action contains `where`."""
    form = browser.form(where)
    url, data = urljoin(browser.url, form["action"]), {**form["fields"], **fields}
    return lambda: clone(app, browser).post(url, data=data)


def race(app, browser, where, times=2, **fields):
    """Post that form `times` at once, as a double click does; the answers."""
    return at_once(*[post(app, browser, where, **fields)] * times)
