"""What no value of a request to Tunnus can hold, refused where the request comes in.

PostgreSQL refuses a NUL character in text and an integer beyond its column's range, so
either, reaching a query, was a 500 on PostgreSQL (and not on SQLite). No address, name,
code, id, token or URI has a use for a NUL, and no row has an id beyond 2³¹ - 1. So:
- a NUL in the query, the form or the path answers 400, before any view reads it (a page
  for people, invalid_request in JSON at the protocol endpoints: the app's error handlers);
- an id in the path beyond an `Integer` column's range matches no route: 404, as an id no
  row has.
"""
from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from ..models import row_id


class RowId(IntegerConverter):
    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", row_id.LARGEST)
        super().__init__(url_map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Before the blueprints: a route takes its converter when it is added."""
    app.url_map.converters["int"] = RowId
    app.before_request(_refuse_nul)


def _refuse_nul() -> None:
    values = [*request.args.items(multi=True), *request.form.items(multi=True)]
    texts = [text for pair in values for text in pair] + [str(v) for v in (request.view_args or {}).values()]
    if any("\x00" in text for text in texts):
        raise BadRequest("A NUL character in the request.")
