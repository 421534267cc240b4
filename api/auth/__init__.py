"""Authentication: a Bearer JWT verified against the identity provider's keys and turned into a
``Principal``. By concern:

- ``errors``: what a failed authentication is (RFC 6750 codes, fixed descriptions);
- ``keys``: which keys may verify, each with its one algorithm;
- ``sources``: where keys come from and how they stay fresh (a JWKS file or URL);
- ``discovery``: an OpenID Connect issuer's discovery document giving the JWKS URL;
- ``verifier``: the token's header and claims, the cache, the principal;
- ``challenge``: the HTTP answer to a failure.
"""

from __future__ import annotations

from .challenge import REALM, unauthenticated_response
from .errors import AuthConfigurationError, AuthenticationError, DevKeysRefusedError
from .keys import ALLOWED_ALGORITHMS
from .verifier import AuthSettings, TokenVerifier

__all__ = [
    "ALLOWED_ALGORITHMS",
    "REALM",
    "AuthConfigurationError",
    "AuthSettings",
    "AuthenticationError",
    "DevKeysRefusedError",
    "TokenVerifier",
    "unauthenticated_response",
]
