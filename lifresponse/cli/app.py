"""The ``lifresponse`` command: the parser of every command group, and how a library error
becomes one line naming the flag at fault.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import re
import sys
from pathlib import Path

from lifresponse import __version__
from lifresponse.cli import (
    calibration,
    convert,
    deploy,
    energy,
    nir,
    reproduce,
    spinnaker,
    training,
)
from lifresponse.errors import LifResponseError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lifresponse`` command with all its sub-commands."""
    parser = Parser(
        prog="lifresponse",
        description=(
            "Spiking networks of current-based LIF neurons (PyNN IF_curr_exp) trained as ANNs "
            "with Noisy Softplus and run unchanged on NEST or SpiNNaker. "
            "Run 'lifresponse COMMAND --help' for the options of a command."
        ),
    )
    parser.add_argument("--version", action="version", version=f"lifresponse {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    calibration.add_response(commands)
    calibration.add_calibrate(commands)
    calibration.add_fit(commands)
    training.add_training(commands)
    convert.add_convert(commands)
    deploy.add_deploy(commands)
    energy.add_energy(commands)
    nir.add_nir(commands)
    spinnaker.add_spinnaker(commands)
    reproduce.add_reproduce(commands)
    return parser


def _attach_negative_values(argv: list[str]) -> list[str]:
    """Write ``--means -0.5:1:0.1`` as ``--means=-0.5:1:0.1``.

    argparse takes a value that starts with "-" and is not a plain number for an option; grid
    values such as ``-0.5:1.0:0.05`` are joined to their option so they parse as typed.
    """
    joined: list[str] = []
    for token in argv:
        previous = joined[-1] if joined else ""
        if re.match(r"-\.?\d", token) and previous.startswith("--") and "=" not in previous:
            joined[-1] = f"{previous}={token}"
        else:
            joined.append(token)
    return joined


# The one table from library fields (LifResponseError.field) to flags, where the flag is not
# "--" + the field with "-" for "_".
FLAGS = {"window": "--duration", "learning_rate": "--lr", "training_noise": "--train-noise",
         "max_cells_per_chunk": "--max-cells", "architecture": "--arch",
         "n_validation": "--validation"}


class Parser(argparse.ArgumentParser):
    """An argument parser that keeps the flags it was given (:attr:`flags`), so that an error
    can be told by its flag; its sub-commands' parsers are of this class too."""

    def __init__(self, *args, **kwargs):
        self.flags: set[str] = set()  # before argparse adds --help
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.flags.update(action.option_strings)
        return action

    def add_mutually_exclusive_group(self, **kwargs):
        group = super().add_mutually_exclusive_group(**kwargs)
        add_to_group = group.add_argument

        def add_argument(*args, **kwargs) -> argparse.Action:
            action = add_to_group(*args, **kwargs)
            self.flags.update(action.option_strings)
            return action

        group.add_argument = add_argument
        return group


def flag_of(field: str | None, parser: Parser | None) -> str | None:
    """The flag of the command ``parser`` that sets the library's ``field``, or None when the
    command has no such flag."""
    if field is None or parser is None:
        return None
    for flag in (FLAGS.get(field), "--" + field.replace("_", "-")):
        if flag in parser.flags:
            return flag
    return None


def error_line(exc: LifResponseError, args: argparse.Namespace) -> str:
    """A library error as the command prints it: its field named by the command's flag
    ("window: must be > 0" -> "--duration: must be > 0") where the command has one."""
    flag = flag_of(exc.field, getattr(args, "parser", None))
    return f"{flag}: {exc.detail}" if flag else str(exc)


class _LogFormatter(logging.Formatter):
    """Library log lines as the command prints them: plain info, "warning: ..." otherwise."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        return text if record.levelno <= logging.INFO else f"{record.levelname.lower()}: {text}"


@contextlib.contextmanager
def _library_log_on_stdout():
    """Show the library's log (logger "lifresponse") on stdout while a command runs."""
    logger = logging.getLogger("lifresponse")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_LogFormatter())
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _failure(exc: BaseException) -> str:
    """What went wrong outside the user's input, and what is kept."""
    if isinstance(exc, MemoryError):
        what = "out of memory (use fewer images per block or batch, or a smaller grid)"
    elif getattr(exc, "errno", None) == errno.ENOSPC:
        what = f"the disk is full ({exc.filename or 'while writing'})"
    else:
        what = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return (f"{what}. Nothing was written under a final name; finished work is kept where "
            "the command keeps it (<out>.partial, <out>.ckpt) for --resume")


