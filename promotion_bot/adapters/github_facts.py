"""The GitHub source of merge facts for `record`: the pull request merged as a commit.

For each merge on main, `record` asks GitHub which pull request was merged as that commit
(`GET /repos/{o}/{r}/commits/{sha}/pulls`). It builds the PR snapshot with the gate's own
snapshot builder, with the merge's first parent as the base (the policy and CODEOWNERS the merge
was judged by), and takes the evidence document that the checks workflow uploaded for the
pull request's head (the `promotion-evidence` artifact of a run of the checks workflow file on
`pull_request` for that head; an artifact of that name from any other run is no evidence).
No pull request means a direct push: `record` then records a violation.

Records are permanent, so "none" is believed only when GitHub confirms it through a second,
independent read (the adapter does); when GitHub cannot answer, this raises and `record`
writes nothing for the merge: the next run catches up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from promotion_bot.adapters.github import PullReader
from promotion_bot.adapters.github_snapshot import build_snapshot
from promotion_bot.core.errors import ConfigError
from promotion_bot.core.formats.documents import POLICY_PATH, load_policy
from promotion_bot.core.history import HistoryCommit
from promotion_bot.core.merge_facts import MergeFacts, summarise_evidence
from promotion_bot.core.snapshot import parse_snapshot, snapshot_to_json

EVIDENCE_ARTIFACT = "promotion-evidence"
CHECKS_WORKFLOW = ".github/workflows/promotion-checks.yml"  # the caller in the governed repo
CHECKS_EVENT = "pull_request"


class LazyFacts:
    """A MergeFactsSource made on first use: a run with nothing to record needs no GitHub."""

    def __init__(self, factory: Callable[[], GitHubFacts]) -> None:
        self._factory = factory
        self._source: GitHubFacts | None = None

    def snapshot_for_merge(self, commit: HistoryCommit) -> MergeFacts | None:
        if self._source is None:
            self._source = self._factory()
        return self._source.snapshot_for_merge(commit)


class GitHubFacts:
    """MergeFactsSource over the GitHub API (see promotion_bot.core.merge_facts)."""

    def __init__(self, reader: PullReader, repository: str, clock: Callable[[], dt.datetime],
                 evidence_artifact: str = EVIDENCE_ARTIFACT,
                 checks_workflow: str = CHECKS_WORKFLOW) -> None:
        self.reader = reader
        self.repository = repository
        self.clock = clock
        self.evidence_artifact = evidence_artifact
        self.checks_workflow = checks_workflow

    def snapshot_for_merge(self, commit: HistoryCommit) -> MergeFacts | None:
        numbers = self.reader.merged_pulls_of_commit(commit.sha)
        if not numbers:
            return None
        if len(numbers) > 1:
            raise ConfigError(f"GitHub names several pull requests merged as {commit.sha[:12]}: "
                              f"{', '.join(f'#{n}' for n in numbers)}")
        if commit.first_parent is None:
            return None
        facts = self.reader.merged_pull(numbers[0], base=commit.first_parent)
        raw_policy = self.reader.read(commit.first_parent, POLICY_PATH)
        policy = load_policy(raw_policy, POLICY_PATH).value if raw_policy is not None else None
        data = build_snapshot(self.reader, facts, policy, self.repository, self.clock,
                              verify=False)
        self.reader.verify_pending()  # the review and member counts, the head: one query
        snapshot = parse_snapshot(data, f"pull request #{facts.number}")
        evidence = None
        found = self.reader.evidence_for_head(facts.head_sha, self.evidence_artifact,
                                              self.checks_workflow, CHECKS_EVENT)
        if found.document is not None and found.url is not None:
            evidence = summarise_evidence(found.document, found.url)
        return MergeFacts(
            snapshot=snapshot,
            snapshot_data=snapshot_to_json(snapshot),
            pull=facts.pull,
            evidence=evidence,
            source=f"GitHub pull request #{facts.number}",
            evidence_note="; ".join(found.rejected),
        )
