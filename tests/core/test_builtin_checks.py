"""The built-in checks, as pure functions over an in-memory tree."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from promotion_bot.core import builtin_checks as bc
from promotion_bot.core.builtin_checks import (
    BuiltinInput,
    MemoryFiles,
    RecordedPrompt,
    compare_metrics,
    pin_problem,
    read_metrics,
    run_builtin,
)
from promotion_bot.core.formats.schemas import load_schema
from promotion_bot.core.models import Artifact, ChangeRequest, ModelPin, PromptRef

PINNED = "ollama/qwen2.5:7b-instruct@sha256:" + "ab" * 32


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cr(
    change_type: str,
    artifacts: dict[str, bytes],
    *,
    models: tuple[ModelPin, ...] = (),
    prompts: tuple[PromptRef, ...] = (),
) -> ChangeRequest:
    return ChangeRequest(
        change_id="CR-2026-0005",
        change_type=change_type,
        target=change_type,
        title="t",
        proposed_version="1.1.0",
        current_version="1.0.0",
        artifacts=tuple(Artifact(p, sha(d)) for p, d in artifacts.items()),
        rollback_plan="Revert the pull request.",
        models=models,
        prompts=prompts,
        source_path="change-requests/CR-2026-0005.yaml",
    )


def given(
    settings: dict[str, Any],
    files: dict[str, bytes],
    crs: tuple[ChangeRequest, ...] = (),
    governed: tuple[str, ...] = (),
    recorded: tuple[RecordedPrompt, ...] = (),
) -> BuiltinInput:
    return BuiltinInput(settings, crs, governed, MemoryFiles(files), recorded)


def rendered(result: bc.BuiltinResult) -> list[str]:
    return [finding.render() for finding in result.findings]


# --- pins ------------------------------------------------------------------------------------


def test_the_pin_rules_are_the_change_request_schemas() -> None:
    identifier = load_schema("change-request")["$defs"]["model"]["properties"]["identifier"]
    floating, pinned = identifier["allOf"]
    assert floating["not"]["pattern"] == bc.FLOATING_TAG
    assert pinned["pattern"] == bc.PINNED


@pytest.mark.parametrize(
    "identifier",
    [
        PINNED,
        "gpt-4o-2024-08-06",
        "provider/model:1.2.3",
        "claude-3-5-sonnet-20241022",
        "llama3:8b-instruct-q4_0-v1.2",
    ],
)
def test_pinned_identifiers_pass(identifier: str) -> None:
    assert pin_problem(identifier) is None


@pytest.mark.parametrize(
    ("identifier", "words"),
    [
        ("ollama/qwen2.5:latest", "is a floating tag"),
        ("gpt-4o-LATEST", "is a floating tag"),
        ("model@stable", "is a floating tag"),
        ("ollama/qwen", "names no version or digest"),
    ],
)
def test_floating_or_unversioned_identifiers_fail(identifier: str, words: str) -> None:
    problem = pin_problem(identifier)
    assert problem is not None and words in problem


# --- template-policy -------------------------------------------------------------------------

RULES = {
    "prohibited": [
        {
            "rule": "no-guarantees",
            "pattern": "(?i)\\bguarantee(d)?\\b",
            "message": "do not promise",
        },
        {"rule": "no-iban", "pattern": "\\{\\{\\s*iban\\s*\\}\\}", "message": "no account numbers"},
    ]
}


def test_every_prohibited_hit_is_reported_with_file_line_column_and_rule() -> None:
    files = {
        "templates/a.md": b"Hello\nWe GUARANTEE it. Guaranteed!\nIBAN: {{ iban }}\n",
        "templates/b.md": b"Fine.\n",
        "other/c.md": b"guarantee outside the scope\n",
    }
    result = run_builtin("template-policy", given(RULES, files, governed=("templates/**",)))
    assert not result.passed
    assert rendered(result) == [
        "templates/a.md:2:4: [no-guarantees] do not promise (found 'GUARANTEE')",
        "templates/a.md:2:18: [no-guarantees] do not promise (found 'Guaranteed')",
        "templates/a.md:3:7: [no-iban] no account numbers (found '{{ iban }}')",
    ]
    assert result.checked == ("templates/a.md", "templates/b.md")
    assert result.summary == "3 problems (2 templates checked)"


def test_a_backtracking_pattern_from_the_policy_runs_in_linear_time() -> None:
    """(a+)+$ took minutes with Python's re on 40 a's and a b; RE2 matches in linear time."""
    rules = {"prohibited": [{"rule": "nested", "pattern": "(a+)+$", "message": "no"}]}
    text = b"a" * 50_000 + b"b\n"
    result = run_builtin("template-policy", given(rules, {"t/a.md": text}, governed=("t/**",)))
    assert result.passed, rendered(result)


class Ticks:
    """A deadline that expires after `allowed` questions (no wall-clock in tests)."""

    def __init__(self, allowed: int) -> None:
        self.left = allowed

    def __call__(self) -> bool:
        self.left -= 1
        return self.left < 0


@pytest.mark.parametrize(
    ("builtin", "settings", "files"),
    [
        ("template-policy", RULES, {f"t/{i}.md": b"we guarantee\n" * 50 for i in range(5)}),
        ("sha256-manifest", {"manifest": "pack/SHA256SUMS"},
         {"pack/SHA256SUMS": b"".join(f"{sha(b'x')}  f{i}\n".encode() for i in range(20)),
          **{f"f{i}": b"x" for i in range(20)}}),
    ],
)
def test_a_builtin_stops_when_its_timeout_expires(
    builtin: str, settings: dict[str, Any], files: dict[str, bytes]
) -> None:
    """Built-ins have the command checks' timeout: the check fails as timed out, never hangs."""
    base = given(settings, files, governed=("t/**",))
    result = run_builtin(builtin, BuiltinInput(**{**base.__dict__, "expired": Ticks(3)}), 7)
    assert not result.passed and result.timed_out
    assert result.summary == "timed out after 7 s; the built-in check was stopped"


