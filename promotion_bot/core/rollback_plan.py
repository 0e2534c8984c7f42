"""Rollback planning: what a rollback of a promotion restores, or why it is refused. Pure.

The input is main's promotions in merge order (`Promotion`, one per change request merged on
main's first-parent history, built from the ledger by the command). Rolling back CR-X means:

- revert the merge that promoted CR-X, and restore the version CR-X replaced
  (its `current_version`);
- refused when CR-X is unknown, not merged on main, already rolled back, the first promotion of
  its target (there is nothing earlier to restore), merged together with promotions of other
  targets (a revert would undo them too), or when later promotions of the same target built on
  it: those would be undone silently. `--to CR-W` names the earlier promotion to return to
  explicitly; then every promotion of the target after CR-W is reverted, newest first, and the
  rollback's `rollback_of` is the oldest of them (the one whose `current_version` is CR-W's
  version, which is what the audit's lineage rule checks).

The rollback change request, its artifacts and the pull request body are built here too; the
command does the git work (revert in a temporary work tree) and the GitHub calls.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from promotion_bot.core.globs import match_any
from promotion_bot.core.models import Artifact, ChangeRequest, PromptRef

MARKER_PREFIX = "<!-- promotion-bot:rollback-of="
CHANGE_ID = re.compile(r"^CR-([0-9]{4})-([0-9]{4,6})$")


def marker(rollback_of: str) -> str:
    """The hidden marker of a rollback pull request's body: its idempotency key."""
    return f"{MARKER_PREFIX}{rollback_of} -->"


def branch_name(change_id: str) -> str:
    return f"rollback/{change_id}"


@dataclass(frozen=True)
class Promotion:
    """One change request merged on main, with what the ledger says about it."""

    change_id: str
    target: str
    change_type: str
    from_version: str | None
    to_version: str
    rollback_of: str | None
    commit: str  # the merge (or squash) commit that added the change request
    parents: tuple[str, ...]
    merged_at: dt.datetime
    state: str  # recorded | violation | unrecorded | invalid
    tag: str | None = None
    pull_number: int | None = None
    pull_url: str | None = None
    artifacts: tuple[Artifact, ...] = ()
    merged_with: tuple[str, ...] = ()  # other change requests the same commit added

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    def describe(self) -> str:
        before = self.from_version or "nothing"
        return (
            f"{self.change_id} ({self.target} {before} -> {self.to_version}, merged "
            f"{self.merged_at.astimezone(dt.UTC):%Y-%m-%d} in {self.commit[:12]})"
        )


@dataclass(frozen=True)
class RollbackPlan:
    """What the rollback does: revert `undone` (newest first), restore `restore_version`."""

    requested: str  # the change_id the user named
    rollback_of: str  # the oldest undone promotion
    target: str
    change_type: str
    version_now: str
    restore_version: str
    undone: tuple[Promotion, ...]  # newest first: the order of the reverts
    restored_from: Promotion | None  # the promotion that made restore_version current
    to: str | None = None  # --to, as given

    @property
    def branch(self) -> str:
        return branch_name(self.requested)

    @property
    def marker(self) -> str:
        return marker(self.rollback_of)


@dataclass(frozen=True)
class Refusal:
    """Why a rollback is refused (exit 1), and what to do instead."""

    code: str
    message: str
    hint: str | None = None

    def render(self) -> str:
        return self.message + (f"\n  {self.hint}" if self.hint else "")


def live_promotions(
    lineage: Sequence[Promotion],
) -> tuple[list[Promotion], dict[str, Promotion]]:
    """The promotions of one target in effect now (oldest first; the last one made the current
    version), and for every promotion a rollback undid, that rollback. A rollback undoes its
    `rollback_of` and everything promoted after it; a rollback of something not in effect
    (e.g. of another rollback) counts as a promotion of its own."""
    live: list[Promotion] = []
    undone_by: dict[str, Promotion] = {}
    for promotion in lineage:
        ids = [p.change_id for p in live]
        if promotion.rollback_of is not None and promotion.rollback_of in ids:
            cut = ids.index(promotion.rollback_of)
            for popped in live[cut:]:
                undone_by[popped.change_id] = promotion
            del live[cut:]
        else:
            live.append(promotion)
    return live, undone_by


