"""The loopback GitHub: real PyGithub against it, every route checked against GitHub's OpenAPI."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import threading
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import github
import pytest
import requests
import urllib3.util.retry
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from github.GithubRetry import GithubRetry
from urllib3 import Retry

from promotion_bot.adapters.github_graphql import (
    LAST_MOVE_FIELD,
    OPENING_QUERY,
    added_file_from_patch,
    opening_variables,
)
from tests import openapi_shapes
from tests.github_server import (
    ROUTES,
    SECONDARY_RATE_LIMIT_MESSAGE,
    FakeGitHub,
    FileChange,
    RecordedRequest,
)
from tests.gitrepo import built_once

SUCCESS = range(200, 300)


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    """A running fake; on teardown every JSON response it served must match GitHub's spec."""
    with FakeGitHub() as server:
        yield server
    assert not server.server_errors, "\n".join(server.server_errors)
    openapi_shapes.validate_exchanges(server.requests)


@pytest.fixture
def gh(fake: FakeGitHub) -> Iterator[github.Github]:
    client = fake.client()
    yield client
    client.close()


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Alice", "GIT_AUTHOR_EMAIL": "alice@example.com",
           "GIT_COMMITTER_NAME": "Alice", "GIT_COMMITTER_EMAIL": "alice@example.com",
           "GIT_AUTHOR_DATE": "2026-01-02T03:04:05+02:00",
           "GIT_COMMITTER_DATE": "2026-01-02T03:04:05+02:00"}
    proc = subprocess.run(["git", "-C", str(cwd), "-c", "commit.gpgsign=false",
                           "-c", "tag.gpgsign=false", *args],
                          capture_output=True, text=True, check=True, env=env)
    return proc.stdout.strip()


def commit_all(work: Path, message: str) -> str:
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    return git(work, "rev-parse", "HEAD")


@pytest.fixture
def origin(tmp_path: Path) -> dict[str, Any]:
    """A bare "origin" with main (A, D), cr-42 (A-B-C), cr-43 (D-E) and tag promotion/CR-1 on A
    (built once per worker, then copied with its .git)."""
    repos = tmp_path / "repos"
    commits = built_once("test_github_server.origin", repos, _build_origin)
    return {"dir": repos / "origin.git", "work": repos / "work", **commits}


def _build_origin(repos: Path) -> dict[str, str]:
    work = repos / "work"
    work.mkdir(parents=True)
    git(work, "init", "-q", "-b", "main")
    (work / "rules").mkdir()
    (work / "docs").mkdir()
    (work / "README.md").write_text("hello\n")
    (work / "rules" / "a.json").write_text('{"v": 1}\n')
    (work / "rules" / "old.json").write_text("".join(f"line {i}\n" for i in range(20)))
    (work / "docs" / "gone.md").write_text("bye\n")
    (work / "blob.bin").write_bytes(b"\x00\x01binary")
    a = commit_all(work, "A: initial")
    git(work, "tag", "-a", "promotion/CR-1", "-m", "record")
    git(work, "checkout", "-q", "-b", "cr-42")
    (work / "rules" / "a.json").write_text('{"v": 2}\n{"w": 3}\n')
    (work / "rules" / "b.json").write_text("{}\n")
    b = commit_all(work, "B: rules")
    (work / "docs" / "gone.md").unlink()
    git(work, "mv", "rules/old.json", "rules/renamed.json")
    (work / "blob.bin").write_bytes(b"\x00\x02binary")
    c = commit_all(work, "C: move\n\nbody line")
    git(work, "checkout", "-q", "main")
    (work / "README.md").write_text("hello again\n")
    d = commit_all(work, "D: readme on main")
    git(work, "checkout", "-q", "-b", "cr-43")
    (work / "new.txt").write_text("new\n")
    e = commit_all(work, "E: new file")
    git(work, "checkout", "-q", "main")
    git(repos, "clone", "-q", "--bare", "work", "origin.git")
    return {"A": a, "B": b, "C": c, "D": d, "E": e}


def setup_world(fake: FakeGitHub, origin: dict[str, Any]) -> None:
    """acme/widgets from the bare origin, PR #1 (cr-42 -> main), teams, reviews."""
    fake.add_repo("acme/widgets", git_dir=origin["dir"])
    fake.add_user("alice", name="Alice", email="alice@example.com")
    fake.add_user("promoter")
    fake.add_token("user-token", "promoter")
    fake.add_collaborator("acme/widgets", "bob", "maintain")
    fake.add_team("acme", "approvers", {"bob": "active", "carol": "pending", "dave": "active"},
                  maintainers=["dave"])
    fake.add_team("acme", "secret", {"bob": "active"}, readable=False)
    fake.add_pull("acme/widgets", 1, user="alice", base_ref="main", base_sha=origin["D"],
                  head_ref="cr-42", head_sha=origin["C"], title="CR-42", body="Promote",
                  labels=["promotion"], requested_teams=["approvers"])
    fake.add_review("acme/widgets", 1, user="bob", state="APPROVED", commit_id=origin["C"])
    fake.add_review("acme/widgets", 1, user="carol", state="COMMENTED", commit_id=origin["B"])
    fake.add_review("acme/widgets", 1, user="erin", state="PENDING", commit_id=None)


# ---- the drift guard: every route, OpenAPI-valid ---------------------------------------------


def drive_every_route(fake: FakeGitHub, gh: github.Github, origin: dict[str, Any]) -> None:
    """Success responses through PyGithub (or raw HTTP where PyGithub has no method)."""
    user_client = fake.client("user-token")
    assert user_client.get_user().login == "promoter"  # GET /user
    user_client.close()
    assert gh.get_user("alice").name == "Alice"
    org = gh.get_organization("acme")
    team = org.get_team_by_slug("approvers")
    assert sorted(u.login for u in team.get_members()) == ["bob", "dave"]
    assert team.get_team_membership("carol").state == "pending"

    repo = gh.get_repo("acme/widgets")
    assert repo.get_collaborator_permission("bob") == "write"
    assert [p.number for p in repo.get_pulls(state="open", base="main", head="acme:cr-42")] == [1]
    pr = repo.get_pull(1)
    assert len(list(pr.get_files())) == 5
    assert [r.state for r in pr.get_reviews()] == ["APPROVED", "COMMENTED", "PENDING"]
    assert [c.sha for c in pr.get_commits()] == [origin["B"], origin["C"]]
    users, teams = pr.get_review_requests()
    assert [t.slug for t in teams] == ["approvers"] and list(users) == []
    pr.create_review_request(reviewers=["carol"], team_reviewers=["approvers"])
    assert [label.name for label in pr.get_labels()] == ["promotion"]
    comment = pr.create_issue_comment("<!-- promotion-bot -->\nhello")
    comment.edit("<!-- promotion-bot -->\nupdated")
    assert [c.body for c in pr.get_issue_comments()] == ["<!-- promotion-bot -->\nupdated"]

    head = repo.get_commit(origin["C"])
    head.create_status("pending", description="evaluating", context="promotion-bot")
    assert [s.state for s in head.get_statuses()] == ["pending"]
    assert head.get_combined_status().state == "pending"
    run = repo.create_check_run(name="promotion-gate", head_sha=origin["C"], status="in_progress")
    run.edit(status="completed", conclusion="failure",
             output={"title": "Blocked", "summary": "role security missing"})
    assert repo.get_check_run(run.id).conclusion == "failure"
    assert [r.name for r in head.get_check_runs()] == ["promotion-gate"]
    assert [p.number for p in head.get_pulls()] == [1]
    assert [c.sha for c in repo.get_commits(sha="cr-42", path="rules/a.json")] == [origin["B"],
                                                                                   origin["A"]]
    comparison = repo.compare("main", "cr-42")
    assert (comparison.status, comparison.ahead_by, comparison.behind_by) == ("diverged", 2, 1)
    at_a = repo.get_contents("rules/a.json", ref=origin["A"])
    assert not isinstance(at_a, list) and at_a.decoded_content == b'{"v": 1}\n'
    listing = repo.get_contents("rules", ref="cr-42")
    assert isinstance(listing, list)

    assert repo.get_git_ref("heads/main").object.sha == origin["D"]
    assert {r.ref for r in repo.get_git_matching_refs("tags/promotion/")} == {
        "refs/tags/promotion/CR-1"}
    ref = repo.create_git_ref("refs/heads/promo", origin["A"])
    ref.edit(origin["D"])
    ref.delete()
    created = repo.create_pull(base="main", head="cr-43", title="CR-43", body="next")

    fake.add_artifact("acme/widgets", "promotion-evidence", head_sha=origin["C"],
                      files={"promotion-evidence.json": b'{"result": "passed"}'})
    [artifact] = list(repo.get_artifacts(name="promotion-evidence"))
    assert artifact.workflow_run.head_sha == origin["C"]
    _, _, chunks = gh.requester.getStream(artifact.archive_download_url)  # 302 to the blob store
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as archive:
        assert archive.read("promotion-evidence.json") == b'{"result": "passed"}'
    run = repo.get_workflow_run(artifact.workflow_run.id)
    assert (run.path, run.event, run.head_sha) == (
        ".github/workflows/promotion-checks.yml", "pull_request", origin["C"])
    assert [r.id for r in repo.get_workflow_runs(head_sha=origin["C"])] == [run.id]
    assert [a.id for a in run.get_artifacts()] == [artifact.id]

    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    integration = github.GithubIntegration(auth=github.Auth.AppAuth(fake.app_id, app_key),
                                           base_url=fake.base_url, seconds_between_requests=None,
                                           seconds_between_writes=None)
    installation = integration.get_repo_installation("acme", "widgets")
    assert integration.get_access_token(installation.id).token in fake.installation_tokens
    assert created.number == 2
    drive_settings_routes(fake, gh)


