"""The command line: click only. Each command lives in promotion_bot/cli/<name>.py and calls
one flow in promotion_bot/flows/.

Commands are imported lazily so that `promotion-bot validate` does not pay for PyGithub.
Expected failures (`PromotionBotError`) print one message (and their located problems) and
exit 1 or 2; anything else is a bug: exit 3 with the traceback, never a silent success.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from promotion_bot import __version__
from promotion_bot.core.errors import ExitCode, PromotionBotError

# command name -> (module, attribute). Keep in the order the help lists them.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("promotion_bot.cli.init", "init"),
    "doctor": ("promotion_bot.cli.doctor", "doctor"),
    "validate": ("promotion_bot.cli.validate", "validate"),
    "new": ("promotion_bot.cli.new", "new"),
    "hash": ("promotion_bot.cli.hash", "hash_command"),
    "check": ("promotion_bot.cli.check", "check"),
    "approvals": ("promotion_bot.cli.approvals", "approvals"),
    "gate": ("promotion_bot.cli.gate", "gate"),
    "snapshot": ("promotion_bot.cli.gate", "snapshot"),
    "record": ("promotion_bot.cli.record", "record_command"),
    "audit": ("promotion_bot.cli.audit", "audit_command"),
    "status": ("promotion_bot.cli.status", "status"),
    "verify": ("promotion_bot.cli.verify", "verify"),
    "keys": ("promotion_bot.cli.keys", "keys"),
    "export": ("promotion_bot.cli.export", "export"),
    "baseline": ("promotion_bot.cli.baseline", "baseline"),
    "rollback": ("promotion_bot.cli.rollback", "rollback_command"),
    "demo": ("promotion_bot.cli.demo", "demo"),
}

# command name -> one line for the top-level help, so that `promotion-bot --help` imports no
# command module (a test keeps these equal to each command's own short help).
SUMMARIES: dict[str, str] = {
    "init": "Adopt this repository: propose a policy.",
    "doctor": "Check the repository's GitHub configuration, item by item.",
    "validate": "Validate change requests and the policy, with file:line errors.",
    "new": "Write a change request for artifacts, hashes filled in.",
    "hash": "Print the SHA-256 of files, for a change request.",
    "check": "Run the checks the change requests of this branch require.",
    "approvals": "Who must still approve a pull request, and why.",
    "gate": "Evaluate a pull request on GitHub and set promotion/approvals.",
    "snapshot": "Export a pull request's snapshot, for offline approvals.",
    "record": "Sign a promotion record for every unrecorded merge on main.",
    "audit": "Verify every promotion and rollback on main, from git alone.",
    "status": "The version of each target promoted on main, and its record.",
    "verify": "Deployment gate: is every governed file at a commit recorded?",
    "keys": "Make and inspect the keys that sign promotion records.",
    "export": "Deliver every valid record on main as a CloudEvent.",
    "baseline": "Check the adoption baseline (.promotion/baseline.yaml).",
    "rollback": "Open a gated revert pull request for a promotion.",
    "demo": "Watch the whole promotion lifecycle on the bundled example.",
}

INTERNAL_ERROR = 3


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from SUMMARIES: no command module is imported for --help."""
        rows = [(name, SUMMARIES.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="promotion-bot")
def cli() -> None:
    """Approval-gated, auditable promotion of governed artifacts through pull requests.

    \b
    Newcomers:    demo                          (the whole lifecycle, offline, in seconds)
    Adopters:     init, baseline, doctor        (adopt a repository, check its GitHub setup)
    Engineers:    validate, new, hash, check    (before pushing a change request)
    Approvers:    approvals, snapshot           (why a PR is or is not approved)
    In CI:        gate, record                  (GitHub Actions)
    Auditors:     audit, status, verify         (from git alone)
    On call:      rollback                      (a gated revert pull request)
    Operators:    keys                          (the keys that sign records)
    Audit system: export                        (records as CloudEvents)

    \b
    Options mean the same in every command: --repo DIR the governed repository, --base REF
    the main branch, -o/--output FILE the file the command writes. Each command's --help
    shows an example and its exit codes.

    \b
    Example:
      promotion-bot check --base main

    \b
    Exit codes: 0 success, 1 rejected / not approved, 2 usage or configuration error,
    3 internal error (a bug: please report it with the traceback).
    """


def main(argv: list[str] | None = None) -> int:
    try:
        result: Any = cli.main(args=argv, prog_name="promotion-bot", standalone_mode=False)
    except PromotionBotError as error:
        report_error(error)
        return int(error.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return int(ExitCode.USAGE)
    except click.ClickException as error:
        error.show()
        return int(ExitCode.USAGE)
    except OSError as error:
        # the environment refused a file operation (a name too long for the system, a
        # permission, a full disk): the command could not judge, so exit 2, never a traceback
        report_error(PromotionBotError(_os_error_message(error)))
        return int(ExitCode.USAGE)
    except Exception:
        import traceback  # a bug's report only: not imported by every run

        click.echo("promotion-bot: internal error (this is a bug; the traceback follows)", err=True)
        click.echo(traceback.format_exc(), err=True)
        return INTERNAL_ERROR
    if isinstance(result, int):
        return result
    return int(ExitCode.OK)


def _os_error_message(error: OSError) -> str:
    name = str(error.filename) if error.filename is not None else ""
    if len(name) > 200:
        name = f"{name[:120]}…({len(name)} characters)"
    reason = error.strerror or str(error)
    return f"{name}: {reason}" if name else f"cannot complete: {reason}"


def report_error(error: PromotionBotError) -> None:
    if error.problems:
        for problem in error.problems:
            click.echo(problem.render(), err=True)
        if len(error.problems) > 1 or error.problems[0].render() != error.message:
            click.echo(f"promotion-bot: {error.message}", err=True)
    else:
        click.echo(f"promotion-bot: {error.message}", err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
