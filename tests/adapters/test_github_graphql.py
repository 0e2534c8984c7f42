"""Reading the query that opens a pull request: every answer that is missing, null, of another
type, or contradicts itself is a MalformedAnswer (an error status), never a guess; a file is
taken from GraphQL only when its bytes prove themselves."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from promotion_bot.adapters.github_graphql import (
    BASE_FILES,
    PAGE,
    UNPROVEN,
    MalformedAnswer,
    OpenPull,
    OwnComment,
    added_file_from_patch,
    git_blob_id,
    head_named,
    proven_file,
    read_opening,
)
from promotion_bot.core.approvals import COMMENT_MARKER

HEAD, BASE, TIP = "1" * 40, "2" * 40, "3" * 40
POLICY = b"version: 1\n"


def entry(data: bytes, *, mode: int = 0o100644) -> dict[str, Any]:
    oid = git_blob_id(data)
    return {"mode": mode, "type": "blob", "oid": oid,
            "object": {"__typename": "Blob", "oid": oid, "byteSize": len(data),
                       "isBinary": False, "isTruncated": False, "text": data.decode()}}


def answer() -> dict[str, Any]:
    """An opening answer as GitHub gives it for pull request #7 into main."""
    files = {f"file{i}": None for i in range(len(BASE_FILES))}
    files["file0"] = entry(POLICY)
    return {"repository": {
        "defaultBranchRef": {"name": "main"},
        "pullRequest": {
            "number": 7, "title": "CR-1", "state": "OPEN", "isDraft": False,
            "url": "https://github.com/o/r/pull/7", "headRefName": "cr-1", "headRefOid": HEAD,
            "baseRefName": "main", "baseRefOid": BASE,
            "timelineItems": {"nodes": [{"__typename": "HeadRefForcePushedEvent",
                                         "id": "HRFPE_1"}]},
            "author": {"__typename": "User", "login": "alice", "databaseId": 5},
            "changedFiles": 3, "commits": {"totalCount": 2},
            "labels": {"nodes": [{"name": "promotion"}]},
            "reviewRequests": {"nodes": [{"requestedReviewer": {"__typename": "Team",
                                                                "slug": "admins"}}]},
            "baseRef": {"name": "main", "prefix": "refs/heads/",
                        "target": {"__typename": "Commit", "oid": TIP, **files}},
            "comments": {"totalCount": 2, "nodes": [
                {"databaseId": 11, "viewerDidAuthor": False, "body": f"{COMMENT_MARKER}\nforged"},
                {"databaseId": 12, "viewerDidAuthor": True, "body": f"{COMMENT_MARKER}\nmine"}]},
        },
        "pullRequests": {"totalCount": 2, "nodes": [
            {"number": 7, "headRefOid": HEAD, "baseRefName": "main"},
            {"number": 8, "headRefOid": HEAD, "baseRefName": "release"}]},
    }}


def test_a_whole_answer_reads_as_the_rest_api_would_give_it() -> None:
    opening = read_opening(answer(), 7)
    assert opening.pull == {
        "number": 7, "title": "CR-1", "state": "open", "draft": False,
        "html_url": "https://github.com/o/r/pull/7",
        "user": {"login": "alice", "type": "User", "id": 5},
        "head": {"ref": "cr-1", "sha": HEAD}, "base": {"ref": "main", "sha": BASE},
        "changed_files": 3, "commits": 2, "labels": [{"name": "promotion"}],
        "requested_teams": [{"slug": "admins"}], "requested_reviewers": []}
    assert (opening.base_tip, opening.default_branch) == (TIP, "main")
    assert opening.base_files == {".promotion/policy.yaml": POLICY, ".github/CODEOWNERS": None,
                                  "CODEOWNERS": None, "docs/CODEOWNERS": None}
    assert opening.open_pulls == (OpenPull(7, HEAD, "main"), OpenPull(8, HEAD, "release"))
    # only the comment GitHub says the bot wrote: the other carries the marker too
    assert opening.own_comments == (OwnComment(12, f"{COMMENT_MARKER}\nmine"),)
    assert opening.last_move == "HRFPE_1"


def test_a_pull_request_never_force_pushed_nor_retargeted_has_no_last_move() -> None:
    data = answer()
    data["repository"]["pullRequest"]["timelineItems"] = {"nodes": []}
    assert read_opening(data, 7).last_move == ""


def test_a_bot_author_gets_the_bot_suffix_graphql_leaves_out() -> None:
    data = answer()
    data["repository"]["pullRequest"]["author"] = {"__typename": "Bot", "login": "renovate"}
    assert read_opening(data, 7).pull["user"] == {"login": "renovate[bot]", "type": "Bot"}


def test_more_than_a_page_is_left_to_the_rest_api() -> None:
    data = answer()
    data["repository"]["pullRequests"] = {"totalCount": PAGE + 1, "nodes": [
        {"number": n, "headRefOid": HEAD, "baseRefName": "main"} for n in range(PAGE)]}
    data["repository"]["pullRequest"]["comments"] = {"totalCount": PAGE + 5, "nodes": [
        {"databaseId": n, "viewerDidAuthor": False, "body": "hi"} for n in range(PAGE)]}
    opening = read_opening(data, 7)
    assert (opening.open_pulls, opening.own_comments) == (None, None)


