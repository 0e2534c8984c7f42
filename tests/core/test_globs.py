from __future__ import annotations

import pytest

from promotion_bot.core.globs import glob_match


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    ("configs/routing_tables/**", "configs/routing_tables/a.json", True),
    ("configs/routing_tables/**", "configs/routing_tables/sub/a.json", True),
    ("configs/routing_tables/**", "configs/routing_tablesX/a.json", False),
    ("configs/models/*.yaml", "configs/models/classifier.yaml", True),
    ("configs/models/*.yaml", "configs/models/sub/classifier.yaml", False),
    ("templates/privacy/**", "templates/privacy_notes.md", False),
    ("CODEOWNERS", "CODEOWNERS", True),
    ("CODEOWNERS", "docs/CODEOWNERS", False),
    (".promotion/**", ".promotion/policy.yaml", True),
    ("**/*.md", "a/b/c.md", True),
    ("**/*.md", "c.md", True),
    ("prompts", "prompts/x.md", True),
    ("file?.txt", "file1.txt", True),
    ("file[0-9].txt", "filea.txt", False),
])
def test_glob_match(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected
