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
    history_of,
    promotion_tag_refs,
    read_history,
    read_ledger_refs,
    read_tags,
    read_tags_and_files,
    write_tag,
)
from promotion_bot.core.errors import GitError
from promotion_bot.core.history import TreeReplay
from tests.conftest import git as sh
from tests.gitrepo import built_once


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """main: a root commit, a commit, and a merge of `feature` (a rename and a new folder)
    (built once per worker, then copied)."""
    root = tmp_path / "r"
    built_once("test_ledger.repo", root, _build_repo)
    return GitRepo.at(root)


def _build_repo(root: Path) -> None:
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


@pytest.mark.parametrize(
    ("rev", "refs", "expected"),
    [
        ("main", {}, "main"),
        ("refs/heads/main", {}, "main"),
        ("origin/main", {"refs/remotes/origin/main": "main~1"}, "main~1"),
        ("refs/remotes/origin/main", {"refs/remotes/origin/main": "v1"}, "main~1"),  # peeled
        ("main", {"refs/tags/main": "main~1"}, "'main' is ambiguous here"),
        ("origin/main", {"refs/remotes/origin/main": "main", "refs/heads/origin/main": "main"},
         "'origin/main' is ambiguous here"),
        ("trunk", {"refs/tags/trunk": "main"}, r"'trunk' is a tag \(refs/tags/trunk\)"),
        ("promotion/CR-2026-0002", {}, "'promotion/CR-2026-0002' is a tag"),
        ("nope", {}, "no branch 'nope'"),
        ("refs/heads/nope", {}, "no ref 'refs/heads/nope'"),
        ("origin/main", {"refs/remotes/origin/main": "main^{tree}"}, "is not a commit"),
        ("main*", {}, "no branch 'main\\*'"),  # a pattern for for-each-ref, never a branch
    ],
    ids=["branch", "full-name", "remote", "annotated-tag-target", "tag-and-branch",
         "local-and-remote", "tag", "promotion-tag", "missing", "missing-full-name", "tree",
         "glob"],
)
def test_the_branch_and_the_promotion_tags_come_from_one_listing(
    repo: GitRepo, git_processes: list[tuple[str, ...]], rev: str, refs: dict[str, str],
    expected: str,
) -> None:
    """A trusted branch is resolved as git.resolve_branch resolves it (a tag or a second branch
    that imitates it is refused), in the `for-each-ref` that lists the promotion tags."""
    tip = git.rev_parse(repo.root, "main")
    write_tag(repo, "promotion/CR-2026-0002", tip, ENVELOPE)
    sh(repo.root, "tag", "-a", "-m", "a release", "v1", "main~1")
    for ref, target in refs.items():
        sh(repo.root, "update-ref", ref, sh(repo.root, "rev-parse", target))
    tag_refs = promotion_tag_refs(repo)
    git_processes.clear()
    if expected in ("main", "main~1"):
        commit, listed = read_ledger_refs(repo, rev)
        assert commit == git.rev_parse(repo.root, expected)
        assert listed == tag_refs
        assert [args[0] for args in git_processes][:1] == ["for-each-ref"]
        assert "for-each-ref" not in [args[0] for args in git_processes][1:]
        return
    with pytest.raises(GitError, match=expected):
        read_ledger_refs(repo, rev)
    with pytest.raises(GitError, match=expected):
        git.resolve_branch(repo.root, rev)  # the same refusal, asked on its own


def test_head_is_left_to_the_history_s_own_log(
    repo: GitRepo, git_processes: list[tuple[str, ...]]
) -> None:
    commit, _tags = read_ledger_refs(repo, "HEAD")
    assert commit == "HEAD"
    history = history_of(repo, commit)
    assert [args[0] for args in git_processes] == ["for-each-ref", "log"]
    assert history == read_history(repo, git.rev_parse(repo.root, "HEAD"))


@pytest.mark.parametrize("head", ["unborn", "tree", "tag-of-a-tree"])
def test_a_head_that_names_no_commit_is_refused_as_before(repo: GitRepo, head: str) -> None:
    """`git log` of a tree prints nothing and succeeds: an empty history is refused as
    git.rev_parse refuses such a HEAD, never judged."""
    tree = sh(repo.root, "rev-parse", "HEAD^{tree}")
    if head == "tag-of-a-tree":
        sh(repo.root, "tag", "-a", "-m", "a tree", "tree-tag", tree)
        tree = sh(repo.root, "rev-parse", "tree-tag")
    (repo.root / ".git" / "HEAD").write_text("ref: refs/heads/unborn\n" if head == "unborn"
                                             else f"{tree}\n")
    for read in (lambda: read_history(repo, "HEAD"), lambda: history_of(repo, "HEAD")):
        with pytest.raises(GitError, match="'HEAD' is not a commit"):
            read()


def test_the_tag_objects_and_the_files_come_from_one_batch(
    repo: GitRepo, git_processes: list[tuple[str, ...]]
) -> None:
    """What read_tags and HistoryTree.prepare read with a cat-file each, in one: a tag ref
    naming a blob the files also want stays a lightweight tag, and the blob a file."""
    tip = git.rev_parse(repo.root, "main")
    write_tag(repo, "promotion/CR-2026-0002", tip, ENVELOPE)
    sh(repo.root, "tag", "promotion/CR-2026-0003", tip)
    sh(repo.root, "tag", "promotion/CR-2026-0004", sh(repo.root, "rev-parse", "main:c.txt"))
    history = read_history(repo, "main")
    wanted = {tip: {"c.txt", "dir/b.txt", "a.txt"}}
    separately = HistoryTree(repo, history)
    separately.prepare(wanted)
    expected_tags = read_tags(repo)
    refs = promotion_tag_refs(repo)
    git_processes.clear()
    tree = HistoryTree(repo, history)
    assert read_tags_and_files(repo, refs, tree, wanted) == expected_tags
    assert [args[0] for args in git_processes] == ["cat-file"]
    for path in wanted[tip]:
        assert tree.read(tip, path) == separately.read(tip, path)
    assert tree.read(tip, "c.txt") == b"one\n" and tree.read(tip, "a.txt") is None
    assert [args[0] for args in git_processes] == ["cat-file"] and tree.batches == 1
    assert [(t.name, t.annotated, t.target_type) for t in expected_tags] == [
        ("promotion/CR-2026-0002", True, "commit"),
        ("promotion/CR-2026-0003", False, "commit"),
        ("promotion/CR-2026-0004", False, "blob"),
    ]