def setup_settings(fake: FakeGitHub) -> None:
    """acme/widgets configured as docs/adopting.md says; "admin" administers it and the org."""
    fake.add_user("admin")
    fake.add_token("admin-token", "admin")
    fake.add_collaborator("acme/widgets", "admin", "admin")
    fake.add_org_owner("acme", "admin")
    fake.add_ruleset("acme/widgets", "protect main", target="branch", include=["~DEFAULT_BRANCH"],
                     rules=[{"type": "deletion"}, {"type": "non_fast_forward"},
                            {"type": "pull_request", "parameters": {
                                "required_approving_review_count": 1,
                                "dismiss_stale_reviews_on_push": True,
                                "require_code_owner_review": True,
                                "require_last_push_approval": True,
                                "required_review_thread_resolution": False,
                                "allowed_merge_methods": ["merge", "squash"]}},
                            {"type": "required_status_checks", "parameters": {
                                "strict_required_status_checks_policy": True,
                                "required_status_checks": [
                                    {"context": "promotion/approvals", "integration_id": 4242},
                                    {"context": "promotion / checks", "integration_id": 15368}]}}])
    fake.add_ruleset("acme/widgets", "only the bot records", target="tag",
                     include=["refs/tags/promotion/*"], rules=[{"type": "creation"}],
                     bypass_actors=[{"actor_id": 4242, "actor_type": "Integration",
                                     "bypass_mode": "always"}])
    fake.add_environment("acme/widgets", "promotion-record", branch_policies=["main"],
                         secrets=["PROMOTION_BOT_SIGNING_KEY"], reviewers=["admin"])
    fake.add_environment("acme/widgets", "anywhere")
    repo = fake.repos["acme/widgets"]
    repo.secrets["UNRELATED"] = fake.now()
    repo.team_permissions["acme/approvers"] = "push"
    fake.org_secrets["acme"] = {"ORG_WIDE": fake.now()}


def drive_settings_routes(fake: FakeGitHub, gh: github.Github) -> None:
    """The settings doctor reads; PyGithub has no methods for most, so its requester."""
    setup_settings(fake)
    admin = fake.client("admin-token")
    requester = admin.requester
    r = "/repos/acme/widgets"

    def get(path: str, **parameters: Any) -> Any:
        return requester.requestJsonAndCheck("GET", path, parameters=parameters or None)[1]

    rules = get(f"{r}/rules/branches/main")
    assert {rule["type"] for rule in rules} == {"deletion", "non_fast_forward", "pull_request",
                                                "required_status_checks"}
    assert get(f"{r}/rules/branches/feature") == []
    listed = get(f"{r}/rulesets", includes_parents="true")
    assert [item["name"] for item in listed] == ["protect main", "only the bot records"]
    tag_ruleset = get(f"{r}/rulesets/{listed[1]['id']}")
    assert tag_ruleset["bypass_actors"][0]["actor_id"] == 4242
    assert "bypass_actors" not in gh.requester.requestJsonAndCheck(  # not an administrator
        "GET", f"{r}/rulesets/{listed[1]['id']}")[1]
    environment = get(f"{r}/environments/promotion-record")
    assert environment["deployment_branch_policy"] == {"protected_branches": False,
                                                       "custom_branch_policies": True}
    assert get(f"{r}/environments/anywhere")["deployment_branch_policy"] is None
    policies = get(f"{r}/environments/promotion-record/deployment-branch-policies")
    assert [p["name"] for p in policies["branch_policies"]] == ["main"]
    assert [s["name"] for s in get(f"{r}/environments/promotion-record/secrets")["secrets"]] == [
        "PROMOTION_BOT_SIGNING_KEY"]
    assert [s["name"] for s in get(f"{r}/actions/secrets")["secrets"]] == ["UNRELATED"]
    assert [s["name"] for s in get(f"{r}/actions/organization-secrets")["secrets"]] == [
        "ORG_WIDE"]
    permissions = get(f"{r}/actions/permissions/workflow")
    assert (permissions["default_workflow_permissions"],
            permissions["can_approve_pull_request_reviews"]) == ("read", False)
    installations = get("/orgs/acme/installations")["installations"]
    assert [(i["app_id"], i["permissions"]["members"]) for i in installations] == [(4242, "read")]
    owned = fake.add_repo("acme/owned")
    owned.team_permissions["acme/approvers"] = "push"
    fake.add_collaborator("acme/owned", "bob", "write")
    owned.set_file(".github/CODEOWNERS", "* @acme/approvers\n/docs/  @acme/ghosts @bob # x\n")
    (error,) = get("/repos/acme/owned/codeowners/errors", ref="main")["errors"]
    assert (error["line"], error["column"], error["kind"]) == (2, 9, "Unknown owner")
    assert error["path"] == ".github/CODEOWNERS" and error["source"].startswith("/docs/")
    admin.close()


def drive_error_shapes(fake: FakeGitHub, origin: dict[str, Any]) -> None:
    """404/401/403/422 answers, through raw HTTP so each status can be asserted."""
    session = requests.Session()
    auth = {"Authorization": "token t"}
    api = fake.base_url
    r = "/repos/acme/widgets"
    expected = [
        ("GET", "/repos/acme/nope", None, 404),
        ("GET", "/users/nobody", None, 404),
        ("GET", "/orgs/acme/teams/nope", None, 404),
        ("GET", "/orgs/acme/teams/approvers/memberships/erin", None, 404),
        ("GET", "/orgs/acme/teams/secret/memberships/bob", None, 403),
        ("GET", f"{r}/pulls/99", None, 404),
        ("GET", f"{r}/contents/nope.txt", None, 404),
        ("GET", f"{r}/git/ref/heads/nope", None, 404),
        ("GET", f"{r}/issues/99/comments", None, 404),
        ("POST", f"{r}/issues/99/comments", {"body": "x"}, 404),
        ("POST", f"{r}/issues/1/comments", {}, 422),
        ("GET", f"{r}/commits/{'0' * 40}", None, 422),
        ("GET", f"{r}/commits/nope/status", None, 404),
        ("GET", f"{r}/compare/nope...main", None, 404),
        ("GET", f"{r}/collaborators/nobody/permission", None, 404),
        ("POST", f"{r}/pulls", {"title": "again", "head": "cr-42", "base": "main"}, 422),
        ("POST", f"{r}/git/refs", {"ref": "refs/heads/main", "sha": origin["A"]}, 422),
        ("PATCH", f"{r}/git/refs/heads/main", {"sha": origin["A"]}, 422),
        ("POST", f"{r}/pulls/1/requested_reviewers", {"reviewers": ["alice"]}, 422),
        ("PATCH", f"{r}/issues/comments/{fake.comments[0]['id']}", {}, 422),
        ("GET", f"{r}/codeowners/errors", None, 404),  # no CODEOWNERS at all
        ("GET", f"{r}/rulesets/999", None, 404),
        ("GET", f"{r}/environments/nope", None, 404),
        ("GET", f"{r}/actions/permissions/workflow", None, 403),  # not an administrator
        ("GET", "/orgs/acme/installations", None, 403),  # not an organisation owner
    ]
    for method, path, body, status in expected:
        response = session.request(method, api + path, json=body, headers=auth, timeout=5)
        assert response.status_code == status, (method, path, response.text)
    assert session.get(api + "/user", timeout=5).status_code == 401
    assert session.get(api + "/user", headers=auth, timeout=5).status_code == 403  # a bot token
    last = fake.calls("GET", "/user")[-1].json()
    assert last["message"] == "Resource not accessible by integration"
    session.close()


