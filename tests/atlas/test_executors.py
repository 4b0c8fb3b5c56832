"""Executors: the same task gives the same image in this process and on Ray; a dead address fails fast."""

from __future__ import annotations

import os
import socket

import pytest

from netviz_core.atlas import LocalExecutor, RayExecutor, atlas_spec, run_job
from netviz_core.atlas.executors import parse_address, probe
from netviz_core.atlas.store import JobDir
from netviz_core.errors import AtlasError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_addresses_are_parsed_or_named_as_malformed():
    assert parse_address("10.0.0.5:6379") == ("10.0.0.5", 6379)
    assert parse_address("ray://head:10001") == ("head", 10001)
    assert parse_address("head") == ("head", 6379)
    assert parse_address("auto") is None
    with pytest.raises(AtlasError, match="Malformed Ray address"):
        parse_address("head:notaport")


def test_an_address_where_nothing_listens_is_one_error_before_ray_starts(network_calls):
    port = free_port()
    with pytest.raises(AtlasError, match=f"No Ray cluster answers at 127.0.0.1:{port}.*refused"):
        probe(f"127.0.0.1:{port}", timeout=2.0)
    assert network_calls == [("connect", ("127.0.0.1", port))]  # one probe (with its timeout), no retries
    with pytest.raises(AtlasError, match="No Ray cluster answers"):
        with RayExecutor(f"127.0.0.1:{port}"):
            pass
    ray = pytest.importorskip("ray")
    assert not ray.is_initialized()  # refused before ray.init, whose connect loop retries for many seconds


def test_local_executor_restores_the_callers_thread_count(tmp_path):
    import torch

    before = torch.get_num_threads()
    spec = atlas_spec("3", ["tf_efficientnet_lite0"], iterations=1)
    run_job(spec, tmp_path / "a", LocalExecutor(threads=before + 1), batch_size=1)
    assert torch.get_num_threads() == before
    assert JobDir(tmp_path / "a").rows()[0]["torch_threads"] == before + 1


@pytest.mark.long
def test_local_and_ray_give_the_same_pngs_for_the_same_seeds_threads_and_batches(tmp_path):
    ray = pytest.importorskip("ray")
    from pathlib import Path

    import netviz_core

    spec = atlas_spec("1,2,3,76,130,963", ["tf_efficientnet_lite0"], "lucid", iterations=3, seed=5)
    run_job(spec, tmp_path / "local", LocalExecutor(threads=1), batch_size=2)
    root = str(Path(netviz_core.__file__).resolve().parents[1])
    environ = dict(os.environ)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": root}})
    try:
        summary = run_job(spec, tmp_path / "ray", RayExecutor(threads=1), batch_size=2)
        assert ray.is_initialized()  # a session it did not start is left to its owner
    finally:
        ray.shutdown()
        # ray.init sets variables of its own in the driver (RAY_AUTH_MODE, PYTHONBREAKPOINT, ...): take them back
        for name in set(os.environ) - set(environ):
            del os.environ[name]
        os.environ.update({k: v for k, v in environ.items() if os.environ.get(k) != v})
    assert summary.executor == "ray" and summary.written == 6
    local = {r["png"]: r for r in JobDir(tmp_path / "local").rows()}
    remote = {r["png"]: r for r in JobDir(tmp_path / "ray").rows()}
    assert set(local) == set(remote) and len(local) == 6
    for png in local:
        assert (tmp_path / "local" / png).read_bytes() == (tmp_path / "ray" / png).read_bytes()
        assert local[png]["sha256"] == remote[png]["sha256"]
        assert remote[png]["executor"] == "ray" and remote[png]["worker"] != local[png]["worker"]
    # 3 tasks on 2 CPUs: a worker that runs several tasks loads the backbone for the first one only
    loads: dict[str, dict[tuple, int]] = {}
    for row in remote.values():
        loads.setdefault(row["worker"], {})[tuple(row["batch"])] = row["models_loaded_by_task"]
    assert sum(len(batches) for batches in loads.values()) == 3
    assert all(sum(batches.values()) == 1 for batches in loads.values()), loads
