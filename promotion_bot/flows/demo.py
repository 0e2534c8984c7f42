"""`promotion-bot demo`: the whole promotion lifecycle on the bundled example, offline.

In a folder of its own it makes a bare git "origin" and clones of it, builds the example's
history (the adoption commit, whose policy trusts a signing key made with `keys generate`, and
the first promotions through a pull request), then walks the seven steps of the lifecycle with
the people of the example:

  1. engineer erin writes a change request with `new`, runs `validate` and `check`
  2. approvers pat and adam review; the gate's decision (`approvals`, as the PR comment reads)
  3. GitHub merges; CI's `record` signs the promotion (a tag on origin)
  4. the deploy job: `status`, and `verify` on the merge commit (deploy allowed)
  5. a second promotion, then on-call oscar's `rollback` of it, approved, merged, recorded
  6. the auditor's fresh clone: `audit` with no findings, and the HTML report
  7. mallory rewrites one record: `audit` and `verify` refuse it

Every command is the real one: each `promotion-bot` command runs in a process of its own,
forked from a server that has imported promotion-bot once (adapters.sandbox.PreloadedBot:
importing is most of a command's start-up, and the demo runs 26 of them); git is real git.
GitHub is the one stand-in (adapters.offline_github): it writes the pull request snapshots
that the gate and `record` would read from GitHub's API. Each command's exit code
and the lines its output must contain are checked; the first difference stops the demo with a
message that names the step, the command and what was expected, and keeps the folder.

The flow prints nothing: it reports every line to a `Listener` as it happens and returns a
`DemoResult` (every command's transcript), which tests and the README's samples read.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import shlex
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from promotion_bot.adapters.clock import utc_now
from promotion_bot.adapters.offline_github import OfflineGitHub
from promotion_bot.adapters.sandbox import (
    Finished,
    Person,
    PreloadedBot,
    bundled_example,
    copy_example,
    git,
    run,
)
from promotion_bot.core.dsse import EnvelopeError, parse_envelope
from promotion_bot.core.errors import ConfigError, PromotionBotError

STEPS = 7
REPOSITORY = "example-org/intake-routing"
TEAMS = {
    "example-org/routing-reviewers": ["rita", "pat", "erin"],
    "example-org/promotion-admins": ["adam", "pat"],
    "example-org/security-officers": ["sam"],
    "example-org/privacy-officers": ["priya"],
}
ERIN = Person("erin", "Erin Engineer", "erin@example.org")
PAT = Person("pat", "Pat Reviewer", "pat@example.org")
RITA = Person("rita", "Rita Reviewer", "rita@example.org")
ADAM = Person("adam", "Adam Administrator", "adam@example.org")
SAM = Person("sam", "Sam Security", "sam@example.org")
PRIYA = Person("priya", "Priya Privacy", "priya@example.org")
OSCAR = Person("oscar", "Oscar On-call", "oscar@example.org")
AUDREY = Person("audrey", "Audrey Auditor", "audrey@example.org")
MALLORY = Person("mallory", "Mallory", "mallory@example.org")
CI = Person("github-actions", "github-actions[bot]", "github-actions[bot]@users.noreply.github.com")
PEOPLE = (ERIN, PAT, RITA, ADAM, SAM, PRIYA, OSCAR)

RULES = "configs/routing_tables/routing_rules_v{}.json"
FIRST_PROMOTIONS = ("change-requests", "configs", "prompts", "templates")
KEY_FILE = "keys/demo-signing-key.pem"
REPORT = "audit.html"
CHANGE_ID = re.compile(r"\bCR-[0-9]{4}-[0-9]{4}\b")


class Listener(Protocol):
    """Where the demo's lines go as they happen (the command prints them)."""

    def heading(self, text: str) -> None: ...

    def note(self, text: str) -> None: ...

    def command(self, text: str) -> None: ...

    def output(self, text: str) -> None: ...


@dataclass(frozen=True)
class CommandRun:
    """One command of the story, as it ran."""

    step: int  # 0: the set-up
    key: str  # a stable name (the README's samples are `<!-- demo:KEY -->`)
    command: str  # as a person would type it, from the folder it ran in
    exit_code: int
    output: str

    def console(self) -> str:
        """The command and its output as a terminal shows them."""
        text = f"$ {self.command}\n{self.output}"
        if self.exit_code != 0:
            text += f"[exit {self.exit_code}]\n"
        return text


