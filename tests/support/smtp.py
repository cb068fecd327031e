"""A real SMTP server (aiosmtpd) that keeps what it receives, for reading mails in tests."""
from __future__ import annotations

import asyncio
import email
import email.policy
import re
import socket
import threading

from aiosmtpd.controller import Controller


class Mailbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.reject_with: tuple[int, str] | None = None  # e.g. (550, "no such user")
        self.refuse_recipient: int | None = None  # e.g. 450: refused at RCPT, the address in the reply
        self.refuse_sender: str | None = None  # e.g. "553 5.7.1 Sender address rejected", at MAIL
        self.speaks_esmtp = True  # False: EHLO is answered 500 (RFC 821 only), HELO it is
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TOs) of each mail taken
        self._lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return responses if self.speaks_esmtp else ["500 5.5.1 Command unrecognized"]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.refuse_sender:
            return self.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_recipient:  # in the words of a real server, which repeat the address
            return f"{self.refuse_recipient} 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.reject_with:
            code, text = self.reject_with
            return f"{code} {text}"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def clear(self):
        with self._lock:
            self.messages.clear()
            self.envelopes.clear()
        self.reject_with = self.refuse_recipient = self.refuse_sender = None
        self.speaks_esmtp = True

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["To"].lower() == address.lower()]

    def last(self, address: str):
        found = self.to(address)
        assert found, f"no mail to {address}; got {[m['To'] for m in self.messages]}"
        return found[-1]

    @staticmethod
    def text(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html(message) -> str:
        return message.get_body(preferencelist=("html",)).get_content()

    def code(self, address: str) -> str:
        """The 6-digit code of the last mail to `address`."""
        return re.search(r"\b(\d{3} ?\d{3})\b", self.text(self.last(address))).group(1).replace(" ", "")

    def link(self, address: str, contains: str = "") -> str:
        """The first link in the last mail to `address` containing `contains`."""
        links = re.findall(r"https?://\S+", self.text(self.last(address)))
        matching = [link for link in links if contains in link]
        assert matching, f"no link with {contains!r} in {links}"
        return matching[0]


class Stalling(Mailbox):
    """A server that stops answering at one command: MAIL (before it has taken the mail) or
    QUIT (after). `stuck` is set once a sender waits there."""

    def __init__(self, command: str):
        super().__init__()
        self.stuck = threading.Event()
        setattr(self, f"handle_{command}", self._stall)

    async def _stall(self, *_args):
        self.stuck.set()
        await asyncio.sleep(3600)  # until the server is stopped


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(mailbox: Mailbox | None = None) -> tuple[Controller, Mailbox]:
    mailbox = mailbox or Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, mailbox
