"""The query that opens a pull request for the gate, and how its answer is read (no PyGithub:
`adapters/github.py` sends it).

ONE GraphQL query opens a pull request (docs/github.md, "Traffic and reliability"): the pull
request (its head, base, author and GitHub's counts of its files and commits), the first page of
open pull requests (their heads and bases: the siblings of a head), the base branch's current
commit with the policy and the CODEOWNERS candidates read AT that commit, and the pull
request's comments (to find the bot's own sticky comment). Its answer is checked before
anything is used: a field missing, null where GitHub never answers null, or of another type
is a `MalformedAnswer`, which the caller turns into an error status, never a guess.

A file is kept from GraphQL only when it proves itself (`proven_file`): a regular file whose
text, as UTF-8, hashes to the blob's git object id and has its size. Anything else (a symlink,
a submodule, a folder, a binary or truncated blob, a text with a byte that is not UTF-8) is
left to the contents API, byte for byte. So is an added file rebuilt from its patch in the
pull request's file list (`added_file_from_patch`): kept only if it hashes to the listed blob.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from promotion_bot.core.approvals import COMMENT_MARKER
from promotion_bot.core.codeowners import CODEOWNERS_LOCATIONS
from promotion_bot.core.formats.documents import POLICY_PATH

SHA = re.compile(r"[0-9a-f]{40}")
PAGE = 100  # GraphQL gives at most 100 nodes of a connection per query
# the files read at the base branch's commit by the opening query, in this order
BASE_FILES = (POLICY_PATH, *CODEOWNERS_LOCATIONS)
# git's modes of a regular file (TreeEntry.mode): a symlink (0o120000) or a submodule
# (0o160000) is not the file it names
REGULAR_FILE_MODES = (0o100644, 0o100755)
_TREE_ENTRY = ("mode type oid object { __typename ... on Blob { oid byteSize isBinary "
               "isTruncated text } }")
_BASE_FILE_FIELDS = " ".join(f"file{i}: file(path: $file{i}) {{ {_TREE_ENTRY} }}"
                             for i in range(len(BASE_FILES)))
# the newest force-push of the head or change of the base (a timeline event each): read when
# the pull request is opened and again after its lists. A head pushed away and back, or a pull
# request retargeted away and back, reads the same at both ends, but not its lists; going back
# to a head is always a force-push (it is never a descendant of the head it left)
LAST_MOVE_FIELD = (
    "timelineItems(itemTypes: [HEAD_REF_FORCE_PUSHED_EVENT, BASE_REF_CHANGED_EVENT], last: 1) "
    "{ nodes { __typename ... on HeadRefForcePushedEvent { id } "
    "... on BaseRefChangedEvent { id } } }"
)
OPENING_QUERY = (
    "query($owner: String!, $name: String!, $number: Int!, "
    + ", ".join(f"$file{i}: String!" for i in range(len(BASE_FILES)))
    + ") { repository(owner: $owner, name: $name) { defaultBranchRef { name } "
    "pullRequest(number: $number) { number title state isDraft url headRefName headRefOid "
    f"baseRefName baseRefOid {LAST_MOVE_FIELD} "
    "author { __typename login ... on User { databaseId } "
    "... on Bot { databaseId } } changedFiles commits { totalCount } "
    f"labels(first: {PAGE}) {{ nodes {{ name }} }} "
    f"reviewRequests(first: {PAGE}) {{ nodes {{ requestedReviewer {{ __typename "
    "... on Team { slug } ... on User { login } } } } "
    "baseRef { name prefix target { __typename oid ... on Commit { "
    f"{_BASE_FILE_FIELDS} }} }} }} "
    f"comments(first: {PAGE}) {{ totalCount nodes {{ databaseId viewerDidAuthor body }} }} }} "
    f"pullRequests(states: OPEN, first: {PAGE}) {{ totalCount nodes {{ number headRefOid "
    "baseRefName } } } }"
)


class MalformedAnswer(ValueError):
    """GitHub's GraphQL answer lacks what the query asked for, or contradicts itself. `head`:
    the pull request's head, when the answer names it all the same (the gate then takes back
    any status there before it reports the error)."""

    def __init__(self, message: str, head: str | None = None) -> None:
        super().__init__(message)
        self.head = head


class Unproven:
    """A file GraphQL gave in a form that does not prove its bytes: read it another way."""

    def __repr__(self) -> str:
        return "UNPROVEN"


UNPROVEN = Unproven()


@dataclass(frozen=True)
class OpenPull:
    """One open pull request as a list of them gives it: enough to find siblings."""

    number: int
    head_sha: str
    base_ref: str


@dataclass(frozen=True)
class OwnComment:
    """A comment the bot's account wrote that starts with the sticky comment's marker."""

    id: int
    body: str


@dataclass(frozen=True)
class Opening:
    """What the opening query says about one pull request."""

    pull: dict[str, Any]  # in the shape of GET /repos/{o}/{r}/pulls/{n}
    last_move: str  # the id of its newest force-push or retarget ("": none)
    base_tip: str  # the base branch's current commit: the policy is read there
    default_branch: str
    base_files: dict[str, bytes | None]  # path -> bytes, or None (absent); unproven: left out
    open_pulls: tuple[OpenPull, ...] | None  # None: more than one page (listed through REST)
    own_comments: tuple[OwnComment, ...] | None  # None: more comments than one page


def opening_variables(repository: str, number: int) -> dict[str, Any]:
    owner, name = repository.split("/", 1)
    return {"owner": owner, "name": name, "number": number,
            **{f"file{i}": path for i, path in enumerate(BASE_FILES)}}


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def read_opening(data: Mapping[str, Any], number: int) -> Opening:
    """The opening query's answer, checked; a MalformedAnswer says what is wrong."""
    repo = _object(data, "repository", "the repository")
    pull = _object(repo, "pullRequest", f"pull request #{number}")
    if _int(pull, "number", "the pull request's number") != number:
        raise MalformedAnswer(f"it answers for pull request #{pull.get('number')!r}")
    head = _sha(pull, "headRefOid", "the head")
    try:
        return _opening(repo, pull, number)
    except MalformedAnswer as error:
        raise MalformedAnswer(str(error), head) from None


