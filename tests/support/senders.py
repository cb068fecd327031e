"""Another sender at work at the same time: `tunnus mail send --loop` in another process."""
from __future__ import annotations

import threading

from idp.extensions import db
from idp.services import mail


def another_round_during_first_send(app, monkeypatch) -> None:
    """While the first SMTP conversation from now on goes on, another sender runs a whole
    delivery round (in its own thread and session, as another process would)."""
    original = mail._send_smtp
    calls = []

    def meanwhile(*args):
        calls.append(args)
        if len(calls) == 1:
            def other_sender():
                with app.app_context():
                    mail.deliver_due()
                    db.session.remove()
            thread = threading.Thread(target=other_sender)
            thread.start()
            thread.join()
        return original(*args)

    monkeypatch.setattr(mail, "_send_smtp", meanwhile)
