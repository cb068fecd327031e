"""What joserfc raises on a JWT, JWS or JWK from outside that is not as RFC 7515-7519 write
it: its own errors, and, where a member has another type than its own (a header's `crit`
a number, a key's `crv` of another `kty`), the ValueError, TypeError or KeyError of the
code that assumed the type. Each is a malformed token or key, refused as such."""
from joserfc.errors import JoseError

ERRORS = (JoseError, ValueError, TypeError, KeyError)
