"""Fixtures for identification through an upstream provider: a second Tunnus on a real
port (tests/support/upstream.py), configured in the Tunnus under test as "Pankki"."""
from __future__ import annotations

import pytest

from idp.services import upstreams
from tests.support.upstream import TwoSiteBrowser, UpstreamTunnus


@pytest.fixture(scope="session")
def upstream_tunnus(tmp_path_factory, base_config, migrated):
    server = UpstreamTunnus(tmp_path_factory.mktemp("upstream"), base_config["IDP_REDIS_URL"])
    yield server
    server.stop()


@pytest.fixture
def bank(app, upstream_tunnus):
    """The upstream as an operator adds it (`tunnus upstreams add`); it answers honestly."""
    upstream_tunnus.tampering.reset()
    yield upstreams.add("Pankki", upstream_tunnus.issuer, upstream_tunnus.client_id, upstream_tunnus.secret)
    upstream_tunnus.tampering.reset()


@pytest.fixture
def browser(app, upstream_tunnus):
    return TwoSiteBrowser(app, upstream_tunnus)


@pytest.fixture
def matti(upstream_tunnus):
    """A bank customer with no Tunnus account; returns (email, name, sub at the bank)."""
    return "matti.virtanen@example.fi", "Matti Virtanen", upstream_tunnus.person("matti.virtanen@example.fi",
                                                                                 "Matti Virtanen")