def test_clean_templates_pass_and_the_log_says_what_was_checked() -> None:
    result = run_builtin("template-policy", given({**RULES, "paths": ["t/**"]}, {"t/a.md": b"ok"}))
    assert result.passed
    assert result.output_text() == "checked: t/a.md\npassed: 1 template\n"


def test_a_template_that_is_not_text_is_a_finding() -> None:
    result = run_builtin(
        "template-policy", given(RULES, {"t/a.md": b"ok\n\xff"}, governed=("t/**",))
    )
    assert rendered(result) == [
        "t/a.md:2: [encoding] not UTF-8 text; its content cannot be checked"
    ]


def test_no_templates_or_no_rules_is_not_a_pass() -> None:
    nothing = run_builtin("template-policy", given(RULES, {"x.md": b""}, governed=("t/**",)))
    assert not nothing.passed and nothing.summary.startswith(
        "nothing to check: no templates under t/**"
    )
    assert not run_builtin("template-policy", given({}, {"t/a.md": b""}, governed=("t/**",))).passed


def test_excluded_files_are_not_scanned() -> None:
    # the policy document that lists the forbidden phrases must not fail its own check
    files = {
        "templates/POLICY.md": b"Never write: guaranteed\n",
        "templates/a.md": b"We guarantee it\n",
    }
    settings = {**RULES, "exclude": ["templates/POLICY.md"]}
    result = run_builtin("template-policy", given(settings, files, governed=("templates/**",)))
    assert rendered(result) == [
        "templates/a.md:1:4: [no-guarantees] do not promise (found 'guarantee')"
    ]
    assert result.checked == ("templates/a.md",)


def test_excluding_every_template_is_not_a_pass() -> None:
    settings = {**RULES, "exclude": ["templates/**"]}
    result = run_builtin(
        "template-policy", given(settings, {"templates/a.md": b"ok"}, governed=("templates/**",))
    )
    assert not result.passed and result.summary.startswith("nothing to check")


# --- pinned-models ---------------------------------------------------------------------------

SPLIT = {"name_version_keys": [{"name": "model", "version": "model_version"}]}