def plan_rollback(
    change_id: str,
    promotions: Sequence[Promotion],
    *,
    to: str | None = None,
    base_name: str = "main",
    known_elsewhere: Iterable[str] = (),
    ungoverned: Iterable[str] = (),
) -> RollbackPlan | Refusal:
    """Decide what rolling back `change_id` restores. `promotions`: main's governed ones,
    oldest first. `known_elsewhere`: change_ids that exist but are not merged on main (a
    working tree, a record on another commit), to tell "never promoted" from "unknown";
    `ungoverned`: change requests merged on main before it had a policy."""
    by_id = {p.change_id: p for p in promotions}
    elsewhere, before_policy = set(known_elsewhere), set(ungoverned)
    chosen = by_id.get(change_id)
    if chosen is None:
        return _unknown(change_id, elsewhere, before_policy, base_name, "")
    lineage = [p for p in promotions if p.target == chosen.target]
    live, undone_by = live_promotions(lineage)
    version_now = lineage[-1].to_version
    if change_id in undone_by:
        done_by = undone_by[change_id]
        return Refusal(
            "ALREADY_ROLLED_BACK",
            f"refused: {change_id} was already rolled back by {done_by.describe()}; "
            f"{chosen.target} is at {version_now} on {base_name} now",
            "nothing to do; to undo the rollback itself, run: promotion-bot rollback "
            f"{done_by.change_id}",
        )
    if chosen not in live:  # a rollback in effect: undoing it re-promotes what it removed
        later = lineage[lineage.index(chosen) + 1 :]
        if later or to is not None:
            return _later_refusal(chosen, later, None)
        return _plan(chosen, (chosen,), chosen.from_version, lineage, version_now, base_name, to)
    position = live.index(chosen)
    above = live[position + 1 :]
    if to is None:
        if above:
            return _later_refusal(chosen, above, live[position - 1] if position else None)
        return _plan(chosen, (chosen,), chosen.from_version, lineage, version_now, base_name, to)
    goal = by_id.get(to)
    if goal is None:
        refusal = _unknown(to, elsewhere, before_policy, base_name, "--to ")
        return Refusal(
            refusal.code,
            refusal.message,
            f"--to names an earlier promotion of {chosen.target} to return to: "
            + _choices(live[:position]),
        )
    if goal.target != chosen.target:
        return Refusal(
            "TO_OTHER_TARGET",
            f"refused: --to {to} promoted {goal.target}, but {change_id} promoted {chosen.target}",
            f"--to names an earlier promotion of {chosen.target}: " + _choices(live[:position]),
        )
    if goal.change_id in undone_by:
        return Refusal(
            "TO_ROLLED_BACK",
            f"refused: --to {to} was rolled back by {undone_by[goal.change_id].change_id}; "
            "its version is not one to return to",
            f"choose one of: {_choices(live[:position])}",
        )
    if goal not in live[:position]:
        return Refusal(
            "TO_NOT_EARLIER",
            f"refused: --to {to} was merged {'as' if goal is chosen else 'after'} "
            f"{change_id}; it must name a promotion of {chosen.target} in effect before it",
            f"choose one of: {_choices(live[:position])}",
        )
    undone = tuple(reversed(live[live.index(goal) + 1 :]))
    if goal.to_version == version_now:
        return Refusal(
            "NOTHING_TO_RESTORE",
            f"refused: {chosen.target} is at {version_now} on {base_name} already, the "
            f"version {to} promoted",
        )
    return _plan(chosen, undone, goal.to_version, lineage, version_now, base_name, to)


def _plan(
    chosen: Promotion,
    undone: tuple[Promotion, ...],
    restore: str | None,
    lineage: Sequence[Promotion],
    version_now: str,
    base_name: str,
    to: str | None,
) -> RollbackPlan | Refusal:
    oldest = undone[-1]
    if restore is None:
        return Refusal(
            "NOTHING_TO_RESTORE",
            f"refused: {oldest.change_id} is the first promotion of {chosen.target}; there is "
            "no earlier promoted version to restore",
            "to retire the target, open a pull request that removes its files (an ordinary "
            "governed change)",
        )
    shared = [p for p in undone if p.merged_with]
    if shared:
        first = shared[0]
        return Refusal(
            "SHARED_MERGE",
            f"refused: {first.change_id} was merged in {first.commit[:12]} together with "
            f"{', '.join(first.merged_with)}; reverting that merge would undo them too",
            f"roll back by hand: a pull request that restores the files of {chosen.target} "
            f"{restore}, with a change request that has rollback_of: {oldest.change_id}",
        )
    before = lineage[: lineage.index(oldest)]
    restored_from = next((p for p in reversed(before) if p.to_version == restore), None)
    return RollbackPlan(
        requested=chosen.change_id,
        rollback_of=oldest.change_id,
        target=chosen.target,
        change_type=chosen.change_type,
        version_now=version_now,
        restore_version=restore,
        undone=undone,
        restored_from=restored_from,
        to=to,
    )