def pull(data: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = data["repository"]["pullRequest"]
    return found


def base_commit(data: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = pull(data)["baseRef"]["target"]
    return found


def setting(where: Callable[[dict[str, Any]], Any], key: str, value: Any
            ) -> Callable[[dict[str, Any]], None]:
    return lambda data: where(data).__setitem__(key, value)


def removing(where: Callable[[dict[str, Any]], Any], key: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: where(data).__delitem__(key)


def repository(data: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = data["repository"]
    return found


@pytest.mark.parametrize(("damage", "words", "head_known"), [
    (setting(lambda d: d, "repository", None), "does not give the repository", False),
    (setting(repository, "pullRequest", None), "does not give pull request #7", False),
    (setting(repository, "pullRequest", []), "does not give pull request #7", False),
    (setting(pull, "number", 8), "answers for pull request #8", False),
    (setting(pull, "number", "7"), "does not give the pull request's number", False),
    (setting(pull, "headRefOid", None), "does not name the head", False),
    (setting(pull, "headRefOid", "HEAD"), "does not name the head", False),
    (setting(repository, "defaultBranchRef", None), "default branch", True),
    (setting(pull, "baseRef", None), "its base branch main does not exist", True),
    (setting(lambda d: pull(d)["baseRef"], "name", "release"), "is not the branch main", True),
    (setting(lambda d: pull(d)["baseRef"], "prefix", "refs/tags/"), "is not the branch main",
     True),
    (setting(lambda d: pull(d)["baseRef"], "target", None), "the commit of main", True),
    (setting(base_commit, "__typename", "Tag"), "does not point at a commit", True),
    (setting(base_commit, "oid", None), "the commit of main", True),
    (removing(base_commit, "file0"), "whether .promotion/policy.yaml is on the base branch",
     True),
    (removing(base_commit, "file2"), "whether CODEOWNERS is on the base branch", True),
    (setting(pull, "state", "DRAFT"), "its state is 'DRAFT'", True),
    (setting(pull, "title", None), "the title", True),
    (setting(pull, "isDraft", None), "whether it is a draft", True),
    (setting(pull, "author", None), "it has no author", True),
    (setting(pull, "author", {"__typename": "User", "login": ""}), "author has no login", True),
    (setting(pull, "changedFiles", None), "the count of changed files", True),
    (setting(pull, "changedFiles", -1), "the count of changed files", True),
    (setting(pull, "changedFiles", True), "the count of changed files", True),
    (setting(pull, "commits", {"totalCount": None}), "the count of commits", True),
    (setting(pull, "commits", None), "the commits", True),
    (setting(pull, "baseRefOid", "main"), "the base commit", True),
    (setting(pull, "headRefName", ""), "the head branch", True),
    (setting(repository, "pullRequests", None), "the open pull requests", True),
    (setting(lambda d: repository(d)["pullRequests"], "totalCount", 3),
     "counts 3 of the open pull requests but lists 2: the list is incomplete", True),
    (setting(lambda d: repository(d)["pullRequests"], "totalCount", 1),
     "counts 1 of the open pull requests but lists 2", True),
    (setting(lambda d: repository(d)["pullRequests"], "nodes", None),
     "does not list the open pull requests", True),
    (setting(lambda d: repository(d)["pullRequests"]["nodes"], 1, None),
     "an open pull request is not an object", True),
    (setting(lambda d: repository(d)["pullRequests"]["nodes"][1], "headRefOid", None),
     "an open pull request's head", True),
    (setting(lambda d: repository(d)["pullRequests"]["nodes"][1], "number", 7),
     "lists an open pull request twice", True),
    (setting(pull, "comments", None), "does not give the comments", True),
    (setting(lambda d: pull(d)["comments"], "totalCount", 5),
     "counts 5 of the comments but lists 2", True),
    (setting(lambda d: pull(d)["comments"]["nodes"][0], "viewerDidAuthor", None),
     "does not say whether the bot wrote it", True),
    (setting(lambda d: pull(d)["comments"]["nodes"][1], "databaseId", None),
     "the bot's comment's id", True),
    (setting(pull, "timelineItems", None), "its force-pushes and retargets", True),
    (setting(lambda d: pull(d)["timelineItems"], "nodes", None),
     "does not list its newest force-push or retarget", True),
    (setting(lambda d: pull(d)["timelineItems"], "nodes", [{"id": "A"}, {"id": "B"}]),
     "does not list its newest force-push or retarget", True),
    (setting(lambda d: pull(d)["timelineItems"]["nodes"][0], "id", None),
     "its newest force-push or retarget has no id", True),
])
def test_every_malformed_answer_is_refused_saying_what_is_wrong(
        damage: Callable[[dict[str, Any]], None], words: str, head_known: bool) -> None:
    data = copy.deepcopy(answer())
    damage(data)
    with pytest.raises(MalformedAnswer) as refused:
        read_opening(data, 7)
    assert words in str(refused.value)
    # the head, when the answer names it, is still known: its status is taken back first
    assert refused.value.head == (HEAD if head_known else None)


def test_the_head_of_a_partial_answer_is_named_only_when_it_is_there() -> None:
    assert head_named(answer(), 7) == HEAD
    assert head_named(answer(), 8) is None
    assert head_named({"repository": None}, 7) is None
    assert head_named(None, 7) is None


TEXT = b"owners: yes\n"


def blob_entry(**changes: Any) -> dict[str, Any]:
    found = entry(TEXT)
    blob = found["object"]
    for key, value in changes.items():
        (blob if key in blob and key not in ("oid",) else found)[key] = value
    return found


@pytest.mark.parametrize(("found", "expected"), [
    (None, None),  # absent at that commit
    (entry(TEXT), TEXT),
    (entry(TEXT, mode=0o100755), TEXT),
    (entry(TEXT, mode=0o120000), UNPROVEN),  # a symlink: its text is the path it points to
    ({"mode": 0o160000, "type": "commit", "oid": "4" * 40, "object": None}, UNPROVEN),
    ({"mode": 0o040000, "type": "tree", "oid": "4" * 40,
      "object": {"__typename": "Tree", "oid": "4" * 40}}, UNPROVEN),
    (blob_entry(isBinary=True, text=None), UNPROVEN),
    (blob_entry(isBinary=None), UNPROVEN),  # Blob.isBinary is nullable
    (blob_entry(isTruncated=True), UNPROVEN),
    (blob_entry(text="owners: no\n"), UNPROVEN),  # does not hash to the blob
    (blob_entry(byteSize=999), UNPROVEN),
    (blob_entry(type="tree"), UNPROVEN),
    ({**entry(TEXT), "object": None}, UNPROVEN),
    ({**entry(TEXT), "oid": "5" * 40}, UNPROVEN),  # the entry and its blob disagree
    ("a file", UNPROVEN),
    ([], UNPROVEN),
])
def test_a_file_is_taken_from_graphql_only_when_it_proves_itself(found: Any,
                                                                 expected: Any) -> None:
    assert proven_file(found) == expected


def test_text_that_replaced_a_byte_that_is_not_utf8_does_not_prove_itself() -> None:
    raw = b"# caf\xe9\n* @o/t\n"
    found = entry(b"x")
    found["oid"] = found["object"]["oid"] = git_blob_id(raw)
    found["object"]["byteSize"] = len(raw)
    found["object"]["text"] = raw.decode("utf-8", "replace")
    assert proven_file(found) is UNPROVEN


ADDED = b"change_id: CR-1\ntitle: x\n"


@pytest.mark.parametrize(("patch", "blob", "expected"), [
    ("@@ -0,0 +1,2 @@\n+change_id: CR-1\n+title: x", git_blob_id(ADDED), ADDED),
    ("@@ -0,0 +1 @@\n+one", git_blob_id(b"one\n"), b"one\n"),
    ("@@ -0,0 +1 @@\n+one\n\\ No newline at end of file", git_blob_id(b"one"), b"one"),
    ("@@ -0,0 +1,2 @@\n+a\r\n+b\r", git_blob_id(b"a\r\nb\r\n"), b"a\r\nb\r\n"),
    # does not hash to the listed blob: another file, or text GitHub cut or changed
    ("@@ -0,0 +1,2 @@\n+change_id: CR-2\n+title: x", git_blob_id(ADDED), None),
    ("@@ -0,0 +1,2 @@\n+change_id: CR-1\n+title: x", "f" * 40, None),
    ("@@ -0,0 +1,2 @@\n+caf\ufffd\n+x", git_blob_id(b"caf\xe9\nx\n"), None),
    # not an added file's one hunk
    ("@@ -1,2 +1,2 @@\n-a\n+b", git_blob_id(b"b\n"), None),
    ("@@ -0,0 +1,3 @@\n+change_id: CR-1\n+title: x", git_blob_id(ADDED), None),
    ("@@ -0,0 +1,2 @@\n+change_id: CR-1\n title: x", git_blob_id(ADDED), None),
    ("", git_blob_id(b""), None),
    (None, git_blob_id(ADDED), None),
    ("@@ -0,0 +1,2 @@\n+change_id: CR-1\n+title: x", None, None),
    ("@@ -0,0 +1,2 @@\n+change_id: CR-1\n+title: x", "not a sha", None),
    ("@@ -0,0 +1 @@\n+\ud800", git_blob_id(b"x\n"), None),  # a lone surrogate: no crash
])
def test_an_added_file_is_rebuilt_from_its_patch_only_when_it_hashes_to_the_listed_blob(
        patch: Any, blob: Any, expected: bytes | None) -> None:
    assert added_file_from_patch(patch, blob) == expected
