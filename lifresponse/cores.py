"""How many threads to use, and how OpenMP threads wait.

Measured here (``benchmarks/oversubscription.py``, 2 cores): beside one busy process, NEST
with 2 threads ran 3.6x slower and torch 3.1x (a fair share would be 2x), because OpenMP
threads spin while they wait for one another and the spinning fights the other process for the
cores. With ``OMP_WAIT_POLICY=PASSIVE`` (waiting threads sleep) the same runs were 1.70x and
1.26x slower, at a cost of 7 % (NEST) and 20 % (torch) when alone. lifresponse sets it, unless
it is set already, when it is imported, before NEST or torch load their OpenMP runtime (a
process that imported torch or NEST first keeps its own policy).
"""

from __future__ import annotations

import os

WAIT_POLICY = "PASSIVE"


def use_passive_wait_policy() -> None:
    """``OMP_WAIT_POLICY=PASSIVE`` unless the user chose a policy."""
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a SLURM or container limit),
    not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
