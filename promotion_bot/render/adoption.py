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
    steps = [
        "review and commit on a branch: git switch -c adopt-promotion-bot && git add "
        + " ".join(written) + " && git commit -m 'Adopt promotion-bot'",
    ]
    if not has_signing_key:
        steps.append("make the signing key: promotion-bot keys generate --out signing-key.pem; "
                     "add the signing: entry it prints to .promotion/policy.yaml")
    steps += [
        "set up GitHub as docs/adopting.md says (the App, two environments, the rulesets, the "
        "Actions settings), then check it: promotion-bot doctor",
        "open the pull request; once it is merged, sign the adoption baseline (the version of "
        "every target live today): promotion-bot baseline (docs/adopting.md)",
    ]
    return "next steps:\n" + "\n".join(f"  {n}. {step}" for n, step in enumerate(steps, start=1))
