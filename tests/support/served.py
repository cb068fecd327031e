"""The production server (serve.py, granian) with one worker, started for a test."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.smtp import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass
class Served:
    master: subprocess.Popen
    base: str

    def workers(self) -> list[int]:
        return [int(pid) for pid in Path(f"/proc/{self.master.pid}/task/{self.master.pid}/children").read_text().split()]

    def stop(self) -> None:
        if self.master.poll() is None:
            self.master.terminate()
            self.master.wait(30)


def serve(base_config: dict, database_url: str, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
          **settings: str) -> Served:
    """serve.py on the test's database and keys, its own address as issuer, without Redis or
    SMTP, and `settings` on top; returns once /healthz answers."""
    pytest.importorskip("granian", reason="granian (the serve extra) is not installed")
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "IDP_DATABASE_URL": database_url, "IDP_KEYS_DIR": base_config["IDP_KEYS_DIR"],
           "IDP_SECRET_KEY": base_config["IDP_SECRET_KEY"], "IDP_ISSUER": f"http://{address}",
           "TUNNUS_BIND": address, "TUNNUS_WORKERS": "1"}
    for name in ("IDP_REDIS_URL", "IDP_SMTP_URL"):
        env.pop(name, None)
    served = Served(subprocess.Popen([sys.executable, "serve.py"], cwd=ROOT, env={**env, **settings},
                                     stdout=stdout, stderr=stderr), f"http://{address}")
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(served.base + "/healthz", timeout=2).close()
            return served
        except OSError:
            if time.monotonic() > deadline or served.master.poll() is not None:
                served.stop()
                raise AssertionError("serve.py did not start") from None
            time.sleep(0.05)