@dataclass
class DemoResult:
    folder: Path
    runs: list[CommandRun] = field(default_factory=list)
    steps_done: int = 0
    report: Path | None = None
    failure: str | None = None
    seconds: float = 0.0
    kept: bool = True

    @property
    def ok(self) -> bool:
        return self.failure is None and self.steps_done == STEPS

    def run(self, key: str) -> CommandRun:
        found = [item for item in self.runs if item.key == key]
        if len(found) != 1:
            raise KeyError(f"the demo has {len(found)} commands named {key!r}")
        return found[0]


class DemoStopped(Exception):
    """A step gave another answer than the story expects."""


@dataclass(frozen=True)
class Expect:
    exit_code: int = 0
    says: tuple[str, ...] = ()  # text the output must contain
    meaning: str = ""  # what the expected answer means, for the message when it differs


def run_demo(
    folder: Path | None,
    listener: Listener,
    *,
    keep: bool = False,
    example: Path | None = None,
    clock: Callable[[], dt.datetime] = utc_now,
) -> DemoResult:
    """Build the example's history in `folder` (a new temporary folder when None; else it
    must not exist or be empty) and walk the seven steps. Without `keep`, a successful run
    leaves only the HTML audit report in the folder; a failed one leaves everything."""
    target = _prepare_folder(folder)
    story = _Story(target, example or bundled_example(), listener, clock)
    started = time.monotonic()
    try:
        story.tell()
    except DemoStopped as stopped:
        story.result.failure = f"{story.where} stopped: {stopped}"
    except PromotionBotError as error:  # git failed under the demo
        story.result.failure = f"{story.where} stopped: {error.message}"
    finally:
        story.promotion_bot.close()
    story.result.seconds = time.monotonic() - started
    if story.result.ok and not keep:
        _remove_all_but(target, target / REPORT)
        story.result.kept = False
    return story.result


def _prepare_folder(folder: Path | None) -> Path:
    if folder is None:
        return Path(tempfile.mkdtemp(prefix="promotion-bot-demo-")).resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ConfigError(f"{folder} is not an empty folder; give a new or empty one")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"{folder}: cannot create ({error.strerror or error})") from None
    return folder.resolve()


def _remove_all_but(folder: Path, keep: Path) -> None:
    for child in folder.iterdir():
        if child == keep:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


