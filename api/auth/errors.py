"""What a failed authentication is: the RFC 6750 error a client sees, and the configuration errors that
stop a server from starting. Descriptions are fixed strings: never the token, a claim value or a key."""

from __future__ import annotations

from typing import Literal

__all__ = [
    "AuthConfigurationError",
    "AuthenticationError",
    "DevKeysRefusedError",
    "ErrorCode",
    "invalid_request",
    "invalid_token",
]

ErrorCode = Literal["invalid_request", "invalid_token", "insufficient_scope"]


class AuthenticationError(Exception):
    """A request could not be authenticated.

    ``error`` is the RFC 6750 code: ``invalid_request`` for a missing, malformed or repeated
    Authorization header, ``invalid_token`` for anything about the token. ``description`` is short
    and safe to show a client. ``credentials_missing`` is true when no Bearer credentials were sent
    at all (no header, or another scheme): the challenge then carries no error code (RFC 6750 §3.1).
    """

    def __init__(self, error: ErrorCode, description: str, *, credentials_missing: bool = False) -> None:
        super().__init__(error, description)
        self.error: ErrorCode = error
        self.description = description
        self.credentials_missing = credentials_missing
        # where `kaigo token` finds the key this server trusts (development), for the answer's hint
        self.dev_data_dir: str | None = None

    def __str__(self) -> str:
        return f"{self.error}: {self.description}"

    def __repr__(self) -> str:
        return f"AuthenticationError(error={self.error!r}, description={self.description!r})"


class AuthConfigurationError(Exception):
    """The authentication settings cannot be used (e.g. a dev JWKS in production, unreadable JWKS)."""


class DevKeysRefusedError(AuthConfigurationError):
    """A development JWKS was configured (or appeared) while dev keys are refused (production)."""


def invalid_token(description: str) -> AuthenticationError:
    return AuthenticationError("invalid_token", description)


def invalid_request(description: str) -> AuthenticationError:
    return AuthenticationError("invalid_request", description)
