"""Required roles: change types, governed paths, conditions on paths and on config keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promotion_bot.core.formats.documents import load_change_request, load_policy
from promotion_bot.core.models import ChangeRequest, Policy
from promotion_bot.core.policy import (
    FileChange,
    KeyChange,
    config_key_changes,
    key_matches,
    required_roles,
    watched_keys,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "governed-repo"
SHA = "a" * 64


def example_policy() -> Policy:
    loaded = load_policy((EXAMPLE / ".promotion/policy.yaml").read_bytes())
    assert loaded.value is not None, loaded.problems
    return loaded.value


def change_request(change_type: str, path: str, *, rollback_of: str | None = None) -> ChangeRequest:
    text = (
        "change_id: CR-2026-0100\n"
        f"change_type: {change_type}\n"
        "title: A change\n"
        'proposed_version: "1.1.0"\n'
        'current_version: "1.0.0"\n'
        f"artifacts:\n  - path: {path}\n    sha256: {SHA}\n"
        "rollback_plan: Revert the pull request.\n"
    )
    if rollback_of:
        text += f"rollback_of: {rollback_of}\n"
    if change_type == "model":
        text += f"models:\n  - name: classifier\n    identifier: ollama/qwen2.5@sha256:{SHA}\n"
    if change_type == "prompt":
        text += f"prompts:\n  - path: {path}\n    version: \"1.1.0\"\n    sha256: {SHA}\n"
    loaded = load_change_request(text.encode(), "change-requests/CR-2026-0100.yaml")
    assert loaded.value is not None, loaded.problems
    return loaded.value


def roles_of(
    changes: list[FileChange],
    crs: list[ChangeRequest] | None = None,
    keys: list[KeyChange] | None = None,
    policy: Policy | None = None,
) -> dict[str, list[str]]:
    result = required_roles(policy or example_policy(), crs or [], changes, keys or [])
    assert result.problems == ()
    return {r.role: [reason.message for reason in r.reasons] for r in result.roles}


CLASSIFIER = "configs/models/classifier.yaml"
BASE_CONFIG = (EXAMPLE / CLASSIFIER).read_bytes()


def test_ruleset_change_request_requires_reviewer_and_administrator() -> None:
    rules = "configs/routing_tables/routing_rules_v1.1.0.json"
    roles = roles_of([FileChange("A", rules)], [change_request("ruleset", rules)])
    assert list(roles) == ["reviewer", "administrator"]
    assert "CR-2026-0100 is a ruleset change" in roles["reviewer"]
    assert f"{rules} is a governed ruleset path" in roles["administrator"]


def test_a_change_request_cannot_lower_the_roles_of_the_paths_it_touches() -> None:
    # the CR claims a ruleset change but the diff edits a privacy template
    template = "templates/privacy/gdpr_access_response.md"
    roles = roles_of(
        [FileChange("M", template)], [change_request("ruleset", "configs/routing_tables/x.json")]
    )
    assert "privacy_officer" in roles
    assert roles["privacy_officer"] == [f"condition privacy-templates: {template} changed"]


def test_governed_paths_need_roles_without_any_change_request() -> None:
    roles = roles_of([FileChange("M", "prompts/classify_prompt.md")])
    assert list(roles) == ["reviewer", "administrator"]


def test_editing_the_policy_or_codeowners_requires_the_administrator() -> None:
    roles = roles_of([FileChange("M", ".promotion/policy.yaml"), FileChange("M", "CODEOWNERS")])
    assert list(roles) == ["administrator"]
    assert roles["administrator"] == [
        ".promotion/policy.yaml governs promotion itself",
        "CODEOWNERS governs promotion itself",
    ]


def test_ungoverned_files_require_nothing() -> None:
    assert roles_of([FileChange("M", "README.md")]) == {}


def test_rollback_change_request_uses_the_rollback_rule() -> None:
    cr = change_request("ruleset", "configs/routing_tables/x.json", rollback_of="CR-2026-0001")
    result = required_roles(example_policy(), [cr], [], [])
    assert [r.role for r in result.roles] == ["administrator"]
    assert result.roles[0].reasons[0].kind == "rollback"
    assert "rolls back CR-2026-0001" in result.roles[0].reasons[0].message


def test_rename_touches_both_paths() -> None:
    roles = roles_of([FileChange("R", "notes/old_prompt.md", old_path="prompts/classify_prompt.md")])
    assert "reviewer" in roles


def test_change_type_missing_from_the_policy_is_a_problem() -> None:
    text = (EXAMPLE / ".promotion/policy.yaml").read_text()
    start = text.index("  template:\n")
    end = text.index("\ngovernance:")
    loaded = load_policy((text[:start] + text[end:]).encode())
    assert loaded.value is not None, loaded.problems
    cr = change_request("template", "templates/replies/acknowledgement.md")
    result = required_roles(loaded.value, [cr], [], [])
    assert len(result.problems) == 1
    assert "change type 'template' is not governed" in result.problems[0].message
    assert result.problems[0].file == "change-requests/CR-2026-0100.yaml"


# -- config keys ------------------------------------------------------------------------------


def edited(old: str, new: str) -> bytes:
    assert old.encode() in BASE_CONFIG
    return BASE_CONFIG.replace(old.encode(), new.encode())


def test_endpoint_moved_to_an_external_host_requires_the_security_officer() -> None:
    head = edited("endpoint: http://127.0.0.1:11434", "endpoint: https://api.llm.example.com/v1")
    keys, problems = config_key_changes(CLASSIFIER, BASE_CONFIG, head, ["provider", "endpoint"])
    assert problems == []
    assert keys == [
        KeyChange(
            CLASSIFIER, "endpoint", '"http://127.0.0.1:11434"', '"https://api.llm.example.com/v1"'
        )
    ]
    # the change request says nothing about egress: the diff alone adds the role
    cr = change_request("model", CLASSIFIER)
    roles = roles_of([FileChange("M", CLASSIFIER)], [cr], keys)
    assert roles["security_officer"] == [
        "condition external-llm-egress: configs/models/classifier.yaml: endpoint changed from "
        '"http://127.0.0.1:11434" to "https://api.llm.example.com/v1" '
        "(host not in [localhost, 127.0.0.1, ::1, *.internal.example.org])"
    ]


def test_provider_change_is_reported_from_what_to_what() -> None:
    head = edited("provider: ollama", "provider: openai")
    keys, _ = config_key_changes(CLASSIFIER, BASE_CONFIG, head, ["provider", "endpoint"])
    assert [k.describe() for k in keys] == [
        'configs/models/classifier.yaml: provider changed from "ollama" to "openai"'
    ]


def test_unwatched_key_changes_do_not_add_the_security_officer() -> None:
    head = edited("temperature: 0", "temperature: 0.2")
    keys, problems = config_key_changes(CLASSIFIER, BASE_CONFIG, head, ["provider", "endpoint"])
    assert (keys, problems) == ([], [])
    roles = roles_of([FileChange("M", CLASSIFIER)], [change_request("model", CLASSIFIER)], keys)
    assert "security_officer" not in roles


def test_a_new_config_file_adds_its_watched_keys() -> None:
    keys, _ = config_key_changes("configs/models/new.yaml", None, BASE_CONFIG, ["provider"])
    assert keys == [KeyChange("configs/models/new.yaml", "provider", None, '"ollama"')]


def test_a_deleted_config_file_removes_its_watched_keys() -> None:
    keys, _ = config_key_changes(CLASSIFIER, BASE_CONFIG, None, ["endpoint"])
    assert keys == [KeyChange(CLASSIFIER, "endpoint", '"http://127.0.0.1:11434"', None)]


def test_moving_a_key_elsewhere_in_the_document_is_a_change() -> None:
    head = edited("provider: ollama\n", "llm:\n  provider: openai\n")
    keys, _ = config_key_changes(CLASSIFIER, BASE_CONFIG, head, ["provider"])
    assert keys == [KeyChange(CLASSIFIER, "provider", '"ollama"', None)]


def test_wildcard_keys_reach_into_mappings_and_lists() -> None:
    before = b'{"models": [{"provider": "ollama"}, {"provider": "ollama"}]}'
    after = b'{"models": [{"provider": "ollama"}, {"provider": "openai"}]}'
    keys, problems = config_key_changes("configs/models/all.json", before, after,
                                        ["models.*.provider"])
    assert problems == []
    assert [k.key for k in keys] == ["models.1.provider"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"provider: [unclosed\n", "configs/models/classifier.yaml:"),
        (b"provider: ollama\nprovider: openai\n", "duplicate key 'provider'"),
        (b"provider: yes\n", "is a boolean in YAML 1.1"),
    ],
)
def test_an_unreadable_config_is_a_problem_not_a_silent_no_change(raw: bytes, message: str) -> None:
    keys, problems = config_key_changes(CLASSIFIER, BASE_CONFIG, raw, ["provider"])
    assert keys == []
    assert any(message in problem.render() for problem in problems)


def test_duplicate_json_keys_are_a_problem() -> None:
    keys, problems = config_key_changes(
        "c.json", b'{"provider": "a"}', b'{"provider": "a", "provider": "b"}', ["provider"]
    )
    assert keys == []
    assert "duplicate key 'provider'" in problems[0].message


def test_watched_files_that_are_neither_yaml_nor_json_are_a_problem() -> None:
    _, problems = config_key_changes("configs/models/x.toml", b"a=1", b"a=2", ["a"])
    assert "only YAML and JSON" in problems[0].message


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("provider", "provider", True),
        ("provider", "endpoint", False),
        ("models.*.provider", "models.0.provider", True),
        ("models.*.provider", "models.a.b.provider", False),
        ("*", "anything", True),
        ("a.b", "a", False),
    ],
)
def test_key_patterns(pattern: str, key: str, matches: bool) -> None:
    assert key_matches(pattern, key) is matches


# -- predicates on the value of a watched key ------------------------------------------------

EGRESS_ROLES = ["security_officer"]


def egress_roles(before: str | None, after: str | None) -> list[str]:
    """The roles the example's external-llm-egress condition adds for one key change."""
    key, _, old = before.partition("=") if before else ("", "", "")
    key2, _, new = after.partition("=") if after else ("", "", "")
    name = key or key2
    change = KeyChange(
        CLASSIFIER,
        name,
        json.dumps(old) if before is not None else None,
        json.dumps(new) if after is not None else None,
    )
    roles = roles_of([FileChange("M", CLASSIFIER)], [], [change])
    return [role for role in roles if role == "security_officer"]


