"""The GitHub adapter: the only module that imports PyGithub.

It reads what the pure core needs (the pull request, its files and reviews, team members,
files at a commit) and writes what the gate decides (a commit status, one sticky comment,
review requests). Rules it keeps:

- Minimal traffic: every object is fetched once per run (reads are cached), lists are read
  with 100 items a page, a team's members are listed once, one GraphQL query opens a pull
  request (its head and counts, the open pull requests, the base commit with its policy and
  CODEOWNERS, the bot's comment: `adapters/github_graphql.py`), and what proves the lists
  whole (GitHub's counts, the head read again) is asked in one more per evaluation
  (`PullReader.verify_pending`). `requests_made` counts calls.
- Reliability: every request has a timeout; idempotent requests (GET, PATCH, PUT, DELETE) are
  retried a bounded number of times with backoff on 5xx and secondary rate limits (Retry-After
  honoured, waiting capped). POST is never retried blindly: a write that may have happened is
  looked up before it is tried again, so a retried POST cannot make a second comment or status.
- Fail closed: a truncated file or commit list, a team the token cannot read, an unknown
  answer, a GraphQL answer with errors: errors.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import logging
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

import github
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, Github, GithubException, GithubIntegration, GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait

from promotion_bot.adapters.github_graphql import (
    LAST_MOVE_FIELD,
    OPENING_QUERY,
    REGULAR_FILE_MODES,
    SHA,
    MalformedAnswer,
    Opening,
    OpenPull,
    OwnComment,
    added_file_from_patch,
    head_named,
    last_move,
    opening_variables,
    read_opening,
)
from promotion_bot.adapters.github_settings import GitHubSettings
from promotion_bot.core.approvals import COMMENT_MARKER
from promotion_bot.core.doctor import Reading
from promotion_bot.core.errors import ConfigError, PromotionBotError
from promotion_bot.core.git_facts import Change
from promotion_bot.core.merge_facts import MAX_EVIDENCE_BYTES

DEFAULT_API_URL = "https://api.github.com"
STATUS_CONTEXT = "promotion/approvals"
MAX_PULL_FILES = 3000
MAX_PULL_COMMITS = 250  # GET .../pulls/{n}/commits lists at most 250 commits
MAX_STATUS_DESCRIPTION = 140
WRITE_ATTEMPTS = 3
# the least pause before a retry, whatever the pace: a local GitHub (pace 0) is retried almost
# at once; the tests of failing GitHubs set it to 0 to wait not at all
RETRY_PAUSE_FLOOR = 0.01
EVALUATING = "promotion-bot is evaluating this commit"
_SHA = SHA
# the counts that prove the REST lists complete, and the heads re-read after the lists, are
# asked in ONE GraphQL query per evaluation (aliases; see PullReader.verify_pending)
# the open pull requests' count, and (up to 100 of them: one page) their heads and bases, which
# show whether the pull requests with the head judged are still the ones judged
MAX_CONFIRMED_OPEN_PULLS = 100
_OPEN_PULLS_FIELD = ("open: repository(owner: $owner, name: $name) "
                     f"{{ pullRequests(states: OPEN, first: {MAX_CONFIRMED_OPEN_PULLS}) "
                     "{ totalCount nodes { number headRefOid baseRefName } } }")
_PULL_FIELD = ("pull{i}: repository(owner: $owner, name: $name) {{ pullRequest(number: "
               "$number{i}) {{ headRefOid baseRefName reviews {{ totalCount }} "
               + LAST_MOVE_FIELD.replace("{", "{{").replace("}", "}}") + " }} }}")
_TEAM_FIELD = ("team{i}: organization(login: $org{i}) "
               "{{ team(slug: $slug{i}) {{ members(membership: ALL) {{ totalCount }} }} }}")
# a file rebuilt from the pull request's file list: its entry at the commit it was read at (a
# patch gives no mode: a symlink's blob is the path it points to, which can be any text)
_FILE_ENTRY_FIELD = ("file{i}: repository(owner: $owner, name: $name) {{ object(expression: "
                     "$rev{i}) {{ ... on Commit {{ file(path: $path{i}) {{ mode oid }} }} }} }}")
_VIEWER_QUERY = "query { viewer { login } }"
_MERGED_AS_QUERY = (
    "query($owner: String!, $name: String!, $oid: GitObjectID!) "
    "{ repository(owner: $owner, name: $name) { object(oid: $oid) { ... on Commit "
    "{ associatedPullRequests(first: 100) { totalCount nodes { number merged mergeCommit "
    "{ oid } } } } } } }"
)

T = TypeVar("T")


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to sys.stderr as it is now, not as it was when PyGithub was imported (PyGithub
    installs a handler bound to the stderr of that moment, which may be closed later)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


_github_logger = logging.getLogger("github")
for _handler in list(_github_logger.handlers):
    if type(_handler) is logging.StreamHandler:
        _github_logger.removeHandler(_handler)
        _github_logger.addHandler(_CurrentStderr())


class GitHubError(PromotionBotError):
    """GitHub could not be read or written; the gate fails closed (exit 2)."""


class GraphQLErrors(GitHubError):
    """A GraphQL answer with errors: nothing of it is used, but what data came with them
    may still name a head whose status must be taken back."""

    def __init__(self, message: str, data: dict[str, Any]) -> None:
        super().__init__(message)
        self.data = data


@dataclass(frozen=True)
class Connection:
    """How to reach GitHub. Exactly one of `token` or (`app_id`, `app_private_key`)."""

    api_url: str = DEFAULT_API_URL
    token: str | None = None
    app_id: str | None = None
    app_private_key: str | None = None
    timeout: int = 15
    retries: int = 3
    max_wait: float = 60.0  # the most one rate-limit wait may take
    pace: float = 0.25  # seconds between requests (writes: 4x), GitHub's courtesy pacing

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], **overrides: Any) -> Connection:
        values: dict[str, Any] = {
            "api_url": environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
            "token": environ.get("PROMOTION_BOT_TOKEN") or environ.get("GITHUB_TOKEN") or None,
            "app_id": environ.get("PROMOTION_BOT_APP_ID") or None,
            "app_private_key": environ.get("PROMOTION_BOT_APP_PRIVATE_KEY") or None,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)


def client_for(repository: str, settings: GitHubSettings,
               environ: Mapping[str, str]) -> GitHubClient:
    """A client for OWNER/NAME, with credentials from the environment (never an option)."""
    if "/" not in repository:
        raise ConfigError(f"repository {repository!r}: write OWNER/NAME")
    connection = Connection.from_environment(environ, api_url=settings.api_url,
                                             timeout=settings.timeout, retries=settings.retries,
                                             pace=settings.pace)
    return GitHubClient(connection, repository)


class CountingRetry(GithubRetry):
    """GitHub's retry rules (5xx, secondary rate limits with Retry-After), counted, with the
    waiting capped: a Retry-After beyond `max_rate_limit_wait`, or more waiting in all than
    `total_wait`, fails at once instead of stalling the job."""

    counter: list[int] = []  # noqa: RUF012 - shared per client, set in GitHubClient._retry
    waited: list[float] = []  # noqa: RUF012 - likewise
    total_wait: float = 120.0

    def new(self, **kwargs: Any) -> CountingRetry:
        retry = super().new(**kwargs)
        assert isinstance(retry, CountingRetry)
        retry.counter, retry.waited, retry.total_wait = self.counter, self.waited, self.total_wait
        return retry

    def sleep_for_retry(self, response: Any) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after is None:
            return False
        cap = self.max_rate_limit_wait or 0.0
        if retry_after > cap or self.waited[0] + retry_after > self.total_wait:
            raise RateLimitExceededExceedsMaxWait(
                response.status,
                {"message": f"GitHub asks to wait {retry_after:.0f}s (Retry-After), more than "
                            f"the {cap:.0f}s promotion-bot waits"},
                dict(response.headers), wait=retry_after)
        self.waited[0] += retry_after
        time.sleep(retry_after)
        return True

    def increment(self, *args: Any, **kwargs: Any) -> Any:
        self.counter[0] += 1
        return super().increment(*args, **kwargs)


class GitHubClient:
    """A connection to one GitHub instance, with counted requests."""

    def __init__(self, connection: Connection, repository: str) -> None:
        self.connection = connection
        self.repository_name = repository
        self._retries = [0]
        self._requests = 0
        self._viewer: str | None = None
        self.gh = self._connect(connection, repository)
        self._count_requests(self.gh)
        self.repo = self.gh.get_repo(repository)

    @property
    def requests_made(self) -> int:
        return self._requests

    @property
    def retries_made(self) -> int:
        return self._retries[0]

    def _retry(self) -> CountingRetry:
        retry = CountingRetry(
            total=self.connection.retries,
            backoff_factor=0.5,
            backoff_max=10,
            secondary_rate_wait=min(60.0, self.connection.max_wait),
            max_rate_limit_wait=self.connection.max_wait,
            allowed_methods={"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"},
        )
        retry.counter, retry.waited = self._retries, [0.0]
        retry.total_wait = 2 * self.connection.max_wait
        return retry

    def _connect(self, connection: Connection, repository: str) -> Github:
        common: dict[str, Any] = {
            "base_url": connection.api_url.rstrip("/"),
            "timeout": connection.timeout,
            "retry": self._retry(),
            "per_page": 100,
            "seconds_between_requests": connection.pace,
            "seconds_between_writes": connection.pace * 4,
        }
        if connection.app_id and connection.app_private_key:
            key = _app_key(connection.app_private_key)
            auth = Auth.AppAuth(connection.app_id, sign_func=_jwt_signer(key))
            owner, name = repository.split("/", 1)
            try:
                integration = GithubIntegration(auth=auth, **common)
                installation = integration.get_repo_installation(owner, name)
                installation_auth = auth.get_installation_auth(installation.id)
            except GithubException as error:
                raise GitHubError(_explain(error, "get an installation token for the GitHub App")) \
                    from None
            except (requests.RequestException, OSError) as error:
                raise GitHubError(f"could not reach GitHub at {connection.api_url} for an App "
                                  f"installation token: {type(error).__name__}") from None
            return Github(auth=installation_auth, lazy=True, **common)
        if connection.token:
            # lazy: objects are fetched when read, so writing to a sub-resource costs no GET
            return Github(auth=Auth.Token(connection.token), lazy=True, **common)
        raise ConfigError("no GitHub credentials: set GITHUB_TOKEN (or PROMOTION_BOT_TOKEN), or "
                          "PROMOTION_BOT_APP_ID and PROMOTION_BOT_APP_PRIVATE_KEY for a GitHub App")

    def _count_requests(self, gh: Github) -> None:
        requester = gh.requester
        for name in ("requestJsonAndCheck", "requestBlobAndCheck", "requestMultipartAndCheck"):
            original = getattr(requester, name)

            def counted(*args: Any, _original: Callable[..., Any] = original,
                        **kwargs: Any) -> Any:
                self._requests += 1
                return _original(*args, **kwargs)

            setattr(requester, name, counted)

    def call(self, action: str, function: Callable[[], T]) -> T:
        """Run one read; every failure becomes a GitHubError that says what failed."""
        try:
            return function()
        except GithubException as error:
            raise GitHubError(_explain(error, action)) from None
        except (requests.RequestException, OSError) as error:
            raise GitHubError(f"could not {action}: {type(error).__name__}: {error}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise GitHubError(f"could not {action}: GitHub's answer was malformed ({error})") \
                from None

    def graphql(self, action: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One GraphQL query (a read sent as POST, so retried here on 5xx and transport
        errors, as reads are); the `data` object, or a GitHubError that says what failed."""
        attempts = self.connection.retries + 1
        for attempt in range(attempts):
            if attempt:
                self._retries[0] += 1
                pause = max(self.connection.pace, RETRY_PAUSE_FLOOR) * 2.0**attempt
                time.sleep(min(pause, 10.0))
            try:
                _, answer = self.gh.requester.graphql_query(query, variables)
            except GithubException as error:
                if isinstance(error.data, dict) and error.data.get("errors"):
                    # PyGithub raises on any `errors`, with the answer (and its data) attached
                    answer = error.data
                elif error.status is not None and error.status >= 500 \
                        and attempt + 1 < attempts:
                    continue
                else:
                    raise GitHubError(_explain(error, action)) from None
            except (requests.RequestException, OSError) as error:
                if attempt + 1 < attempts:
                    continue
                raise GitHubError(f"could not {action}: {type(error).__name__}: {error}") \
                    from None
            except ValueError as error:
                raise GitHubError(f"could not {action}: GitHub's answer was malformed "
                                  f"({error})") from None
            data = answer.get("data") if isinstance(answer, dict) else None
            errors = answer.get("errors") if isinstance(answer, dict) else None
            if errors:  # even beside data: a field GitHub could not resolve reads as null
                raise GraphQLErrors(f"could not {action}: GitHub's GraphQL answer has errors "
                                    f"({_first_message(errors)})",
                                    data if isinstance(data, dict) else {})
            if not isinstance(data, dict):
                raise GitHubError(f"could not {action}: GitHub's GraphQL answer has no data")
            return data
        raise AssertionError("unreachable")  # pragma: no cover

    def viewer_login(self) -> str:
        """The account this client acts as (a user, or an App's `slug[bot]`): GraphQL's
        `viewer`, which answers installation tokens too (REST `GET /user` refuses them)."""
        if self._viewer is None:
            data = self.graphql("find out which account the bot acts as", _VIEWER_QUERY, {})
            self._viewer = _viewer_login(data)
        return self._viewer