def head_named(data: Any, number: int) -> str | None:
    """The head an answer names for pull request `number`, however wrong the rest of it is
    (only to take back a status there), or None."""
    repo = data.get("repository") if isinstance(data, Mapping) else None
    pull = repo.get("pullRequest") if isinstance(repo, Mapping) else None
    if not isinstance(pull, Mapping) or pull.get("number") != number:
        return None
    head = pull.get("headRefOid")
    return head if isinstance(head, str) and SHA.fullmatch(head) else None


def _opening(repo: Mapping[str, Any], pull: Mapping[str, Any], number: int) -> Opening:
    default = _object(repo, "defaultBranchRef", "the repository's default branch")
    base_ref = _text(pull, "baseRefName", "the base branch")
    base = pull.get("baseRef")
    if base is None:
        raise MalformedAnswer(f"its base branch {base_ref} does not exist")
    if not isinstance(base, Mapping) or base.get("name") != base_ref \
            or base.get("prefix") != "refs/heads/":
        raise MalformedAnswer(f"its base ref is not the branch {base_ref}")
    target = _object(base, "target", f"the commit of {base_ref}")
    if target.get("__typename") != "Commit":
        raise MalformedAnswer(f"the base branch {base_ref} does not point at a commit")
    base_files: dict[str, bytes | None] = {}
    for index, path in enumerate(BASE_FILES):
        if f"file{index}" not in target:
            raise MalformedAnswer(f"it does not say whether {path} is on the base branch")
        found = proven_file(target[f"file{index}"])
        if not isinstance(found, Unproven):
            base_files[path] = found
    return Opening(
        pull=_rest_pull(pull, base_ref),
        last_move=last_move(pull),
        base_tip=_sha(target, "oid", f"the commit of {base_ref}"),
        default_branch=_text(default, "name", "the repository's default branch"),
        base_files=base_files,
        open_pulls=_open_pulls(_object(repo, "pullRequests", "the open pull requests")),
        own_comments=_own_comments(_object(pull, "comments", "the comments")),
    )


