"""The OpenID Provider: Authlib's server wired to Tunnus storage, one module per endpoint."""
