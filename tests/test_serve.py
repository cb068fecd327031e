"""serve.py, the production server's wrapper: X-Forwarded-Proto only from the proxy."""
from werkzeug.test import Client

from serve import TrustedProxy


def _scheme(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["wsgi.url_scheme"].encode()]


def _seen(allowed, remote_addr):
    client = Client(TrustedProxy(_scheme, allowed))
    response = client.get("/", headers={"X-Forwarded-Proto": "https"},
                          environ_overrides={"REMOTE_ADDR": remote_addr})
    return response.get_data(as_text=True)


def test_the_proxy_tells_the_scheme():
    assert _seen("127.0.0.1", "127.0.0.1") == "https"
    assert _seen("10.0.0.5, 10.0.0.6", "10.0.0.6") == "https"
    assert _seen("*", "192.0.2.1") == "https"


def test_others_cannot_claim_https():
    assert _seen("127.0.0.1", "192.0.2.1") == "http"