@pytest.mark.parametrize(
    ("config", "recorded", "findings"),
    [
        # a name and a dated version: gpt-4o:2024-08-06, recorded
        (b'llm:\n  model: gpt-4o\n  model_version: "2024-08-06"\n', "gpt-4o:2024-08-06", []),
        (b"llm:\n  model: qwen2.5\n  model_version: 7b-1.2.3\n", "qwen2.5:7b-1.2.3", []),
        (b"llm:\n  model: qwen2.5\n  model_version: sha256:" + b"ab" * 32 + b"\n",
         "qwen2.5@sha256:" + "ab" * 32, []),
        # floating or missing versions, located on their line
        (b"llm:\n  model: gpt-4o\n  model_version: latest\n", "gpt-4o:latest",
         ["m/a.yaml:3: [unpinned] gpt-4o:latest is a floating tag; pin a version or a digest, "
          "e.g. name:7b-instruct@sha256:<64 hex> or gpt-4o-2024-08-06",
          "change-requests/CR-2026-0005.yaml: [unpinned] models[0]: gpt-4o:latest is a floating "
          "tag; pin a version or a digest, e.g. name:7b-instruct@sha256:<64 hex> or "
          "gpt-4o-2024-08-06"]),
        (b"llm:\n  model: gpt-4o\n  temperature: '0'\n", None,
         ["m/a.yaml:2: [unpinned] model 'gpt-4o' has no model_version: pin its version next to "
          "it"]),
        (b"llm:\n  model: gpt-4o\n  model_version: ''\n", None,
         ["m/a.yaml:3: [unpinned] model and model_version must be non-empty strings, not "
          "'gpt-4o' and ''"]),
        # pinned but not recorded in the change request
        (b'llm:\n  model: gpt-4o\n  model_version: "2024-08-06"\n', "gpt-4o:2024-05-13",
         ["m/a.yaml:3: [not-recorded] model identifier gpt-4o:2024-08-06 is not recorded in "
          "CR-2026-0005: add it under models: (name and identifier) in "
          "change-requests/CR-2026-0005.yaml",
          "change-requests/CR-2026-0005.yaml: [not-used] models[0] llm: gpt-4o:2024-05-13 is not "
          "used by any model configuration under m/**"]),
    ],
)
def test_a_model_split_over_a_name_key_and_a_version_key(
    config: bytes, recorded: str | None, findings: list[str]
) -> None:
    models = (ModelPin("llm", recorded),) if recorded else ()
    change = cr("model", {"m/a.yaml": config}, models=models)
    result = run_builtin("pinned-models", given(SPLIT, {"m/a.yaml": config}, (change,), ("m/**",)))
    assert rendered(result) == findings
    assert result.passed is (findings == [])


def test_a_split_model_in_json_is_located() -> None:
    config = b'{\n  "model": "gpt-4o",\n  "model_version": "stable"\n}\n'
    result = run_builtin("pinned-models", given(SPLIT, {"m/a.json": config}, governed=("m/**",)))
    assert [(f.line, f.rule) for f in result.findings] == [(3, "unpinned")]



def test_a_floating_tag_in_a_model_configuration_is_located() -> None:
    config = b"name: classifier\nprovider: ollama\nidentifier: ollama/qwen2.5:latest\n"
    change = cr("model", {"configs/models/c.yaml": config}, models=(ModelPin("c", PINNED),))
    result = run_builtin(
        "pinned-models",
        given({}, {"configs/models/c.yaml": config}, (change,), ("configs/models/**",)),
    )
    assert rendered(result) == [
        "configs/models/c.yaml:3: [unpinned] ollama/qwen2.5:latest is a floating tag; pin a "
        "version or a digest, e.g. name:7b-instruct@sha256:<64 hex> or gpt-4o-2024-08-06",
        "configs/models/c.yaml:3: [not-recorded] model identifier ollama/qwen2.5:latest is not "
        "recorded in CR-2026-0005: add it under models: (name and identifier) in "
        "change-requests/CR-2026-0005.yaml",
        f"change-requests/CR-2026-0005.yaml: [not-used] models[0] c: {PINNED} is not used by any "
        "model configuration under configs/models/**",
    ]


def test_recorded_pins_in_nested_yaml_and_json_pass() -> None:
    nested = f"models:\n  - name: a\n    model_id: {PINNED}\n".encode()
    as_json = json.dumps({"model_id": "gpt-4o-2024-08-06"}).encode()
    files = {"m/a.yaml": nested, "m/b.json": as_json, "m/readme.md": b"identifier: latest"}
    change = cr("model", {"m/a.yaml": nested}, models=(ModelPin("a", PINNED),))
    result = run_builtin(
        "pinned-models", given({"files": ["m/**"], "keys": ["model_id"]}, files, (change,))
    )
    assert result.passed, rendered(result)
    assert result.checked == ("m/a.yaml", "m/b.json")


