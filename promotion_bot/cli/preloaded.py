"""Runs promotion-bot commands for the demo, each in a process of its own, forked from this one,
which has imported every command once (`python -m promotion_bot.cli.preloaded`).

A command of the demo spends most of its time importing (click, PyYAML, jsonschema,
cryptography, PyGithub): forked from a process that has already imported them, it starts in
milliseconds. Each command still runs in a process of its own, with the argument list, working
folder and whole environment of the request, its output on a pipe of its own, and the same
`main` as `promotion-bot`, and it exits with the code `promotion-bot` would give (its
threads joined, its exit functions run, its output flushed; the modules it inherited are not
torn down, which would copy most of the server's memory: a tenth of a second per command).

The protocol is JSON lines (adapters/sandbox.py is the other side). On standard input, one
request per command: {"argv": [...], "cwd": "...", "env": {...}}. On standard output, for each
request: {"pid": N}, then {"line": "..."} for every line the command writes to its standard
output or error (in the order written), then {"exit": CODE} (negative: the signal that ended
it). The server runs one command at a time and stops at the end of its input.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import io
import json
import os
import pkgutil
import signal
import sys
import threading
import traceback
from collections.abc import Iterable
from typing import Any, NoReturn, TextIO

from promotion_bot.cli.main import COMMANDS, main


def _preload() -> None:
    """Every command, and every module of promotion-bot (commands import some of theirs only
    when they run)."""
    for module_name, _attribute in COMMANDS.values():
        importlib.import_module(module_name)
    package = importlib.import_module("promotion_bot")
    for module in pkgutil.walk_packages(package.__path__, "promotion_bot."):
        if not module.name.endswith(("__main__", ".preloaded")):
            importlib.import_module(module.name)


def _send(control: TextIO, message: dict[str, Any]) -> None:
    control.write(json.dumps(message) + "\n")
    control.flush()


def _run_command(request: dict[str, Any], output: int, control: TextIO) -> NoReturn:
    """In the forked process: become the command, run it and exit (never returns)."""
    control.close()
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # the server's requests are not the command's input
    os.close(null)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    argv = [str(arg) for arg in request["argv"]]
    sys.argv = ["promotion-bot", *argv]
    # unbuffered, as PYTHONUNBUFFERED makes them: standard output and error interleave as
    # they are written, on the one pipe
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115
    sys.stdout = _unbuffered(1, sys.__stdout__)
    sys.stderr = _unbuffered(2, sys.__stderr__)
    try:
        code: object = main(argv)
    except SystemExit as stop:
        code = stop.code
    except BaseException:  # as the interpreter reports what escapes the program
        traceback.print_exc()
        code = 1
    _exit(0 if code is None else code if isinstance(code, int) else _print_exit_message(code))


def _print_exit_message(message: object) -> int:
    print(message, file=sys.stderr)
    return 1


def _exit(code: int) -> NoReturn:
    """End the command's process as the interpreter's exit does, but without tearing down the
    modules (see the module's docstring)."""
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code & 0xFF)


def _unbuffered(fd: int, like: Any) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        io.FileIO(fd, "w", closefd=False),
        encoding=getattr(like, "encoding", None),
        errors=getattr(like, "errors", None),
        write_through=True,
    )


def serve(requests: Iterable[str], control: TextIO) -> None:
    for line in requests:
        request = json.loads(line)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            _run_command(request, write_end, control)
        os.close(write_end)
        _send(control, {"pid": pid})
        with open(read_end, "rb") as output:
            for raw in output:
                _send(control, {"line": raw.decode("utf-8", "replace").rstrip("\n")})
        _, status = os.waitpid(pid, 0)
        _send(control, {"exit": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__":
    # Ctrl-C reaches the demo, which stops the command it runs; the server stops with the end
    # of its input
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _preload()
    # the control channel is a copy of standard output: a command's process gets a pipe of
    # its own as fds 1 and 2
    control = open(os.dup(1), "w", encoding="utf-8")  # noqa: SIM115
    serve(sys.stdin, control)
    # at the end of its input the server has no output left to flush but the control channel:
    # tearing down the hundreds of modules it preloaded would only make the demo wait 0.1 s
    control.close()
    os._exit(0)
