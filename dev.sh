#!/usr/bin/env bash
# NetViz developer entry point: sets up .venv on first use, then runs what you ask for.
#   ./dev.sh app     set up, then start the dashboard (http://localhost:8501)
#   ./dev.sh test    set up, then run the default tier (everything but the long runs), in a random order
#   ./dev.sh test --all   the same plus the long runs (browser matrix, long optimisations, the memory soak)
#   ./dev.sh bench   set up, then run the benchmark (add --quick for a short run)
#   ./dev.sh screenshots   set up, then run the browser test alone, writing the README's docs/screenshots/
#   ./dev.sh setup   only set up
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV="${NETVIZ_VENV:-.venv}"

setup() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "dev.sh: creating $VENV with $("$PYTHON" --version)" >&2
        "$PYTHON" -m venv "$VENV"
    fi
    local stamp="$VENV/.netviz-installed"
    local wanted
    wanted="$(cat requirements.txt requirements-dev.txt requirements-nodeps.txt pyproject.toml | sha256sum | cut -c1-16)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
        echo "dev.sh: installing dependencies (torch comes from the local disk; about a minute)" >&2
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r requirements-nodeps.txt
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .
        echo "$wanted" > "$stamp"
    fi
}

cmd="${1:-app}"
shift || true
case "$cmd" in
    setup) setup ;;
    app) setup; exec "$VENV/bin/streamlit" run app.py "$@" ;;
    test)
        setup
        # The default tier leaves out the tests marked `long`; --all runs every test.  Any other
        # argument goes to pytest (a file, -k, -x, --randomly-seed=N, -p no:randomly).
        tier=(-m "not long")
        args=()
        for a in "$@"; do
            if [ "$a" = "--all" ]; then tier=(); else args+=("$a"); fi
        done
        exec "$VENV/bin/python" -m pytest ${tier[@]+"${tier[@]}"} ${args[@]+"${args[@]}"} ;;
    bench) setup; exec "$VENV/bin/python" -m benchmarks.bench "$@" ;;
    screenshots) setup; NETVIZ_SCREENSHOTS=1 exec "$VENV/bin/python" -m pytest tests/e2e/test_browser.py "$@" ;;
    *) echo "usage: ./dev.sh [app|test|bench|screenshots|setup] [args...]" >&2; exit 2 ;;
esac
