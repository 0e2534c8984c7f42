"""SHA-256 digests of bytes. (Files are hashed, streamed, by promotion_bot.adapters.files.)"""

from __future__ import annotations

import hashlib


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
