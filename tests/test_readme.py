"""What the README promises, checked: its library example, a clean import, the upload limit."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib

from conftest import ROOT

README = (ROOT / "README.md").read_text()

#: Run in a fresh interpreter: what importing every netviz_core module changes.  With ``deps``, it only
#: lists the other modules that importing them loads; given that list, it imports those first, so the
#: changes that torch, timm or sympy make when imported (warning filters, TORCHINDUCTOR_CACHE_DIR) are
#: not counted as the library's.
_PROBE = r'''
import json, os, pkgutil, sys, warnings, importlib

def netviz_modules():
    import netviz_core
    return [m.name for m in pkgutil.walk_packages(netviz_core.__path__, "netviz_core.")
            if not m.name.endswith("__main__")]

if sys.argv[1] == "deps":
    for name in netviz_modules():
        importlib.import_module(name)
    print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] != "netviz_core")))
    raise SystemExit

for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception:  # a module that imports only as part of its package's own import order
        pass
import numpy as np
import torch

def state():
    return {"torch threads": torch.get_num_threads(), "interop threads": torch.get_num_interop_threads(),
            "default dtype": str(torch.get_default_dtype()), "grad enabled": torch.is_grad_enabled(),
            "deterministic": torch.are_deterministic_algorithms_enabled(),
            "matmul precision": torch.get_float32_matmul_precision(),
            "torch rng": torch.random.get_rng_state().sum().item(), "numpy rng": int(np.random.get_state()[1].sum()),
            "environment": sorted(os.environ.items()), "cwd": os.getcwd(),
            "warning filters": [repr(f) for f in warnings.filters], "recursion limit": sys.getrecursionlimit()}

before = state()
modules = netviz_modules()
for name in modules:
    importlib.import_module(name)
from netviz_core import runtime
after = state()
print(json.dumps({"modules": len(modules), "changed": {k: [before[k], after[k]] for k in before if before[k] != after[k]},
                  "malloc set": bool(runtime._state.get("applied"))}))
'''


def _library_example() -> str:
    """The README's first Python block (the library in a few lines)."""
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "the README has no Python example"
    return blocks[0]


def _python(*args: str) -> subprocess.CompletedProcess:
    """A fresh interpreter in the repository, as a user starts one (the test process's own settings not passed on)."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("NETVIZ_REUSE_FREED_MEMORY",)}
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return done


def test_importing_netviz_core_changes_no_process_wide_setting():
    dependencies = _python("-c", _PROBE, "deps").stdout
    report = json.loads(_python("-c", _PROBE, dependencies).stdout)
    assert report["modules"] > 20
    assert report["changed"] == {}, report["changed"]
    assert report["malloc set"] is False  # importing never applies the malloc setting (the CLI and app do)


def test_the_library_example_prints_what_the_readme_shows():
    example = _library_example()
    printed = _python("-c", example).stdout.strip().splitlines()
    # Each print(...) line of the example carries, as its comment, what it prints.
    promised = [m.group(1).strip() for m in re.finditer(r"^print\(.*?\)\s*#\s*(.+)$", example, flags=re.M)]
    assert promised and printed == promised, (printed, promised)


def test_the_upload_limit_is_the_one_the_readme_states():
    stated = re.search(r"a (\d+) MB upload limit", README)
    assert stated, "the README no longer states the upload limit"
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == int(stated.group(1))
    sidebar = (ROOT / "netviz_app" / "sidebar.py").read_text()
    assert f"{stated.group(1)} MB at most" in sidebar  # what the upload widget's help says
