"""``python -m benchmarks.bench [--quick] ...`` (or ``./dev.sh bench ...``), run from the repository root."""

from __future__ import annotations

import argparse
import sys

from netviz_core.runtime import reuse_freed_memory

from . import run_benchmark, write_outputs
from .common import ROOT

DEFAULT_OUT = ROOT / "benchmarks" / "results"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.bench",
        description="Time NetViz against the raw forward+backward step of the same model, in the same process; "
        "write JSON and a Markdown table.",
    )
    p.add_argument("--quick", action="store_true", help="lite0 only, short runs (under a minute on 2 CPU cores)")
    p.add_argument("--models", nargs="+", default=None,
                   help="timm names (default: tf_efficientnet_lite0 lite1 lite2; --quick: lite0)")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="folder for bench.json and bench.md "
                   "(default: benchmarks/results)")
    p.add_argument("--no-live", action="store_true", help="skip the live-view measurement (needs streamlit)")
    p.add_argument("--no-choices", action="store_true", help="skip the layout/thread measurements")
    p.add_argument("--cold-start", action="store_true",
                   help="also time `streamlit run app.py` to the first page drawn (headless Chromium)")
    p.add_argument("--lucent-python", default=None,
                   help="interpreter of a venv with torch-lucent (e.g. .venv-bench/bin/python) to compare with Lucent")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    reuse_freed_memory()  # as the CLI and the dashboard do (netviz_core/runtime.py)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    result = run_benchmark(quick=args.quick, models=tuple(args.models) if args.models else None, device=args.device,
                           live_view=not args.no_live, choices=not args.no_choices, cold=args.cold_start,
                           lucent_python=args.lucent_python, log=log)
    js, md = write_outputs(result, args.out)
    print(md.read_text())
    print(f"wrote {js} and {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
