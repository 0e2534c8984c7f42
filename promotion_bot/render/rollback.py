"""The rollback's report: what was reverted, the files restored, the branch and the pull
request; and a refusal. Pure."""

from __future__ import annotations

from typing import Any

from promotion_bot.core.rollback_outcome import RollbackOutcome
from promotion_bot.core.rollback_plan import Refusal


def refusal_data(refusal: Refusal) -> dict[str, Any]:
    return {
        "result": "refused",
        "code": refusal.code,
        "message": refusal.message,
        "hint": refusal.hint,
    }


def render_text(outcome: RollbackOutcome) -> str:
    lines: list[str] = []
    echo = lines.append
    plan = outcome.plan
    if outcome.pull_action == "found":
        number, url = outcome.pull or (0, "")
        echo(
            f"found the open rollback pull request #{number} for {plan.rollback_of}: {url}\n"
            "nothing done (it is not opened twice); review and approve it there"
        )
        return "".join(line + "\n" for line in lines)
    source = f" (what {plan.restored_from.change_id} promoted)" if plan.restored_from else ""
    echo(
        f"rollback of {plan.requested}: {plan.target} {plan.version_now} -> "
        f"{plan.restore_version}{source}"
    )
    for promotion in plan.undone:
        pull = (
            f"pull request #{promotion.pull_number}" if promotion.pull_number else "no pull request"
        )
        record = f"record {promotion.tag} ({promotion.state})" if promotion.tag else promotion.state
        echo(f"  revert   {promotion.describe()}: {pull}, {record}")
    width = max((len(f.path) for f in outcome.files), default=0)
    for index, item in enumerate(outcome.files):
        label = "  files    " if index == 0 else "           "
        now = item.now[:12] if item.now else "(absent)"
        after = item.after[:12] if item.after else "(absent)"
        echo(f"{label}{item.path.ljust(width)}  {now:12} -> {after:12}  {item.action}")
    if outcome.other_files:
        echo(f"  also     {', '.join(outcome.other_files)}")
    cr = outcome.change_request
    if cr is not None:
        echo(f"  change   {cr.source_path} (rollback_of: {cr.rollback_of})")
    if outcome.branch_sha:
        echo(
            f"branch     {plan.branch} at {outcome.branch_sha[:12]} ({outcome.branch_action})"
        )
    if outcome.pushed_to:
        echo(f"pushed     {plan.branch} to {outcome.pushed_to}")
    if outcome.pull:
        echo(f"opened     pull request #{outcome.pull[0]}: {outcome.pull[1]}")
        echo(
            "next: the checks and the gate run on it (the policy's rollback rule, and the roles "
            "of the files it changes)"
        )
    elif outcome.dry_run:
        echo(f"dry run: nothing pushed, no pull request opened (title: {outcome.title})")
        echo(f"see it: git show {plan.branch}; open it: run again without --dry-run")
    else:
        echo(
            f"not pushed (--no-push): git push {outcome.remote} {plan.branch}, then open the pull "
            "request (or run again without --no-push: the branch is reused)"
        )
    return "".join(line + "\n" for line in lines)
