"""A full `promotion-bot audit` against its floor, measured cold, on a long synthetic history.

    python benchmarks/bench_audit.py [--merges 1000,10000] [--repeat 3] [--keep DIR]

Builds (with `git fast-import`, so building 10,000 merges takes about a minute) a governed
repository whose main has N merge commits, each adding a change request and a ruleset
version, and signs one record per merge as an annotated tag (the same code `record` uses to
build and sign statements, without the approval engine). `--keep DIR` keeps the repositories
there and reuses them on the next run.

Then, alternately in fresh processes, `repeat` times each:

- floor (benchmarks/floor_audit.py): `git for-each-ref` with the tag bodies, `git log
  --first-parent --raw -M`, one Ed25519 verification and one payload JSON parse per record;
- ours: `promotion-bot audit --repo REPO` (every record verified, its hashes checked and its
  approvals re-evaluated from its snapshot with the policy at its base; text report).

Prints the medians (wall, CPU, peak memory) and ours / floor; CPU per record shows whether
the audit stays linear. No assertions: numbers are for people.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from benchmarks.measure import compare, promotion_bot  # noqa: E402
from promotion_bot.core.dsse import sign  # noqa: E402
from promotion_bot.core.keys import generate_key, load_private_key, policy_entry  # noqa: E402
from promotion_bot.core.models import Artifact, ChangeRequest  # noqa: E402
from promotion_bot.core.records import (  # noqa: E402
    Approval,
    ChainLink,
    CheckSummary,
    EvidenceSummary,
    FileDigest,
    MergeCommitFacts,
    PullRequestFacts,
    RecordedDecision,
    RecordInputs,
    build_statement,
    statement_bytes,
    statement_digest,
)

EXAMPLE = PROJECT / "examples" / "governed-repo"
CHECKS = ("rules-lint", "rules-simulate", "pack-verify")
TEAMS = {
    "example-org/routing-reviewers": ["rita", "pat", "erin"],
    "example-org/promotion-admins": ["adam", "pat"],
    "example-org/security-officers": ["sam"],
    "example-org/privacy-officers": ["priya"],
}


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | {
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.org",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.org",
    }


def sh(root: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", "-C", str(root), *args], input=data, capture_output=True, check=True, env=env()
    ).stdout


def blob(data: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(data), data)


def build(root: Path, merges: int) -> tuple[Path, int]:
    sh(root, "init", "-q", "-b", "main")
    key = generate_key()
    key_file = root.parent / "key.pem"
    key_file.write_bytes(key.private_pem)
    policy = (
        (EXAMPLE / ".promotion/policy.yaml").read_bytes()
        + b"\n"
        + policy_entry(key.keyid, key.public_pem, None).encode()
    )
    stream = bytearray()
    epoch = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp())
    stream += b"commit refs/heads/main\nmark :1\n"
    stream += b"committer bench <b@e> %d +0000\n" % epoch
    stream += blob(b"bootstrap")
    for path in sorted(p for p in EXAMPLE.rglob("*") if p.is_file() and "snapshots" not in p.parts):
        relative = path.relative_to(EXAMPLE).as_posix()
        if relative.startswith(("change-requests/", "configs/routing_tables/")):
            continue
        content = policy if relative == ".promotion/policy.yaml" else path.read_bytes()
        stream += b"M 100644 inline %s\n" % relative.encode() + blob(content)
    mark = 1
    version = None
    heads: list[tuple[int, int, ChangeRequest, str]] = []  # merge mark, head mark, CR, CR digest
    for index in range(1, merges + 1):
        new = f"1.{index}.0"
        change_id = f"CR-2026-{index:05d}"
        rules = json.dumps({"version": new, "rules": [f"rule-{index}"]}).encode() + b"\n"
        digest = hashlib.sha256(rules).hexdigest()
        path = f"configs/routing_tables/routing_rules_v{new}.json"
        current = f'"{version}"' if version else "null"
        cr = (
            f"change_id: {change_id}\nchange_type: ruleset\ntarget: routing-rules\n"
            f'title: Routing rules {new}\nproposed_version: "{new}"\n'
            f"current_version: {current}\nartifacts:\n  - path: {path}\n    sha256: {digest}\n"
            "rollback_plan: Revert the pull request.\n"
        ).encode()
        base_mark = mark
        stamp = epoch + index * 600
        stream += b"commit refs/heads/side\nmark :%d\n" % (mark + 1)
        stream += b"committer erin <e@e> %d +0000\n" % (stamp - 300) + blob(b"promote")
        stream += b"from :%d\n" % base_mark
        stream += b"M 100644 inline %s\n" % path.encode() + blob(rules)
        stream += b"M 100644 inline change-requests/%s.yaml\n" % change_id.encode() + blob(cr)
        stream += b"commit refs/heads/main\nmark :%d\n" % (mark + 2)
        stream += b"committer github <g@e> %d +0000\n" % stamp + blob(b"merge")
        stream += b"from :%d\nmerge :%d\n" % (base_mark, mark + 1)
        stream += b"M 100644 inline %s\n" % path.encode() + blob(rules)
        stream += b"M 100644 inline change-requests/%s.yaml\n" % change_id.encode() + blob(cr)
        change = ChangeRequest(
            change_id,
            "ruleset",
            "routing-rules",
            f"Routing rules {new}",
            new,
            version,
            (Artifact(path, digest),),
            "Revert the pull request.",
            source_path=f"change-requests/{change_id}.yaml",
        )
        heads.append((mark + 2, mark + 1, change, hashlib.sha256(cr).hexdigest()))
        mark += 2
        version = new
    marks_file = root.parent / "marks"
    sh(root, "fast-import", "--quiet", f"--export-marks={marks_file}", data=bytes(stream))
    sh(root, "checkout", "-q", "main")
    marks = dict(line.split(" ") for line in marks_file.read_text().split("\n") if line)
    identity = load_private_key(key.private_pem, "bench")
    policy_digest = hashlib.sha256(policy).hexdigest()
    previous: ChainLink | None = None
    tag_stream = bytearray()
    parents = {}
    for line in (
        sh(root, "log", "--first-parent", "--format=%H %P %T", "main").decode().splitlines()
    ):
        sha, first, *rest = line.split(" ")
        parents[sha] = (first, rest[-1])
    for merge_mark, head_mark, cr, cr_digest in heads:
        merge_sha = marks[f":{merge_mark}"]
        head_sha = marks[f":{head_mark}"]
        first, tree = parents[merge_sha]
        reviews = [
            {
                "id": 1,
                "user": {"login": "rita", "type": "User"},
                "state": "APPROVED",
                "commit_id": head_sha,
                "submitted_at": "2026-01-01T00:00:00Z",
            },
            {
                "id": 2,
                "user": {"login": "adam", "type": "User"},
                "state": "APPROVED",
                "commit_id": head_sha,
                "submitted_at": "2026-01-01T00:00:00Z",
            },
        ]
        snapshot = {
            "snapshot_version": 1,
            "pull_request": {
                "number": 1,
                "title": "t",
                "user": {"login": "erin", "type": "User"},
                "head": {"ref": "side", "sha": head_sha},
                "base": {"ref": "main", "sha": first},
            },
            "files": [
                {"filename": cr.artifacts[0].path, "status": "added"},
                {"filename": cr.source_path, "status": "added"},
            ],
            "reviews": reviews,
            "teams": {
                t: {"members": [{"login": m, "type": "User"} for m in ms]}
                for t, ms in TEAMS.items()
            },
        }
        inputs = RecordInputs(
            change_request=cr,
            change_request_path=cr.source_path,
            change_request_sha256=cr_digest,
            pull_request=PullRequestFacts(1, None, "t", "erin", "main", first, head_sha, None),
            merge=MergeCommitFacts(
                merge_sha, tree, first, "adam", dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
            ),
            policy=FileDigest(".promotion/policy.yaml", policy_digest),
            codeowners=None,
            decision=RecordedDecision(
                True,
                ("reviewer", "administrator"),
                (
                    Approval("rita", "reviewer", 1, head_sha, "2026-01-01T00:00:00Z"),
                    Approval("adam", "administrator", 2, head_sha, "2026-01-01T00:00:00Z"),
                ),
                (),
                "approved",
            ),
            snapshot=snapshot,
            evidence=EvidenceSummary(
                "0" * 64,
                head_sha,
                "passed",
                tuple(CheckSummary(name, "passed", "https://ci.example/run/1") for name in CHECKS),
            ),
            previous=previous,
        )
        payload = statement_bytes(build_statement(inputs))
        envelope = sign(payload, identity.private_key, identity.keyid).to_json()
        message = envelope.encode() + b"\n"
        tag_stream += b"tag promotion/%s\nfrom %s\n" % (cr.change_id.encode(), merge_sha.encode())
        tag_stream += b"tagger bench <b@e> %d +0000\n" % epoch
        tag_stream += b"data %d\n%s\n" % (len(message), message)
        previous = ChainLink(cr.change_id, merge_sha, statement_digest(payload))
    sh(root, "fast-import", "--quiet", data=bytes(tag_stream))
    return key_file, merges


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--merges", default="1000,10000", help="comma-separated sizes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-audit-"))
    floor_script = str(Path(__file__).resolve().parent / "floor_audit.py")
    results = []
    for merges in (int(n) for n in args.merges.split(",")):
        folder = base / f"merges-{merges}"
        root = folder / "repo"
        public = folder / "public.pem"
        if not public.is_file():
            root.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            key_file, _ = build(root, merges)
            identity = load_private_key(key_file.read_bytes(), "bench")
            public.write_bytes(public_pem(identity))
            print(f"built {merges} merges + records in {time.perf_counter() - start:.0f} s")
        comparison = compare(
            f"audit, {merges} merges",
            [sys.executable, floor_script, str(root), str(public)],
            [*promotion_bot(sys.executable), "audit", "--repo", str(root)],
            args.repeat,
            env=env(),
        )
        results.append((merges, comparison))
        print("\n".join(comparison.lines()), flush=True)
    print("\nper record (CPU, medians):")
    for merges, comparison in results:
        floor = comparison.median(comparison.floor, "cpu") / merges * 1000
        ours = comparison.median(comparison.ours, "cpu") / merges * 1000
        print(f"  {merges:6d} merges: floor {floor:6.3f} ms   ours {ours:6.3f} ms")
    return 0


def public_pem(identity: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = identity.private_key.public_key()  # type: ignore[attr-defined]
    return key.public_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


if __name__ == "__main__":
    sys.exit(main())