def _unknown(
    change_id: str, elsewhere: set[str], ungoverned: set[str], base_name: str, option: str
) -> Refusal:
    if change_id in ungoverned:
        return Refusal(
            "NOT_GOVERNED",
            f"refused: {option}{change_id} was merged on {base_name} before the policy "
            "existed; it is not a governed promotion",
            "roll back by hand with a change request (promotion-bot new) that restores its files",
        )
    if change_id in elsewhere:
        return Refusal(
            "NOT_PROMOTED",
            f"refused: {option}{change_id} was never promoted: it is not merged on {base_name}",
            "only a merged promotion can be rolled back; an open pull request is closed "
            "instead (or update this clone: git fetch origin --tags)",
        )
    return Refusal(
        "UNKNOWN_CHANGE",
        f"refused: {option}{change_id} is unknown: no change request of that id is merged on "
        f"{base_name}",
        "check the id (promotion-bot status lists what is promoted), or update this clone: "
        "git fetch origin --tags",
    )


def _later_refusal(
    chosen: Promotion, later: Sequence[Promotion], previous: Promotion | None
) -> Refusal:
    names = "; ".join(p.describe() for p in later)
    if not later:
        return Refusal(
            "TO_NOT_APPLICABLE",
            f"refused: {chosen.change_id} is a rollback; --to does not apply to it",
            f"to undo it, run: promotion-bot rollback {chosen.change_id}",
        )
    hint = f"to roll back the newest only: promotion-bot rollback {later[-1].change_id}"
    if previous is not None:
        hint = (
            f"to return to {previous.to_version} and revert these {len(later) + 1} "
            f"promotions explicitly: promotion-bot rollback {chosen.change_id} --to "
            f"{previous.change_id}; {hint}"
        )
    return Refusal(
        "LATER_PROMOTIONS",
        f"refused: rolling back {chosen.change_id} would silently undo later promotions of "
        f"{chosen.target}: {names}",
        hint,
    )


def _choices(promotions: Sequence[Promotion]) -> str:
    if not promotions:
        return "(none: no earlier promotion of it is in effect)"
    return ", ".join(f"{p.change_id} ({p.to_version})" for p in promotions)


# --- the rollback change request ----------------------------------------------------------


def next_change_id(used: Iterable[str], year: int) -> str:
    """The next free CR-<year>-NNNN after every id in `used` of that year."""
    numbers = [
        int(found.group(2))
        for found in (CHANGE_ID.match(change_id) for change_id in used)
        if found is not None and int(found.group(1)) == year
    ]
    return f"CR-{year}-{max(numbers, default=0) + 1:04d}"


@dataclass(frozen=True)
class FileRestore:
    """One governed file the rollback touches: its sha256 now (None: absent) and after."""

    path: str
    now: str | None
    after: str | None

    @property
    def action(self) -> str:
        if self.now == self.after:
            return "unchanged"
        if self.after is None:
            return "removed"
        if self.now is None:
            return "restored"
        return "reverted"


def restored_files(
    changed: Mapping[str, tuple[str | None, str | None]],
    governed_patterns: Sequence[str],
    restored_artifacts: Iterable[str],
    after: Mapping[str, str],
) -> list[FileRestore]:
    """The governed files of the rollback: every file under a change type's paths the revert
    changes (`changed`: path -> (sha256 now, sha256 after)), and the artifacts of the restored
    promotion that exist after the revert (`after`: path -> sha256), unchanged or not."""
    files = {
        path: FileRestore(path, now, then)
        for path, (now, then) in changed.items()
        if match_any(tuple(governed_patterns), path)
    }
    for path in restored_artifacts:
        if path not in files and path in after:
            files[path] = FileRestore(path, after[path], after[path])
    return [files[path] for path in sorted(files)]


def rollback_artifacts(files: Iterable[FileRestore]) -> tuple[Artifact, ...]:
    """The rollback's artifacts: the files that exist after it (a removed file has no
    sha256; the check accepts the removal of the undone promotion's own artifacts)."""
    return tuple(Artifact(f.path, f.after) for f in files if f.after is not None)


def rollback_change_request(
    plan: RollbackPlan,
    change_id: str,
    cr_dir: str,
    files: Sequence[FileRestore],
    restored_cr: ChangeRequest | None,
) -> ChangeRequest | Refusal:
    """The rollback's change request: the original's type and target, versions swapped."""
    artifacts = rollback_artifacts(files)
    if not artifacts:
        return Refusal(
            "NOTHING_TO_DECLARE",
            f"refused: after reverting {_ids(plan)} no governed file of {plan.target} is left "
            "to declare (a change request needs at least one artifact)",
            "roll back by hand with a change request that names the restored files",
        )
    after = {f.path: f.after for f in files if f.after is not None}
    models = restored_cr.models if restored_cr is not None else ()
    prompts = tuple(
        PromptRef(p.path, p.version, after[p.path])
        for p in (restored_cr.prompts if restored_cr is not None else ())
        if p.path in after
    )
    if plan.change_type == "model" and not models:
        return Refusal(
            "NOTHING_TO_DECLARE",
            f"refused: the pinned models of {plan.target} {plan.restore_version} are unknown "
            "(no change request on main promoted that version)",
            "roll back by hand with a change request that lists the models",
        )
    if plan.change_type == "prompt" and not prompts:
        return Refusal(
            "NOTHING_TO_DECLARE",
            f"refused: the prompts of {plan.target} {plan.restore_version} are unknown "
            "(no change request on main promoted that version)",
            "roll back by hand with a change request that lists the prompts",
        )
    title = f"Roll back {plan.target} to {plan.restore_version} (revert {_ids(plan)})"
    return ChangeRequest(
        change_id=change_id,
        change_type=plan.change_type,
        target=plan.target,
        title=title[:200],
        proposed_version=plan.restore_version,
        current_version=plan.version_now,
        artifacts=artifacts,
        rollback_plan=f"Revert this pull request; {plan.target} {plan.version_now} becomes "
        "current again.",
        models=models if plan.change_type == "model" else (),
        prompts=prompts if plan.change_type == "prompt" else (),
        rollback_of=plan.rollback_of,
        source_path=f"{cr_dir}/{change_id}.yaml",
    )