@pytest.mark.parametrize(
    ("before", "after", "roles"),
    [
        # provider: not_in [ollama, local]
        ("provider=ollama", "provider=openai", EGRESS_ROLES),
        ("provider=openai", "provider=ollama", []),  # back to a local provider: no egress
        ("provider=ollama", "provider=local", []),
        ("provider=ollama", "provider=Ollama", EGRESS_ROLES),  # compared exactly: fails closed
        ("provider=ollama", None, EGRESS_ROLES),  # removed: the default may be anything
        (None, "provider=ollama", []),  # added with a local provider
        (None, "provider=anthropic", EGRESS_ROLES),
        # endpoint: host_not_in [localhost, 127.0.0.1, ::1, *.internal.example.org]
        ("endpoint=http://127.0.0.1:11434", "endpoint=https://api.llm.example.com/v1",
         EGRESS_ROLES),
        ("endpoint=http://127.0.0.1:11434", "endpoint=http://localhost:8080", []),
        ("endpoint=http://127.0.0.1:11434", "endpoint=http://[::1]:11434", []),
        ("endpoint=http://127.0.0.1:11434", "endpoint=https://llm.internal.example.org/v1", []),
        ("endpoint=http://127.0.0.1:11434", "endpoint=https://LLM.Internal.Example.org./v1", []),
        ("endpoint=http://127.0.0.1:11434", "endpoint=llm.internal.example.org:8443", []),
        # a look-alike of an internal host is not one
        ("endpoint=http://127.0.0.1:11434", "endpoint=https://internal.example.org.evil.com/",
         EGRESS_ROLES),
        ("endpoint=http://127.0.0.1:11434", "endpoint=https://evilinternal.example.org/",
         EGRESS_ROLES),
        # userinfo is not the host: the request goes to evil.com
        ("endpoint=http://127.0.0.1:11434", "endpoint=http://127.0.0.1@evil.com/", EGRESS_ROLES),
        # a host that cannot be read fires (conditions add roles when in doubt)
        ("endpoint=http://127.0.0.1:11434", "endpoint=http://127.0.0.1:port/", EGRESS_ROLES),
        ("endpoint=http://127.0.0.1:11434", "endpoint=http://exa mple.com/", EGRESS_ROLES),
        ("endpoint=http://127.0.0.1:11434", "endpoint=", EGRESS_ROLES),
        ("endpoint=http://127.0.0.1:11434", None, EGRESS_ROLES),
    ],
)
def test_egress_condition_fires_only_when_traffic_may_leave(
    before: str | None, after: str | None, roles: list[str]
) -> None:
    assert egress_roles(before, after) == roles


