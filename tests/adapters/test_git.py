"""The git adapter's batched reads against real git: what one call answers, and when it
declines (the caller then asks one question at a time, for git's own refusal)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from promotion_bot.adapters import git
from tests.gitrepo import GitRepo, built_once


@pytest.fixture
def two_commits(tmp_path: Path) -> GitRepo:
    """Two commits on main, the first tagged `first` (built once per worker, then copied)."""
    return built_repo("test_git.two_commits", tmp_path / "repo", _two_commits)


def built_repo(key: str, root: Path, build: Callable[[GitRepo], None]) -> GitRepo:
    """A GitRepo at `root` as `build` leaves it, with the clock it leaves (built_once)."""
    def made(target: Path) -> int:
        repo = GitRepo(target)
        target.mkdir()
        repo.git("init", "-q")
        build(repo)
        return repo.ticks

    repo = GitRepo(root)
    repo.ticks = built_once(key, root, made)
    return repo


def _two_commits(repo: GitRepo) -> None:
    repo.write("governed/a.txt", "a\n")
    repo.commit("first")
    repo.git("tag", "first")
    repo.write("governed/a.txt", "b\n")
    repo.commit("second")


@pytest.mark.parametrize(
    ("revs", "answered"),
    [
        (["main", "first"], ["main", "first"]),
        (["HEAD~1", "HEAD"], ["HEAD~1", "HEAD"]),
        (["HEAD"], ["HEAD"]),
        (["main..first"], None),  # a range is two revisions: not one commit
        (["main", "no-such-branch"], None),
        (["--all"], None),  # an option, not a revision
        (["-main"], None),
        ([""], None),
        (["first:governed/a.txt"], None),  # a blob, not a commit
    ],
    ids=["names", "relative", "one", "range", "unknown", "option", "dash", "empty", "blob"],
)
def test_one_rev_parse_answers_plain_revisions_and_declines_the_rest(
    two_commits: GitRepo, revs: list[str], answered: list[str] | None
) -> None:
    facts = git.revision_facts(two_commits.root, revs)
    if answered is None:
        assert facts is None
        return
    assert facts is not None
    assert facts.commits == tuple(git.rev_parse(two_commits.root, rev) for rev in answered)
    assert (facts.prefix, facts.shallow) == ("", False)


def test_the_prefix_is_the_folder_below_the_top_level(two_commits: GitRepo) -> None:
    facts = git.revision_facts(two_commits.root / "governed", ["HEAD"])
    assert facts is not None
    assert facts.prefix == git.prefix_in_toplevel(two_commits.root / "governed") == "governed/"


def test_a_shallow_clone_is_said(two_commits: GitRepo, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    two_commits.git("clone", "-q", "--depth", "1", f"file://{two_commits.root}", str(clone))
    facts = git.revision_facts(clone, ["HEAD"])
    assert facts is not None and facts.shallow


def test_a_detached_work_tree_is_removed_with_its_registration(two_commits: GitRepo,
                                                               tmp_path: Path) -> None:
    head = git.rev_parse(two_commits.root, "HEAD")
    with git.detached_worktree(two_commits.root, head, tmp_path / "tree") as tree:
        assert (tree / "governed" / "a.txt").read_text() == "b\n"
        (tree / "left-behind.log").write_text("a check's output\n")
    assert not (tmp_path / "tree").exists()
    assert len(two_commits.git("worktree", "list").splitlines()) == 1


def test_the_top_level_and_prefix_come_from_one_process_and_a_refusal_is_not_kept(
    two_commits: GitRepo, tmp_path: Path, git_processes: list[tuple[str, ...]]
) -> None:
    sub = two_commits.root / "governed"
    assert git.toplevel(sub) == two_commits.root.resolve()
    assert git.prefix_in_toplevel(sub) == "governed/"
    assert git.prefix_in_toplevel(two_commits.root) == ""
    assert git.toplevel(two_commits.root / "governed" / "a.txt") == two_commits.root.resolve()
    assert git_processes == [("rev-parse", "--show-toplevel", "--show-prefix")]

    later = tmp_path / "later"
    later.mkdir()
    with pytest.raises(git.GitError, match="not inside a git repository"):
        git.toplevel(later)
    GitRepo(later).git("init", "-q")  # a folder refused once is asked again
    assert git.toplevel(later) == later.resolve()
    with pytest.raises(git.GitError, match="cannot change to"):  # git's own words, as before
        git.prefix_in_toplevel(tmp_path / "missing")


def test_a_branch_resolves_with_one_process_and_what_is_not_a_commit_is_peeled_or_refused(
    two_commits: GitRepo, git_processes: list[tuple[str, ...]]
) -> None:
    root = two_commits.root
    head = two_commits.git("rev-parse", "HEAD")
    first = two_commits.git("rev-parse", "first")
    two_commits.git("tag", "-a", "-m", "annotated", "annotated", "first")
    # what a remote-tracking ref can be made to name (git keeps refs/heads to commits)
    for ref, rev in (("to-a-tag", "annotated"), ("to-a-tree", "HEAD^{tree}")):
        two_commits.git("update-ref", f"refs/remotes/origin/{ref}", two_commits.git("rev-parse", rev))
    assert git.resolve_branch(root, "main") == ("refs/heads/main", head)
    assert git.resolve_branch(root, "refs/heads/main") == ("refs/heads/main", head)
    assert [args[0] for args in git_processes] == ["for-each-ref", "for-each-ref"]  # no rev-parse
    assert git.resolve_branch(root, "origin/to-a-tag") == ("refs/remotes/origin/to-a-tag", first)
    with pytest.raises(git.GitError, match="is not a commit"):
        git.resolve_branch(root, "origin/to-a-tree")
    with pytest.raises(git.GitError, match="no ref 'refs/heads/missing'"):
        git.resolve_branch(root, "refs/heads/missing")
    with pytest.raises(git.GitError, match="is a tag"):
        git.resolve_branch(root, "annotated")


@pytest.fixture
def criss_cross(tmp_path: Path) -> GitRepo:
    """main (the root commit); `a` and `b` each merge the other's first commit, so they have
    two merge bases; `lonely` shares no history with them (built once per worker)."""
    return built_repo("test_git.criss_cross", tmp_path / "criss-cross", _criss_cross)


def _criss_cross(repo: GitRepo) -> None:
    repo.write("f.txt", "root\n")
    repo.commit("root")
    for name in ("a", "b"):
        repo.branch(name)
        repo.write(f"{name}.txt", f"{name}\n")
        repo.commit(f"{name} 1")
    repo.checkout("a")
    repo.git("merge", "-q", "--no-ff", "-m", "b into a", "b")
    repo.checkout("b")
    repo.git("merge", "-q", "--no-ff", "-m", "a 1 into b", "a~1")
    repo.git("checkout", "-q", "--orphan", "lonely")
    repo.commit("unrelated")


@pytest.mark.parametrize(
    ("base", "head", "bases"),
    [
        ("main", "a", 1),  # the base is an ancestor of the head
        ("a~1", "b~1", 1),  # diverged once
        ("a", "a", 1),  # the same commit
        ("a", "b", 2),  # criss-cross merges: git merge-base picks one, asked as before
        ("a", "lonely", 0),  # no common history: git merge-base refuses, as before
    ],
    ids=["ancestor", "diverged", "same", "criss-cross", "unrelated"],
)
def test_the_merge_base_comes_with_the_commits_when_git_finds_exactly_one(
    criss_cross: GitRepo, git_processes: list[tuple[str, ...]], base: str, head: str, bases: int
) -> None:
    root = criss_cross.root
    facts = git.revision_facts(root, [base, head], merge_base=True)
    assert [args[0] for args in git_processes] == ["rev-parse"]
    assert facts is not None
    assert facts.commits == (criss_cross.git("rev-parse", base), criss_cross.git("rev-parse", head))
    all_bases = criss_cross.git("merge-base", "--all", base, head).split() if bases else []
    assert len(all_bases) == bases
    if bases == 1:
        assert facts.merge_base == all_bases[0] == git.merge_base(root, base, head)
        return
    assert facts.merge_base is None  # the caller asks git merge-base, which answers as before
    if bases:
        assert git.merge_base(root, base, head) == criss_cross.git("merge-base", base, head)
    else:
        with pytest.raises(git.GitError):
            git.merge_base(root, base, head)


@pytest.mark.parametrize(
    "revs",
    [["a..b", "a"], ["a", "a...b"], ["a", "--all"], ["a", "no-such-branch"], ["a", "a:f.txt"]],
    ids=["range", "symmetric-range", "option", "unknown", "blob"],
)
def test_the_merge_base_is_not_asked_beside_what_is_not_one_commit(
    criss_cross: GitRepo, revs: list[str]
) -> None:
    assert git.revision_facts(criss_cross.root, revs, merge_base=True) is None


@pytest.mark.parametrize(
    ("refs", "found"),
    [
        ({}, "main"),
        ({"refs/remotes/origin/main": "HEAD"}, "origin/main"),
        ({"refs/tags/origin/main": "HEAD"}, "main"),  # a tag alone is not a branch: main is
        ({"refs/remotes/origin/main": "first", "refs/tags/origin/main": "HEAD"},
         "'origin/main' is ambiguous here"),
        ({"refs/remotes/origin/main": "first", "refs/heads/origin/main": "HEAD"},
         "'origin/main' is ambiguous here"),
        ({"refs/remotes/origin/main": "annotated"}, "origin/main"),  # peeled to its commit
        ({"refs/remotes/origin/main": "HEAD^{tree}"}, "is not a commit"),
        ({"refs/remotes/origin/main/x": "HEAD", "refs/tags/main/x": "HEAD"}, "main"),
        # git resolves the name found to refs/<name> before the tag and the branch
        ({"refs/remotes/origin/main": "first", "refs/origin/main": "HEAD"},
         "'origin/main' is ambiguous here"),
        ({"refs/origin/main": "HEAD"}, "main"),  # alone it is not a branch: main is
    ],
    ids=["main", "remote", "tag-alone", "tag-and-remote", "local-and-remote", "annotated-tag",
         "tree", "below-the-names", "refs-name-and-remote", "refs-name-alone"],
)
def test_the_default_branch_is_found_with_one_listing_and_refused_as_before(
    two_commits: GitRepo, git_processes: list[tuple[str, ...]], refs: dict[str, str], found: str
) -> None:
    two_commits.git("tag", "-a", "-m", "annotated", "annotated", "first")
    for ref, rev in refs.items():
        two_commits.git("update-ref", ref, two_commits.git("rev-parse", rev))
    if found in ("main", "origin/main"):
        assert git.default_branch(two_commits.root, ("origin/main", "main")) == found
        listings = [args[0] for args in git_processes if args[0] != "rev-parse"]
        assert listings == ["for-each-ref"]  # a rev-parse only to peel an annotated tag
    else:
        with pytest.raises(git.GitError, match=found):
            git.default_branch(two_commits.root, ("origin/main", "main"))


def test_no_default_branch_is_none(two_commits: GitRepo) -> None:
    assert git.default_branch(two_commits.root, ("origin/trunk", "trunk")) is None


def test_the_first_existing_full_ref_comes_from_one_listing(
    two_commits: GitRepo, git_processes: list[tuple[str, ...]]
) -> None:
    root, names = two_commits.root, ("refs/remotes/origin/main", "refs/heads/main")
    head, first = two_commits.git("rev-parse", "HEAD"), two_commits.git("rev-parse", "first")
    two_commits.git("tag", "origin/main", "first")  # a tag is never one of the full names
    assert git.first_ref(root, names) == ("refs/heads/main", head)
    two_commits.git("update-ref", "refs/remotes/origin/main", first)
    assert git.first_ref(root, names) == ("refs/remotes/origin/main", first)
    assert [args[0] for args in git_processes] == ["for-each-ref", "for-each-ref"]
    assert git.first_ref(root, ("refs/remotes/upstream/main",)) is None
    two_commits.git("update-ref", "refs/remotes/origin/main", two_commits.git("rev-parse", "HEAD^{tree}"))
    with pytest.raises(git.GitError, match="is not a commit"):
        git.first_ref(root, names)


def _named_like(repo: GitRepo, name: str) -> str:
    """`id:N` -> the first N characters of HEAD's commit id (all of it for N = 40)."""
    if name.startswith("id:"):
        return repo.git("rev-parse", "HEAD")[: int(name[3:])]
    return name


