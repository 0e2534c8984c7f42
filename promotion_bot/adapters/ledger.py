"""The ledger in git: promotion records as annotated tags, main's history, objects in batches.

A record is the annotated tag `promotion/<change_id>` on the merge commit; its message is the
DSSE envelope (canonical JSON, one line). The whole ledger is read with one
`git for-each-ref` (which also finds the branch read) and one `git cat-file --batch` (which
can also read the files the history needs); the history with one `git log`. Nothing here
runs a process per record.

Writing is idempotent: an existing tag with the same target and the same signed statement is
left alone ("unchanged"); an existing tag that differs is an error (exit 2), never replaced.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from promotion_bot.adapters import git
from promotion_bot.core.dsse import MAX_ENVELOPE_BYTES, EnvelopeError, parse_envelope
from promotion_bot.core.errors import ConfigError, GitError
from promotion_bot.core.git_facts import TAG_PREFIX, Change, TagRecord
from promotion_bot.core.history import History, HistoryCommit, RawChange

_HEX40 = re.compile(rb"^[0-9a-f]{40}$")
MAX_TAG_BYTES = MAX_ENVELOPE_BYTES + 64 * 1024  # the envelope and the tag's header lines


@dataclass(frozen=True)
class GitRepo:
    """A governed repository: its root, and its path below the git top level ('' or 'a/b/')."""

    root: Path
    prefix: str

    @classmethod
    def at(cls, root: Path) -> GitRepo:
        return cls(root, git.prefix_in_toplevel(root))

    def spec(self, rev: str, path: str) -> str:
        return f"{rev}:{self.prefix}{path}"

    @functools.cached_property
    def tagger_args(self) -> tuple[str, ...]:
        """The `-c user.*` arguments `git tag` needs here (git.identity_args), asked once."""
        return git.identity_args(self.root)


_TAGS = f"refs/tags/{TAG_PREFIX}"


def read_tags(repo: GitRepo) -> list[TagRecord]:
    """All promotion tags: one for-each-ref, then one cat-file --batch for the tag objects."""
    refs = promotion_tag_refs(repo)
    return tag_records(refs, cat_objects(repo, tag_objects_to_read(refs)))


def promotion_tag_refs(repo: GitRepo) -> list[git.Ref]:
    """The promotion tags' refs, with one `git for-each-ref` (`tag_records` reads them)."""
    return git.list_refs(repo.root, [_TAGS])


def read_ledger_refs(repo: GitRepo, rev: str) -> tuple[str, list[git.Ref]]:
    """The commit `rev` names as a branch (git.resolve_branch: a tag that imitates main's name
    never replaces it; HEAD is left as it is, for `history_of`'s `git log` to resolve) and the
    promotion tags' refs, with one `git for-each-ref`."""
    listed = git.list_refs(repo.root, [_TAGS, *git.branch_ref_names(rev)])
    commit = rev if rev == "HEAD" else git.resolve_branch(repo.root, rev, listed)[1]
    return commit, [ref for ref in listed if ref.name.startswith(_TAGS)]


def tag_objects_to_read(refs: Sequence[git.Ref]) -> list[str]:
    """The annotated tags among the promotion tags' refs (`read_ledger_refs`) whose objects are
    read. A tag object larger than any envelope is never read: anyone who can push a tag could
    otherwise make every audit and deployment read a gigabyte."""
    return [ref.object_id for ref in refs
            if ref.name.startswith(_TAGS) and ref.kind == "tag" and ref.size <= MAX_TAG_BYTES]


def tag_records(
    refs: Sequence[git.Ref], objects: dict[str, tuple[str, bytes] | None]
) -> list[TagRecord]:
    """The promotion tags' records, from their refs and the objects `cat_objects` read for
    `tag_objects_to_read(refs)` (each is dropped from `objects` once its last tag is made)."""
    tags = [ref for ref in refs if ref.name.startswith(_TAGS)]
    uses = Counter(ref.object_id for ref in tags)
    records: list[TagRecord] = []
    for ref in tags:
        object_id, name = ref.object_id, ref.name.removeprefix("refs/tags/")
        if ref.kind != "tag":
            records.append(TagRecord(name, object_id, False, object_id, ref.kind, None, b""))
            continue
        if ref.size > MAX_TAG_BYTES:
            records.append(
                TagRecord(
                    name, object_id, True, None, None, None, b"",
                    unreadable=f"the tag object is {ref.size} bytes, larger than any record "
                    f"({MAX_TAG_BYTES} bytes at most); it was not read",
                )
            )
            continue
        found = objects.get(object_id)
        uses[object_id] -= 1
        if not uses[object_id]:  # its last ref: the copy goes as its record is made
            objects.pop(object_id, None)
        if found is None:
            records.append(TagRecord(name, object_id, True, None, None, None, b""))
            continue
        records.append(_parse_tag_object(name, object_id, found[1]))
    return sorted(records, key=lambda record: record.name)


