"""The PyNN standard cells the toolkit calibrates, each a typed, validated parameter table with
PyNN's names and units (ms, mV, nA, nF, uS; Izhikevich: its own per-ms units).

One :class:`CellType` per cell, in PyNN's pattern (``default_parameters`` and ``units`` of
``pyNN.standardmodels.cells``, written out here so that no simulator need be imported):

- the integrate-and-fire cells (``IF_*``) default to Table 1 of the Noisy Softplus papers for
  the parameters they share with ``IF_curr_exp`` (:class:`lifresponse.neuron.LIFParams`), so
  their responses differ by the cell, not by its parameters; their others (reversal
  potentials) are PyNN's defaults;
- the adaptive exponential cells (``EIF_*``) and ``Izhikevich`` keep PyNN's defaults (Brette and
  Gerstner 2005; Izhikevich 2003's regular spiking), their own biophysics.

Synapses: ``exp`` (exponential currents or conductances), ``alpha``, or ``delta`` (a weight is a
jump of the membrane potential, mV). Input: ``current`` (weights in nA) or ``conductance``
(weights in uS).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lifresponse.errors import ParameterError
from lifresponse.neuron import LIFParams

_TABLE_1 = LIFParams().to_dict()
_IF_COMMON = {"cm": "nF", "tau_m": "ms", "tau_refrac": "ms", "v_rest": "mV", "v_reset": "mV",
              "v_thresh": "mV", "i_offset": "nA"}
_SYN = {"tau_syn_E": "ms", "tau_syn_I": "ms"}
_REVERSAL = {"e_rev_E": "mV", "e_rev_I": "mV"}
_ADEX = {"cm": "nF", "tau_refrac": "ms", "v_spike": "mV", "v_reset": "mV", "v_rest": "mV",
         "tau_m": "ms", "i_offset": "nA", "a": "nS", "b": "nA", "delta_T": "mV",
         "tau_w": "ms", "v_thresh": "mV", "e_rev_E": "mV", "tau_syn_E": "ms",
         "e_rev_I": "mV", "tau_syn_I": "ms"}
_ADEX_DEFAULTS = {"cm": 0.281, "tau_refrac": 0.1, "v_spike": -40.0, "v_reset": -70.6,
                  "v_rest": -70.6, "tau_m": 9.3667, "i_offset": 0.0, "a": 4.0, "b": 0.0805,
                  "delta_T": 2.0, "tau_w": 144.0, "v_thresh": -50.4, "e_rev_E": 0.0,
                  "tau_syn_E": 5.0, "e_rev_I": -80.0, "tau_syn_I": 5.0}
# parameters that must be > 0 (or >= 0) wherever a cell has them
_POSITIVE = ("cm", "tau_m", "tau_syn_E", "tau_syn_I", "tau_w", "delta_T")
_NON_NEGATIVE = ("tau_refrac", "a")


@dataclass(frozen=True)
class CellType:
    """One PyNN standard cell.

    Attributes
    ----------
    name : str
        Its PyNN name.
    nest_model : str
        The NEST model PyNN builds it as.
    synapse : {"exp", "alpha", "delta"}
    input : {"current", "conductance"}
    units : dict
        Parameter -> unit, in PyNN's order.
    defaults : dict
        Parameter -> default value (module docstring: which).
    """

    name: str
    nest_model: str
    synapse: str
    input: str
    units: dict
    defaults: dict = field(repr=False)

    @property
    def weight_unit(self) -> str:
        """What a synaptic weight onto this cell is measured in."""
        if self.synapse == "delta":
            return "mV"
        return "uS" if self.input == "conductance" else "nA"


def _if_cell(name: str, nest_model: str, synapse: str, input_: str) -> CellType:
    units = dict(_IF_COMMON)
    if synapse != "delta":
        units.update(_SYN)
    if input_ == "conductance":
        units.update(_REVERSAL)
    defaults = {"e_rev_E": 0.0, "e_rev_I": -70.0, **_TABLE_1}
    return CellType(name, nest_model, synapse, input_, units,
                    {k: defaults[k] for k in units})


CELLS = {cell.name: cell for cell in (
    _if_cell("IF_curr_exp", "iaf_psc_exp", "exp", "current"),
    _if_cell("IF_curr_alpha", "iaf_psc_alpha", "alpha", "current"),
    _if_cell("IF_curr_delta", "iaf_psc_delta", "delta", "current"),
    _if_cell("IF_cond_exp", "iaf_cond_exp", "exp", "conductance"),
    _if_cell("IF_cond_alpha", "iaf_cond_alpha", "alpha", "conductance"),
    CellType("EIF_cond_exp_isfa_ista", "aeif_cond_exp", "exp", "conductance", dict(_ADEX),
             dict(_ADEX_DEFAULTS)),
    CellType("EIF_cond_alpha_isfa_ista", "aeif_cond_alpha", "alpha", "conductance",
             dict(_ADEX), dict(_ADEX_DEFAULTS)),
    CellType("Izhikevich", "izhikevich", "delta", "current",
             {"a": "1/ms", "b": "1/ms", "c": "mV", "d": "mV/ms", "i_offset": "nA"},
             {"a": 0.02, "b": 0.2, "c": -65.0, "d": 2.0, "i_offset": 0.0}),
)}


# the cells networks are trained of: an ANN with a cell's calibrated (k, S) models them (for
# the conductance cells, weights are conductances, uS, and the ANN's mean and noise are
# conductances too; for the cells with delta synapses, IF_curr_delta and Izhikevich, membrane
# jumps, mV, their statistics those of the Poisson drive, calibration.drives.PoissonCurrentDrive)
ANN_CELLS = ("IF_curr_exp", "IF_curr_alpha", "IF_curr_delta", "IF_cond_exp", "IF_cond_alpha",
             "EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista", "Izhikevich")
CONDUCTANCE_CELLS = ("IF_cond_exp", "IF_cond_alpha", "EIF_cond_exp_isfa_ista",
                     "EIF_cond_alpha_isfa_ista")  # of ANN_CELLS
ADEX_CELLS = ("EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista")  # adaptive exponential
# of ANN_CELLS, those whose neuron is not a LIFParams but the cell's own CellParams
NON_LIF_CELLS = (*ADEX_CELLS, "Izhikevich")


def one_input(cell: str) -> bool:
    """Whether ``cell``'s synapses are delta synapses (``IF_curr_delta``, ``Izhikevich``): both
    signs' weights arrive in one buffer, as jumps of the membrane."""
    return CELLS[cell].synapse == "delta"


