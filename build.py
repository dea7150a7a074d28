#!/usr/bin/env python3
"""Build every edition of every publication under content/ into dist/.

    python3 build.py              # set up if needed, then build everything
    python3 build.py test         # set up if needed (with test tools), then run the tests
    python3 build.py --lang zh-Hans --format html,pdf

The first run installs what is missing (system fonts, a virtual environment
in .venv/ with the pinned packages); later runs skip that.
"""

import gc
import sys
from pathlib import Path

# A build allocates containers by the million (pandoc ASTs are JSON trees) and frees nearly all of them by
# reference counting: a young-generation collection every 700 allocations (Python's default) found little and
# cost 30 ms in the main process alone. Every 100 000, the collector stays a safety net for real cycles
# (cold build: -2% wall and CPU, peak memory +2 MiB).
gc.set_threshold(100_000, 10, 10)

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from pubpipe import bootstrap  # noqa: E402  (standard library only)


def run_tests(args: list[str]) -> int:
    import subprocess

    return subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT)


if __name__ == "__main__":
    testing = sys.argv[1:2] == ["test"]
    bootstrap.ensure(ROOT, for_tests=testing, previews="previews" in sys.argv[1:2])
    if testing:
        sys.exit(run_tests(sys.argv[2:]))
    from pubpipe.progress import noop  # standard library only: an unchanged build never loads an engine

    answered = noop(sys.argv[1:], ROOT)
    if answered is not None:
        sys.exit(answered)
    from pubpipe.release import head_start  # a first build's first parse starts now, in a child

    head_start.begin(ROOT, sys.argv[1:])
    from pubpipe.cli import leave, main

    leave(main(sys.argv[1:], ROOT))