@pytest.mark.parametrize(
    ("name", "refs", "expected"),
    [
        ("id:40", {}, "HEAD"),
        ("id:40", {"refs/heads/id:40": "first"}, "HEAD"),  # git reads a full id as the object
        ("id:40", {"refs/remotes/id:40": "first"}, "HEAD"),
        ("id:40", {"refs/tags/id:40": "first"}, "HEAD"),
        ("id:12", {}, "HEAD"),
        ("id:12", {"refs/heads/id:12": "first"}, "may also be an abbreviated commit id"),
        ("id:7", {"refs/remotes/id:7": "first"}, "may also be an abbreviated commit id"),
        ("id:12", {"refs/tags/id:12": "first"}, "may also be an abbreviated commit id"),
        ("cafe", {"refs/heads/cafe": "first"}, "first"),  # too short to be taken for an id
    ],
    ids=["full-id", "full-id-and-branch", "full-id-and-remote", "full-id-and-tag", "short-id",
         "short-id-and-branch", "short-id-and-remote", "short-id-and-tag", "hex-word-branch"],
)
def test_a_ref_named_like_a_commit_id_never_replaces_the_commit(
    two_commits: GitRepo, name: str, refs: dict[str, str], expected: str
) -> None:
    """A branch pushed under the name of a commit id must not stand in for that commit where a
    trusted branch or a commit is expected (verify --base, audit --base): a full id is the
    object, as git reads it; an abbreviated one that a ref answers to is refused."""
    name = _named_like(two_commits, name)
    for ref, rev in refs.items():
        two_commits.git("update-ref", ref.replace(ref.rsplit("/", 1)[-1], name) if "id:" in ref
                        else ref, two_commits.git("rev-parse", rev))
    if expected in ("HEAD", "first"):
        commit = two_commits.git("rev-parse", expected)
        assert git.resolve_branch(two_commits.root, name)[1] == commit
        return
    with pytest.raises(git.GitError, match=expected):
        git.resolve_branch(two_commits.root, name)