def bias_refusal(cell: str) -> str | None:
    """Why a trained network of ``cell`` takes no bias, or None where it takes one: a layer's
    bias is a current (nA), and the ANN of a conductance cell computes with conductances, that
    of a cell with delta synapses with membrane jumps."""
    if cell in CONDUCTANCE_CELLS or one_input(cell):
        inputs = "conductances" if cell in CONDUCTANCE_CELLS else "membrane jumps"
        return f"{cell} neurons take no bias (a layer's bias is a current, and its ANN's " \
               f"inputs are {inputs})"
    return None


def cell_type(name: str) -> CellType:
    """The :class:`CellType` called ``name``.

    Raises
    ------
    ParameterError
        For a cell the toolkit does not know, naming the ones it does.
    """
    if name not in CELLS:
        raise ParameterError("cell", f"unknown cell {name!r}; known are {', '.join(CELLS)}")
    return CELLS[name]


@dataclass(frozen=True)
class CellParams:
    """A cell and every one of its parameters (PyNN names and units, :attr:`CellType.units`).

    Use :meth:`of` to build one from a cell's defaults and the values given. Each parameter
    also reads as an attribute (``params.v_thresh``), as :class:`LIFParams`' fields do.
    """

    cell: str
    values: dict

    def __getattr__(self, name: str) -> float:
        if name.startswith("__") or name == "values":  # not a parameter (copying, pickling)
            raise AttributeError(name)
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(f"{self.cell} has no parameter {name!r}") from None

    @property
    def conductance_based(self) -> bool:
        """Whether the cell's synapses are conductances (weights in uS)."""
        return cell_type(self.cell).input == "conductance"

    @classmethod
    def of(cls, cell: str, values: Mapping[str, Any] | None = None) -> CellParams:
        """``cell``'s defaults with ``values`` over them, checked.

        Raises
        ------
        ParameterError
            An unknown cell, a parameter the cell does not have, a value that is not a finite
            number or is out of the cell's range; the message names the cell, the parameter
            and the value.
        """
        kind = cell_type(cell)
        values = dict(values or {})
        unknown = sorted(set(values) - set(kind.units))
        if unknown:
            raise ParameterError("neuron", f"{cell} has no parameter {', '.join(unknown)}; its "
                                 f"parameters are {', '.join(kind.units)}")
        merged = {**kind.defaults, **values}
        for name, value in merged.items():
            value = value.item() if hasattr(value, "item") else value
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not \
                    math.isfinite(value):
                raise ParameterError("neuron", f"{cell}.{name}: must be a finite number "
                                     f"({kind.units[name]}; got {value!r})")
            merged[name] = float(value)
        for name in _POSITIVE:
            if name in merged and merged[name] <= 0:
                raise ParameterError("neuron", f"{cell}.{name}: must be > 0 {kind.units[name]} "
                                     f"(got {merged[name]:g})")
        for name in _NON_NEGATIVE:
            if name in merged and merged[name] < 0:
                raise ParameterError("neuron", f"{cell}.{name}: must be >= 0 "
                                     f"{kind.units[name]} (got {merged[name]:g})")
        for low, high in (("v_reset", "v_thresh"), ("v_rest", "v_thresh"),
                          ("v_thresh", "v_spike")):
            if low in merged and high in merged and not merged[high] > merged[low]:
                raise ParameterError("neuron", f"{cell}.{high}: must be above {low} = "
                                     f"{merged[low]:g} mV (got {merged[high]:g})")
        return cls(cell, merged)

    def is_for(self, cell: str) -> bool:
        """Whether these parameters are those of ``cell``: it has the same parameters as
        :attr:`cell` (``EIF_cond_exp_isfa_ista`` and ``EIF_cond_alpha_isfa_ista`` do)."""
        return cell_type(cell).units.keys() == cell_type(self.cell).units.keys()

    def to_pynn(self, cell: str | None = None) -> dict[str, float]:
        """Keyword arguments of the PyNN cell type: of :attr:`cell`, or of ``cell`` if it
        has the same parameters (``EIF_cond_exp_isfa_ista`` and ``EIF_cond_alpha_isfa_ista``).

        Raises
        ------
        ParameterError
            ``cell`` has other parameters than :attr:`cell`.
        """
        if cell is not None and not self.is_for(cell):
            raise ParameterError("neuron", f"parameters of {self.cell} for cell {cell}")
        return dict(self.values)

    def to_dict(self) -> dict[str, float]:
        """The parameters as a plain dictionary (as stored in ``rates.h5``)."""
        return dict(self.values)
