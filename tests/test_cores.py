"""Thread defaults; OpenMP's wait policy is the user's (lifresponse/cores.py has the why)."""

import os
import shutil
import subprocess
import sys

import pytest

CODE = ("import os, lifresponse; from lifresponse.cores import available_cores; "
        "print(os.environ.get('OMP_WAIT_POLICY', 'unset'), available_cores(), "
        "lifresponse.DeployConfig().threads)")


def _run(env=None, prefix=()):
    out = subprocess.run([*prefix, sys.executable, "-c", CODE], capture_output=True, text=True,
                         check=True, env=env)
    return out.stdout.split()


def test_importing_leaves_the_wait_policy_to_the_user():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    assert _run(env)[0] == "unset"
    assert _run({**env, "OMP_WAIT_POLICY": "PASSIVE"})[0] == "PASSIVE"


@pytest.mark.skipif(shutil.which("taskset") is None, reason="taskset is not installed")
def test_default_threads_follow_the_cores_the_process_may_use():
    policy, cores, threads = _run(prefix=("taskset", "-c", "0"))
    assert (cores, threads) == ("1", "1")
