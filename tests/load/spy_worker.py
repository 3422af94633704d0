"""A Locust worker that records every stagegate plan the master sends it, then works as usual.

`locust -f tests/load/spy_worker.py --worker ...` with STAGEGATE_SPY_PLAN=<file>: the test reads
what travelled from the master to this worker (tests/load/test_worker_credentials.py).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "load"))

import locustfile  # noqa: E402  (registers stagegate's options and listeners)
from locustfile import StagegateShape, StagegateUser  # noqa: E402, F401  (the classes Locust runs)

_received = locustfile.Controller.on_plan


def _recording(self: Any, msg: Any, **kw: Any) -> None:
    with open(os.environ["STAGEGATE_SPY_PLAN"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps(msg.data) + "\n")
    _received(self, msg, **kw)


locustfile.Controller.on_plan = _recording  # type: ignore[method-assign]
