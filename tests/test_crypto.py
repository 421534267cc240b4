"""Encryption at rest (AES-256-GCM) and the blind index (HMAC-SHA256) of the individual number."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import pickle
import re
import secrets
import stat
import threading
import traceback
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from persistence.crypto import (
    DecryptionError,
    KeyConfigError,
    NumberVault,
    load_master_key,
)
from policies.individual_number import IndividualNumber

DIGITS = "123456789018"
NUMBER = IndividualNumber.parse(DIGITS)
CONTEXT = b"000000000123"  # an addressee code
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))

TWELVE_DIGITS = re.compile(r"[0-9]{12}")


@pytest.fixture
def vault() -> NumberVault:
    return NumberVault(KEY)


def _derive(info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(KEY)


def _no_secrets(text: str) -> None:
    assert DIGITS not in text
    assert not TWELVE_DIGITS.search(text)
    for key in (KEY, OTHER_KEY):
        assert key.hex() not in text
        assert base64.b64encode(key).decode() not in text


# ---------------------------------------------------------------------------------------------------
# encryption
# ---------------------------------------------------------------------------------------------------


def test_round_trip(vault: NumberVault) -> None:
    blob = vault.encrypt(NUMBER, context=CONTEXT)
    assert vault.decrypt(blob, context=CONTEXT) == NUMBER
    assert NumberVault(KEY).decrypt(blob, context=CONTEXT) == NUMBER  # same key, new instance


def test_layout_and_no_plaintext(vault: NumberVault) -> None:
    blob = vault.encrypt(NUMBER, context=CONTEXT)
    assert isinstance(blob, bytes)
    assert blob[:1] == b"\x01"
    assert len(blob) == 1 + 12 + 12 + 16
    assert DIGITS.encode() not in blob


def test_matches_the_documented_construction(vault: NumberVault) -> None:
    """Independent check: AES-GCM under HKDF(master, info=.../enc/v1), nonce = bytes 1..12, AAD = context."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    blob = vault.encrypt(NUMBER, context=CONTEXT)
    aead = AESGCM(_derive(b"kaigo-graph/individual-number/enc/v1"))
    assert aead.decrypt(blob[1:13], blob[13:], CONTEXT) == DIGITS.encode()


def test_fresh_nonce_every_time(vault: NumberVault) -> None:
    blobs = [vault.encrypt(NUMBER, context=CONTEXT) for _ in range(200)]
    assert len({b[1:13] for b in blobs}) == 200
    assert len(set(blobs)) == 200
    assert all(vault.decrypt(b, context=CONTEXT) == NUMBER for b in blobs)


def test_raw_fast_path_is_compatible(vault: NumberVault) -> None:
    blob = vault.encrypt_raw(DIGITS, CONTEXT)
    assert vault.decrypt(blob, context=CONTEXT) == NUMBER
    assert vault.blind_index_raw(DIGITS) == vault.blind_index(NUMBER)


def test_raw_garbage_is_rejected_on_decrypt(vault: NumberVault) -> None:
    blob = vault.encrypt_raw("123456789019", CONTEXT)  # the caller skipped validation
    with pytest.raises(DecryptionError) as info:
        vault.decrypt(blob, context=CONTEXT)
    assert info.value.reason == "FORMAT"
    _no_secrets(str(info.value))


def test_encrypt_requires_a_checked_number_and_a_context(vault: NumberVault) -> None:
    with pytest.raises(TypeError):
        vault.encrypt(DIGITS, context=CONTEXT)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        vault.blind_index(DIGITS)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        vault.encrypt(NUMBER, context=b"")
    with pytest.raises(ValueError):
        vault.encrypt(NUMBER, context="000000000123")  # type: ignore[arg-type]


def _decrypt_error(vault: NumberVault, blob: bytes, context: bytes = CONTEXT) -> DecryptionError:
    try:
        vault.decrypt(blob, context=context)
    except DecryptionError as exc:
        error = exc
    else:
        pytest.fail("decrypted")
    _no_secrets(str(error))
    _no_secrets(repr(error))
    _no_secrets("".join(traceback.format_exception(error)))
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    return error


def test_wrong_context_fails(vault: NumberVault) -> None:
    blob = vault.encrypt(NUMBER, context=CONTEXT)
    assert _decrypt_error(vault, blob, b"000000000124").reason == "AUTH"


