"""Fit Noisy Softplus's (k, S) to measured rates, beside the alternatives it is compared with.

Every trial is one data point ``(rate, m, s)``; only points with ``s > 0`` enter (Noisy Softplus
is defined by its noise). Models, all least squares on rates in Hz:

* Noisy Softplus: ``rate = S k s ln(1 + exp(m / (k s)))`` (eq. 9-11), parameters (k, S);
* ReLU: ``rate = S max(0, m)``, parameter S;
* Softplus: one noise level for all points, ``rate = S c ln(1 + exp(m / c))``, parameters
  (c = k sigma in nA, S);
* Siegert: eq. 7 with no free parameter, as a prediction (its RMSE only);
* the measured response itself: the mean rates of every other grid mean, interpolated linearly
  in the mean, predicting the trials of the means between them (:func:`measured_response`):
  how well the measurements describe the cell between grid points, the mark any model of the
  response is held against.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import lifresponse
from lifresponse.activations import noisy_softplus, relu
from lifresponse.calibration.drives import drive_from_dict
from lifresponse.calibration.results import RateTable
from lifresponse.cells import ANN_CELLS, CELLS, NON_LIF_CELLS, CellParams, cell_type
from lifresponse.conductance_mean_field import CONDUCTANCE_SHAPES
from lifresponse.errors import FileFormatError, LifResponseError, ParameterError
from lifresponse.neuron import LIFParams
from lifresponse.paths import sha256_of, write_atomic

MIN_POINTS = 10
CALIBRATION_FORMAT = "lifresponse.calibration"
CALIBRATION_VERSION = 1
_DELTA_CELLS = tuple(name for name, cell in CELLS.items() if cell.synapse == "delta")


class FitError(LifResponseError):
    """The data cannot support a fit (too few usable points, no firing, no spikes returned)."""


@dataclass(frozen=True)
class ModelFit:
    """One model's least-squares fit.

    Attributes
    ----------
    model : str
        "noisy-softplus", "relu", "softplus", "siegert" or "measured".
    params : dict
        Fitted values (k dimensionless, S in Hz/nA, c in nA); empty for Siegert and the
        measured response.
    stderr : dict
        Standard error of each fitted value, from the Jacobian at the optimum.
    rmse : float
        Root mean square error over all usable trials (Hz).
    r2 : float
        Coefficient of determination.
    """

    model: str
    params: dict
    stderr: dict
    rmse: float
    r2: float


@dataclass(frozen=True)
class FitData:
    """The usable trials: input mean (nA), std (nA) and rate (Hz), flat arrays."""

    m: np.ndarray
    s: np.ndarray
    rate: np.ndarray

    @classmethod
    def from_table(cls, table: RateTable) -> FitData:
        if not table.attrs.get("spikes_returned", True):
            raise FitError(f"{table.path}: holds no measured spikes ({table.attrs.get('note')})")
        trials = table.counts.shape[1]
        m = np.repeat(table.point_mean, trials)
        s = np.repeat(table.point_std, trials)
        rate = table.rates.ravel()
        usable = (s > 0) & np.isfinite(rate)
        data = cls(m[usable], s[usable], rate[usable])
        if usable.sum() < MIN_POINTS:
            raise FitError(f"{table.path}: only {int(usable.sum())} usable (rate, m, s > 0) "
                           f"trials; a fit needs at least {MIN_POINTS}")
        if np.count_nonzero(data.rate) < 3:
            raise FitError(f"{table.path}: the neuron (almost) never fired; nothing to fit")
        return data


def _summarise(model, names, result, data: FitData) -> ModelFit:
    residual = result.fun
    n, p = residual.size, len(names)
    rss = float(residual @ residual)
    jac = result.jac
    cov = np.linalg.pinv(jac.T @ jac) * rss / max(n - p, 1)
    stderr = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return ModelFit(model, dict(zip(names, map(float, result.x), strict=True)),
                    dict(zip(names, map(float, stderr), strict=True)),
                    float(np.sqrt(rss / n)), _r2(rss, data.rate))


def _r2(rss, rate):
    tss = float(np.sum((rate - rate.mean()) ** 2))
    return 1.0 - rss / tss if tss > 0 else float("nan")


def _least_squares(*args, **kwargs):
    """``scipy.optimize.least_squares``, imported when a fit is made (it costs every command
    that imports this module 0.3 s)."""
    from scipy.optimize import least_squares as solve

    return solve(*args, **kwargs)


def fit_noisy_softplus(data: FitData, k0=0.3, S0=200.0) -> ModelFit:
    """(k, S) minimising ``sum (S f_ns(m, s; k) - rate)^2``."""
    result = _least_squares(lambda p: p[1] * noisy_softplus(data.m, data.s, p[0]) - data.rate,
                           x0=[k0, S0], bounds=([1e-4, 0.0], [np.inf, np.inf]), x_scale=[0.1, 100])
    return _summarise("noisy-softplus", ("k", "S"), result, data)


def fit_relu(data: FitData) -> ModelFit:
    """S minimising ``sum (S max(0, m) - rate)^2`` (linear: closed form via least_squares)."""
    result = _least_squares(lambda p: p[0] * relu(data.m) - data.rate, x0=[200.0])
    return _summarise("relu", ("S",), result, data)


def fit_softplus(data: FitData) -> ModelFit:
    """(c, S) minimising ``sum (S c ln(1 + exp(m / c)) - rate)^2``: one noise level for all."""
    result = _least_squares(lambda p: p[1] * noisy_softplus(data.m, p[0], 1.0) - data.rate,
                           x0=[0.1, 200.0], bounds=([1e-4, 0.0], [np.inf, np.inf]),
                           x_scale=[0.1, 100])
    return _summarise("softplus", ("c", "S"), result, data)


def siegert_prediction(data: FitData, neuron: LIFParams, dt_noise: float,
                       tau_syn: float) -> ModelFit:
    """Error of the parameter-free Siegert rate (eq. 7) against the measurements."""
    from lifresponse.response import siegert_rate  # with scipy.special: 0.2 s of every command

    residual = siegert_rate(data.m, data.s, neuron, dt_noise, tau_syn) - data.rate
    rss = float(residual @ residual)
    return ModelFit("siegert", {"dt_noise": dt_noise, "tau_syn": tau_syn}, {},
                    float(np.sqrt(rss / residual.size)), _r2(rss, data.rate))


def mean_field_prediction(data: FitData, table: RateTable) -> ModelFit:
    """Error of the parameter-free conductance mean field
    (:mod:`lifresponse.conductance_mean_field`) against an ``IF_cond_exp`` or ``IF_cond_alpha``
    sweep under the Poisson drive: each trial's excitatory and inhibitory trains (one weight,
    uS, and their summed rates, as the drive made them) give the conductances' means and
    deviations."""
    from lifresponse.conductance_mean_field import rate
    from lifresponse.statistics import current_moments, poisson_drive

    drive = drive_from_dict(table.attrs["drive"])
    trains = poisson_drive(data.m, data.s, drive.tau_syn, drive.n_trains, drive.weight,
                           drive.max_weight)
    summed = np.stack([trains.rate_exc * trains.n_exc, trains.rate_inh * trains.n_inh])
    net, sigma = current_moments(summed[..., None], trains.weight[..., None], drive.tau_syn)
    neuron = LIFParams.from_dict(table.attrs["neuron"])
    residual = rate(net, sigma, neuron, drive.tau_syn, table.attrs["timestep_ms"],
                    table.attrs["cell"]) - data.rate
    rss = float(residual @ residual)
    return ModelFit("conductance-mean-field", {}, {}, float(np.sqrt(rss / residual.size)),
                    _r2(rss, data.rate))


def fit_table(table: RateTable) -> list[ModelFit]:
    """The models on one sweep, Noisy Softplus first: ReLU, Softplus, the Siegert prediction
    (eq. 7) where it is of the cell (:func:`siegert_applies`), and the conductance mean field
    for ``IF_cond_exp`` under the Poisson drive."""
    data = FitData.from_table(table)
    fits = [fit_noisy_softplus(data), fit_relu(data), fit_softplus(data)]
    cell, drive = table.attrs.get("cell", "IF_curr_exp"), table.attrs["drive"]
    if siegert_applies(cell, drive["kind"]):
        membrane = {name: value for name, value in table.attrs["neuron"].items()
                    if name in _MEMBRANE}
        fits.append(siegert_prediction(data, LIFParams.from_dict(membrane),
                                       *drive_from_dict(drive).siegert_dt_noise()))
    if cell in CONDUCTANCE_SHAPES and drive["kind"] == "poisson":
        fits.append(mean_field_prediction(data, table))
    measured = measured_response(table)
    return fits if measured is None else [*fits, measured]


def measured_response(table: RateTable) -> ModelFit | None:
    """The measured response as a model, judged where it was not measured: the trial-mean
    rates at every other grid mean from the first, interpolated linearly in
    the mean at each std > 0, predict every trial at the means between them. RMSE (Hz) and
    R^2 over those trials. None for a grid of fewer than 5 means."""
    means, stds = np.asarray(table.means), np.asarray(table.stds)
    if len(means) < 5 or not np.any(stds > 0):
        return None
    rates = np.asarray(table.rates, float).reshape(len(means), len(stds), -1)[:, stds > 0]
    kept, left_out = np.arange(0, len(means), 2), np.arange(1, len(means) - 1, 2)
    known = np.nanmean(rates[kept], axis=2)  # (kept means, stds)
    predicted = np.stack([np.interp(means[left_out], means[kept], known[:, j])
                          for j in range(known.shape[1])], axis=1)
    residual = (rates[left_out] - predicted[:, :, None]).ravel()
    measured = rates[left_out].ravel()
    usable = np.isfinite(residual)
    residual, measured = residual[usable], measured[usable]
    rss = float(residual @ residual)
    return ModelFit("measured", {}, {}, float(np.sqrt(rss / residual.size)),
                    _r2(rss, measured))


# the leaky membrane every IF cell shares, in LIFParams' names
_MEMBRANE = ("cm", "tau_m", "tau_refrac", "v_rest", "v_reset", "v_thresh", "i_offset")


def siegert_applies(cell: str, drive: str) -> bool:
    """Whether the Siegert rate (eq. 7) is the response of ``cell`` under ``drive``: for
    ``IF_curr_exp`` under both drives (the Poisson drive's exponential currents with Fourcaud
    and Brunel's correction), and for every other IF cell under the noisy current, which enters
    the membrane directly, the same leaky membrane whatever the cell's synapses (a conductance
    cell's conductances stay 0). None for ``IF_curr_alpha``, ``IF_cond_*`` under synaptic
    input (no closed form), nor for the EIF and Izhikevich cells (their membranes are not
    leaky integrate-and-fire)."""
    if cell == "IF_curr_exp":
        return True
    return drive == "noisy-current" and cell.startswith("IF_")


def calibration_record(table: RateTable, fits: list[ModelFit]) -> dict:
    """The content of ``calibration.json``: (k, S), the comparison, neuron and provenance."""
    ns = fits[0]
    drive = table.attrs["drive"]
    neuron = table.attrs["neuron"]
    return {
        "format": CALIBRATION_FORMAT,
        "version": CALIBRATION_VERSION,
        "k": ns.params["k"],
        "S": ns.params["S"],
        "k_stderr": ns.stderr["k"],
        "S_stderr": ns.stderr["S"],
        "rmse_hz": ns.rmse,
        "r2": ns.r2,
        # a cell with delta synapses has no synaptic time constant
        "tau_syn_ms": drive.get("tau_syn", neuron.get("tau_syn_E")),
        "timestep_ms": table.attrs["timestep_ms"],
        "drive": drive,
        "cell": table.attrs.get("cell", "IF_curr_exp"),
        "neuron": neuron,
        "comparison": [asdict(f) for f in fits],
        "provenance": {
            "rates_file": str(table.path) if table.path else "(in memory)",
            "rates_sha256": sha256_of(table.path) if table.path else "",
            "backend": table.attrs["backend"],
            "backend_version": table.attrs["backend_version"],
            "spike_precision": table.attrs["spike_precision"],
            "seed": table.attrs["seed"],
            "trials": table.attrs["trials"],
            "duration_ms": table.attrs["duration_ms"],
            "sweep_lifresponse_version": table.attrs["lifresponse_version"],
            "fit_lifresponse_version": lifresponse.__version__,
            "fitted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    }


def write_calibration(record: dict, path) -> None:
    """Write ``calibration.json`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(record, indent=2) + "\n")


def read_calibration(path) -> dict:
    """Read and validate ``calibration.json``; returns the record (k, S, tau_syn_ms, ...)."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file") from None
    except OSError as exc:  # a folder, no permission
        raise FileFormatError(f"{path}: cannot read a calibration file there "
                              f"({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path}: not JSON ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != CALIBRATION_FORMAT:
        raise FileFormatError(f"{path}: not a lifresponse calibration file")
    if record.get("version", 0) > CALIBRATION_VERSION:
        raise FileFormatError(f"{path}: calibration version {record.get('version')}; this "
                              f"lifresponse reads up to {CALIBRATION_VERSION}")
    for key in ("k", "S", "tau_syn_ms", "timestep_ms", "neuron"):
        if key not in record:
            raise FileFormatError(f"{path}: missing {key!r}")
    for key in ("k", "S", "tau_syn_ms", "timestep_ms"):
        value = record[key]
        if key == "tau_syn_ms" and value is None and record.get("cell") in _DELTA_CELLS:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and value > 0):
            raise FileFormatError(f"{path}: {key} must be a number > 0 (got {value!r})")
    if not isinstance(record["neuron"], dict):
        raise FileFormatError(f"{path}: neuron must be a table of LIFParams fields (got "
                              f"{record['neuron']!r})")
    return record


def _trained_neuron(cell: str, values: dict) -> LIFParams | CellParams:
    """The neuron of a network of ``cell`` (one of :data:`ANN_CELLS`): :class:`LIFParams` for
    the ``IF_`` cells, the cell's own :class:`CellParams` for the others (``values`` without
    the synaptic time constants a cell with delta synapses does not have)."""
    if cell in NON_LIF_CELLS:
        return CellParams.of(cell, {k: v for k, v in values.items()
                                    if k in cell_type(cell).units})
    return LIFParams.from_dict(values)


@dataclass(frozen=True)
class Calibration:
    """What training needs from a calibration: (k, S) and the neuron and step they hold for.

    Attributes
    ----------
    k : float
        Noisy Softplus shape (dimensionless).
    S : float
        Scale (Hz/nA).
    tau_syn : float
        Synaptic time constant the calibration was made with (ms).
    timestep : float
        Simulation step of the calibration sweep (ms); networks run at it.
    neuron : LIFParams or CellParams
        The calibrated neuron, its ``tau_syn_E/I`` equal to ``tau_syn``
        (:class:`~lifresponse.cells.CellParams` for a cell other than ``IF_curr_exp``).
    source : str
        The calibration file, or a note that the values were given by hand.
    record : dict
        The whole ``calibration.json`` content (empty when given by hand).
    cell : str
        The PyNN cell calibrated; networks trained with it are built of it.
    """

    k: float
    S: float
    tau_syn: float
    timestep: float
    neuron: LIFParams | CellParams
    source: str
    record: dict = field(default_factory=dict, compare=False)
    cell: str = "IF_curr_exp"

    @classmethod
    def from_record(cls, record: dict, source: str) -> Calibration:
        """From the content of ``calibration.json`` (:func:`calibration_record`).

        A calibration of a cell networks are not built of holds its
        :class:`~lifresponse.cells.CellParams`, and one of a cell with delta synapses under
        the noisy current ``tau_syn`` 0; training refuses both (:meth:`require_trainable`).
        """
        cell = record.get("cell", "IF_curr_exp")
        tau = float(record["tau_syn_ms"] or 0.0)
        try:
            if cell in ANN_CELLS:  # the synapses' time constants are the drive's (a noisy
                # current into delta synapses has none: the neuron keeps its own, unused)
                synapses = {"tau_syn_E": tau, "tau_syn_I": tau} if tau > 0 else {}
                neuron = _trained_neuron(cell, {**record["neuron"], **synapses})
            else:
                neuron = CellParams.of(cell, record["neuron"])
        except (TypeError, ValueError) as exc:
            raise FileFormatError(f"{source}: neuron: {exc}") from None
        return cls(float(record["k"]), float(record["S"]), tau, float(record["timestep_ms"]),
                   neuron, source, record, cell)

    def require_trainable(self) -> None:
        """Raise :class:`ParameterError` unless networks can be trained with this calibration:
        networks are built of :data:`ANN_CELLS`, with the synaptic time constant of their
        input statistics."""
        if self.cell not in ANN_CELLS:
            raise ParameterError("calibration", f"{self.source} calibrates {self.cell}; "
                                 f"networks train and deploy with "
                                 f"{' or '.join(ANN_CELLS)} calibrations only")
        if not self.tau_syn > 0:
            raise ParameterError("calibration", f"{self.source} calibrates {self.cell} under "
                                 f"{self.record.get('drive', {}).get('kind', 'a drive')} "
                                 "without the synaptic time constant (tau_syn) the ANN's "
                                 "input statistics need; calibrate it with --drive poisson")

    @classmethod
    def read(cls, path) -> Calibration:
        """Read and validate ``calibration.json``."""
        return cls.from_record(read_calibration(path), str(path))

    @classmethod
    def by_hand(cls, k: float = 0.30, S: float = 201.0, tau_syn: float = 5.0,
                timestep: float = 1.0, neuron: LIFParams | CellParams | None = None,
                cell: str = "IF_curr_exp") -> Calibration:
        """Values given by hand (default: the paper's tau_syn = 5 ms calibration, Table 1
        neuron, 1 ms step, ``IF_curr_exp``; ``cell`` one of :data:`ANN_CELLS`, whose default
        neuron is :data:`lifresponse.cells.CELLS`' for it: Table 1, with PyNN's reversal
        potentials for the ``IF_cond_`` cells, PyNN's defaults for the ``EIF_`` cells and
        ``Izhikevich``)."""
        if cell not in ANN_CELLS:
            raise ParameterError("cell", f"networks are built of {' or '.join(ANN_CELLS)}"
                                 f" (got {cell!r})")
        for name, value in (("k", k), ("S", S), ("tau_syn", tau_syn), ("timestep", timestep)):
            if not (math.isfinite(value) and value > 0):
                raise ParameterError(name, f"must be > 0 (got {value})")
        values = neuron.to_dict() if neuron is not None else cell_type(cell).defaults
        neuron = _trained_neuron(cell, {**values, "tau_syn_E": tau_syn, "tau_syn_I": tau_syn})
        return cls(float(k), float(S), float(tau_syn), float(timestep), neuron, "given by hand",
                   cell=cell)
