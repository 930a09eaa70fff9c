"""Work spread over processes or machines with Dask: deployment blocks and sweep chunks.

NEST's PyPI wheel has no MPI, so one NEST simulation cannot span machines; but a deployment is
a list of blocks of images, each starting from rest with input spikes seeded by (seed, image
index), and a calibration sweep is a list of chunks, each seeded by (seed + chunk). Either runs
on any worker with the same result. Here the tasks go to a Dask cluster: a ``LocalCluster`` of
``workers`` processes (one task at a time each, so one simulator per process), or an existing
scheduler (``scheduler``, e.g. one started by dask-jobqueue on SLURM; a worker process there
runs one of our tasks at a time, whatever its thread count). The caller gets each
result as it finishes and keeps it at once (the partial files of deploy and calibrate), so an
interrupted run loses at most the blocks in flight; a task whose worker dies is run again on
another (Dask's ``retries``).

A worker builds a deployment's network once and presents every block it is given
(:func:`present_block` keeps the presenter per process).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

import numpy as np

from lifresponse.errors import BackendError, ParameterError

RETRIES = 3  # a task is tried again this many times when its worker is lost
CONNECT_TIMEOUT = "10s"

_PRESENTERS: dict = {}  # per worker process: (token, presentation, config) -> presenter
_SIMULATOR = threading.Lock()  # per worker process: a simulator's kernel is one per process


def check_workers(workers: int, scheduler: str | None) -> None:
    """Refuse a worker count below one (the message names the value)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError("workers", f"must be >= 1, a whole number (got {workers!r})")
    if scheduler is not None and not str(scheduler).strip():
        raise ParameterError("scheduler", "give an address such as tcp://host:8786 (got '')")


def wanted(workers: int, scheduler: str | None) -> bool:
    """True if the work goes to Dask (more than one worker, or a scheduler)."""
    return workers > 1 or scheduler is not None


@contextlib.contextmanager
def client(workers: int, scheduler: str | None, threads: int):
    """A Dask client: on ``scheduler`` if given, else on a new ``LocalCluster`` of ``workers``
    processes with one task slot each (``threads`` is what each simulator uses, for the
    log)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise BackendError("workers/scheduler need Dask: pip install 'dask[distributed]'") \
            from None
    if scheduler is not None:
        try:
            connection = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ParameterError("scheduler", f"cannot reach {scheduler!r} ({exc})") from None
        with connection:
            yield connection
        return
    logging.getLogger("lifresponse").info("starting %d Dask workers (%d simulator threads each)",
                                          workers, threads)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as connection:
        yield connection


def run_tasks(function: Callable, tasks: list[tuple], workers: int, scheduler: str | None,
              threads: int = 1, shared: tuple = ()) -> Iterator:
    """``function(*shared, *task)`` for every task on Dask workers; yields the results as they
    finish (in any order). ``shared`` objects are sent to every worker once."""
    with client(workers, scheduler, threads) as connection:
        sent = [connection.scatter(obj, broadcast=True) for obj in shared]
        futures = [connection.submit(_one_at_a_time, function, *sent, *task, pure=False,
                                     retries=RETRIES) for task in tasks]
        from dask.distributed import as_completed

        for future in as_completed(futures):
            yield future.result()


def _one_at_a_time(function: Callable, *args):
    """On a worker: ``function(*args)`` while holding this process's simulator, so that a worker
    given several task threads (``dask worker --nthreads 4``) still runs one simulation at a
    time: NEST's kernel, and a presenter, are one per process."""
    with _SIMULATOR:
        return function(*args)


def present_block(network, token: str, backend_name: str, presentation, config, pixels,
                  first: int):
    """On a worker: present one block with this process's presenter for the run ``token``
    (built on its first block; a new run closes the previous one's simulator)."""
    from lifresponse import backends

    key = (token, presentation, config)
    presenter = _PRESENTERS.get(key)
    if presenter is None:
        for old in _PRESENTERS.values():
            old.close()
        _PRESENTERS.clear()
        presenter = _PRESENTERS[key] = backends.get(backend_name).presenter(
            network, presentation, config)
    return presenter.present(np.asarray(pixels, dtype=float), first)
