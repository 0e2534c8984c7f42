"""The record use case: sign a promotion record for every unrecorded merge on main.

Run on push to main. It walks main's first-parent history, finds every commit after the last
recorded one that adds change requests (so a cancelled run leaves no gap), re-evaluates the
approvals at merge time, and writes one signed record per change request as the annotated tag
promotion/<change_id> on that commit. A merge that did not satisfy the policy is recorded too,
marked as a violation, and the command exits 1 so that the workflow run is red.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from promotion_bot.adapters import git
from promotion_bot.adapters.clock import utc_now
from promotion_bot.adapters.github import Connection, GitHubClient, PullReader
from promotion_bot.adapters.github_facts import CHECKS_WORKFLOW, GitHubFacts, LazyFacts
from promotion_bot.adapters.github_settings import GitHubSettings
from promotion_bot.adapters.key_files import signing_identity
from promotion_bot.adapters.ledger import (
    GitRepo,
    HistoryTree,
    history_of,
    push_tags,
    read_ledger_refs,
    read_tags_and_files,
    write_tag,
)
from promotion_bot.adapters.offline_facts import OfflineFacts
from promotion_bot.core.codeowners import CODEOWNERS_LOCATIONS
from promotion_bot.core.dsse import parse_envelope, sign
from promotion_bot.core.errors import ConfigError, Problem
from promotion_bot.core.formats.documents import POLICY_PATH, load_change_request, load_policy
from promotion_bot.core.git_facts import Change, TagRecord
from promotion_bot.core.globs import match_any
from promotion_bot.core.governance import BASELINE_PATH, governance_patterns
from promotion_bot.core.history import History, HistoryCommit
from promotion_bot.core.keys import (
    SIGNING_KEY_ENV,
    SigningIdentity,
    TrustedKey,
    keyid_of,
    trusted_from_policy,
)
from promotion_bot.core.merge_decision import MergedAsHead, MergeQuestion, decide
from promotion_bot.core.merge_facts import (
    MergeFacts,
    MergeFactsSource,
    merge_commit_facts,
    merged_at,
    pull_request_facts,
)
from promotion_bot.core.models import ChangeRequest, Policy
from promotion_bot.core.policy import governed_paths
from promotion_bot.core.records import (
    ChainLink,
    FileDigest,
    RecordError,
    RecordInputs,
    build_statement,
    parse_statement,
    statement_bytes,
    statement_digest,
    tag_name,
)
from promotion_bot.flows.merge_declarations import merge_declaration_problems
from promotion_bot.flows.record_governance import (
    adds_baseline,
    record_governance,
    record_id_for,
)

__all__ = ["CHECKS_WORKFLOW", "RecordOutcome", "RecordRequest", "facts_source", "record",
           "record_merges"]


@dataclass(frozen=True)
class RecordRequest:
    root: Path
    ref: str
    snapshots: Sequence[Path]
    evidence: Sequence[Path]
    key_file: Path | None
    remote: str | None  # push the new tags here
    github: GitHubSettings
    dry_run: bool
    environ: Mapping[str, str]
    progress: Callable[[int, int], None] | None = None
    checks_workflow: str = CHECKS_WORKFLOW  # the only workflow whose artifacts are evidence


@dataclass
class RecordOutcome:
    change_id: str
    commit: str
    tag: str
    written: str  # created | unchanged | dry-run
    approved: bool
    summary: str
    violations: tuple[str, ...]

    def as_data(self) -> dict[str, object]:
        return {
            "change_id": self.change_id,
            "commit": self.commit,
            "tag": self.tag,
            "written": self.written,
            "approved": self.approved,
            "summary": self.summary,
            "violations": list(self.violations),
        }


def record(request: RecordRequest) -> list[RecordOutcome]:
    """Sign and tag every unrecorded merge (and push the new tags when asked)."""
    identity = signing_identity(request.environ, request.key_file)
    source = facts_source(request.snapshots, request.evidence, request.github, request.environ,
                          request.checks_workflow)
    repo = GitRepo.at(request.root)
    outcomes = record_merges(
        repo, request.ref, source, identity, dry_run=request.dry_run, progress=request.progress
    )
    if request.remote and not request.dry_run:
        push_tags(repo, request.remote, [o.tag for o in outcomes if o.written == "created"])
    return outcomes


def facts_source(snapshots: Sequence[Path], evidence: Sequence[Path], github: GitHubSettings,
                 environ: Mapping[str, str],
                 checks_workflow: str = CHECKS_WORKFLOW) -> MergeFactsSource:
    """Where the pull request facts come from: snapshot and evidence files when given (tests,
    re-recording by hand), else the GitHub API (in Actions). Never nothing: without facts every
    merge would be signed as a violation, and records are permanent."""
    if snapshots or evidence:
        return OfflineFacts(list(snapshots), list(evidence))
    repository = github.repository or environ.get("GITHUB_REPOSITORY")
    connection = Connection.from_environment(
        environ, api_url=github.api_url, timeout=github.timeout, retries=github.retries,
        pace=github.pace)
    if not repository or not (connection.token or connection.app_id):
        raise ConfigError(
            "record needs the facts of each merged pull request: run it in GitHub Actions with "
            "GITHUB_REPOSITORY and a token (GITHUB_TOKEN / PROMOTION_BOT_TOKEN) or GitHub App "
            "credentials, or give --snapshot and --evidence files")
    name = repository
    return LazyFacts(lambda: GitHubFacts(PullReader(GitHubClient(connection, name)), name,
                                         utc_now, checks_workflow=checks_workflow))


def record_merges(
    repo: GitRepo,
    ref: str,
    source: MergeFactsSource,
    identity: SigningIdentity,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    refuse_untrusted: bool = True,
) -> list[RecordOutcome]:
    """Record every pending merge. `refuse_untrusted=False` is a recorder that ignores which
    keys the policy trusts (what a holder of a retired or foreign key could run): only tests
    use it, to make the records the audit must reject."""
    tip, refs = read_ledger_refs(repo, ref)
    history = history_of(repo, tip)
    tree = HistoryTree(repo, history)
    tags = read_tags_and_files(repo, refs, tree, _pending_plan(history.commits))
    by_name = {tag.name: tag for tag in tags}
    pending = _pending_merges(history.commits, tree, by_name)
    signer = _trusted_signer(tree, history, identity, ref, bool(pending)) \
        if refuse_untrusted else []
    last = _last_records(tags, history)
    outcomes: list[RecordOutcome] = []
    for done, (commit, policy, crs, unreadable) in enumerate(pending, 1):
        if progress is not None:
            progress(done, len(pending))
        if unreadable:
            # this merge cannot be recorded; the merges after it still are (audit:
            # INVALID_CHANGE_REQUEST)
            outcomes.extend(_unreadable_outcome(commit, path, problems)
                            for path, problems in unreadable)
            continue
        if not crs:
            governance = _record_governance_merge(
                repo, tree, commit, policy, source, identity, signer, by_name, dry_run
            )
            if governance is not None:
                outcomes.append(governance)
            continue
        # recorded already (possibly by a parallel run): ask no one for its facts
        missing = [cr for cr in crs if tag_name(cr.change_id) not in by_name]
        if not missing:
            continue
        facts = source.snapshot_for_merge(commit)
        _refuse_outside_window(signer, identity, commit, facts,
                               ", ".join(cr.change_id for cr in missing))
        compared: dict[tuple[str, str], Compared] = {}  # the merge's change requests share it
        for cr in missing:
            outcome, payload = _record_one(
                repo, tree, commit, policy, crs, cr, facts, identity, last, dry_run, compared
            )
            outcomes.append(outcome)
            last[cr.target] = ChainLink(cr.change_id, commit.sha, statement_digest(payload))
    return outcomes


Unreadable = list[tuple[str, list[Problem]]]
Compared = tuple[str | None, tuple[str, ...] | None]  # _compare_head's answer
Pending = tuple[HistoryCommit, Policy, list[ChangeRequest], Unreadable]


def _pending_merges(
    commits: tuple[HistoryCommit, ...], tree: HistoryTree, tags: dict[str, TagRecord]
) -> list[Pending]:
    """Governed commits adding change requests, and governance merges (no change request;
    governance files changed, or the adoption baseline added), after the newest commit that
    has a record. A file in the change request folder that cannot be read is reported for
    its own merge (`Unreadable`), never for the merges before or after it."""
    found: list[Pending] = []
    tagged = {tag.target for tag in tags.values()}
    tree.prepare(_pending_plan(commits))
    policies: dict[str, Policy | None] = {}
    last_good: Policy | None = None
    for commit in commits:
        policy = _policy_at(tree, commit.first_parent, policies)
        # once a policy existed, a missing or unreadable one is no way out: the merge is
        # judged (and recorded as a violation: the gate could not have approved it) with the
        # policy read at its base, while the last readable one names the change request folder
        policy = policy or last_good
        if policy is None:
            adopted = _policy_at(tree, commit.sha, policies)
            if adopted is not None and adds_baseline(commit):  # the adoption, with a baseline
                found.append((commit, adopted, [], []))
            continue
        last_good = policy
        crs, unreadable = _added(tree, commit, policy.change_request_dir)
        if commit.sha in tagged:
            found = [(commit, policy, crs, [])]  # recorded: catch up only from here on
        elif (
            crs or unreadable or commit.touches(governance_patterns(policy))
            or adds_baseline(commit)
        ):
            found.append((commit, policy, crs, unreadable))
    return found


def _pending_plan(commits: tuple[HistoryCommit, ...]) -> dict[str, set[str]]:
    """The files `_pending_merges` reads at each commit."""
    return {
        c.sha: {POLICY_PATH, BASELINE_PATH, *CODEOWNERS_LOCATIONS, *c.added("change-requests")}
        for c in commits
    }


def _unreadable_outcome(commit: HistoryCommit, path: str, problems: list[Problem]) -> RecordOutcome:
    return RecordOutcome(
        PurePosixPath(path).stem,
        commit.sha,
        tag_name(PurePosixPath(path).stem),
        "skipped",
        False,
        f"not recorded: {path} is not a valid change request, so {commit.sha[:12]} promotes "
        "nothing (the audit reports it as INVALID_CHANGE_REQUEST); the merges after it are "
        "recorded",
        tuple(problem.render() for problem in problems),
    )


def _record_governance_merge(
    repo: GitRepo,
    tree: HistoryTree,
    commit: HistoryCommit,
    policy: Policy,
    source: MergeFactsSource,
    identity: SigningIdentity,
    signer: list[TrustedKey],
    tags: dict[str, TagRecord],
    dry_run: bool,
) -> RecordOutcome | None:
    if tag_name(record_id_for(commit)) in tags:
        return None
    if not (commit.touches(governance_patterns(policy)) or adds_baseline(commit)):
        return None  # the newest recorded commit, kept as the catch-up's starting point
    adoption = _policy_at(tree, commit.first_parent, {}) is None
    facts = source.snapshot_for_merge(commit)
    _refuse_outside_window(signer, identity, commit, facts, record_id_for(commit))
    result = record_governance(
        repo, tree, commit, policy, facts, identity,
        lambda head, merge, rules: _compare_head(repo, head, merge, rules),
        adoption=adoption, dry_run=dry_run,
    )
    return RecordOutcome(result.record_id, result.commit, result.tag, result.written,
                         result.approved, result.summary, result.violations)


def _policy_at(
    tree: HistoryTree, commit: str | None, cache: dict[str, Policy | None]
) -> Policy | None:
    if commit is None:
        return None
    blob = tree.blob_id(commit, POLICY_PATH)
    if blob is None:
        return None
    if blob not in cache:
        raw = tree.content(blob)
        cache[blob] = load_policy(raw, POLICY_PATH).value if raw else None
    return cache[blob]


def _added(
    tree: HistoryTree, commit: HistoryCommit, directory: str
) -> tuple[list[ChangeRequest], Unreadable]:
    found: list[ChangeRequest] = []
    unreadable: Unreadable = []
    for path in commit.added(directory):
        blob = tree.blob_id(commit.sha, path)
        raw = tree.content(blob) if blob else None
        loaded = load_change_request(raw or b"", path)
        if loaded.value is None:
            unreadable.append((path, loaded.problems))
        else:
            found.append(loaded.value)
    return sorted(found, key=lambda cr: cr.change_id), unreadable


def _last_records(tags: list[TagRecord], history: History) -> dict[str, ChainLink]:
    """target -> the newest record on main (by position), for the chain."""
    best: dict[str, tuple[int, str, ChainLink]] = {}
    for tag in tags:
        if tag.target is None:
            continue
        position = history.index(tag.target)
        if position is None:
            continue
        try:
            envelope = parse_envelope(tag.message.strip())
            parsed = parse_statement(envelope.payload)
        except (ValueError, RecordError):
            continue
        key = (position, parsed.change_id)
        current = best.get(parsed.target)
        if current is None or key > (current[0], current[1]):
            best[parsed.target] = (
                position,
                parsed.change_id,
                ChainLink(parsed.change_id, parsed.merge_commit, parsed.digest),
            )
    return {target: value[2] for target, value in best.items()}


def _record_one(
    repo: GitRepo,
    tree: HistoryTree,
    commit: HistoryCommit,
    policy: Policy,
    crs: list[ChangeRequest],
    cr: ChangeRequest,
    facts: MergeFacts | None,
    identity: SigningIdentity,
    last: dict[str, ChainLink],
    dry_run: bool,
    compared: dict[tuple[str, str], Compared],
) -> tuple[RecordOutcome, bytes]:
    base = commit.first_parent
    assert base is not None
    snapshot = facts.snapshot if facts else None
    differences: tuple[str, ...] | None = ()
    head_tree: str | None = None
    if snapshot is not None:
        pair = (snapshot.head_sha, commit.sha)
        if pair not in compared:
            compared[pair] = _compare_head(repo, *pair, policy)
        head_tree, differences = compared[pair]
    question = MergeQuestion(
        base=base,
        merge=commit.sha,
        snapshot=snapshot,
        evidence=facts.evidence if facts else None,
        change_requests=tuple(crs),
        policy=policy,
        tree_differences=differences,
        evidence_note=facts.evidence_note if facts else "",
        declaration_problems=merge_declaration_problems(tree, commit, policy, crs),
    )
    changes = [Change(c.status, c.path, c.old_path) for c in commit.changes]
    reader = MergedAsHead(tree, snapshot.head_sha if snapshot else commit.sha, commit.sha, changes)
    decision = decide(question, reader)
    cr_blob = tree.blob_id(commit.sha, cr.source_path)
    policy_blob = tree.blob_id(base, POLICY_PATH)
    inputs = RecordInputs(
        change_request=cr,
        change_request_path=cr.source_path,
        change_request_sha256=tree.sha256(cr_blob) or "" if cr_blob else "",
        pull_request=pull_request_facts(facts, head_tree),
        merge=merge_commit_facts(commit, base, facts),
        policy=FileDigest(POLICY_PATH, tree.sha256(policy_blob) if policy_blob else None),
        codeowners=_codeowners_digest(tree, base),
        decision=decision,
        snapshot=facts.snapshot_data if facts else None,
        evidence=facts.evidence if facts else None,
        previous=last.get(cr.target),
    )
    payload = statement_bytes(build_statement(inputs))
    envelope = sign(payload, identity.private_key, identity.keyid)
    name = tag_name(cr.change_id)
    written = "dry-run"
    if not dry_run:
        written = write_tag(repo, name, commit.sha, envelope.to_json()).outcome
    outcome = RecordOutcome(
        cr.change_id,
        commit.sha,
        name,
        written,
        decision.approved,
        decision.summary,
        decision.violations,
    )
    return outcome, payload


def _trusted_signer(tree: HistoryTree, history: History, identity: SigningIdentity, ref: str,
                    pending: bool) -> list[TrustedKey]:
    """The entries of the policy on main (the tip of `ref`, where audit and verify read the
    trusted keys) that name the signing key. A key the policy does not trust, or has revoked,
    signs nothing: every record it made would be a finding, and records are permanent."""
    tip = history.tip
    policy = _policy_at(tree, tip.sha, {}) if tip is not None else None
    if policy is None:
        if pending:
            raise ConfigError(f"the policy at the tip of {ref} cannot be read, so no signing key "
                              "is trusted; nothing is recorded: run promotion-bot validate")
        return []
    fingerprint = keyid_of(identity.public_key)
    entries = [key for key in trusted_from_policy(policy.signing_keys, "policy on main")
               if key.fingerprint == fingerprint]
    if not entries:
        listed = ", ".join(key.keyid[:16] for key in policy.signing_keys) or "none"
        raise ConfigError(
            f"the signing key {identity.keyid[:16]} ({identity.source}) is not trusted by the "
            f"policy on {ref} (signing.keys: {listed}): audit and verify would reject every "
            "record it signs, so nothing is recorded. Sign with a key the policy lists, or add "
            "this one (promotion-bot keys show prints it) through a pull request first")
    if any(key.revoked for key in entries):
        raise ConfigError(
            f"the signing key {identity.keyid[:16]} ({identity.source}) is revoked in the policy "
            f"on {ref}; nothing is recorded: put a trusted key in {SIGNING_KEY_ENV}")
    return entries


def _refuse_outside_window(signer: list[TrustedKey], identity: SigningIdentity,
                           commit: HistoryCommit, facts: MergeFacts | None, what: str) -> None:
    """Audit judges a key at the later of the recorded merged_at and the merge commit's time;
    a key outside its window there would make the record a KEY_EXPIRED finding."""
    when = max(merged_at(commit, facts), commit.committed_at)
    problems = [key.problem_at(when) for key in signer]
    if signer and all(problems):
        shown = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise ConfigError(
            f"the signing key {identity.keyid[:16]} is {problems[0]} for the merge "
            f"{commit.sha[:12]} ({what}, merged {shown}; the "
            f"key is valid {signer[0].window()}): its record would not verify, so it is not "
            "written; sign with the key that was valid then")


def _codeowners_digest(tree: HistoryTree, base: str) -> FileDigest | None:
    for location in CODEOWNERS_LOCATIONS:
        blob = tree.blob_id(base, location)
        if blob is not None:
            return FileDigest(location, tree.sha256(blob))
    return None


def _compare_head(repo: GitRepo, head: str, merge: str, policy: Policy) -> Compared:
    """(tree of head, governed paths where merge differs from head); (None, None) when the
    head commit is not in this clone."""
    probe = git.run_git(
        repo.root, "rev-parse", "--verify", "--quiet", f"{head}^{{tree}}", ok_codes=(0, 1, 128)
    )
    if probe.returncode != 0:
        raise ConfigError(
            f"the approved head {head[:12]} is not in this clone, so the merged tree cannot be "
            f"compared with it; fetch it (git fetch origin {head}) and run again"
        )
    head_tree = probe.stdout.decode().strip()
    changes = git.diff_changes(repo.root, head, merge, ["."] if repo.prefix else [])
    patterns = (*governed_paths(policy), f"{policy.change_request_dir.rstrip('/')}/**")
    differing: list[str] = []
    for change in changes:
        for path in (change.old_path, change.path):
            if path is None:
                continue
            relative = path.removeprefix(repo.prefix)
            if match_any(patterns, relative) and relative not in differing:
                differing.append(relative)
    return head_tree, tuple(differing)
