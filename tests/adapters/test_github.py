"""The GitHub client's way in, against the loopback GitHub over real HTTP."""

from __future__ import annotations

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from promotion_bot.adapters.github import Connection, GitHubClient
from tests.github_server import FakeGitHub


def test_an_app_signs_each_token_with_its_own_key_and_works_with_the_installation_token() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    with FakeGitHub() as fake:
        fake.add_repo("acme/widgets")
        client = GitHubClient(Connection(api_url=fake.base_url, app_id=str(fake.app_id),
                                         app_private_key=pem, pace=0), "acme/widgets")
        assert client.repo.default_branch == "main"
        app_requests = fake.calls(path_regex=r"/repos/acme/widgets/installation|/app/.*")
        assert [r.method for r in app_requests] == ["GET", "POST"]
        for request in app_requests:
            token = request.headers["Authorization"].removeprefix("Bearer ")
            claims = jwt.decode(token, key.public_key(), algorithms=["RS256"])
            assert claims["iss"] == str(fake.app_id)
        [installation_token] = fake.installation_tokens
        [read] = fake.calls("GET", r"/repos/acme/widgets")
        assert read.headers["Authorization"] == f"token {installation_token}"
