"""Reset by subtraction on NEST: two NESTML neuron models, built once per installation.

NEST's built-in ``iaf_psc_exp`` and ``iaf_psc_delta`` set the membrane to ``V_reset`` after a
spike; none subtracts. ``nestml/iaf_psc_exp_subtract.nestml`` and
``nestml/iaf_psc_delta_subtract.nestml`` are those two models written out in NESTML, the NEST
community's modelling language, operation by operation as NEST 3.10 computes them (the same
propagators, the same order of floating-point operations, the membrane relative to ``E_L``),
with ``V_m -= V_th - V_reset`` at a spike. With ``reset_by_subtraction = false`` they are
measured equal to the built-ins, membrane and spikes, bit for bit
(``tests/test_subtract_reset.py``).
A neuron fires only when it is not refractory (the built-ins check the threshold in every step,
which with a reset to ``V_reset`` comes to the same; with subtraction the membrane may still be
above threshold after a spike).

The module is generated and compiled on first use, against the installed NEST wheel (about 15 s;
NESTML 9.0, CMake, a C++ compiler and three Debian header packages are needed: :func:`missing`
says which are absent), and kept in ``<cache>/nestml/<hash>/``, where ``<cache>`` is
``$LIFRESPONSE_CACHE``, or ``$XDG_CACHE_HOME/lifresponse``, or ``~/.cache/lifresponse``, and
``<hash>`` covers the model sources, this file (the build recipe), and the NEST and NESTML
versions: a change to any of them builds anew. The folders are created private to the user,
and before NEST loads the library :func:`check_private` refuses it unless the user owns it and
its folders and no one else can write to them.

Building against the wheel takes four adjustments (the wheel's ``nest-config`` describes the
machine it was built on): a ``nest-config`` of our own that names the installed package, the
system compiler, no libraries (PyNEST has loaded NEST's symbols globally) and the wheel's old
C++ string ABI (``-D_GLIBCXX_USE_CXX11_ABI=0``); and two edits of the generated C++, each
checked to apply exactly where expected: NESTML reads a spike port in 1/s and multiplies back
by 1000 (off by a rounding error for some weights), so the buffer is read as it is; and NESTML
lists its internal constants in the model's status, which PyNN then passes back to
``nest.Create`` (refused), so they are left out. NEST forgets installed modules at every
``ResetKernel`` (PyNN's ``setup``): :func:`install` loads it again where needed.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from lifresponse.errors import BackendError

log = logging.getLogger(__name__)
MODELS = {"IF_curr_exp": "iaf_psc_exp_subtract", "IF_curr_delta": "iaf_psc_delta_subtract"}
MODULE = "lifresponse_module"
SOURCES = Path(__file__).with_name("nestml")
# what NEST's headers include, and the Debian packages that hold them
HEADERS = {"boost/version.hpp": "libboost-dev", "ltdl.h": "libltdl-dev",
           "gsl/gsl_errno.h": "libgsl-dev"}
INSTALL_HINT = ("on Debian or Ubuntu: apt install g++ cmake libboost-dev libltdl-dev "
                "libgsl-dev; and pip install nestml==9.0.0")
# the generated C++ edits (module docstring): spike port reads in the .cpp files, the
# internals' block of get_status in the .h files
_SPIKE_PORT = re.compile(r"\(0\.001 \* (B_\.spike_inputs_grid_sum_\[\w+ - MIN_SPIKE_RECEPTOR\])\)"
                         r" \* V_\.ps[cp]_unit")
_STATUS_INTERNALS = re.compile(r"(get_status\(DictionaryDatum&__d\) const\n\{.*?)  // internals\n"
                               r".*?(  // initial values for state variables)", re.S)
_SPIKE_PORT_READS = 3  # two ports of iaf_psc_exp_subtract, one of iaf_psc_delta_subtract


class NestmlBuildError(BackendError):
    """The NESTML models could not be built (the message says what to install or what
    failed)."""


def cache_root() -> Path:
    """The folder built modules are kept under (module docstring)."""
    if os.environ.get("LIFRESPONSE_CACHE"):
        return Path(os.environ["LIFRESPONSE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lifresponse"


def source_hash() -> str:
    """What the built module depends on, hashed: the model sources, the build recipe (this
    file), and the NEST and NESTML versions."""
    digest = hashlib.sha256()
    for path in [*sorted(SOURCES.glob("*.nestml")), Path(__file__)]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for package in ("nest-simulator", "nestml"):
        digest.update(_version(package).encode())
    return digest.hexdigest()[:16]


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def missing() -> list[str]:
    """What building the models needs and this machine lacks, one entry each (empty when all
    is there)."""
    absent = []
    if importlib.util.find_spec("pynestml") is None:
        absent.append("NESTML (pip install nestml==9.0.0)")
    compiler = _compiler()
    for name, tool in (("a C++ compiler (g++)", compiler), ("CMake", shutil.which("cmake"))):
        if tool is None:
            absent.append(name)
    if compiler is not None:
        probe = subprocess.run([compiler, "-x", "c++", "-fsyntax-only", "-"],
                               input="int main() { return 0; }\n", capture_output=True,
                               text=True)
        if probe.returncode != 0:
            return [*absent, f"a working C++ compiler ({compiler} failed on an empty program: "
                             f"{(probe.stderr or probe.stdout).strip()[-300:] or 'no message'})"]
        for header, package in HEADERS.items():
            probe = subprocess.run([compiler, "-x", "c++", "-E", "-o", os.devnull, "-"],
                                   input=f"#include <{header}>\n", capture_output=True,
                                   text=True)
            if probe.returncode != 0:
                absent.append(f"{header} (Debian/Ubuntu package {package})")
    return absent


def _compiler() -> str | None:
    return shutil.which(os.environ.get("CXX", "g++"))


def module_file() -> Path:
    """The built module, built first if this installation has none.

    Raises
    ------
    NestmlBuildError
        Something the build needs is missing, or the build failed (with the compiler's
        message).
    BackendError
        The cached module is not private to the user (:func:`check_private`).
    """
    folder = cache_root() / "nestml" / source_hash()
    library = folder / f"{MODULE}.so"
    if not library.exists():
        _build(folder)
    check_private(library)
    return library


def check_private(library: Path) -> None:
    """Refuse ``library`` unless the user owns it and every folder from the cache root down to
    it, and no one else can write to any of them (NEST would run whatever code is there).

    Raises
    ------
    BackendError
        Naming the path, its owner or its permissions.
    """
    root = cache_root().resolve()
    path = library.resolve()
    for item in [path, *path.parents]:
        status = item.stat()
        if status.st_uid != os.getuid():
            raise BackendError(f"{item}: owned by user {status.st_uid}, not by you "
                               f"({os.getuid()}); NEST will not load {library.name} from it")
        if status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise BackendError(f"{item}: others can write to it (mode "
                               f"{stat.filemode(status.st_mode)}); NEST will not load "
                               f"{library.name} from it: chmod go-w it or remove it")
        if item == root:
            return
    raise BackendError(f"{library}: not under the cache folder {root}")


def _private_folder(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)


def _build(folder: Path) -> None:
    """Generate and compile the module into ``folder`` (atomically: built beside it, then
    renamed into place; a build that another process finished first is kept)."""
    absent = missing()
    if absent:
        raise NestmlBuildError("reset by subtraction runs on NEST as a NESTML model, built once; "
                               f"this machine lacks {', '.join(absent)} ({INSTALL_HINT})")
    log.warning("building the NESTML models of reset by subtraction into %s (once per "
                "installation, about 15 s)", folder)
    _private_folder(cache_root())
    _private_folder(folder.parent)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=folder.parent))
    try:
        config = work / "nest" / "bin" / "nest-config"
        config.parent.mkdir(parents=True)
        config.write_text(_nest_config())
        config.chmod(0o700)
        done = subprocess.run([sys.executable, "-m", __name__, str(work)], cwd=work,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise NestmlBuildError(
                f"building the NESTML models failed ({INSTALL_HINT}):\n"
                f"{(done.stdout + done.stderr)[-3000:]}")
        try:
            (work / "install").chmod(0o700)
            (work / "install").rename(folder)
        except OSError:
            if not (folder / f"{MODULE}.so").exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _nest_config() -> str:
    """A ``nest-config`` that describes the installed wheel (module docstring)."""
    nest_package = Path(importlib.util.find_spec("nest").origin).parent
    answers = {"--prefix": nest_package, "--exec-prefix": nest_package,
               "--includes": f"-I{nest_package / 'include' / 'nest'}",
               "--compiler": _compiler(), "--compiler-name": "GNU", "--libs": "",
               "--cflags": "-std=c++20 -O2 -D_GLIBCXX_USE_CXX11_ABI=0",
               "--static-libraries": "OFF", "--libdir": "lib",
               "--version": _version("nest-simulator"), "--python-executable": sys.executable}
    cases = "\n".join(f'    {option}) echo "{answer}" ;;' for option, answer in answers.items())
    return ("#!/bin/sh\n# nest-config for the installed nest-simulator wheel (lifresponse)\n"
            f'for arg in "$@"; do\n  case "$arg" in\n{cases}\n'
            '    *) echo "nest-config: unsupported option $arg" >&2; exit 1 ;;\n'
            "  esac\ndone\n")


def _generate_and_compile(work: Path) -> None:
    """In a child process (NESTML writes into its working folder): generate the C++ of both
    models, edit it, compile and install it into ``work / "install"``."""
    from pynestml.codegeneration import nest_builder
    from pynestml.frontend.frontend_configuration import FrontendConfiguration
    from pynestml.frontend.pynestml_frontend import generate_nest_target

    compile_generated = nest_builder.NESTBuilder.build

    def edit_then_compile(builder):
        _edit_generated(Path(FrontendConfiguration.get_target_path()))
        compile_generated(builder)

    nest_builder.NESTBuilder.build = edit_then_compile
    generate_nest_target(
        input_path=[str(path) for path in sorted(SOURCES.glob("*.nestml"))],
        target_path=str(work / "target"), install_path=str(work / "install"),
        module_name=MODULE, logging_level="WARNING",
        codegen_opts={"nest_path": str(work / "nest"),
                      "nest_version": f"v{_version('nest-simulator')}",
                      "max_n_compiler_processes": 2})


def _edit_generated(target: Path) -> None:
    """The two edits of the generated C++ (module docstring), each checked to apply where
    NESTML 9.0 puts them."""
    headers = sorted(glob.glob(str(target / "*subtract*.h")))
    for header in headers:
        text, n = _STATUS_INTERNALS.subn(r"\1\2", Path(header).read_text())
        if n != 1:
            raise NestmlBuildError(f"{header}: get_status's internals not found where NESTML "
                                   f"9.0 writes them (nestml {_version('nestml')})")
        Path(header).write_text(text)
    reads = 0
    for source in sorted(glob.glob(str(target / "*subtract*.cpp"))):
        text, n = _SPIKE_PORT.subn(r"\1", Path(source).read_text())
        Path(source).write_text(text)
        reads += n
    if len(headers) != len(MODELS) or reads != _SPIKE_PORT_READS:
        raise NestmlBuildError(f"{target}: {len(headers)} model headers and {reads} spike-port "
                               f"reads, expected {len(MODELS)} and {_SPIKE_PORT_READS} (nestml "
                               f"{_version('nestml')}; the edits are written for 9.0)")


def install() -> None:
    """Load the module into NEST's kernel unless its models are there (after every
    ``ResetKernel``), building it first if needed."""
    import nest

    if all(model in nest.node_models for model in MODELS.values()):
        return
    nest.Install(str(module_file()))


def cell_type(sim, neuron, cell: str, i_offset):
    """A PyNN native cell type of the NESTML model for ``cell`` with ``neuron``'s parameters
    (:class:`lifresponse.neuron.LIFParams`, PyNN units) in NEST's names and units, resetting by
    subtraction; ``i_offset`` (nA) a number or one value per neuron.

    PyNN multiplies every weight by 1000 (nA to pA); an ``IF_curr_delta`` layer's weights are
    mV, so its cell type undoes that (``receptor_scale``, as PyNN's own ``IF_curr_delta``).
    """
    install()
    native = sim.native_cell_type(MODELS[cell])
    # PyNN 0.13 passes every default to nest.Create, booleans (NEST's ignore_and_spike, the
    # models' reset_by_subtraction) as numpy booleans, which NEST 3.10 refuses: the models'
    # own defaults stand for them (reset_by_subtraction's is true)
    native.default_parameters = {name: value for name, value in
                                 native.default_parameters.items()
                                 if not isinstance(value, (bool, np.bool_))}
    parameters = {"C_m": 1000.0 * neuron.cm, "tau_m": neuron.tau_m, "t_ref": neuron.tau_refrac,
                  "E_L": neuron.v_rest, "V_reset": neuron.v_reset, "V_th": neuron.v_thresh,
                  "I_e": 1000.0 * i_offset}
    if cell == "IF_curr_delta":
        native.receptor_scale = 1e-3
    else:
        parameters.update(tau_syn_ex=neuron.tau_syn_E, tau_syn_in=neuron.tau_syn_I)
    return native(**parameters)


if __name__ == "__main__":
    _generate_and_compile(Path(sys.argv[1]))
