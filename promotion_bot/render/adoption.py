"""`promotion-bot init` for people: what it found, the files it proposes, the next steps. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from promotion_bot.core.adoption import Proposal, ProposedFile, Question

RULE = "-" * 72


def render_proposal(proposal: Proposal) -> str:
    lines = ["found:"]
    lines += [f"  {line}" for line in proposal.found] or ["  nothing"]
    workflows = [item for item in proposal.files if item.path.endswith(".yml")]
    for item in proposal.files:
        if item not in workflows:
            lines += ["", *_file(item)]
    if workflows:
        lines.append("")
        lines += [line for item in workflows for line in _file(item)]
    if proposal.notes:
        lines += ["", "to decide later:"]
        lines += [f"  - {note}" for note in proposal.notes]
    return "\n".join(lines)


def _file(item: ProposedFile) -> list[str]:
    if item.action == "unchanged":
        return [f"unchanged {item.path} (already as proposed)"]
    head = f"{item.action:9} {item.path}"
    if item.path.endswith(".yml"):  # a workflow: the shipped caller, the pin filled in
        return [f"{head}: {item.summary}"]
    shown = item.added if item.action == "append" else item.content
    return [f"{head}: {item.summary}", RULE, shown.rstrip("\n"), RULE]


def render_questions(questions: Sequence[Question]) -> str:
    lines = [f"init needs {len(questions)} answer(s) it cannot find in this repository:"]
    for question in questions:
        default = f" [default {question.default}]" if question.default else ""
        lines.append(f"  {question.option}: {question.prompt}{default}")
        lines.append(f"      ({question.why})")
    return "\n".join(lines)


def next_steps(written: Sequence[str], has_signing_key: bool) -> str:
    steps = []
    if not has_signing_key:
        steps.append("make the signing key: promotion-bot keys generate -o ../signing-key.pem, "
                     "and add the signing: entry it prints to .promotion/policy.yaml")
    folders = (".promotion/", ".github/workflows/")
    paths = sorted({next((f.rstrip("/") for f in folders if p.startswith(f)), p)
                    for p in written})
    steps += [
        "state what is live today, in the same pull request: promotion-bot baseline --propose "
        "> .promotion/baseline.yaml, set each target's version, then promotion-bot baseline",
        "commit on a branch and open the pull request: git add " + " ".join(paths)
        + " && git commit -m 'Adopt promotion-bot'",
        "before it merges, create the teams, the GitHub App and the two environments with their "
        "secrets; after, the rulesets and the Actions settings (docs/adopting.md)",
        "check every GitHub setting: promotion-bot doctor",
    ]
    return "next steps (docs/adopting.md):\n" + "\n".join(
        f"  {n}. {step}" for n, step in enumerate(steps, start=1))