def _ids(plan: RollbackPlan) -> str:
    return ", ".join(p.change_id for p in plan.undone)


def commit_message(plan: RollbackPlan, cr: ChangeRequest) -> str:
    lines = [cr.title, ""]
    for promotion in plan.undone:
        pull = f", pull request #{promotion.pull_number}" if promotion.pull_number else ""
        lines.append(f"Reverts {promotion.commit} ({promotion.change_id}{pull}).")
    lines += ["", f"Change request: {cr.source_path} (rollback_of: {plan.rollback_of})"]
    return "\n".join(lines) + "\n"


# --- the pull request -------------------------------------------------------------------------


def pull_title(plan: RollbackPlan, cr: ChangeRequest) -> str:
    return (
        f"Rollback {plan.requested}: {plan.target} {plan.version_now} -> "
        f"{plan.restore_version} ({cr.change_id})"
    )


def pull_body(
    plan: RollbackPlan,
    cr: ChangeRequest,
    files: Sequence[FileRestore],
    *,
    repository_url: str | None,
) -> str:
    """Markdown: what is reverted (links to the pull requests and records), what is restored
    (a table of files with their hashes now and after), and the hidden marker."""
    lines = [
        plan.marker,
        f"## Rollback of {plan.requested}: {plan.target} {plan.version_now} → "
        f"{plan.restore_version}",
        "",
        f"Change request `{cr.source_path}` (`rollback_of: {plan.rollback_of}`) restores "
        f"**{plan.target} {plan.restore_version}**"
        + (
            f", the version {plan.restored_from.change_id} promoted." if plan.restored_from else "."
        ),
        "",
        "### Reverted",
        "",
        "| Change | Versions | Merge | Pull request | Record |",
        "| --- | --- | --- | --- | --- |",
    ]
    for item in plan.undone:
        pull = (
            f"[#{item.pull_number}]({item.pull_url})"
            if item.pull_number and item.pull_url
            else (f"#{item.pull_number}" if item.pull_number else "none (pushed directly)")
        )
        record = _record_cell(item, repository_url)
        lines.append(
            f"| {item.change_id} | {item.from_version or '–'} → {item.to_version} | "
            f"`{item.commit[:12]}` | {pull} | {record} |"
        )
    lines += [
        "",
        f"### What will be restored ({plan.target} {plan.version_now} → {plan.restore_version})",
        "",
        "| File | sha256 now | sha256 after the rollback | |",
        "| --- | --- | --- | --- |",
    ]
    for file in files:
        lines.append(
            f"| `{file.path}` | {_digest(file.now)} | {_digest(file.after)} | {file.action} |"
        )
    lines += [
        "",
        "This pull request goes through the same gate as any promotion: the checks the policy "
        "requires for rollbacks run again, and the approvals of the policy's rollback rule (and "
        "of the roles that own the files it changes) are required. "
        "When it merges, `promotion-bot record` writes the rollback's signed record, linked to "
        f"{plan.rollback_of}.",
        "",
    ]
    return "\n".join(lines)


def _record_cell(item: Promotion, repository_url: str | None) -> str:
    if item.tag is None:
        return f"none ({item.state})"
    name = f"`{item.tag}`"
    if repository_url:
        name = f"[{name}]({repository_url.rstrip('/')}/releases/tag/{item.tag})"
    return name if item.state == "recorded" else f"{name} ({item.state})"


def _digest(value: str | None) -> str:
    return f"`{value[:12]}…`" if value else "(absent)"


__all__ = [
    "FileRestore",
    "Promotion",
    "Refusal",
    "RollbackPlan",
    "branch_name",
    "commit_message",
    "live_promotions",
    "marker",
    "next_change_id",
    "plan_rollback",
    "pull_body",
    "pull_title",
    "restored_files",
    "rollback_artifacts",
    "rollback_change_request",
]