def test_a_json_config_hit_has_its_line() -> None:
    as_json = b'{\n  "identifier": "gpt-4o"\n}\n'
    result = run_builtin("pinned-models", given({}, {"m/b.json": as_json}, governed=("m/**",)))
    assert rendered(result) == [
        "m/b.json:2: [unpinned] gpt-4o names no version or digest; pin it, e.g. "
        "provider/model:1.2.3, model-2024-08-06 or model@sha256:<64 hex>"
    ]


def test_an_unreadable_model_configuration_is_a_finding() -> None:
    result = run_builtin("pinned-models", given({}, {"m/a.yaml": b"a: [\n"}, governed=("m/**",)))
    assert not result.passed
    assert result.findings[0].file == "m/a.yaml" and result.findings[0].rule == "unreadable"


def test_no_identifiers_at_all_is_not_a_pass() -> None:
    result = run_builtin("pinned-models", given({}, {"m/a.yaml": b"name: x\n"}, governed=("m/**",)))
    assert not result.passed and result.summary.startswith("nothing to check")


# --- prompt-hashes ---------------------------------------------------------------------------

PROMPT = b"<!-- prompt: classify, version 1.1.0 -->\nYou classify.\n"
MARKER = {"version_marker": "<!-- prompt: [a-z]+, version (?P<version>[^ ]+) -->"}


def prompt_cr(version: str = "1.1.0", digest: str | None = None) -> ChangeRequest:
    ref = PromptRef("prompts/p.md", version, digest or sha(PROMPT))
    return cr("prompt", {"prompts/p.md": PROMPT}, prompts=(ref,))


def test_a_versioned_and_hashed_prompt_passes() -> None:
    result = run_builtin(
        "prompt-hashes", given(MARKER, {"prompts/p.md": PROMPT}, (prompt_cr(),), ("prompts/**",))
    )
    assert result.passed, rendered(result)


def test_prompt_hash_version_marker_and_reused_version_problems() -> None:
    earlier = RecordedPrompt("CR-2026-0003", PromptRef("prompts/p.md", "1.0.0", "cd" * 32))
    change = prompt_cr(version="1.0.0", digest="ef" * 32)
    result = run_builtin(
        "prompt-hashes",
        given(MARKER, {"prompts/p.md": PROMPT}, (change,), ("prompts/**",), (earlier,)),
    )
    assert rendered(result) == [
        f"prompts/p.md: [hash-mismatch] sha256 is {sha(PROMPT)}, CR-2026-0005 records {'ef' * 32}",
        "prompts/p.md: [version-reused] version 1.0.0 was recorded by CR-2026-0003 with other "
        "content; a changed prompt needs a new version",
        "prompts/p.md:1:1: [version-marker] the prompt says version 1.1.0, the change request "
        "records 1.0.0",
    ]


def test_a_prompt_artifact_without_a_version_is_a_finding() -> None:
    change = cr(
        "prompt",
        {"prompts/p.md": PROMPT, "prompts/q.md": b"q"},
        prompts=(PromptRef("prompts/p.md", "1.1.0", sha(PROMPT)),),
    )
    result = run_builtin(
        "prompt-hashes",
        given({}, {"prompts/p.md": PROMPT, "prompts/q.md": b"q"}, (change,), ("prompts/**",)),
    )
    assert rendered(result) == [
        "change-requests/CR-2026-0005.yaml: [unversioned] prompts/q.md is a prompt artifact but "
        "is not listed under prompts: (path, version, sha256)"
    ]


def test_a_missing_marker_is_a_finding() -> None:
    files = {"prompts/p.md": b"no marker\n"}
    change = cr("prompt", files, prompts=(PromptRef("prompts/p.md", "1.1.0", sha(b"no marker\n")),))
    result = run_builtin("prompt-hashes", given(MARKER, files, (change,), ("prompts/**",)))
    assert [f.rule for f in result.findings] == ["version-marker"]