def test_wrong_key_fails(vault: NumberVault) -> None:
    blob = vault.encrypt(NUMBER, context=CONTEXT)
    assert _decrypt_error(NumberVault(OTHER_KEY), blob).reason == "AUTH"


def test_every_flipped_byte_fails(vault: NumberVault) -> None:
    blob = vault.encrypt(NUMBER, context=CONTEXT)
    for i in range(len(blob)):
        for bit in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[i] ^= bit
            error = _decrypt_error(vault, bytes(tampered))
            assert error.reason == ("VERSION" if i == 0 else "AUTH")


def test_truncated_or_extended_blob_fails(vault: NumberVault) -> None:
    blob = vault.encrypt(NUMBER, context=CONTEXT)
    for length in range(len(blob)):
        error = _decrypt_error(vault, blob[:length])
        assert error.reason in {"FORMAT", "AUTH", "VERSION"}
    assert _decrypt_error(vault, b"").reason == "FORMAT"
    assert _decrypt_error(vault, blob + b"\x00").reason == "AUTH"


def test_unknown_version_fails(vault: NumberVault) -> None:
    blob = vault.encrypt(NUMBER, context=CONTEXT)
    for version in (b"\x00", b"\x02", b"\xff"):
        assert _decrypt_error(vault, version + blob[1:]).reason == "VERSION"


def test_not_bytes_fails(vault: NumberVault) -> None:
    assert _decrypt_error(vault, "not bytes").reason == "FORMAT"  # type: ignore[arg-type]


def test_memoryview_and_bytearray_accepted(vault: NumberVault) -> None:
    blob = vault.encrypt(NUMBER, context=CONTEXT)
    assert vault.decrypt(bytearray(blob), context=CONTEXT) == NUMBER  # type: ignore[arg-type]
    assert vault.decrypt(memoryview(blob), context=CONTEXT) == NUMBER  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------
# blind index
# ---------------------------------------------------------------------------------------------------


def test_blind_index_deterministic_and_keyed(vault: NumberVault) -> None:
    index = vault.blind_index(NUMBER)
    assert len(index) == 32
    assert index == vault.blind_index(IndividualNumber.parse(DIGITS))
    assert index == NumberVault(KEY).blind_index(NUMBER)
    assert index != NumberVault(OTHER_KEY).blind_index(NUMBER)
    assert index != vault.blind_index(IndividualNumber.parse("987654321093"))
    assert index != hashlib.sha256(DIGITS.encode()).digest()  # not an unkeyed hash


def test_blind_index_matches_the_documented_construction(vault: NumberVault) -> None:
    index_key = _derive(b"kaigo-graph/individual-number/index/v1")
    assert vault.blind_index(NUMBER) == hmac.digest(index_key, DIGITS.encode(), "sha256")


def test_sub_keys_are_independent() -> None:
    assert _derive(b"kaigo-graph/individual-number/enc/v1") != _derive(
        b"kaigo-graph/individual-number/index/v1"
    )


