"""The floor of a full audit, as its own process: what any audit of this ledger must at least do.

    python benchmarks/floor_audit.py REPO PUBLIC_KEY_PEM

Reads every promotion tag with its body (one `git for-each-ref`), main's first-parent
history with its changes (one `git log --first-parent --raw -M`), and for each record:
parses the envelope, verifies its Ed25519 signature and parses the signed payload. Nothing
of this is promotion-bot's code, so the ratio says what promotion-bot adds.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key


def main() -> int:
    repo, key_file = Path(sys.argv[1]), Path(sys.argv[2])
    key = load_pem_public_key(key_file.read_bytes())
    tags = subprocess.run(
        ["git", "-C", str(repo), "for-each-ref", "--format=%(contents)%00",
         "refs/tags/promotion/"],
        capture_output=True, check=True,
    ).stdout
    subprocess.run(
        ["git", "-C", str(repo), "log", "--first-parent", "--raw", "-M", "--no-abbrev", "-z",
         "HEAD"],
        capture_output=True, check=True,
    )
    verified = 0
    for body in tags.split(b"\0"):
        body = body.strip()
        if not body:
            continue
        envelope = json.loads(body)
        payload = base64.b64decode(envelope["payload"])
        kind = envelope["payloadType"].encode()
        message = b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)
        try:
            key.verify(base64.b64decode(envelope["signatures"][0]["sig"]), message)  # type: ignore[union-attr, call-arg]
        except InvalidSignature:
            return 1
        json.loads(payload)
        verified += 1
    return 0 if verified else 1


if __name__ == "__main__":
    sys.exit(main())