@pytest.mark.parametrize(
    ("name", "refs", "expected"),
    [
        ("main", {}, "main"),
        ("main", {"refs/tags/main": "first"}, "'main' is ambiguous here"),
        ("id:40", {"refs/tags/id:40": "first", "refs/heads/id:40": "first"}, "id:40"),
        ("id:12", {}, "id:12"),
        ("id:12", {"refs/tags/id:12": "first"}, "may also be an abbreviated commit id"),
        ("id:7", {"refs/heads/id:7": "first"}, "may also be an abbreviated commit id"),
        ("cafe", {"refs/heads/cafe": "first"}, "cafe"),
    ],
    ids=["branch", "branch-and-tag", "full-id-and-refs", "short-id", "short-id-and-tag",
         "short-id-and-branch", "hex-word-branch"],
)
def test_a_name_git_would_resolve_to_a_ref_named_like_a_commit_id_is_refused(
    two_commits: GitRepo, name: str, refs: dict[str, str], expected: str
) -> None:
    """git takes a ref named like an abbreviated commit id before the commit (a full id is
    always the object): a tag pushed under the id given to check --base or verify --commit
    would otherwise be what they judge."""
    name, expected = _named_like(two_commits, name), _named_like(two_commits, expected)
    for ref, rev in refs.items():
        two_commits.git("update-ref", ref.replace(ref.rsplit("/", 1)[-1], name) if "id:" in ref
                        else ref, two_commits.git("rev-parse", rev))
    if "ambiguous" not in expected and "abbreviated" not in expected:
        assert git.unambiguous_name(two_commits.root, name) == expected
        return
    with pytest.raises(git.GitError, match=expected):
        git.unambiguous_name(two_commits.root, name)
