"""Production refuses the development conveniences: dev keys, key files, the embedded server."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from api.auth import AuthConfigurationError
from api.cli import database_url
from api.devkeys import ensure_dev_keys
from api.runtime import build_authenticator, load_vault
from api.settings import Settings, asyncpg_url


def production(tmp_path: Path, **over: object) -> Settings:
    return dataclasses.replace(Settings(env="production", data_dir=tmp_path), **over)  # type: ignore[arg-type]


def test_production_needs_a_jwks(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="KAIGO_JWKS"):
        build_authenticator(production(tmp_path))


def test_production_refuses_the_dev_jwks(tmp_path: Path) -> None:
    keys = ensure_dev_keys(tmp_path)
    with pytest.raises(AuthConfigurationError):
        build_authenticator(production(tmp_path, jwks=str(keys.jwks_path), jwt_issuer="https://idp.example"))


def test_development_uses_the_dev_key(tmp_path: Path) -> None:
    verifier = build_authenticator(Settings(data_dir=tmp_path))
    assert (tmp_path / "identity" / "jwks.json").exists()
    assert "kaigo-graph-dev" in repr(verifier)


def test_production_needs_the_data_key_and_never_writes_a_key_file(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="KAIGO_DATA_KEY"):
        load_vault(production(tmp_path))
    assert not (tmp_path / "keys").exists()


def test_production_needs_a_database_url(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="DATABASE_URL"), database_url(production(tmp_path)):
        pass


@pytest.mark.parametrize(
    "url", ["postgres://u:p@db/kaigo", "postgresql://u:p@db/kaigo", "postgresql+asyncpg://u:p@db/kaigo"]
)
def test_database_urls(url: str) -> None:
    assert asyncpg_url(url) == "postgresql+asyncpg://u:p@db/kaigo"


def test_a_foreign_url_is_refused() -> None:
    with pytest.raises(SystemExit):
        asyncpg_url("mysql://u@db/kaigo")