@pytest.mark.parametrize("head", ["annotated-tag-of-the-tip", "branch-named-HEAD", "tag-named-HEAD"])
def test_head_is_the_commit_git_reads_as_head(repo: GitRepo, head: str) -> None:
    """HEAD left to `git log` is what rev-parse HEAD^{commit} names: an annotated tag of a
    commit is peeled, and a branch or a tag called HEAD (which anyone who pushes refs can
    make) never stands in for it."""
    tip = git.rev_parse(repo.root, "main")
    if head == "annotated-tag-of-the-tip":
        sh(repo.root, "tag", "-a", "-m", "the tip", "tip-tag", tip)
        (repo.root / ".git" / "HEAD").write_text(sh(repo.root, "rev-parse", "tip-tag") + "\n")
    else:
        space = "heads" if head == "branch-named-HEAD" else "tags"
        sh(repo.root, "update-ref", f"refs/{space}/HEAD", sh(repo.root, "rev-parse", "main~1"))
    commit, _tags = read_ledger_refs(repo, "HEAD")
    assert history_of(repo, commit) == read_history(repo, tip)
    assert history_of(repo, commit).commits[-1].sha == tip


def _odd_entry(repo: GitRepo, entry: str) -> str:
    """A commit on main whose `odd` path is an entry the batch answers oddly; its id."""
    if entry == "missing-blob":
        oid = subprocess.run(["git", "-C", str(repo.root), "hash-object", "-w", "--stdin"],
                             input=b"gone\n", capture_output=True, check=True).stdout.decode().strip()
        mode = "100644"
    elif entry == "tag-object-as-blob":
        oid, mode = sh(repo.root, "rev-parse", "refs/tags/promotion/CR-2026-0002"), "100644"
    elif entry == "submodule":
        oid, mode = sh(repo.root, "rev-parse", "main~1"), "160000"
    else:  # a submodule whose commit is not in this clone
        oid, mode = "1" * 40, "160000"
    sh(repo.root, "update-index", "--add", "--cacheinfo", f"{mode},{oid},odd")
    sh(repo.root, "commit", "-qm", f"odd: {entry}")
    if entry == "missing-blob":
        (repo.root / ".git" / "objects" / oid[:2] / oid[2:]).unlink()
    return git.rev_parse(repo.root, "main")


@pytest.mark.parametrize(
    "entry", ["missing-blob", "tag-object-as-blob", "submodule", "missing-submodule"]
)
def test_an_odd_answer_in_the_shared_batch_is_no_file_and_changes_no_tag(
    repo: GitRepo, entry: str
) -> None:
    """One cat-file reads the promotion tags' objects and the files: an entry answered as
    missing, or with an object that is not a blob (a tag object under a blob's mode), reads as
    no file, as HistoryTree reads it alone, and a submodule is not asked for; the tags and
    the other files are what they are read apart."""
    write_tag(repo, "promotion/CR-2026-0002", git.rev_parse(repo.root, "main"), ENVELOPE)
    tip = _odd_entry(repo, entry)
    history = read_history(repo, "main")
    wanted = {tip: {"odd", "c.txt"}}
    apart = HistoryTree(repo, history)
    apart.prepare(wanted)
    tree = HistoryTree(repo, history)
    assert read_tags_and_files(repo, promotion_tag_refs(repo), tree, wanted) == read_tags(repo)
    assert tree.read(tip, "odd") is None and apart.read(tip, "odd") is None
    assert tree.read(tip, "c.txt") == apart.read(tip, "c.txt") == b"one\n"
    blob = tree.blob_id(tip, "odd")
    if entry.endswith("submodule"):
        assert blob is None  # a submodule has no blob id to ask for
    else:
        assert blob is not None and tree.sha256(blob) is None


@pytest.mark.parametrize("change", ["moved", "deleted", "object-gone"])
def test_a_tag_that_changes_after_the_listing_is_read_as_it_was_listed(
    repo: GitRepo, change: str
) -> None:
    """The tag objects are read by the ids the listing gave: a tag moved or deleted meanwhile
    (a push racing the read) is read as listed, and an object gone meanwhile is an unreadable
    record, never a valid one."""
    tip = git.rev_parse(repo.root, "main")
    write_tag(repo, "promotion/CR-2026-0002", tip, ENVELOPE)
    listed = read_tags(repo)
    refs = promotion_tag_refs(repo)
    [ref] = refs
    if change == "moved":
        sh(repo.root, "tag", "-f", "-a", "-m", OTHER, "promotion/CR-2026-0002", "main~1")
    elif change == "deleted":
        sh(repo.root, "tag", "-d", "promotion/CR-2026-0002")
    else:
        (repo.root / ".git" / "objects" / ref.object_id[:2] / ref.object_id[2:]).unlink()
    history = read_history(repo, "main")
    [record] = read_tags_and_files(repo, refs, HistoryTree(repo, history), {})
    if change == "object-gone":
        assert (record.annotated, record.target, record.message) == (True, None, b"")
    else:
        assert [record] == listed and record.target == tip
