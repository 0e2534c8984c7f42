"""CODEOWNERS: GitHub's documented example, precedence, glob forms, and refused lines."""

from __future__ import annotations

import pytest

from promotion_bot.core.codeowners import parse_codeowners, pattern_to_regex, same_owner

# The example file of GitHub's "About code owners" page (current version, comments shortened).
GITHUB_EXAMPLE = """\
# This is a comment.
# Each line is a file pattern followed by one or more owners.

# These owners will be the default owners for everything in the repo.
*       @global-owner1 @global-owner2

# Order is important; the last matching pattern takes the most precedence.
*.js    @js-owner #This is an inline comment.

# You can also use email addresses if you prefer.
*.go docs@example.com

# Teams can be specified as code owners as well.
*.txt @octo-org/octocats

# @doctocat owns any files in the build/logs directory at the root.
/build/logs/ @doctocat

# The `docs/*` pattern matches docs/getting-started.md but not nested files.
docs/*  docs@example.com

# @octocat owns any file in an apps directory anywhere in your repository.
apps/ @octocat

# @doctocat owns any file in the `/docs` directory in the root.
/docs/ @doctocat

# Any change inside the `/scripts` directory needs @doctocat or @octocat.
/scripts/ @doctocat @octocat

# @octocat owns any file in a `/logs` directory such as `/build/logs`,
# `/scripts/logs`, and `/deeply/nested/logs`.
**/logs @octocat

# /apps/ belongs to @octocat except /apps/github, whose owners are left empty.
/apps/ @octocat
/apps/github

# /apps/ belongs to @octocat except /apps/github, which has its own owner.
/apps/ @octocat
/apps/github @doctocat
"""


@pytest.mark.parametrize(
    ("path", "owners", "line"),
    [
        ("README.md", ("@global-owner1", "@global-owner2"), 5),
        ("src/deep/main.js", ("@js-owner",), 8),
        ("main.go", ("docs@example.com",), 11),
        ("notes/a.txt", ("@octo-org/octocats",), 14),
        # **/logs (line 33) comes after /build/logs/ (line 17): last match wins
        ("build/logs/today.log", ("@octocat",), 33),
        ("deeply/nested/logs/x.log", ("@octocat",), 33),
        ("scripts/logs/run.log", ("@octocat",), 33),
        # /docs/ (line 26) comes after docs/* (line 20)
        ("docs/getting-started.md", ("@doctocat",), 26),
        ("docs/build-app/troubleshooting.md", ("@doctocat",), 26),
        ("scripts/deploy.sh", ("@doctocat", "@octocat"), 29),
        ("apps/web/index.html", ("@octocat",), 40),
        ("src/apps/x.py", ("@octocat",), 23),
        ("apps/github/readme.md", ("@doctocat",), 41),
    ],
)
def test_github_documented_example(path: str, owners: tuple[str, ...], line: int) -> None:
    codeowners = parse_codeowners(GITHUB_EXAMPLE)
    assert codeowners.problems == ()
    ownership = codeowners.owners_for(path)
    assert (ownership.owners, ownership.line) == (owners, line)


def test_a_rule_without_owners_leaves_the_path_unowned() -> None:
    codeowners = parse_codeowners("/apps/ @octocat\n/apps/github\n")
    ownership = codeowners.owners_for("apps/github/main.go")
    assert ownership.owners == ()
    assert (ownership.line, ownership.pattern) == (2, "/apps/github")
    assert codeowners.owners_for("apps/other.go").owners == ("@octocat",)


def test_no_matching_rule_means_no_owner() -> None:
    ownership = parse_codeowners("/docs/ @a\n").owners_for("src/main.py")
    assert ownership.rule is None
    assert ownership.owners == ()


def test_same_pattern_twice_keeps_only_the_last_owners() -> None:
    codeowners = parse_codeowners("/configs/ @org/reviewers\n/configs/ @org/admins\n")
    assert codeowners.owners_for("configs/a.yaml").owners == ("@org/admins",)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*", "a/b/c.txt", True),
        ("*.md", "README.md", True),
        ("*.md", "docs/deep/x.md", True),
        ("*.md", "docs/x.mdx", False),
        ("docs/*", "docs/a.md", True),
        ("docs/*", "docs/sub/a.md", False),
        ("docs/*", "x/docs/a.md", False),  # a middle slash anchors at the root
        ("apps/", "apps/a", True),
        ("apps/", "x/y/apps/a", True),
        ("apps/", "apps", False),  # a trailing slash means a directory's contents
        ("/apps", "apps", True),
        ("/apps", "apps/deep/a", True),
        ("/apps", "x/apps/a", False),
        ("build/logs", "build/logs/a", True),
        ("build/logs", "src/build/logs/a", False),
        ("**/logs", "logs/a", True),
        ("**/logs", "a/b/logs/c", True),
        ("**/logs", "a/b/catalogs/c", False),
        ("docs/**", "docs/a/b/c", True),
        ("docs/**", "docs", False),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "a/x/y/c", False),
        ("te?t.txt", "test.txt", True),
        ("te?t.txt", "te/t.txt", False),
        ("/configs/models/", "configs/models/classifier.yaml", True),
        ("/configs/models/", "configs/modelsx/a.yaml", False),
        (r"path\ with\ spaces/", "path with spaces/a.txt", True),
        (r"file\*.txt", "file*.txt", True),
        (r"file\*.txt", "fileX.txt", False),
        ("*.txt", "a.txt/inner", True),  # like gitignore: a directory named a.txt
        ("/CODEOWNERS", "CODEOWNERS", True),
        ("/CODEOWNERS", "docs/CODEOWNERS", False),
    ],
)
def test_pattern_forms(pattern: str, path: str, matches: bool) -> None:
    assert (pattern_to_regex(pattern).search(path) is not None) is matches


def test_escaped_space_in_a_rule_line() -> None:
    codeowners = parse_codeowners("path\\ with\\ spaces/ @space-owner\n")
    assert codeowners.problems == ()
    assert codeowners.owners_for("path with spaces/a").owners == ("@space-owner",)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("!docs/ @a", "negation"),
        ("docs/[ab].md @a", "character ranges"),
        ("\\#notes @a", "escaping '#'"),
        ("/docs/ not-an-owner", "not a @user, @org/team or e-mail"),
        ("/docs/ @org/team/extra", "not a @user, @org/team or e-mail"),
    ],
)
def test_lines_github_would_flag_are_refused_with_their_line(line: str, message: str) -> None:
    codeowners = parse_codeowners(f"# header\n* @org/admins\n{line}\n")
    assert len(codeowners.problems) == 1
    problem = codeowners.problems[0]
    assert problem.line == 3
    assert message in problem.message
    # the refused rule is not applied: the catch-all still owns the path
    assert codeowners.owners_for("docs/a.md").owners == ("@org/admins",)


def test_comments_and_blank_lines_are_not_rules() -> None:
    codeowners = parse_codeowners("\n   \n# * @nobody\n  # indented comment\n")
    assert codeowners.rules == ()
    assert codeowners.problems == ()


def test_owner_names_compare_case_insensitively() -> None:
    assert same_owner("@Example-Org/Promotion-Admins", "@example-org/promotion-admins")
    assert not same_owner("@example-org/admins", "@example-org/admins2")
