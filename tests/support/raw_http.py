"""A server on a real port that answers every request with the same bytes, whatever they
are: an HTTP answer no HTTP library would write (a NUL in its status line, a broken chunk,
no HTTP at all), as a broken or hostile service's may be."""
from __future__ import annotations

import socket
import threading


class RawAnswers:
    def __init__(self, answer: bytes):
        self.answer = answer
        self.requests = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}{path}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:  # stopped
                return
            with conn:
                conn.settimeout(5)
                head = b""
                while b"\r\n\r\n" not in head and (chunk := conn.recv(65536)):
                    head += chunk
                self.requests += 1
                conn.sendall(self.answer)

    def stop(self) -> None:
        self._sock.close()
