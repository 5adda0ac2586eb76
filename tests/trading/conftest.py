from __future__ import annotations

import pytest

from tests.trading.sshd import sshd_server


@pytest.fixture
def sshd(tmp_path):
    yield from sshd_server(tmp_path)
