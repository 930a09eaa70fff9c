"""Parameters of the LIF neuron (PyNN ``IF_curr_exp``, NEST ``iaf_psc_exp``; with reversal
potentials, the conductance-based ``IF_cond_exp``).

Defaults are Table 1 of both Noisy Softplus papers. Names and units are PyNN's: ms, mV, nA, nF.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lifresponse.errors import ParameterError


@dataclass(frozen=True)
class LIFParams:
    """Current-based leaky integrate-and-fire neuron with exponential synapses.

    Parameters
    ----------
    cm : float
        Membrane capacitance (nF).
    tau_m : float
        Membrane time constant (ms).
    tau_refrac : float
        Refractory period (ms).
    v_reset : float
        Reset potential after a spike (mV).
    v_rest : float
        Resting potential (mV).
    v_thresh : float
        Spike threshold (mV).
    i_offset : float
        Constant current the neuron always receives on top of any input (nA).
    tau_syn_E, tau_syn_I : float
        Decay time constants of excitatory and inhibitory synaptic currents (ms).
    e_rev_E, e_rev_I : float or None
        Reversal potentials of the excitatory and inhibitory synaptic conductances (mV), for a
        conductance-based cell; None (left out of :meth:`to_dict`) for a current-based one.

    Raises
    ------
    ParameterError
        If a value is not finite or out of range; the message names the field and the value.
    """

    cm: float = 0.25
    tau_m: float = 20.0
    tau_refrac: float = 1.0
    v_reset: float = -65.0
    v_rest: float = -65.0
    v_thresh: float = -50.0
    i_offset: float = 0.1
    tau_syn_E: float = 5.0
    tau_syn_I: float = 5.0
    e_rev_E: float | None = None
    e_rev_I: float | None = None

    def __post_init__(self) -> None:
        if (self.e_rev_E is None) != (self.e_rev_I is None):
            raise ParameterError("LIFParams.e_rev_E, e_rev_I: give both reversal potentials (a "
                                 "conductance-based cell) or neither (a current-based one)")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None and field.name in _REVERSAL:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParameterError(
                    f"LIFParams.{field.name}: must be a number (got {value!r})"
                )
            if not math.isfinite(value):
                raise ParameterError(f"LIFParams.{field.name}: must be finite (got {value})")
            object.__setattr__(self, field.name, float(value))
        for name in ("cm", "tau_m", "tau_syn_E", "tau_syn_I"):
            if getattr(self, name) <= 0:
                raise ParameterError(f"LIFParams.{name}: must be > 0 (got {getattr(self, name)})")
        if self.tau_refrac < 0:
            raise ParameterError(f"LIFParams.tau_refrac: must be >= 0 (got {self.tau_refrac})")
        if self.v_thresh <= self.v_reset:
            raise ParameterError(
                f"LIFParams.v_thresh: must be above v_reset = {self.v_reset} mV "
                f"(got {self.v_thresh})"
            )
        if self.v_thresh <= self.v_rest:
            raise ParameterError(
                f"LIFParams.v_thresh: must be above v_rest = {self.v_rest} mV (got {self.v_thresh})"
            )

    @property
    def r_m(self) -> float:
        """Membrane resistance tau_m / cm (MOhm)."""
        return self.tau_m / self.cm

    @property
    def rheobase(self) -> float:
        """Total constant current needed to reach threshold, (v_thresh - v_rest) / R_m (nA)."""
        return (self.v_thresh - self.v_rest) / self.r_m

    @property
    def input_rheobase(self) -> float:
        """Input current needed to fire, on top of ``i_offset`` (nA)."""
        return self.rheobase - self.i_offset

    @property
    def conductance_based(self) -> bool:
        """Whether these are the parameters of a conductance-based cell (reversal potentials)."""
        return self.e_rev_E is not None

    def to_pynn(self, cell: str = "IF_curr_exp") -> dict[str, float]:
        """Cell parameters for PyNN ``cell`` (``IF_curr_exp``, ``IF_curr_alpha``,
        ``IF_curr_delta``, which has no synaptic time constants, or ``IF_cond_exp``), in PyNN
        names and units.

        Raises
        ------
        ParameterError
            A conductance-based cell without reversal potentials, or a current-based one with
            them.
        """
        values = self.to_dict()
        conductance = cell.startswith("IF_cond")
        if conductance != self.conductance_based:
            raise ParameterError("neuron", f"{cell} takes {'' if conductance else 'no '}reversal "
                                 f"potentials (got e_rev_E={self.e_rev_E}, "
                                 f"e_rev_I={self.e_rev_I})")
        if cell == "IF_curr_delta":
            del values["tau_syn_E"], values["tau_syn_I"]
        return values

    def to_dict(self) -> dict[str, float]:
        """All parameters as a plain ``{name: value}`` dictionary (the reversal potentials only
        when set)."""
        return {name: value for name, value in dataclasses.asdict(self).items()
                if value is not None}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> LIFParams:
        """Build from a mapping; unknown names are an error, missing names take defaults.

        Raises
        ------
        ParameterError
            If a key is not a parameter name or a value is invalid.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ParameterError(
                "LIFParams", f"unknown parameter(s) {', '.join(unknown)}; "
                f"known are {', '.join(sorted(known))}"
            )
        return cls(**{name: _plain_number(value) for name, value in values.items()})


_REVERSAL = ("e_rev_E", "e_rev_I")


def _plain_number(value: Any) -> Any:
    """Turn numpy scalars (as read from HDF5 attributes) into Python numbers."""
    return value.item() if hasattr(value, "item") else value
