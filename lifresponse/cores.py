"""How many threads to use. OpenMP's wait policy is left to the user.

Measured here (``benchmarks/oversubscription.py``, 2 cores): beside one busy process, NEST
with 2 threads ran 3.6x slower and torch 3.1x (a fair share would be 2x), because OpenMP
threads spin while they wait for one another and the spinning fights the other process for the
cores; with ``OMP_WAIT_POLICY=PASSIVE`` (waiting threads sleep) the same runs were 1.70x and
1.26x slower. But alone, where a simulation should run, passive waiting costs NEST a thread
wake-up at each of its per-step barriers: a plain PyNEST script of the deployed MNIST network
took 1.50x as long with it, ``lifresponse deploy`` 1.3-1.4x
(``benchmarks/results/fast_path_nest.md``), and a training epoch 1.54x. So
lifresponse no longer sets it (it did until wave 3): set ``OMP_WAIT_POLICY=PASSIVE`` yourself
where the cores are shared. The torch backend's CPU loop (Numba, Python threads) has no OpenMP.
"""

from __future__ import annotations

import os


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a SLURM or container limit),
    not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
