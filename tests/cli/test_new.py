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
    (["--type", "model", "--title", "Model", "--proposed", "1.1.0", "--model", "classifier=gpt-4o",
      "configs/models/classifier.yaml"],
     "--model classifier=gpt-4o: 'gpt-4o' is not in the required form (no version or digest"),
    (["--type", "ruleset", "--title", "Ok", "--proposed", "1.1.0",
      "configs/routing_tables/routing_rules_v1.0.0.json"], "--title: is shorter than 3 characters"),
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


def test_new_never_points_at_the_change_request_it_did_not_write(
    example_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["new", "--repo", str(example_repo), "--id", "CR-2026-0005", "--type", "ruleset",
            "configs/routing_tables/routing_rules_v1.0.0.json"]
    for options, message in [
        (["--title", "x", "--proposed", "1.1.0"], "--title: is shorter than 3 characters"),
        (["--title", "Same", "--proposed", "1.1.0", "--current", "1.1.0"],
         "--proposed: proposed_version equals current_version (1.1.0) (a promotion moves a "
         "target to another version)"),
        (["--title", "Bad version", "--proposed", "1.1.0 beta"],
         "--proposed: '1.1.0 beta' is not in the required form"),
    ]:
        assert main([*args, *options]) == 1
        err = capsys.readouterr().err
        assert err.startswith(message), err
        assert "CR-2026-0005.yaml" not in err


def test_a_floating_model_in_the_configuration_is_reported_at_its_line(
    example_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = example_repo / "configs/models/classifier.yaml"
    text = config.read_text()
    pinned = next(line for line in text.splitlines() if line.startswith("identifier:"))
    config.write_text(text.replace(pinned, "identifier: ollama/qwen2.5:latest"))
    line = text.splitlines().index(pinned) + 1
    code = main(["new", "--repo", str(example_repo), "--type", "model", "--target", "classifier",
                 "--title", "Newest model", "--proposed", "1.1.0", str(config)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines()[0] == (
        f"configs/models/classifier.yaml:{line}: ollama/qwen2.5:latest is a floating tag; pin a "
        "version or a digest, e.g. name:7b-instruct@sha256:<64 hex> or gpt-4o-2024-08-06 (pin it "
        "in the configuration, then run promotion-bot new again)"
    )
    assert "change-requests/" not in err and "not allowed here" not in err


def test_a_model_change_records_the_pinned_models_of_its_configuration(
    example_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = example_repo / "configs/models/classifier.yaml"
    config.write_text(config.read_text().replace("max_tokens: 256", "max_tokens: 512"))
    code = main(["new", "--repo", str(example_repo), "--type", "model", "--target", "classifier",
                 "--title", "Longer answers", "--proposed", "1.1.0", "--id", "CR-2026-0005",
                 str(config)])
    out = capsys.readouterr().out
    assert code == 0, out
    identifier = load_yaml_file(config).data["identifier"]
    assert f"models from configs/models/classifier.yaml: classifier={identifier}" in out
    data = load_yaml_file(example_repo / "change-requests/CR-2026-0005.yaml").data
    assert data["models"] == [{"name": "classifier", "identifier": identifier}]


def test_an_artifact_not_yet_added_to_git_is_staged(
    example_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = example_repo / "configs/routing_tables/routing_rules_v1.0.0.json"
    (example_repo / NEW_RULESET).write_text(source.read_text().replace('"1.0.0"', '"1.1.0"'))
    args = ["new", "--repo", str(example_repo), "--type", "ruleset", "--target", "routing-rules",
            "--title", "Route chargebacks", "--proposed", "1.1.0", "--id", "CR-2026-0005",
            NEW_RULESET]
    assert main([*args, "--stdout"]) == 2  # printing only: nothing is changed, it says what to do
    assert (
        f"{NEW_RULESET}: not added to git yet; run git add -- {NEW_RULESET} (without --stdout, "
        "new adds it for you)" in capsys.readouterr().err
    )
    assert main(args) == 0
    assert f"staged {NEW_RULESET} (it was not added to git yet)" in capsys.readouterr().out
    assert git(example_repo, "ls-files", "--", NEW_RULESET) == NEW_RULESET


def test_change_ids_do_not_collide_across_branches(
    example_repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Three parallel branches must not all get the next number after main's."""
    year = dt.date.today().year
    first = 5 if year == 2026 else 1
    add_ruleset(example_repo)
    git(example_repo, "commit", "-qm", "ruleset 1.1.0")
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(example_repo), str(origin))
    ids = []
    for branch in ("feature-a", "feature-b"):
        git(example_repo, "checkout", "-q", "-b", branch, "main")
        assert main(["new", "--repo", str(example_repo), "--type", "ruleset", "--target",
                     "routing-rules", "--title", f"From {branch}", "--proposed", "1.1.0",
                     NEW_RULESET]) == 0
        ids.append(capsys.readouterr().out.split()[1])
        git(example_repo, "add", "-A")
        git(example_repo, "commit", "-qm", branch)
        git(example_repo, "push", "-q", str(origin), branch)
    # a colleague's clone sees both branches as remote-tracking branches
    clone = tmp_path / "colleague"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    assert main(["new", "--repo", str(clone), "--type", "ruleset", "--target", "routing-rules",
                 "--title", "From feature-c", "--proposed", "1.1.0", "--stdout",
                 str(clone / NEW_RULESET)]) == 0
    ids.append(capsys.readouterr().out.splitlines()[0].removeprefix("change_id: "))
    assert ids == [f"change-requests/CR-{year}-{n:04d}.yaml" for n in (first, first + 1)] + [
        f"CR-{year}-{first + 2:04d}"
    ]


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
