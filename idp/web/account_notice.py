"""What a change on the account page says, said next to what changed.

The page comes back scrolled to the section the change was made in (its #fragment): a
message printed above the page's heading would be out of sight there, and the person
would see nothing happen. The section is carried in the flash category ("notice
sessions"); account/_form.html's messages(section) prints each message in its section.
"""
from __future__ import annotations

from flask import flash, redirect, url_for


def back_to(section: str, message: str, kind: str = "notice"):
    """Flash `message` (kind "notice" or "error") for `section` of /account and go there."""
    flash(message, f"{kind} {section}")
    return redirect(url_for("account.home", _anchor=section))