# every command's output options; the rest read
OUTPUTS = ("out", "csv", "dir", "plot", "write_scaling")


def _written(args) -> dict:
    """The files each given output option writes: its own path, or the files its command lists
    for it (``set_defaults(writes={option: function of the path})``: a report's folder, a
    figure written in several formats)."""
    writes = getattr(args, "writes", {})
    files = {}
    for name in OUTPUTS:
        value = getattr(args, name, None)
        if value is not None:
            files[name] = [Path(p) for p in writes[name](Path(value))] if name in writes \
                else [Path(value)]
    return files


def _refuse_inputs_as_outputs(args, written: dict) -> None:
    """No file an output writes may be one of the command's input files, with or without
    --force (every path-valued option or argument other than :data:`OUTPUTS` is an input),
    nor a file another output writes. ``written``: :func:`_written`'s files."""
    from lifresponse.errors import ParameterError
    from lifresponse.paths import refuse_input_as_output

    flags = getattr(getattr(args, "parser", None), "flags", set())
    inputs = {}
    for name, value in vars(args).items():
        if name not in OUTPUTS and isinstance(value, Path):
            flag = "--" + name.replace("_", "-")
            inputs[flag if flag in flags else name.replace("_", " ")] = value
    seen = {}
    for name, files in written.items():
        for path in files:
            refuse_input_as_output(path, inputs, name)
            other = seen.get(path.resolve())
            if other is not None:
                raise ParameterError(name, f"{path} is also written by --{other}; give each "
                                     "output its own file")
            seen[path.resolve()] = name


def _check_outputs(args) -> None:
    """Every command's output paths, before any work: --out (a file, or the folder of a
    report), --csv, --plot (also its format), --dir and --write-scaling must be writable, never
    one of the
    command's inputs, and no file they write that exists is overwritten without --force.
    (Commands whose library call checks its own --out, e.g. deploy and train, are not checked
    twice.)"""
    from lifresponse.errors import ParameterError
    from lifresponse.paths import check_writable
    from lifresponse.plotting import check_figure_path

    written = _written(args)
    _refuse_inputs_as_outputs(args, written)
    for name in ("out", "csv", "dir", "write_scaling"):
        value = getattr(args, name, None)
        if value is not None:
            folder = name == "dir" or (name == "out" and getattr(args, "out_is_folder", False))
            check_writable(value, name, folder=folder)
    if getattr(args, "plot", None) is not None:
        check_figure_path(args.plot)
    checked_here = {"csv", "plot", "write_scaling", *getattr(args, "writes", {})}
    if getattr(args, "out_checked_here", False):
        checked_here.add("out")
    for name, files in written.items():
        for target in files:
            if name in checked_here and target.exists() and not getattr(args, "force", False):
                raise ParameterError(name, f"{target} already exists; it is never overwritten: "
                                     "choose another, or replace it (--force)")


def main(argv=None) -> int:
    """Entry point of the ``lifresponse`` console script; returns the exit status."""
    # figures go to files; the library itself never picks a backend. Through the environment,
    # matplotlib is imported only by the commands that plot (0.1 s)
    os.environ["MPLBACKEND"] = "Agg"
    parser = build_parser()
    args = parser.parse_args(_attach_negative_values(sys.argv[1:] if argv is None else argv))
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        _check_outputs(args)
        with _library_log_on_stdout():
            args.run(args)
    except LifResponseError as exc:
        print(f"lifresponse: error: {error_line(exc, args)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr.close()
        return 0
    except (OSError, MemoryError) as exc:  # not the user's: disk full, memory, devices
        print(f"lifresponse: error: {_failure(exc)}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        if "errno = 28" not in str(exc):  # HDF5's report of a full disk, the only one expected
            raise
        print(f"lifresponse: error: {_failure(OSError(errno.ENOSPC, 'full', None))}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
