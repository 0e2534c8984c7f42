"""The README's reliability section states what the suite tries: the counts must stay true."""

from __future__ import annotations

from tests.conftest import FUZZ_EXAMPLES, PROJECT
from tests.test_fuzz_loaders import FUZZ_TESTS
from tests.test_hostile_inputs import HOSTILE_INPUTS
from tests.test_hostile_tags import TAG_SHAPES


def test_the_reliability_section_states_the_suites_counts() -> None:
    readme = " ".join((PROJECT / "README.md").read_text().split())
    section = readme[readme.index("## Reliability"):readme.index("## Exit codes")]
    ci, deep = FUZZ_EXAMPLES["ci"], FUZZ_EXAMPLES["deep"]
    for claim in (
        f"**{HOSTILE_INPUTS} hostile inputs**",
        f"**{len(TAG_SHAPES)} tag shapes**",
        f"{FUZZ_TESTS} properties",
        f"{ci} generated or mutated documents each in CI ({ci * FUZZ_TESTS} in all",
        f"runs {deep:,} each",
    ):
        assert claim in section, claim