def last_move(pull: Mapping[str, Any]) -> str:
    """The id of the newest force-push or retarget of a pull request (LAST_MOVE_FIELD), or ""
    when it has none."""
    nodes = _object(pull, "timelineItems", "its force-pushes and retargets").get("nodes")
    if not isinstance(nodes, list) or len(nodes) > 1:
        raise MalformedAnswer("it does not list its newest force-push or retarget")
    if not nodes:
        return ""
    node = nodes[0]
    if not isinstance(node, Mapping) or not isinstance(node.get("id"), str) or not node["id"]:
        raise MalformedAnswer("its newest force-push or retarget has no id")
    return str(node["id"])


def proven_file(entry: Any) -> bytes | Unproven | None:
    """A file `Commit.file(path:)` answered: None when absent (GitHub's null), its bytes when
    they prove themselves, else UNPROVEN."""
    if entry is None:
        return None
    if not isinstance(entry, Mapping) or entry.get("type") != "blob" \
            or entry.get("mode") not in REGULAR_FILE_MODES:
        return UNPROVEN
    blob = entry.get("object")
    if not isinstance(blob, Mapping) or blob.get("__typename") != "Blob":
        return UNPROVEN
    text = blob.get("text")
    if blob.get("isBinary") is not False or blob.get("isTruncated") is not False \
            or not isinstance(text, str):
        return UNPROVEN
    data = text.encode("utf-8", "surrogatepass")
    oid = git_blob_id(data)
    if oid == entry.get("oid") == blob.get("oid") and len(data) == blob.get("byteSize"):
        return data
    return UNPROVEN


_ADDED_HUNK = re.compile(r"@@ -0,0 \+1(?:,(\d+))? @@")
_NO_NEWLINE = "\\ No newline at end of file"


def added_file_from_patch(patch: Any, blob_id: Any) -> bytes | None:
    """The whole content of a file the pull request adds, from GitHub's patch of it (one hunk
    '@@ -0,0 +1,N @@' of N '+' lines), or None when the patch does not prove it: the text must
    hash to the blob id the file list names."""
    if not isinstance(patch, str) or not isinstance(blob_id, str) \
            or not SHA.fullmatch(blob_id):
        return None
    header, *lines = patch.split("\n")
    found = _ADDED_HUNK.fullmatch(header)
    if found is None:
        return None
    newline = not (lines and lines[-1] == _NO_NEWLINE)
    if not newline:
        lines.pop()
    expected = int(found[1]) if found[1] is not None else 1
    if len(lines) != expected or not all(line.startswith("+") for line in lines):
        return None
    data = ("\n".join(line[1:] for line in lines) + ("\n" if newline else "")).encode(
        "utf-8", "surrogatepass")
    return data if git_blob_id(data) == blob_id else None


def _rest_pull(node: Mapping[str, Any], base_ref: str) -> dict[str, Any]:
    """The pull request in the shape of the REST API's (what snapshots hold)."""
    state = _text(node, "state", "the state")
    if state not in ("OPEN", "CLOSED", "MERGED"):
        raise MalformedAnswer(f"its state is {state!r}")
    return {
        "number": node["number"],
        "title": _text(node, "title", "the title", empty=True),
        "state": "open" if state == "OPEN" else "closed",
        "draft": _bool(node, "isDraft", "whether it is a draft"),
        "html_url": _text(node, "url", "the URL"),
        "user": _actor(node.get("author")),
        "head": {"ref": _text(node, "headRefName", "the head branch"),
                 "sha": _sha(node, "headRefOid", "the head")},
        "base": {"ref": base_ref, "sha": _sha(node, "baseRefOid", "the base commit")},
        "changed_files": _int(node, "changedFiles", "the count of changed files"),
        "commits": _int(_object(node, "commits", "the commits"), "totalCount",
                        "the count of commits"),
        "labels": [{"name": label["name"]} for label in _nodes(node, "labels")
                   if isinstance(label, Mapping) and isinstance(label.get("name"), str)],
        **_requested(_nodes(node, "reviewRequests")),
    }


def _actor(node: Any) -> dict[str, Any]:
    """The author as the REST API names it: GraphQL gives a GitHub App's bot account without
    the '[bot]' its REST login (and every review it writes) carries."""
    if not isinstance(node, Mapping):
        raise MalformedAnswer("it has no author")
    login, kind = node.get("login"), node.get("__typename")
    if not isinstance(login, str) or not login or not isinstance(kind, str):
        raise MalformedAnswer("its author has no login")
    if kind == "Bot" and not login.endswith("[bot]"):
        login += "[bot]"
    user: dict[str, Any] = {"login": login, "type": kind}
    if isinstance(node.get("databaseId"), int):
        user["id"] = node["databaseId"]
    return user


