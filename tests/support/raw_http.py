"""A server on a real port that answers every request as it is told, whatever that is: an
HTTP answer no HTTP library would write (a NUL in its status line, a broken chunk, no HTTP
at all), one a byte a second, or one that never ends, as a broken or hostile service's may be."""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable


class RawAnswers:
    """`answer`: the bytes every request gets, or answer(conn, head) to write them itself."""

    def __init__(self, answer: bytes | Callable[[socket.socket, bytes], None]):
        self.answer = answer
        self.requests: list[bytes] = []  # each request's head
        self._sock = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:  # stopped
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head and (chunk := conn.recv(65536)):
                    head += chunk
                self.requests.append(head)
                if callable(self.answer):
                    self.answer(conn, head)
                else:
                    conn.sendall(self.answer)
            except OSError:  # the client gave up, as it should
                pass

    def stop(self) -> None:
        self._sock.close()
