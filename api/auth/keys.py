"""Which keys may verify a token, and with which algorithm: each key verifies with exactly one (RSA ≥ 2048
bits → RS256, EC P-256 → ES256, OKP Ed25519 → EdDSA); symmetric (``oct``) keys are never loaded, so no
public key can be used as an HMAC secret, and ``none`` or HS* never reach a key."""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc.errors import JoseError, UnsupportedAlgorithmError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey
from joserfc.jws import JWSAlgModel, JWSRegistry

from api.devkeys import is_dev_jwks

from .errors import AuthConfigurationError, DevKeysRefusedError

__all__ = [
    "ALLOWED_ALGORITHMS",
    "MAX_JWKS_BYTES",
    "REGISTRIES",
    "VerificationKey",
    "parse_jwks",
]

logger = logging.getLogger("kaigo.auth")

ALLOWED_ALGORITHMS: frozenset[str] = frozenset({"RS256", "ES256", "EdDSA"})
MIN_RSA_BITS = 2048
MAX_JWKS_BYTES = 1 << 20  # a JWKS (or a discovery document) larger than this is refused unread


class PinnedRegistry(JWSRegistry):
    """A JWS registry that admits exactly one algorithm, the one our key dictates.

    joserfc warns on every ``EdDSA`` use (RFC 9864 deprecates the name in favour of ``Ed25519``);
    we allow it on purpose, so ``get_alg`` skips that warning.
    """

    def __init__(self, algorithm: str) -> None:
        if algorithm not in ALLOWED_ALGORITHMS:
            raise ValueError(f"algorithm {algorithm!r} is not allowed")
        super().__init__(algorithms=[algorithm], strict_check_header=False)
        self.algorithm = algorithm

    def get_alg(self, name: str) -> JWSAlgModel:
        if name != self.algorithm:
            raise UnsupportedAlgorithmError("algorithm not allowed for this key")
        return self.algorithms[name]


REGISTRIES: dict[str, PinnedRegistry] = {alg: PinnedRegistry(alg) for alg in ALLOWED_ALGORITHMS}


@dataclass(frozen=True)
class VerificationKey:
    kid: str
    alg: str
    key: Key
    thumbprint: str


class UnusableKey(Exception):
    pass


def _b64url_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def import_public_key(kid: str, raw: Mapping[str, Any]) -> VerificationKey:
    """Import only the public members of one JWK and bind it to its single algorithm."""
    use = raw.get("use")
    if use is not None and use != "sig":
        raise UnusableKey("not a signature key")
    key_ops = raw.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise UnusableKey("key_ops does not allow verify")
    kty = raw.get("kty")
    key: Key
    if kty == "RSA":
        n, e = raw["n"], raw["e"]
        if not isinstance(n, str) or _b64url_int(n).bit_length() < MIN_RSA_BITS:
            raise UnusableKey("RSA key too small")
        alg, key = "RS256", RSAKey.import_key({"kty": "RSA", "n": n, "e": e})
    elif kty == "EC":
        if raw.get("crv") != "P-256":
            raise UnusableKey("EC curve not allowed")
        alg, key = "ES256", ECKey.import_key({"kty": "EC", "crv": "P-256", "x": raw["x"], "y": raw["y"]})
    elif kty == "OKP":
        if raw.get("crv") != "Ed25519":
            raise UnusableKey("OKP curve not allowed")
        alg, key = "EdDSA", OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": raw["x"]})
    else:
        # "oct" (HMAC) keys and anything unknown are never loaded.
        raise UnusableKey("key type not allowed")
    declared = raw.get("alg")
    if declared is not None and declared != alg:
        raise UnusableKey("declared alg does not match key type")
    return VerificationKey(kid=kid, alg=alg, key=key, thumbprint=key.thumbprint())


def parse_jwks(doc: Any, *, refuse_dev_keys: bool, source: str) -> dict[str, VerificationKey]:
    """The usable verification keys of a JWKS document, by kid; kids that repeat are dropped."""
    if refuse_dev_keys and isinstance(doc, Mapping) and is_dev_jwks(doc):
        raise DevKeysRefusedError(f"{source}: a development JWKS is not accepted in production")
    if not isinstance(doc, Mapping) or not isinstance(doc.get("keys"), list):
        raise AuthConfigurationError(f"{source}: not a JWKS document")
    keys: dict[str, VerificationKey] = {}
    repeated: set[str] = set()
    for index, raw in enumerate(doc["keys"]):
        kid = raw.get("kid") if isinstance(raw, Mapping) else None
        if not isinstance(kid, str) or not kid:
            logger.warning("%s: key #%d has no kid; ignored", source, index)
            continue
        if kid in keys or kid in repeated:
            repeated.add(kid)
            keys.pop(kid, None)
            continue
        try:
            keys[kid] = import_public_key(kid, raw)
        except UnusableKey as exc:
            logger.warning("%s: key #%d ignored: %s", source, index, exc)
        except (JoseError, KeyError, ValueError, TypeError):
            logger.warning("%s: key #%d ignored: malformed", source, index)
    for kid in repeated:
        logger.warning("%s: a kid appears more than once; those keys are ignored", source)
        keys.pop(kid, None)
    return keys
