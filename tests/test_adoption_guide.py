"""docs/adopting.md, end to end, on the bundled example turned into a repository with a year of
history and no policy: the key, `init`, the adoption baseline, the adoption merge (`record` signs
the baseline), one promotion (`new`, `check`, the pull request's approvals, the merge, `record`),
then `audit` and `verify` on the merge.

Each promotion-bot command the guide shows is run as the guide writes it (the test adds only
what an interactive adopter would type at init's questions); GitHub's part (reviews, the merge,
the facts `record` reads from the API) is a merge in git and the snapshot GitHub would give.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from promotion_bot.cli.main import main
from tests.conftest import EXAMPLE, PROJECT

GUIDE = (PROJECT / "docs" / "adopting.md").read_text(encoding="utf-8")
BOT = ["--bot-repository", "example-org/promotion-bot", "--bot-ref",
       "4f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39"]
NEW_RULESET = "configs/routing_tables/routing_rules_v1.1.0.json"
# the teams init proposes for example-org, and who is in them
TEAMS = {"example-org/promotion-reviewers": ["rita"], "example-org/promotion-admins": ["adam"],
         "example-org/security-officers": ["sam"], "example-org/privacy-officers": ["priya"]}
# what the administrator types into the proposed baseline: each target's name and live version
BASELINE = {"ruleset": ("routing-rules", "1.0.0"), "model": ("classifier", "2.0.0"),
            "prompt": ("classify-prompt", "3.1.0"), "template": ("reply-templates", "2025.12")}


def documented(command: str) -> list[str]:
    """The arguments of a command the guide shows at a prompt (`$ promotion-bot ...`)."""
    assert f"$ promotion-bot {command}" in GUIDE, f"docs/adopting.md no longer shows: {command}"
    return shlex.split(command)


def git(repo: Path, *args: str, when: dt.datetime | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | {
        "GIT_AUTHOR_NAME": "Erin Engineer", "GIT_AUTHOR_EMAIL": "erin@example.org",
        "GIT_COMMITTER_NAME": "Erin Engineer", "GIT_COMMITTER_EMAIL": "erin@example.org",
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.environ["GIT_CONFIG_GLOBAL"]}
    if when is not None:
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        env |= {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                            env=env, check=False)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def a_year_without_promotion_bot(base: Path) -> Path:
    """The example's artifacts and scripts, a year of monthly commits, no policy, no change
    requests, no workflows, no CODEOWNERS; origin on GitHub."""
    root = base / "intake-routing"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(
        "snapshots", ".promotion", "change-requests", ".github", "CODEOWNERS"))
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=366)
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", "git@github.com:example-org/intake-routing.git")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Import the intake router", when=start)
    ack = root / "templates/replies/acknowledgement.md"
    for month in range(1, 12):
        ack.write_text(ack.read_text() + f"<!-- reviewed in month {month} -->\n")
        subprocess.run(["bash", "scripts/update_pack.sh"], cwd=root, check=True,
                       capture_output=True)
        git(root, "commit", "-qam", f"Reply template review, month {month}",
            when=start + dt.timedelta(days=30 * month))
    return root


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def user(login: str) -> dict[str, Any]:
    return {"login": login, "id": 10_000 + sum(map(ord, login)), "type": "User"}


def snapshot(root: Path, number: int, base: str, head: str, merge: str, approvers: list[str],
             title: str) -> dict[str, Any]:
    """What GitHub says about the merged pull request (the gate's snapshot shape)."""
    files = []
    for line in git(root, "diff", "--name-status", base, head).splitlines():
        status, name = line.split("\t", 1)
        files.append({"filename": name, "status": {"A": "added", "D": "removed"}.get(
            status[0], "modified")})
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "snapshot_version": 1,
        "repository": "example-org/intake-routing",
        "pull_request": {
            "number": number, "title": title, "state": "closed", "user": user("erin"),
            "head": {"ref": f"pr-{number}", "sha": head}, "base": {"ref": "main", "sha": base},
            "changed_files": len(files), "merged_at": now, "merged_by": user("adam"),
            "merge_commit_sha": merge,
            "html_url": f"https://github.com/example-org/intake-routing/pull/{number}",
        },
        "files": files,
        "reviews": [{"id": 5000 + number * 10 + index, "user": user(login), "state": "APPROVED",
                     "commit_id": head, "submitted_at": now}
                    for index, login in enumerate(approvers)],
        "teams": {team: {"members": [user(login) for login in members]}
                  for team, members in TEAMS.items()},
    }


