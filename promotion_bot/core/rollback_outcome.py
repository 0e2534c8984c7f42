"""What a rollback did (or found): the plan, the rollback change request, the files restored,
the branch, the push and the pull request. Built by promotion_bot.flows.rollback, shown by
promotion_bot.render.rollback."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from promotion_bot.core.models import ChangeRequest
from promotion_bot.core.rollback_plan import FileRestore, RollbackPlan


@dataclass
class RollbackOutcome:
    """What the rollback did, for the text and JSON reports."""

    plan: RollbackPlan
    change_request: ChangeRequest | None = None
    files: list[FileRestore] = field(default_factory=list)
    other_files: list[str] = field(default_factory=list)
    branch_sha: str | None = None
    branch_action: str = ""  # created | kept (same content) | ""
    pushed_to: str | None = None
    pull: tuple[int, str] | None = None
    pull_action: str = ""  # opened | found | ""
    title: str = ""
    body: str = ""
    dry_run: bool = False
    no_push: bool = False
    remote: str = "origin"

    def as_data(self) -> dict[str, Any]:
        plan = self.plan
        cr = self.change_request
        return {
            "result": "found" if self.pull_action == "found" else "prepared",
            "change_id": plan.requested,
            "rollback_of": plan.rollback_of,
            "target": plan.target,
            "version_now": plan.version_now,
            "restore_version": plan.restore_version,
            "restored_from": plan.restored_from.change_id if plan.restored_from else None,
            "reverted": [
                {
                    "change_id": p.change_id,
                    "commit": p.commit,
                    "from_version": p.from_version,
                    "to_version": p.to_version,
                    "pull_request": p.pull_url or p.pull_number,
                    "record": p.tag,
                    "record_state": p.state,
                }
                for p in plan.undone
            ],
            "change_request": (
                {"path": cr.source_path, "change_id": cr.change_id} if cr is not None else None
            ),
            "files": [
                {"path": f.path, "sha256_now": f.now, "sha256_after": f.after, "action": f.action}
                for f in self.files
            ],
            "other_files": self.other_files,
            "branch": {"name": plan.branch, "commit": self.branch_sha, "action": self.branch_action}
            if self.branch_sha
            else None,
            "pushed_to": self.pushed_to,
            "pull_request": (
                {"number": self.pull[0], "url": self.pull[1], "action": self.pull_action}
                if self.pull
                else None
            ),
            "title": self.title,
            "body": self.body,
            "dry_run": self.dry_run,
        }
