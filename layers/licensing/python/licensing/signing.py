"""Signed answers: Ed25519 signatures of the exact response bytes, so that an extension can tell
a genuine answer from a forged or replayed one with the public key from `GET /v1/keys`."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ALGORITHM = "Ed25519"


@dataclass(frozen=True)
class Signer:
    private_key: Ed25519PrivateKey

    @classmethod
    def from_seed_hex(cls, seed_hex: str) -> Signer:
        """The signer of a 32-byte seed written as 64 hex characters (as the stack generates it)."""
        try:
            seed = bytes.fromhex(seed_hex.strip())
        except ValueError:
            seed = b""
        if len(seed) != 32:
            raise ValueError("a signing key is a 32-byte seed written as 64 hex characters")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public_key(self) -> bytes:
        # public_bytes_raw, not public_bytes(Encoding.Raw, ...): the serialization module (SSH, PEM
        # and their ciphers) would double what a cold start imports of cryptography.
        return self.private_key.public_key().public_bytes_raw()

    @property
    def kid(self) -> str:
        """A short, stable name of the key: the start of its public key's SHA-256."""
        return hashlib.sha256(self.public_key).hexdigest()[:16]

    def sign(self, body: bytes) -> str:
        """The signature of `body`, base64-encoded (as the X-Signature header carries it)."""
        return base64.b64encode(self.private_key.sign(body)).decode()

    def sign_raw(self, body: bytes) -> bytes:
        return self.private_key.sign(body)

    def verifies(self, body: bytes, signature: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature

        try:
            self.private_key.public_key().verify(signature, body)
        except InvalidSignature:
            return False
        return True

    def jwk(self) -> dict[str, str]:
        return {"kid": self.kid, "alg": ALGORITHM, "public_key": base64.b64encode(self.public_key).decode()}
