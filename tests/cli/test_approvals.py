"""`promotion-bot approvals` end to end: real git repositories, snapshots, exit codes, output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from promotion_bot.adapters.git import diff_changes, merge_base
from promotion_bot.cli.main import main
from tests.conftest import git

PROJECT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT / "examples" / "make_demo_history.py"
COMMITTED = PROJECT / "examples" / "governed-repo" / "snapshots"
BRANCH = "demo/ruleset-1.1.0"
CLASSIFIER = "configs/models/classifier.yaml"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo history and its snapshots, made by the script the README shows."""
    root = tmp_path_factory.mktemp("demo")
    subprocess.run(
        [sys.executable, str(SCRIPT), str(root / "repo"), "--snapshots", str(root / "snapshots")],
        check=True,
        capture_output=True,
    )
    return root / "repo", root / "snapshots"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["approvals", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


@pytest.mark.parametrize("name", ["approved", "pending", "blocked"])
def test_committed_example_snapshots_are_up_to_date(demo: tuple[Path, Path], name: str) -> None:
    _, snapshots = demo
    assert (snapshots / f"{name}.json").read_text() == (COMMITTED / f"{name}.json").read_text(), (
        "examples/governed-repo/snapshots are stale: run "
        "python examples/make_demo_history.py /tmp/demo --snapshots examples/governed-repo/snapshots"
    )


def shas(snapshots: Path) -> dict[str, str]:
    """head, base and the branch's first commit (the one adam approved too early), short."""
    pending = json.loads((snapshots / "pending.json").read_text())
    return {
        "head": pending["pull_request"]["head"]["sha"][:7],
        "base": pending["pull_request"]["base"]["sha"][:7],
        "first": pending["reviews"][0]["commit_id"][:7],
    }


@pytest.mark.parametrize(
    ("name", "code", "expected"),
    [
        ("approved", 0, [
            "Decision: APPROVED: all 2 required roles approved",
            "approved by rita (review 1102",
            "approved by pat (review 1101",
            "pat is also in reviewer; one person fills one role, so pat counts for administrator",
            "github-actions[bot] (review 1099, 2026-03-02T10:31:00Z, on {head}): bot accounts",
        ]),
        ("pending", 1, [
            "Decision: PENDING: waiting for administrator",
            "can still approve: @example-org/promotion-admins: adam",
            "adam (review 1103, 2026-03-02T10:15:00Z, on {first}): stale: given on {first}, "
            "the head is now {head}",
        ]),
        ("blocked", 1, [
            "Decision: BLOCKED: changes requested by pat",
            "changes requested by pat (review 1105",
            "pat (review 1101, 2026-03-02T11:00:00Z, on {head}): superseded by review 1105",
        ]),
    ],
)
def test_example_snapshots(
    demo: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    name: str,
    code: int,
    expected: list[str],
) -> None:
    repo, snapshots = demo
    result, out, _ = run(
        capsys, "--repo", str(repo), "--base", "main", "--head", BRANCH,
        "--snapshot", str(snapshots / f"{name}.json"),
    )
    assert result == code
    for line in expected:
        assert line.format(**shas(snapshots)) in out


def test_base_and_head_default_to_the_snapshots(
    demo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, snapshots = demo
    code, out, _ = run(capsys, "--repo", str(repo), "--snapshot", str(snapshots / "approved.json"))
    assert code == 0
    assert f"head {shas(snapshots)['head']}" in out


def test_json_and_markdown_give_the_same_decision(
    demo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, snapshots = demo
    args = ("--repo", str(repo), "--snapshot", str(snapshots / "pending.json"))
    code, out, _ = run(capsys, *args, "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["format"] == "promotion-bot/approvals/v1"
    assert data["status"] == "pending"
    assert [(r["role"], r["status"]) for r in data["roles"]] == [
        ("reviewer", "approved"), ("administrator", "pending")
    ]
    assert data["roles"][1]["candidates"] == [
        {"owner": "@example-org/promotion-admins", "logins": ["adam"]}
    ]
    code, out, _ = run(capsys, *args, "--format", "markdown")
    assert code == 1
    assert out.startswith("<!-- promotion-bot:approvals -->\n## Promotion approvals: ⏳ pending")
    assert "| **administrator** | ⏳ pending (0/1) | – | `@example-org/promotion-admins`: adam |" in out


def test_snapshot_of_another_head_exits_2(
    demo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, snapshots = demo
    code, out, _ = run(
        capsys, "--repo", str(repo), "--head", "main", "--snapshot", str(snapshots / "approved.json")
    )
    assert code == 2
    assert "Decision: ERROR" in out
    short = shas(snapshots)
    assert f"the snapshot is of head {short['head']}" in out
    assert f"but the evaluated head is {short['base']}" in out


def test_malformed_snapshot_exits_2_with_its_location(
    demo: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo, _ = demo
    bad = tmp_path / "pr.json"
    bad.write_text('{"snapshot_version": 1,\n "pull_request": }\n')
    code, out, err = run(capsys, "--repo", str(repo), "--snapshot", str(bad))
    assert code == 2
    assert out == ""
    assert f"{bad}:2:18: not valid JSON: Expecting value" in err


def test_unknown_review_state_exits_2(
    demo: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo, snapshots = demo
    data = json.loads((snapshots / "approved.json").read_text())
    data["reviews"][1]["state"] = "LGTM"
    path = tmp_path / "pr.json"
    path.write_text(json.dumps(data))
    code, _, err = run(capsys, "--repo", str(repo), "--snapshot", str(path))
    assert code == 2
    assert f"{path}: reviews[1].state: 'LGTM' is not one of: APPROVED" in err


def test_unknown_base_exits_2(
    demo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, snapshots = demo
    code, _, err = run(
        capsys, "--repo", str(repo), "--base", "no-such-branch",
        "--snapshot", str(snapshots / "approved.json"),
    )
    assert code == 2
    assert "'no-such-branch' is not a commit" in err


# -- pull requests built here -----------------------------------------------------------------


def snapshot_for(repo: Path, base: str, head: str, reviews: list[dict[str, Any]]) -> dict[str, Any]:
    statuses = {"A": "added", "M": "modified", "D": "removed", "R": "renamed"}
    files = []
    for change in diff_changes(repo, merge_base(repo, base, head), head):
        item = {"filename": change.path, "status": statuses[change.status]}
        if change.old_path:
            item["previous_filename"] = change.old_path
        files.append(item)
    teams = {
        "example-org/routing-reviewers": ["rita"],
        "example-org/promotion-admins": ["adam"],
        "example-org/security-officers": ["sam"],
        "example-org/privacy-officers": ["priya"],
    }
    return {
        "snapshot_version": 1,
        "pull_request": {
            "number": 7,
            "user": {"login": "erin", "type": "User"},
            "head": {"ref": "feature", "sha": head},
            "base": {"ref": "main", "sha": base},
            "changed_files": len(files),
        },
        "files": files,
        "reviews": [
            {
                "id": index + 1,
                "user": {"login": login, "type": "User"},
                "state": "APPROVED",
                "commit_id": head,
                "submitted_at": f"2026-03-02T11:0{index}:00Z",
            }
            for index, login in enumerate(r["login"] for r in reviews)
        ],
        "teams": {name: {"members": [{"login": m} for m in ms]} for name, ms in teams.items()},
    }


def commit_branch(repo: Path, edits: dict[str, str]) -> tuple[str, str]:
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "feature")
    for path, text in edits.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "feature")
    return base, git(repo, "rev-parse", "HEAD")


def evaluate_json(
    capsys: pytest.CaptureFixture[str], repo: Path, snapshot: dict[str, Any], tmp_path: Path
) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "pr.json"
    path.write_text(json.dumps(snapshot))
    code, out, _ = run(capsys, "--repo", str(repo), "--snapshot", str(path), "--format", "json")
    return code, json.loads(out)


def test_a_pr_that_lowers_its_own_bar_is_judged_by_the_base_policy_and_codeowners(
    example_repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = (example_repo / ".promotion/policy.yaml").read_text()
    lowered = policy.replace(
        'paths: ["prompts/**"]\n    required_roles: [reviewer, administrator]',
        'paths: ["prompts/**"]\n    required_roles: [administrator]',
    )
    assert lowered != policy
    base, head = commit_branch(example_repo, {
        ".promotion/policy.yaml": lowered,
        "CODEOWNERS": "* @example-org/promotion-admins\n",
        "prompts/classify_prompt.md": "Classify the message.\n",
    })
    code, data = evaluate_json(
        capsys, example_repo, snapshot_for(example_repo, base, head, [{"login": "adam"}]), tmp_path
    )
    assert (code, data["status"]) == (1, "pending")
    roles = {role["role"]: role for role in data["roles"]}
    assert roles["reviewer"]["status"] == "pending"  # the base policy still asks for it
    assert [r["message"] for r in roles["administrator"]["reasons"] if r["kind"] == "governance"] == [
        ".promotion/policy.yaml governs promotion itself",
        "CODEOWNERS governs promotion itself",
    ]
    assert data["problems"] == []  # base CODEOWNERS covers every path


def test_endpoint_change_in_git_requires_the_security_officer(
    example_repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = (example_repo / CLASSIFIER).read_text()
    base, head = commit_branch(example_repo, {
        CLASSIFIER: config.replace("http://127.0.0.1:11434", "https://llm.example.com"),
    })
    snap = snapshot_for(example_repo, base, head, [{"login": "rita"}, {"login": "adam"}])
    code, data = evaluate_json(capsys, example_repo, snap, tmp_path)
    assert (code, data["status"]) == (1, "pending")
    assert data["config_key_changes"] == [{
        "file": CLASSIFIER, "key": "endpoint",
        "before": '"http://127.0.0.1:11434"', "after": '"https://llm.example.com"',
    }]
    snap = snapshot_for(example_repo, base, head,
                        [{"login": "rita"}, {"login": "adam"}, {"login": "sam"}])
    code, data = evaluate_json(capsys, example_repo, snap, tmp_path)
    assert (code, data["status"]) == (0, "approved")


def test_invalid_change_request_at_head_is_an_error_with_its_location(
    example_repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base, head = commit_branch(example_repo, {
        "change-requests/CR-2026-0005.yaml": "change_id: CR-2026-0005\nchange_type: rulset\n",
    })
    snap = snapshot_for(example_repo, base, head, [])
    code, data = evaluate_json(capsys, example_repo, snap, tmp_path)
    assert (code, data["status"]) == (2, "error")
    messages = [(p["file"], p["line"], p["message"]) for p in data["problems"]]
    assert ("change-requests/CR-2026-0005.yaml", 2,
            "'rulset' is not one of: ruleset, model, prompt, template") in messages


def test_governed_repository_in_a_subfolder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outer = tmp_path / "outer"
    sub = outer / "governed"
    (sub / ".promotion").mkdir(parents=True)
    policy = (PROJECT / "examples/governed-repo/.promotion/policy.yaml").read_text()
    (sub / ".promotion/policy.yaml").write_text(policy)
    (sub / "CODEOWNERS").write_text(
        "* @example-org/promotion-admins\n"
        "/prompts/ @example-org/routing-reviewers @example-org/promotion-admins\n"
    )
    (outer / "prompts").mkdir()
    (outer / "prompts/unrelated.md").write_text("outside the governed repository\n")
    git(outer, "init", "-q")
    git(outer, "add", "-A")
    git(outer, "commit", "-q", "-m", "base")
    base = git(outer, "rev-parse", "HEAD")
    git(outer, "checkout", "-q", "-b", "feature")
    (sub / "prompts").mkdir()
    (sub / "prompts/p.md").write_text("prompt\n")
    (outer / "prompts/unrelated.md").write_text("changed outside\n")
    git(outer, "add", "-A")
    git(outer, "commit", "-q", "-m", "prompt")
    head = git(outer, "rev-parse", "HEAD")
    snap = snapshot_for(sub, base, head, [{"login": "rita"}, {"login": "adam"}])
    # GitHub would list paths from the repository root; here the governed root is the subfolder
    snap["files"] = [{"filename": "prompts/p.md", "status": "added"}]
    snap["pull_request"]["changed_files"] = 1
    code, data = evaluate_json(capsys, sub, snap, tmp_path)
    assert data["problems"] == []
    assert (code, data["status"]) == (0, "approved")
    assert data["governed_files"] == ["prompts/p.md"]


def test_missing_policy_at_base_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("hello\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    base, head = commit_branch(repo, {"README.md": "changed\n"})
    code, data = evaluate_json(capsys, repo, snapshot_for(repo, base, head, []), tmp_path)
    assert (code, data["status"]) == (2, "error")
    assert data["problems"][0]["message"].startswith("no policy on the base commit")


def test_roster_membership_replaces_the_snapshots_teams(
    example_repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = (example_repo / ".promotion/policy.yaml").read_text()
    (example_repo / ".promotion/policy.yaml").write_text(
        policy.replace("membership:\n  source: github", "membership:\n  source: roster")
    )
    (example_repo / ".promotion/roster.yaml").write_text(
        "version: 1\nteams:\n"
        "  example-org/routing-reviewers: [rita]\n"
        "  example-org/promotion-admins: [alex]\n"
        "  example-org/security-officers: [sam]\n"
        "  example-org/privacy-officers: [priya]\n"
    )
    git(example_repo, "commit", "-q", "-am", "roster")
    git(example_repo, "add", "-A")
    git(example_repo, "commit", "-q", "-m", "roster file")
    base, head = commit_branch(example_repo, {"prompts/classify_prompt.md": "Classify.\n"})
    # the snapshot says adam is an admin; the roster on the base branch says alex
    snap = snapshot_for(example_repo, base, head, [{"login": "rita"}, {"login": "adam"}])
    code, data = evaluate_json(capsys, example_repo, snap, tmp_path)
    assert (code, data["status"]) == (1, "pending")
    assert data["membership_source"] == ".promotion/roster.yaml"
    snap = snapshot_for(example_repo, base, head, [{"login": "rita"}, {"login": "alex"}])
    code, data = evaluate_json(capsys, example_repo, snap, tmp_path)
    assert (code, data["status"]) == (0, "approved")


@pytest.mark.parametrize(("second_edit", "status"), [
    ("README.md", "approved"),  # nothing governed changed since the approval
    ("prompts/classify_prompt.md", "pending"),  # a governed file changed: stale
])
def test_approvals_on_earlier_commits_when_the_policy_allows_them(
    example_repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    second_edit: str, status: str,
) -> None:
    policy = (example_repo / ".promotion/policy.yaml").read_text()
    (example_repo / ".promotion/policy.yaml").write_text(policy.replace(
        "allow_approvals_on_earlier_commits: false", "allow_approvals_on_earlier_commits: true"
    ))
    git(example_repo, "commit", "-q", "-am", "allow earlier approvals")
    base, first = commit_branch(example_repo, {"prompts/classify_prompt.md": "Classify.\n"})
    (example_repo / second_edit).write_text("second edit\n")
    git(example_repo, "add", "-A")
    git(example_repo, "commit", "-q", "-m", "second")
    head = git(example_repo, "rev-parse", "HEAD")
    snap = snapshot_for(example_repo, base, head, [{"login": "rita"}, {"login": "adam"}])
    snap["reviews"][1]["commit_id"] = first
    code, data = evaluate_json(capsys, example_repo, snap, tmp_path)
    assert data["status"] == status
    assert code == (0 if status == "approved" else 1)
    if status == "approved":
        assert data["roles"][1]["approvals"][0]["note"] == (
            f"given on {first[:7]}; no governed file changed from there to the head"
        )


# --- keys governed as a change type, inside a file -------------------------------------------

APP = "configs/app.yaml"
APP_BASE = "auth:\n  session_minutes: '30'\nclassification:\n  llm:\n    model: qwen2.5:7b-1.2.3\n"


def snapshot_of(repo: Path, base: str, head: str, files: list[str]) -> dict[str, Any]:
    return {
        "snapshot_version": 1,
        "repository": "example-org/intake-routing",
        "pull_request": {
            "number": 7, "title": "Config", "state": "open",
            "user": {"login": "erin", "id": 1, "type": "User"},
            "head": {"ref": "config", "sha": head},
            "base": {"ref": "main", "sha": base},
            "changed_files": len(files),
        },
        "files": [{"filename": name, "status": "modified"} for name in files],
        "reviews": [],
        "teams": {},
    }


@pytest.mark.parametrize(
    ("edit", "roles"),
    [
        (("'30'", "'60'"), []),  # auth only: not a model change
        (("qwen2.5:7b-1.2.3", "qwen2.5:7b-1.3.0"), ["reviewer", "administrator"]),
    ],
    ids=["other-keys", "governed-key"],
)
def test_a_governed_key_inside_a_config_requires_its_change_types_roles(
    example_repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    edit: tuple[str, str], roles: list[str],
) -> None:
    policy = example_repo / ".promotion/policy.yaml"
    policy.write_text(policy.read_text().replace(
        '    paths: ["configs/models/**"]\n',
        '    paths: ["configs/models/**"]\n'
        '    keys:\n      - files: ["configs/app.yaml"]\n        keys: [classification.llm]\n',
    ))
    (example_repo / APP).write_text(APP_BASE)
    git(example_repo, "add", "-A")
    git(example_repo, "commit", "-qm", "govern the model keys of the app config")
    base = git(example_repo, "rev-parse", "HEAD")
    (example_repo / APP).write_text(APP_BASE.replace(*edit))
    git(example_repo, "commit", "-qam", "edit the app config")
    head = git(example_repo, "rev-parse", "HEAD")
    path = tmp_path / "pr.json"
    path.write_text(json.dumps(snapshot_of(example_repo, base, head, [APP])))
    _code, out, _err = run(capsys, "--repo", str(example_repo), "--snapshot", str(path),
                           "--format", "json")
    decision = json.loads(out)
    assert [role["role"] for role in decision["roles"]] == roles
    if roles:
        reasons = [reason["message"] for reason in decision["roles"][0]["reasons"]]
        assert reasons == [
            'configs/app.yaml: classification.llm changed from {"model": "qwen2.5:7b-1.2.3"} to '
            '{"model": "qwen2.5:7b-1.3.0"} (a governed model key)'
        ]