def _app_key(pem: str) -> rsa.RSAPrivateKey:
    """A GitHub App key is an RSA private key in PEM; say so before PyGithub trips over it."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ConfigError("PROMOTION_BOT_APP_PRIVATE_KEY is not a readable private key: paste "
                          "the whole .pem file the GitHub App settings page generated") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError("PROMOTION_BOT_APP_PRIVATE_KEY is not an RSA key; GitHub App keys are")
    return key


def _jwt_signer(key: rsa.RSAPrivateKey) -> Callable[[dict[str, Any]], str]:
    """Signs the App's JSON web tokens with the key read once: given the PEM text, PyJWT reads
    and checks the key again for every token (30 ms each, several per run)."""
    import jwt  # PyGithub's own token library

    def sign(payload: dict[str, Any]) -> str:
        return jwt.encode(payload, key=key, algorithm="RS256")

    return sign


def _first_message(errors: Any) -> str:
    first = errors[0] if isinstance(errors, list) and errors else errors
    message = first.get("message") if isinstance(first, Mapping) else None
    return str(message or first)[:200]


def _explain(error: GithubException, action: str) -> str:
    message = ""
    if isinstance(error.data, dict):
        message = str(error.data.get("message") or "")
    text = f"could not {action}: GitHub answered {error.status}"
    if message:
        text += f" ({message})"
    if error.status in (401, 403):
        text += "; check that the token or GitHub App has the permissions docs/github.md lists"
    return text


# --------------------------------------------------------------------------- reading


@dataclass
class PullFacts:
    """What the API says about one pull request, in GitHub's REST shapes."""

    pull: dict[str, Any]
    files: list[dict[str, Any]]
    reviews: list[dict[str, Any]]
    base_tip: str  # the current commit of the base branch: the policy is read there
    commits: list[dict[str, Any]] = field(default_factory=list)  # oldest first, all of them

    @property
    def number(self) -> int:
        return int(self.pull["number"])

    @property
    def head_sha(self) -> str:
        return str(self.pull["head"]["sha"])


@dataclass(frozen=True)
class EvidenceLookup:
    """The evidence of a head's checks: the document and where it came from, or none; and
    every artifact of that name that was not accepted, with the reason."""

    document: bytes | None
    url: str | None
    rejected: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Expected:
    """What the next confirming query must find of one pull request."""

    head: str
    base_ref: str
    reviews: int | None  # how many were listed (None: a sibling whose reviews were not read)
    last_move: str | None  # its newest force-push or retarget when opened (None: not known)


