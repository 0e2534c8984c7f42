"""Build a reproducible demo history for `promotion-bot approvals`, and its PR snapshots.

    python examples/make_demo_history.py /tmp/demo            # repository only
    python examples/make_demo_history.py /tmp/demo --snapshots examples/governed-repo/snapshots

It makes, in DEST (which must not exist or be empty), a git repository whose `main` is the
example governed repository as committed (HEAD of this checkout), and a branch
`demo/ruleset-1.1.0` that promotes the routing rules to 1.1.0 in two commits: the new ruleset
with its change request, then the pack manifest. Names and dates are fixed, so the commit SHAs
are the same on every machine, and the snapshots it writes (approved.json, pending.json,
blocked.json) name real commits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parent / "governed-repo"
BRANCH = "demo/ruleset-1.1.0"
CAPTURED_AT = "2026-03-02T12:00:00Z"

# People of the demo organisation; pat is in two teams on purpose.
TEAMS = {
    "example-org/routing-reviewers": ["rita", "pat", "erin"],
    "example-org/promotion-admins": ["adam", "pat"],
    "example-org/security-officers": ["sam"],
    "example-org/privacy-officers": ["priya"],
}
AUTHOR = "erin"


def git(repo: Path, *args: str, date: str = "2026-03-01T09:00:00Z") -> str:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("GIT_")
    } | {
        "GIT_AUTHOR_NAME": "Erin Engineer",
        "GIT_AUTHOR_EMAIL": "erin@example.org",
        "GIT_COMMITTER_NAME": "Erin Engineer",
        "GIT_COMMITTER_EMAIL": "erin@example.org",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    command = ["git", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false", "-C", str(repo)]
    result = subprocess.run(
        [*command, *args], capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        sys.exit(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def committed_example() -> dict[str, tuple[str, bytes]]:
    """The example as committed at HEAD (path -> (mode, content)); snapshots/ is this script's
    output and is left out. Uncommitted edits do not change the demo SHAs."""
    listing = git(EXAMPLE, "ls-tree", "-r", "-z", "HEAD", ".")
    files: dict[str, tuple[str, bytes]] = {}
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        mode, kind, blob = meta.split(" ")
        if path.startswith("snapshots/"):
            continue
        if kind != "blob" or mode not in ("100644", "100755"):
            sys.exit(f"{path}: only regular files are supported in the example (mode {mode})")
        content = subprocess.run(
            ["git", "-C", str(EXAMPLE), "cat-file", "blob", blob], capture_output=True, check=True
        ).stdout
        files[path] = (mode, content)
    return files


def build(dest: Path) -> dict[str, str]:
    if dest.exists() and any(dest.iterdir()):
        sys.exit(f"{dest} is not empty; give a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    for name, (mode, content) in sorted(committed_example().items()):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.chmod(0o755 if mode == "100755" else 0o644)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "Initial promotions", date="2026-03-01T09:00:00Z")
    base = git(dest, "rev-parse", "HEAD")

    git(dest, "checkout", "-q", "-b", BRANCH)
    rules_path = "configs/routing_tables/routing_rules_v1.1.0.json"
    rules = json.loads((dest / "configs/routing_tables/routing_rules_v1.0.0.json").read_text())
    rules["version"] = "1.1.0"
    for rule in rules["rules"]:
        if rule["id"] == "gdpr-request":
            rule["any_keywords"].append("right of access")
    content = (json.dumps(rules, indent=2) + "\n").encode()
    (dest / rules_path).write_bytes(content)
    digest = hashlib.sha256(content).hexdigest()
    (dest / "change-requests/CR-2026-0005.yaml").write_text(
        "change_id: CR-2026-0005\n"
        "change_type: ruleset\n"
        "target: routing-rules\n"
        "title: Route 'right of access' requests to the privacy queue\n"
        'proposed_version: "1.1.0"\n'
        'current_version: "1.0.0"\n'
        "artifacts:\n"
        f"  - path: {rules_path}\n"
        f"    sha256: {digest}\n"
        "rollback_plan: Revert the pull request; v1.0.0 stays on disk and becomes current.\n"
    )
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "Routing rules 1.1.0", date="2026-03-02T10:00:00Z")
    first = git(dest, "rev-parse", "HEAD")

    sums = dest / "pack/SHA256SUMS"
    lines = [*sums.read_text().splitlines(), f"{digest}  {rules_path}"]
    sums.write_text("\n".join(sorted(lines, key=lambda line: line.split("  ", 1)[1])) + "\n")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "Pack manifest for 1.1.0", date="2026-03-02T10:30:00Z")
    head = git(dest, "rev-parse", "HEAD")
    git(dest, "checkout", "-q", "main")
    return {"base": base, "first": first, "head": head}


def changed_files(dest: Path, base: str, head: str) -> list[dict[str, Any]]:
    statuses = {"A": "added", "M": "modified", "D": "removed", "R": "renamed"}
    fields = git(dest, "diff", "--name-status", "-z", "-M", base, head).split("\0")
    fields = [field for field in fields if field]
    files: list[dict[str, Any]] = []
    index = 0
    while index < len(fields):
        status = fields[index][0]
        if status == "R":
            files.append(
                {"filename": fields[index + 2], "status": "renamed",
                 "previous_filename": fields[index + 1]}
            )
            index += 3
        else:
            files.append({"filename": fields[index + 1], "status": statuses.get(status, "changed")})
            index += 2
    return files


def user(login: str) -> dict[str, Any]:
    return {"login": login, "id": 10_000 + sum(map(ord, login)), "type": "User"}


def pull_commits(dest: Path, base: str, head: str) -> list[dict[str, Any]]:
    """The branch's commits, oldest first, as GET .../pulls/{n}/commits lists them (the fields
    a snapshot keeps). GitHub links erin@example.org to erin's account."""
    accounts = {"erin@example.org": user(AUTHOR)}
    log = git(dest, "log", "--reverse", "-z", "--format=%H%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%B",
              f"{base}..{head}")
    commits = []
    for entry in filter(None, log.split("\0")):
        sha, author_name, author_email, committer_name, committer_email, message = \
            entry.split("\x1f")
        commits.append({
            "sha": sha,
            "author": accounts.get(author_email),
            "committer": accounts.get(committer_email),
            "commit": {
                "author": {"name": author_name, "email": author_email},
                "committer": {"name": committer_name, "email": committer_email},
                "message": message.strip(),
            },
        })
    return commits


