"""The ``convert`` command: an ANN from PyTorch or ONNX as a network file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lifresponse.cli.options import add_data_options, add_force_option, output_file


def add_convert(commands) -> None:
    parser = commands.add_parser(
        "convert", help="an ONNX model (from PyTorch, Keras, ...) as a network file",
        description=(
            "Read an ONNX model (Conv, Gemm/MatMul, BatchNormalization folded into the layer "
            "before it, Relu, AveragePool, GlobalAveragePool, MaxPool, Flatten, Dropout, "
            "residual Add, channel Concat), check the reading against ONNX's own evaluation, "
            "measure the ANN on the digits held out of its training, and scale its weights "
            "to the calibrated neuron's rates on a sample of the others (a percentile of each "
            "layer's activations). Max pooling becomes average pooling or a small network "
            "computing the maximum (--max-pool); both ANN accuracies are printed. Deploy the "
            "result like any network, or fine-tune it first ('finetune'). docs/convert.md "
            "has the equations and what each choice costs."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("model", type=Path, help="the .onnx file")
    add_data_options(parser)
    parser.add_argument("--calibration", type=Path,
                        help="calibration.json (the neurons, their timestep and (k, S)); "
                             "default the paper's tau_syn = 5 ms values")
    parser.add_argument("--percentile", type=float, default=99.9,
                        help="each layer's scale: this percentile of its positive activations "
                             "on the sample (100: the maximum, Diehl et al. 2015)")
    parser.add_argument("--sample", type=int, default=1000, metavar="IMAGES",
                        help="training images the scales are measured on")
    parser.add_argument("--max-rate", type=float, default=200.0, metavar="HZ",
                        help="rate of a unit at its layer's scale")
    parser.add_argument("--input-rate", type=float, default=400.0, metavar="HZ",
                        help="Poisson rate of a pixel of 1 (higher: less input noise, more "
                             "input events; docs/convert.md measures 100 to 800 Hz)")
    parser.add_argument("--max-pool", choices=("average", "pairwise"), default="average",
                        help="what a max pooling becomes: the average of its window (one "
                             "layer), or ReLU populations computing the maximum exactly, "
                             "max(x, y) = y + relu(x - y) pairwise (3 more layers per 2x2 "
                             "window; docs/convert.md measures both)")
    parser.add_argument("--keep-pooling", action="store_true",
                        help="keep every average pooling a layer of neurons (by default one "
                             "whose windows tile its map is absorbed, exactly, by the layer "
                             "that reads it: fewer layers and less noise, more synapses)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample")
    parser.add_argument("--out", type=output_file, required=True, help="network file to write")
    add_force_option(parser)
    parser.set_defaults(run=_run_convert, parser=parser)


def _run_convert(args) -> None:
    from lifresponse import workflow

    network = workflow.convert(
        args.model, data=args.data, calibration=args.calibration, validation=args.validation,
        split_seed=0 if args.split_seed is None else args.split_seed, out=args.out,
        force=args.force, percentile=args.percentile, sample_images=args.sample,
        max_rate=args.max_rate, input_rate=args.input_rate, max_pool=args.max_pool,
        absorb_pooling=not args.keep_pooling, seed=args.seed)
    report = network.provenance["conversion"]
    print(f"wrote {args.out}: {network.architecture}")
    for i, layer in enumerate(network.layers):
        sources = ", ".join("input" if p.source == -1 else f"layer {p.source}"
                            for p in network.projections(i))
        print(f"  layer {i}: {layer.kind} {layer.out_shape} from {sources}, scale "
              f"{report['scales'][i]:.4g}" + (", bias" if layer.bias is not None else ""))
    if report["ann_accuracy"] is not None:
        print(f"ANN accuracy on {report['held_out']} held-out digits: "
              f"{100 * report['ann_accuracy']:.2f} % as the model; "
              f"{100 * report['deployed_ann_accuracy']:.2f} % as the spiking network computes "
              f"it ({report['max_pools']} max pooling(s) as average)")
