"""The install story outside this repository: a wheel and an sdist that install and run on their
own, the composite action, and the pre-commit hooks.

The build runs offline (`python -m build --no-isolation`, with hatchling from the test extra), and
the wheel is installed with `pip --no-index --no-deps` into a fresh virtual environment whose only
view of the dependencies (PyGithub, click, ...) is this environment's site-packages, appended
after its own: promotion-bot itself must come from the wheel.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import yaml

from promotion_bot import __version__
from promotion_bot.cli.main import COMMANDS
from tests.conftest import PROJECT

PROBE = """
import promotion_bot
from promotion_bot.adapters.distribution import read_workflow_templates, templates_dir
from promotion_bot.core.formats.schemas import load_schema, schemas_dir
load_schema("policy")
print(promotion_bot.__file__, schemas_dir(), templates_dir(), sorted(read_workflow_templates()))
"""


def run(*command: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True,
                            check=False, timeout=300, cwd=cwd)
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout.strip()


def test_the_built_wheel_installs_alone_and_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, PROJECT)
    (wheel,) = dist.glob("promotion_bot-*.whl")
    (sdist,) = dist.glob("promotion_bot-*.tar.gz")

    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert {"promotion_bot/schemas/policy.schema.json",
            "promotion_bot/example/.github/workflows/promotion-gate.yml",
            "promotion_bot/cli/main.py"} <= in_wheel
    with tarfile.open(sdist) as archive:
        in_sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"pyproject.toml", "action.yml", "schemas/policy.schema.json",
            "examples/governed-repo/.github/workflows/promotion-gate.yml"} <= in_sdist

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"))
    (site / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-index",
        "--no-deps", wheel)

    # from an empty folder: `python -c` puts the current folder first on sys.path
    assert run(venv / "bin" / "promotion-bot", "--version", cwd=tmp_path) == \
        f"promotion-bot, version {__version__}"
    module, schemas, templates, names = run(python, "-c", PROBE, cwd=tmp_path).split(" ", 3)
    for path in (module, schemas, templates):
        assert Path(path).is_relative_to(site), f"{path} does not come from the wheel"
    assert "promotion-gate.yml" in names


def test_the_action_installs_the_bot_from_its_own_files() -> None:
    action = yaml.safe_load((PROJECT / "action.yml").read_text(encoding="utf-8"))
    (step,) = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite" and step["shell"] == "bash"
    assert "${{" not in step["run"], "expressions reach scripts only through env:"
    installs = [line.strip() for line in step["run"].splitlines() if "pip install" in line]
    assert installs == ['"$venv/bin/python" -m pip install --quiet --disable-pip-version-check '
                        '"$GITHUB_ACTION_PATH"']
    assert "GITHUB_PATH" not in step["run"] and "GITHUB_ENV" not in step["run"]


def test_pre_commit_hooks_run_real_commands_and_check_is_manual() -> None:
    hooks = {hook["id"]: hook for hook in
             yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert set(hooks) == {"promotion-bot-validate", "promotion-bot-check"}
    for hook in hooks.values():
        program, command = hook["entry"].split()[:2]
        assert (program, hook["language"]) == ("promotion-bot", "python")
        assert command in COMMANDS and hook["pass_filenames"] is False
    assert "stages" not in hooks["promotion-bot-validate"]  # every commit
    assert hooks["promotion-bot-check"]["stages"] == ["manual"]  # it runs the repository's code
