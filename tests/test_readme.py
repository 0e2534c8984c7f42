"""The README's sample outputs are what the demo prints (tests/readme_samples.py): a change to
any command's output fails here until `python -m tests.regenerate_readme` rewrites them."""

from __future__ import annotations

import difflib

import pytest

from tests.conftest import DemoRun
from tests.readme_samples import README, Sample, normalise, samples, transcript

# the outputs each reader of the README must see: engineers, approvers, on-call, auditors
REQUIRED = {
    "new", "validate-rejected", "check", "approvals-pending", "record", "status", "verify",
    "rollback", "audit", "audit-tampered", "verify-tampered",
}
SAMPLES = samples(README.read_text(encoding="utf-8"))


def test_the_readme_shows_the_demo_output_to_every_reader() -> None:
    shown = {key for sample in SAMPLES for key in sample.keys}
    assert shown >= REQUIRED, f"README.md has no demo sample of {sorted(REQUIRED - shown)}"


@pytest.mark.parametrize("sample", SAMPLES, ids=[",".join(s.keys) for s in SAMPLES])
def test_a_readme_sample_is_what_the_demo_prints(demo_run: DemoRun, sample: Sample) -> None:
    keys = sample.keys
    assert demo_run.result.ok, demo_run.result.failure
    printed = normalise(transcript(demo_run.result, keys))
    written = normalise(sample.body)
    if written != printed:
        diff = "".join(difflib.unified_diff(
            written.splitlines(keepends=True), printed.splitlines(keepends=True),
            "README.md", "promotion-bot demo"))
        pytest.fail(
            f"README.md:{sample.line}: the sample demo:{','.join(keys)} is not what "
            f"the demo prints (normalised):\n{diff}\n"
            "regenerate the samples: .venv/bin/python -m tests.regenerate_readme"
        )


def test_normalising_keeps_what_a_reader_would_notice() -> None:
    first = "created   promotion/CR-2026-0005 on 3bd6e1e6596a at 2026-11-29T12:03:19Z (0.1 s)\n"
    same = "created   promotion/CR-2027-0001 on 97b0de41f631 at 2027-01-02T00:00:00Z (2.5 s)\n"
    other = "created   promotion/CR-2026-0005 on 3bd6e1e6596a: policy violation\n"
    assert normalise(first) == normalise(same)
    assert normalise(first) != normalise(other)
    twice = "head 3bd6e1e6596a, base 3bd6e1e6596a\n"
    two = "head 3bd6e1e6596a, base 97b0de41f631\n"
    assert normalise(twice) != normalise(two)
    assert normalise("evidence: /tmp/promotion-bot-demo-x1y2/evidence/pr-3.json\n") == (
        normalise("evidence: /var/folders/ab/promotion-bot-demo-tests/evidence/pr-3.json\n"))