class _Story:
    def __init__(
        self, folder: Path, example: Path, listener: Listener, clock: Callable[[], dt.datetime]
    ) -> None:
        self.folder = folder
        self.example = example
        self.listener = listener
        self.result = DemoResult(folder)
        self.step = 0
        self.work = folder / "work"
        self.auditor = folder / "auditor"
        self.github = OfflineGitHub(
            self.work, folder / "github", REPOSITORY, TEAMS, PEOPLE, clock
        )
        self.promotion_bot = PreloadedBot(folder)
        self.change_ids: dict[str, str] = {}
        self.pull = 0  # the pull request of steps 1 to 3
        self.merged = ""  # its merge commit

    # -- the story ------------------------------------------------------------------------
    def tell(self) -> None:
        self.set_up()
        self.propose()
        self.review()
        self.merge_and_record()
        self.deploy()
        self.roll_back()
        self.audit()
        self.tamper()
        self.result.steps_done = STEPS

    def set_up(self) -> None:
        self.heading(f"set-up: the example's history, in {self.folder}")
        self.git(self.folder, "init", "-q", "--bare", "origin.git", person=ADAM)
        self.git(self.folder, "clone", "-q", "origin.git", "work", person=ADAM)
        copy_example(self.example, self.work)
        (self.folder / KEY_FILE).parent.mkdir()
        policy = self.work / ".promotion/policy.yaml"
        if re.search(r"^signing:", policy.read_text(encoding="utf-8"), re.M):
            raise DemoStopped(
                f"{self.example}/.promotion/policy.yaml already trusts signing keys; "
                "the demo adds its own key to a policy without any"
            )
        self.note("adam makes the demo's signing key and adopts promotion-bot: the first policy "
                  "on main, which trusts the key (a later key change needs a record signed by a "
                  "key trusted before it), CODEOWNERS and the tooling, no artifact yet")
        generated = self.bot(
            "keys-generate", ADAM, "keys", "generate", "-o", f"../{KEY_FILE}", quiet=True,
            expect=Expect(says=("add to .promotion/policy.yaml",)),
        )
        # the first policy on main is the trust anchor: the keys it lists sign from the start
        with policy.open("a", encoding="utf-8") as handle:
            handle.write("\n" + _policy_entry(generated.output))
        self.git(self.work, "add", "-A", "--", ".", *(f":!{name}" for name in FIRST_PROMOTIONS),
                 person=ADAM)
        self.git(self.work, "commit", "-q", "-m", "Adopt promotion-bot: policy, CODEOWNERS, "
                 "tooling, the demo's signing key", person=ADAM)
        self.git(self.work, "push", "-q", "origin", "main", person=ADAM)

        self.note("erin proposes the first promotion of each target (the example's four change "
                  f"requests): pull request #{self.github.next_number}; its checks pass; rita, "
                  "adam, sam and priya approve; GitHub merges; CI records")
        self.git(self.work, "switch", "-q", "-c", "promote/first-promotions", "origin/main",
                 person=ERIN)
        self.git(self.work, "add", "-A", person=ERIN)
        self.commit("First promotions: routing rules, classifier, prompt, reply templates",
                    ERIN)
        number = self.github.next_number
        self.bot("check-first", CI, *self.check_args(number), quiet=True,
                 expect=Expect(says=("passed:",)))
        first = self.open_pull("promote/first-promotions", "First promotions", ERIN)
        for person in (RITA, ADAM, SAM, PRIYA):
            self.github.review(first, person)
        self.bot("approvals-first", CI, "approvals", "--snapshot", self.snapshot(first),
                 quiet=True, expect=Expect(says=("approved",)))
        self.github.merge(first, ADAM)
        self.bot("record-first", CI, *self.record_args(), quiet=True,
                 expect=Expect(says=("created",)))

    def propose(self) -> None:
        self.begin(1, "engineer erin", "proposes routing rules 1.1.0: a change request, "
                   "validate, check")
        branch = "promote/routing-rules-1.1.0"
        self.git(self.work, "switch", "-q", "-c", branch, "origin/main", person=ERIN,
                 show=f"git switch -c {branch} origin/main")
        path = self.new_ruleset("1.1.0", "gdpr-request", "right of access")
        self.note(f"erin writes {path}: requests for 'right of access' go to the privacy queue")
        self.shell("update-pack", ERIN, "bash", "scripts/update_pack.sh")
        self.git(self.work, "add", "-A", person=ERIN, show="git add -A")
        new = self.bot(
            "new", ERIN, "new", "--type", "ruleset", "--target", "routing-rules", "--title",
            "Route right-of-access requests to the privacy queue", "--proposed", "1.1.0", path,
            expect=Expect(says=("wrote change-requests/",)),
        )
        change_id = _change_id(new.output, "wrote change-requests/")
        self.change_ids["1.1.0"] = change_id
        change_request = self.work / f"change-requests/{change_id}.yaml"
        written = change_request.read_text(encoding="utf-8")
        self.note("erin lists her approvers in the change request, by hand")
        change_request.write_text(written + "approvals:\n  - pat\n  - adam\n", encoding="utf-8")
        self.bot("validate-rejected", ERIN, "validate",
                 expect=Expect(1, ("approvals",), "rejected: approvals come from reviews"))
        self.note("approvals come from GitHub reviews: she removes the two lines")
        change_request.write_text(written, encoding="utf-8")
        self.bot("validate", ERIN, "validate", expect=Expect(says=("valid",)))
        self.commit("Routing rules 1.1.0: right of access goes to the privacy queue", ERIN,
                    show=True)
        self.bot("check", ERIN, *self.check_args(self.github.next_number),
                 expect=Expect(says=("passed:",)))
        self.git(self.work, "push", "-q", "origin", branch, person=ERIN,
                 show=f"git push origin {branch}")
        number = self.open_pull(branch, "Routing rules 1.1.0", ERIN)
        self.note(f"erin opens pull request #{number}")
        self.pull = number

    def review(self) -> None:
        number = self.pull
        self.begin(2, "approvers pat and adam, and the gate (CI)",
                   f"pull request #{number}: pending, then approved")
        self.note(f"pat approves pull request #{number}. The gate runs on every review: offline, "
                  "its decision is `approvals` on the snapshot GitHub would give it, as the "
                  "pull request's comment reads (online, `promotion-bot gate` posts that "
                  "comment and sets the status promotion/approvals)")
        self.github.review(number, PAT)
        self.bot("approvals-pending", CI, "approvals", "--snapshot", self.snapshot(number),
                 "--format", "markdown",
                 expect=Expect(1, ("pending",), "pending: the administrator has not approved"))
        self.note("adam approves too")
        self.github.review(number, ADAM)
        self.bot("approvals-approved", CI, "approvals", "--snapshot", self.snapshot(number),
                 "--format", "markdown", expect=Expect(says=("approved",)))

    def merge_and_record(self) -> None:
        number = self.pull
        self.begin(3, "GitHub, then CI", f"pull request #{number} is merged; `record` signs "
                   "the promotion")
        self.merged = self.github.merge(number, ADAM)
        self.note(f"adam presses Merge: merge commit {self.merged[:12]} on main. On the push to "
                  "main, CI records every merge since the last record, signed with the demo "
                  "key, and pushes the tags")
        change_id = self.change_ids["1.1.0"]
        self.bot("record", CI, *self.record_args(),
                 expect=Expect(says=(f"created   promotion/{change_id}",)))

    def deploy(self) -> None:
        self.begin(4, "the deploy job (CI)", "what runs where, and may the merge commit be "
                   "deployed?")
        self.bot("status", CI, "status", expect=Expect(says=("recorded",)))
        self.bot("verify", CI, "verify", "--commit", self.merged[:12],
                 expect=Expect(says=("ok: all",), meaning="deploy allowed"))

    def roll_back(self) -> None:
        self.begin(5, "engineer erin, then on-call oscar", "a second promotion (routing rules "
                   "1.2.0), and its rollback")
        branch = "promote/routing-rules-1.2.0"
        number = self.github.next_number
        self.note(f"erin promotes routing rules 1.2.0 the same way (chargebacks go to billing): "
                  f"pull request #{number}; the checks pass, pat and adam approve, adam merges, "
                  "CI records")
        self.git(self.work, "switch", "-q", "-c", branch, "origin/main", person=ERIN)
        path = self.new_ruleset("1.2.0", "billing-dispute", "chargeback")
        self.shell("update-pack-2", ERIN, "bash", "scripts/update_pack.sh", quiet=True)
        self.git(self.work, "add", "-A", person=ERIN)
        new = self.bot(
            "new-2", ERIN, "new", "--type", "ruleset", "--target", "routing-rules", "--title",
            "Route chargebacks to billing", "--proposed", "1.2.0", path, quiet=True,
            expect=Expect(says=("wrote change-requests/",)),
        )
        promoted = _change_id(new.output, "wrote change-requests/")
        self.git(self.work, "add", "-A", person=ERIN)
        self.commit("Routing rules 1.2.0: chargebacks go to billing", ERIN)
        self.bot("check-2", CI, *self.check_args(number), quiet=True,
                 expect=Expect(says=("passed:",)))
        self.git(self.work, "push", "-q", "origin", branch, person=ERIN)
        self.open_pull(branch, "Routing rules 1.2.0", ERIN)
        for person in (PAT, ADAM):
            self.github.review(number, person)
        self.bot("approvals-2", CI, "approvals", "--snapshot", self.snapshot(number),
                 quiet=True, expect=Expect(says=("approved",)))
        self.github.merge(number, ADAM)
        self.bot("record-2", CI, *self.record_args(),
                 expect=Expect(says=(f"created   promotion/{promoted}",)))

        self.note(f"oscar, on call, sees refunds misrouted since 1.2.0 and rolls {promoted} "
                  "back")
        rollback = self.bot(
            "rollback", OSCAR, "rollback", promoted, "--no-push",
            expect=Expect(says=(f"rollback_of: {promoted}",)),
        )
        change_id = _change_id(rollback.output, "change   change-requests/")
        self.change_ids["rollback"] = change_id
        branch = f"rollback/{promoted}"
        number = self.github.next_number
        self.note("the demo has no GitHub, so `rollback` stopped before pushing and opening the "
                  f"pull request (--no-push); oscar pushes the branch and opens pull request "
                  f"#{number}")
        self.git(self.work, "push", "-q", "origin", branch, person=OSCAR,
                 show=f"git push origin {branch}")
        self.open_pull(branch, f"Roll back {promoted}", OSCAR)
        self.git(self.work, "switch", "-q", branch, person=OSCAR, show=f"git switch {branch}")
        self.bot("check-rollback", CI, *self.check_args(number),
                 expect=Expect(says=("passed:",)))
        self.note(f"rita and adam approve pull request #{number}; adam merges; CI records")
        for person in (RITA, ADAM):
            self.github.review(number, person)
        self.bot("approvals-rollback", CI, "approvals", "--snapshot", self.snapshot(number),
                 quiet=True, expect=Expect(says=("approved",)))
        self.github.merge(number, ADAM)
        self.bot("record-rollback", CI, *self.record_args(),
                 expect=Expect(says=(f"created   promotion/{change_id}",)))
        self.bot("audit-rollback", CI, "audit", "--change-id", change_id,
                 expect=Expect(says=(f"rollback of {promoted}",)))

    def audit(self) -> None:
        self.begin(6, "auditor audrey", "a fresh clone and the keys in its policy: every "
                   "promotion verified")
        self.git(self.folder, "clone", "-q", "origin.git", "auditor", person=AUDREY,
                 show="git clone origin.git auditor && cd auditor")
        self.bot("audit", AUDREY, "audit", cwd=self.auditor,
                 expect=Expect(says=("0 findings",), meaning="no findings"))
        self.bot("audit-html", AUDREY, "audit", "--format", "html", "--output", f"../{REPORT}",
                 cwd=self.auditor, expect=Expect(says=("wrote",)))
        report = self.folder / REPORT
        if not report.is_file():
            raise DemoStopped(f"`audit --output ../{REPORT}` wrote no {report}")
        self.result.report = report
        self.note(f"the report: {report}")

    def tamper(self) -> None:
        self.begin(7, "mallory, the auditor and the deploy job", "a rewritten record is "
                   "refused")
        victim = self.first_ruleset_record()
        mallory = self.folder / "mallory"
        self.git(self.folder, "clone", "-q", "origin.git", "mallory", person=MALLORY)
        tag = f"promotion/{victim}"
        message = git(mallory, "cat-file", "tag", tag, person=MALLORY)
        target = message.split("\n", 1)[0].removeprefix("object ")
        envelope_text = message.split("\n\n", 1)[1]
        edited = _rewrite_reviewer(envelope_text, "mallory")
        (self.folder / "edited-record.json").write_text(edited, encoding="utf-8")
        self.note(f"mallory, who may push tags, edits the record of {victim}: its reviewer "
                  "becomes mallory; the signature stays as it was")
        self.git(mallory, "tag", "-f", "-a", "--cleanup=verbatim", "-F",
                 "../edited-record.json", tag, target, person=MALLORY,
                 show=f"git tag -f -a -F ../edited-record.json {tag} {target[:12]}")
        self.git(mallory, "push", "-q", "-f", "origin", f"refs/tags/{tag}", person=MALLORY,
                 show=f"git push -f origin {tag}")
        self.note("the auditor fetches the tags again and audits")
        self.git(self.auditor, "fetch", "-q", "-f", "--tags", "origin", person=AUDREY,
                 show="git fetch -f --tags origin")
        self.bot("audit-tampered", AUDREY, "audit", cwd=self.auditor,
                 expect=Expect(1, ("BAD_SIGNATURE",), "a finding: the record was changed"))
        self.note("the deploy job fetches the tags and asks whether main may be deployed")
        self.git(self.work, "fetch", "-q", "-f", "--tags", "origin", person=CI,
                 show="git fetch -f --tags origin")
        self.bot("verify-tampered", CI, "verify", "--commit", "origin/main",
                 expect=Expect(1, ("NOT COVERED",), "refused: a file is not covered"))

    # -- helpers --------------------------------------------------------------------------
    @property
    def where(self) -> str:
        return f"step {self.step}" if self.step else "the set-up"

    def heading(self, text: str) -> None:
        self.listener.heading(text)

    def begin(self, number: int, who: str, what: str) -> None:
        self.result.steps_done = number - 1
        self.step = number
        self.listener.heading(f"step {number}/{STEPS}  {who}: {what}")

    def note(self, text: str) -> None:
        self.listener.note(text)

    def git(self, repo: Path, *args: str, person: Person, show: str | None = None) -> str:
        if show is not None:
            self.listener.command(show)
        return git(repo, *args, person=person)

    def commit(self, message: str, person: Person, show: bool = False,
               paths: Sequence[str] = (".",)) -> None:
        shown = f"git add -A && git commit -m {shlex.quote(message)}" if show else None
        self.git(self.work, "add", "-A", "--", *paths, person=person)
        self.git(self.work, "commit", "-q", "-m", message, person=person, show=shown)

    def open_pull(self, branch: str, title: str, author: Person) -> int:
        git(self.work, "push", "-q", "origin", branch, person=author)
        return self.github.open_pull(branch, title, author)

    def snapshot(self, number: int) -> str:
        return f"../github/{self.github.snapshot_path(number).name}"

    def check_args(self, number: int) -> list[str]:
        # one check at a time: the progress lines come in the same order on every run
        return ["check", "--jobs", "1", "--output-dir", f"../checks/pr-{number}",
                "-o", f"../evidence/pr-{number}.json"]

    def record_args(self) -> list[str]:
        return ["record", "--snapshot", "../github", "--evidence", "../evidence",
                "--key-file", f"../{KEY_FILE}", "--push", "origin"]

    def new_ruleset(self, version: str, rule_id: str, keyword: str) -> str:
        """The newest ruleset with `keyword` added to the rule `rule_id`, as `version`."""
        current = sorted((self.work / "configs/routing_tables").glob("routing_rules_v*.json"))
        data: dict[str, Any] = json.loads(current[-1].read_text(encoding="utf-8"))
        data["version"] = version
        for rule in data["rules"]:
            if rule["id"] == rule_id:
                rule["any_keywords"].append(keyword)
        path = RULES.format(version)
        (self.work / path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return path

    def first_ruleset_record(self) -> str:
        """The change id that first promoted the routing rules (its file is still on main, and
        only its record covers it)."""
        for path in sorted((self.work / "change-requests").glob("*.yaml")):
            content = path.read_text(encoding="utf-8")
            if "target: routing-rules" in content and "current_version: null" in content:
                return path.stem
        raise DemoStopped("no first promotion of routing-rules in change-requests/")

    def bot(self, key: str, person: Person, *args: str, cwd: Path | None = None,
            quiet: bool = False, expect: Expect = Expect()) -> CommandRun:
        return self._run(key, shlex.join(["promotion-bot", *args]), cwd, quiet, expect,
                         lambda directory, on_line: self.promotion_bot.run(
                             args, directory, person, on_line))

    def shell(self, key: str, person: Person, *argv: str, quiet: bool = False) -> CommandRun:
        return self._run(key, shlex.join(argv), None, quiet, Expect(),
                         lambda directory, on_line: run(argv, directory, person, on_line))

    def _run(self, key: str, shown: str, cwd: Path | None, quiet: bool,
             expect: Expect, start: Callable[[Path, Callable[[str], None]], Finished],
             ) -> CommandRun:
        self.listener.command(shown)
        on_line = (lambda line: None) if quiet else self.listener.output
        finished = start(cwd or self.work, on_line)
        command_run = CommandRun(self.step, key, shown, finished.exit_code, finished.output)
        self.result.runs.append(command_run)
        if not quiet and finished.exit_code != 0:
            self.listener.output(f"[exit {finished.exit_code}]")
        missing = [text for text in expect.says if text not in finished.output]
        if finished.exit_code == expect.exit_code and not missing:
            return command_run
        if quiet:
            for line in command_run.console().splitlines()[1:]:
                self.listener.output(line)
        meaning = f" ({expect.meaning})" if expect.meaning else ""
        if finished.exit_code != expect.exit_code:
            got = f"exited {finished.exit_code}, expected {expect.exit_code}{meaning}"
        else:
            got = f"did not say {' / '.join(repr(text) for text in missing)}{meaning}"
        raise DemoStopped(f"`{shown}` {got}; its output is above")


def _policy_entry(keys_output: str) -> str:
    """The `signing:` entry `keys generate` prints for the policy."""
    lines = keys_output.splitlines()
    starts = [index for index, line in enumerate(lines) if line.startswith("signing:")]
    if not starts:
        raise DemoStopped("`keys generate` printed no `signing:` entry")
    return "\n".join(lines[starts[0]:]).rstrip() + "\n"


def _change_id(output: str, after: str) -> str:
    for line in output.splitlines():
        if after in line:
            found = CHANGE_ID.search(line.split(after, 1)[1])
            if found:
                return found.group(0)
    raise DemoStopped(f"no change id after {after!r} in the output above")


def _rewrite_reviewer(envelope_text: str, login: str) -> str:
    """The envelope with its statement's first approval given to `login`; the signature is
    kept (which is what makes it a forgery)."""
    try:
        envelope = parse_envelope(envelope_text.strip())
    except EnvelopeError as error:
        raise DemoStopped(f"the record to rewrite is not an envelope: {error}") from None
    statement = json.loads(envelope.payload)
    approvals = statement["predicate"]["decision"]["approvals"]
    reviewer = next((a for a in approvals if a.get("role") == "reviewer"), approvals[0])
    reviewer["login"] = login
    data = envelope.as_data()
    data["payload"] = base64.b64encode(
        json.dumps(statement, sort_keys=True, separators=(",", ":")).encode("ascii")
    ).decode("ascii")
    return json.dumps(data, sort_keys=True, separators=(",", ":"))
