"""Devices an energy estimate can be made for: energy per synaptic event and per neuron update,
each with its source.

A spiking device pays per synaptic event (a spike arriving at one synapse) and per neuron
update (one neuron advanced by one timestep). A non-spiking device (a CPU or GPU running the
ANN) pays per multiply-accumulate and per neuron (activation) of one inference. The built-in
rows are :data:`BUILT_IN`; a user adds devices in a JSON or TOML file (:func:`read_devices`)::

    [[devices]]
    name = "my-board"
    spiking = true
    joules_per_synaptic_event = 1.0e-9
    joules_per_neuron_update = 5.0e-9
    source = "our measurement, 2026"
    year = 2026
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from lifresponse.errors import FileFormatError, ParameterError


@dataclass(frozen=True)
class Device:
    """One device's energy constants.

    Attributes
    ----------
    name : str
        What ``--hardware`` calls it.
    spiking : bool
        True: pays per synaptic event and per neuron update of the SNN run. False: runs the
        ANN, paying per multiply-accumulate and per neuron of each inference.
    joules_per_synaptic_event : float
        J per synaptic event (spiking) or per multiply-accumulate (not spiking).
    joules_per_neuron_update : float
        J per neuron and timestep (spiking) or per neuron and inference (not spiking).
    source : str
        Where the constants come from.
    year : int
        Year of the source.
    """

    name: str
    spiking: bool
    joules_per_synaptic_event: float
    joules_per_neuron_update: float
    source: str
    year: int

    def __post_init__(self):
        for field in ("joules_per_synaptic_event", "joules_per_neuron_update"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    math.isfinite(value) and 0 <= value <= 1):
                raise ParameterError(f"{self.name}: {field} must be a number from 0 to 1 J "
                                     f"(got {value!r})")
        if not isinstance(self.name, str) or not self.name.strip() or "," in self.name:
            raise ParameterError("name", f"must be a name without commas, which --hardware "
                                 f"separates (got {self.name!r})")
        if not isinstance(self.spiking, bool):
            raise ParameterError(f"{self.name}: spiking must be true or false (got "
                                 f"{self.spiking!r})")

    def to_dict(self) -> dict:
        return asdict(self)


HOEPPNER_2019 = ("Hoeppner et al. 2019, 'Dynamic power management for neuromorphic many-core "
                 "systems', IEEE TCAS-I 66(8), arXiv:1903.08941 (the figures KerasSpiking uses)")
DEGNAN_2016 = ("Degnan, Marr & Hasler, 'Assessing trends in performance per watt for signal "
               "processing applications', IEEE TVLSI 24(1) 2016, one MAC per synapse and per "
               "neuron (the figures KerasSpiking uses)")

BUILT_IN = (
    Device("spinnaker-paper", True, 8e-9, 0.0,
           "Liu, Chen & Furber, 'Noisy Softplus: an activation function that enables SNNs to be "
           "trained as ANNs', eq. 17-18: about 8 nJ per synaptic event on SpiNNaker, no "
           "per-update term", 2017),
    Device("spinnaker1", True, 13.3e-9, 26e-9, "SpiNNaker 1, " + HOEPPNER_2019, 2019),
    Device("spinnaker2", True, 450e-12, 2.19e-9, "SpiNNaker 2 prototype, " + HOEPPNER_2019,
           2019),
    Device("loihi", True, 27.1e-12, 81e-12,
           "Davies et al. 2018, 'Loihi: a neuromorphic manycore processor with on-chip "
           "learning', IEEE Micro 38(1), Table 1, combined as KerasSpiking does: synaptic "
           "spike op 23.6 pJ + across-tile spike 3.5 pJ per event; active neuron update 81 pJ "
           "(an inactive one costs 52 pJ)", 2018),
    Device("cpu", False, 8.6e-9, 8.6e-9, "Intel Core i7-4960X, " + DEGNAN_2016, 2016),
    Device("gpu", False, 0.3e-9, 0.3e-9, "Nvidia GTX Titan Black, " + DEGNAN_2016, 2016),
)

DEFAULT_DEVICES = tuple(d.name for d in BUILT_IN)  # what a report covers unless told
_FIELDS = ("name", "spiking", "joules_per_synaptic_event", "joules_per_neuron_update",
           "source", "year")


def read_devices(path) -> list[Device]:
    """Devices from a JSON (``{"devices": [{...}, ...]}``) or TOML (``[[devices]]``) file.

    Raises
    ------
    FileFormatError
        Naming the file, the device and the field at fault.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        if path.suffix == ".toml":
            import tomllib

            content = tomllib.loads(text)
        else:
            content = json.loads(text)
    except ImportError:
        raise FileFormatError(f"{path}: TOML needs Python 3.11 or newer; write the devices "
                              "as JSON") from None
    except ValueError as exc:
        raise FileFormatError(f"{path}: not {'TOML' if path.suffix == '.toml' else 'JSON'} "
                              f"({exc})") from None
    rows = content.get("devices") if isinstance(content, dict) else None
    extra = sorted(set(content) - {"devices"}) if isinstance(content, dict) else []
    if extra:
        raise FileFormatError(f"{path}: unknown {', '.join(extra)}; the file holds 'devices' "
                              "only")
    if not isinstance(rows, list) or not rows:
        raise FileFormatError(f"{path}: needs a non-empty list 'devices'")
    devices = []
    for number, row in enumerate(rows, 1):
        where = f"{path}: device {number}"
        if not isinstance(row, dict):
            raise FileFormatError(f"{where}: must be a table of {', '.join(_FIELDS)}")
        missing = [f for f in _FIELDS if f not in row]
        unknown = sorted(set(row) - set(_FIELDS))
        if missing or unknown:
            raise FileFormatError(f"{where} ({row.get('name', '?')}): "
                                  + (f"missing {', '.join(missing)}" if missing else "")
                                  + ("; " if missing and unknown else "")
                                  + (f"unknown {', '.join(unknown)}" if unknown else ""))
        if not isinstance(row["year"], int) or isinstance(row["year"], bool) or not (
                1940 <= row["year"] <= 2100):
            raise FileFormatError(f"{where} ({row['name']}): year must be a whole number from "
                                  f"1940 to 2100 (got {row['year']!r})")
        try:
            devices.append(Device(**row))
        except ParameterError as exc:
            raise FileFormatError(f"{where}: {exc}") from None
        if [d.name for d in devices].count(row["name"]) > 1:
            raise FileFormatError(f"{where}: a second device named {row['name']!r}; names must "
                                  "differ")
    return devices


def select(names, extra: list[Device] = ()) -> list[Device]:
    """The devices called ``names`` (a list, or a comma-separated string), from the built-in
    rows and ``extra`` (which may replace a built-in row of the same name)."""
    table = {d.name: d for d in BUILT_IN} | {d.name: d for d in extra}
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ParameterError("hardware", f"unknown device {', '.join(map(repr, unknown))}; "
                             f"known are {', '.join(table)}")
    if not names:
        raise ParameterError("hardware", "name at least one device")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ParameterError("hardware", f"{', '.join(map(repr, twice))} named twice")
    return [table[n] for n in names]
