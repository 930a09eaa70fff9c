"""Calibration sweeps: every (mean, std, trial) is its own neuron, all in one simulation.

A grid of ``n_means x n_stds`` points with ``trials`` cells each becomes one PyNN population
driven by one of the :mod:`~lifresponse.calibration.drives`. Grids larger than
``max_cells_per_chunk`` cells are split into chunks (one ``setup/run/end`` each) so memory stays
bounded; every finished chunk is written to ``<out>.partial`` at once, and ``resume=True`` carries
on from there after an interruption. Only spike counts are kept.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

import lifresponse
from lifresponse import backends, distributed
from lifresponse.calibration import results
from lifresponse.cells import CELLS, CellParams, one_input
from lifresponse.errors import BackendError, LifResponseError, ParameterError
from lifresponse.neuron import LIFParams

log = logging.getLogger(__name__)

VIRTUAL_BOARD_NOTE = backends.virtual_board_note("the sweep")
# Measured here: 1,550 cells x 10 s at 1 ms (1.55e7 neuron-steps) in 5.5 s on NEST, 1 thread.
NEURON_STEPS_PER_HOUR = 1.55e7 / 5.5 * 3600


@dataclass(frozen=True)
class SweepConfig:
    """What to simulate.

    Parameters
    ----------
    drive : NoisyCurrentDrive | PoissonCurrentDrive | DCDrive
        The kind of input.
    means, stds : numpy.ndarray
        Grid axes: input mean currents and stds (nA).
    trials : int
        Independent neurons per point.
    duration : float
        Simulated time per trial (ms).
    timestep : float
        Simulation resolution (ms).
    seed : int
        Base random seed; chunk ``c`` uses ``seed + c``.
    threads : int
        NEST threads.
    backend : str
        "nest" or "spinnaker".
    neuron : LIFParams or CellParams
        The cell and its parameters: :class:`~lifresponse.neuron.LIFParams` for
        ``IF_curr_exp``, :class:`~lifresponse.cells.CellParams` for any other PyNN standard
        cell (a Poisson drive sets ``tau_syn_E/I`` to its own ``tau_syn``; it needs synapses
        with a time constant).
    max_cells_per_chunk : int
        Upper bound on neurons per simulation run, to bound memory.
    max_neuron_steps : float
        Refuse sweeps above this many neuron-timesteps (:data:`LONG_SWEEP_NEURON_STEPS`, about a
        day on one core here); ``inf`` to allow any.
    workers : int
        Processes the chunks are spread over (Dask ``LocalCluster``); 1 runs in this process.
        Chunks are seeded on their own, so the counts do not depend on it.
    scheduler : str, optional
        Address of a running Dask scheduler to send the chunks to instead.
    """

    drive: object
    means: np.ndarray
    stds: np.ndarray
    trials: int = 10
    duration: float = 10000.0
    timestep: float = 1.0
    seed: int = 42
    threads: int = 1
    backend: str = "nest"
    neuron: LIFParams | CellParams = field(default_factory=LIFParams)
    max_cells_per_chunk: int = 4000
    max_neuron_steps: float = field(default=2e11, compare=False)
    workers: int = field(default=1, compare=False)
    scheduler: str | None = field(default=None, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "means", np.atleast_1d(np.asarray(self.means, dtype=float)))
        object.__setattr__(self, "stds", np.atleast_1d(np.asarray(self.stds, dtype=float)))
        if self.means.size == 0 or self.stds.size == 0:
            raise ParameterError("the grid is empty: give at least one mean and one std")
        if not (np.all(np.isfinite(self.means)) and np.all(np.isfinite(self.stds))):
            raise ParameterError("means, stds: values must be finite")
        for name in ("means", "stds"):
            values = getattr(self, name)
            if np.unique(values).size != values.size:
                raise ParameterError(name, f"a value given twice ({values.tolist()}): every "
                                     "grid point once")
        if np.any(self.stds < 0):
            raise ParameterError("stds", f"must be >= 0 nA (got {self.stds.min():g})")
        if self.trials < 1:
            raise ParameterError("trials", f"must be >= 1 (got {self.trials})")
        if self.threads < 1:
            raise ParameterError("threads", f"must be >= 1 (got {self.threads})")
        for name in ("duration", "timestep"):
            if not math.isfinite(getattr(self, name)):
                raise ParameterError(name, f"must be finite (got {getattr(self, name)})")
        if self.duration <= 0:
            raise ParameterError("duration", f"must be > 0 ms (got {self.duration:g})")
        if not 1 <= self.seed < 2**31:
            raise ParameterError("seed", f"must be in 1 .. 2^31 - 1 (got {self.seed})")
        if self.timestep <= 0:
            raise ParameterError("timestep", f"must be > 0 ms (got {self.timestep:g})")
        steps = self.duration / self.timestep
        if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
            raise ParameterError("duration", f"must be a whole number of timesteps of "
                                 f"{self.timestep:g} ms (got {self.duration:g} ms)")
        if self.max_cells_per_chunk < self.trials:
            raise ParameterError(
                "max_cells_per_chunk", f"must hold one point's {self.trials} trials (got "
                f"{self.max_cells_per_chunk})")
        distributed.check_workers(self.workers, self.scheduler)
        backend = backends.get(self.backend, pynn=True)
        if (backend.noisy_current_dt_is_timestep and self.drive.kind == "noisy-current"
                and self.drive.dt_noise != self.timestep):
            raise ParameterError("dt_noise",
                                 f"{backend.distribution}'s NoisyCurrentSource needs dt "
                                 f"equal to the timestep {self.timestep:g} ms (got "
                                 f"{self.drive.dt_noise:g})")
        neuron_steps = self.means.size * self.stds.size * self.trials * (
            self.duration / self.timestep)
        if neuron_steps > self.max_neuron_steps:
            raise ParameterError(
                "duration", f"{neuron_steps:.3g} neuron-timesteps (grid x trials x duration / "
                f"timestep) is more than {self.max_neuron_steps:.3g}, about "
                f"{self.max_neuron_steps / NEURON_STEPS_PER_HOUR:.0f} h here; make it smaller "
                "or confirm it (--yes)")
        if self.drive.kind == "poisson" and one_input(self.cell) and \
                self.backend != "nest":
            raise ParameterError("drive", f"the poisson drive of {self.cell}'s delta synapses "
                                 f"runs on NEST (got backend {self.backend!r})")
        point_mean, point_std = self.points()
        self.drive.check(point_mean, point_std, self.timestep)

    @property
    def cell(self) -> str:
        """The PyNN cell swept (``IF_curr_exp`` for :class:`LIFParams`)."""
        return self.neuron.cell if isinstance(self.neuron, CellParams) else "IF_curr_exp"

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """Input mean and std of every grid point (nA), mean-major, as stored in ``rates.h5``."""
        m, s = np.meshgrid(self.means, self.stds, indexing="ij")
        return m.ravel(), s.ravel()

    def neuron_used(self) -> LIFParams | CellParams:
        """The cell's parameters as simulated: a Poisson drive's ``tau_syn`` set."""
        overrides = {name: value  # those the cell has: delta synapses have no time constant
                     for name, value in getattr(self.drive, "neuron_overrides", dict)().items()
                     if name in CELLS[self.cell].units}
        if isinstance(self.neuron, CellParams):
            return CellParams.of(self.cell, {**self.neuron.to_dict(), **overrides})
        return LIFParams.from_dict({**self.neuron.to_dict(), **overrides})

    def chunks(self) -> list[np.ndarray]:
        """Point indices of each chunk."""
        n_points = self.means.size * self.stds.size
        per_chunk = max(1, self.max_cells_per_chunk // self.trials)
        return [np.arange(i, min(i + per_chunk, n_points)) for i in range(0, n_points, per_chunk)]

    def header(self) -> dict:
        """The attributes that identify this sweep in its results file."""
        backend = backends.get(self.backend, pynn=True)
        return {
            "drive": self.drive.to_dict(),
            "cell": self.cell,
            "neuron": self.neuron_used().to_dict(),
            "duration_ms": float(self.duration),
            "timestep_ms": float(self.timestep),
            "trials": int(self.trials),
            "seed": int(self.seed),
            "threads": int(self.threads),
            "backend": self.backend,
            "backend_version": backend.version(),
            "spike_precision": backend.spike_precision,
            "lifresponse_version": lifresponse.__version__,
            "max_cells_per_chunk": int(self.max_cells_per_chunk),
            "spikes_returned": True,
            "note": "",
            "wall_time_s": 0.0,
        }


class SweepFileError(LifResponseError):
    """The output file exists, or a partial file does not belong to this sweep."""


def partial_path(out: Path) -> Path:
    """Where an unfinished sweep for ``out`` is kept."""
    return out.with_name(out.name + ".partial")


def run_sweep(config: SweepConfig, out, resume: bool = False, progress: bool = True,
              force: bool = False) -> Path:
    """Simulate the whole grid and write ``out`` (``rates.h5``); returns its path.

    Parameters
    ----------
    config : SweepConfig
        What to simulate.
    out : path-like
        Results file. An existing finished file is never overwritten.
    resume : bool
        Carry on from ``<out>.partial`` if it exists and holds the same sweep.
    progress : bool
        Show a progress bar (neuron-seconds simulated).

    force : bool
        Replace an existing ``out`` once the new sweep is complete.

    Raises
    ------
    SweepFileError
        If ``out`` exists (without ``force``), or a partial file exists and ``resume`` is
        False or it holds another sweep.
    """
    out = Path(out)
    partial = partial_path(out)
    check_output(out, resume, force)
    chunks = config.chunks()
    header = config.header()
    if partial.exists():
        _check_same_sweep(results.read(partial), config, header)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        results.create(partial, config.means, config.stds, config.trials, len(chunks), header)
    done = results.read(partial).done
    todo = [(c, points) for c, points in enumerate(chunks) if not done[points].all()]
    note = ""
    slices = backends.get(config.backend, pynn=True).run_slices
    try:
        with tqdm(total=len(todo) * slices, unit="slice", disable=not progress,
                  desc="sweep") as bar:
            for c, points, counts, virtual, wall in _run_chunks(config, todo, bar):
                if virtual:  # a virtual board returns nothing: store "not measured", not zeros
                    counts = np.full_like(counts, -1)
                results.write_chunk(partial, c, points, counts, wall,
                                    spikes_returned=not virtual)
                note = VIRTUAL_BOARD_NOTE if virtual else note
    except BaseException:  # what finished stays for --resume; a sweep with nothing is no sweep
        if not results.read(partial).done.any():
            partial.unlink()
        raise
    results.mark_complete(partial, note)
    partial.rename(out)
    return out


def check_output(out: Path, resume: bool, force: bool = False) -> None:
    """Raise :class:`SweepFileError` unless a sweep may write ``out``: a finished file is not
    overwritten (unless ``force``: then it is replaced when the new one is complete), and an
    unfinished one is only continued with ``resume``."""
    out = Path(out)
    if out.exists() and not force:
        raise SweepFileError(f"{out} already exists; it is never overwritten: choose another "
                             "--out, delete it, or replace it (--force)")
    if partial_path(out).exists() and not resume:
        raise SweepFileError(f"{partial_path(out)} holds an unfinished sweep: resume it with "
                             "--resume or delete it")


def _check_same_sweep(table: results.RateTable, config: SweepConfig, header: dict) -> None:
    keys = ("cell", "drive", "neuron", "duration_ms", "timestep_ms", "trials", "seed",
            "threads", "backend", "max_cells_per_chunk")
    there = {"cell": "IF_curr_exp", **table.attrs}  # files before other cells: IF_curr_exp
    differ = [f"{k}: {there[k]!r} there, {header[k]!r} now" for k in keys
              if there[k] != header[k]]
    for name in ("means", "stds"):
        theirs, ours = getattr(table, name), getattr(config, name)
        if not np.array_equal(theirs, ours):
            differ.append(f"{name}: {_grid_text(theirs)} there, {_grid_text(ours)} now")
    if differ:
        raise SweepFileError(f"{table.path} is a different sweep ({'; '.join(differ)}): resume "
                             "with the same settings, or delete it or choose another --out")


def _grid_text(values: np.ndarray) -> str:
    """A grid, short: its size and ends."""
    return f"{values.size} values {values.min():g} .. {values.max():g}"


def _run_chunks(config: SweepConfig, todo: list, bar):
    """(chunk, points, counts, virtual, wall seconds) of every chunk of ``todo``, as each
    finishes: in this process (moving ``bar`` slice by slice), or on Dask workers (``bar``
    moves by whole chunks)."""
    if distributed.wanted(config.workers, config.scheduler):
        warn_idle_workers(config)
        slices = backends.get(config.backend, pynn=True).run_slices
        for result in distributed.run_tasks(_timed_chunk, [(c, points) for c, points in todo],
                                            config.workers, config.scheduler, config.threads,
                                            shared=(config,)):
            bar.update(slices)
            yield result
        return
    for c, points in todo:
        bar.set_postfix_str(f"chunk {c + 1}/{len(config.chunks())}")
        yield _timed_chunk(config, c, points, bar)


def warn_idle_workers(config: SweepConfig) -> None:
    """Log a warning when a ``LocalCluster`` of ``config.workers`` would get fewer than one of
    the sweep's chunks each (the default ``max_cells_per_chunk`` makes the default grid one
    chunk), naming the ``--max-cells`` that would occupy them all."""
    n_chunks = len(config.chunks())
    if config.scheduler is not None or n_chunks >= config.workers:
        return
    n_points = config.means.size * config.stds.size
    enough = math.ceil(n_points / config.workers) * config.trials
    log.warning("the sweep has %d chunk(s) for %d workers: %d of them will idle. --max-cells %d "
                "or fewer gives every worker a chunk (a chunk is seeded by its index, so this "
                "changes the counts, not their statistics)", n_chunks, config.workers,
                config.workers - n_chunks, enough)


def _timed_chunk(config: SweepConfig, chunk: int, points: np.ndarray, bar=None) -> tuple:
    start = time.perf_counter()
    counts, virtual = _simulate_chunk(config, chunk, points, bar)
    return chunk, points, counts, virtual, time.perf_counter() - start


def _simulate_chunk(config: SweepConfig, chunk: int, points: np.ndarray, bar=None) -> tuple:
    """Run one chunk; returns spike counts (n_points, trials) and whether the board was virtual."""
    backend = backends.get(config.backend, pynn=True)
    backend.start(timestep=config.timestep, threads=config.threads, seed=config.seed + chunk)
    sim = backend.sim
    point_mean, point_std = config.points()
    try:
        if not hasattr(sim, config.cell):
            raise BackendError(f"{backend.distribution} has no {config.cell}; it runs on NEST")
        with backends.quiet():
            cells = sim.Population(len(points) * config.trials,
                                   getattr(sim, config.cell)(**config.neuron_used().to_pynn()))
            config.drive.attach(backend, cells, point_mean[points], point_std[points],
                                config.trials, config.duration)
            recorder = backend.spike_recorder(cells)
        # In slices so the progress bar moves (one on sPyNNaker: a run costs a data extraction).
        for _ in range(backend.run_slices):
            with backends.quiet():
                sim.run(config.duration / backend.run_slices)
            if bar is not None:
                bar.update(1)
        with backends.quiet():
            counts = recorder.counts()
        virtual = backend.is_virtual_board()
    finally:
        backend.end()
    return counts.reshape(len(points), config.trials), virtual
