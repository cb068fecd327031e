"""A relying service's back-channel logout endpoint on a real port."""
from __future__ import annotations

import threading
import time

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class LogoutReceiver:
    """A relying service's back-channel logout endpoint on a real port. It records every
    POST and answers with the next of `statuses` (then 200), after `delay` seconds; with a
    `body`, sent a moment after the headers, as a service behind a proxy may."""

    def __init__(self, statuses=(), delay=0.0, on_post=None, body=b""):
        self.statuses = list(statuses)
        self.delay = delay
        self.body = body
        self.on_post = on_post  # called as each POST arrives, before it is answered
        self.received: list[dict] = []
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/backchannel-logout"

    @Request.application
    def _app(self, request):
        self.received.append({"form": request.form.to_dict(), "content_type": request.content_type})
        if self.on_post:
            self.on_post()
        time.sleep(self.delay)
        return Response(self._later(), status=self.statuses.pop(0) if self.statuses else 200,
                        headers={"Content-Length": str(len(self.body))})

    def _later(self):
        yield b""  # the headers go out now
        if self.body:
            time.sleep(0.2)
            yield self.body

    def tokens(self) -> list[str]:
        return [hit["form"]["logout_token"] for hit in self.received]

    def stop(self):
        self.server.shutdown()