def read_tags_and_files(
    repo: GitRepo, refs: Sequence[git.Ref], tree: HistoryTree, wanted: dict[str, set[str]]
) -> list[TagRecord]:
    """The promotion tags' records (`tag_records`), and `wanted` (commit -> paths) prepared in
    `tree`, with one `git cat-file --batch` for the tag objects and the files' blobs."""
    tree.prepare(wanted, fetch=False)
    blob_ids = tree.unfetched()
    objects = cat_objects(repo, [*tag_objects_to_read(refs), *blob_ids])
    tree.keep({oid: objects[oid] for oid in blob_ids if oid in objects})
    return tag_records(refs, objects)


def _parse_tag_object(name: str, object_id: str, raw: bytes) -> TagRecord:
    header, _, message = raw.partition(b"\n\n")
    fields: dict[bytes, bytes] = {}
    for line in header.split(b"\n"):
        key, _, value = line.partition(b" ")
        fields.setdefault(key, value)
    target = fields.get(b"object", b"")
    return TagRecord(
        name=name,
        ref_object=object_id,
        annotated=True,
        target=target.decode() if _HEX40.match(target) else None,
        target_type=fields.get(b"type", b"").decode("ascii", "replace") or None,
        tagger=fields.get(b"tagger", b"").decode("utf-8", "replace") or None,
        message=message,
    )


def cat_objects(repo: GitRepo, object_ids: Sequence[str]) -> dict[str, tuple[str, bytes] | None]:
    """(type, content) of many objects with one `git cat-file --batch`."""
    unique = list(dict.fromkeys(object_ids))
    if not unique:
        return {}
    request = "".join(f"{oid}\n" for oid in unique).encode()
    output = git.run_git(repo.root, "cat-file", "--batch", input_bytes=request).stdout
    result: dict[str, tuple[str, bytes] | None] = {}
    offset = 0
    for oid in unique:
        end = output.index(b"\n", offset)
        header = output[offset:end].decode("utf-8", "replace")
        offset = end + 1
        parts = header.split(" ")
        if len(parts) != 3 or parts[1] in ("missing", "ambiguous"):
            result[oid] = None
            continue
        size = int(parts[2])
        result[oid] = (parts[1], output[offset : offset + size])
        offset += size + 1
    return result


def read_blobs(repo: GitRepo, blob_ids: Iterable[str]) -> dict[str, bytes]:
    """Contents of blobs by id (missing or non-blob ids are left out)."""
    found = cat_objects(repo, list(blob_ids))
    return {oid: value[1] for oid, value in found.items() if value and value[0] == "blob"}


def read_history(repo: GitRepo, rev: str) -> History:
    """`rev`'s first-parent history (`history_of`), `rev` resolved as a branch
    (git.resolve_branch): a tag that imitates main's name never replaces it."""
    return history_of(repo, rev if rev == "HEAD" else git.resolve_branch(repo.root, rev)[1])


def history_of(repo: GitRepo, commit: str) -> History:
    """The first-parent history of `commit` (a commit id, or HEAD), oldest first, each commit
    with its diff against its first parent (the root commit against the empty tree), paths
    relative to the governed root. One `git log` process, which resolves HEAD itself; a HEAD
    that names no commit is refused as git.rev_parse refuses it."""
    try:
        output = git.run_git(
            repo.root,
            "log",
            "--first-parent",
            "--reverse",
            "--root",
            "--diff-merges=first-parent",
            "--raw",
            "-M",
            "--no-abbrev",
            "-z",
            "--format=%x01%H%x00%T%x00%P%x00%cI%x00",
            commit,
            "--",
        ).stdout
    except GitError:
        git.rev_parse(repo.root, commit)  # its refusal says what is wrong
        raise
    if not output:  # git log walks no tree or blob: what names one is not a commit
        git.rev_parse(repo.root, commit)
        raise GitError(f"{commit!r} has no history in {repo.root}")
    return History(tuple(_parse_log(output, repo.prefix)))


