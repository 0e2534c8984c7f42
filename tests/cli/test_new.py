"""`promotion-bot new` writes a change request that validates, with hashes computed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from promotion_bot.adapters.files import load_yaml_file, sha256_file
from promotion_bot.cli.main import main
from tests.conftest import git

NEW_RULESET = "configs/routing_tables/routing_rules_v1.1.0.json"


def add_ruleset(repo: Path) -> Path:
    source = repo / "configs/routing_tables/routing_rules_v1.0.0.json"
    target = repo / NEW_RULESET
    target.write_text(source.read_text().replace('"1.0.0"', '"1.1.0"'))
    git(repo, "add", NEW_RULESET)
    return target


def test_new_writes_a_valid_change_request_with_derived_current_version(
    example_repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = add_ruleset(example_repo)
    monkeypatch.chdir(example_repo)
    code = main(["new", "--type", "ruleset", "--target", "routing-rules", "--id", "CR-2026-0005",
                 "--title", "Route chargebacks to billing", "--proposed", "1.10", NEW_RULESET])
    output = capsys.readouterr().out
    assert code == 0, output
    assert "wrote change-requests/CR-2026-0005.yaml (ruleset routing-rules: 1.0.0 -> 1.10)" in output
    written = example_repo / "change-requests/CR-2026-0005.yaml"
    text = written.read_text()
    assert 'proposed_version: "1.10"' in text  # quoted: YAML must not read it as 1.1
    data = load_yaml_file(written).data
    assert data["current_version"] == "1.0.0"  # the last merged promotion of routing-rules
    assert data["artifacts"] == [{"path": NEW_RULESET, "sha256": sha256_file(target)}]
    assert main(["validate", "--repo", str(example_repo)]) == 0


def test_new_first_promotion_has_null_current_version_and_next_free_id(
    example_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_ruleset(example_repo)
    code = main(["new", "--repo", str(example_repo), "--type", "ruleset", "--target", "fraud-rules",
                 "--title", "A new target", "--proposed", "0.1.0", "--stdout",
                 str(example_repo / NEW_RULESET)])
    output = capsys.readouterr().out
    assert code == 0
    assert "current_version: null" in output
    year = dt.date.today().year
    expected = "CR-2026-0005" if year == 2026 else f"CR-{year}-0001"  # next free number
    assert f"change_id: {expected}\n" in output


def test_new_prompt_fills_versioned_prompt_entries(example_repo: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    prompt = example_repo / "prompts/classify_prompt.md"
    prompt.write_text(prompt.read_text() + "\nAnswer in lower case.\n")
    code = main(["new", "--repo", str(example_repo), "--type", "prompt", "--target",
                 "classify-prompt", "--title", "Lower-case labels", "--proposed", "1.1.0",
                 "--id", "CR-2026-0005", "--stdout", str(prompt)])
    output = capsys.readouterr().out
    assert code == 0, output
    assert f"prompts:\n- path: prompts/classify_prompt.md\n  version: \"1.1.0\"\n  sha256: " \
           f"{sha256_file(prompt)}" in output


@pytest.mark.parametrize(("args", "words"), [
    (["--type", "model", "--title", "Model", "--proposed", "1.1.0",
      "configs/models/classifier.yaml"], "missing required key 'models'"),
    (["--type", "model", "--title", "Model", "--proposed", "1.1.0", "--model", "classifier=gpt-4o",
      "configs/models/classifier.yaml"], "no version or digest"),
    (["--type", "ruleset", "--title", "Oops", "--proposed", "1.1.0",
      "templates/replies/acknowledgement.md"], "is not under the governed paths"),
    (["--type", "ruleset", "--title", "Oops", "--proposed", "1.1.0", "nope.json"],
     "nope.json: no such file"),
    (["--type", "model", "--title", "Model", "--proposed", "1.1.0", "--model", "classifier",
      "configs/models/classifier.yaml"], "write NAME=IDENTIFIER"),
])
def test_new_refuses_what_validate_would_reject(example_repo: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                args: list[str], words: str) -> None:
    code = main(["new", "--repo", str(example_repo), "--id", "CR-2026-0005", *args])
    captured = capsys.readouterr()
    assert code in (1, 2)
    assert words in captured.out + captured.err
    assert not (example_repo / "change-requests/CR-2026-0005.yaml").exists()


def test_new_does_not_overwrite(example_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_ruleset(example_repo)
    args = ["new", "--repo", str(example_repo), "--type", "ruleset", "--target", "routing-rules",
            "--title", "Twice", "--proposed", "1.1.0", "--id", "CR-2026-0009",
            str(example_repo / NEW_RULESET)]
    assert main(args) == 0
    assert main(args) == 1
    assert "already exists" in capsys.readouterr().err


def test_hash_prints_digests_in_each_format(example_repo: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = example_repo / "prompts/classify_prompt.md"
    digest = sha256_file(path)
    assert main(["hash", str(path)]) == 0
    assert capsys.readouterr().out == f"{digest}  {path}\n"
    assert main(["hash", "--format", "yaml", str(path)]) == 0
    assert f"  - path: {path}\n    sha256: {digest}" in capsys.readouterr().out
    assert main(["hash", str(example_repo / "missing")]) == 2


def test_sha256_is_streamed_for_large_files(tmp_path: Path) -> None:
    import hashlib

    big = tmp_path / "big.bin"
    with big.open("wb") as handle:
        for index in range(40):
            handle.write(bytes([index]) * (1024 * 1024))
    expected = hashlib.sha256(big.read_bytes()).hexdigest()
    assert sha256_file(big) == expected


def test_new_does_not_derive_the_current_version_from_an_edited_change_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A direct push edits a merged change request's proposed_version to 9.9.9 and replaces
    another with junk: versions come from change requests as merged."""
    from tests.ledger_repo import GovernedHistory

    history = GovernedHistory.create(tmp_path, adopt=True)
    history.ruleset("CR-2026-0005", "1.1.0", "1.0.0")
    cr = history.root / "change-requests/CR-2026-0005.yaml"
    cr.write_text(cr.read_text().replace('proposed_version: "1.1.0"', 'proposed_version: "9.9.9"'))
    history.write("change-requests/CR-2026-0001.yaml", "garbage: [\n")
    history.git("commit", "-qam", "edit merged change requests (direct push)")
    code = main(["new", "--repo", str(history.root), "--type", "ruleset", "--target",
                 "routing-rules", "--title", "Next", "--proposed", "2.0.0", "--stdout",
                 "configs/routing_tables/routing_rules_v1.1.0.json"])
    out = capsys.readouterr().out
    assert code == 0
    assert 'current_version: "1.1.0"' in out
