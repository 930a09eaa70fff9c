"""Blocks and chunks on Dask workers, resumable deployments: the same numbers however the work
is spread or interrupted."""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from network_helpers import assert_same_run, conv_network, random_digits

from lifresponse import workflow
from lifresponse.deployment import DeployConfig, deploy
from lifresponse.errors import ParameterError
from lifresponse.networks import network_file, run_file
from lifresponse.networks.partial_run import PartialRunError, partial_path

pytest.importorskip("dask.distributed")

CONFIG = {"window": 40.0, "block": 2, "threads": 1, "seed": 6}


@pytest.fixture
def net_file(tmp_path, rng):
    path = tmp_path / "net.h5"
    network_file.write(conv_network(rng), path)
    return path


def test_one_and_two_workers_give_the_same_run_and_sweep(net_file, tmp_path, rng):
    digits = random_digits(rng, 6)
    one = deploy(net_file, digits, DeployConfig(**CONFIG), tmp_path / "one.h5", progress=False)
    two = deploy(net_file, digits, DeployConfig(**CONFIG, workers=2), tmp_path / "two.h5",
                 progress=False)
    assert_same_run(run_file.read(tmp_path / "one.h5"), run_file.read(tmp_path / "two.h5"))
    assert one.attrs["evaluation"] == two.attrs["evaluation"] and two.attrs["workers"] == 2
    assert not partial_path(tmp_path / "two.h5").exists()

    sweep = {"means": "0.1:0.5:0.2", "stds": "0.2", "trials": 3, "duration": 500.0,
             "max_cells": 3}
    a = workflow.calibrate(out=tmp_path / "a.h5", progress=False, **sweep)
    b = workflow.calibrate(out=tmp_path / "b.h5", progress=False, workers=2, **sweep)
    assert a.counts.sum() > 0
    np.testing.assert_array_equal(a.counts, b.counts)


def test_a_worker_with_several_threads_runs_one_simulation_at_a_time(net_file, tmp_path, rng):
    """A scheduler whose one worker process has 3 task threads (as ``dask worker --nthreads 3``
    makes): the blocks and chunks sent there still give the single-process numbers."""
    from dask.distributed import LocalCluster

    digits = random_digits(rng, 6)
    config = {**CONFIG, "window": 300.0}
    # long enough for three tasks to overlap: without the lock, chunks fail with "Nodes have
    # already been created" (another thread's kernel) and the counts come out different
    sweep = {"means": "0.1:0.5:0.1", "stds": "0.2", "trials": 3, "duration": 5000.0,
             "max_cells": 3}
    alone = deploy(net_file, digits, DeployConfig(**config), tmp_path / "alone.h5",
                   progress=False)
    a = workflow.calibrate(out=tmp_path / "a.h5", progress=False, **sweep)
    with LocalCluster(n_workers=1, threads_per_worker=3, processes=True,
                      dashboard_address=None) as cluster:
        shared = deploy(net_file, digits, DeployConfig(**config,
                                                       scheduler=cluster.scheduler_address),
                        tmp_path / "shared.h5", progress=False)
        b = workflow.calibrate(out=tmp_path / "b.h5", progress=False,
                               scheduler=cluster.scheduler_address, **sweep)
    assert_same_run(run_file.read(tmp_path / "alone.h5"), run_file.read(tmp_path / "shared.h5"))
    assert alone.attrs["evaluation"] == shared.attrs["evaluation"]
    np.testing.assert_array_equal(a.counts, b.counts)


def test_sigkilled_deployment_resumed_equals_an_uninterrupted_one(net_file, tmp_path, rng):
    n_images = 24  # blocks of one image: enough that the kill lands mid-run (with 8, a fast
    digits = random_digits(rng, n_images)  # machine had kept all 8 before the kill, measured)
    np.savez(tmp_path / "digits.npz", images=digits.images, labels=digits.labels)
    out = tmp_path / "killed.h5"
    code = (
        "import numpy as np\n"
        "from lifresponse.datasets import Digits\n"
        "from lifresponse.deployment import DeployConfig, deploy\n"
        f"d = np.load({str(tmp_path / 'digits.npz')!r})\n"
        "digits = Digits(d['images'], d['labels'], 'random')\n"
        f"deploy({str(net_file)!r}, digits, DeployConfig(window=400.0, block=1, threads=1, "
        f"seed=6), {str(out)!r}, progress=False)\n")
    process = subprocess.Popen([sys.executable, "-c", code])
    partial = partial_path(out)
    deadline = time.monotonic() + 120
    while len(list(partial.glob("block_*.npz"))) < 3 and time.monotonic() < deadline:
        assert process.poll() is None, "the deployment ended before it could be killed"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    kept = len(list(partial.glob("block_*.npz")))
    assert 3 <= kept < n_images and not out.exists()
    with pytest.raises(PartialRunError, match="holds an unfinished run: continue it with"):
        deploy(net_file, digits, DeployConfig(window=400.0, block=1, threads=1, seed=6), out,
               progress=False)
    with pytest.raises(PartialRunError, match="other settings .*seed: 6 there, 7 now"):
        deploy(net_file, digits, DeployConfig(window=400.0, block=1, threads=1, seed=7), out,
               progress=False, resume=True)
    resumed = deploy(net_file, digits, DeployConfig(window=400.0, block=1, threads=1, seed=6),
                     out, progress=False, resume=True)
    assert resumed.attrs["blocks_resumed"] == kept and not partial.exists()
    whole = deploy(net_file, digits, DeployConfig(window=400.0, block=1, threads=1, seed=6),
                   tmp_path / "whole.h5", progress=False)
    assert_same_run(run_file.read(out), run_file.read(tmp_path / "whole.h5"))
    assert resumed.attrs["evaluation"] == whole.attrs["evaluation"]


def test_a_worker_killed_mid_run_still_gives_the_same_run(net_file, tmp_path, rng):
    from dask.distributed import Client, LocalCluster

    digits = random_digits(rng, 8)
    config = {**CONFIG, "window": 300.0, "block": 1}
    reference = deploy(net_file, digits, DeployConfig(**config), progress=False)
    out = tmp_path / "run.h5"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        killed = []

        def kill_one_worker():
            while not list(partial_path(out).glob("block_*.npz")):
                time.sleep(0.02)
            os.kill(pids[0], signal.SIGKILL)
            killed.append(len(list(partial_path(out).glob("block_*.npz"))))

        killer = threading.Thread(target=kill_one_worker, daemon=True)
        killer.start()
        run = deploy(net_file, digits, DeployConfig(**config, scheduler=cluster.scheduler_address),
                     out, progress=False)
        killer.join(timeout=5)
    assert killed and killed[0] < 8, "no worker was killed while blocks were left to run"
    assert_same_run(run, reference)


def test_bad_worker_settings(net_file, rng):
    digits = random_digits(rng, 2)
    with pytest.raises(ParameterError, match=r"workers: must be >= 1, a whole number \(got 0\)"):
        DeployConfig(workers=0)
    with pytest.raises(ParameterError, match="scheduler: cannot reach 'tcp://127.0.0.1:9'"):
        deploy(net_file, digits, DeployConfig(**CONFIG, scheduler="tcp://127.0.0.1:9"),
               progress=False)
    with pytest.raises(ParameterError, match="'continuing' protocol on 'nest' runs as one block"):
        deploy(net_file, digits, DeployConfig(**CONFIG, workers=2, protocol="continuing"),
               progress=False)
    with pytest.raises(ParameterError, match="workers: must be >= 1"):
        workflow.sweep_config(workers=0)
