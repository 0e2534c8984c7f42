"""`promotion-bot validate` on the example repository: a corpus of malformed inputs.

Each case has exactly one defect and asserts what the engineer reads: the exit code, the
location (file:line) and the words that tell them what to do. No case may end in a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from promotion_bot.cli.main import main
from tests.conftest import commit_example, git
from tests.gitrepo import built_once

RULESET = "configs/routing_tables/routing_rules_v1.0.0.json"
RULESET_SHA = "939ec3a29a114d69208bd9ad74b949584c405502b22d4840c17ad46ab96960a6"
PROMPT_SHA = "a23ebb1c90f70c692ec313b5f4a538485334b3ff4036c794c22e1a2718d762a7"
CR_PATH = "change-requests/CR-2026-0005.yaml"

VALID_CR = f"""\
change_id: CR-2026-0005
change_type: ruleset
target: routing-rules
title: Tune the fraud keywords
proposed_version: "1.1.0"
current_version: "1.0.0"
artifacts:
  - path: {RULESET}
    sha256: {RULESET_SHA}
rollback_plan: Revert the pull request; 1.0.0 becomes current again.
"""

VALID_MODEL_CR = """\
change_id: CR-2026-0005
change_type: model
target: classifier
title: Pin the classifier again
proposed_version: "1.0.1"
current_version: "1.0.0"
artifacts:
  - path: configs/models/classifier.yaml
    sha256: 83b5110dba17495d81e4c8b2592f13d4892ef3869b9b4e1f83d4789401c014d1
models:
  - name: classifier
    identifier: ollama/qwen2.5:7b-instruct@sha256:2b0496514337a3d5ada8b1c3c1b2a3d1f4e6f4d3a2b1c0d9e8f7a6b5c4d3e2f1
rollback_plan: Revert the pull request; 1.0.0 becomes current again.
"""

VALID_PROMPT_CR = f"""\
change_id: CR-2026-0005
change_type: prompt
target: classify-prompt
title: Prompt 1.0.1
proposed_version: "1.0.1"
current_version: "1.0.0"
artifacts:
  - path: prompts/classify_prompt.md
    sha256: {PROMPT_SHA}
prompts:
  - path: prompts/classify_prompt.md
    version: "1.0.1"
    sha256: {PROMPT_SHA}
