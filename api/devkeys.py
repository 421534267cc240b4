"""Development identity: a local signing key, its JWKS, and a token issuer for tests and demos.

The dev JWKS is marked (every key carries ``"kaigo_dev": true``, and so does the document) so that
a production server (``KAIGO_ENV=production``) refuses to trust it: see ``api.auth.TokenVerifier``
with ``refuse_dev_keys=True``. Tokens it issues carry ``iss = DEV_ISSUER``, which production also
refuses.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import OKPKey

__all__ = [
    "DEV_ALGORITHM",
    "DEV_AUDIENCE",
    "DEV_ISSUER",
    "DEV_MARKER",
    "DevKeys",
    "ensure_dev_keys",
    "existing_dev_keys",
    "is_dev_jwks",
]

DEV_ISSUER = "kaigo-graph-dev"
DEV_AUDIENCE = "kaigo-graph"
#: member set on the dev JWKS document and on each of its keys
DEV_MARKER = "kaigo_dev"
DEV_ALGORITHM = "EdDSA"

_PRIVATE_KEY_FILE = "signing-key.pem"
_JWKS_FILE = "jwks.json"


@dataclass(frozen=True)
class DevKeys:
    """The dev signing key on disk and the JWKS that verifies its tokens."""

    private_key_path: Path
    jwks_path: Path
    kid: str

    def __repr__(self) -> str:  # never show key material, only where it lives
        return f"DevKeys(kid={self.kid!r}, jwks_path={str(self.jwks_path)!r})"

    def _key(self) -> OKPKey:
        return OKPKey.import_key(self.private_key_path.read_bytes(), {"kid": self.kid})

    def issue_token(
        self,
        roles: str | Iterable[str],
        sub: str,
        department: str | None = None,
        ttl: timedelta = timedelta(hours=8),
        issuer: str = DEV_ISSUER,
        audience: str = DEV_AUDIENCE,
        *,
        client_name: str | None = None,
        now: datetime | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A signed JWT for ``sub`` with ``roles``; ``extra_claims`` is for tests (e.g. hostile claims)."""
        role_list = [roles] if isinstance(roles, str) else list(roles)
        issued = int((now or datetime.now(UTC)).timestamp())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "sub": sub,
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(ttl.total_seconds()),
            "jti": secrets.token_urlsafe(16),
            "roles": role_list,
        }
        if department is not None:
            claims["department"] = department
        if client_name is not None:
            claims["client_name"] = client_name
        if extra_claims:
            claims.update(extra_claims)
        header = {"alg": DEV_ALGORITHM, "kid": self.kid, "typ": "JWT"}
        with warnings.catch_warnings():
            # joserfc flags "EdDSA" as deprecated by RFC 9864 in favour of "Ed25519"; we issue EdDSA
            # because it is what deployed identity providers and verifiers understand today.
            warnings.simplefilter("ignore", SecurityWarning)
            return jwt.encode(header, claims, self._key(), algorithms=[DEV_ALGORITHM])


def _write_atomically(path: Path, data: bytes, mode: int, *, replace: bool = True) -> bool:
    """Write ``data`` to ``path`` through a temporary file in the same folder, created with ``mode``.

    With ``replace=False`` an existing file wins (returns False): two processes starting at once
    end up sharing one key instead of each overwriting the other's.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # a filesystem without hard links: best effort
            if path.exists():
                return False
            os.replace(tmp, path)
        return True
    finally:
        Path(tmp).unlink(missing_ok=True)


def _jwks_document(key: OKPKey, kid: str) -> dict[str, Any]:
    public = key.as_dict(private=False)
    jwk = {
        "kty": public["kty"],
        "crv": public["crv"],
        "x": public["x"],
        "kid": kid,
        "use": "sig",
        "alg": DEV_ALGORITHM,
        DEV_MARKER: True,
    }
    return {DEV_MARKER: True, "keys": [jwk]}


def ensure_dev_keys(data_dir: Path) -> DevKeys:
    """Create (or reuse) the dev Ed25519 signing key and its JWKS under ``data_dir/identity/``.

    The private key is a PKCS#8 PEM file readable by its owner only (0o600); the JWKS holds only the
    public key, with ``kid`` = its RFC 7638 thumbprint. Idempotent: an existing key is kept, and the
    JWKS is rewritten only when it does not match that key.
    """
    identity = Path(data_dir) / "identity"
    identity.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_path = identity / _PRIVATE_KEY_FILE
    jwks_path = identity / _JWKS_FILE

    if not private_path.exists():
        fresh = OKPKey.generate_key("Ed25519")
        _write_atomically(private_path, fresh.as_pem(private=True), 0o600, replace=False)
    if private_path.stat().st_mode & 0o077:
        os.chmod(private_path, 0o600)
    key = OKPKey.import_key(private_path.read_bytes())
    if not key.is_private or key["crv"] != "Ed25519":
        raise ValueError(f"{private_path} is not an Ed25519 private key")

    kid = key.thumbprint()
    wanted = _jwks_document(key, kid)
    try:
        current = json.loads(jwks_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = None
    if current != wanted:
        text = json.dumps(wanted, indent=2, sort_keys=True) + "\n"
        _write_atomically(jwks_path, text.encode("utf-8"), 0o644)
    return DevKeys(private_key_path=private_path, jwks_path=jwks_path, kid=kid)


def existing_dev_keys(data_dir: Path) -> DevKeys | None:
    """The dev key under ``data_dir/identity/`` when a server made one there, else None (nothing is
    created: a new key would sign tokens no running server trusts)."""
    if not (Path(data_dir) / "identity" / _PRIVATE_KEY_FILE).is_file():
        return None
    return ensure_dev_keys(data_dir)


def is_dev_jwks(jwks_path_or_doc: Path | str | Mapping[str, Any]) -> bool:
    """Whether a JWKS (a file path or a parsed document) is a dev one: the document or any key is marked.

    A path that cannot be read or parsed is not a dev JWKS (the verifier reports it as unusable).
    """
    doc: Any
    if isinstance(jwks_path_or_doc, Mapping):
        doc = jwks_path_or_doc
    else:
        try:
            doc = json.loads(Path(jwks_path_or_doc).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
    if not isinstance(doc, Mapping):
        return False
    if _marked(doc):
        return True
    keys = doc.get("keys")
    if not isinstance(keys, list):
        return False
    return any(isinstance(k, Mapping) and _marked(k) for k in keys)


def _marked(member: Mapping[str, Any]) -> bool:
    # Any value but an explicit false/null counts: a mistyped "true" must not pass as production.
    return DEV_MARKER in member and member[DEV_MARKER] not in (False, None)