def _parse_log(output: bytes, prefix: str) -> list[HistoryCommit]:
    commits: list[HistoryCommit] = []
    position = 0
    length = len(output)
    while position < length:
        if output[position] != 1:
            raise GitError("unexpected `git log` output; is this git 2.31 or newer?")
        fields = []
        cursor = position + 1
        for _ in range(4):
            end = output.index(b"\0", cursor)
            fields.append(output[cursor:end].decode("ascii", "replace"))
            cursor = end + 1
        sha, tree, parents, date = fields
        changes: list[RawChange] = []
        while cursor < length and output[cursor] in (0x0A, 0x00):
            cursor += 1
        while cursor < length and output[cursor] == ord(":"):
            end = output.index(b"\0", cursor)
            meta = output[cursor + 1 : end].decode("ascii").split(" ")
            cursor = end + 1
            _old_mode, new_mode, old_blob, new_blob, status = meta[:5]
            kind = status[0]
            end = output.index(b"\0", cursor)
            first = output[cursor:end].decode("utf-8", "surrogateescape")
            cursor = end + 1
            second: str | None = None
            if kind in ("R", "C"):
                end = output.index(b"\0", cursor)
                second = output[cursor:end].decode("utf-8", "surrogateescape")
                cursor = end + 1
            path, old_path = (second, first) if second is not None else (first, None)
            change = _relative(
                RawChange(
                    kind,
                    path,
                    old_path,
                    None if set(old_blob) == {"0"} else old_blob,
                    None if set(new_blob) == {"0"} else new_blob,
                    new_mode,
                ),
                prefix,
            )
            if change is not None:
                changes.append(change)
            while cursor < length and output[cursor] == 0x0A:
                cursor += 1
        commits.append(
            HistoryCommit(
                sha=sha,
                tree=tree,
                parents=tuple(parents.split()),
                committed_at=dt.datetime.fromisoformat(date),
                changes=tuple(changes),
            )
        )
        position = cursor
    return commits


def _relative(change: RawChange, prefix: str) -> RawChange | None:
    if not prefix:
        return change
    inside_new = change.path.startswith(prefix)
    inside_old = change.old_path is not None and change.old_path.startswith(prefix)
    if not inside_new and not inside_old:
        return None
    if inside_new and change.old_path is not None and not inside_old:
        return RawChange(
            "A", change.path.removeprefix(prefix), None, None, change.new_blob, change.new_mode
        )
    if not inside_new:
        assert change.old_path is not None
        return RawChange(
            "D", change.old_path.removeprefix(prefix), None, change.old_blob, None, change.new_mode
        )
    return RawChange(
        change.status,
        change.path.removeprefix(prefix),
        change.old_path.removeprefix(prefix) if change.old_path else None,
        change.old_blob,
        change.new_blob,
        change.new_mode,
    )


# --- writing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WriteResult:
    tag: str
    outcome: str  # "created" or "unchanged"


class LedgerConflict(ConfigError):
    """A tag with this name exists and says something else: never overwritten (exit 2)."""


def existing_tag(repo: GitRepo, name: str) -> TagRecord | None:
    found = git.run_git(
        repo.root, "for-each-ref", "--format=%(objectname) %(objecttype)", f"refs/tags/{name}"
    ).stdout.decode()
    line = found.strip()
    if not line:
        return None
    object_id, kind = line.split(" ")
    if kind != "tag":
        return TagRecord(name, object_id, False, object_id, kind, None, b"")
    obj = cat_objects(repo, [object_id]).get(object_id)
    if obj is None:
        return TagRecord(name, object_id, True, None, None, None, b"")
    return _parse_tag_object(name, object_id, obj[1])


def same_record(existing: TagRecord, commit: str, envelope_json: str) -> bool:
    """Same target commit and the same signed statement (payload and type); signatures may
    differ (e.g. re-signed after a key rotation)."""
    if not existing.annotated or existing.target != commit:
        return False
    try:
        old = parse_envelope(existing.message.strip())
        new = parse_envelope(envelope_json)
    except EnvelopeError:
        return False
    return old.payload == new.payload and old.payload_type == new.payload_type


def write_tag(repo: GitRepo, name: str, commit: str, envelope_json: str) -> WriteResult:
    """Create the annotated tag, or judge the one already there: `git tag` never replaces a
    tag, so the tag is looked up only when git refuses (it exists, or was written meanwhile
    by another run)."""
    try:
        git.run_git(
            repo.root,
            *repo.tagger_args,
            "tag",
            "--annotate",
            "--no-sign",
            "--cleanup=verbatim",
            "--file=-",
            name,
            commit,
            input_bytes=(envelope_json + "\n").encode("utf-8"),
        )
    except GitError:
        current = existing_tag(repo, name)
        if current is None:
            raise
        return _judge_existing(current, name, commit, envelope_json)
    return WriteResult(name, "created")


def _judge_existing(current: TagRecord, name: str, commit: str, envelope_json: str) -> WriteResult:
    if same_record(current, commit, envelope_json):
        return WriteResult(name, "unchanged")
    where = current.target[:12] if current.target else "an unreadable object"
    raise LedgerConflict(
        f"tag {name} already exists on {where} with a different record than the one for "
        f"{commit[:12]}; it is never overwritten: run promotion-bot audit, and delete the "
        "tag only if the audit shows it is wrong"
    )


