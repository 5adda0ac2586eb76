"""Third-party sample files in ../shared/samples: an extra check on top of our own fixtures.

That folder sits beside the checkout on the project's machines and in CI, not in anyone's fresh
clone. Every behaviour read from it is also covered by files we wrote under tests/fixtures/, so a
test reading a sample skips (one line, the reason) when the folder is absent, and fails instead
under REQUIRE_SAMPLES=1 (.ci/run sets it) so CI cannot quietly stop checking the real files.
Messages name the folder relative to the checkout: the absolute path means nothing elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "samples"
SHOWN = "../shared/samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The one parameter a glob over an absent folder yields: the test runs, and skips (or fails) on it.
ABSENT = "(../shared/samples absent)"


def require_samples() -> None:
    """Skip the calling test when ../shared/samples is absent; fail under REQUIRE_SAMPLES=1."""
    if SAMPLES.is_dir():
        return
    reason = (
        f"{SHOWN} is absent beside the checkout (third-party files; tests/fixtures covers the same shapes)"
    )
    if os.environ.get("REQUIRE_SAMPLES") == "1":
        pytest.fail(f"REQUIRE_SAMPLES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def sample(name: str) -> bytes:
    """The bytes of one sample, `name` relative to ../shared/samples (e.g. "x12/846_….edi")."""
    require_samples()
    path = SAMPLES / name
    if not path.is_file():
        pytest.fail(f"sample {name} not found in {SHOWN}", pytrace=False)
    return path.read_bytes()


def sample_names(folder: str, pattern: str) -> list[str]:
    """File names in a samples folder, for parametrize: safe at collection time when it is absent."""
    return sorted(p.name for p in (SAMPLES / folder).glob(pattern)) or [ABSENT]


def fixture(name: str) -> bytes:
    """The bytes of one of our own fixtures, `name` relative to tests/fixtures."""
    return (FIXTURES / name).read_bytes()