def review(review_id: int, login: str, state: str, commit: str, at: str) -> dict[str, Any]:
    return {
        "id": review_id,
        "user": user(login),
        "state": state,
        "commit_id": commit,
        "submitted_at": at,
        "author_association": "MEMBER",
    }


def snapshot(dest: Path, shas: dict[str, str], reviews: list[dict[str, Any]]) -> dict[str, Any]:
    files = changed_files(dest, shas["base"], shas["head"])
    commits = pull_commits(dest, shas["base"], shas["head"])
    return {
        "snapshot_version": 1,
        "repository": "example-org/intake-routing",
        "captured_at": CAPTURED_AT,
        "pull_request": {
            "number": 42,
            "title": "Routing rules 1.1.0",
            "state": "open",
            "user": user(AUTHOR),
            "head": {"ref": BRANCH, "sha": shas["head"]},
            "base": {"ref": "main", "sha": shas["base"]},
            "changed_files": len(files),
            "commits": len(commits),
        },
        "files": files,
        "commits": commits,
        "reviews": reviews,
        "teams": {
            name: {
                "members": [user(login) for login in members]
            }
            for name, members in TEAMS.items()
        },
    }


def snapshots(dest: Path, shas: dict[str, str]) -> dict[str, dict[str, Any]]:
    head, first = shas["head"], shas["first"]
    bot = {
        "id": 1099,
        "user": {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"},
        "state": "APPROVED",
        "commit_id": head,
        "submitted_at": "2026-03-02T10:31:00Z",
    }
    return {
        # pat (reviewers and admins) approved first; the matching puts rita on reviewer and
        # pat on administrator. The bot's approval never counts.
        "approved": snapshot(dest, shas, [
            bot,
            review(1101, "pat", "APPROVED", head, "2026-03-02T11:00:00Z"),
            review(1102, "rita", "APPROVED", head, "2026-03-02T11:10:00Z"),
        ]),
        # adam approved before the manifest commit: stale. pat alone fills one role only.
        "pending": snapshot(dest, shas, [
            review(1103, "adam", "APPROVED", first, "2026-03-02T10:15:00Z"),
            review(1101, "pat", "APPROVED", head, "2026-03-02T11:00:00Z"),
        ]),
        # rita and adam approved, but pat approved then asked for changes: blocked.
        "blocked": snapshot(dest, shas, [
            review(1101, "pat", "APPROVED", head, "2026-03-02T11:00:00Z"),
            review(1102, "rita", "APPROVED", head, "2026-03-02T11:10:00Z"),
            review(1104, "adam", "APPROVED", head, "2026-03-02T11:20:00Z"),
            review(1105, "pat", "CHANGES_REQUESTED", head, "2026-03-02T11:30:00Z"),
        ]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="a new folder for the demo repository")
    parser.add_argument(
        "--snapshots", type=Path, default=None,
        help="a folder to write approved.json, pending.json and blocked.json into",
    )
    args = parser.parse_args(argv)
    shas = build(args.dest)
    if args.snapshots is not None:
        args.snapshots.mkdir(parents=True, exist_ok=True)
        for name, data in snapshots(args.dest, shas).items():
            (args.snapshots / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    print(f"{args.dest}: main {shas['base'][:12]}, {BRANCH} {shas['head'][:12]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
