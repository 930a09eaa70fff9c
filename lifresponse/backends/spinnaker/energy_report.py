"""sPyNNaker's own energy report (``energy_report_<n>.rpt``), read into numbers.

On a real board with ``[Reports] write_energy_report = True``, sPyNNaker measures the chips'
power monitors and writes a summary (``spinn_front_end_common``'s ``EnergyReport``): boards,
frames, chips and cores used; execution, mapping, loading, saving and other time (s) and energy
(J); the total. A virtual board writes none. The deploy run keeps the report's text, and the
energy report sets these measured numbers beside the models.
"""

from __future__ import annotations

import re

from lifresponse.errors import FileFormatError

_LINES = {
    "n_boards": r"Simulation used (\d+) boards",
    "n_frames": r"in (\d+) frames",
    "n_chips": r"made up of (\d+) chips",
    "n_cores": r"Simulation cores used: (\d+) in total",
    "n_active_cores": r"in total, (\d+) actively",
    "n_active_chips": r"actively on (\d+) chips",
    "exec_time_s": r"Simulation execution time: (\S+) seconds",
    "exec_energy_j": r"Simulation execution energy: (\S+) Joules",
    "exec_energy_cores_j": r"execution energy \(active chips and cores only\): (\S+) Joules",
    "exec_energy_boards_j": r"execution energy \(ignoring frame power\): (\S+) Joules",
    "mapping_time_s": r"Mapping time: (\S+) seconds",
    "mapping_energy_j": r"Mapping energy: (\S+) Joules",
    "loading_time_s": r"Loading time: (\S+) seconds",
    "loading_energy_j": r"Loading energy: (\S+) Joules",
    "saving_time_s": r"Saving time: (\S+) seconds",
    "saving_energy_j": r"Saving energy: (\S+) Joules",
    "other_time_s": r"Other time: (\S+) seconds",
    "other_energy_j": r"Other energy: (\S+) Joules",
    "total_energy_j": r"Total energy: (\S+) Joules",
}


def parse_energy_report(text: str, source: str = "sPyNNaker energy report") -> dict:
    """Every number of a summary energy report, by name (counts as int, the rest as float).

    Raises
    ------
    FileFormatError
        Naming ``source`` and the first line that is missing or unreadable.
    """
    if not text.startswith("Energy Report"):
        raise FileFormatError(f"{source}: not an sPyNNaker energy report (no 'Energy Report' "
                              "heading)")
    values = {}
    for name, pattern in _LINES.items():
        match = re.search(pattern, text)
        if match is None:
            raise FileFormatError(f"{source}: no line matching {pattern!r}")
        try:
            values[name] = int(match.group(1)) if name.startswith("n_") else float(
                match.group(1))
        except ValueError:
            raise FileFormatError(f"{source}: {name}: not a number "
                                  f"({match.group(1)!r})") from None
    return values
