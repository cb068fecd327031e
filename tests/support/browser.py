"""A browser made of the Flask test client: keeps cookies, reads forms, posts them back."""
from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._current = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._current = {"action": attrs.get("action", ""), "method": attrs.get("method", "get").lower(),
                             "fields": {}, "buttons": []}
            self.forms.append(self._current)
        elif self._current is not None and tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind == "checkbox" and "checked" not in attrs:
                return
            self._current["fields"][attrs["name"]] = attrs.get("value") or ("on" if kind == "checkbox" else "")
        elif self._current is not None and tag == "button" and attrs.get("name"):
            self._current["buttons"].append((attrs["name"], attrs.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


class Browser:
    def __init__(self, app):
        self.client = app.test_client()
        self.page = None  # the last response
        self.url = None

    def get(self, url: str, follow: bool = True):
        return self._go("GET", url, None, follow)

    def submit(self, action_contains: str = "", follow: bool = True, button: tuple | None = None,
               having: str | None = None, **fields):
        """Fill the first form whose action contains `action_contains` (and that has a field
        named `having`, when given) and submit it."""
        form = self.form(action_contains, having)
        data = dict(form["fields"])
        data.update({k: v for k, v in fields.items() if v is not None})
        for name in [k for k, v in fields.items() if v is None]:
            data.pop(name, None)
        if button:
            data[button[0]] = button[1]
        return self._go(form["method"].upper(), urljoin(self.url, form["action"]), data, follow)

    def form(self, action_contains: str = "", having: str | None = None) -> dict:
        parser = _Forms()
        parser.feed(self.page.get_data(as_text=True))
        for form in parser.forms:
            if action_contains in form["action"] and (having is None or having in form["fields"]):
                return form
        raise AssertionError(f"no form with action containing {action_contains!r} on {self.url}")

    @property
    def text(self) -> str:
        return self.page.get_data(as_text=True)

    def _go(self, method, url, data, follow):
        for _ in range(20):
            self.url = url
            parts = urlsplit(url)
            if parts.netloc and parts.netloc != "localhost":
                # Left Tunnus: a relying service's redirect_uri. Stop here like a test RP would.
                return self.page
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            self.page = self.client.open(path, method=method, data=data)
            if not follow or self.page.status_code not in (301, 302, 303, 307):
                return self.page
            url = urljoin(url, self.page.headers["Location"])
            method, data = "GET", None
        raise AssertionError("redirect loop")