def test_a_non_string_endpoint_fires_the_host_predicate() -> None:
    change = KeyChange(CLASSIFIER, "endpoint", '"http://127.0.0.1:11434"', '{"host": "x"}')
    assert "security_officer" in roles_of([FileChange("M", CLASSIFIER)], [], [change])


def policy_with_condition(when: str) -> Policy:
    text = (EXAMPLE / ".promotion/policy.yaml").read_text()
    start = text.index("conditions:\n")
    end = text.index("\nchecks:")
    condition = (
        "conditions:\n  - name: watched\n    when:\n      config_keys:\n"
        '        - files: ["configs/models/*.yaml"]\n'
        + "".join(f"          {line}\n" for line in when.splitlines())
        + "    require_roles: [security_officer]\n"
    )
    loaded = load_policy((text[:start] + condition + text[end:]).encode())
    assert loaded.value is not None, [p.render() for p in loaded.problems]
    return loaded.value


@pytest.mark.parametrize(
    ("when", "change", "fires"),
    [
        ("keys: [tier]\nchanges: [added]", KeyChange(CLASSIFIER, "tier", None, '"x"'), True),
        ("keys: [tier]\nchanges: [added]", KeyChange(CLASSIFIER, "tier", '"x"', None), False),
        ("keys: [tier]\nchanges: [added]", KeyChange(CLASSIFIER, "tier", '"x"', '"y"'), False),
        ("keys: [tier]\nchanges: [removed]", KeyChange(CLASSIFIER, "tier", '"x"', None), True),
        ("keys: [tier]\nchanges: [changed]", KeyChange(CLASSIFIER, "tier", '"x"', '"y"'), True),
        ("keys: [tier]\nin: [premium]", KeyChange(CLASSIFIER, "tier", '"basic"', '"premium"'),
         True),
        ("keys: [tier]\nin: [premium]", KeyChange(CLASSIFIER, "tier", '"premium"', '"basic"'),
         False),
        ("keys: [tier]\nin: [premium]", KeyChange(CLASSIFIER, "tier", '"premium"', None), False),
        # numbers and booleans compare as their JSON text
        ('keys: [temperature]\nnot_in: ["0"]', KeyChange(CLASSIFIER, "temperature", "0", "0.7"),
         True),
        ('keys: [temperature]\nnot_in: ["0"]', KeyChange(CLASSIFIER, "temperature", "0.7", "0"),
         False),
        ('keys: [stream]\nin: ["true"]', KeyChange(CLASSIFIER, "stream", "false", "true"), True),
        # a list or a mapping is in no list
        ("keys: [tier]\nnot_in: [basic]", KeyChange(CLASSIFIER, "tier", '"basic"', '["basic"]'),
         True),
        ("keys: [endpoint]\nhost_in: [10.0.0.0/8]",
         KeyChange(CLASSIFIER, "endpoint", '"http://a"', '"http://10.1.2.3:80/"'), True),
        ("keys: [endpoint]\nhost_in: [10.0.0.0/8]",
         KeyChange(CLASSIFIER, "endpoint", '"http://a"', '"http://11.1.2.3/"'), False),
        ("keys: [endpoint]\nhost_not_in: [10.0.0.0/8]",
         KeyChange(CLASSIFIER, "endpoint", '"http://a"', '"http://10.1.2.3/"'), False),
        # every given predicate must hold
        ("keys: [endpoint]\nchanges: [changed]\nhost_not_in: [localhost]",
         KeyChange(CLASSIFIER, "endpoint", None, '"http://api.example.com"'), False),
    ],
)
def test_predicates_on_watched_keys(when: str, change: KeyChange, fires: bool) -> None:
    roles = roles_of([FileChange("M", CLASSIFIER)], [], [change], policy_with_condition(when))
    assert ("security_officer" in roles) is fires


