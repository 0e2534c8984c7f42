"""Real git histories of a governed repository, for record/audit/verify tests.

`GovernedHistory` copies examples/governed-repo into a temporary git repository, trusts a fresh
signing key in its policy, and then makes pull-request-shaped promotions on `main`: a branch
with the artifact and its change request, a `--no-ff` merge, and the PR snapshot and evidence
that GitHub and `promotion-bot check` would have produced (written to snapshots/ and evidence/
beside the repository). Names and dates are fixed, so runs are reproducible.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from promotion_bot.core.keys import GeneratedKey, generate_key, policy_entry
from tests.gitrepo import compact_repositories, head_sha, template_dir

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "governed-repo"

TEAMS = {
    "example-org/routing-reviewers": ["rita", "pat", "erin"],
    "example-org/promotion-admins": ["adam", "pat"],
    "example-org/security-officers": ["sam"],
    "example-org/privacy-officers": ["priya"],
}
RULESET_CHECKS = ("rules-lint", "rules-simulate", "pack-verify")
ROLLBACK_CHECKS = ("pack-verify",)
RUN_URL = "https://github.com/example-org/intake-routing/actions/runs/{run}/attempts/1"


_HISTORY_PARTS = ("governed", "signing-key.pem", "snapshots", "evidence")
_HISTORIES: dict[Hashable, tuple[Path, Path, GovernedHistory]] = {}


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copy2(source, target)


def user(login: str) -> dict[str, Any]:
    return {"login": login, "id": 10_000 + sum(map(ord, login)), "type": "User"}


@dataclass
class Merge:
    change_id: str
    sha: str
    head: str
    base: str
    number: int


@dataclass
class GovernedHistory:
    root: Path
    key: GeneratedKey
    key_file: Path
    snapshots: Path
    evidence: Path
    clock: int = 0
    number: int = 100
    merges: list[Merge] = field(default_factory=list)

    # -- plumbing ------------------------------------------------------------------------
    def git(self, *args: str, date: str | None = None, input_text: str | None = None,
            tick: bool = True) -> str:
        """git in the repository; each call advances the clock (unless `tick` is False) and
        dates what it writes with it (or with `date`)."""
        moment = date or (self.tick() if tick else self._date(self.clock))
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | {
            "GIT_AUTHOR_NAME": "Erin Engineer",
            "GIT_AUTHOR_EMAIL": "erin@example.org",
            "GIT_COMMITTER_NAME": "GitHub",
            "GIT_COMMITTER_EMAIL": "noreply@github.com",
            "GIT_AUTHOR_DATE": moment,
            "GIT_COMMITTER_DATE": moment,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.environ.get("GIT_CONFIG_GLOBAL", os.devnull),
        }
        result = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-C", str(self.root), *args],
            capture_output=True,
            text=True,
            env=env,
            input=input_text,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)}: {result.stderr}")
        return result.stdout.strip()

    def tick(self) -> str:
        self.clock += 1
        return self._date(self.clock)

    @staticmethod
    def _date(clock: int) -> str:
        day, hour = divmod(clock, 20)
        return f"2026-03-{1 + day:02d}T{3 + hour:02d}:00:00Z"

    def write(self, path: str, content: bytes | str) -> str:
        data = content.encode() if isinstance(content, str) else content
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return hashlib.sha256(data).hexdigest()

    def rev(self, name: str) -> str:
        """`git rev-parse name`; HEAD and branches are read from .git's files (with the tick
        the git call would have taken, so that later dates and commit ids do not move)."""
        sha = self._ref_file(name)
        if sha is None:
            return self.git("rev-parse", name)
        self.tick()
        return sha

    def _ref_file(self, name: str) -> str | None:
        """HEAD or a branch read from its loose ref file; None when git must answer (an
        expression, packed refs, or a name that a ref of higher precedence could shadow)."""
        if name == "HEAD":
            return head_sha(self.root)
        git_dir = self.root / ".git"
        plain = all(part and part.replace("-", "").replace(".", "").replace("_", "").isalnum()
                    for part in name.split("/"))
        shadows = (git_dir / "packed-refs", git_dir / name, git_dir / "refs" / name,
                   git_dir / "refs/tags" / name)
        if not plain or any(path.exists() for path in shadows):
            return None
        try:
            sha = (git_dir / "refs/heads" / name).read_text().strip()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        return sha if len(sha) == 40 else None

    def _on_main(self) -> bool:
        try:
            return (self.root / ".git/HEAD").read_text().strip() == "ref: refs/heads/main"
        except (FileNotFoundError, NotADirectoryError):
            return False

    def _merged_pull_request(self, base: str, branch: str, message: str, merge_message: str
                             ) -> tuple[str, str]:
        """What `checkout -b branch main; add -A; commit; checkout main; merge --no-ff` does
        (HEAD on main, which is `base`), with plumbing: the same commits, dates and refs, the
        index and work tree left at the merge, in 5 git processes instead of 7. Returns
        (head, merge)."""
        self.tick()  # checkout -b
        self.git("add", "-A")
        tree = self.git("write-tree", tick=False)
        head = self.git("commit-tree", tree, "-p", base, "-m", message)
        self.tick()  # rev-parse HEAD
        self.tick()  # checkout main
        merged = self.git("commit-tree", tree, "-p", base, "-p", head, "-m", merge_message)
        self.git("update-ref", "--stdin", tick=False, input_text=(
            f"create refs/heads/{branch} {head}\nupdate refs/heads/main {merged} {base}\n"))
        self.tick()  # rev-parse HEAD
        return head, merged

    # -- set-up --------------------------------------------------------------------------
    @classmethod
    def built_once(cls, key: Hashable, base: Path, build: Callable[[Path], GovernedHistory],
                   *, beside: tuple[str, ...] = ()) -> GovernedHistory:
        """`build(base)`'s history, made for real the first time this process sees `key`;
        after that a copy of what it left in `base` (the repository with its .git, the
        signing key, snapshots, evidence and the `beside` entries, e.g. a bare origin) and of
        its state (key, clock, pull request numbers, merges); the repository's git config
        (remotes) is pointed at the copy's `base`. `key` must name everything `build`
        depends on, and `build` must leave nothing else in `base`."""
        parts = (*_HISTORY_PARTS, *beside)
        cached = _HISTORIES.get(key)
        if cached is not None:
            template, first_base, state = cached
            for part in parts:
                _copy(template / part, base / part)
            config = base / "governed/.git/config"
            config.write_text(config.read_text().replace(str(first_base), str(base)))
            return replace(copy.deepcopy(state), root=base / "governed",
                           key_file=base / "signing-key.pem", snapshots=base / "snapshots",
                           evidence=base / "evidence")
        before = set(base.iterdir())
        history = build(base)
        made = (history.root, history.key_file, history.snapshots, history.evidence)
        assert made == tuple(base / part for part in _HISTORY_PARTS), made
        left = set(base.iterdir()) - before
        assert left <= {base / part for part in parts}, f"build left {sorted(map(str, left))}"
        template = template_dir() / f"history-{len(_HISTORIES)}"
        template.mkdir()
        for part in parts:
            _copy(base / part, template / part)
        compact_repositories(template)
        _HISTORIES[key] = (template, base, copy.deepcopy(history))
        return history

    @classmethod
    def create(
        cls, base: Path, *, adopt: bool = False, edit_policy: Callable[[str], str] | None = None
    ) -> GovernedHistory:
        """The example as the first commit (policy and first promotions together: history
        before the policy is not governed). With `adopt`, the first commit holds only the
        policy and the tooling, and the first promotions come through a pull request, so that
        every governed file on main is covered by a record. (Built once per process and
        policy, then copied: histories with the same policy share their signing key.)"""
        text = (EXAMPLE / ".promotion/policy.yaml").read_text()
        assert "signing:" not in text
        text = edit_policy(text) if edit_policy else text
        return cls.built_once(("create", adopt, text), base,
                              lambda into: cls._create(into, adopt, text))

    @classmethod
    def _create(cls, base: Path, adopt: bool, text: str) -> GovernedHistory:
        root = base / "governed"
        shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("snapshots"))
        key = generate_key()
        key_file = base / "signing-key.pem"
        key_file.write_bytes(key.private_pem)
        snapshots = base / "snapshots"
        evidence = base / "evidence"
        snapshots.mkdir()
        evidence.mkdir()
        history = cls(root, key, key_file, snapshots, evidence)
        policy = root / ".promotion/policy.yaml"
        policy.write_text(text.rstrip("\n") + "\n\n" + policy_entry(key.keyid, key.public_pem, None))
        history.git("init", "-q", "-b", "main")
        if not adopt:
            history.git("add", "-A")
            history.git("commit", "-q", "-m", "Bootstrap: policy, CODEOWNERS, first promotions")
            return history
        first = ("change-requests", "configs", "prompts", "templates")
        history.git("add", "-A", "--", ".", *(f":!{folder}" for folder in first))
        history.git("commit", "-q", "-m", "Bootstrap: policy, CODEOWNERS, tooling")
        base_sha = history.rev("main")
        head, sha = history._merged_pull_request(
            base_sha, "promote/first", "First promotions", "Merge pull request #100")
        merge = Merge("CR-2026-0001", sha, head, base_sha, 100)
        history.merges.append(merge)
        history.write_snapshot(merge, ("rita", "adam", "priya", "sam"), title="First promotions")
        checks = (
            *RULESET_CHECKS, "pinned-models", "safety-eval", "prompt-hashes", "template-policy",
        )
        history.write_evidence(merge, checks, passed=True)
        return history

    @classmethod
    def unadopted(cls, base: Path, *, months: int = 12) -> GovernedHistory:
        """The example as a repository that lived a year without promotion-bot: no policy, no
        change requests, `months` monthly commits that edit its artifacts in place. (Built
        once per process, then copied.)"""
        return cls.built_once(("unadopted", months), base,
                              lambda into: cls._unadopted(into, months))

    @classmethod
    def _unadopted(cls, base: Path, months: int) -> GovernedHistory:
        root = base / "governed"
        shutil.copytree(
            EXAMPLE, root, ignore=shutil.ignore_patterns("snapshots", ".promotion", "change-requests")
        )
        key = generate_key()
        key_file = base / "signing-key.pem"
        key_file.write_bytes(key.private_pem)
        (base / "snapshots").mkdir()
        (base / "evidence").mkdir()
        history = cls(root, key, key_file, base / "snapshots", base / "evidence")
        history.git("init", "-q", "-b", "main", date="2025-01-01T09:00:00Z")
        history.git("add", "-A", date="2025-01-01T09:00:00Z")
        history.git("commit", "-q", "-m", "Import the intake router", date="2025-01-01T09:00:00Z")
        ack = root / "templates/replies/acknowledgement.md"
        for month in range(2, months + 1):
            when = f"2025-{month:02d}-01T09:00:00Z"
            ack.write_text(ack.read_text() + f"<!-- reviewed 2025-{month:02d} -->\n")
            history.git("commit", "-qam", f"Reply template review, month {month}", date=when)
        return history

    def adopt(self, baseline: str, *, approvers: tuple[str, ...] = ("adam",)) -> Merge:
        """The adoption pull request: the example's policy (trusting this history's key) and
        .promotion/baseline.yaml, merged with `approvers`' reviews."""
        text = (EXAMPLE / ".promotion/policy.yaml").read_text()
        policy = text.rstrip("\n") + "\n\n" + policy_entry(self.key.keyid, self.key.public_pem, None)
        return self.governance(
            "Adopt promotion-bot",
            {".promotion/policy.yaml": policy, ".promotion/baseline.yaml": baseline},
            approvers=approvers,
        )

    # -- promotions ----------------------------------------------------------------------
    def ruleset(
        self,
        change_id: str,
        version: str,
        current: str | None,
        *,
        rollback_of: str | None = None,
        approvers: tuple[str, ...] = ("rita", "adam"),
        checks_pass: bool = True,
        with_evidence: bool = True,
        merge: bool = True,
        remove: tuple[str, ...] = (),
    ) -> Merge:
        """A pull request promoting routing rules `version` (a new file, or for a rollback
        the file of `version` that is still on disk), merged to main."""
        base = self.rev("main")
        branch = f"promote/{change_id}"
        plumbing = merge and self._on_main()
        if not plumbing:
            self.git("checkout", "-q", "-b", branch, "main")
        path = f"configs/routing_tables/routing_rules_v{version}.json"
        if rollback_of is None:
            digest = self.write(path, json.dumps({"version": version, "rules": []}) + "\n")
        else:
            digest = hashlib.sha256((self.root / path).read_bytes()).hexdigest()
        lines = [
            f"change_id: {change_id}",
            "change_type: ruleset",
            "target: routing-rules",
            f"title: Routing rules {version}",
            f'proposed_version: "{version}"',
            f'current_version: "{current}"' if current else "current_version: null",
            "artifacts:",
            f"  - path: {path}",
            f"    sha256: {digest}",
            f"rollback_plan: Revert; {current} stays on disk.",
        ]
        if rollback_of:
            lines.append(f"rollback_of: {rollback_of}")
        self.write(f"change-requests/{change_id}.yaml", "\n".join(lines) + "\n")
        for removed in remove:
            self.git("rm", "-q", removed)
        self.number += 1
        if plumbing:
            head, sha = self._merged_pull_request(
                base, branch, f"Promote routing rules {version}",
                f"Merge pull request #{self.number}")
            merged = Merge(change_id, sha, head, base, self.number)
            self.merges.append(merged)
        else:
            self.git("add", "-A")
            self.git("commit", "-q", "-m", f"Promote routing rules {version}")
            head = self.rev("HEAD")
            self.git("checkout", "-q", "main")
            merged = Merge(change_id, "", head, base, self.number)
            if merge:
                self.git("merge", "-q", "--no-ff", branch, "-m", f"Merge pull request #{self.number}")
                merged.sha = self.rev("HEAD")
                self.merges.append(merged)
        checks = ROLLBACK_CHECKS if rollback_of else RULESET_CHECKS
        self.write_snapshot(merged, approvers, title=f"Routing rules {version}")
        if with_evidence:
            self.write_evidence(merged, checks, passed=checks_pass)
        return merged

    def ruleset_declaring_other_bytes(self, change_id: str, version: str, current: str) -> str:
        """An approved pull request (checks claimed passed) whose change request declares the
        sha256 of other bytes than the ruleset it merges; returns those other bytes."""
        base = self.rev("main")
        self.number += 1
        branch = f"promote/{change_id}"
        plumbing = self._on_main()
        if not plumbing:
            self.git("checkout", "-q", "-b", branch, "main")
        path = f"configs/routing_tables/routing_rules_v{version}.json"
        self.write(path, json.dumps({"version": version, "rules": []}) + "\n")
        other = json.dumps({"version": version, "rules": ["unreviewed"]}) + "\n"
        self.write(
            f"change-requests/{change_id}.yaml",
            f"change_id: {change_id}\nchange_type: ruleset\ntarget: routing-rules\n"
            f'title: Routing rules {version}\nproposed_version: "{version}"\n'
            f'current_version: "{current}"\nartifacts:\n  - path: {path}\n'
            f"    sha256: {hashlib.sha256(other.encode()).hexdigest()}\n"
            "rollback_plan: Revert the pull request.\n",
        )
        message, merge_message = f"Promote routing rules {version}", f"Merge pull request #{self.number}"
        if plumbing:
            head, sha = self._merged_pull_request(base, branch, message, merge_message)
        else:
            self.git("add", "-A")
            self.git("commit", "-q", "-m", message)
            head = self.rev("HEAD")
            self.git("checkout", "-q", "main")
            self.git("merge", "-q", "--no-ff", branch, "-m", merge_message)
            sha = self.rev("HEAD")
        merged = Merge(change_id, sha, head, base, self.number)
        self.merges.append(merged)
        self.write_snapshot(merged, ("rita", "adam"), title=f"Routing rules {version}")
        self.write_evidence(merged, RULESET_CHECKS, passed=True)
        return other

    def governance(
        self,
        title: str,
        files: dict[str, str | bytes | None],
        *,
        approvers: tuple[str, ...] = ("adam",),
        merge: bool = True,
    ) -> Merge:
        """A governance pull request (no change request): write (or, for None, delete) the
        files, merge it with `approvers`' reviews in the snapshot."""
        base = self.rev("main")
        self.number += 1
        branch = f"governance/{self.number}"
        plumbing = merge and self._on_main()
        if not plumbing:
            self.git("checkout", "-q", "-b", branch, "main")
        for path, content in files.items():
            if content is None:
                (self.root / path).unlink()
            else:
                self.write(path, content)
        merge_message = f"Merge pull request #{self.number}"
        if plumbing:
            head, sha = self._merged_pull_request(base, branch, title, merge_message)
            merged = Merge(f"GOV-{self.number}", sha, head, base, self.number)
            self.merges.append(merged)
        else:
            self.git("add", "-A")
            self.git("commit", "-q", "-m", title)
            head = self.rev("HEAD")
            self.git("checkout", "-q", "main")
            merged = Merge(f"GOV-{self.number}", "", head, base, self.number)
            if merge:
                self.git("merge", "-q", "--no-ff", branch, "-m", merge_message)
                merged.sha = self.rev("HEAD")
                self.merges.append(merged)
        self.write_snapshot(merged, approvers, title=title)
        return merged

    def policy_text(self) -> str:
        return (self.root / ".promotion/policy.yaml").read_text()

    def with_key(self, key: GeneratedKey, extra: str = "") -> str:
        """The policy with `key` appended to signing.keys (and `extra` lines in its entry)."""
        entry = policy_entry(key.keyid, key.public_pem, None).split("  keys:\n", 1)[1]
        if extra:
            entry = entry.replace("      public_key: |\n", extra + "      public_key: |\n")
        return self.policy_text().rstrip("\n") + "\n" + entry

    def direct_push(self, version: str) -> str:
        """An administrator pushes a ruleset and its change request straight to main."""
        path = f"configs/routing_tables/routing_rules_v{version}.json"
        digest = self.write(path, json.dumps({"version": version, "rules": ["hotfix"]}) + "\n")
        change_id = f"CR-2026-{9000 + self.clock:04d}"
        self.write(
            f"change-requests/{change_id}.yaml",
            f"change_id: {change_id}\nchange_type: ruleset\ntarget: hotfix-rules\n"
            f"title: Hotfix {version}\nproposed_version: \"{version}\"\ncurrent_version: null\n"
            f"artifacts:\n  - path: {path}\n    sha256: {digest}\n"
            "rollback_plan: Revert the commit.\n",
        )
        self.git("add", "-A")
        self.git("commit", "-q", "-m", f"Hotfix {version} (pushed directly)")
        return self.rev("HEAD")

    def write_snapshot(self, merge: Merge, approvers: tuple[str, ...], title: str) -> Path:
        files = []
        for line in self.git("diff", "--name-status", merge.base, merge.head).splitlines():
            status, name = line.split("\t", 1)
            files.append(
                {"filename": name, "status": {"A": "added", "M": "modified", "D": "removed"}.get(status[0], "modified")}
            )
        reviews = [
            {
                "id": 5000 + index + merge.number * 10,
                "user": user(login),
                "state": "APPROVED",
                "commit_id": merge.head,
                "submitted_at": self.tick(),
            }
            for index, login in enumerate(approvers)
        ]
        pull: dict[str, Any] = {
            "number": merge.number,
            "title": title,
            "state": "closed",
            "user": user("erin"),
            "head": {"ref": f"promote/{merge.change_id}", "sha": merge.head},
            "base": {"ref": "main", "sha": merge.base},
            "changed_files": len(files),
            "html_url": f"https://github.com/example-org/intake-routing/pull/{merge.number}",
            "merged_at": self.tick(),
            "merged_by": user("adam"),
        }
        if merge.sha:
            pull["merge_commit_sha"] = merge.sha
        data = {
            "snapshot_version": 1,
            "repository": "example-org/intake-routing",
            "pull_request": pull,
            "files": files,
            "reviews": reviews,
            "teams": {
                team: {"members": [user(login) for login in members]}
                for team, members in TEAMS.items()
            },
        }
        path = self.snapshots / f"pr-{merge.number}.json"
        path.write_text(json.dumps(data, indent=2))
        return path

    def write_evidence(self, merge: Merge, checks: tuple[str, ...], passed: bool) -> Path:
        run = 7000 + merge.number
        result = "passed" if passed else "failed"
        data = {
            "_type": "https://promotion-bot.dev/evidence/v1",
            "tool": {"name": "promotion-bot", "version": "0.1.0"},
            "result": result,
            "repository": {"name": "example-org/intake-routing", "root": ""},
            "base": {"ref": "origin/main", "sha": merge.base},
            "head": {"ref": "HEAD", "sha": merge.head},
            "merge_base": merge.base,
            "policy": {"path": ".promotion/policy.yaml", "sha256": "0" * 64, "from": "base"},
            "change_requests": [],
            "declarations": {"result": "passed", "problems": [], "governance_changes": []},
            "checks": [
                {
                    "name": name,
                    "description": name,
                    "kind": "command",
                    "builtin": None,
                    "command": ["true"],
                    "required_by": [merge.change_id],
                    "result": result if index == 0 else "passed",
                    "reason": "exit 0" if passed or index else "exit 1",
                    "exit_code": 0 if passed or index else 1,
                    "started_at": "2026-03-01T00:00:00.000Z",
                    "duration_seconds": 0.5,
                    "output": {
                        "file": f"{name}.log",
                        "sha256": hashlib.sha256(name.encode()).hexdigest(),
                        "bytes": 10,
                        "tail": "ok",
                    },
                    "findings": [],
                    "details": {},
                }
                for index, name in enumerate(checks)
            ],
            "runner": {
                "kind": "github-actions",
                "github": {
                    "run_id": str(run),
                    "run_attempt": 1,
                    "run_url": RUN_URL.format(run=run),
                    "workflow": "promotion-checks",
                    "job": "check",
                    "event_name": "pull_request",
                    "ref": "refs/pull/1/merge",
                    "sha": merge.head,
                    "repository": "example-org/intake-routing",
                },
            },
            "started_at": "2026-03-01T00:00:00.000Z",
            "finished_at": "2026-03-01T00:01:00.000Z",
            "notes": [],
        }
        path = self.evidence / f"pr-{merge.number}.json"
        path.write_text(json.dumps(data, indent=2))
        return path

    # -- running the bot -------------------------------------------------------------------
    def record_ignoring_key_trust(self, key_file: Path | None = None) -> int:
        """`record` as a recorder that ignores which keys the policy trusts would run it (a
        holder of a retired or foreign key): the records the audit must reject. Exit code as
        `record`'s (1 when a merge is recorded as a violation)."""
        from promotion_bot.adapters.ledger import GitRepo
        from promotion_bot.adapters.offline_facts import OfflineFacts
        from promotion_bot.core.keys import load_private_key
        from promotion_bot.flows.record import record_merges

        path = key_file or self.key_file
        identity = load_private_key(path.read_bytes(), str(path))
        source = OfflineFacts([self.snapshots], [self.evidence])
        outcomes = record_merges(GitRepo.at(self.root), "HEAD", source, identity,
                                 refuse_untrusted=False)
        return 1 if any(not outcome.approved for outcome in outcomes) else 0

    def record_args(self) -> list[str]:
        return [
            "record",
            "--repo",
            str(self.root),
            "--snapshot",
            str(self.snapshots),
            "--evidence",
            str(self.evidence),
            "--key-file",
            str(self.key_file),
        ]
