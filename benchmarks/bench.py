"""The NetViz benchmark as a script: ``python benchmarks/bench.py [--quick] ...`` = ``netviz bench ...``.

The code lives in ``netviz_core/bench.py`` (importable by the CLI); see benchmarks/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netviz_core.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