def test_every_route_serves_openapi_valid_json(
    fake: FakeGitHub, gh: github.Github, origin: dict[str, Any]
) -> None:
    setup_world(fake, origin)
    drive_every_route(fake, gh, origin)
    drive_error_shapes(fake, origin)

    validated = openapi_shapes.validate_exchanges(fake.requests)
    for route in ROUTES:
        served = [r for r in fake.requests if r.route == route.template
                  and r.method == route.method
                  and (r.status in SUCCESS or r.status == 302)]  # 302: artifact download
        assert served, f"{route.method} {route.template} was not exercised"
        status = served[0].status
        assert status is not None
        has_body = openapi_shapes.documented_statuses(route.method, route.template).get(status)
        if has_body:
            assert (route.method, route.template, status) in validated
        else:
            assert served[0].response_body == b"", f"{route.method} {route.template} {status}"
    errors = {(m, t, s) for m, t, s in validated if s >= 400}
    assert {s for _, _, s in errors} == {401, 403, 404, 422}
    assert len(errors) >= 14, sorted(errors)


def test_every_route_is_a_documented_operation() -> None:
    for route in ROUTES:
        assert openapi_shapes.operation(route.method, route.template)["operationId"]
        assert openapi_shapes.match_template(route.method, _example_path(route.template)) in (
            route.template, "/repos/{owner}/{repo}/compare/{base}...{head}")


def _example_path(template: str) -> str:
    out = template
    examples = {"{basehead}": "main...cr", "{path}": "a/b.txt", "{ref}": "heads/main"}
    for name, value in examples.items():
        out = out.replace(name, value)
    return "/".join("x1" if part.startswith("{") else part for part in out.split("/"))


def test_default_fault_bodies_are_github_error_shapes(fake: FakeGitHub) -> None:
    fake.add_repo("acme/widgets")
    fake.add_pull("acme/widgets", 1, user="alice", base_ref="main", base_sha="a" * 40,
                  head_ref="x", head_sha="b" * 40)
    url = f"{fake.base_url}/repos/acme/widgets/pulls/1"
    for status in (500, 503):
        fake.inject("GET", "/repos/acme/widgets/pulls/1", status=status)
        response = requests.get(url, timeout=5)
        assert response.status_code == status
        openapi_shapes.validate_response("GET", "/repos/{owner}/{repo}/pulls/{pull_number}",
                                         status, response.json())


# ---- state served from a real git repository -------------------------------------------------


def test_pull_files_are_the_three_dot_diff(fake: FakeGitHub, gh: github.Github,
                                           origin: dict[str, Any]) -> None:
    setup_world(fake, origin)
    pr = gh.get_repo("acme/widgets").get_pull(1)
    files = {f.filename: f for f in pr.get_files()}
    assert {name: f.status for name, f in files.items()} == {
        "blob.bin": "modified", "docs/gone.md": "removed", "rules/a.json": "modified",
        "rules/b.json": "added", "rules/renamed.json": "renamed",
    }  # README.md changed on main after the merge base: not part of the PR
    a_json = files["rules/a.json"]
    assert (a_json.additions, a_json.deletions, a_json.changes) == (2, 1, 3)
    assert a_json.sha == git(origin["dir"], "rev-parse", f"{origin['C']}:rules/a.json")
    assert files["rules/renamed.json"].previous_filename == "rules/old.json"
    gone = git(origin["dir"], "rev-parse", f"{origin['A']}:docs/gone.md")
    assert files["docs/gone.md"].sha == gone  # removed files carry the old blob
    assert (files["blob.bin"].additions, files["blob.bin"].deletions) == (0, 0)
    assert (pr.changed_files, pr.additions, pr.deletions, pr.commits) == (5, 3, 2, 2)
    assert (pr.base.sha, pr.head.sha, pr.head.ref, pr.base.repo.full_name) == (
        origin["D"], origin["C"], "cr-42", "acme/widgets")


def test_explicit_files_override_git(fake: FakeGitHub, gh: github.Github,
                                     origin: dict[str, Any]) -> None:
    setup_world(fake, origin)
    fake.update_pull("acme/widgets", 1, files=["only.yaml", {"filename": "new.yaml",
                                                               "status": "added"}])
    pr = gh.get_repo("acme/widgets").get_pull(1)
    assert [(f.filename, f.status) for f in pr.get_files()] == [("only.yaml", "modified"),
                                                               ("new.yaml", "added")]


def test_contents_from_git(fake: FakeGitHub, gh: github.Github, origin: dict[str, Any]) -> None:
    setup_world(fake, origin)
    repo = gh.get_repo("acme/widgets")
    at_base = repo.get_contents("rules/a.json", ref="main")
    at_head = repo.get_contents("rules/a.json", ref=origin["C"])
    assert not isinstance(at_base, list) and not isinstance(at_head, list)
    assert at_base.decoded_content == b'{"v": 1}\n'
    assert at_head.decoded_content == b'{"v": 2}\n{"w": 3}\n'
    assert at_head.sha == git(origin["dir"], "rev-parse", f"{origin['C']}:rules/a.json")
    assert at_head.encoding == "base64" and at_head.size == len(b'{"v": 2}\n{"w": 3}\n')
    listing = repo.get_contents("rules", ref="cr-42")
    assert isinstance(listing, list)
    assert sorted((c.path, c.type) for c in listing) == [("rules/a.json", "file"),
                                                         ("rules/b.json", "file"),
                                                         ("rules/renamed.json", "file")]
    root = repo.get_contents("", ref="main")
    assert isinstance(root, list) and ("docs", "dir") in {(c.path, c.type) for c in root}
    with pytest.raises(github.UnknownObjectException):
        repo.get_contents("rules/b.json", ref="main")


def test_contents_follow_a_symlink_to_a_file_as_github_does(
        fake: FakeGitHub, gh: github.Github, origin: dict[str, Any]) -> None:
    """A symlink to a regular file of the repository answers with that file, under its own
    path (GitHub's documented behaviour); one that leaves the repository, or points to a
    folder, answers as the symlink."""
    setup_world(fake, origin)
    work = origin["work"]
    os.symlink("../rules/a.json", work / "docs" / "link.json")
    os.symlink("../../outside", work / "docs" / "away")
    os.symlink("../rules", work / "docs" / "folder")
    tip = commit_all(work, "F: symlinks")
    git(work, "push", "-q", str(origin["dir"]), "main")
    repo = gh.get_repo("acme/widgets")
    followed = repo.get_contents("docs/link.json", ref=tip)
    assert not isinstance(followed, list)
    assert (followed.type, followed.path, followed.decoded_content) == (
        "file", "rules/a.json", b'{"v": 1}\n')
    for name, target in (("away", "../../outside"), ("folder", "../rules")):
        link = repo.get_contents(f"docs/{name}", ref=tip)
        assert not isinstance(link, list)
        assert (link.type, link.path, link.raw_data["target"]) == (
            "symlink", f"docs/{name}", target)


