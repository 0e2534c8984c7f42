"""`promotion-bot init`: adopt an existing repository (policy, CODEOWNERS lines, workflows)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from promotion_bot.cli.options import governed_root, repo_option
from promotion_bot.core.adoption import ROLE_OPTIONS, Answers, Question
from promotion_bot.core.errors import ConfigError, ExitCode
from promotion_bot.flows.init import propose_adoption, signing_key_entry, write_proposal
from promotion_bot.render.adoption import next_steps, render_proposal, render_questions


@click.command("init", short_help="Adopt this repository: propose a policy.")
@repo_option()
@click.option("--org", default=None, help="The GitHub organisation that owns the teams "
              "(default: the owner of the origin remote).")
@click.option("--bot-repository", default=None, metavar="OWNER/NAME",
              help="promotion-bot's repository the workflows use (default: where this "
              "promotion-bot was installed from).")
@click.option("--bot-ref", default=None, metavar="SHA",
              help="The promotion-bot commit to adopt, 40 hex digits (default: the installed "
              "commit).")
@click.option("--reviewers", default=None, metavar="@ORG/TEAM",
              help="Owners of the reviewer role (default: @ORG/promotion-reviewers).")
@click.option("--administrators", default=None, metavar="@ORG/TEAM",
              help="Owners of the administrator role (default: @ORG/promotion-admins).")
@click.option("--security-officers", default=None, metavar="@ORG/TEAM",
              help="Owners of the security_officer role (default: @ORG/security-officers).")
@click.option("--privacy-officers", default=None, metavar="@ORG/TEAM",
              help="Owners of the privacy_officer role (default: @ORG/privacy-officers).")
@click.option("--change-type", "change_types", multiple=True, metavar="TYPE=GLOB",
              help="Govern these paths as TYPE (ruleset, model, prompt, template) instead of "
              "what init finds; repeatable.")
@click.option("--check", "checks", multiple=True, metavar="NAME=COMMAND",
              help="Add a check every change type requires; repeatable.")
@click.option("--signing-key", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A key file (`keys generate` writes one): its public key is trusted in the "
              "policy. Never written anywhere.")
@click.option("--yes", is_flag=True, help="Write without asking (scripts); an open question "
              "is an error instead of a prompt.")
@click.option("--dry-run", is_flag=True, help="Show the proposal; write nothing.")
def init(repo: Path | None, org: str | None, bot_repository: str | None, bot_ref: str | None,
         reviewers: str | None, administrators: str | None, security_officers: str | None,
         privacy_officers: str | None, change_types: tuple[str, ...], checks: tuple[str, ...],
         signing_key: Path | None, yes: bool, dry_run: bool) -> int:
    """Adopt this repository: propose a policy, CODEOWNERS lines and the workflows.

    \b
    Run it inside an existing repository. It proposes
      - .promotion/policy.yaml: change types from the folders it finds (rulesets, models,
        prompts, templates), the checks the repository already has, the four roles
        (reviewer, administrator, security_officer, privacy_officer), conditions and
        governance;
      - CODEOWNERS lines giving every governed path an owner of each role it needs;
      - the five workflow files, pinned to one promotion-bot commit;
    shows them, and writes them when you confirm (--yes for scripts). The result validates
    as it stands. What init cannot find out is asked, one named option each.

    \b
    Examples:
      promotion-bot init
      promotion-bot init --dry-run

    Exit codes: 0 written (or shown, with --dry-run), 1 not written (declined) or the written
    files do not validate, 2 an open question with --yes, or a usage error.
    """
    root = governed_root(repo)
    owners = {role: value for role, value in zip(
        ROLE_OPTIONS, (reviewers, administrators, security_officers, privacy_officers),
        strict=True) if value}
    answers = Answers(
        org=org, bot_repository=bot_repository, bot_ref=bot_ref, owners=owners,
        change_types=_pairs(change_types, "--change-type", multi=True),
        checks={name: values[0] for name, values in
                _pairs(checks, "--check", multi=False).items()},
        signing_key=signing_key_entry(signing_key) if signing_key else None,
    )
    proposal = propose_adoption(root, answers)
    while proposal.questions and not proposal.problems:
        if yes:
            click.echo(render_questions(proposal.questions), err=True)
            raise ConfigError("init cannot fill these in; give the options above (or run it "
                              "without --yes to be asked)")
        answers = _ask(answers, proposal.questions)
        proposal = propose_adoption(root, answers)
    if proposal.problems:
        raise ConfigError("init cannot propose an adoption for this repository",
                          list(proposal.problems))
    click.echo(f"promotion-bot init: a proposal for {root}\n")
    click.echo(render_proposal(proposal))
    if not proposal.to_write:
        click.echo("\nnothing to write: the repository already has everything init proposes")
        return int(ExitCode.OK)
    if dry_run:
        click.echo("\ndry run: nothing written")
        return int(ExitCode.OK)
    if not yes and not click.confirm(f"\nWrite these {len(proposal.to_write)} files?",
                                     default=False):
        click.echo("nothing written")
        return int(ExitCode.REJECTED)
    written = write_proposal(root, proposal)
    click.echo(f"\nwrote {', '.join(written.files)}")
    for problem in written.validation.problems:
        click.echo(problem.render())
    if written.validation.problems or written.validation.config_error:
        click.echo(written.validation.config_error or "the written files do not validate "
                   "(above); fix them before you commit")
        return int(ExitCode.REJECTED)
    click.echo(f"valid: {written.validation.summary()}\n")
    click.echo(next_steps(written.files, answers.signing_key is not None))
    return int(ExitCode.OK)


def _pairs(values: tuple[str, ...], option: str, *, multi: bool) -> dict[str, tuple[str, ...]]:
    pairs: dict[str, tuple[str, ...]] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise ConfigError(f"{option} {value!r}: give it as NAME=VALUE")
        name = name.strip()
        if name in pairs and not multi:
            raise ConfigError(f"{option} {name} is given twice")
        pairs[name] = (*pairs.get(name, ()), rest.strip())
    return pairs


def _ask(answers: Answers, questions: tuple[Question, ...]) -> Answers:
    for question in questions:
        click.echo(f"{question.option}: {question.why}")
        value = str(click.prompt(question.prompt, default=question.default)).strip()
        if question.option == "--org":
            answers = replace(answers, org=value)
        elif question.option == "--bot-repository":
            answers = replace(answers, bot_repository=value)
        elif question.option == "--bot-ref":
            answers = replace(answers, bot_ref=value)
        elif question.option == "--change-type":
            pairs = _pairs((value,), "--change-type", multi=True)
            answers = replace(answers, change_types={**answers.change_types, **pairs})
        elif question.option == "--check":
            pairs = _pairs((value,), "--check", multi=False)
            answers = replace(answers, checks={**answers.checks,
                                               **{k: v[0] for k, v in pairs.items()}})
    return answers
