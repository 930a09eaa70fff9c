"""The ``nir`` commands: ``nir import`` and ``nir export``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lifresponse.cli.options import output_file


def add_nir(commands) -> None:
    parser = commands.add_parser(
        "nir", help="networks in and out through NIR (snnTorch, Norse, sinabs, ...)",
        description=("Import a NIR graph (feed-forward paths of Conv2d / Affine / Linear / "
                     "AvgPool2d / SumPool2d / Flatten / Scale and CubaLIF / LIF / IF nodes, "
                     "merging into neuron nodes as residual blocks do) as "
                     "a network file that 'deploy' runs on NEST, sPyNNaker or torch, or export "
                     "a network file as a NIR graph. docs/nir.md has the mapping."))
    actions = parser.add_subparsers(title="actions", metavar="ACTION")
    to_ours = actions.add_parser(
        "import", help="a .nir graph as a network file",
        description=("CubaLIF becomes IF_curr_exp, LIF and IF IF_curr_delta; linear nodes "
                     "between neuron nodes become one layer's synapses; what cannot map is "
                     "refused, naming the node."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    to_ours.add_argument("graph", type=Path, help="the .nir file")
    to_ours.add_argument("--out", type=output_file, required=True, help="network file to write")
    to_ours.add_argument("--dt", type=float, metavar="MS",
                         help="read the graph as a discrete-time network with this step (ms); "
                              "snnTorch's exporter assumes 0.1. Without it the graph is read "
                              "in continuous time")
    to_ours.add_argument("--timestep", type=float, metavar="MS",
                         help="simulation step (ms); default --dt, or 0.1 in continuous time. "
                              "With --dt, another step stretches time by timestep/dt")
    to_ours.add_argument("--encoding", choices=("poisson", "bernoulli"), default="poisson",
                         help="input spikes: Poisson at --input-rate per unit input, or one "
                              "spike per step with probability = input (snnTorch's "
                              "spikegen.rate)")
    to_ours.add_argument("--input-rate", type=float, default=100.0, metavar="HZ",
                         help="Poisson rate of an input of 1")
    to_ours.add_argument("--cm", type=float, default=1.0, metavar="NF",
                         help="membrane capacitance (NIR has none; it scales weights in nA)")
    to_ours.add_argument("--tau-refrac", type=float, default=0.0, metavar="MS",
                         help="refractory period (NIR's neurons have none)")
    to_ours.add_argument("--reset", choices=("v_reset", "subtract", "subtract-next-step"),
                         help="what a spike does to the membrane (NIR cannot say): set it to "
                              "v_reset (snnTorch's reset_mechanism='zero'); subtract "
                              "v_threshold - v_reset at once (sinabs, SpikingJelly's soft "
                              "reset); or subtract it from the next step's update "
                              "(snnTorch's default 'subtract'; needs --dt). Default: the "
                              "graph's lifresponse metadata, else v_reset. On NEST, subtraction "
                              "runs as a NESTML model built once (docs/nir.md)")
    to_ours.add_argument("--bias", choices=("arrivals", "current"),
                         help="a bias as synaptic input every step from the step the layer's "
                              "first input arrives in (exact for discrete-time frameworks; NEST "
                              "and the torch simulator), or as a current added to i_offset "
                              "(a CubaLIF bias's steady state; what sPyNNaker builds). Default: "
                              "arrivals with --dt, else current")
    to_ours.add_argument("--tau-scale", type=float, default=1.0, metavar="FACTOR",
                         help="multiply every time constant of the graph by this: 1000/dt "
                              "for Norse 1.1.0's graphs, whose exporter writes tau times its "
                              "step in seconds (docs/nir.md)")
    to_ours.add_argument("--force", action="store_true", help="overwrite an existing --out")
    to_ours.set_defaults(run=_run_nir_import, parser=to_ours)
    to_nir = actions.add_parser(
        "export", help="a network file as a .nir graph",
        description=("CubaLIF (IF_curr_exp) or LIF (IF_curr_delta) nodes after Conv2d / "
                     "AvgPool2d / Flatten + Affine nodes; refractory period, i_offset, cm, "
                     "the ANN model and the timestep in metadata."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    to_nir.add_argument("network", type=Path)
    to_nir.add_argument("--out", type=output_file, required=True, help=".nir file to write")
    to_nir.add_argument("--dt", type=float, metavar="MS",
                        help="write a discrete-time graph for frameworks that step it "
                             "(SpikingJelly, snnTorch: 0.1, their default): each timestep of "
                             "the network is one of their steps; without it, continuous time")
    to_nir.add_argument("--force", action="store_true", help="overwrite an existing --out")
    to_nir.set_defaults(run=_run_nir_export, parser=to_nir)
    parser.set_defaults(run=lambda args: parser.print_help())


def _run_nir_import(args) -> None:
    from lifresponse import workflow

    network = workflow.import_nir(args.graph, out=args.out, force=args.force, dt=args.dt,
                                  timestep=args.timestep, encoding=args.encoding,
                                  input_rate=args.input_rate, cm=args.cm,
                                  tau_refrac=args.tau_refrac, reset=args.reset, bias=args.bias,
                                  tau_scale=args.tau_scale)
    print(f"wrote {args.out}: {network.architecture}")
    for i, layer in enumerate(network.layers):
        neuron = network.neuron_of(layer)
        notes = []
        if layer.reset == "subtract":
            notes.append(f"resets by subtracting {neuron.v_thresh - neuron.v_reset:.6g} mV")
        if layer.bias is not None:
            notes.append("bias" if layer.bias_onset is None else
                         f"bias arriving every step from step {layer.bias_onset}")
        print(f"  layer {i}: {layer.kind} {layer.in_shape} -> {layer.out_shape}, {layer.cell}, "
              f"tau_m {neuron.tau_m:.4g} ms, v_thresh {neuron.v_thresh:g} mV"
              + "".join(f", {note}" for note in notes))
    print(f"timestep {network.timestep:g} ms, {network.input_encoding} inputs")


def _run_nir_export(args) -> None:
    from lifresponse import workflow

    graph = workflow.export_nir(args.network, out=args.out, force=args.force, dt=args.dt)
    print(f"nodes: {', '.join(graph.nodes)}")
