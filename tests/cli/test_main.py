"""`promotion-bot --help` loads none of the heavy libraries (PyGithub, jsonschema, cryptography,
PyYAML): the command table is in cli/main.py, and each command imports what it uses."""

from __future__ import annotations

import subprocess
import sys


def test_help_imports_no_command_module_and_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from promotion_bot.cli.main import main\n"
        "code = main(['--help'])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('promotion_bot.')\n"
        "                or m.split('.')[0] in ('github', 'jsonschema', 'fastjsonschema',\n"
        "                                       'cryptography', 'yaml', 'requests', 're2'))\n"
        "print(code, loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "0 ['promotion_bot.cli', 'promotion_bot.cli.main', 'promotion_bot.core', "
        "'promotion_bot.core.errors']"
    )
