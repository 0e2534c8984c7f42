"""The floor of `validate`, as its own process: parse every change request and the policy with
PyYAML's pure-Python `safe_load`, and hash every artifact they list.

    python benchmarks/floor_validate.py ROOT
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import yaml


def main() -> int:
    root = Path(sys.argv[1])
    yaml.safe_load((root / ".promotion" / "policy.yaml").read_text())
    for path in sorted((root / "change-requests").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        for artifact in data["artifacts"]:
            hashlib.sha256((root / artifact["path"]).read_bytes()).hexdigest()
    return 0


if __name__ == "__main__":
    sys.exit(main())
