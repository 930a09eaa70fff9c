"""The sPyNNaker configuration file: where sPyNNaker runs (a board, a spalloc server or a virtual
board).

sPyNNaker reads ``spynnaker.cfg`` in the working directory (over ``~/.spynnaker.cfg``, which it
insists exists). lifresponse writes the working-directory file only, and says so when the home
file is missing instead of creating it behind the user's back.
"""

from __future__ import annotations

import configparser
import io
from dataclasses import dataclass
from pathlib import Path

from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.paths import write_atomic

CONFIG_NAME = "spynnaker.cfg"


@dataclass(frozen=True)
class BoardConfig:
    """Where sPyNNaker runs: ``kind`` is "virtual", "board" or "spalloc".

    Attributes
    ----------
    kind : str
    host : str
        Board address (``machine_name``) for "board"; spalloc server URL for "spalloc".
    version : int
        Board version (5 for a 48-chip SpiNN-5 board, 3 for a 4-chip SpiNN-3).
    user : str
        spalloc user name.
    """

    kind: str = "virtual"
    host: str = ""
    version: int = 5
    user: str = ""

    def __post_init__(self):
        if self.kind not in ("virtual", "board", "spalloc"):
            raise ParameterError(f"board kind must be virtual, board or spalloc (got "
                                 f"{self.kind!r})")
        if self.kind != "virtual" and not self.host:
            raise ParameterError(self.kind, f"a {self.kind} configuration needs a host or "
                                 f"URL (got {self.host!r})")
        if any(c.isspace() or not c.isprintable() for c in self.host + self.user):
            raise ParameterError(self.kind, f"spaces or control characters in {self.host!r} "
                                 f"{self.user!r}")
        if self.kind == "board" and "://" in self.host:
            raise ParameterError("board", f"a board is a host name or address, not a URL (got "
                                 f"{self.host!r}); a URL is a spalloc server (--spalloc)")
        if self.version not in (3, 5):
            raise ParameterError("version", f"SpiNNaker board version 3 or 5 (got "
                                 f"{self.version})")


def write_config(config: BoardConfig, directory=".") -> Path:
    """Write ``spynnaker.cfg`` for ``config`` into ``directory``; returns its path."""
    parser = configparser.ConfigParser()
    machine = {"version": str(config.version)}
    if config.kind == "virtual":
        machine["virtual_board"] = "True"
    elif config.kind == "board":
        machine["machine_name"] = config.host
    else:
        machine["spalloc_server"] = config.host
        if config.user:
            machine["spalloc_user"] = config.user
    parser["Machine"] = machine
    if config.kind != "virtual":  # a board measures its power: keep sPyNNaker's own report
        parser["Reports"] = {"write_energy_report": "True"}
    path = Path(directory) / CONFIG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    parser.write(text)
    write_atomic(path, text.getvalue())
    return path


def read_config(directory=".") -> BoardConfig:
    """The configuration in ``directory/spynnaker.cfg``.

    Raises
    ------
    FileFormatError
        If the file is missing or names no machine.
    """
    path = Path(directory) / CONFIG_NAME
    parser = configparser.ConfigParser()
    try:
        if not parser.read(path):
            raise FileFormatError(f"{path}: no such file; write one with 'lifresponse spinnaker "
                                  "config'")
    except configparser.Error as exc:
        raise FileFormatError(f"{path}: not a configuration file ({exc})") from None
    machine = parser["Machine"] if parser.has_section("Machine") else {}
    version = int(machine.get("version", 5))
    if str(machine.get("virtual_board", "False")).lower() == "true":
        return BoardConfig("virtual", version=version)
    if machine.get("machine_name"):
        return BoardConfig("board", machine["machine_name"], version)
    if machine.get("spalloc_server"):
        return BoardConfig("spalloc", machine["spalloc_server"], version,
                           machine.get("spalloc_user", ""))
    raise FileFormatError(f"{path}: [Machine] names no virtual_board, machine_name or "
                          "spalloc_server")


def ensure_home_config(create: bool) -> str | None:
    """What to tell the user about ``~/.spynnaker.cfg``, which sPyNNaker insists exists:
    None if it does; with ``create``, an empty one is written."""
    home = Path.home() / ".spynnaker.cfg"
    if home.exists():
        return None
    if create:
        write_atomic(home, "[Machine]\n")
        return f"wrote an empty {home} (sPyNNaker requires it)"
    return (f"note: sPyNNaker refuses to start without {home}; create it (it may be empty), or "
            "run again with --home-stub")
