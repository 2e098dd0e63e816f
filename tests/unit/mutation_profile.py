"""Settings for `make mutate` only (loaded with ``-p tests.unit.mutation_profile`` from [tool.mutmut] in
pyproject.toml; the ordinary suite never imports it).

A mutant must be killed by what it computes, never by the clock or by chance:

* Hypothesis runs without a deadline (the mutated code runs through mutmut's trampoline on a loaded
  machine) and derandomized (the same examples for every mutant and every run);
* every test starts with a fresh pinned clock. mutmut runs each mutant's tests in a process forked from
  the one that ran the whole selection first, so ``models.clock`` would still hold the offset of every
  ``IPFUND_NOW`` that run pinned, taken minutes earlier: a scenario that pins the same instant again
  through the environment would start minutes late and fail whatever the mutant.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings

settings.register_profile("mutation", deadline=None, derandomize=True, print_blob=False)
settings.load_profile("mutation")


def pytest_runtest_setup(item: Any) -> None:
    from models import clock

    clock._offsets.clear()
