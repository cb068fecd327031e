"""An example relying service for Tunnus: sign in, show the tokens, refresh, log out."""