def test_graphql_aliases_variables_and_blobs_answer_like_github(
        fake: FakeGitHub, origin: dict[str, Any]) -> None:
    """Several aliased fields in one query, each answered under its alias; variables declared
    and used exactly (GraphQL's validation); a path at a commit answered as a Blob (with its
    git id), a Tree, or null."""
    setup_world(fake, origin)

    def ask(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        answer = requests.post(f"{fake.base_url}/graphql", timeout=5,
                               headers={"Authorization": "token t"},
                               json={"query": query, "variables": variables})
        assert answer.status_code == 200
        result: dict[str, Any] = answer.json()
        return result

    blob = ("repository(owner: $owner, name: $name) { object(expression: $%s) { __typename "
            "... on Blob { oid byteSize isBinary isTruncated text } } }")
    found = ask("query($owner: String!, $name: String!, $a: String!, $b: String!, "
                "$c: String!) { viewer { login } file: " + blob % "a" + " dir: " + blob % "b"
                + " none: " + blob % "c" + " }",
                {"owner": "acme", "name": "widgets", "a": f"{origin['C']}:rules/a.json",
                 "b": f"{origin['C']}:rules", "c": f"{origin['C']}:nope"})
    text = '{"v": 2}\n{"w": 3}\n'
    assert found == {"data": {
        "viewer": {"login": fake.token_user},  # the account an unknown token acts as
        "file": {"object": {"__typename": "Blob", "byteSize": len(text), "isBinary": False,
                            "isTruncated": False, "text": text,
                            "oid": git(origin["dir"], "rev-parse",
                                       f"{origin['C']}:rules/a.json")}},
        "dir": {"object": {"__typename": "Tree"}},
        "none": {"object": None}}}
    unused = ask("query($owner: String!, $name: String!) { viewer { login } }",
                 {"owner": "acme", "name": "widgets"})
    assert "data" not in unused
    assert [e["message"] for e in unused["errors"]] == [
        "Variable $owner is declared by anonymous query but is not used",
        "Variable $name is declared by anonymous query but is not used"]
    assert fake.server_errors == []


def graphql_ask(fake: FakeGitHub, query: str, variables: dict[str, Any],
                token: str = "t") -> dict[str, Any]:
    answer = requests.post(f"{fake.base_url}/graphql", timeout=5,
                           headers={"Authorization": f"token {token}"},
                           json={"query": query, "variables": variables})
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


def test_the_gate_s_opening_query_is_answered_as_github_answers_it(
        fake: FakeGitHub, origin: dict[str, Any]) -> None:
    """The query that opens a pull request, run against GitHub's schema: the author and every
    other actor as GraphQL names them (an App's bot without "[bot]"; the viewer with it),
    `viewerDidAuthor` from the token's account, the base branch's current commit and the
    files at it (a symlink as GitHub's blob of the path it points to, mode 120000)."""
    setup_world(fake, origin)
    work = origin["work"]
    (work / "owners").write_text("* @acme/approvers\n")
    os.symlink("owners", work / "CODEOWNERS")
    tip = commit_all(work, "F: CODEOWNERS through a symlink")
    git(work, "push", "-q", str(origin["dir"]), "main")
    fake.add_user("renovate[bot]", "Bot")
    fake.add_comment("acme/widgets", 1, user="renovate[bot]", body="<!-- m -->\nbot")
    fake.add_comment("acme/widgets", 1, user="github-actions[bot]", body="<!-- m -->\nmine")
    found = graphql_ask(fake, OPENING_QUERY, opening_variables("acme/widgets", 1))
    assert "errors" not in found
    pull = found["data"]["repository"]["pullRequest"]
    assert {k: pull[k] for k in ("number", "state", "isDraft", "headRefName", "headRefOid",
                                 "baseRefName", "baseRefOid", "changedFiles")} == {
        "number": 1, "state": "OPEN", "isDraft": False, "headRefName": "cr-42",
        "headRefOid": origin["C"], "baseRefName": "main", "baseRefOid": origin["D"],
        "changedFiles": 5}
    assert pull["author"] == {"__typename": "User", "login": "alice",
                              "databaseId": fake.users["alice"].id}
    assert pull["commits"] == {"totalCount": 2}
    assert pull["comments"]["nodes"] == [
        {"databaseId": c["id"], "viewerDidAuthor": c["user"] == "github-actions[bot]",
         "body": c["body"]} for c in fake.comments]
    assert pull["reviewRequests"]["nodes"] == [
        {"requestedReviewer": {"__typename": "Team", "slug": "approvers"}}]
    target = pull["baseRef"]["target"]
    assert (pull["baseRef"]["name"], target["__typename"], target["oid"]) == (
        "main", "Commit", tip)
    assert target["file0"] is None and target["file1"] is None  # no policy, no .github/
    symlink = target["file2"]
    assert (symlink["mode"], symlink["type"], symlink["object"]["text"]) == (
        0o120000, "blob", "owners")
    assert found["data"]["repository"]["pullRequests"] == {"totalCount": 1, "nodes": [
        {"number": 1, "headRefOid": origin["C"], "baseRefName": "main"}]}
    viewer = graphql_ask(fake, "query { viewer { login } }", {})
    bot = graphql_ask(fake, "query($o: String!, $n: String!) { repository(owner: $o, name: "
                            "$n) { pullRequest(number: 1) { comments(first: 5) { nodes { "
                            "author { __typename login } } } } } }",
                      {"o": "acme", "n": "widgets"})
    assert viewer["data"]["viewer"]["login"] == "github-actions[bot]"
    assert [n["author"] for n in bot["data"]["repository"]["pullRequest"]["comments"][
        "nodes"]] == [{"__typename": "Bot", "login": "renovate"},
                      {"__typename": "Bot", "login": "github-actions"}]


def test_the_timeline_records_force_pushes_and_retargets_as_github_does(
        fake: FakeGitHub, origin: dict[str, Any]) -> None:
    """A push that moves the head to a descendant is no event; one that does not is a
    HeadRefForcePushedEvent, a change of base a BaseRefChangedEvent (each with its own id),
    filtered by `itemTypes`; `last: 1` is the newest."""
    setup_world(fake, origin)
    query = ("query($o: String!, $n: String!) { repository(owner: $o, name: $n) { pullRequest("
             "number: 1) { " + LAST_MOVE_FIELD + " all: timelineItems(first: 10) { nodes { "
             "__typename } } } } }")

    def moves() -> tuple[list[Any], list[str]]:
        found = graphql_ask(fake, query, {"o": "acme", "n": "widgets"})
        assert "errors" not in found
        pull = found["data"]["repository"]["pullRequest"]
        return pull["timelineItems"]["nodes"], [n["__typename"] for n in pull["all"]["nodes"]]

    fake.update_pull("acme/widgets", 1, head_sha=origin["B"])  # back to an ancestor: forced
    fake.update_pull("acme/widgets", 1, head_sha=origin["C"])  # forward again: no event
    assert moves()[1] == ["HeadRefForcePushedEvent"]
    fake.update_pull("acme/widgets", 1, base_ref="cr-43", base_sha=origin["E"])
    fake.update_pull("acme/widgets", 1, base_ref="main", base_sha=origin["D"])
    newest, every = moves()
    assert every == ["HeadRefForcePushedEvent", "BaseRefChangedEvent", "BaseRefChangedEvent"]
    assert [n["__typename"] for n in newest] == ["BaseRefChangedEvent"]
    assert newest[0]["id"] != fake.repos["acme/widgets"].pulls[1].timeline[1]["id"]
    assert fake.server_errors == []


@pytest.mark.parametrize(("query", "message"), [
    ("{ repository(owner: \"acme\", name: \"widgets\") { pullRequests { nodes { number } } } }",
     "You must provide a `first` or `last` value to properly paginate the `pullRequests` "
     "connection."),
    ("{ repository(owner: \"acme\", name: \"widgets\") { pullRequests(first: 101) { "
     "totalCount } } }",
     "Requesting 101 records on the `pullRequests` connection exceeds the `first` limit of 100 "
     "records."),
    ("{ repository(owner: \"acme\", name: \"widgets\") { pullRequest(number: 9) { number } } }",
     "Could not resolve to a PullRequest with the number of 9."),
    ("{ repository(owner: \"acme\", name: \"nope\") { id } }",
     "Could not resolve to a Repository with the name 'acme/nope'."),
    ("{ repository(owner: \"acme\", name: \"widgets\") { headRefOid } }",
     "Cannot query field 'headRefOid' on type 'Repository'."),
    ("{ repository(owner: \"acme\", name: \"widgets\") { pullRequest(number: \"1\") { "
     "number } } }", "Int cannot represent non-integer value: \"1\""),
])
def test_graphql_refuses_what_github_refuses(fake: FakeGitHub, origin: dict[str, Any],
                                             query: str, message: str) -> None:
    setup_world(fake, origin)
    found = graphql_ask(fake, query, {})
    assert message in [e["message"] for e in found["errors"]]
    assert fake.server_errors == []


def test_a_graphql_field_the_fake_does_not_serve_is_a_bug_in_the_test(
        fake: FakeGitHub, origin: dict[str, Any]) -> None:
    setup_world(fake, origin)
    found = graphql_ask(fake, "{ repository(owner: \"acme\", name: \"widgets\") { "
                              "stargazerCount } }", {})
    assert found["data"] is None or found["data"]["repository"] is None
    assert fake.server_errors == ["POST /graphql: the fake does not serve "
                                  "Repository.stargazerCount"]
    fake.server_errors.clear()


def test_an_added_file_s_patch_is_github_s_and_rebuilds_its_blob(
        fake: FakeGitHub, origin: dict[str, Any]) -> None:
    """pulls/{n}/files carries each text file's patch from its first hunk, without the final
    newline, and none for a binary file: an added file's patch is the whole file."""
    setup_world(fake, origin)
    files = {f["filename"]: f for f in requests.get(
        f"{fake.base_url}/repos/acme/widgets/pulls/1/files", timeout=5).json()}
    added = files["rules/b.json"]
    assert (added["status"], added["patch"]) == ("added", "@@ -0,0 +1 @@\n+{}")
    assert added_file_from_patch(added["patch"], added["sha"]) == b"{}\n"
    assert files["rules/a.json"]["patch"] == ('@@ -1 +1,2 @@\n-{"v": 1}\n+{"v": 2}\n+{"w": 3}')
    assert "patch" not in files["blob.bin"]
    assert files["rules/renamed.json"]["status"] == "renamed"
    assert "patch" not in files["rules/renamed.json"]  # renamed unchanged: no hunk


def test_large_content_comes_without_body(fake: FakeGitHub, gh: github.Github) -> None:
    repo = fake.add_repo("acme/big")
    repo.set_file("big.bin", b"x" * (1024 * 1024 + 1))
    raw = requests.get(f"{fake.base_url}/repos/acme/big/contents/big.bin", timeout=5).json()
    assert (raw["encoding"], raw["content"], raw["size"]) == ("none", "", 1024 * 1024 + 1)


def test_git_base64_is_wrapped_like_github(fake: FakeGitHub, origin: dict[str, Any]) -> None:
    setup_world(fake, origin)
    raw = requests.get(f"{fake.base_url}/repos/acme/widgets/contents/rules/old.json?ref=main",
                       timeout=5).json()
    lines = raw["content"].split("\n")
    assert all(len(line) <= 60 for line in lines) and raw["content"].endswith("\n")
    assert base64.b64decode(raw["content"]) == (origin["work"] / "rules" / "old.json").read_bytes()


def test_refs_are_written_to_the_git_repository(fake: FakeGitHub, gh: github.Github,
                                                origin: dict[str, Any]) -> None:
    setup_world(fake, origin)
    repo = gh.get_repo("acme/widgets")
    tag = repo.get_git_ref("tags/promotion/CR-1")
    assert tag.object.type == "tag"  # annotated: the ref points at the tag object
    assert tag.object.sha == git(origin["dir"], "rev-parse", "refs/tags/promotion/CR-1")

    ref = repo.create_git_ref("refs/heads/release", origin["A"])
    assert git(origin["dir"], "rev-parse", "refs/heads/release") == origin["A"]
    assert fake.refs["acme/widgets"]["refs/heads/release"] == origin["A"]
    ref.edit(origin["D"])  # fast forward
    assert git(origin["dir"], "rev-parse", "refs/heads/release") == origin["D"]
    with pytest.raises(github.GithubException) as excinfo:
        ref.edit(origin["C"])  # not a fast forward
    assert excinfo.value.status == 422
    assert excinfo.value.data["message"] == "Update is not a fast forward"
    ref.edit(origin["C"], force=True)
    assert git(origin["dir"], "rev-parse", "refs/heads/release") == origin["C"]
    ref.delete()
    assert "refs/heads/release" not in fake.refs["acme/widgets"]
    with pytest.raises(github.GithubException) as excinfo:
        repo.create_git_ref("refs/heads/main", origin["A"])
    assert excinfo.value.data["message"] == "Reference already exists"


def test_commits_compare_and_associated_pulls(fake: FakeGitHub, gh: github.Github,
                                              origin: dict[str, Any]) -> None:
    setup_world(fake, origin)
    repo = gh.get_repo("acme/widgets")
    commit = repo.get_commit(origin["C"])
    assert commit.commit.message == "C: move\n\nbody line"
    assert commit.commit.author.date.isoformat() == "2026-01-02T01:04:05+00:00"
    assert commit.author.login == "alice"  # matched by e-mail
    assert [p.sha for p in commit.parents] == [origin["B"]]
    assert {f.filename for f in commit.files} == {"blob.bin", "docs/gone.md", "rules/renamed.json"}
    comparison = repo.compare("main", "cr-42")
    assert comparison.merge_base_commit.sha == origin["A"]
    assert [c.sha for c in comparison.commits] == [origin["B"], origin["C"]]
    assert "README.md" not in {f.filename for f in comparison.files}
    assert repo.compare(origin["A"], "main").status == "ahead"
    assert repo.compare("main", origin["A"]).status == "behind"
    assert repo.compare("main", "main").status == "identical"
    fake.update_pull("acme/widgets", 1, state="closed", merged=True, merge_commit_sha=origin["E"])
    assert [p.number for p in repo.get_commit(origin["E"]).get_pulls()] == [1]
    assert [p.number for p in repo.get_commit(origin["B"]).get_pulls()] == [1]
    assert list(repo.get_commit(origin["A"]).get_pulls()) == []


@pytest.mark.parametrize(
    ("base", "head", "refused"),
    [
        ("D", "missing", "head_sha"),
        ("missing", "C", "base_sha"),
        ("missing", "missing", "base_sha"),  # the base is named first
        ("D", "tree", "head_sha"),  # a tree is not a commit
        ("D", "C", None),
    ],
    ids=["head", "base", "both", "tree", "commits"],
)
def test_a_pull_request_names_commits_the_repository_holds(
        fake: FakeGitHub, origin: dict[str, Any], base: str, head: str,
        refused: str | None) -> None:
    """The pull request's base and head are checked with one git process, refused as before."""
    fake.add_repo("acme/widgets", git_dir=origin["dir"])
    fake.add_user("alice")
    tree = git(origin["dir"], "rev-parse", f"{origin['C']}^{{tree}}")
    sha = {"missing": "0123456789" * 4, "tree": tree, "C": origin["C"], "D": origin["D"]}
    add = partial(fake.add_pull, "acme/widgets", 1, user="alice", base_ref="main",
                  base_sha=sha[base], head_ref="cr-42", head_sha=sha[head])
    if refused is None:
        add()
        return
    with pytest.raises(ValueError, match=f"{refused} {sha[base if refused == 'base_sha' else head]}"
                                         " of #1 is not a commit in"):
        add()


def test_kept_answers_never_outlive_a_moved_branch_or_cross_repositories(
        fake: FakeGitHub, gh: github.Github, origin: dict[str, Any], tmp_path: Path) -> None:
    """The server keeps what a commit id names (a commit, a diff, a file at it), across
    repositories; a branch that moves, a commit pushed after a request that missed it, and a
    commit that only another repository holds are still answered as git has them."""
    setup_world(fake, origin)
    repo = gh.get_repo("acme/widgets")
    assert repo.get_contents("README.md", ref="main").decoded_content == b"hello again\n"
    assert repo.compare("main", "cr-43").status == "ahead"
    work = origin["work"]
    (work / "README.md").write_text("third\n")
    f = commit_all(work, "F: readme again")
    fake.update_pull("acme/widgets", 1, commits=[origin["B"], origin["C"], f])
    messages = [c.commit.message for c in repo.get_pull(1).get_commits()]
    assert messages == ["B: rules", "C: move\n\nbody line", f"commit {f[:7]}"]  # not pushed
    git(work, "push", "-q", str(origin["dir"]), "main")
    messages = [c.commit.message for c in repo.get_pull(1).get_commits()]
    assert messages == ["B: rules", "C: move\n\nbody line", "F: readme again"]
    assert repo.get_contents("README.md", ref="main").decoded_content == b"third\n"
    assert repo.compare("main", "cr-43").status == "diverged"

    only_main = tmp_path / "only-main.git"
    git(tmp_path, "clone", "-q", "--bare", "--no-local", "--single-branch", "-b", "main",
        str(origin["dir"]), str(only_main))
    fake.add_repo("acme/mirror", git_dir=only_main)
    mirror = gh.get_repo("acme/mirror")
    assert mirror.get_commit(origin["D"]).commit.message == "D: readme on main"
    with pytest.raises(github.GithubException) as excinfo:
        mirror.get_commit(origin["C"])  # known to acme/widgets, not held here
    assert excinfo.value.status == 422
    with pytest.raises(github.GithubException):
        mirror.get_contents("rules/b.json", ref=origin["C"])

    fake.add_repo("acme/work", git_dir=work)  # loose refs, read from files as git would
    served = gh.get_repo("acme/work")
    assert served.get_contents("README.md", ref="main").decoded_content == b"third\n"
    git(work, "tag", "main", origin["A"])  # a tag shadows the branch of the same name
    assert served.get_contents("README.md", ref="main").decoded_content == b"hello\n"
    assert served.get_contents("README.md", ref="heads/main").decoded_content == b"third\n"
    git(work, "tag", "-d", "main")
    (work / "README.md").write_text("fourth\n")
    commit_all(work, "G: readme once more")
    assert served.get_contents("README.md", ref="main").decoded_content == b"fourth\n"
    assert served.get_contents("README.md", ref="HEAD").decoded_content == b"fourth\n"


def test_in_memory_repository(fake: FakeGitHub, gh: github.Github) -> None:
    repo = fake.add_repo("acme/mem")
    repo.set_file(".promotion/policy.yaml", "roles: {}\n")
    repo.set_file(".promotion/policy.yaml", "roles: {x: 1}\n", ref="b" * 40)
    fake.add_pull("acme/mem", 3, user="alice", base_ref="main", base_sha="a" * 40,
                  head_ref="cr", head_sha="b" * 40, files=["x"], changed_files=1)
    client_repo = gh.get_repo("acme/mem")
    policy = client_repo.get_contents(".promotion/policy.yaml")
    assert not isinstance(policy, list) and policy.decoded_content == b"roles: {}\n"
    at_head = client_repo.get_contents(".promotion/policy.yaml", ref="b" * 40)
    assert not isinstance(at_head, list) and at_head.decoded_content == b"roles: {x: 1}\n"
    folder = client_repo.get_contents(".promotion")
    assert isinstance(folder, list) and [d.path for d in folder] == [".promotion/policy.yaml"]
    pr = client_repo.get_pull(3)
    assert [c.sha for c in pr.get_commits()] == ["b" * 40]
    head = client_repo.get_commit("b" * 40)
    head.create_status("success", context="gate")
    assert head.get_combined_status().state == "success"
    assert client_repo.compare("a" * 40, "b" * 40).ahead_by == 1
    assert fake.refs["acme/mem"]["refs/heads/cr"] == "b" * 40


# ---- teams, reviews, statuses, checks, pulls -------------------------------------------------


def test_team_membership_states_and_permissions(fake: FakeGitHub, gh: github.Github) -> None:
    fake.add_team("acme", "security", {"sam": "active", "pat": "pending"})
    fake.add_team("acme", "hidden", {"sam": "active"}, readable=False)
    team = gh.get_organization("acme").get_team_by_slug("security")
    assert team.get_team_membership("sam").state == "active"
    assert team.get_team_membership("pat").state == "pending"
    with pytest.raises(github.UnknownObjectException):
        team.get_team_membership("mallory")
    assert [u.login for u in team.get_members()] == ["sam"]  # pending members are not listed
    # like GitHub, a team's url is /organizations/{org_id}/team/{team_id}, and PyGithub follows it
    org_id, team_id = fake.users["acme"].id, fake.teams[("acme", "security")].id
    assert fake.requests[-1].path == f"/organizations/{org_id}/team/{team_id}/members"
    by_slug = requests.get(f"{fake.base_url}/orgs/acme/teams/security/members", timeout=5)
    assert [u["login"] for u in by_slug.json()] == ["sam"]
    response = requests.get(f"{fake.base_url}/orgs/acme/teams/hidden/memberships/sam", timeout=5)
    assert response.status_code == 403
    assert response.json()["message"] == "Resource not accessible by integration"


def test_reviews_keep_github_semantics(fake: FakeGitHub, gh: github.Github) -> None:
    fake.add_repo("acme/r")
    fake.add_pull("acme/r", 1, user="alice", base_ref="main", base_sha="a" * 40,
                  head_ref="x", head_sha="b" * 40)
    fake.add_review("acme/r", 1, user="bob", state="APPROVED", commit_id="a" * 40,
                    submitted_at="2026-02-01T10:00:00Z")
    fake.add_review("acme/r", 1, user="bot[bot]", state="APPROVED", commit_id=None)
    fake.add_review("acme/r", 1, user="eve", state="PENDING", commit_id="b" * 40)
    with pytest.raises(ValueError, match="review state"):
        fake.add_review("acme/r", 1, user="bob", state="approved", commit_id="b" * 40)
    raw = requests.get(f"{fake.base_url}/repos/acme/r/pulls/1/reviews", timeout=5).json()
    assert raw[0]["submitted_at"] == "2026-02-01T10:00:00Z"
    assert raw[1]["user"]["type"] == "Bot" and raw[1]["commit_id"] is None
    assert "submitted_at" not in raw[2]
    reviews = list(gh.get_repo("acme/r").get_pull(1).get_reviews())
    assert [r.user.login for r in reviews] == ["bob", "bot[bot]", "eve"]


def test_statuses_and_check_runs(fake: FakeGitHub, gh: github.Github) -> None:
    fake.add_repo("acme/r")
    fake.add_pull("acme/r", 1, user="alice", base_ref="main", base_sha="a" * 40,
                  head_ref="x", head_sha="b" * 40)
    repo = gh.get_repo("acme/r")
    commit = repo.get_commit("b" * 40)
    commit.create_status("success", context="ci")
    commit.create_status("pending", context="promotion-bot")
    assert commit.get_combined_status().state == "pending"
    commit.create_status("failure", context="promotion-bot", description="missing: security")
    combined = commit.get_combined_status()
    assert (combined.state, combined.total_count) == ("failure", 2)
    assert [(s["context"], s["state"]) for s in fake.statuses] == [
        ("ci", "success"), ("promotion-bot", "pending"), ("promotion-bot", "failure")]
    assert fake.statuses[-1]["description"] == "missing: security"
    with pytest.raises(github.GithubException) as excinfo:
        commit.create_status("failure", context="promotion-bot", description="x" * 141)
    assert excinfo.value.status == 422

    run = repo.create_check_run(name="gate", head_sha="b" * 40, status="in_progress")
    assert run.pull_requests[0].number == 1
    with pytest.raises(github.GithubException) as excinfo:
        run.edit(status="completed")  # a completed run needs a conclusion
    assert excinfo.value.status == 422
    run.edit(conclusion="success", output={"title": "ok", "summary": "all roles"})
    assert fake.check_runs[-1]["status"] == "completed"
    assert fake.check_runs[-1]["output"]["summary"] == "all roles"


def test_create_pull_and_request_reviewers(fake: FakeGitHub, gh: github.Github,
                                           origin: dict[str, Any]) -> None:
    setup_world(fake, origin)
    repo = gh.get_repo("acme/widgets")
    created = repo.create_pull(base="main", head="cr-43", title="Revert CR-42", body="rollback",
                               draft=True)
    assert (created.number, created.head.sha, created.base.sha, created.draft) == (
        2, origin["E"], origin["D"], True)
    assert fake.created_pulls == [{"repo": "acme/widgets", "number": 2, "title": "Revert CR-42",
                                   "body": "rollback", "head": "cr-43", "base": "main",
                                   "draft": True}]
    with pytest.raises(github.GithubException) as excinfo:
        repo.create_pull(base="main", head="cr-43", title="again")
    assert "A pull request already exists for acme:cr-43." in json.dumps(excinfo.value.data)
    created.create_review_request(reviewers=["bob"])
    assert fake.review_requests == [{"repo": "acme/widgets", "pull_number": 2,
                                     "reviewers": ["bob"], "team_reviewers": []}]
    assert [u.login for u in repo.get_pull(2).requested_reviewers] == ["bob"]


def test_merged_and_fork_pulls(fake: FakeGitHub, gh: github.Github, tmp_path: Path) -> None:
    fake.add_repo("acme/r")
    fake.add_pull("acme/r", 1, user="alice", base_ref="main", base_sha="a" * 40,
                  head_ref="cr", head_sha="b" * 40, merged=True, merge_commit_sha="c" * 40,
                  merged_by="bob")
    fake.add_pull("acme/r", 2, user="mallory", base_ref="main", base_sha="a" * 40,
                  head_ref="main", head_sha="d" * 40, head_repo="mallory/r")
    repo = gh.get_repo("acme/r")
    merged = repo.get_pull(1)
    assert (merged.state, merged.merged, merged.merged_by.login) == ("closed", True, "bob")
    assert merged.merged_at is not None and merged.closed_at is not None
    fork = repo.get_pull(2)
    assert (fork.head.label, fork.head.repo.full_name, fork.base.label) == (
        "mallory:main", "mallory/r", "acme:main")
    assert [p.number for p in repo.get_pulls(state="all", head="mallory:main")] == [2]
    assert [p.number for p in repo.get_pulls(state="closed")] == [1]
    with pytest.raises(ValueError, match="not a commit"):
        git(tmp_path, "init", "-q")
        bad = fake.add_repo("acme/git", git_dir=tmp_path)
        fake.add_pull(bad.full_name, 1, user="a", base_ref="main", base_sha="0" * 40,
                      head_ref="x", head_sha="1" * 40)


# ---- pagination ----------------------------------------------------------------------------


def test_pagination_through_paginated_list(fake: FakeGitHub) -> None:
    fake.add_repo("acme/r")
    names = [f"f{i:03}.yaml" for i in range(250)]
    fake.add_pull("acme/r", 1, user="alice", base_ref="main", base_sha="a" * 40,
                  head_ref="x", head_sha="b" * 40, files=names)
    client = fake.client(per_page=100)
    pr = client.get_repo("acme/r").get_pull(1)
    assert [f.filename for f in pr.get_files()] == names
    pages = fake.calls("GET", "/repos/acme/r/pulls/1/files")
    assert [(r.query.get("page"), r.query.get("per_page")) for r in pages] == [
        (None, "100"), ("2", "100"), ("3", "100")]
    first = pages[0].response_headers["Link"]
    base = f"{fake.base_url}/repos/acme/r/pulls/1/files"
    assert first == (f'<{base}?per_page=100&page=2>; rel="next", '
                     f'<{base}?per_page=100&page=3>; rel="last"')
    middle = pages[1].response_headers["Link"]
    assert middle == (f'<{base}?per_page=100&page=1>; rel="prev", '
                      f'<{base}?per_page=100&page=3>; rel="next", '
                      f'<{base}?per_page=100&page=3>; rel="last", '
                      f'<{base}?per_page=100&page=1>; rel="first"')
    last = pages[2].response_headers["Link"]
    assert 'rel="prev"' in last and 'rel="next"' not in last
    assert pr.get_files().totalCount == 250
    client.close()


def test_pagination_of_reviews_comments_and_members(fake: FakeGitHub) -> None:
    fake.add_repo("acme/r")
    fake.add_pull("acme/r", 1, user="alice", base_ref="main", base_sha="a" * 40,
                  head_ref="x", head_sha="b" * 40)
    for i in range(7):
        fake.add_review("acme/r", 1, user=f"u{i}", state="COMMENTED", commit_id="b" * 40)
        fake.add_comment("acme/r", 1, user=f"u{i}", body=f"c{i}")
    fake.add_team("acme", "big", {f"u{i}": "active" for i in range(7)})
    client = fake.client(per_page=3)
    pr = client.get_repo("acme/r").get_pull(1)
    assert [r.user.login for r in pr.get_reviews()] == [f"u{i}" for i in range(7)]
    assert [c.body for c in pr.get_issue_comments()] == [f"c{i}" for i in range(7)]
    team = client.get_organization("acme").get_team_by_slug("big")
    assert len(list(team.get_members())) == 7
    assert len(fake.calls("GET", "/repos/acme/r/pulls/1/reviews")) == 3
    client.close()


def test_files_fewer_than_changed_files(fake: FakeGitHub, gh: github.Github) -> None:
    fake.add_repo("acme/r")
    fake.add_pull("acme/r", 1, user="alice", base_ref="main", base_sha="a" * 40,
                  head_ref="x", head_sha="b" * 40, files=["a", "b", "c"], changed_files=5)
    pr = gh.get_repo("acme/r").get_pull(1)
    assert pr.changed_files == 5
    assert len(list(pr.get_files())) == 3  # the bot must notice and fail closed


def test_pull_files_are_capped_at_3000(fake: FakeGitHub) -> None:
    fake.add_repo("acme/r")
    fake.add_pull("acme/r", 1, user="alice", base_ref="main", base_sha="a" * 40,
                  head_ref="x", head_sha="b" * 40,
                  files=[FileChange(f"f{i}") for i in range(3001)])
    client = fake.client(per_page=100)
    pr = client.get_repo("acme/r").get_pull(1)
    assert pr.changed_files == 3001
    assert pr.get_files().totalCount == 3000
    client.close()


def test_link_header_claiming_more_pages(fake: FakeGitHub, gh: github.Github) -> None:
    fake.add_repo("acme/r")
    fake.add_pull("acme/r", 1, user="alice", base_ref="main", base_sha="a" * 40,
                  head_ref="x", head_sha="b" * 40, files=["a", "b"], changed_files=2)
    path = "/repos/acme/r/pulls/1/files"
    link = f'<{fake.base_url}{path}?page=2>; rel="next", <{fake.base_url}{path}?page=9>; rel="last"'
    fault = fake.inject("GET", path, headers={"Link": link})
    files = list(gh.get_repo("acme/r").get_pull(1).get_files())
    assert [f.filename for f in files] == ["a", "b"]  # page 2 is empty, as on GitHub
    page2 = fake.calls("GET", path)[-1]
    assert (page2.query, page2.json()) == ({"page": "2"}, [])
    assert fault.times == 0 and fake.faults == []


# ---- faults --------------------------------------------------------------------------------


@pytest.fixture
def one_pull(fake: FakeGitHub) -> str:
    fake.add_repo("acme/r")
    fake.add_pull("acme/r", 1, user="alice", base_ref="main", base_sha="a" * 40,
                  head_ref="x", head_sha="b" * 40, title="T")
    return "/repos/acme/r/pulls/1"


def test_502_then_success(fake: FakeGitHub, one_pull: str) -> None:
    fake.inject("GET", one_pull, status=502)
    no_retry = fake.client()
    repo = no_retry.get_repo("acme/r")
    with pytest.raises(github.GithubException) as excinfo:
        repo.get_pull(1)
    assert excinfo.value.status == 502
    assert repo.get_pull(1).title == "T"  # the fault was used up
    no_retry.close()

    fake.inject("GET", one_pull, status=502, times=2)
    retrying = fake.client(retry=GithubRetry(total=3, backoff_factor=0))
    assert retrying.get_repo("acme/r").get_pull(1).title == "T"
    assert [r.status for r in fake.calls("GET", one_pull)] == [502, 200, 502, 502, 200]
    retrying.close()


def test_timeout(fake: FakeGitHub, one_pull: str) -> None:
    """A client gives up on a delayed answer; a retrying client gets it on its second try. Both
    wait out their timeout (1 s: PyGithub takes whole seconds) at the same time: the first
    client's request has taken the first of the two delays before the second client asks."""
    client = fake.client(timeout=1)
    retrying = fake.client(timeout=1, retry=Retry(total=2, backoff_factor=0))
    repo, retrying_repo = client.get_repo("acme/r"), retrying.get_repo("acme/r")
    taken = threading.Event()
    # never answered in time: a delayed answer is dropped when the fake stops
    fake.inject_timeout("GET", one_pull, delay=60, times=2, action=taken.set)
    with ThreadPoolExecutor(1) as pool:
        given_up = pool.submit(repo.get_pull, 1)
        assert taken.wait(timeout=10)
        assert retrying_repo.get_pull(1).title == "T"
        with pytest.raises(requests.exceptions.Timeout):
            given_up.result(timeout=10)
    assert len(fake.calls("GET", one_pull)) == 3
    client.close()
    retrying.close()


def test_secondary_rate_limit(fake: FakeGitHub, one_pull: str,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    fake.inject_secondary_rate_limit("GET", one_pull, retry_after=1)
    raw = requests.get(fake.base_url + one_pull, timeout=5)
    assert raw.status_code == 403 and raw.headers["Retry-After"] == "1"
    assert raw.json()["message"] == SECONDARY_RATE_LIMIT_MESSAGE

    fake.inject_secondary_rate_limit("GET", one_pull, retry_after=1)
    client = fake.client()
    with pytest.raises(github.RateLimitExceededException):
        client.get_repo("acme/r").get_pull(1)
    client.close()

    fake.inject_secondary_rate_limit("GET", one_pull, retry_after=1)
    retrying = fake.client(retry=GithubRetry(total=2))
    slept: list[float] = []  # urllib3's waits before a retry, recorded instead of waited
    monkeypatch.setattr(urllib3.util.retry, "time", SimpleNamespace(sleep=slept.append))
    assert retrying.get_repo("acme/r").get_pull(1).title == "T"
    assert slept == [1]  # waited Retry-After
    retrying.close()


def test_malformed_json(fake: FakeGitHub, gh: github.Github, one_pull: str) -> None:
    fake.inject("GET", one_pull, body=b'{"number": 1, "title": "T", "us')
    raw = requests.get(fake.base_url + one_pull, timeout=5)
    assert raw.status_code == 200
    with pytest.raises(ValueError):
        raw.json()
    fake.inject("GET", one_pull, body=b'{"number": 1, "title": "T", "us')
    with pytest.raises((ValueError, github.GithubException)):
        gh.get_repo("acme/r").get_pull(1)


def test_then_process_writes_but_reports_failure(fake: FakeGitHub, one_pull: str) -> None:
    comments = "/repos/acme/r/issues/1/comments"
    fake.inject("POST", comments, then_process=True)
    client = fake.client()
    pr = client.get_repo("acme/r").get_pull(1)
    with pytest.raises(github.GithubException) as excinfo:
        pr.create_issue_comment("<!-- promotion-bot -->")
    assert excinfo.value.status == 500
    assert [c["body"] for c in fake.comments] == ["<!-- promotion-bot -->"]  # written anyway
    assert [c.body for c in pr.get_issue_comments()] == ["<!-- promotion-bot -->"]  # look first
    client.close()

    # A blind retry of a POST writes twice: PyGithub's GithubRetry does retry POSTs.
    fake.inject("POST", comments, status=502, then_process=True)
    retrying = fake.client(retry=GithubRetry(total=2, backoff_factor=0))
    retrying.get_repo("acme/r").get_pull(1).create_issue_comment("again")
    assert [c["body"] for c in fake.comments].count("again") == 2
    retrying.close()


def test_fault_matching(fake: FakeGitHub, one_pull: str) -> None:
    fake.inject("GET", one_pull + "/files", status=500, query={"page": "2"})
    fake.inject("*", r"/repos/acme/r/.*", status=418, times=2)
    assert requests.get(fake.base_url + one_pull + "/files", timeout=5).status_code == 418
    assert requests.get(fake.base_url + one_pull + "/files?page=2", timeout=5).status_code == 500
    assert requests.post(fake.base_url + one_pull, timeout=5).status_code == 418
    assert requests.get(fake.base_url + one_pull, timeout=5).status_code == 200
    assert fake.faults == []


def test_stop_does_not_wait_for_delayed_requests(fake: FakeGitHub, one_pull: str) -> None:
    delaying = threading.Event()
    fake.inject_timeout("GET", one_pull, delay=30, action=delaying.set)
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(fake.base_url + one_pull, timeout=0.05)  # never answered: any will do
    assert delaying.wait(timeout=10)  # the request reached its delay, whenever the client gave up
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 2


# ---- the request log -----------------------------------------------------------------------


def test_request_log(fake: FakeGitHub, gh: github.Github, one_pull: str) -> None:
    pr = gh.get_repo("acme/r").get_pull(1)
    pr.create_issue_comment("hi")
    fake.inject("GET", one_pull, status=503)
    requests.get(fake.base_url + one_pull, timeout=5)
    log = [(r.method, r.path, r.status, r.route) for r in fake.requests]
    assert log == [
        ("GET", "/repos/acme/r", 200, "/repos/{owner}/{repo}"),
        ("GET", one_pull, 200, "/repos/{owner}/{repo}/pulls/{pull_number}"),
        ("POST", "/repos/acme/r/issues/1/comments", 201,
         "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
        ("GET", one_pull, 503, None),
    ]
    post = fake.writes[0]
    assert isinstance(post, RecordedRequest)
    assert post.body == {"body": "hi"}
    assert post.headers["Authorization"] == "token t"
    assert post.json()["body"] == "hi"
    assert fake.requests[-1].fault and not post.fault
    assert fake.calls("GET", r"/repos/acme/r/pulls/\d+") == [fake.requests[1], fake.requests[3]]
    unknown = requests.get(fake.base_url + "/nope", timeout=5)
    assert unknown.status_code == 404 and fake.requests[-1].route is None


def test_bad_json_body_is_400(fake: FakeGitHub, one_pull: str) -> None:
    response = requests.post(fake.base_url + "/repos/acme/r/issues/1/comments", data=b"{",
                             timeout=5)
    assert response.status_code == 400
    assert response.json()["message"] == "Problems parsing JSON"


# ---- openapi_shapes itself -----------------------------------------------------------------


def test_shape_validation_catches_drift(fake: FakeGitHub, one_pull: str) -> None:
    body = requests.get(fake.base_url + one_pull, timeout=5).json()
    template = "/repos/{owner}/{repo}/pulls/{pull_number}"
    openapi_shapes.validate_response("GET", template, 200, body)
    for broken in ({**body, "state": "merged"}, {k: v for k, v in body.items() if k != "head"},
                   {**body, "user": {"login": "x"}}, {**body, "created_at": "yesterday"}):
        with pytest.raises(openapi_shapes.ShapeMismatchError):
            openapi_shapes.validate_response("GET", template, 200, broken)
    with pytest.raises(openapi_shapes.UndocumentedError):
        openapi_shapes.validate_response("GET", template, 418, body)
    openapi_shapes.validate_schema("pull-request", body)


def test_nullable_and_ref_conversion() -> None:
    convert = openapi_shapes.to_json_schema
    assert convert({"type": "string", "nullable": True, "example": "x"}) == {
        "type": ["string", "null"]}
    assert convert({"type": "string", "enum": ["a"], "nullable": True}) == {
        "type": ["string", "null"], "enum": ["a", None]}
    assert convert({"nullable": True, "oneOf": [{"$ref": "#/components/schemas/a"}],
                    "discriminator": {"propertyName": "t"}}) == {
        "anyOf": [{"oneOf": [{"$ref": openapi_shapes.SPEC_URI + "#/components/schemas/a"}]},
                  {"type": "null"}]}
    assert convert({"type": "object", "properties": {"example": {"type": "integer"},
                                                     "nullable": {"type": "boolean"}}}) == {
        "type": "object", "properties": {"example": {"type": "integer"},
                                         "nullable": {"type": "boolean"}}}


def test_missing_fixtures_fail_loudly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(openapi_shapes, "GITHUB_FIXTURES", tmp_path)
    openapi_shapes.load_spec.cache_clear()
    try:
        with pytest.raises(openapi_shapes.FixturesMissingError, match="restore it from git"):
            openapi_shapes.load_spec()
    finally:
        monkeypatch.undo()
        openapi_shapes.load_spec.cache_clear()
    assert openapi_shapes.load_spec()["openapi"].startswith("3.0")

