"""serve.py runs its workers under Linux's usual scheduling policy, and every thread of
them under SCHED_BATCH when asked to (see its _batch_scheduling)."""
from __future__ import annotations

import os

import pytest

from tests.support.served import serve

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux's")


def _policies(served) -> set[int]:
    """The scheduling policy of every thread of every worker, granian's own threads included."""
    return {os.sched_getscheduler(int(thread))
            for worker in served.workers() for thread in os.listdir(f"/proc/{worker}/task")}


def test_batch_scheduling_reaches_every_worker_thread_when_asked_for(app, base_config, database_url):
    served = serve(base_config, database_url, TUNNUS_BATCH_SCHEDULING="1")
    try:
        assert served.workers()
        assert _policies(served) == {os.SCHED_BATCH}
    finally:
        served.stop()


def test_the_usual_policy_unless_asked_for(app, base_config, database_url):
    served = serve(base_config, database_url)
    try:
        assert _policies(served) == {os.SCHED_OTHER}
    finally:
        served.stop()
