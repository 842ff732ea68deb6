"""Hypothesis profiles for the property tests.

Each test asks for ``examples(n)``: ``n`` examples under the default profile, scaled by
the loaded profile's ``max_examples`` (100 means 1x). The profile is ``HYPOTHESIS_PROFILE``
when set, else ``ci`` when the ``CI`` variable is set, else ``default``:

* ``default``: the sizes the tests give, a few seconds in all;
* ``ci``: half of them, so a busy CI machine keeps its time;
* ``soak``: fifty times more, for a long hunt (``HYPOTHESIS_PROFILE=soak``).

The example database (failing examples replayed on the next run) lives in
``.cache/hypothesis`` at the top of the repository, which git ignores.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase

_STORAGE = Path(__file__).resolve().parents[3] / ".cache" / "hypothesis"

# Everything Hypothesis stores goes under .cache, not into a .hypothesis folder.
set_hypothesis_home_dir(str(_STORAGE))

_COMMON = {
    "deadline": None,
    "database": DirectoryBasedExampleDatabase(str(_STORAGE / "examples")),
    # The streams and schedules are built from large composite strategies on purpose.
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

settings.register_profile("default", max_examples=100, **_COMMON)
settings.register_profile("ci", max_examples=50, print_blob=True, **_COMMON)
settings.register_profile("soak", max_examples=5000, **_COMMON)

settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default")
)