# -- keys governed as a change type ----------------------------------------------------------

APP = "configs/app.yaml"


def policy_with_model_keys() -> Policy:
    text = (EXAMPLE / ".promotion/policy.yaml").read_text()
    old = '    paths: ["configs/models/**"]\n'
    new = old + '    keys:\n      - files: ["configs/app.yaml"]\n        keys: [classification.llm]\n'
    loaded = load_policy(text.replace(old, new).encode())
    assert loaded.value is not None, [p.render() for p in loaded.problems]
    return loaded.value


def test_a_governed_key_inside_a_file_requires_its_change_types_roles() -> None:
    policy = policy_with_model_keys()
    change = KeyChange(APP, "classification.llm", '{"model": "a:1.0"}', '{"model": "a:1.1"}')
    roles = roles_of([FileChange("M", APP)], [], [change], policy)
    assert list(roles) == ["reviewer", "administrator"]
    assert roles["reviewer"] == [
        'configs/app.yaml: classification.llm changed from {"model": "a:1.0"} to '
        '{"model": "a:1.1"} (a governed model key)'
    ]


def test_other_keys_of_a_key_governed_file_are_governed_as_the_rest_of_the_policy_says() -> None:
    policy = policy_with_model_keys()
    assert roles_of([FileChange("M", APP)], [], [], policy) == {}


def test_the_governed_keys_of_a_file_are_diffed_from_its_content() -> None:
    before = b"auth:\n  ttl: '60'\nclassification:\n  llm:\n    model: a:1.0\n"
    auth_only = before.replace(b"'60'", b"'90'")
    model = before.replace(b"a:1.0", b"a:1.1")
    keys = watched_keys(policy_with_model_keys(), APP)
    assert keys == ("classification.llm",)
    assert config_key_changes(APP, before, auth_only, keys) == ([], [])
    changed, _ = config_key_changes(APP, before, model, keys)
    assert [c.key for c in changed] == ["classification.llm"]
