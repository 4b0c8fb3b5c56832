"""Where a job's tasks run: in this process (default) or spread over a Ray cluster.

Both executors run the same ``render.render_batch`` on the same ``Task``s and hand
the results back to the driver as each task finishes; the driver writes them.  So
an executor changes only where and how fast, never what is made.

* ``LocalExecutor``: the tasks one after the other in this process, each a batch of
  classes through the batched engine.
* ``RayExecutor``: one Ray task per batch, each reserving ``threads`` CPUs and
  running torch with exactly that many threads (no oversubscription: a 16-CPU
  worker runs 16 one-thread tasks, or 4 four-thread ones).  Models are cached per
  worker process (``load_model_cached``), so a worker loads each backbone once
  and keeps it for the tasks that follow.  Results stream back with ``ray.wait``.
  An address that does not answer is reported within seconds (a short TCP probe of
  the head's port before ``ray.init``, which would otherwise retry for a minute).
"""

from __future__ import annotations

import os
import socket
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import AtlasError
from .render import Rendered, Task, render_batch

#: Seconds the probe of a Ray head's port waits before the address is called unreachable.
PROBE_TIMEOUT_S = 3.0
#: The GCS port a Ray head listens on when the address names none; the Ray client's port (ray://).
DEFAULT_GCS_PORT, DEFAULT_CLIENT_PORT = 6379, 10001


class LocalExecutor:
    """The tasks in this process, in order; ``threads`` is torch's count per task (default: this process's)."""

    name = "local"

    def __init__(self, threads: int | None = None):
        import torch

        self.threads = int(threads) if threads is not None else torch.get_num_threads()
        if self.threads < 1:
            raise AtlasError(f"The torch threads per task must be 1 or more; got {threads}.")

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, list[Rendered]]]:
        for task in tasks:
            yield task, render_batch(task)


def render_on_ray_worker(task: Task) -> list[Rendered]:
    """``render_batch`` with torch's threads set from the CPUs Ray assigned to this task (no oversubscription)."""
    import dataclasses

    import ray

    assigned = ray.get_runtime_context().get_assigned_resources().get("CPU")
    if assigned is not None and int(assigned) >= 1 and int(assigned) != task.threads:
        task = dataclasses.replace(task, threads=int(assigned))
    return render_batch(task)


def parse_address(address: str) -> tuple[str, int] | None:
    """(host, port) to probe for a Ray address; None for 'auto' (Ray finds a local cluster itself)."""
    text = address.strip()
    if text in ("auto", "local"):
        return None
    client = text.startswith("ray://")
    if client:
        text = text[len("ray://"):]
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, str(DEFAULT_CLIENT_PORT if client else DEFAULT_GCS_PORT)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise AtlasError(f"Malformed Ray address {address!r}; give HOST:PORT (e.g. 10.0.0.5:6379), ray://HOST:PORT "
                         "or auto.")
    return host.strip("[]"), int(port)


def probe(address: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Raise AtlasError within ``timeout`` seconds when nothing listens at the Ray address."""
    target = parse_address(address)
    if target is None:
        return
    host, port = target
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise AtlasError(f"No Ray cluster answers at {address} ({host}:{port}: {reason} within {timeout:g} s); start "
                         "one with 'ray start --head' there, or leave out the address to run a local one.") from None


@contextmanager
def _gcs_wait(seconds: float) -> Iterator[None]:
    """Ray's connect loop tries the GCS once a second, 20 times by default; a port that accepts TCP but is not
    a Ray head (a proxy, another service) would hang the command that long.  Its documented override,
    RAY_gcs_server_port_wait_time_s, shortens it for this ``ray.init`` only (an operator's own value is kept)."""
    key = "RAY_gcs_server_port_wait_time_s"
    if key in os.environ:
        yield
        return
    os.environ[key] = str(max(1, round(seconds)))
    try:
        yield
    finally:
        os.environ.pop(key, None)


@contextmanager
def _quiet_stderr(active: bool) -> Iterator[None]:
    """Ray's C++ client logs every failed connect attempt to fd 2; the failure is reported in one line instead.

    Only for connecting to a running cluster: a local cluster's processes would inherit the redirected fd.
    """
    if not active:
        yield
        return
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _package_root() -> str:
    """The folder that holds this netviz_core package (site-packages or a checkout), for local Ray workers."""
    import netviz_core

    return str(Path(netviz_core.__file__).resolve().parent.parent)


class RayExecutor:
    """One Ray task per batch on the cluster at ``address`` (None: a local one with ``num_cpus`` CPUs).

    When Ray is already initialised in this process (a test, a notebook), that
    session is used and left running; otherwise the executor connects (or starts a
    local cluster) on ``__enter__`` and shuts down on ``__exit__``.
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, threads: int = 1, num_cpus: int | None = None):
        if int(threads) < 1:
            raise AtlasError(f"The torch threads per task must be 1 or more; got {threads}.")
        self.address = address
        self.threads = int(threads)
        self.num_cpus = num_cpus
        self._started = False

    def __enter__(self) -> "RayExecutor":
        try:
            import ray
        except ImportError:
            raise AtlasError("--ray needs the 'ray' package: pip install ray (see requirements.txt).") from None
        if ray.is_initialized():
            return self
        if self.address:
            probe(self.address)
        # A local cluster's workers must import this netviz_core (a checkout need not be installed); a remote
        # cluster needs NetViz installed on its nodes.
        runtime_env = None
        if not self.address:
            path = os.pathsep.join(p for p in (_package_root(), os.environ.get("PYTHONPATH", "")) if p)
            runtime_env = {"env_vars": {"PYTHONPATH": path}}
        try:
            with _gcs_wait(PROBE_TIMEOUT_S), _quiet_stderr(bool(self.address)):
                ray.init(address=self.address, num_cpus=None if self.address else self.num_cpus,
                         include_dashboard=False, log_to_driver=False, runtime_env=runtime_env,
                         logging_level="ERROR", configure_logging=True)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"at {self.address}" if self.address else "locally"
            raise AtlasError(f"Could not start or reach Ray {where}: {' '.join(str(exc).split())[:300]} (is it a "
                             "Ray head's GCS port? 'ray status' on the head prints the address)") from None
        self._started = True
        return self

    def __exit__(self, *exc) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, list[Rendered]]]:
        import ray

        remote = ray.remote(num_cpus=self.threads, max_retries=1)(render_on_ray_worker)
        pending = {remote.remote(task): task for task in tasks}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    task = pending.pop(ref)
                    try:
                        yield task, ray.get(ref)
                    except ray.exceptions.RayTaskError as exc:
                        cause = exc.cause if getattr(exc, "cause", None) is not None else exc
                        raise cause from None
        finally:
            for ref in pending:  # interrupted or failed: what is still queued is not wanted any more
                ray.cancel(ref, force=True)
