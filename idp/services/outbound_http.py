"""Requests Tunnus makes to a relying service's own URL (a back-channel logout endpoint,
a jwks_uri): one deadline for the whole exchange, and no redirects, since the registered
URI is the endpoint and a redirect elsewhere is answered as an error."""
from __future__ import annotations

import http.client
import io
import socket
import time
import urllib.request


# What a request raises when the network or the service fails: http.client's own errors
# (an answer that is no HTTP/1.x, a broken chunk, a header line too long) are no OSError,
# and urllib lets them through.
ERRORS = (OSError, http.client.HTTPException)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Deadline:
    """A connected socket whose every read and write gets only what is left of the time
    allowed for the whole request: a service sending its answer a byte at a time is cut
    off as one that sends nothing (a socket timeout alone restarts at every byte). The mail
    sender reads its SMTP server through one too."""

    def __init__(self, sock, deadline: float):
        self._sock, self._deadline = sock, deadline

    def _left(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the service did not answer in time")
        self._sock.settimeout(left)
        return left

    def recv_into(self, buffer, nbytes=0, flags=0):
        self._left()
        return self._sock.recv_into(buffer, nbytes, flags)

    def sendall(self, data, flags=0):
        self._left()
        return self._sock.sendall(data, flags)

    def makefile(self, mode="rb", buffering=-1, **_):
        # As socket.makefile does: the file holds the socket open. urllib closes the
        # connection's socket once the headers are read; without this reference the body,
        # unless it came in the same packets as the headers, is read from a closed socket.
        self._sock._io_refs += 1
        return io.BufferedReader(socket.SocketIO(self, "rb"), buffering if buffering > 0 else io.DEFAULT_BUFFER_SIZE)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def _within(connection_class, timeout: float):
    class Connection(connection_class):
        def connect(self):
            deadline = time.monotonic() + timeout
            super().connect()
            self.sock = Deadline(self.sock, deadline)
    return Connection


def opener(timeout: float) -> urllib.request.OpenerDirector:
    """An opener whose requests end, answered or not, `timeout` seconds after connecting."""
    class HTTP(urllib.request.HTTPHandler):
        def http_open(self, request):
            return self.do_open(_within(http.client.HTTPConnection, timeout), request)

    class HTTPS(urllib.request.HTTPSHandler):
        def https_open(self, request):
            return self.do_open(_within(http.client.HTTPSConnection, timeout), request,
                                context=self._context)

    return urllib.request.build_opener(_NoRedirects, HTTP, HTTPS)
