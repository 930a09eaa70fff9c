"""Networks of other cells on more held-out digits: each network file given, deployed on NEST
(2 threads, seed 1, output layer recorded) on the first ``--images`` of its held-out digits x
300 ms, one after another, as ``cell_networks.py`` deploys them (its :func:`deployed`).

``cell_networks.py`` measures its conductance networks on 2,000 digits (NEST takes about 0.19 s
per digit for them): a standard error of about 0.3 points on each accuracy, the size of the
differences the cells' target judges. This runs them on all 10,000 held-out digits, where the
``IF_curr_exp`` network's figure exists already (``results/cell_networks.md``, the same digits,
window and seed). Writes ``results/cell_networks_held_out-TAG.{json,md}``. Run alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cell_networks import WINDOW_MS, deployed, timed_header, timed_row
from provenance import write_result

from lifresponse.networks import network_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("networks", type=Path, nargs="+", help="network files")
    parser.add_argument("--tag", required=True, help="names the result")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    args.backend = "nest"
    rows = [deployed(network_file.read(path).cell, path, args) for path in args.networks]
    lines = [f"Each network on NEST (2 threads, seed 1, output recorded), the first "
             f"{rows[0]['images']} of its held-out digits x {WINDOW_MS:g} ms, one after another "
             "(`cell_networks.deployed`). Ties: the lowest class index wins. Nothing else ran "
             "on the machine.", "", *timed_header(["cell", "network", "ANN validation"])]
    lines += [timed_row([r["cell"], f"`{Path(r['network']).name}`",
                         f"{100 * r['ann_validation_accuracy']:.2f} %"], r) for r in rows]
    write_result(args.out, f"cell_networks_held_out-{args.tag}",
                 {"window_ms": WINDOW_MS, "backend": "nest", "networks": rows}, lines)


if __name__ == "__main__":
    main()
