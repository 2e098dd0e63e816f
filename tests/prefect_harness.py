"""One Prefect test harness for the whole session (the flow tests and the benches share it) (its API takes 15–25 s to start), imported lazily
so that tests which run no flow never pay for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