APP = b"classification:\n  llm:\n    prompt_version: \"1.1.0\"\n"
CONFIG_VERSIONS = {
    "config_versions": [
        {"file": "configs/app.yaml", "key": "classification.llm.prompt_version",
         "prompt": "prompts/p.md"}
    ]
}
OLD_PROMPT = b"<!-- prompt: classify, version 1.0.0 -->\nOld.\n"
MERGED_1_0 = RecordedPrompt("CR-2026-0003", PromptRef("prompts/p.md", "1.0.0", sha(OLD_PROMPT)))


@pytest.mark.parametrize(
    ("config", "prompt", "crs", "findings"),
    [
        # the branch promotes prompt 1.1.0 and the config names it
        (APP, PROMPT, (prompt_cr(),), []),
        # the config still names 1.0.0 while the prompt file holds 1.1.0
        (APP.replace(b"1.1.0", b"1.0.0"), PROMPT, (prompt_cr(),),
         ["configs/app.yaml:3: [config-version] classification.llm.prompt_version is 1.0.0, but "
          f"prompts/p.md at head is not the content CR-2026-0003 recorded for 1.0.0 (sha256 "
          f"{sha(PROMPT)[:12]}…, recorded {sha(OLD_PROMPT)[:12]}…): the config and the prompt "
          "file disagree"]),
        # a model change moves the config to a prompt version nobody recorded
        (APP.replace(b"1.1.0", b"2.0.0"), OLD_PROMPT, (),
         ["configs/app.yaml:3: [config-version] classification.llm.prompt_version is 2.0.0, but "
          "no change request records prompts/p.md at version 2.0.0 (recorded: 1.0.0)"]),
        # a merged version with the content at head passes
        (APP.replace(b"1.1.0", b"1.0.0"), OLD_PROMPT, (), []),
        (b"classification: {}\n", PROMPT, (prompt_cr(),),
         ["configs/app.yaml: [config-version] has no key classification.llm.prompt_version"]),
        (b"classification:\n  llm:\n    prompt_version: [a]\n", PROMPT, (prompt_cr(),),
         ["configs/app.yaml:3: [config-version] classification.llm.prompt_version must be a "
          "version string, not ['a']"]),
    ],
)
def test_a_prompt_version_recorded_in_a_config_file(
    config: bytes, prompt: bytes, crs: tuple[ChangeRequest, ...], findings: list[str]
) -> None:
    files = {"configs/app.yaml": config, "prompts/p.md": prompt}
    result = run_builtin(
        "prompt-hashes", given(CONFIG_VERSIONS, files, crs, ("prompts/**",), (MERGED_1_0,))
    )
    assert rendered(result) == findings
    assert result.passed is (findings == [])


def test_builtin_settings_are_in_the_policy_schema() -> None:
    definitions = load_schema("policy")["$defs"]
    assert "exclude" in definitions["with_template_policy"]["properties"]
    assert "name_version_keys" in definitions["with_pinned_models"]["properties"]
    assert "config_versions" in definitions["with_prompt_hashes"]["properties"]


# --- sha256-manifest -------------------------------------------------------------------------


def test_a_manifest_that_matches_passes() -> None:
    files = {"pack/a": b"a", "pack/b": b"b"}
    manifest = "".join(f"{sha(d)}  {p}\n" for p, d in files.items()).encode()
    result = run_builtin(
        "sha256-manifest",
        given({"manifest": "SUMS", "paths": ["pack/**"]}, {**files, "SUMS": manifest}),
    )
    assert result.passed and result.summary == "2 files of SUMS"


def test_manifest_problems_are_located_on_its_lines() -> None:
    files = {"pack/a": b"a", "pack/b": b"b", "pack/new": b"n"}
    manifest = (
        f"{sha(b'a')}  pack/a\n{sha(b'x')} *pack/b\nnot a line\n{sha(b'g')}  pack/gone\n"
        f"{sha(b'a')}  pack/a\n{sha(b'a')}  ../etc/passwd\n"
    ).encode()
    result = run_builtin(
        "sha256-manifest",
        given({"manifest": "SUMS", "paths": ["pack/**"]}, {**files, "SUMS": manifest}),
    )
    assert rendered(result) == [
        f"SUMS:2: [mismatch] pack/b: sha256 is {sha(b'b')}, the manifest says {sha(b'x')}",
        "SUMS:3: [syntax] not a '<sha256>  <path>' line",
        "SUMS:4: [missing] pack/gone is listed but missing",
        "SUMS:5: [duplicate] pack/a is listed twice (first on line 1)",
        "SUMS:6: [path] ../etc/passwd: path leaves the repository ('..')",
        "pack/new: [unlisted] not listed in SUMS",
    ]