def test_blind_index_is_thread_safe(vault: NumberVault) -> None:
    numbers = [IndividualNumber.parse(n) for n in ("123456789018", "987654321093", "111111111118")]
    expected = [vault.blind_index(n) for n in numbers]
    failures: list[int] = []

    def work() -> None:
        for _ in range(2000):
            for n, e in zip(numbers, expected, strict=True):
                if vault.blind_index(n) != e:
                    failures.append(1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


# ---------------------------------------------------------------------------------------------------
# the vault never shows keys
# ---------------------------------------------------------------------------------------------------


def test_vault_repr_and_pickle(vault: NumberVault) -> None:
    _no_secrets(repr(vault))
    _no_secrets(str(vault))
    assert not hasattr(vault, "__dict__")
    with pytest.raises(TypeError):
        pickle.dumps(vault)


@pytest.mark.parametrize("bad", [b"", b"\x00" * 31, b"\x00" * 33, "x" * 32, None])
def test_vault_rejects_bad_master_keys(bad: object) -> None:
    with pytest.raises(KeyConfigError):
        NumberVault(bad)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------
# key loading
# ---------------------------------------------------------------------------------------------------


def _check_message(error: BaseException, *secrets_: str) -> None:
    text = "".join(traceback.format_exception(error)) + repr(error)
    for s in secrets_:
        assert s not in text
    assert error.__cause__ is None


@pytest.mark.parametrize(
    "encode",
    [base64.b64encode, base64.urlsafe_b64encode, lambda k: base64.urlsafe_b64encode(k).rstrip(b"=")],
    ids=["standard", "urlsafe", "urlsafe-unpadded"],
)
def test_env_value_both_alphabets(encode: object) -> None:
    key = bytes([0xFB, 0xFF, 0xBF] * 10 + [0xFE, 0xFF])  # encodes with + / (or - _)
    text = encode(key).decode()  # type: ignore[operator]
    assert load_master_key(env_value=text, key_file=None, create_if_missing=False) == key
    assert load_master_key(env_value=f"  {text}\n", key_file=None, create_if_missing=False) == key


def test_env_value_wins_over_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "data.key"
    key_file.write_text(base64.b64encode(OTHER_KEY).decode())
    env = base64.b64encode(KEY).decode()
    assert load_master_key(env_value=env, key_file=key_file, create_if_missing=True) == KEY


@pytest.mark.parametrize(
    "value",
    [
        base64.b64encode(b"k" * 31).decode(),
        base64.b64encode(b"k" * 33).decode(),
        base64.b64encode(b"k" * 16).decode(),
        "k" * 44,  # 33 bytes worth of base64 digits
        "not base64 at all!!",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg*",
        KEY.hex(),  # hex is not accepted
        "",
        "   ",
    ],
)
def test_env_value_malformed(value: str) -> None:
    with pytest.raises(KeyConfigError) as info:
        load_master_key(env_value=value, key_file=None, create_if_missing=True)
    assert "KAIGO_DATA_KEY" in str(info.value)
    if value.strip():
        _check_message(info.value, value.strip())


def test_file_created_with_mode_600(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets" / "data.key"
    old_umask = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        key = load_master_key(env_value=None, key_file=key_file, create_if_missing=True)
    finally:
        os.umask(old_umask)
    assert len(key) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert base64.b64decode(key_file.read_text().strip()) == key
    assert key_file.read_text().count("\n") == 1
    assert [p.name for p in key_file.parent.iterdir()] == ["data.key"]  # no temp file left


def test_file_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "data.key"
    first = load_master_key(env_value=None, key_file=key_file, create_if_missing=True)
    second = load_master_key(env_value=None, key_file=key_file, create_if_missing=True)
    third = load_master_key(env_value=None, key_file=key_file, create_if_missing=False)
    assert first == second == third


def test_existing_file_urlsafe_is_read(tmp_path: Path) -> None:
    key_file = tmp_path / "data.key"
    key_file.write_text(base64.urlsafe_b64encode(KEY).decode() + "\n")
    assert load_master_key(env_value=None, key_file=key_file, create_if_missing=False) == KEY


def test_concurrent_creation_agrees(tmp_path: Path) -> None:
    key_file = tmp_path / "data.key"
    results: list[bytes] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        results.append(load_master_key(env_value=None, key_file=key_file, create_if_missing=True))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and len(set(results)) == 1
    assert base64.b64decode(key_file.read_text()) == results[0]


def test_malformed_file(tmp_path: Path) -> None:
    key_file = tmp_path / "data.key"
    content = base64.b64encode(b"s" * 20).decode()
    key_file.write_text(content)
    with pytest.raises(KeyConfigError) as info:
        load_master_key(env_value=None, key_file=key_file, create_if_missing=True)
    assert str(key_file) in str(info.value)
    _check_message(info.value, content)
    key_file.write_bytes(b"\xff\xfe" + secrets.token_bytes(30))
    with pytest.raises(KeyConfigError):
        load_master_key(env_value=None, key_file=key_file, create_if_missing=True)


def test_missing_file_without_create(tmp_path: Path) -> None:
    key_file = tmp_path / "data.key"
    with pytest.raises(KeyConfigError) as info:
        load_master_key(env_value=None, key_file=key_file, create_if_missing=False)
    assert "KAIGO_DATA_KEY" in str(info.value)
    assert not key_file.exists()


def test_neither_env_nor_file() -> None:
    with pytest.raises(KeyConfigError) as info:
        load_master_key(env_value=None, key_file=None, create_if_missing=True)
    assert "set KAIGO_DATA_KEY" in str(info.value)


def test_unreadable_location(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(KeyConfigError) as info:
        load_master_key(env_value=None, key_file=blocker / "data.key", create_if_missing=True)
    _check_message(info.value)