def merge_pull_request(root: Path, branch: str, number: int) -> tuple[str, str, str]:
    base = git(root, "rev-parse", "main")
    head = git(root, "rev-parse", branch)
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", branch, "-m", f"Merge pull request #{number}")
    return base, head, git(root, "rev-parse", "HEAD")


def fill_in_the_baseline(root: Path, proposal: str) -> None:
    """The proposal names each target after its change type and asks for its version."""
    text = proposal
    for change_type, (target, version) in BASELINE.items():
        text = text.replace(f"- target: {change_type}\n", f"- target: {target}\n")
        asked = f'version: ""  # QUESTION: which version of {change_type} is live today?'
        assert asked in text, proposal
        text = text.replace(asked, f'version: "{version}"')
    (root / ".promotion/baseline.yaml").write_text(text)


def test_the_adoption_guide_on_a_repository_with_a_year_of_history(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    root = a_year_without_promotion_bot(tmp_path)
    snapshots, evidence = tmp_path / "snapshots", tmp_path / "evidence"
    snapshots.mkdir()
    evidence.mkdir()
    monkeypatch.chdir(root)

    # step 3: the signing key, then init on a branch
    key = tmp_path / "signing-key.pem"
    code, out = run(capsys, *documented("keys generate -o ../signing-key.pem")[:-1], str(key))
    assert code == 0, out
    git(root, "switch", "-q", "-c", "adopt-promotion-bot")
    code, out = run(capsys, *documented("init --signing-key ../signing-key.pem")[:-1], str(key),
                    "--yes", *BOT)
    assert code == 0, out
    assert run(capsys, *documented("validate")) == (0, "valid: the policy\n")

    # step 4: the adoption baseline, in the same pull request
    code, proposal = run(capsys, *documented("baseline --propose > .promotion/baseline.yaml")[:2])
    assert code == 0, proposal
    fill_in_the_baseline(root, proposal)
    code, out = run(capsys, *documented("baseline"))
    assert code == 0, out
    assert "ok: 4 target(s)" in out
    git(root, "add", ".promotion", "CODEOWNERS", ".github/workflows")
    git(root, "commit", "-qm", "Adopt promotion-bot")

    # step 6: the administrators approve the adoption; it merges, and the record run signs the
    # baseline
    base, head, adoption = merge_pull_request(root, "adopt-promotion-bot", 100)
    (snapshots / "pr-100.json").write_text(json.dumps(
        snapshot(root, 100, base, head, adoption, ["adam"], "Adopt promotion-bot")))
    record = ["record", "--snapshot", str(snapshots), "--evidence", str(evidence),
              "--key-file", str(key)]
    code, out = run(capsys, *record)
    assert code == 0, out
    assert f"created   promotion/BASELINE-{adoption[:12]} on {adoption[:12]}" in out

    # step 11: the first promotion
    git(root, "switch", "-q", "-c", "promote-rules-1.1.0")
    source = (root / "configs/routing_tables/routing_rules_v1.0.0.json").read_text()
    (root / NEW_RULESET).write_text(source.replace('"1.0.0"', '"1.1.0"'))
    subprocess.run(["bash", "scripts/update_pack.sh"], cwd=root, check=True, capture_output=True)
    git(root, "add", "-A")
    new = documented('new --type ruleset --target routing-rules --title "Route chargebacks to '
                     'billing" --proposed 1.1.0 configs/routing_tables/routing_rules_v1.1.0.json')
    code, out = run(capsys, *new)
    assert code == 0, out
    # the first change request of a target starts from the version the baseline states
    assert "(ruleset routing-rules: 1.0.0 -> 1.1.0)" in out
    (change_request,) = (root / "change-requests").glob("CR-*.yaml")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "Route chargebacks to billing")
    code, out = run(capsys, *documented("check"), "--base", "main",
                    "--evidence", str(evidence / "pr-101.json"))
    assert code == 0, out
    base, head, promotion = merge_pull_request(root, "promote-rules-1.1.0", 101)
    (snapshots / "pr-101.json").write_text(json.dumps(
        snapshot(root, 101, base, head, promotion, ["rita", "adam"], "Routing rules 1.1.0")))
    code, out = run(capsys, *record)
    assert code == 0, out
    assert f"created   promotion/{change_request.stem} on {promotion[:12]}: approved: rita " \
           "(reviewer), adam (administrator)" in out

    code, out = run(capsys, "audit")
    assert code == 0, out

    # the deployment gate on the promotion's merge: every governed file is covered, the
    # promoted ruleset by its record, everything live before adoption by the baseline
    verify = documented("verify --commit origin/main")
    code, out = run(capsys, verify[0], "--commit", promotion, "--base", "main")
    assert code == 0, out