class PullReader:
    """Reads one repository's pull requests, teams and files; caches every answer.

    What GitHub answers is checked before it is used: a pull request without a head, a file
    without a name, a list shorter (or longer) than GitHub's own count of it, content that is
    not base64 are GitHubErrors that say so, never a crash and never a guess.
    """

    def __init__(self, client: GitHubClient) -> None:
        self.client = client
        self._blobs: dict[tuple[str, str], bytes | None] = {}
        self._teams: dict[str, list[dict[str, Any]]] = {}
        self._pull_files: dict[tuple[str, str], list[Change]] = {}
        self._openings: dict[int, Opening] = {}
        self._unreadable: dict[int, tuple[str, str]] = {}  # number: (head, what is wrong)
        self._open_pulls: list[OpenPull] | None = None
        self._default_branch: str | None = None
        # an added file's patch and blob id, by (head, path): `read` rebuilds it from there
        self._added: dict[tuple[str, str], tuple[Any, str]] = {}
        # what the next verification query must confirm (see verify_pending)
        self._unverified_pulls: dict[int, _Expected] = {}
        self._unverified_teams: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._unverified_open_pulls: int | None = None
        # head, {number: base} of the open pull requests with it, how many open were listed
        self._unverified_siblings: tuple[str, dict[int, str], int] | None = None
        self._unverified_files: dict[tuple[str, str], str] = {}  # (commit, path): blob id

    def pull_head(self, number: int) -> str:
        """The head SHA of pull request `number` (read once; the status goes there). An
        opening answer that names the head but is wrong elsewhere still gives it: the gate
        invalidates the head first, then `pull` reports what is wrong."""
        if number in self._unreadable:
            return self._unreadable[number][0]
        try:
            return str(self._opening(number).pull["head"]["sha"])
        except GitHubError:
            if number in self._unreadable:
                return self._unreadable[number][0]
            raise

    def own_comments(self, number: int) -> tuple[OwnComment, ...] | None:
        """The bot's own marker comments on pull request `number`, as its opening query found
        them; None when not known (more comments than one page): the writer lists them."""
        opening = self._openings.get(number)
        return opening.own_comments if opening is not None else None

    def _opening(self, number: int) -> Opening:
        """ONE GraphQL query opens a pull request (adapters/github_graphql.py): the pull
        request, the open pull requests, the base branch's commit with the policy and
        CODEOWNERS at it, and the comments. What it reads is checked before it is kept; an
        answer found wrong is not asked again in the run."""
        if number in self._unreadable:
            raise GitHubError(self._unreadable[number][1])
        if number not in self._openings:
            try:
                data = self.client.graphql(
                    f"read pull request #{number}", OPENING_QUERY,
                    opening_variables(self.client.repository_name, number))
                opening = read_opening(data, number)
            except GraphQLErrors as error:
                head = head_named(error.data, number)
                if head is not None:
                    self._unreadable[number] = (head, error.message)
                raise
            except MalformedAnswer as error:
                message = (f"GitHub's answer for pull request #{number} is malformed: {error}; "
                           "it cannot be evaluated")
                if error.head is not None:
                    self._unreadable[number] = (error.head, message)
                raise GitHubError(message) from None
            problem = _pull_problem(opening.pull, number)
            if problem:
                raise GitHubError(f"GitHub's answer for pull request #{number} is malformed: "
                                  f"{problem}; it cannot be evaluated")
            self._openings[number] = opening
            for path, data_at_base in opening.base_files.items():
                self._blobs.setdefault((opening.base_tip, path), data_at_base)
            if self._default_branch is None:
                self._default_branch = opening.default_branch
            if self._open_pulls is None and opening.open_pulls is not None:
                self._open_pulls = list(opening.open_pulls)
        return self._openings[number]

    def _remember_default_branch(self, raw: Mapping[str, Any]) -> None:
        """A pull request object carries its base repository, default branch included: the
        same answer as GET /repos/{o}/{r}, without the request."""
        repo = (raw.get("base") or {}).get("repo")
        branch = repo.get("default_branch") if isinstance(repo, Mapping) else None
        name = repo.get("full_name") if isinstance(repo, Mapping) else None
        if (self._default_branch is None and isinstance(branch, str) and branch
                and isinstance(name, str)
                and name.casefold() == self.client.repository_name.casefold()):
            self._default_branch = branch

    def pull(self, number: int, *, verify: bool = True) -> PullFacts:
        """The pull request (its opening query), all its files, commits and reviews, and its
        base branch's tip. The review count and the head read again after the lists are
        confirmed at once, or, with `verify=False`, by the next `verify_pending` (one query
        for a whole evaluation): nothing read here may be trusted before that."""
        opening = self._opening(number)
        return self._listed(number, self.client.repo.get_pull(number),  # lazy: no request
                            opening.pull, opening.base_tip, verify=verify,
                            last_move=opening.last_move)

    def merged_pull(self, number: int, *, base: str) -> PullFacts:
        """A merged pull request (what `record` reads), judged at `base`, the merge's first
        parent: GET pulls/{n} (its merge commit and who merged it), then the lists, as
        `pull` reads them; confirmed by the next `verify_pending`."""
        repo = self.client.repo
        pull = self.client.call(f"read pull request #{number}", lambda: repo.get_pull(number))
        raw = self.client.call(f"read pull request #{number}", lambda: dict(pull.raw_data))
        problem = _pull_problem(raw, number)
        if problem:
            raise GitHubError(f"GitHub's answer for pull request #{number} is malformed: "
                              f"{problem}; it cannot be evaluated")
        self._remember_default_branch(raw)
        return self._listed(number, pull, raw, base, verify=False, last_move=None)

    def _listed(self, number: int, pull: Any, raw: dict[str, Any], base_tip: str, *,
                verify: bool, last_move: str | None) -> PullFacts:
        """The lists of an open pull request (`last_move` known: its head may move while they
        are read) or of a merged one (None)."""
        head = str(raw["head"]["sha"])
        files = self.client.call(
            f"list the files of #{number}",
            lambda: [dict(f.raw_data) for f in pull.get_files()])
        _check_files(files, f"the files of pull request #{number}")
        elsewhere = sorted({at for item in files if item["status"] != "removed"
                            and (at := _listed_at(item)) not in (None, head)})
        if last_move is not None and elsewhere:
            self._check_head_unmoved(number, head)
            raise GitHubError(f"GitHub listed the files of pull request #{number} at "
                              f"{', '.join(at[:12] for at in elsewhere)}, not at its head "
                              f"{head[:12]}: it moved during the evaluation; the push starts "
                              "its own evaluation")
        expected = raw["changed_files"]
        if len(files) != expected:
            self._check_head_unmoved(number, str(raw["head"]["sha"]))
            limit = " (GitHub lists at most 3000 files)" if expected > MAX_PULL_FILES else ""
            raise GitHubError(f"pull request #{number} changes {expected} files but GitHub listed "
                              f"{len(files)}{limit}; it cannot be evaluated"
                              + (": split it" if limit else ": run the gate again"))
        commits = self.client.call(f"list the commits of #{number}",
                                   lambda: self._commits(f"{pull.url}/commits"))
        expected_commits = raw["commits"]
        shas = [commit["sha"] for commit in commits]
        if len(commits) != expected_commits or len(set(shas)) != len(shas):
            self._check_head_unmoved(number, str(raw["head"]["sha"]))
            too_many = expected_commits > MAX_PULL_COMMITS
            limit = f" (GitHub lists at most {MAX_PULL_COMMITS})" if too_many else ""
            raise GitHubError(f"pull request #{number} has {expected_commits} commit(s) but "
                              f"GitHub listed {len(commits)}"
                              + (f" ({len(set(shas))} distinct)" if len(set(shas)) != len(shas)
                                 else "")
                              + f"{limit}; who contributed them cannot be checked, so it cannot "
                              "be evaluated" + (": split it" if too_many else ""))
        # an open pull request's list of a head it left and came back from (a merged one's
        # head no longer moves)
        if last_move is not None and commits and head not in shas:
            self._check_head_unmoved(number, head)
            raise GitHubError(f"GitHub listed the commits of pull request #{number} without its "
                              f"head {head[:12]}: they are another head's (it moved during the "
                              "evaluation); the push starts its own evaluation")
        reviews = self.client.call(
            f"list the reviews of #{number}",
            lambda: [_review_data(review) for review in pull.get_reviews()])
        _check_reviews_distinct(number, reviews)
        facts = PullFacts(raw, files, reviews, base_tip, commits)
        self._unverified_pulls[number] = _Expected(facts.head_sha, str(raw["base"]["ref"]),
                                                   len(reviews), last_move)
        if verify:
            self.verify_pending()
        self._pull_files[(base_tip, facts.head_sha)] = _changes_from_files(files)
        for item in files:
            if item["status"] == "added":
                self._added[(facts.head_sha, item["filename"])] = (item.get("patch"),
                                                                   str(item.get("sha")))
        return facts

    def forget_pull(self, number: int) -> None:
        """Pull request `number` was seen to move or change base: its cached read and the
        open pull request list (which names its old head and base) are read anew when next
        asked for."""
        self._openings.pop(number, None)
        self._open_pulls = None

    def expect_pull(self, number: int, head: str, base_ref: str) -> None:
        """Have the next `verify_pending` confirm that pull request `number` still has this
        head and base: a sibling the gate does not judge because of its base must not be
        retargeted into a governed branch unnoticed."""
        self._unverified_pulls.setdefault(number, _Expected(head, base_ref, None, None))

    def expect_siblings(self, head: str, siblings: Mapping[int, str], listed: int) -> None:
        """Have the next `verify_pending` confirm that the open pull requests with `head` are
        still exactly `siblings` (number: base branch), found in a list of `listed` open pull
        requests: one opened with the head while another closed keeps the count of open pull
        requests, but not this. Beyond one page, GitHub's count must still be `listed`."""
        self._unverified_siblings = (head, dict(siblings), listed)

    def verify_pending(self) -> None:
        """Everything the REST lists cannot prove themselves, in ONE GraphQL query: each pull
        request's head and base read again after its lists (a push in between would pair one
        head with another's files; a retarget, one base's judgement with another) and its
        review count (the REST review list has no total: a lost page
        would drop a request for changes), each owner team's member count (a member missing
        from the list could not block), the open pull requests' count (a sibling missing from
        the list would not be judged), and the entry of each file `read` rebuilt from the
        file list (a regular file with that blob id: then it is the file at that commit, as a
        contents read there would be).
        Any difference is a GitHubError, never a guess."""
        # taken now: whether they pass or fail, they are not asked again for the next pull
        # request (the schedule judges many heads in one run)
        pulls, teams = self._unverified_pulls, self._unverified_teams
        open_count, siblings = self._unverified_open_pulls, self._unverified_siblings
        files = self._unverified_files
        self._unverified_pulls, self._unverified_teams = {}, {}
        self._unverified_open_pulls, self._unverified_siblings = None, None
        self._unverified_files = {}
        if not pulls and not teams and open_count is None and siblings is None and not files:
            return
        owner, name = self.client.repository_name.split("/", 1)
        declarations: list[str] = []
        fields: list[str] = []
        variables: dict[str, Any] = {}
        if pulls or open_count is not None or siblings is not None or files:
            declarations += ["$owner: String!", "$name: String!"]
            variables |= {"owner": owner, "name": name}
        if open_count is not None or siblings is not None:
            fields.append(_OPEN_PULLS_FIELD)
        for index, number in enumerate(pulls):
            declarations.append(f"$number{index}: Int!")
            variables[f"number{index}"] = number
            fields.append(_PULL_FIELD.format(i=index))
        for index, (org, slug) in enumerate(teams):
            declarations += [f"$org{index}: String!", f"$slug{index}: String!"]
            variables |= {f"org{index}": org, f"slug{index}": slug}
            fields.append(_TEAM_FIELD.format(i=index))
        for index, (rev, path) in enumerate(files):
            declarations += [f"$rev{index}: String!", f"$path{index}: String!"]
            variables |= {f"rev{index}": rev, f"path{index}": path}
            fields.append(_FILE_ENTRY_FIELD.format(i=index))
        query = f"query({', '.join(declarations)}) {{ {' '.join(fields)} }}"
        what = ", ".join([*(f"#{n}" for n in pulls), *(f"@{o}/{t}" for o, t in teams)]
                         + (["the open pull requests"] if open_count is not None else []))
        try:
            self._confirm(query, variables, what, pulls, teams, open_count, siblings, files)
        except BaseException:
            # an unconfirmed list is never used again: the next pull request lists it anew.
            # The open pull requests too, even when confirmed earlier: a pull request that
            # moved (or was retargeted) is listed under its old head, so a later head it now
            # has would be judged without it. So is a file rebuilt from a list.
            for org, slug in teams:
                self._teams.pop(f"{org}/{slug}".lower(), None)
            for number in pulls:
                self.forget_pull(number)
            for key in files:
                self._blobs.pop(key, None)
            self._open_pulls = None
            raise

    def _confirm(self, query: str, variables: dict[str, Any], what: str,
                 pulls: dict[int, _Expected],
                 teams: dict[tuple[str, str], list[dict[str, Any]]], open_count: int | None,
                 siblings: tuple[str, dict[int, str], int] | None,
                 files: dict[tuple[str, str], str]) -> None:
        data = self.client.graphql(f"confirm the lists of {what or 'the pull request'}", query,
                                   variables)
        for index, (number, expected) in enumerate(pulls.items()):
            head, base_ref, listed = expected.head, expected.base_ref, expected.reviews
            found = _mapping(_mapping(data.get(f"pull{index}")).get("pullRequest"))
            now = found.get("headRefOid")
            if not isinstance(now, str) or not _SHA.fullmatch(now):
                raise GitHubError(f"could not read pull request #{number} again: GitHub's "
                                  "GraphQL answer names no head")
            if now != head:
                raise GitHubError(f"pull request #{number} moved during the evaluation "
                                  f"({head[:12]} -> {now[:12]}); the push starts its own "
                                  "evaluation")
            base_now = found.get("baseRefName")
            if base_now != base_ref:
                raise GitHubError(f"pull request #{number} was retargeted during the evaluation "
                                  f"({base_ref} -> {base_now}); the edit starts its own "
                                  "evaluation")
            if expected.last_move is not None:
                _check_unmoved(number, expected.last_move, found)
            if listed is None:
                continue
            total = _mapping(found.get("reviews")).get("totalCount")
            if not isinstance(total, int) or isinstance(total, bool):
                raise GitHubError(f"could not count the reviews of #{number}: GitHub's GraphQL "
                                  "answer has no reviews.totalCount")
            if total != listed:
                raise GitHubError(f"GitHub counts {total} review(s) of #{number} but listed "
                                  f"{listed}; the review list is incomplete, so a request "
                                  "for changes could be missing: run the gate again")
        for index, ((org, slug), members) in enumerate(teams.items()):
            team = _mapping(data.get(f"team{index}")).get("team")
            _check_team_count(org, slug, members,
                              _mapping(_mapping(team).get("members")).get("totalCount"))
        open_pulls = _mapping(_mapping(data.get("open")).get("pullRequests"))
        if open_count is not None:
            total = open_pulls.get("totalCount")
            if total != open_count:
                raise GitHubError(f"GitHub counts {total} open pull request(s) but listed "
                                  f"{open_count}; the list is incomplete: run the gate again")
        if siblings is not None:
            _check_siblings(*siblings, open_pulls)
        for index, ((rev, path), listed_id) in enumerate(files.items()):
            entry = _mapping(_mapping(_mapping(data.get(f"file{index}")).get("object")).get(
                "file"))
            now, mode = entry.get("oid"), entry.get("mode")
            if now != listed_id or mode not in REGULAR_FILE_MODES:
                raise GitHubError(f"{path} at {rev[:12]} is not the file GitHub listed in the "
                                  f"pull request (blob {listed_id[:12]}; at the head: "
                                  f"{str(now)[:12]}, mode {mode if mode is None else oct(mode)}"
                                  "); it cannot be evaluated")

    def _commits(self, url: str) -> list[dict[str, Any]]:
        """All pages of a pull request's commits (at most 250: three pages), as plain data.
        Read through the requester: PyGithub's Commit objects would each fetch themselves
        again when their raw data is read."""
        requester = self.client.gh.requester
        commits: list[dict[str, Any]] = []
        for page in range(1, MAX_PULL_COMMITS // 100 + 2):
            _, items = requester.requestJsonAndCheck(
                "GET", url, parameters={"per_page": 100, "page": page})
            if not isinstance(items, list):
                raise ValueError("the commit list is not a list")
            commits.extend(_commit_data(item) for item in items)
            if len(items) < 100:
                break
        return commits

    def _check_head_unmoved(self, number: int, head: str) -> None:
        """The files, reviews and commits were listed after the head was read: a push in
        between would pair one head with another head's files. Read the head again."""
        repo = self.client.repo
        now = self.client.call(f"read pull request #{number} again",
                               lambda: str(repo.get_pull(number).raw_data["head"]["sha"]))
        if now != head:
            self.forget_pull(number)
            raise GitHubError(f"pull request #{number} moved during the evaluation ({head[:12]} "
                              f"-> {now[:12]}); the push starts its own evaluation")

    def default_branch(self) -> str:
        """The repository's default branch: from a pull request already read (its base
        repository), else GET /repos/{o}/{r}."""
        if self._default_branch is None:
            repo = self.client.repo
            branch = self.client.call("read the repository", lambda: repo.raw_data.get(
                "default_branch"))
            if not isinstance(branch, str) or not branch:
                raise GitHubError("GitHub's answer for the repository names no default branch")
            self._default_branch = branch
        return self._default_branch

    def open_pulls(self, *, verify: bool = True) -> list[OpenPull]:
        """Every open pull request of the repository (all pages), read once per run, through
        the requester (PyGithub's objects would each fetch their pull request again when
        their raw data is read). Its count is confirmed at once, or by the next
        `verify_pending` with `verify=False`."""
        if self._open_pulls is None:
            requester = self.client.gh.requester
            url = f"{self.client.repo.url}/pulls"

            def listing() -> list[OpenPull]:
                found = []
                for page in itertools.count(1):
                    _, items = requester.requestJsonAndCheck("GET", url, parameters={
                        "state": "open", "sort": "created", "direction": "asc",
                        "per_page": 100, "page": page})
                    if not isinstance(items, list):
                        raise ValueError("the pull request list is not a list")
                    for raw in items:
                        problem = _pull_problem(raw, None, full=False)
                        if problem:
                            raise GitHubError(f"GitHub's list of open pull requests is "
                                              f"malformed: {problem}")
                        self._remember_default_branch(raw)
                        found.append(OpenPull(raw["number"], raw["head"]["sha"],
                                              raw["base"]["ref"]))
                    if len(items) < 100:
                        return found
                raise AssertionError("unreachable")  # pragma: no cover

            pulls = self.client.call("list the open pull requests", listing)
            numbers = [pull.number for pull in pulls]
            if len(set(numbers)) != len(numbers):
                raise GitHubError("GitHub listed an open pull request twice (the list shifted "
                                  "between pages); run the gate again")
            # a pull request missing from the list would be a sibling nobody judged
            self._unverified_open_pulls = len(pulls)
            self._open_pulls = pulls
        if verify:
            self.verify_pending()
        return self._open_pulls

    def pulls_with_head(self, sha: str) -> list[int]:
        """Open pull requests whose head is `sha` (a workflow_run from a fork names none)."""
        return sorted(pull.number for pull in self.open_pulls() if pull.head_sha == sha)

    def merged_pulls_of_commit(self, sha: str) -> list[int]:
        """The pull requests merged as commit `sha` (what a push to main records).

        An empty answer is a claim that becomes permanent (a direct push is recorded as a
        violation, and tags are immutable), so it is believed only when GraphQL, asked
        independently, names no merged pull request either; when the two disagree GitHub
        could not answer, and that is an error (record writes nothing; the next run catches
        up)."""
        commit = self.client.repo.get_commit(sha)
        numbers = self.client.call(
            f"find the pull request merged as {sha[:12]}",
            lambda: sorted(p.number for p in commit.get_pulls()
                           if p.merged_at is not None and p.merge_commit_sha == sha))
        if numbers:
            return numbers
        owner, name = self.client.repository_name.split("/", 1)
        data = self.client.graphql(f"confirm that no pull request was merged as {sha[:12]}",
                                   _MERGED_AS_QUERY, {"owner": owner, "name": name, "oid": sha})
        found = ((data.get("repository") or {}).get("object") or {})
        associated = found.get("associatedPullRequests") or {}
        nodes = associated.get("nodes")
        if not found or not isinstance(nodes, list):
            raise GitHubError(f"could not confirm that no pull request was merged as "
                              f"{sha[:12]}: GitHub's GraphQL answer does not know the commit")
        if associated.get("totalCount") != len(nodes):
            raise GitHubError(f"could not confirm that no pull request was merged as "
                              f"{sha[:12]}: GraphQL lists {len(nodes)} of its "
                              f"{associated.get('totalCount')} pull requests")
        merged = sorted(node["number"] for node in nodes
                        if isinstance(node, Mapping) and node.get("merged")
                        and (node.get("mergeCommit") or {}).get("oid") == sha
                        and isinstance(node.get("number"), int))
        if merged:
            raise GitHubError(
                f"GitHub's answers disagree about {sha[:12]}: the REST API names no pull request "
                f"merged as it, GraphQL names {', '.join(f'#{n}' for n in merged)}; record again "
                "when GitHub answers consistently")
        return []

    def evidence_for_head(self, head_sha: str, name: str, workflow: str,
                          event: str) -> EvidenceLookup:
        """The evidence document that a run of the checks workflow (`workflow`, the path of
        its file, on `event`) uploaded for `head_sha`, newest first. An artifact of the same
        name from any other workflow, event or commit is not evidence: it is named in
        `rejected`. None found is confirmed through the workflow runs of `head_sha` before it
        is believed: a finished checks run whose own artifact list holds the evidence means
        the first answer was incomplete (an error), a run still in progress means it is too
        early (an error), no run at all means there is no evidence."""
        repo = self.client.repo
        rejected: list[str] = []

        def first_accepted() -> tuple[str, Any] | None:
            for artifact in repo.get_artifacts(name=name):  # newest first
                raw = artifact.raw_data
                run_id = (raw.get("workflow_run") or {}).get("id")
                if (raw.get("workflow_run") or {}).get("head_sha") != head_sha \
                        or raw.get("name") != name:
                    continue
                if raw.get("expired"):
                    rejected.append(f"the {name} artifact of run {run_id} has expired")
                    continue
                run = self._workflow_run(run_id)
                if (run.get("path"), run.get("event"), run.get("head_sha")) != (
                        workflow, event, head_sha):
                    rejected.append(
                        f"the {name} artifact of run {run_id} came from {run.get('path')} on "
                        f"{run.get('event')} for {str(run.get('head_sha'))[:12]}, not from "
                        f"{workflow} on {event}")
                    continue
                return str(raw.get("archive_download_url")), run_id
            return None

        accepted = self.client.call(f"find the {name} artifact of {head_sha[:12]}",
                                    first_accepted)
        if accepted is not None:
            url, _ = accepted
            return EvidenceLookup(self._download_json(url, name, head_sha), url,
                                  tuple(rejected))
        self._confirm_no_evidence(head_sha, name, workflow, event)
        return EvidenceLookup(None, None, tuple(rejected))

    def _workflow_run(self, run_id: Any) -> dict[str, Any]:
        if not isinstance(run_id, int):
            raise GitHubError("GitHub's answer for an artifact names no workflow run")
        url = f"{self.client.repo.url}/actions/runs/{run_id}"
        _, run = self.client.call(
            f"read workflow run {run_id}",
            lambda: self.client.gh.requester.requestJsonAndCheck("GET", url))
        if not isinstance(run, dict):
            raise GitHubError(f"GitHub's answer for workflow run {run_id} is malformed")
        return run

    def _confirm_no_evidence(self, head_sha: str, name: str, workflow: str, event: str) -> None:
        repo = self.client.repo

        def runs() -> list[dict[str, Any]]:
            return [run.raw_data for run in repo.get_workflow_runs(head_sha=head_sha,
                                                                   event=event)]

        for run in self.client.call(f"list the workflow runs of {head_sha[:12]}", runs):
            if run.get("path") != workflow or run.get("head_sha") != head_sha:
                continue
            if run.get("status") != "completed":
                raise GitHubError(f"the checks of {head_sha[:12]} are still running (run "
                                  f"{run.get('id')}); record again when they have finished")
            listed = self._run_artifacts(f"{repo.url}/actions/runs/{run.get('id')}/artifacts",
                                         name)
            artifacts = listed.get("artifacts") if isinstance(listed, dict) else None
            if not isinstance(artifacts, list):
                raise GitHubError(f"GitHub's artifact list of run {run.get('id')} is malformed")
            if any(isinstance(a, dict) and a.get("name") == name and not a.get("expired")
                   for a in artifacts):
                raise GitHubError(
                    f"GitHub lists no {name} artifact for {head_sha[:12]}, but run "
                    f"{run.get('id')} of {workflow} has one: GitHub could not answer "
                    "consistently; record again")

    def _run_artifacts(self, url: str, name: str) -> Any:
        _, listed = self.client.call(
            "list the artifacts of a workflow run",
            lambda: self.client.gh.requester.requestJsonAndCheck(
                "GET", url, parameters={"name": name, "per_page": 100}))
        return listed

    def _download_json(self, url: str, name: str, head_sha: str) -> bytes:
        what = f"the {name} artifact of {head_sha[:12]}"

        def download() -> bytes:
            _, _, chunks = self.client.gh.requester.getStream(url)
            return _bounded_download(chunks, MAX_ARTIFACT_BYTES, what)

        archive = self.client.call(f"download the {name} artifact", download)
        return _single_json_member(archive, MAX_EVIDENCE_BYTES, what)

    def team_members(self, org: str, slug: str, *, verify: bool = True) -> list[dict[str, Any]]:
        """Active members of @org/slug, listed once. A team the token cannot see is an error,
        never "no members": GITHUB_TOKEN cannot read organisation teams. The member count is
        confirmed at once, or by the next `verify_pending` with `verify=False`."""
        key = f"{org}/{slug}".lower()
        if key not in self._teams:
            def fetch() -> list[dict[str, Any]]:
                # read through the requester: PyGithub's user objects would each fetch
                # themselves again when their raw data is read. GitHub lists active members;
                # a membership state, if an answer carries one, is kept so that the snapshot
                # leaves out anyone not active
                url = f"/orgs/{quote(org, safe='')}/teams/{quote(slug, safe='')}/members"
                members: list[dict[str, Any]] = []
                for page in itertools.count(1):
                    _, items = self.client.gh.requester.requestJsonAndCheck(
                        "GET", url, parameters={"per_page": 100, "page": page})
                    if not isinstance(items, list):
                        raise ValueError("the member list is not a list")
                    for item in items:
                        if not isinstance(item, Mapping) or not isinstance(item.get("login"),
                                                                           str):
                            raise ValueError("a member has no login")
                        members.append({key: item[key] for key in ("login", "id", "type",
                                                                   "state") if key in item})
                    if len(items) < 100:
                        return members
                raise AssertionError("unreachable")  # pragma: no cover
            try:
                members = self.client.call(f"list the members of @{org}/{slug}", fetch)
            except GitHubError as error:
                raise GitHubError(
                    f"{error.message}. The token cannot read this team: use a GitHub App with "
                    "organisation Members: read, or membership.source: roster in the policy "
                    "(docs/github.md)") from None
            self._unverified_teams[(org, slug)] = members
            self._teams[key] = members
        if verify:
            self.verify_pending()
        return self._teams[key]

    def read(self, rev: str, path: str) -> bytes | None:
        """A file at a commit: one the opening query proved (the base's policy and
        CODEOWNERS), one the pull request adds at its head rebuilt from its patch in the file
        list when it hashes to the listed blob (the next `verify_pending` confirms that blob is
        the file at the head), else through the contents API (blobs API for large files)."""
        key = (rev, path)
        if key not in self._blobs:
            patch, blob_id = self._added.get(key, (None, None))
            rebuilt = added_file_from_patch(patch, blob_id)
            if rebuilt is not None and blob_id is not None:
                self._unverified_files[key] = blob_id
                self._blobs[key] = rebuilt
            else:
                self._blobs[key] = self._fetch_file(rev, path)
        return self._blobs[key]

    def _fetch_file(self, rev: str, path: str) -> bytes | None:
        repo = self.client.repo
        action = f"read {path} at {rev[:12]}"

        def fetch() -> Any:
            try:
                return repo.get_contents(path, ref=rev)
            except GithubException as error:
                if error.status == 404:
                    return None
                raise

        content = self.client.call(action, fetch)
        if content is None or isinstance(content, list):
            return None  # absent, or a folder, not a file
        raw = self.client.call(action, lambda: dict(content.raw_data))
        if raw.get("type") != "file":
            raise GitHubError(f"could not {action}: GitHub says it is a {raw.get('type')!r}, "
                              "not a file")
        if raw.get("path") != path:
            # the contents API follows a symlink to a file in the repository and answers with
            # that file: not what a checkout has at `path` (a symlink, as `check` sees it)
            raise GitHubError(f"could not {action}: GitHub answered with {raw.get('path')!r}: "
                              f"{path} is a symlink to it, not a file")
        if raw.get("encoding") == "base64" and isinstance(raw.get("content"), str):
            data = _base64(raw["content"], action)
        else:  # larger than 1 MB: the contents API leaves it out, the blobs API has it
            sha = raw.get("sha")
            if not isinstance(sha, str) or not _SHA.fullmatch(sha):
                raise GitHubError(f"could not {action}: GitHub's answer names no blob")
            blob = self.client.call(action, lambda: dict(repo.get_git_blob(sha).raw_data))
            if blob.get("encoding") != "base64" or not isinstance(blob.get("content"), str):
                raise GitHubError(f"could not {action}: the blob is not base64")
            data = _base64(blob["content"], action)
        size = raw.get("size")
        if isinstance(size, int) and size != len(data):
            raise GitHubError(f"could not {action}: GitHub says {size} bytes but sent "
                              f"{len(data)}")
        return data

    def changes(self, base: str, head: str) -> list[Change]:
        """The pull request's files when asked for its own range, else the compare API."""
        if (base, head) in self._pull_files:
            return self._pull_files[(base, head)]
        repo = self.client.repo
        comparison = self.client.call(f"compare {base[:12]}...{head[:12]}",
                                      lambda: repo.compare(base, head))
        files = self.client.call("read the comparison",
                                 lambda: [dict(f.raw_data) for f in comparison.files])
        _check_files(files, f"the comparison {base[:12]}...{head[:12]}")
        if len(files) >= 300:
            raise GitHubError("the comparison lists 300 files, GitHub's limit; it may be "
                              "truncated and cannot be evaluated")
        changes = _changes_from_files(files)
        self._pull_files[(base, head)] = changes
        return changes


def _mapping(value: Any) -> Mapping[str, Any]:
    """A GraphQL object, or an empty one for null or anything else (then checked field by
    field: what is missing is an error there)."""
    return value if isinstance(value, Mapping) else {}


def _check_reviews_distinct(number: int, reviews: list[dict[str, Any]]) -> None:
    """A review listed twice: the list shifted between pages (its count is checked later)."""
    ids = [review.get("id") for review in reviews]
    if len(set(map(repr, ids))) != len(ids):
        raise GitHubError(f"GitHub listed a review of #{number} twice (the list shifted "
                          "between pages); run the gate again")


def _check_unmoved(number: int, opened: str, found: Mapping[str, Any]) -> None:
    """No force-push or retarget since the pull request was opened: a head pushed away and
    back (a force-push), or a base changed and changed back, reads the same now as then, but
    the lists read in between were another head's or another base's."""
    try:
        now = last_move(found)
    except MalformedAnswer as error:
        raise GitHubError(f"could not read pull request #{number} again: GitHub's GraphQL "
                          f"answer is malformed: {error}") from None
    if now != opened:
        raise GitHubError(f"pull request #{number} was force-pushed or retargeted during the "
                          "evaluation (its head and base read the same as at the start, its "
                          "lists may not); the push or edit starts its own evaluation")


def _listed_at(item: Mapping[str, Any]) -> str | None:
    """The commit a file list entry names as the one the list was made at (GitHub gives the
    head in its `contents_url`, `?ref=<sha>`), or None when it names no commit."""
    url = item.get("contents_url")
    refs = parse_qs(urlsplit(url).query).get("ref", []) if isinstance(url, str) else []
    return refs[0] if len(refs) == 1 and _SHA.fullmatch(refs[0]) else None


def _check_team_count(org: str, slug: str, members: list[dict[str, Any]], total: Any) -> None:
    """A member missing from the list could not approve, but could not block either: a
    request for changes by them would be ignored. GraphQL counts the members again (with
    child teams, as the REST list has them); any difference is an error."""
    active = [m for m in members if m.get("state", "active") == "active"]
    logins = {str(member["login"]).casefold() for member in members}
    if total != len(active) or len(logins) != len(members):
        raise GitHubError(f"GitHub counts {total} member(s) of @{org}/{slug} but listed "
                          f"{len(active)} active ({len(logins)} distinct); the list is "
                          "incomplete, so a request for changes could be missed: run again")


def _check_siblings(head: str, judged: Mapping[int, str], listed: int,
                    found: Mapping[str, Any]) -> None:
    """The open pull requests with `head` now (GraphQL, up to one page of them) must be the
    ones judged, each into the same base. Beyond one page only their count (that of the list
    judged, `listed`) and each judged one's head and base are confirmed
    (docs/status-model.md): a list of one page that grew past it is not compared one by one,
    so a pull request opened with the head would go unjudged."""
    total, nodes = found.get("totalCount"), found.get("nodes")
    if not isinstance(total, int) or isinstance(total, bool):
        raise GitHubError("could not count the open pull requests: GitHub's GraphQL answer "
                          "has no totalCount")
    if total > MAX_CONFIRMED_OPEN_PULLS:
        if total != listed:
            raise GitHubError(f"GitHub counts {total} open pull request(s) but {listed} were "
                              "listed when the head's pull requests were found; one opened "
                              "with the head would not be judged: run the gate again")
        return
    if not isinstance(nodes, list) or len(nodes) != total:
        raise GitHubError(f"GitHub counts {total} open pull request(s) but its GraphQL answer "
                          f"lists {len(nodes) if isinstance(nodes, list) else 'none'}: run the "
                          "gate again")
    now: dict[int, str] = {}
    for node in nodes:
        if not isinstance(node, Mapping) or not isinstance(node.get("number"), int) \
                or not isinstance(node.get("headRefOid"), str) \
                or not isinstance(node.get("baseRefName"), str):
            raise GitHubError("GitHub's GraphQL list of open pull requests is malformed")
        if node["headRefOid"] == head:
            now[node["number"]] = node["baseRefName"]
    if now != dict(judged):
        def named(pulls: Mapping[int, str]) -> str:
            return ", ".join(f"#{n} into {b}" for n, b in sorted(pulls.items())) or "none"
        raise GitHubError(f"the open pull requests with head {head[:12]} changed during the "
                          f"evaluation (judged: {named(judged)}; now: {named(now)}); their "
                          "events start evaluations of their own")


def _viewer_login(data: Mapping[str, Any]) -> str:
    login = (data.get("viewer") or {}).get("login")
    if not isinstance(login, str) or not login:
        raise GitHubError("could not find out which account the bot acts as: GitHub's "
                          "answer names no login")
    return login


# "unchanged": a file GitHub lists in the diff without a line changed (its mode, say): still a
# change of that path, as git sees it (`check` judges an M), never a file to leave out
_FILE_STATUS = {"added": "A", "removed": "D", "modified": "M", "renamed": "R", "copied": "C",
                "changed": "T", "unchanged": "M"}


def _pull_problem(raw: Any, number: int | None, *, full: bool = True) -> str | None:
    """What is missing or wrong in a pull request object from GitHub, or None."""
    if not isinstance(raw, Mapping):
        return "it is not an object"
    if not isinstance(raw.get("number"), int) or (number is not None
                                                  and raw["number"] != number):
        return f"its number is {raw.get('number')!r}"
    for side in ("head", "base"):
        ref = raw.get(side)
        if not isinstance(ref, Mapping):
            return f"#{raw['number']} has no {side}"
        if not isinstance(ref.get("sha"), str) or not _SHA.fullmatch(ref["sha"]):
            return f"#{raw['number']} has no {side}.sha"
        if not isinstance(ref.get("ref"), str) or not ref["ref"]:
            return f"#{raw['number']} has no {side}.ref"
    user = raw.get("user")
    if not isinstance(user, Mapping) or not isinstance(user.get("login"), str):
        return f"#{raw['number']} has no author (user.login)"
    if full:
        for count in ("changed_files", "commits"):
            value = raw.get(count)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                return f"#{raw['number']} has no {count} count"
    return None


def _check_files(files: list[dict[str, Any]], what: str) -> None:
    names = []
    for index, item in enumerate(files):
        name = item.get("filename")
        if not isinstance(name, str) or not name:
            raise GitHubError(f"GitHub's answer for {what} is malformed: entry {index + 1} has "
                              "no filename; it cannot be evaluated")
        if not isinstance(item.get("status"), str):
            raise GitHubError(f"GitHub's answer for {what} is malformed: {name} has no status")
        previous = item.get("previous_filename")
        if item["status"] in ("renamed", "copied") and (not isinstance(previous, str)
                                                        or not previous):
            raise GitHubError(f"GitHub's answer for {what} is malformed: {name} is "
                              f"{item['status']} but names no previous_filename")
        names.append(name)
    if len(set(names)) != len(names):
        raise GitHubError(f"GitHub listed a file twice in {what} (the list shifted between "
                          "pages); run the gate again")


def _base64(text: str, action: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise GitHubError(f"could not {action}: GitHub's content is not base64") from None


def _changes_from_files(files: Iterable[Mapping[str, Any]]) -> list[Change]:
    changes = []
    for item in files:
        status = _FILE_STATUS.get(str(item.get("status")))
        if status is None:
            raise GitHubError(f"GitHub lists {item.get('filename')} with an unknown status "
                              f"{item.get('status')!r}")
        changes.append(Change(status, str(item["filename"]),
                              item.get("previous_filename") if status in ("R", "C") else None))
    return changes


def _review_data(review: Any) -> dict[str, Any]:
    raw: dict[str, Any] = dict(review.raw_data)
    return {key: raw.get(key) for key in ("id", "user", "state", "commit_id", "submitted_at",
                                          "body", "author_association") if key in raw}


def _commit_user(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, Mapping) or not data.get("login"):
        return None  # null, or GitHub's empty object: the e-mail is linked to no account
    return {key: data[key] for key in ("login", "id", "type") if data.get(key) is not None}


def _commit_data(raw: Mapping[str, Any]) -> dict[str, Any]:
    """What the snapshot keeps of one pulls/{n}/commits item: who, and the message."""
    commit = raw["commit"]
    kept: dict[str, Any] = {}
    for side in ("author", "committer"):
        person = commit.get(side)
        if isinstance(person, Mapping):
            kept[side] = {"name": person.get("name") or "", "email": person.get("email") or ""}
    kept["message"] = commit.get("message") or ""
    return {"sha": raw["sha"], "author": _commit_user(raw.get("author")),
            "committer": _commit_user(raw.get("committer")), "commit": kept}


# --------------------------------------------------------------------------- writing


@dataclass
class WriteReport:
    status_written: bool = False
    comment_id: int | None = None
    comment_action: str = ""  # created / updated / unchanged
    review_requests: list[str] = field(default_factory=list)


class PullWriter:
    """The gate's writes, each safe to repeat."""

    def __init__(self, client: GitHubClient, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.sleep = sleep

    def set_status(self, sha: str, state: str, description: str,
                   target_url: str | None) -> int | None:
        """Set `promotion/approvals` on `sha` (the evaluated commit, never a refetched head);
        the new status's id (GitHub's ids grow: a later status has a larger one)."""
        if state not in ("success", "failure", "error", "pending"):
            raise ValueError(f"unknown commit status state {state!r}")
        text = _short(description)
        commit = self.client.repo.get_commit(sha)
        written: list[int] = []

        def already_there() -> bool:
            for status in commit.get_statuses():
                if status.context == STATUS_CONTEXT:
                    if status.state == state and status.description == text:
                        written.append(int(status.id))
                        return True
                    return False
            return False

        def write() -> None:
            arguments: dict[str, Any] = {"state": state, "description": text,
                                         "context": STATUS_CONTEXT}
            if target_url:
                arguments["target_url"] = target_url
            written.append(int(commit.create_status(**arguments).id))

        self._write_once(f"set the status on {sha[:12]}", write, already_there)
        return written[-1] if written else None

    def written_since(self, sha: str, status_id: int) -> bool:
        """Whether anyone set `promotion/approvals` on `sha` after the status `status_id`
        (GitHub lists a commit's statuses newest first)."""
        commit = self.client.repo.get_commit(sha)

        def newer() -> bool:
            for status in commit.get_statuses():
                if int(status.id) <= status_id:
                    return False
                if status.context == STATUS_CONTEXT:
                    return True
            return False

        return self.client.call(f"read the statuses of {sha[:12]}", newer)

    def upsert_comment(self, number: int, body: str,
                       known: Sequence[OwnComment] | None = None) -> tuple[int | None, str]:
        """One sticky comment per pull request, found by its hidden marker among the comments
        of the account the bot acts as, and edited in place. A comment by anyone else is never
        edited, whatever it carries: anyone can paste the marker. `known`: the bot's own
        marker comments as the pull request's opening query found them (GitHub's
        `viewerDidAuthor`), so none is listed here; None: list them."""
        issue = self.client.repo.get_issue(number)
        full = body if body.startswith(COMMENT_MARKER) else f"{COMMENT_MARKER}\n{body}"

        def find() -> Any:
            me = self.client.viewer_login().casefold()
            for comment in issue.get_comments():
                author = comment.user.login if comment.user is not None else None
                if (isinstance(author, str) and author.casefold() == me
                        and (comment.body or "").startswith(COMMENT_MARKER)):
                    return comment
            return None

        if known is None:
            existing = self.client.call(f"list the comments of #{number}", find)
            if existing is not None:
                if existing.body == full:
                    return existing.id, "unchanged"
                self.client.call(f"edit comment {existing.id}", lambda: existing.edit(full))
                return existing.id, "updated"
        elif known:
            if known[0].body == full:
                return known[0].id, "unchanged"
            if self._edit_comment(known[0].id, full):
                return known[0].id, "updated"
        created: list[Any] = []
        self._write_once(f"comment on #{number}",
                         lambda: created.append(issue.create_comment(full)),
                         lambda: find() is not None)
        comment = created[0] if created else find()
        return (comment.id if comment is not None else None), "created"

    def _edit_comment(self, comment_id: int, body: str) -> bool:
        """Edit comment `comment_id` (a PATCH: retried as an idempotent write); False when it
        is gone (deleted since it was read): then a new one is written."""
        url = f"{self.client.repo.url}/issues/comments/{comment_id}"

        def edit() -> bool:
            try:
                self.client.gh.requester.requestJsonAndCheck("PATCH", url, input={"body": body})
            except GithubException as error:
                if error.status == 404:
                    return False
                raise
            return True

        return self.client.call(f"edit comment {comment_id}", edit)

    def request_team_reviews(self, number: int, teams: list[str], users: list[str],
                             already: set[str]) -> list[str]:
        """Ask the owners of missing roles for a review (those not asked yet)."""
        wanted_teams = [t for t in teams if t.lower() not in already]
        wanted_users = [u for u in users if u.lower() not in already]
        if not wanted_teams and not wanted_users:
            return []
        pull = self.client.repo.get_pull(number)
        self._write_once(
            f"request reviews on #{number}",
            lambda: pull.create_review_request(reviewers=wanted_users or github.GithubObject.NotSet,
                                               team_reviewers=wanted_teams
                                               or github.GithubObject.NotSet),
            lambda: False,  # asking twice is harmless: GitHub keeps one request per reviewer
        )
        return [f"@{t}" for t in wanted_teams] + [f"@{u}" for u in wanted_users]

    def _write_once(self, action: str, write: Callable[[], Any],
                    already_done: Callable[[], bool]) -> None:
        """POST with look-before-retry: after a failure that may have written, check first."""
        last: Exception | None = None
        for attempt in range(WRITE_ATTEMPTS):
            if attempt:
                # 2 s, 4 s at GitHub's pace; a local GitHub (pace 0) is retried almost at once
                pause = max(self.client.connection.pace, RETRY_PAUSE_FLOOR) * 4 * 2.0**attempt
                self.sleep(min(pause, 10.0))
                try:
                    if already_done():
                        return
                except (GithubException, requests.RequestException, OSError) as error:
                    last = error
                    continue
            try:
                write()
                return
            except GithubException as error:
                last = error
                if error.status is not None and error.status < 500 and error.status != 403:
                    break  # a 4xx other than a rate limit will not change on retry
            except (requests.RequestException, OSError) as error:
                last = error
        if isinstance(last, GithubException):
            raise GitHubError(_explain(last, action)) from None
        raise GitHubError(f"could not {action}: {last}") from None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_STATUS_DESCRIPTION else text[: MAX_STATUS_DESCRIPTION - 1] + "…"


# --------------------------------------------------------------------------- opening pull requests


class PullOpener:
    """Opens a pull request at most once (rollback's revert pull requests).

    `find_open_pull` looks for an open pull request from the branch (and, given a hidden
    marker, for any open pull request into `base` whose body carries it: the idempotency key
    of a bot-written pull request). `open_pull` looks before it retries: after a failed POST
    it asks whether the pull request exists before trying again, and GitHub's 422 "already
    exists" is accepted only when the open pull request from that branch is found.
    """

    def __init__(self, client: GitHubClient, sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.sleep = sleep

    def _owner(self) -> str:
        return self.client.repository_name.split("/", 1)[0]

    def find_open_pull(self, head_branch: str, base: str,
                       marker: str | None = None) -> tuple[int, str] | None:
        """(number, URL) of an open pull request from `head_branch` into `base`, else of one
        whose body holds `marker`; None when there is none."""
        repo = self.client.repo

        def find() -> tuple[int, str] | None:
            for pull in repo.get_pulls(state="open", base=base,
                                       head=f"{self._owner()}:{head_branch}"):
                if pull.head.ref == head_branch:
                    return int(pull.number), str(pull.html_url)
            if marker:
                for pull in repo.get_pulls(state="open", base=base):
                    if marker in (pull.body or ""):
                        return int(pull.number), str(pull.html_url)
            return None

        return self.client.call(f"look for an open pull request from {head_branch}", find)

    def open_pull(self, head_branch: str, base: str, title: str, body: str) -> tuple[int, str]:
        """Open the pull request `head_branch` -> `base`; (number, URL)."""
        repo = self.client.repo
        created: list[tuple[int, str]] = []

        def write() -> None:
            try:
                pull = repo.create_pull(base=base, head=head_branch, title=title, body=body)
            except GithubException as error:
                found = self.find_open_pull(head_branch, base) if error.status == 422 else None
                if found is None:
                    raise
                created.append(found)  # an earlier attempt (or run) opened it
                return
            created.append((int(pull.number), str(pull.html_url)))

        def already_there() -> bool:
            found = self.find_open_pull(head_branch, base)
            if found is not None:
                created.append(found)
            return found is not None

        PullWriter(self.client, self.sleep)._write_once(
            f"open a pull request from {head_branch} into {base}", write, already_there)
        if not created:
            raise GitHubError(f"could not open a pull request from {head_branch} into {base}: "
                              "GitHub accepted the request but it cannot be found")
        return created[-1]


# an evidence artifact is one JSON document; a zip bomb or a huge archive is refused while it
# streams, never unpacked whole in memory
MAX_ARTIFACT_BYTES = 64 * 1024 * 1024


def _bounded_download(chunks: Iterable[bytes], limit: int, what: str) -> bytes:
    received = bytearray()
    for chunk in chunks:
        received += chunk
        if len(received) > limit:
            raise GitHubError(f"{what} is larger than {limit} bytes; it was not read")
    return bytes(received)


def _single_json_member(archive: bytes, limit: int, what: str) -> bytes:
    """The one .json file of a zip, read in chunks up to `limit` bytes (whatever the zip's
    headers claim); every other shape is a GitHubError."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as content:
            members = [m for m in content.infolist() if m.filename.endswith(".json")]
            if len(members) != 1:
                raise GitHubError(f"{what} holds {len(members)} JSON files, not one")
            member = members[0]
            if member.file_size > limit:
                raise GitHubError(f"{what}: {member.filename} unpacks to {member.file_size} "
                                  f"bytes, more than {limit}")
            data = bytearray()
            with content.open(member) as stream:
                while chunk := stream.read(1024 * 1024):
                    data += chunk
                    if len(data) > limit:
                        raise GitHubError(f"{what}: {member.filename} unpacks to more than "
                                          f"{limit} bytes")
            return bytes(data)
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError,
            ValueError) as error:
        raise GitHubError(f"{what} is not a readable zip ({error})") from None

# --------------------------------------------------------------------------- repository settings
# What `promotion-bot doctor` reads. Kept apart from the gate's reads above: a refusal (403) or
# an absence (404) is an answer here (a setting doctor reports), not an error; only an
# unreachable GitHub stops the run.


class SettingsReader:
    """GET requests through PyGithub's requester, each answered as a `Reading`."""

    PAGE = 100
    MAX_PAGES = 20

    def __init__(self, client: GitHubClient) -> None:
        self.client = client

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Reading:
        try:
            _, data = self.client.gh.requester.requestJsonAndCheck(
                "GET", path, parameters=dict(params) if params else None)
        except GithubException as error:
            message = error.data.get("message") if isinstance(error.data, dict) else None
            return Reading(None, error.status or 0, str(message or ""))
        except (requests.RequestException, OSError) as error:
            raise GitHubError(f"could not reach GitHub at {self.client.connection.api_url}: "
                              f"{type(error).__name__}: {error}") from None
        return Reading(data)

    def get_list(self, path: str, key: str | None = None,
                 params: Mapping[str, str] | None = None) -> Reading:
        """Every page of a list (GitHub's list, or the list under `key` of its answer)."""
        items: list[Any] = []
        for page in range(1, self.MAX_PAGES + 1):
            reading = self.get(path, {**(params or {}), "per_page": str(self.PAGE),
                                      "page": str(page)})
            if not reading.ok:
                return reading
            chunk = reading.data.get(key) if key and isinstance(reading.data, dict) else \
                reading.data
            if not isinstance(chunk, list):
                return Reading(None, 0, f"GitHub's answer to {path} is not a list")
            items.extend(chunk)
            if len(chunk) < self.PAGE:
                return Reading(items)
        return Reading(None, 0, f"{path} lists more than {self.PAGE * self.MAX_PAGES} items")

    def file_texts(self, repository: str, folder: str, ref: str) -> Reading:
        """name -> text of the files in `folder` at `ref` (404: no such folder)."""
        listing = self.get(f"/repos/{repository}/contents/{folder}", {"ref": ref})
        if not listing.ok:
            return listing
        if not isinstance(listing.data, list):
            return Reading(None, 0, f"{folder} is not a folder")
        texts: dict[str, str] = {}
        for entry in listing.data:
            if not isinstance(entry, dict) or entry.get("type") != "file":
                continue
            name = str(entry.get("name"))
            content = self.get(f"/repos/{repository}/contents/{folder}/{name}", {"ref": ref})
            if not content.ok:
                return content
            raw = content.data if isinstance(content.data, dict) else {}
            if raw.get("encoding") != "base64" or not isinstance(raw.get("content"), str):
                return Reading(None, 0, f"{folder}/{name} came without its content")
            texts[name] = base64.b64decode(raw["content"]).decode("utf-8", "replace")
        return Reading(texts)