rollback_plan: Revert the pull request; 1.0.0 becomes current again.
"""


def run(repo: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["validate", "--repo", str(repo), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def replace(text: str, old: str, new: str) -> str:
    assert old in text, f"test set-up: {old!r} not in the base text"
    return text.replace(old, new, 1)


# (case id, file content, expected line, words the engineer must read)
CR_CASES: list[tuple[str, str | bytes, int | None, str]] = [
    ("unquoted-version-number", replace(VALID_CR, '"1.1.0"', "1.10"), 5,
     '1.10 is read by YAML as the number 1.1, not a string (quote it: "1.10")'),
    ("unquoted-version-date", replace(VALID_CR, '"1.0.0"', "2026-01-02"), 6,
     "2026-01-02 is read by YAML as a date"),
    ("version-yaml11-boolean", replace(VALID_CR, '"1.0.0"', "no"), 6,
     'no is a boolean in YAML 1.1 but a string in YAML 1.2 (write true or false, or quote it: "no")'),
    ("version-octal", replace(VALID_CR, '"1.0.0"', "0100"), 6,
     'has a leading zero, which YAML 1.1 reads as octal (quote it: "0100")'),
    ("duplicate-key", replace(VALID_CR, "title:", "title: First\ntitle:"), 5,
     "duplicate key 'title' (first at line 4)"),
    ("anchor", replace(VALID_CR, "title: Tune", "title: &t Tune"), 4, "anchor &t is not allowed"),
    ("alias", VALID_CR + "notes: *t\n", 11, "alias *t is not allowed"),
    ("tab", replace(VALID_CR, "  - path:", "\t- path:"), 8, "tab character"),
    ("unknown-key", VALID_CR + "owner: alice\n", 11, "unknown key 'owner'"),
    ("misspelt-key", replace(VALID_CR, "rollback_plan:", "rollback_paln:"), 10,
     "did you mean 'rollback_plan'?"),
    ("author-written-approvals", VALID_CR + "approvals:\n  - alice\n", 11,
     "approvals come from GitHub reviews on the pull request; remove this key"),
    ("author-written-evidence", VALID_CR + "evidence: {lint: passed}\n", 11,
     "evidence comes from the checks the workflow runs"),
    ("missing-rollback-plan",
     replace(VALID_CR, "rollback_plan: Revert the pull request; 1.0.0 becomes current again.\n", ""),
     1, "missing required key 'rollback_plan'"),
    ("empty-rollback-plan",
     replace(VALID_CR, "Revert the pull request; 1.0.0 becomes current again.", '""'), 10,
     "rollback_plan: is shorter than 10 characters"),
    ("blank-rollback-plan",
     replace(VALID_CR, "Revert the pull request; 1.0.0 becomes current again.", '"            "'),
     10, "say how to return to the current version"),
    ("unknown-change-type", replace(VALID_CR, "change_type: ruleset", "change_type: rules"), 2,
     "'rules' is not one of: ruleset, model, prompt, template (did you mean 'ruleset'?"),
    ("bad-change-id", replace(VALID_CR, "change_id: CR-2026-0005", "change_id: CR-42"), 1,
     "use the form CR-YYYY-NNNN"),
    ("change-id-not-file-name", replace(VALID_CR, "CR-2026-0005", "CR-2026-0009"), 1,
     "change_id 'CR-2026-0009' does not match the file name 'CR-2026-0005'"),
    ("change-id-reused", replace(VALID_CR, "CR-2026-0005", "CR-2026-0001"), 1,
     "does not match the file name"),
    ("short-sha", replace(VALID_CR, RULESET_SHA, RULESET_SHA[:40]), 9,
     "64 lower-case hex digits"),
    ("uppercase-sha", replace(VALID_CR, RULESET_SHA, RULESET_SHA.upper()), 9,
     "64 lower-case hex digits"),
    ("wrong-sha", replace(VALID_CR, RULESET_SHA, "ab" * 32), 9,
     f"sha256 of {RULESET} does not match the working tree (it is {RULESET_SHA})"),
    ("absolute-path", replace(VALID_CR, f"path: {RULESET}", "path: /etc/passwd"), 8,
     "absolute path; write it relative to the repository root"),
    ("dotdot-path", replace(VALID_CR, f"path: {RULESET}", "path: configs/../../secret.json"), 8,
     "path leaves the repository ('..')"),
    ("backslash-path", replace(VALID_CR, f"path: {RULESET}",
                               "path: configs\\\\routing_tables\\\\x.json"), 8, "backslash"),
    ("unnormalised-path", replace(VALID_CR, f"path: {RULESET}",
                                  "path: configs//routing_tables/x.json"), 8, "not normalised"),
    ("untracked-path", replace(VALID_CR, f"path: {RULESET}",
                               "path: configs/routing_tables/untracked.json"), 8,
     "git does not track this file"),
    ("symlink-path", replace(VALID_CR, f"path: {RULESET}", "path: configs/routing_tables/link.json"),
     8, "is a symbolic link"),
    ("case-differs", replace(VALID_CR, f"path: {RULESET}",
                             "path: configs/routing_tables/Routing_rules_v1.0.0.json"), 8,
     "(case differs)"),
    ("no-artifacts", replace(VALID_CR, f"  - path: {RULESET}\n    sha256: {RULESET_SHA}\n", "")
     .replace("artifacts:\n", "artifacts: []\n"), 7, "artifacts: must not be empty"),
    ("artifact-twice", replace(VALID_CR, "rollback_plan",
                               f"  - path: {RULESET}\n    sha256: {RULESET_SHA}\nrollback_plan"),
     10, "is listed twice"),
    ("artifact-outside-type",
     replace(replace(VALID_CR, f"path: {RULESET}", "path: templates/replies/acknowledgement.md"),
             RULESET_SHA, "fe700063a04577cf949c8711dd54961586705bd7ed8b2daecfbc6a763f606662"), 8,
     "is not under the governed paths of change type ruleset"),
    ("model-without-models", replace(VALID_MODEL_CR, VALID_MODEL_CR[VALID_MODEL_CR.index("models:"):
                                     VALID_MODEL_CR.index("rollback_plan")], ""), 1,
     "missing required key 'models'"),
    ("model-floating-tag", replace(VALID_MODEL_CR,
                                   "7b-instruct@sha256:2b0496514337a3d5ada8b1c3c1b2a3d1f4e6f4d3a2b1c0d9e8f7a6b5c4d3e2f1",
                                   "latest"), 12, "floating tag: pin a version or a digest"),
    ("model-no-version", replace(VALID_MODEL_CR,
                                 ":7b-instruct@sha256:2b0496514337a3d5ada8b1c3c1b2a3d1f4e6f4d3a2b1c0d9e8f7a6b5c4d3e2f1",
                                 ""), 12, "no version or digest: pin it"),
    ("prompt-without-prompts", replace(VALID_PROMPT_CR, VALID_PROMPT_CR[VALID_PROMPT_CR.index("prompts:\n"):
                                       VALID_PROMPT_CR.index("rollback_plan")], ""), 1,
     "missing required key 'prompts'"),
    ("prompt-hash-mismatch", VALID_PROMPT_CR[::-1].replace(PROMPT_SHA[::-1], "f" * 64, 1)[::-1], 13,
     "sha256 of prompts/classify_prompt.md does not match the working tree"),
    ("same-versions", replace(VALID_CR, '"1.1.0"', '"1.0.0"'), 5,
     "proposed_version equals current_version (1.0.0)"),
    ("rollback-of-unknown", VALID_CR + "rollback_of: CR-2026-0999\n", 11,
     "no change request CR-2026-0999 in this repository"),
    ("rollback-of-itself", VALID_CR + "rollback_of: CR-2026-0005\n", 11,
     "a change request cannot roll back itself"),
    ("multi-line-title", replace(VALID_CR, "title: Tune the fraud keywords",
                                 'title: "Tune\\nthe fraud keywords"'), 4,
     "is not in the required form"),
    ("bad-target", replace(VALID_CR, "target: routing-rules", "target: Routing Rules"), 3,
     "lower-case letters, digits"),
    ("not-a-mapping", "- change_id: CR-2026-0005\n", 1, "a change request is a YAML mapping"),
    ("empty-file", "", 1, "a change request is a YAML mapping"),
    ("two-documents", VALID_CR + "---\nchange_id: CR-2026-0006\n", 11,
     "more than one YAML document in the file"),
    ("not-utf8", VALID_CR.encode().replace(b"Tune", b"Tun\xe9"), 4, "not UTF-8 (byte 0xe9)"),
    ("byte-order-mark", b"\xef\xbb\xbf" + VALID_CR.encode(), 1, "byte order mark"),
    ("too-large", VALID_CR + "# " + "x" * (1024 * 1024) + "\n", None,
     "file is larger than 1048576 bytes"),
    ("python-tag", replace(VALID_CR, "title: Tune", "title: !!python/object/apply:os.system Tune"),
     4, "is not allowed (remove the tag"),
    ("non-string-key", VALID_CR + "1: one\n", 11, "mapping key '1' is not a string"),
    ("syntax-error", replace(VALID_CR, "title: Tune the fraud keywords", "title: [Tune"), None,
     "fix the YAML syntax"),
    ("bidi-character", replace(VALID_CR, "Tune the", "Tune \u202ethe"), 4,
     "control or bidirectional character U+202E"),
    ("merge-key", VALID_CR + "<<: {a: 1}\n", 11, "merge keys (<<) are not allowed"),
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The example plus an untracked file, a tracked symlink and a rollback-able history
    (built once per worker, then copied with its .git)."""
    example_repo = tmp_path / "governed"
    built_once("test_validate.repo", example_repo, _example_with_a_link)
    return example_repo


