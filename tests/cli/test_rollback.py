"""`promotion-bot rollback` end to end: real git (a clone with a bare origin), the loopback
GitHub serving that origin, the real PyGithub client; and the full loop through the gate,
check, record, audit and status."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from promotion_bot.cli.main import main
from tests.github_server import FakeGitHub
from tests.ledger_repo import RULESET_CHECKS, TEAMS, GovernedHistory, Merge

REPO = "example-org/intake-routing"
RULES = "configs/routing_tables/routing_rules_v{}.json"


@dataclass
class World:
    history: GovernedHistory
    origin: Path
    fake: FakeGitHub | None
    capsys: pytest.CaptureFixture[str]

    @property
    def root(self) -> Path:
        return self.history.root

    def run(self, *args: str) -> tuple[int, str]:
        code = main(list(args))
        out = self.capsys.readouterr()
        return code, out.out + out.err

    def rollback(self, *args: str) -> tuple[int, str]:
        online: list[str] = []
        if self.fake is not None:
            online = ["--repository", REPO, "--api-url", self.fake.base_url, "--timeout", "2",
                      "--request-pace", "0"]
        return self.run("rollback", *args, "--repo", str(self.root), *online)

    def promote(self, change_id: str, version: str, current: str | None) -> Merge:
        """A ruleset promotion as a pull request would merge it: the new rules file, the pack
        manifest regenerated (so pack-verify passes), the change request."""
        return self.promote_files(change_id, "ruleset", "routing-rules", version, current,
                                  {RULES.format(version): json.dumps({"version": version}) + "\n"})

    def promote_files(self, change_id: str, change_type: str, target: str, version: str,
                      current: str | None, files: dict[str, str], extra: str = "") -> Merge:
        history = self.history
        base = history.rev("main")
        history.git("checkout", "-q", "-b", f"promote/{change_id}", "main")
        artifacts = [f"  - path: {path}\n    sha256: {history.write(path, text)}"
                     for path, text in files.items()]
        subprocess.run(["bash", "scripts/update_pack.sh"], cwd=self.root, check=True,
                       capture_output=True)
        history.write(
            f"change-requests/{change_id}.yaml",
            f"change_id: {change_id}\nchange_type: {change_type}\ntarget: {target}\n"
            f"title: {target} {version}\nproposed_version: \"{version}\"\n"
            f"current_version: \"{current}\"\nartifacts:\n" + "\n".join(artifacts) + "\n"
            f"rollback_plan: Revert; {current} stays on disk.\n{extra}")
        history.git("add", "-A")
        history.git("commit", "-q", "-m", f"Promote {target} {version}")
        head = history.rev("HEAD")
        history.git("checkout", "-q", "main")
        history.number += 1
        history.git("merge", "-q", "--no-ff", f"promote/{change_id}",
                    "-m", f"Merge pull request #{history.number}")
        merge = Merge(change_id, history.rev("HEAD"), head, base, history.number)
        history.merges.append(merge)
        history.write_snapshot(merge, ("rita", "adam"), title=f"{target} {version}")
        history.write_evidence(merge, RULESET_CHECKS, passed=True)
        return merge

    def record(self) -> None:
        code, out = self.run(*self.history.record_args())
        assert code == 0, out
        self.publish()

    def publish(self) -> None:
        """Push main and the records to origin, as the merges and the recorder would."""
        self.history.git("push", "-q", "origin", "main", "--tags")
        self.history.git("fetch", "-q", "origin")

    def origin_branches(self) -> list[str]:
        return self.history.git("--git-dir", str(self.origin), "branch", "--format=%(refname:short)").split()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> Iterator[World]:
    """main: the first promotions through pull request #100, then routing-rules 1.1.0
    (CR-2026-0005, #101) and 1.2.0 (CR-2026-0006, #102), all recorded; origin is a bare
    repository the loopback GitHub serves. (The repositories are made and recorded once per
    worker, then copied.)"""
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")

    def build(base: Path) -> GovernedHistory:
        history = GovernedHistory.create(base, adopt=True)
        bare = base / "origin.git"
        history.git("init", "-q", "--bare", str(bare))
        history.git("remote", "add", "origin", str(bare))
        offline = World(history, bare, None, capsys)
        offline.promote("CR-2026-0005", "1.1.0", "1.0.0")
        offline.promote("CR-2026-0006", "1.2.0", "1.1.0")
        offline.record()
        return history

    history = GovernedHistory.built_once("test_rollback.world", tmp_path, build,
                                         beside=("origin.git",))
    origin = tmp_path / "origin.git"
    with FakeGitHub() as fake:
        fake.add_repo(REPO, git_dir=origin)
        for team, members in TEAMS.items():
            org, slug = team.split("/")
            fake.add_team(org, slug, {login: "active" for login in members})
        yield World(history, origin, fake, capsys)
        assert fake.server_errors == []


def branch_file(world: World, branch: str, path: str) -> str:
    return world.history.git("show", f"{branch}:{path}")


def posts(fake: FakeGitHub) -> int:
    return sum(1 for r in fake.requests if r.method == "POST" and r.path.endswith("/pulls"))


def test_rolls_back_the_newest_promotion(world: World) -> None:
    before = world.history.git("rev-parse", "HEAD")
    code, out = world.rollback("CR-2026-0006")
    assert code == 0, out
    six = world.history.merges[-1]
    lines = out.splitlines()
    assert lines[0] == ("rollback of CR-2026-0006: routing-rules 1.2.0 -> 1.1.0 "
                        "(what CR-2026-0005 promoted)")
    assert lines[1].startswith("  revert   CR-2026-0006 (routing-rules 1.1.0 -> 1.2.0, merged ")
    assert lines[1].endswith(f"in {six.sha[:12]}): pull request #102, "
                             "record promotion/CR-2026-0006 (recorded)")
    assert "routing_rules_v1.2.0.json" in lines[3] and lines[3].endswith("removed")
    assert "routing_rules_v1.1.0.json" in lines[2] and lines[2].endswith("unchanged")
    assert "  also     pack/SHA256SUMS" in lines
    assert "  change   change-requests/CR-2026-0007.yaml (rollback_of: CR-2026-0006)" in lines
    assert "pushed     rollback/CR-2026-0006 to origin" in lines
    assert lines[-2].startswith("opened     pull request #1: https://github.com/")

    assert world.fake is not None
    [pull] = world.fake.created_pulls
    assert (pull["head"], pull["base"]) == ("rollback/CR-2026-0006", "main")
    assert pull["title"] == "Rollback CR-2026-0006: routing-rules 1.2.0 -> 1.1.0 (CR-2026-0007)"
    body = pull["body"]
    assert body.startswith("<!-- promotion-bot:rollback-of=CR-2026-0006 -->\n")
    assert "[#102](https://github.com/example-org/intake-routing/pull/102)" in body
    assert ("[`promotion/CR-2026-0006`](https://github.com/example-org/intake-routing/releases/"
            "tag/promotion/CR-2026-0006)") in body
    assert "| `configs/routing_tables/routing_rules_v1.2.0.json` |" in body and "removed" in body

    assert world.origin_branches() == ["main", "rollback/CR-2026-0006"]
    cr = branch_file(world, "rollback/CR-2026-0006", "change-requests/CR-2026-0007.yaml")
    assert 'proposed_version: "1.1.0"\ncurrent_version: "1.2.0"\n' in cr
    assert "rollback_of: CR-2026-0006" in cr
    tree = world.history.git("ls-tree", "-r", "--name-only", "rollback/CR-2026-0006")
    assert RULES.format("1.2.0") not in tree and RULES.format("1.1.0") in tree
    assert "change-requests/CR-2026-0006.yaml" in tree  # merged change requests stay
    # the user's checkout is untouched, and no temporary work tree is left behind
    assert world.history.git("rev-parse", "HEAD") == before
    assert world.history.git("status", "--porcelain") == ""
    assert len(world.history.git("worktree", "list").splitlines()) == 1


def test_the_rollback_change_request_passes_validate_and_check(world: World) -> None:
    assert world.rollback("CR-2026-0006", "--no-push")[0] == 0
    world.history.git("checkout", "-q", "rollback/CR-2026-0006")
    code, out = world.run("validate", "--repo", str(world.root),
                          "change-requests/CR-2026-0007.yaml")
    assert (code, out.strip()) == (0, "valid: 1 change request")
    code, out = world.run("check", "--repo", str(world.root), "--base", "main",
                          "--output-dir", str(world.history.root.parent / "checks"))
    assert code == 0, out
    assert "CR-2026-0007  ruleset routing-rules 1.2.0 -> 1.1.0 (rollback of CR-2026-0006)" in out
    assert "PASSED   pack-verify" in out.replace("passed", "PASSED")


def test_refuses_an_older_promotion_that_later_ones_built_on_unless_to(world: World) -> None:
    code, out = world.rollback("CR-2026-0005")
    assert code == 1
    assert out.splitlines() == [
        "refused: rolling back CR-2026-0005 would silently undo later promotions of "
        f"routing-rules: CR-2026-0006 (routing-rules 1.1.0 -> 1.2.0, merged 2026-03-03 in "
        f"{world.history.merges[-1].sha[:12]})",
        "  to return to 1.0.0 and revert these 2 promotions explicitly: promotion-bot rollback "
        "CR-2026-0005 --to CR-2026-0001; to roll back the newest only: promotion-bot rollback "
        "CR-2026-0006",
    ]
    assert world.fake is not None and world.fake.created_pulls == []
    assert "rollback/" not in world.history.git("branch", "--list")

    code, out = world.rollback("CR-2026-0005", "--to", "CR-2026-0001")
    assert code == 0, out
    assert out.splitlines()[0] == ("rollback of CR-2026-0005: routing-rules 1.2.0 -> 1.0.0 "
                                   "(what CR-2026-0001 promoted)")
    assert [line.split()[1] for line in out.splitlines() if line.startswith("  revert")] == [
        "CR-2026-0006", "CR-2026-0005"]
    cr = branch_file(world, "rollback/CR-2026-0005", "change-requests/CR-2026-0007.yaml")
    assert 'proposed_version: "1.0.0"\ncurrent_version: "1.2.0"\n' in cr
    assert "rollback_of: CR-2026-0005" in cr  # the oldest undone: it replaced 1.0.0
    world.history.git("checkout", "-q", "rollback/CR-2026-0005")
    code, out = world.run("check", "--repo", str(world.root), "--base", "main",
                          "--output-dir", str(world.history.root.parent / "checks"))
    assert code == 0, out


@pytest.mark.parametrize("args, message", [
    (["CR-2026-0099"], "refused: CR-2026-0099 is unknown: no change request of that id is "
                       "merged on main"),
    (["CR-2026-0002"], "refused: CR-2026-0002 is the first promotion of classifier; there is "
                       "no earlier promoted version to restore"),
    (["CR-2026-0006", "--to", "CR-2026-0002"], "refused: --to CR-2026-0002 promoted classifier, "
                                               "but CR-2026-0006 promoted routing-rules"),
])
def test_refusals_say_why(world: World, args: list[str], message: str) -> None:
    code, out = world.rollback(*args)
    assert code == 1
    assert out.splitlines()[0] == message


def test_a_change_request_that_was_never_merged_is_never_promoted(world: World) -> None:
    world.history.write("change-requests/CR-2026-0009.yaml", "change_id: CR-2026-0009\n")
    code, out = world.rollback("CR-2026-0009")
    assert code == 1
    assert out.splitlines()[0] == ("refused: CR-2026-0009 was never promoted: it is not merged "
                                   "on main")


def test_already_rolled_back(world: World) -> None:
    assert world.rollback("CR-2026-0006")[0] == 0
    merge_rollback(world, "CR-2026-0006", "CR-2026-0007", number=1)
    code, out = world.rollback("CR-2026-0006")
    assert code == 1
    assert out.splitlines()[0].startswith(
        "refused: CR-2026-0006 was already rolled back by CR-2026-0007 (routing-rules 1.2.0 -> "
        "1.1.0, merged ")


def test_a_conflicting_revert_is_refused_and_nothing_is_left(world: World) -> None:
    """A later promotion of another target regenerated the pack manifest next to the line
    CR-2026-0006 added: the revert conflicts there."""
    world.promote_files(
        "CR-2026-0008", "prompt", "classify-prompt", "1.1.0", "1.0.0",
        {"prompts/classify_prompt.md": "<!-- prompt: classify, version 1.1.0 -->\nClassify.\n"},
        extra="prompts:\n  - path: prompts/classify_prompt.md\n    version: \"1.1.0\"\n"
              "    sha256: 0000000000000000000000000000000000000000000000000000000000000000\n")
    world.publish()
    code, out = world.rollback("CR-2026-0006")
    assert code == 1
    assert out.splitlines()[0] == (
        f"refused: reverting CR-2026-0006 (commit {world.history.merges[-2].sha[:12]}) conflicts "
        "with what routing-rules's base has merged since, in: pack/SHA256SUMS; nothing was "
        "committed, pushed or opened")
    assert "git revert -m 1 " in out
    assert world.history.git("branch", "--list", "rollback/*") == ""
    assert world.origin_branches() == ["main"]
    assert world.fake is not None and world.fake.created_pulls == []
    assert len(world.history.git("worktree", "list").splitlines()) == 1
    assert world.history.git("status", "--porcelain") == ""


def test_a_duplicate_request_finds_the_open_pull_request(world: World) -> None:
    assert world.rollback("CR-2026-0006")[0] == 0
    code, out = world.rollback("CR-2026-0006")
    assert code == 0, out
    assert out.splitlines()[0].startswith(
        "found the open rollback pull request #1 for CR-2026-0006: https://github.com/")
    assert world.fake is not None and len(world.fake.created_pulls) == 1
    assert posts(world.fake) == 1
    # another way to ask for the same rollback (another branch) finds it by its marker
    world.history.git("branch", "-m", "rollback/CR-2026-0006", "elsewhere")
    world.fake.update_pull(REPO, 1, head_ref="someone-else/rollback")
    code, out = world.rollback("CR-2026-0006")
    assert code == 0 and "found the open rollback pull request #1" in out


def test_a_post_that_failed_after_opening_is_not_repeated(world: World) -> None:
    assert world.fake is not None
    world.fake.inject("POST", rf"/repos/{REPO}/pulls", status=502, then_process=True)
    code, out = world.rollback("CR-2026-0006")
    assert code == 0, out
    assert len(world.fake.created_pulls) == 1
    assert "opened     pull request #1:" in out


def test_dry_run_works_offline_and_creates_the_branch_locally(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    fake, world.fake = world.fake, None
    monkeypatch.delenv("GITHUB_TOKEN")
    code, out = world.rollback("CR-2026-0006", "--dry-run")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == ("rollback of CR-2026-0006: routing-rules 1.2.0 -> 1.1.0 "
                        "(what CR-2026-0005 promoted)")
    assert lines[-2] == ("dry run: nothing pushed, no pull request opened (title: Rollback "
                         "CR-2026-0006: routing-rules 1.2.0 -> 1.1.0 (CR-2026-0007))")
    assert world.history.git("branch", "--list", "rollback/*").strip() == "rollback/CR-2026-0006"
    assert world.origin_branches() == ["main"]
    assert fake is not None and fake.requests == []
    dry = world.history.rev("rollback/CR-2026-0006")
    # the real run afterwards keeps the branch (same content) and opens the pull request
    world.fake = fake
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    code, out = world.rollback("CR-2026-0006")
    assert code == 0, out
    assert f"branch     rollback/CR-2026-0006 at {dry[:12]} (kept: same content)" in out
    assert len(fake.created_pulls) == 1


def test_json_output(world: World) -> None:
    code, out = world.rollback("CR-2026-0006", "--no-push", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["rollback_of"] == "CR-2026-0006"
    assert (data["version_now"], data["restore_version"]) == ("1.2.0", "1.1.0")
    assert data["change_request"] == {"path": "change-requests/CR-2026-0007.yaml",
                                      "change_id": "CR-2026-0007"}
    assert data["pull_request"] is None and data["pushed_to"] is None
    code, out = world.rollback("CR-2026-0005", "--format", "json")
    assert code == 1 and json.loads(out)["code"] == "LATER_PROMOTIONS"


def test_bad_input_is_a_usage_error_without_a_traceback(world: World) -> None:
    code, out = world.rollback("main")
    assert code == 2
    assert out.strip() == ("promotion-bot: CHANGE_ID 'main': write a change id such as "
                           "CR-2026-0042")
    code, out = world.run("rollback", "CR-2026-0006", "--repo", str(world.root), "--no-push",
                          "--base", "nope")
    assert code == 2 and "'nope' is not a commit" in out


def test_a_tag_imitating_the_base_is_refused(world: World) -> None:
    """A tag named like the base branch would be taken for it by git (tags come first)."""
    world.history.git("tag", "main", "HEAD~1")
    code, out = world.run("rollback", "CR-2026-0006", "--repo", str(world.root), "--no-push",
                          "--base", "main")
    assert code == 2 and "'main' is ambiguous here" in out


def test_a_shallow_clone_is_refused(world: World, tmp_path: Path) -> None:
    """The promotions before CHANGE_ID are in the history a shallow clone lacks."""
    shallow = tmp_path / "shallow"
    world.history.git("clone", "-q", "--depth", "1", f"file://{world.origin}", str(shallow))
    code, out = world.run("rollback", "CR-2026-0006", "--repo", str(shallow), "--dry-run")
    assert code == 2 and "this clone is shallow" in out


def test_the_base_and_its_history_are_read_with_a_handful_of_git_processes(
    world: World, git_processes: list[tuple[str, ...]]
) -> None:
    """origin/main found with one listing, its commit and the clone's shallowness with one
    rev-parse, its policy, then the ledger of that commit (not resolved again)."""
    code, out = world.run("rollback", "CR-2026-0006", "--repo", str(world.root), "--dry-run")
    assert code == 0, out
    assert [args[0] for args in git_processes][:9] == [
        "rev-parse",  # the repository's top level
        "for-each-ref", "rev-parse", "cat-file",  # the base, its commit, its policy
        "for-each-ref", "log", "cat-file", "cat-file",  # its ledger
        "ls-tree",  # its change requests
    ]


def merge_rollback(world: World, change_id: str, new_id: str, number: int) -> Merge:
    """Merge the rollback pull request as GitHub would (a merge commit on main)."""
    history = world.history
    branch = f"rollback/{change_id}"
    base, head = history.rev("main"), history.rev(branch)
    history.git("merge", "-q", "--no-ff", branch, "-m", f"Merge pull request #{number}")
    merge = Merge(new_id, history.rev("HEAD"), head, base, number)
    history.merges.append(merge)
    world.publish()
    return merge


def test_the_full_loop(world: World) -> None:
    """Rollback pull request -> gate (the rollback rule) -> checks -> merged -> recorded ->
    the audit shows the pair, status shows the old version again."""
    fake = world.fake
    assert fake is not None
    assert world.rollback("CR-2026-0006")[0] == 0
    gate = ["gate", "--pr", "1", "--repository", REPO, "--api-url", fake.base_url,
            "--timeout", "2", "--request-pace", "0"]
    code, out = world.run(*gate)
    assert code == 0, out
    assert "rolls back CR-2026-0006 (rollback rule)" in out
    statuses = [s for s in fake.statuses if s["context"] == "promotion/approvals"]
    assert statuses[-1]["state"] == "pending"

    head = world.history.rev("rollback/CR-2026-0006")
    for login in ("rita", "adam"):
        fake.add_review(REPO, 1, user=login, state="APPROVED", commit_id=head)
    code, out = world.run(*gate)
    assert code == 0, out
    statuses = [s for s in fake.statuses if s["context"] == "promotion/approvals"]
    assert (statuses[-1]["sha"], statuses[-1]["state"]) == (head, "success")

    evidence = world.history.evidence / "pr-1.json"
    code, out = world.run("check", "--repo", str(world.root), "--base", "origin/main",
                          "--head", "rollback/CR-2026-0006", "--output", str(evidence),
                          "--output-dir", str(world.history.root.parent / "checks"))
    assert code == 0, out

    merge = merge_rollback(world, "CR-2026-0006", "CR-2026-0007", number=1)
    fake.update_pull(REPO, 1, merged=True, merge_commit_sha=merge.sha, merged_by="adam")
    world.history.write_snapshot(merge, ("rita", "adam"), title="Rollback CR-2026-0006")
    code, out = world.run(*world.history.record_args())
    assert code == 0, out
    assert out.strip() == (f"created   promotion/CR-2026-0007 on {merge.sha[:12]}: approved: "
                           "rita (reviewer), adam (administrator)")

    code, out = world.run("audit", "--repo", str(world.root))
    assert code == 0, out
    [row] = [line for line in out.splitlines() if "CR-2026-0007" in line]
    assert "CR-2026-0007 (rollback of CR-2026-0006)" in row
    assert "routing-rules" in row and "1.2.0 -> 1.1.0" in row and row.rstrip().endswith("recorded")
    assert "1 rollback" in out.splitlines()[0]

    code, out = world.run("status", "--repo", str(world.root))
    assert code == 0
    [line] = [line for line in out.splitlines() if line.startswith("routing-rules")]
    assert line.split()[:4] == ["routing-rules", "ruleset", "1.1.0", "CR-2026-0007"]
    assert line.split()[-1] == "recorded"
    code, out = world.run("verify", "--repo", str(world.root), "--commit", "HEAD")
    assert code == 0, out
