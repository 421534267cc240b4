"""Encryption at rest and the blind index for the individual number (個人番号).

The number is never stored in the clear (DOMAIN.md §6).  A person row holds

* ``individual_number_enc``: AES-256-GCM ciphertext of the 12 ASCII digits, bound to the row by
  using the row's addressee code (宛名コード) as associated data — a ciphertext copied to another
  row does not decrypt.  Layout: ``b"\\x01" + nonce(12) + ciphertext(12) + tag(16)`` = 41 bytes;
  the first byte is the format/key version, for key rotation later.
* ``individual_number_index``: the blind index, HMAC-SHA256 over the 12 ASCII digits (full 32
  bytes), so "who has this number?" is an equality lookup on a unique column without decrypting.

Both keys are derived from one 32-byte master key (``KAIGO_DATA_KEY``) with HKDF-SHA256 and
distinct ``info`` labels, so the encryption key and the index key are independent.  Nothing here
logs, and no exception message or ``repr`` contains a key or a number.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
from pathlib import Path
from typing import Final, Literal, NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from policies.individual_number import IndividualNumber, InvalidIndividualNumber

__all__ = [
    "ENV_VAR",
    "DecryptionError",
    "KeyConfigError",
    "NumberVault",
    "audit_key",
    "decode_key",
    "load_master_key",
]

ENV_VAR: Final = "KAIGO_DATA_KEY"
KEY_LENGTH: Final = 32
VERSION: Final = b"\x01"
NONCE_LENGTH: Final = 12
TAG_LENGTH: Final = 16
ENC_INFO: Final = b"kaigo-graph/individual-number/enc/v1"
INDEX_INFO: Final = b"kaigo-graph/individual-number/index/v1"

_HOW_TO_MAKE_A_KEY: Final = (
    'generate one with: python -c "import base64, secrets; '
    'print(base64.b64encode(secrets.token_bytes(32)).decode())"'
)


class DecryptionError(Exception):
    """A stored number could not be decrypted.

    ``reason`` is ``"VERSION"`` (unknown version byte), ``"FORMAT"`` (too short / not bytes) or
    ``"AUTH"`` (wrong key, wrong context, or the blob was altered — GCM cannot tell these apart).
    The message never contains a number, a key or the blob.
    """

    reason: Literal["VERSION", "FORMAT", "AUTH"]

    def __init__(self, reason: Literal["VERSION", "FORMAT", "AUTH"]) -> None:
        self.reason = reason
        detail = {
            "VERSION": "unknown ciphertext version",
            "FORMAT": "malformed ciphertext",
            "AUTH": "authentication failed (wrong key, wrong context or altered data)",
        }[reason]
        super().__init__(f"cannot decrypt individual number: {detail}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.reason,))


class KeyConfigError(Exception):
    """The data key is missing or malformed.  Messages never contain the key material."""


AUDIT_INFO: Final = b"kaigo-graph/audit/seal/v1"


def audit_key(master_key: bytes) -> bytes:
    """The audit trail's own key (its seals and checkpoint signatures), derived from the master key when
    no ``KAIGO_AUDIT_KEY`` is given: never the data key itself, and never in the database."""
    return _derive(master_key, AUDIT_INFO)


def decode_key(text: str, source: str) -> bytes:
    """A key setting: standard or URL-safe base64 of exactly 32 bytes (``source`` names it in errors)."""
    return _decode_key(text, source)


def _derive(master_key: bytes, info: bytes) -> bytes:
    # salt=None means a zero-filled salt (RFC 5869 §2.2); fine because the master key is uniformly random.
    return HKDF(algorithm=hashes.SHA256(), length=KEY_LENGTH, salt=None, info=info).derive(master_key)


class NumberVault:
    """Encrypts, decrypts and blind-indexes individual numbers with keys derived from one master key.

    Usage::

        vault = NumberVault(load_master_key(env_value=os.environ.get("KAIGO_DATA_KEY"), ...))
        blob = vault.encrypt(number, context=person.addressee_code.encode())
        assert vault.decrypt(blob, context=person.addressee_code.encode()) == number

    ``context`` must be the same non-empty bytes on encryption and decryption (use the row's
    addressee code); it is authenticated, not stored.  Instances are thread-safe and cannot be
    pickled (that would write the keys out).
    """

    __slots__ = ("_aead", "_index_template")

    def __init__(self, master_key: bytes) -> None:
        if not isinstance(master_key, bytes | bytearray) or len(master_key) != KEY_LENGTH:
            raise KeyConfigError(f"the master key must be exactly {KEY_LENGTH} bytes")
        key = bytes(master_key)
        self._aead = AESGCM(_derive(key, ENC_INFO))
        # An HMAC object with the key already set up; each lookup copies it (cheaper than re-keying).
        self._index_template = crypto_hmac.HMAC(_derive(key, INDEX_INFO), hashes.SHA256())

    def __repr__(self) -> str:
        return "NumberVault(version=1, keys=<hidden>)"

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("NumberVault cannot be pickled")

    def __reduce__(self) -> NoReturn:
        raise TypeError("NumberVault cannot be pickled")

    # -- the checked API ---------------------------------------------------------------------------

    def encrypt(self, number: IndividualNumber, *, context: bytes) -> bytes:
        """AES-256-GCM ciphertext of ``number`` bound to ``context``: ``b"\\x01" + nonce + ct + tag``."""
        if not isinstance(number, IndividualNumber):
            raise TypeError("encrypt() takes an IndividualNumber")
        _check_context(context)
        return self.encrypt_raw(number.reveal(), context)

    def decrypt(self, blob: bytes, *, context: bytes) -> IndividualNumber:
        """The number inside ``blob``; raises :class:`DecryptionError` if it cannot be recovered."""
        _check_context(context)
        if not isinstance(blob, bytes | bytearray | memoryview):
            raise DecryptionError("FORMAT")
        data = bytes(blob)
        if len(data) < 1 + NONCE_LENGTH + TAG_LENGTH:
            raise DecryptionError("FORMAT")
        if data[:1] != VERSION:
            raise DecryptionError("VERSION")
        try:
            plain = self._aead.decrypt(data[1 : 1 + NONCE_LENGTH], data[1 + NONCE_LENGTH :], context)
        except InvalidTag:
            raise DecryptionError("AUTH") from None
        try:
            return IndividualNumber.parse(plain.decode("ascii"))
        except (UnicodeDecodeError, InvalidIndividualNumber):
            # Authentic but not a valid number: something wrote garbage through encrypt_raw().
            raise DecryptionError("FORMAT") from None

    def blind_index(self, number: IndividualNumber) -> bytes:
        """The 32-byte keyed lookup value (HMAC-SHA256 of the digits) for a unique index column."""
        if not isinstance(number, IndividualNumber):
            raise TypeError("blind_index() takes an IndividualNumber")
        return self.blind_index_raw(number.reveal())

    # -- the bulk fast path ------------------------------------------------------------------------

    def encrypt_raw(self, digits: str, context: bytes) -> bytes:
        """Like :meth:`encrypt` for a plain digit string, with no checks at all (bulk seeding).

        The caller MUST have validated ``digits`` (e.g. with ``policies.individual_number.is_valid``
        or by building them with ``complete()``) and must pass a non-empty row-specific ``context``:
        whatever is given is encrypted as is, and :meth:`decrypt` later rejects an invalid number.
        """
        nonce = os.urandom(NONCE_LENGTH)
        return VERSION + nonce + self._aead.encrypt(nonce, digits.encode(), context)

    def blind_index_raw(self, digits: str) -> bytes:
        """Like :meth:`blind_index` for a plain digit string, with no checks (caller MUST validate)."""
        mac = self._index_template.copy()
        mac.update(digits.encode())
        return mac.finalize()


def _check_context(context: object) -> None:
    if not isinstance(context, bytes) or not context:
        raise ValueError("context must be non-empty bytes (the row's addressee code)")


# ---------------------------------------------------------------------------------------------------
# Loading the master key
# ---------------------------------------------------------------------------------------------------


def _decode_key(text: str, source: str) -> bytes:
    """Decode standard or URL-safe base64 (padding optional) of exactly 32 bytes."""
    compact = text.strip()
    if not compact:
        raise KeyConfigError(f"{source} is empty; it must hold the base64 of {KEY_LENGTH} random bytes")
    standard = compact.replace("-", "+").replace("_", "/")
    standard += "=" * (-len(standard) % 4)
    try:
        key = base64.b64decode(standard, validate=True)
    except (binascii.Error, ValueError):
        raise KeyConfigError(
            f"{source} is not valid base64; it must hold the base64 of {KEY_LENGTH} random bytes"
        ) from None
    if len(key) != KEY_LENGTH:
        raise KeyConfigError(
            f"{source} decodes to {len(key)} bytes, expected {KEY_LENGTH}; {_HOW_TO_MAKE_A_KEY}"
        )
    return key


def _read_key_file(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise KeyConfigError(f"cannot read key file {path}: {exc.strerror}") from None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise KeyConfigError(f"key file {path} is not valid base64 text") from None
    return _decode_key(text, f"key file {path}")


def _create_key_file(path: Path) -> bytes:
    """Create ``path`` holding a new random key, atomically and with mode 0o600.

    The key is written to a temporary file opened with O_CREAT|O_EXCL and mode 0o600, flushed to
    disk, then linked into place with ``os.link``, which — unlike rename — fails if ``path`` appeared
    meanwhile.  If another process won that race, its key is read and used instead of ours.
    """
    key = secrets.token_bytes(KEY_LENGTH)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, flags, 0o600)
        try:
            os.fchmod(fd, 0o600)  # the umask may only remove bits; make the mode exactly 0o600
            os.write(fd, base64.b64encode(key) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read_key_file(path)  # another process created it first: share its key
        except OSError:
            # Filesystems without hard links: fall back to rename (no-clobber only checked, not atomic).
            if path.exists():
                return _read_key_file(path)
            os.rename(tmp, path)
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as exc:
        raise KeyConfigError(f"cannot create key file {path}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # gone after os.rename, or never created
    return key


def load_master_key(*, env_value: str | None, key_file: Path | None, create_if_missing: bool) -> bytes:
    """The 32-byte master key, from ``KAIGO_DATA_KEY`` or else from a key file.

    * ``env_value`` is the content of the ``KAIGO_DATA_KEY`` environment variable (``None`` when it
      is not set): standard or URL-safe base64 of exactly 32 bytes.  A variable that is set but
      empty is an error, not "unset" — falling back to another key would silently split the data
      across two keys.
    * Otherwise ``key_file`` is read (same format, one line).  If it does not exist and
      ``create_if_missing`` is true, it is created with a fresh random key and mode 0o600
      (development and tests; production should pass ``create_if_missing=False``).
    * Otherwise :class:`KeyConfigError`.  No message ever contains the key or the variable's value.
    """
    if env_value is not None:
        return _decode_key(env_value, ENV_VAR)
    if key_file is None:
        raise KeyConfigError(
            f"no data key configured: set {ENV_VAR} to the base64 of {KEY_LENGTH} random bytes; "
            f"{_HOW_TO_MAKE_A_KEY}"
        )
    key_file = Path(key_file)
    if key_file.exists():
        return _read_key_file(key_file)
    if create_if_missing:
        return _create_key_file(key_file)
    raise KeyConfigError(
        f"key file {key_file} does not exist and {ENV_VAR} is not set: set {ENV_VAR} to the base64 "
        f"of {KEY_LENGTH} random bytes; {_HOW_TO_MAKE_A_KEY}"
    )