def _example_with_a_link(example_repo: Path) -> None:
    commit_example(example_repo)
    routing = example_repo / "configs" / "routing_tables"
    (routing / "untracked.json").write_text("{}\n")
    os.symlink("routing_rules_v1.0.0.json", routing / "link.json")
    git(example_repo, "add", "configs/routing_tables/link.json")
    git(example_repo, "commit", "-q", "-m", "link")


@pytest.mark.parametrize(("content", "line", "words"),
                         [case[1:] for case in CR_CASES], ids=[case[0] for case in CR_CASES])
def test_malformed_change_request_is_rejected_with_location(
    repo: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, line: int | None,
    words: str,
) -> None:
    path = repo / CR_PATH
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, output = run(repo, CR_PATH, capsys=capsys)
    assert code == 1, output
    assert words in output
    if line is not None:
        assert f"{CR_PATH}:{line}:" in output
    assert "Traceback" not in output


def test_corpus_is_large_enough() -> None:
    assert len(CR_CASES) + len(POLICY_CASES) >= 40


@pytest.mark.parametrize("content", [VALID_CR, VALID_MODEL_CR, VALID_PROMPT_CR],
                         ids=["ruleset", "model", "prompt"])
def test_valid_change_request_of_each_type(repo: Path, capsys: pytest.CaptureFixture[str],
                                           content: str) -> None:
    (repo / CR_PATH).write_text(content)
    code, output = run(repo, CR_PATH, capsys=capsys)
    assert (code, output.strip()) == (0, "valid: 1 change request")