def push_tags(repo: GitRepo, remote: str, names: Sequence[str]) -> None:
    """Push the tags in one `git push` (a tag already there with the same object is a no-op;
    git refuses to move an existing remote tag)."""
    if not names:
        return
    git.run_git(repo.root, "push", "--porcelain", remote, *(f"refs/tags/{n}" for n in names))


# --- reading files of main's commits in batches -------------------------------------------


class HistoryTree:
    """Files at main's first-parent commits: blob ids by replaying the history's diffs, blob
    contents in one `git cat-file --batch` per `prepare`. Implements audit.TreeSource, and
    the engine's RevisionReader for commits on the history (others: one git call each,
    counted in `extra_reads`)."""

    def __init__(self, repo: GitRepo, history: History) -> None:
        self.repo = repo
        self.history = history
        self._wanted: dict[str, set[str]] = {}
        self._blob_ids: dict[tuple[str, str], str | None] = {}
        self._contents: dict[str, bytes] = {}
        self._digests: dict[str, str] = {}
        self.extra_reads = 0
        self.batches = 0

    def prepare(self, wanted: dict[str, set[str]], fetch: bool = True) -> None:
        """Resolve the blob ids of `wanted` (commit -> paths) and fetch their contents."""
        from promotion_bot.core.history import TreeReplay

        new = {
            sha: {p for p in paths if (sha, p) not in self._blob_ids}
            for sha, paths in wanted.items()
        }
        new = {sha: paths for sha, paths in new.items() if paths}
        if not new:
            return
        replay = TreeReplay(self.history)
        for sha, paths in new.items():
            replay.want(sha, paths)
        replay.run()
        for sha, paths in new.items():
            for path in paths:
                self._blob_ids[(sha, path)] = replay.blob(sha, path)
        if fetch:
            missing = {
                self._blob_ids[(sha, p)]
                for sha, paths in new.items()
                for p in paths
                if self._blob_ids[(sha, p)] and self._blob_ids[(sha, p)] not in self._contents
            }
            self._fetch(sorted(b for b in missing if b))

    def _fetch(self, blob_ids: Sequence[str]) -> None:
        if not blob_ids:
            return
        self.batches += 1
        self._contents.update(read_blobs(self.repo, blob_ids))

    def share_contents(self, other: HistoryTree) -> None:
        """Use (and add to) the blob contents `other` read: a blob id names the same bytes
        whatever commit it is read at."""
        self._contents, self._digests = other._contents, other._digests

    def unfetched(self) -> list[str]:
        """The blob ids resolved by `prepare` whose contents are not here yet, for a caller
        that reads them with other objects in one batch (`keep`)."""
        return sorted({b for b in self._blob_ids.values() if b and b not in self._contents})

    def keep(self, objects: dict[str, tuple[str, bytes] | None]) -> None:
        """The contents of the blobs among `objects` (`cat_objects`' answer): what is not a
        blob is left out, as `read_blobs` leaves it out."""
        if objects:
            self.batches += 1
        self._contents.update(
            (oid, found[1]) for oid, found in objects.items() if found and found[0] == "blob"
        )

    def blob_id(self, commit: str, path: str) -> str | None:
        key = (commit, path)
        if key not in self._blob_ids:
            if self.history.index(commit) is None:
                return None
            self.prepare({commit: {path}}, fetch=False)
        return self._blob_ids.get(key)

    def content(self, blob_id: str) -> bytes | None:
        if blob_id not in self._contents:
            self._fetch([blob_id])
        return self._contents.get(blob_id)

    def sha256(self, blob_id: str) -> str | None:
        if blob_id not in self._digests:
            data = self.content(blob_id)
            if data is None:
                return None
            self._digests[blob_id] = hashlib.sha256(data).hexdigest()
        return self._digests[blob_id]

    # RevisionReader (promotion_bot.core.evaluation_inputs) for the approval engine
    def read(self, rev: str, path: str) -> bytes | None:
        if self.history.index(rev) is not None:
            blob = self.blob_id(rev, path)
            return self.content(blob) if blob else None
        self.extra_reads += 1
        return git.read_blob(self.repo.root, rev, self.repo.prefix + path)

    def changes(self, base: str, head: str) -> list[Change]:
        commit = self.history.commit(head)
        if commit is not None and commit.first_parent == base:
            return [Change(c.status, c.path, c.old_path) for c in commit.changes]
        self.extra_reads += 1
        found = git.diff_changes(self.repo.root, base, head, ["."] if self.repo.prefix else [])
        return [
            Change(
                c.status,
                c.path.removeprefix(self.repo.prefix),
                c.old_path.removeprefix(self.repo.prefix) if c.old_path else None,
            )
            for c in found
        ]
