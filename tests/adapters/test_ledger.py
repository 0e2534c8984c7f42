"""The ledger in git: tags read in one pass, written idempotently; history with blob ids."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from promotion_bot.adapters import git
from promotion_bot.adapters.ledger import (
    GitRepo,
    HistoryTree,
    LedgerConflict,
    read_history,
    read_tags,
    write_tag,
)
from promotion_bot.core.history import TreeReplay
from tests.conftest import git as sh


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    root = tmp_path / "r"
    root.mkdir()
    sh(root, "init", "-q", "-b", "main")
    (root / "a.txt").write_text("one\n")
    sh(root, "add", "-A")
    sh(root, "commit", "-qm", "one")
    sh(root, "checkout", "-qb", "feature")
    (root / "dir").mkdir()
    (root / "dir" / "b.txt").write_text("two\n")
    sh(root, "mv", "a.txt", "c.txt")
    sh(root, "add", "-A")
    sh(root, "commit", "-qm", "two")
    sh(root, "checkout", "-q", "main")
    (root / "z.txt").write_text("z\n")
    sh(root, "add", "-A")
    sh(root, "commit", "-qm", "z")
    sh(root, "merge", "-q", "--no-ff", "feature", "-m", "merge")
    return GitRepo.at(root)


ENVELOPE = '{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"k","sig":"AA=="}]}'
OTHER = '{"payload":"e30K","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"k","sig":"AA=="}]}'


def test_history_is_first_parent_with_diffs_against_the_first_parent(repo: GitRepo) -> None:
    history = read_history(repo, "main")
    assert len(history.commits) == 3  # the feature commit is not on main's first-parent line
    root, z, merge = history.commits
    assert [c.path for c in root.changes] == ["a.txt"]
    assert [c.path for c in z.changes] == ["z.txt"]
    assert sorted((c.status, c.path, c.old_path) for c in merge.changes) == [
        ("A", "dir/b.txt", None),
        ("R", "c.txt", "a.txt"),
    ]
    assert merge.is_merge and merge.first_parent == z.sha


def test_tree_replay_matches_git(repo: GitRepo) -> None:
    history = read_history(repo, "main")
    replay = TreeReplay(history)
    for commit in history.commits:
        replay.want_everything(commit.sha)
    replay.run()
    for commit in history.commits:
        expected = {p: f.blob for p, f in git.tree_files(repo.root, commit.sha).items()}
        assert dict(replay.everything(commit.sha)) == expected


def test_history_tree_reads_in_batches(repo: GitRepo) -> None:
    history = read_history(repo, "main")
    tree = HistoryTree(repo, history)
    tip = history.commits[-1].sha
    tree.prepare({tip: {"c.txt", "dir/b.txt", "a.txt"}})
    assert tree.batches == 1
    assert tree.read(tip, "c.txt") == b"one\n"
    assert tree.read(tip, "a.txt") is None
    assert tree.batches == 1 and tree.extra_reads == 0


def test_write_is_idempotent_and_never_overwrites(repo: GitRepo) -> None:
    tip = git.rev_parse(repo.root, "main")
    assert write_tag(repo, "promotion/CR-2026-0001", tip, ENVELOPE).outcome == "created"
    assert write_tag(repo, "promotion/CR-2026-0001", tip, ENVELOPE).outcome == "unchanged"
    with pytest.raises(LedgerConflict, match="already exists") as error:
        write_tag(repo, "promotion/CR-2026-0001", tip, OTHER)
    assert error.value.exit_code == 2
    parent = git.rev_parse(repo.root, "main~1")
    with pytest.raises(LedgerConflict):
        write_tag(repo, "promotion/CR-2026-0001", parent, ENVELOPE)


def test_read_tags_in_one_pass(repo: GitRepo) -> None:
    tip = git.rev_parse(repo.root, "main")
    write_tag(repo, "promotion/CR-2026-0002", tip, ENVELOPE)
    sh(repo.root, "tag", "promotion/CR-2026-0003", tip)  # lightweight
    sh(repo.root, "tag", "-a", "-m", "not ours", "v1.0", tip)  # outside the namespace
    tags = read_tags(repo)
    assert [(t.name, t.annotated, t.target) for t in tags] == [
        ("promotion/CR-2026-0002", True, tip),
        ("promotion/CR-2026-0003", False, tip),
    ]
    assert tags[0].message.strip().decode() == ENVELOPE
    assert tags[0].change_id == "CR-2026-0002"


def test_governed_root_below_the_top_level(tmp_path: Path) -> None:
    top = tmp_path / "mono"
    (top / "gov" / "x").mkdir(parents=True)
    sh_top = ["git", "-C", str(top)]
    subprocess.run([*sh_top, "init", "-q", "-b", "main"], check=True)
    (top / "gov" / "x" / "f.txt").write_text("f\n")
    (top / "outside.txt").write_text("o\n")
    subprocess.run([*sh_top, "add", "-A"], check=True)
    subprocess.run([*sh_top, "commit", "-qm", "c"], check=True)
    repo = GitRepo.at(top / "gov")
    assert repo.prefix == "gov/"
    [commit] = read_history(repo, "HEAD").commits
    assert [c.path for c in commit.changes] == ["x/f.txt"]
