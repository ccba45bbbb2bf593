"""Standard Webhooks signing (https://www.standardwebhooks.com, spec "Signature scheme"): the
`webhook-signature` is `v1,` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")), where the key is
the base64 part of a `whsec_` secret. Implemented here (a dozen lines) rather than with the
`standardwebhooks` package, whose dependencies (httpx, Deprecated) we do not otherwise carry
(docs/dependencies.md); tests/integrations/test_signing.py checks it against the spec's example."""

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    content = f"{msg_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(_key(secret), content, hashlib.sha256).digest()).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def verify(secret: str, headers: dict, body: str, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: the timestamp is recent and one of the space-separated signatures matches."""
    timestamp = int(headers["webhook-timestamp"])
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, headers["webhook-id"], timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in headers["webhook-signature"].split())