def test_the_example_repository_validates(example_repo: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(example_repo, capsys=capsys)
    assert (code, output.strip()) == (0, "valid: 4 change requests and the policy")


def test_json_output_lists_located_problems(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    (repo / CR_PATH).write_text(replace(VALID_CR, RULESET_SHA, "ab" * 32))
    code, output = run(repo, CR_PATH, "--format", "json", capsys=capsys)
    report = json.loads(output)
    assert code == 1
    assert report["valid"] is False
    [problem] = report["problems"]
    assert (problem["file"], problem["line"], problem["field"]) == (CR_PATH, 9,
                                                                    "artifacts[0].sha256")


def test_a_superseded_artifact_hash_is_history_not_an_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ruleset = repo / RULESET
    ruleset.write_text(ruleset.read_text().replace('"refund"', '"refund", "chargeback"'))
    from promotion_bot.adapters.files import sha256_file

    (repo / CR_PATH).write_text(replace(VALID_CR, RULESET_SHA, sha256_file(ruleset)))
    code, output = run(repo, capsys=capsys)
    assert code == 0, output


POLICY = ".promotion/policy.yaml"


def _rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def _ed25519_pem() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def _signing(pem: str) -> str:
    indented = "\n".join("        " + line for line in pem.strip().splitlines())
    return f"signing:\n  keys:\n    - keyid: k1\n      public_key: |\n{indented}\n"


# (case id, edit of the example policy as (old, new) or an appended text, line, words)
POLICY_CASES: list[tuple[str, tuple[str, str], int | None, str]] = [
    ("wrong-version", ("version: 1", "version: 2"), 3, "version: must be 1 (write version: 1)"),
    ("undefined-role", ("required_roles: [reviewer, administrator]\n    required_checks: [rules",
                        "required_roles: [reviewer, approver]\n    required_checks: [rules"), 22,
     "role 'approver' is not defined (define it under roles, or use one of: administrator"),
    ("undefined-check", ("[rules-lint, rules-simulate", "[rules-lnt, rules-simulate"), 23,
     "check 'rules-lnt' is not defined"),
    ("owner-without-at", ('["@example-org/routing-reviewers"]', '["example-org/routing-reviewers"]'),
     8, "a CODEOWNERS owner: @org/team or @user"),
    ("run-and-builtin", ("    run: python3 tools/ieimctl.py rules lint {artifacts}\n",
                         "    run: python3 tools/ieimctl.py rules lint {artifacts}\n"
                         "    builtin: pinned-models\n"),
     None, "give exactly one of run (a command) or builtin"),
    ("unknown-builtin", ("builtin: pinned-models", "builtin: pinned-model"), None,
     "'pinned-model' is not one of"),
    ("unknown-top-level-key", ("version: 1", "version: 1\nreviewers: []"), 4,
     "unknown key 'reviewers'"),
    ("duplicate-role", ("  administrator:\n", "  reviewer:\n    owners: ['@a/b']\n  administrator:\n"),
     9, "duplicate key 'reviewer' (first at line 6)"),
    ("default-roles-undefined", ("  ruleset:\n    paths: [\"configs/routing_tables/**\"]\n"
                                 "    required_roles: [reviewer, administrator]\n",
                                 "  ruleset:\n    paths: [\"configs/routing_tables/**\"]\n"), None,
     "OK-if-defined"),
    ("timeout-not-integer", ("    timeout: 120\n", '    timeout: "120s"\n'), 64,
     "'120s' is not an integer"),
    ("condition-without-roles", ("    require_roles: [security_officer]\n", ""), 42,
     "missing required key 'require_roles'"),
    ("glob-with-leading-slash", ('paths: ["configs/models/**"]', 'paths: ["/configs/models/**"]'), 25,
     "a repository-relative glob such as configs/routing/** (no leading slash)"),
    ("unbalanced-quote", ("run: bash scripts/verify_pack.sh", "run: bash 'scripts/verify_pack.sh"),
     None, "cannot split the command: No closing quotation"),
    ("duplicate-condition", ("  - name: privacy-templates", "  - name: external-llm-egress"), None,
     "condition 'external-llm-egress' is defined twice"),
    ("empty-roles", ("version: 1\n", "version: 1\nrole_map: {}\n"), 4, "unknown key 'role_map'"),
    # predicates on watched keys (conditions) and governed keys (change types)
    ("predicate-misspelt", ("not_in: [ollama, local]", "not_one_of: [ollama, local]"), 48,
     "unknown key 'not_one_of' (did you mean 'not_in'?"),
    ("predicate-shorthand", ("      config_keys:\n", "      key: provider\n      config_keys:\n"), 45,
     "unknown key 'key' (allowed keys: config_keys, paths)"),
    ("predicate-never-fires", ("          not_in: [ollama, local]\n",
                               "          changes: [removed]\n          in: [openai]\n"), 49,
     "in can never hold: this entry counts only removed keys"),
    ("predicate-in-and-not-in", ("          not_in: [ollama, local]\n",
                                 "          in: [openai]\n          not_in: [openai]\n"), 49,
     "openai is listed in both in and not_in, so it can never fire"),
    ("predicate-change-kind", ("          not_in: [ollama, local]\n",
                               "          changes: [edited]\n"), 48,
     "'edited' is not one of: added, removed, changed"),
    ("predicate-bad-host", ('"*.internal.example.org"]', '"https://internal.example.org"]'), 51,
     "a host name (api.example.org), a wildcard for its subdomains"),
    ("predicate-bad-network", ('"*.internal.example.org"]', '"10.0.0.0/33"]'), 51,
     "'10.0.0.0/33' is not an IP network"),
    ("watched-key-with-space", ("keys: [provider]", "keys: [llm provider]"), 47,
     "a dotted key path such as classification.llm.provider"),
    ("watched-file-not-config", ('- files: ["configs/models/*.yaml"]\n          keys: [provider]',
                                 '- files: ["prompts/*.md"]\n          keys: [provider]'), 46,
     "'prompts/*.md' is not a YAML or JSON file"),
    ("governed-keys-without-files", ('    paths: ["configs/models/**"]\n',
                                     '    paths: ["configs/models/**"]\n'
                                     "    keys:\n      - keys: [classification.llm]\n"), 27,
     "missing required key 'files'"),
    # placeholders in a check's command
    ("placeholder-unknown", ("lint {artifacts}\n", "lint {artifact_path}\n"), 62,
     "unknown placeholder {artifact_path} (the placeholders are {artifacts}, {change_requests}"),
    ("placeholder-inside-an-argument", ("lint {artifacts}\n", "lint --files={artifacts}\n"), 62,
     "{artifacts} becomes one argument per item, so it must be an argument of its own"),
    ("placeholder-needs-for-each", ("lint {artifacts}\n", "lint {artifact}\n"), 62,
     "{artifact} names one artifact: the check must run once per artifact (add for_each: "
     "artifact, or use {artifacts} for all at once)"),
    ("placeholder-in-a-list", ("run: python3 tools/ieimctl.py rules lint {artifacts}\n",
                               "run: [python3, tools/ieimctl.py, rules, lint, '{target}']\n"), 62,
     "{target} names one change request"),
    ("for-each-unknown", ("    for_each: artifact\n", "    for_each: file\n"), 68,
     "'file' is not one of: change_request, artifact"),
    ("for-each-on-a-builtin", ("    builtin: pinned-models\n",
                               "    builtin: pinned-models\n    for_each: artifact\n"), 91,
     "for_each is for command checks (run) only; remove it"),
    ("no-regression-placeholder", ("--out {output}\n", "--out {output} {artifacts}\n"), 100,
     "{artifacts}: the evaluation of no-regression knows only {output}"),
    ("change-type-without-paths-or-keys", ('    paths: ["configs/models/**"]\n', ""), 25,
     "give paths (governed files), keys (governed keys inside files), or both"),
]


@pytest.mark.parametrize(("edit", "line", "words"), [c[1:] for c in POLICY_CASES],
                         ids=[c[0] for c in POLICY_CASES])
def test_malformed_policy_is_rejected_with_location(
    repo: Path, capsys: pytest.CaptureFixture[str], edit: tuple[str, str], line: int | None,
    words: str,
) -> None:
    path = repo / POLICY
    text = path.read_text()
    old, new = edit
    path.write_text(replace(text, old, new))
    code, output = run(repo, POLICY, capsys=capsys)
    if words == "OK-if-defined":
        # required_roles left out: the schema's default (reviewer, administrator) applies,
        # and both roles are defined in the example, so the policy stays valid.
        assert code == 0, output
        return
    assert code == 1, output
    assert words in output
    if line is not None:
        assert f"{POLICY}:{line}:" in output
    assert "Traceback" not in output


def test_default_roles_must_exist(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = repo / POLICY
    text = path.read_text()
    text = replace(text, "    required_roles: [reviewer, administrator]\n    required_checks: [rules",
                   "    required_checks: [rules")
    text = replace(text, "  reviewer:\n", "  content-reviewer:\n")
    text = text.replace("required_roles: [reviewer, administrator]",
                        "required_roles: [content-reviewer, administrator]")
    path.write_text(text)
    code, output = run(repo, POLICY, capsys=capsys)
    assert code == 1
    assert "role 'reviewer' is not defined (the default for this key)" in output


@pytest.mark.parametrize(("pem", "words"), [
    (_rsa_pem(), "not an Ed25519 key"),
    ("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n",
     "not a readable PEM public key"),
    ("ssh-ed25519 AAAA", "an Ed25519 public key in PEM"),
], ids=["rsa", "garbage-pem", "not-pem"])
def test_signing_keys_must_be_ed25519_pem(repo: Path, capsys: pytest.CaptureFixture[str],
                                          pem: str, words: str) -> None:
    path = repo / POLICY
    path.write_text(path.read_text() + _signing(pem))
    code, output = run(repo, POLICY, capsys=capsys)
    assert code == 1
    assert words in output


def test_a_valid_signing_key_is_accepted(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = repo / POLICY
    path.write_text(path.read_text() + _signing(_ed25519_pem()))
    code, output = run(repo, POLICY, capsys=capsys)
    assert code == 0, output


def test_a_broken_policy_stops_change_request_validation_as_a_configuration_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = repo / POLICY
    path.write_text(replace(path.read_text(), "version: 1", "version: 2"))
    (repo / CR_PATH).write_text(VALID_CR)
    code, output = run(repo, CR_PATH, capsys=capsys)
    assert code == 2
    assert "the policy cannot be used (1 problem(s)); run: promotion-bot validate" in output


@pytest.mark.parametrize("case", ["no-such-repo", "outside", "not-git", "no-policy"])
def test_usage_and_configuration_errors_exit_2(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    args: list[str]
    if case == "no-such-repo":
        args = ["--repo", str(tmp_path / "nope")]
        words = "no such directory"
    elif case == "outside":
        args = ["--repo", str(repo), str(tmp_path)]
        words = "is outside the governed repository"
    elif case == "not-git":
        plain = tmp_path / "plain"
        plain.mkdir()
        args = ["--repo", str(plain)]
        words = "is not inside a git repository"
    else:
        (repo / POLICY).unlink()
        (repo / CR_PATH).write_text(VALID_CR)
        args = ["--repo", str(repo), CR_PATH]
        words = "the policy cannot be used"
    code = main(["validate", *args])
    captured = capsys.readouterr()
    assert code == 2
    assert words in captured.out + captured.err


def test_an_artifact_removed_by_a_later_change_request_of_its_target_is_history(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After a rollback deleted routing_rules_v1.1.0.json, CR-2026-0005 (which added it) is
    history; a change request of another target naming a missing file is still an error."""
    (repo / CR_PATH).write_text(replace(VALID_CR, f"path: {RULESET}",
                                        "path: configs/routing_tables/routing_rules_v1.1.0.json"))
    rollback = replace(replace(VALID_CR, "CR-2026-0005", "CR-2026-0006"), '"1.1.0"', '"1.0.0-r"')
    (repo / "change-requests/CR-2026-0006.yaml").write_text(
        replace(rollback, '"1.0.0"', '"1.1.0"') + "rollback_of: CR-2026-0005\n")
    code, output = run(repo, capsys=capsys)
    assert "routing_rules_v1.1.0.json" not in output, output
    (repo / "change-requests/CR-2026-0006.yaml").unlink()
    code, output = run(repo, capsys=capsys)
    assert code == 1
    assert "routing_rules_v1.1.0.json: git does not track this file" in output