def _requested(requests: list[Any]) -> dict[str, list[dict[str, str]]]:
    """Who is asked for a review already (a courtesy: they are not asked again)."""
    teams, users = [], []
    for request in requests:
        reviewer = request.get("requestedReviewer") if isinstance(request, Mapping) else None
        if not isinstance(reviewer, Mapping):
            continue
        if isinstance(reviewer.get("slug"), str):
            teams.append({"slug": reviewer["slug"]})
        elif isinstance(reviewer.get("login"), str):
            users.append({"login": reviewer["login"]})
    return {"requested_teams": teams, "requested_reviewers": users}


def _open_pulls(connection: Mapping[str, Any]) -> tuple[OpenPull, ...] | None:
    nodes = _page(connection, "the open pull requests")
    if nodes is None:
        return None
    pulls = []
    for node in nodes:
        if not isinstance(node, Mapping):
            raise MalformedAnswer("an open pull request is not an object")
        pulls.append(OpenPull(_int(node, "number", "an open pull request's number"),
                              _sha(node, "headRefOid", "an open pull request's head"),
                              _text(node, "baseRefName", "an open pull request's base")))
    if len({pull.number for pull in pulls}) != len(pulls):
        raise MalformedAnswer("it lists an open pull request twice")
    return tuple(pulls)


def _own_comments(connection: Mapping[str, Any]) -> tuple[OwnComment, ...] | None:
    """The comments the bot's account wrote with the marker: `viewerDidAuthor`, which GitHub
    decides, never a login compared (GraphQL spells a bot's login without '[bot]', so an
    account named like the bot would match)."""
    nodes = _page(connection, "the comments")
    if nodes is None:
        return None
    own = []
    for node in nodes:
        if not isinstance(node, Mapping) or not isinstance(node.get("viewerDidAuthor"), bool):
            raise MalformedAnswer("a comment does not say whether the bot wrote it")
        if node["viewerDidAuthor"] and isinstance(node.get("body"), str) \
                and node["body"].startswith(COMMENT_MARKER):
            own.append(OwnComment(_int(node, "databaseId", "the bot's comment's id"),
                                  node["body"]))
    return tuple(own)


def _page(connection: Mapping[str, Any], what: str) -> list[Any] | None:
    """A connection's first page, when it holds every node; None when there are more."""
    total = _int(connection, "totalCount", f"the count of {what}")
    nodes = connection.get("nodes")
    if not isinstance(nodes, list):
        raise MalformedAnswer(f"it does not list {what}")
    if len(nodes) == total:
        return nodes
    if len(nodes) == PAGE and total > PAGE:
        return None
    raise MalformedAnswer(f"it counts {total} of {what} but lists {len(nodes)}: the list is "
                          "incomplete")


def _nodes(node: Mapping[str, Any], key: str) -> list[Any]:
    connection = node.get(key)
    nodes = connection.get("nodes") if isinstance(connection, Mapping) else None
    return nodes if isinstance(nodes, list) else []


def _object(node: Mapping[str, Any], key: str, what: str) -> Mapping[str, Any]:
    value = node.get(key)
    if not isinstance(value, Mapping):
        raise MalformedAnswer(f"it does not give {what}")
    return value


def _text(node: Mapping[str, Any], key: str, what: str, *, empty: bool = False) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not (value or empty):
        raise MalformedAnswer(f"it does not give {what}")
    return value


def _sha(node: Mapping[str, Any], key: str, what: str) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not SHA.fullmatch(value):
        raise MalformedAnswer(f"it does not name {what} (a commit id)")
    return value


def _int(node: Mapping[str, Any], key: str, what: str) -> int:
    value = node.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedAnswer(f"it does not give {what}")
    return value


def _bool(node: Mapping[str, Any], key: str, what: str) -> bool:
    value = node.get(key)
    if not isinstance(value, bool):
        raise MalformedAnswer(f"it does not say {what}")
    return value