def test_a_missing_manifest_fails() -> None:
    result = run_builtin("sha256-manifest", given({"manifest": "SUMS"}, {}))
    assert not result.passed and result.summary == "manifest SUMS is missing"


# --- no-regression ---------------------------------------------------------------------------

DIRECTIONS = {"accuracy": bc.HIGHER, "misroutes": bc.LOWER}


@pytest.mark.parametrize(
    "document",
    [
        {"accuracy": 0.9, "misroutes": 1},  # a flat mapping
        {"cases": 9, "metrics": {"accuracy": 0.9, "misroutes": 1}},  # under "metrics"
        [{"name": "accuracy", "value": 0.9}, {"name": "misroutes", "value": 1}],  # named list
        {"metrics": [{"metric": "accuracy", "score": 0.9}, {"name": "misroutes", "value": 1}]},
    ],
    ids=["flat", "metrics-object", "named-list", "metrics-list"],
)
def test_metrics_are_read_from_every_common_shape(document: object) -> None:
    raw = json.dumps(document).encode()
    assert read_metrics(raw, "h", list(DIRECTIONS)) == ({"accuracy": 0.9, "misroutes": 1.0}, [])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "h: [no-metrics] the evaluation wrote no metrics file"),
        (b"{", "h: [no-metrics] not a JSON metrics file"),
        (b'"0.9"', "h: [no-metrics] the metrics file is neither a JSON object of metrics nor"),
        (b"[1]", 'h: [no-metrics] metrics[0] is not {"name": ..., "value": ...}'),
        (b'[{"name": "accuracy"}]', 'h: [no-metrics] metrics[0] is not {"name": ..., "value"'),
        (
            b'[{"name": "accuracy", "value": 1}, {"name": "accuracy", "value": 0.2}]',
            "h: [no-metrics] metric accuracy is listed twice",
        ),
        (
            b'{"accuracy": true, "misroutes": 0}',
            "h: [no-metrics] metric accuracy is not a number (True)",
        ),
        (b'{"accuracy": "0.9", "misroutes": 0}', "h: [no-metrics] metric accuracy is not a number"),
        (b'{"misroutes": 0}', "h: [no-metrics] metric accuracy is missing"),
    ],
)
def test_unusable_metrics_are_findings(raw: bytes | None, message: str) -> None:
    values, findings = read_metrics(raw, "h", list(DIRECTIONS))
    assert findings and findings[0].render().startswith(message)
    assert "accuracy" not in values


def test_a_worse_value_in_either_direction_fails_and_is_named() -> None:
    base = {"accuracy": 0.95, "misroutes": 0.0}
    result = compare_metrics(DIRECTIONS, base, {"accuracy": 0.9, "misroutes": 2.0}, "head.json")
    assert not result.passed
    assert result.summary == "regression in accuracy, misroutes"
    assert rendered(result) == [
        "head.json: [regression] accuracy regressed: 0.95 on base, 0.9 on head (higher is better)",
        "head.json: [regression] misroutes regressed: 0 on base, 2 on head (lower is better)",
    ]
    assert result.details["metrics"][0] == {
        "name": "accuracy",
        "direction": bc.HIGHER,
        "base": 0.95,
        "head": 0.9,
        "result": "worse",
    }


def test_equal_or_better_passes_and_missing_cannot_be_compared() -> None:
    assert compare_metrics(
        DIRECTIONS, {"accuracy": 0.9, "misroutes": 1.0}, {"accuracy": 0.9, "misroutes": 0.0}
    ).passed
    missing = compare_metrics(DIRECTIONS, {"accuracy": 0.9}, {"accuracy": 0.9, "misroutes": 0.0})
    assert not missing.passed and missing.summary == "cannot compare misroutes"


def test_an_unknown_builtin_fails() -> None:
    assert not run_builtin("no-such", given({}, {})).passed
