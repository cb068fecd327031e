"""`tunnus upstreams add|list|remove`: an operator configures an upstream provider."""
from __future__ import annotations

import json

from idp.models import AuditEvent, UpstreamProvider
from idp.services import upstreams
from tests.support.smtp import free_port


def add(runner, *extra, name="Pankki", issuer, secret="s3cret-from-the-bank", input=None):
    args = ["upstreams", "add", "--name", name, "--issuer", issuer, "--client-id", "tunnus", *extra]
    return runner.invoke(args=args + (["--client-secret", secret] if input is None else []), input=input)


def test_add_prints_the_callback_url_and_stores_the_secret_encrypted(runner, upstream_tunnus):
    result = add(runner, "--json", name="Pankki Oy", issuer=upstream_tunnus.issuer)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["key"] == "pankki-oy" and data["warning"] is None
    assert data["callback_url"] == "http://localhost/identify/pankki-oy/callback"
    provider = UpstreamProvider.query.one()
    assert "s3cret-from-the-bank" not in provider.client_secret_encrypted
    assert upstreams.client_secret(provider) == "s3cret-from-the-bank"
    assert AuditEvent.query.filter_by(event="upstream.added").count() == 1

    text = runner.invoke(args=["upstreams", "list"]).output
    assert "Pankki Oy" in text and "http://localhost/identify/pankki-oy/callback" in text
    listed = json.loads(runner.invoke(args=["upstreams", "list", "--json"]).output)
    assert [(p["name"], p["issuer"], p["links"]) for p in listed] == [("Pankki Oy", upstream_tunnus.issuer, 0)]
    assert "s3cret" not in json.dumps(listed)


def test_secret_is_asked_when_not_given(runner, upstream_tunnus):
    result = add(runner, issuer=upstream_tunnus.issuer, input="typed-secret\n")
    assert result.exit_code == 0, result.output
    assert "typed-secret" not in result.output and "callback_url: http://localhost/identify/pankki/callback" in result.output
    assert upstreams.client_secret(UpstreamProvider.query.one()) == "typed-secret"


def test_unreachable_provider_is_added_with_a_warning(runner, app):
    result = add(runner, issuer=f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 0 and "warning: the provider's discovery document could not be used" in result.output


def test_insecure_issuer_and_taken_names_are_refused(runner, app):
    plain = add(runner, issuer="http://pankki.example")
    assert plain.exit_code != 0 and "https" in plain.output
    assert add(runner, issuer="https://pankki.example/?x=1").exit_code != 0
    assert add(runner, name="!!!", issuer="https://pankki.example").exit_code != 0
    upstreams.add("Pankki", "https://pankki.example", "tunnus", "s")
    again = add(runner, name="PANKKI", issuer="https://toinen.example")  # the same URLs: refused
    assert again.exit_code != 0 and "exists already" in again.output
    assert UpstreamProvider.query.count() == 1


def test_remove_by_name_or_key(runner, app):
    upstreams.add("Pankki Oy", "https://pankki.example", "tunnus", "s")
    assert runner.invoke(args=["upstreams", "remove", "nobody"]).exit_code != 0
    result = runner.invoke(args=["upstreams", "remove", "pankki-oy", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["links_removed"] == 0
    assert UpstreamProvider.query.count() == 0
    assert runner.invoke(args=["upstreams", "list"]).output.strip() == "no upstream providers"


def test_a_name_whose_urls_are_tunnuss_own_and_an_issuer_with_control_characters_are_refused(runner, app):
    """/identify/email/... is the page asking a new person's address: a provider named Email
    would never get its callback."""
    email = add(runner, name="Email", issuer="https://posti.example")
    assert email.exit_code == 1 and "/identify/email/ is a page of Tunnus's own; choose another name" in email.output
    escaped = add(runner, issuer="https://pankki.example/\x1b[2J")
    assert escaped.exit_code == 1 and "the issuer must be an absolute URL" in escaped.output
    assert UpstreamProvider.query.count() == 0


def test_a_discovery_document_that_is_none_is_a_warning_not_a_traceback(runner, upstream_tunnus):
    upstream_tunnus.tampering.answers["/.well-known/openid-configuration"] = b'{"issuer": 5}'
    try:
        result = add(runner, issuer=upstream_tunnus.issuer)
    finally:
        upstream_tunnus.tampering.reset()
    assert result.exit_code == 0, result.output
    assert "warning: the provider's discovery document could not be used (bad_discovery" in result.output
