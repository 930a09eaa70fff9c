"""The catalogue of bad input, every command: each bad command line exits with 2, prints one
message naming the flag and the value (no traceback), and leaves no output file behind."""

import h5py
import numpy as np
import pytest

from lifresponse.cli import main
from lifresponse.neuron import LIFParams

CASES = [
    (["response", "--k", "0"], "--k: must be > 0"),
    (["response", "--k", "-1"], "--k: must be > 0"),
    (["response", "--S", "-5"], "--S: must be > 0"),
    (["response", "--S", "inf"], "--S: must be > 0 and finite"),
    (["response", "--plot", "{tmp}/fig.xyz"], "--plot: cannot write a .xyz figure"),
    (["train", "--lr", "nan", "--out", "{tmp}/n.h5"], "--lr: must be > 0 and finite (got nan)"),
    (["train", "--threads", "0", "--out", "{tmp}/n.h5"], "--threads: must be >= 1, a whole number"),
    (["train", "--device", "foo", "--out", "{tmp}/n.h5"], "--device: 'cpu', 'cuda'"),
    (["train", "--split-seed", "-1", "--out", "{tmp}/n.h5"], "--split-seed: must be >= 0"),
    (["train", "--k", "-1", "--out", "{tmp}/n.h5"], "--k: must be > 0 (got -1"),
    (["train", "--S", "inf", "--out", "{tmp}/n.h5"], "--S: must be > 0 (got inf"),
    (["train", "--rate-limit", "nan", "--out", "{tmp}/n.h5"], "--rate-limit: must be >= 0 Hz"),
    (["train", "--train-noise", "-1", "--out", "{tmp}/n.h5"], "--train-noise: must be >= 0 Hz"),
    (["train", "--augment", "-2", "--out", "{tmp}/n.h5"], "--augment: must be a whole number"),
    (["train", "--batch-size", "0", "--out", "{tmp}/n.h5"], "--batch-size: must be >= 1, a whole"),
    (["train", "--validation", "5000", "--out", "{tmp}/n.h5"], "--validation: must be between"),
    (["finetune", "{net}", "--label-offset", "nan", "--out", "{tmp}/n.h5"],
     "--label-offset: must be finite"),
    (["finetune", "{net}", "--input-rate", "0", "--out", "{tmp}/n.h5"],
     "--input-rate: must be > 0 Hz (got 0.0)"),
    (["deploy", "{net}", "--images", "0", "--out", "{tmp}/n.h5"], "--images: must be >= 1"),
    (["deploy", "{net}", "--gap", "-1", "--out", "{tmp}/n.h5"], "--gap: must be >= 0 ms"),
    (["deploy", "{net}", "--block", "0", "--out", "{tmp}/n.h5"], "--block: must be >= 1"),
    (["deploy", "{net}", "--threads", "0", "--out", "{tmp}/n.h5"], "--threads: must be >= 1"),
    (["deploy", "{net}", "--backend", "loihi", "--out", "{tmp}/n.h5"],
     "--backend: unknown backend 'loihi'"),
    (["energy", "--network", "{net}", "--images", "0"], "--images: must be >= 1"),
    (["energy", "--network", "{net}", "--e-syn", "-1"], "--e-syn: must be > 0 J"),
    (["calibrate", "--trials", "0", "--out", "{tmp}/n.h5"], "--trials: must be >= 1"),
    (["calibrate", "--backend", "brian", "--out", "{tmp}/n.h5"],
     "--backend: unknown backend 'brian'"),
    (["calibrate", "--drive", "dc", "--stds", "0.5", "--out", "{tmp}/n.h5"],
     "--stds: the dc drive has no noise"),
    (["reproduce", "--rate-limit", "-1", "--out", "{tmp}/n.h5"], "--rate-limit: must be >= 0 Hz"),
    (["spinnaker", "config", "--board", "", "--dir", "{tmp}"],
     "--board: a board configuration needs a host or URL (got '')"),
    (["evaluate-ann", "{net}", "--data", "{tmp}/npz"], "mnist.npz: not an npz archive"),
    (["energy", "{tmp}/run.h5", "--out", "{tmp}/r"], "missing dataset(s) input/counts"),
    (["calibrate", "--duration", "0.5", "--out", "{tmp}/n.h5"],
     "--duration: must be a whole number of timesteps of 1 ms (got 0.5 ms)"),
    (["calibrate", "--timestep", "0.3", "--duration", "100", "--out", "{tmp}/n.h5"],
     "--duration: must be a whole number of timesteps of 0.3 ms"),
    (["deploy", "{net}", "--duration", "10.5", "--images", "1", "--out", "{tmp}/n.h5"],
     "--duration: must be a whole number of the network's 1 ms timesteps (got 10.5 ms)"),
    (["calibrate", "--duration", "1e12", "--out", "{tmp}/n.h5"],
     "--duration: 1.55e+15 neuron-timesteps"),
    (["train", "--arch", "6c5-2s-12c5-2s-7fc", "--out", "{tmp}/n.h5"],
     "--arch: the last layer must have at least 10 units, one per class of"),
    (["deploy", "{net}", "--backend", "torch", "--device", "foo", "--images", "1", "--out",
      "{tmp}/n.h5"], "--device: 'foo' is not a torch device"),
    (["deploy", "{net}", "--backend", "torch", "--device", "cuda:7", "--images", "1", "--out",
      "{tmp}/n.h5"], "--device: 'cuda:7' is not available here"),
    (["deploy", "{net}", "--device", "cuda", "--images", "1", "--out", "{tmp}/n.h5"],
     "--device: backend 'nest' runs on its own simulator"),
    (["deploy", "{net}", "--backend", "torch", "--protocol", "continuing", "--images", "1",
      "--out", "{tmp}/n.h5"], "--protocol: backend 'torch' runs 'rest', not 'continuing'"),
    (["deploy", "{net}", "--backend", "torch", "--batch", "0", "--out", "{tmp}/n.h5"],
     "--batch: must be >= 1"),
    (["calibrate", "--backend", "torch", "--out", "{tmp}/n.h5"],
     "--backend: 'torch' simulates deployed networks only"),
    (["deploy", "{net}", "--workers", "0", "--out", "{tmp}/n.h5"],
     "--workers: must be >= 1, a whole number (got 0)"),
    (["calibrate", "--workers", "-2", "--out", "{tmp}/n.h5"], "--workers: must be >= 1"),
    (["deploy", "{net}", "--scheduler", "", "--out", "{tmp}/n.h5"],
     "--scheduler: give an address"),
    (["deploy", "{net}", "--scheduler", "tcp://127.0.0.1:9", "--images", "2", "--out",
      "{tmp}/n.h5"], "--scheduler: cannot reach 'tcp://127.0.0.1:9'"),
    (["deploy", "{net}", "--workers", "2", "--protocol", "continuing", "--images", "2",
      "--out", "{tmp}/n.h5"], "--workers: the 'continuing' protocol on 'nest' runs as one"),
    (["nir", "export", "{net}", "--out", "{net}"], "--out: {net} is also the input network"),
    (["nir", "export", "{net}", "--out", "{net}", "--force"],
     "--out: {net} is also the input network ({net}); an input is never replaced, not even "
     "with --force"),
    (["nir", "import", "{tmp}/npz/mnist.npz", "--out", "{tmp}/n.h5"],
     "mnist.npz: not a readable NIR graph"),
    (["nir", "import", "{net}", "--out", "{tmp}/n.h5"], "net.h5: not a readable NIR graph"),
    (["nir", "import", "{tmp}/absent.nir", "--out", "{tmp}/n.h5"], "absent.nir: no such file"),
    (["nir", "import", "{tmp}/rec.nir", "--out", "{tmp}/n.h5"],
     "node 'fc': input from input, back; recurrent"),
    (["nir", "import", "{tmp}/rec.nir", "--dt", "0", "--out", "{tmp}/n.h5"],
     "--dt: must be a finite number > 0 (got 0.0)"),
    (["nir", "import", "{tmp}/rec.nir", "--timestep", "-0.1", "--out", "{tmp}/n.h5"],
     "--timestep: must be a finite number > 0"),
    (["nir", "import", "{tmp}/rec.nir", "--cm", "nan", "--out", "{tmp}/n.h5"],
     "--cm: must be a finite number > 0 (got nan)"),
    (["nir", "import", "{tmp}/rec.nir", "--input-rate", "-5", "--out", "{tmp}/n.h5"],
     "--input-rate: must be a finite number > 0"),
    (["nir", "import", "{tmp}/rec.nir", "--tau-refrac", "-1", "--out", "{tmp}/n.h5"],
     "--tau-refrac: must be >= 0 ms (got -1.0)"),
    (["deploy", "{net}", "--data", "{tmp}/wide.npz", "--images", "1", "--out", "{tmp}/n.h5"],
     r"wide.npz (images, labels): float pixels must lie in [0, 1] (got 0..2)"),
    (["deploy", "{net}", "--data", "{tmp}/small.npz", "--test", "--images", "1", "--out",
      "{tmp}/n.h5"], "images of shape (5, 5) do not fit the network's input (1, 28, 28)"),
    (["train", "--data", "{tmp}/small.npz", "--out", "{tmp}/n.h5"],
     "--arch: '2s': 1x1 maps do not divide into 2x2 windows"),
    (["deploy", "{net}", "--data", "{tmp}/small.npz", "--out", "{tmp}/n.h5"],
     "--images: 1000 asked for, but only 0 evaluation digits exist in"),
    (["response", "--csv", "{tmp}/afile/x.csv"],
     "--csv: cannot write"),
    (["response", "--means", "0:1:1e-18"],
     "has 1e+18 points; at most 1,000,000"),
    (["response", "--plot", "{tmp}/afile/x.png"],
     "--plot: cannot write"),
    (["calibrate", "--out", "{tmp}/afile/o.h5"],
     "--out: cannot write"),
    (["calibrate", "--drive", "noisy-current", "--dt-noise", "-1", "--out", "{tmp}/n.h5"],
     "--dt-noise: must be > 0 and finite"),
    (["calibrate", "--duration", "nan", "--out", "{tmp}/n.h5"],
     "--duration: must be finite (got nan)"),
    (["calibrate", "--weight", "nan", "--out", "{tmp}/n.h5"],
     "--weight: must be > 0 and finite"),
    (["calibrate", "--timestep", "inf", "--out", "{tmp}/n.h5"],
     "--timestep: must be finite (got inf)"),
    (["calibrate", "--tau-syn", "0", "--out", "{tmp}/n.h5"],
     "--tau-syn: must be > 0"),
    (["calibrate", "--seed", "-1", "--out", "{tmp}/n.h5"],
     "--seed: must be in 1 .. 2^31 - 1"),
    (["calibrate", "--max-cells", "0", "--out", "{tmp}/n.h5"],
     "--max-cells: must hold one point's"),
    (["calibrate", "--means", "", "--out", "{tmp}/n.h5"],
     "--means: the grid '' is empty"),
    (["fit", "{tmp}/garbage.h5", "--out", "{tmp}/n.h5"],
     "garbage.h5: not a readable HDF5 file"),
    (["fit", "{net}", "--out", "{tmp}/n.h5"],
     "not a lifresponse rates file"),
    (["fit", "{net}", "--out", "{tmp}/afile/c.json"],
     "--out: cannot write"),
    (["fit", "{tmp}/absent.h5", "--out", "{tmp}/n.h5"],
     "absent.h5: no such file"),
    (["train", "--epochs", "0", "--out", "{tmp}/n.h5"],
     "--epochs: must be >= 1"),
    (["train", "--arch", "", "--out", "{tmp}/n.h5"],
     "--arch: empty"),
    (["train", "--arch", "6c5-xx", "--out", "{tmp}/n.h5"],
     "--arch: cannot read 'xx'"),
    (["train", "--data", "{tmp}/absent_dir", "--out", "{tmp}/n.h5"],
     "absent_dir: no such folder or file"),
    (["train", "--calibration", "{tmp}/absent.json", "--out", "{tmp}/n.h5"],
     "absent.json: no such file"),
    (["train", "--calibration", "{tmp}/notjson.json", "--out", "{tmp}/n.h5"],
     "notjson.json: not JSON"),
    (["train", "--out", "{tmp}/afile/n.h5"],
     "--out: cannot write"),
    (["train", "--out", "{net}"],
     "already exists; a finished network is not overwritten"),
    (["finetune", "{tmp}/absent.h5", "--out", "{tmp}/n.h5"],
     "absent.h5: no such file"),
    (["finetune", "{tmp}/garbage.h5", "--out", "{tmp}/n.h5"],
     "garbage.h5: not a readable HDF5"),
    (["finetune", "{net}", "--epochs", "-1", "--out", "{tmp}/n.h5"],
     "--epochs: must be >= 1"),
    (["finetune", "{net}", "--out", "{net}"],
     "is also the input network"),
    (["evaluate-ann", "{tmp}/absent.h5"],
     "absent.h5: no such file"),
    (["evaluate-ann", "{net}", "--test"],
     "the official test split needs an MNIST folder"),
    (["deploy", "{net}", "--seed", "-1", "--out", "{tmp}/n.h5"],
     "--seed: must be a whole number in 1"),
    (["deploy", "{net}", "--duration", "nan", "--out", "{tmp}/n.h5"],
     "--duration: must be finite (got nan)"),
    (["deploy", "{net}", "--backend", "foo", "--out", "{tmp}/n.h5"],
     "--backend: unknown backend 'foo'"),
    (["deploy", "{net}", "--images", "1", "--duration", "1e12", "--out", "{tmp}/n.h5"],
     "(more than a day); make it smaller or confirm it (--yes)"),
    (["deploy", "{net}", "--plot", "{tmp}/fig.xyz", "--out", "{tmp}/n.h5"],
     "--plot: cannot write a .xyz figure"),
    (["deploy", "{net}", "--out", "{tmp}/afile/o.h5"],
     "--out: cannot write"),
    (["deploy", "{tmp}/garbage.h5", "--out", "{tmp}/n.h5"],
     "garbage.h5: not a readable HDF5"),
    (["energy", "{tmp}/absent.h5", "--out", "{tmp}/n.h5"],
     "absent.h5: no such file"),
    (["energy", "{net}", "--out", "{tmp}/n.h5"],
     "not a lifresponse run file"),
    (["energy", "--network", "{net}", "--hardware", "nosuch"],
     "--hardware: belongs to the report of a run"),
    (["energy", "--network", "{net}", "--mapping", "{tmp}/map.json"],
     "--mapping: belongs to the report of a run"),
    (["energy", "--network", "{net}", "--out", "{tmp}/afile/r"],
     "--out: cannot write"),
    (["spinnaker", "config", "--virtual", "--version", "4"],
     "--version: SpiNNaker board version 3 or 5"),
    (["spinnaker", "config", "--virtual", "--dir", "{tmp}/afile"],
     "afile is a file, not a folder"),
    (["spinnaker", "check", "{tmp}/absent.h5"],
     "absent.h5: no such file"),
    (["spinnaker", "check", "{net}", "--sample", "0"], "--sample: must be >= 1"),
    (["spinnaker", "check", "{net}", "--sample", "999999"],
     "--sample: 999999 asked for, but only"),
    (["spinnaker", "check", "{net}", "--images", "0"], "--images: must be >= 1"),
    (["spinnaker", "check", "{net}", "--max-drop", "nan"], "--max-drop: must be a number"),
    (["spinnaker", "check", "{net}", "--duration", "0"], "--duration: must be > 0 ms"),
    (["spinnaker", "check", "{net}", "--no-forecast", "--sample", "5"],
     "--sample: belongs to the forecast, which --no-forecast skips"),
    (["spinnaker", "check", "{net}", "--write-scaling", "{net}"],
     "--write-scaling: {net} is also the input network"),
    (["deploy", "{net}", "--backend", "torch", "--images", "2", "--spinnaker-weights",
      "{tmp}/absent.json", "--out", "{tmp}/n.h5"], "absent.json: no such file"),
    (["deploy", "{net}", "--backend", "torch", "--images", "2", "--spinnaker-weights",
      "{tmp}/notjson.json", "--out", "{tmp}/n.h5"], "notjson.json: not a scaling file"),
    (["deploy", "{net}", "--backend", "torch", "--images", "2", "--spinnaker-weights",
      "{tmp}/map.json", "--out", "{tmp}/n.h5"], "a scaling file has 'source', 'connectors'"),
    (["spinnaker", "check", "{net}", "--no-map", "--out", "{tmp}/afile/m.json"],
     "--out: cannot write"),
    (["reproduce", "--out", "{tmp}/afile"],
     "afile is a file, not a folder"),
    (["nir", "export", "{net}", "--out", "{tmp}/afile/g.nir"],
     "--out: cannot write"),
    (["response", "--csv", "{tmp}/exists.csv"],
     "--csv: {tmp}/exists.csv already exists; it is never overwritten"),
    (["response", "--plot", "{tmp}/exists.png"], "--plot: {tmp}/exists.png already exists"),
    (["fit", "{net}", "--out", "{tmp}/exists.csv"], "--out: {tmp}/exists.csv already exists"),
    (["energy", "{net}", "--out", "{tmp}/report"],
     "--out: {tmp}/report/energy.json already exists"),
    (["spinnaker", "config", "--virtual", "--dir", "{tmp}/report"],
     "--dir: {tmp}/report/spynnaker.cfg already exists"),
    (["spinnaker", "check", "{net}", "--no-map", "--out", "{tmp}/exists.csv"],
     "--out: {tmp}/exists.csv already exists"),
    (["calibrate", "--out", "{net}", "--trials", "1"], "already exists; it is never overwritten"),
]


# Wave 3's second pass (issue 40), one block per class; {bad} is the folder of the `bad`
# fixture, which holds one file per kind of damage.
CASES += [
    # an input is never an output, --force or not
    (["nir", "import", "{bad}/g.nir", "--out", "{bad}/g.nir", "--force"],
     "--out: {bad}/g.nir is also the input graph ({bad}/g.nir); an input is never replaced"),
    (["nir", "import", "{bad}/g.nir", "--out", "{bad}/g.nir"], "is also the input graph"),
    (["deploy", "{net}", "--out", "{net}", "--force"], "--out: {net} is also the input network"),
    (["deploy", "{net}", "--plot", "{net}", "--force", "--out", "{tmp}/n.h5"],
     "--plot: {net} is also the input network"),
    (["fit", "{bad}/rates.h5", "--out", "{bad}/rates.h5", "--force"],
     "--out: {bad}/rates.h5 is also the input rates"),
    (["fit", "{bad}/rates.h5", "--plot", "{bad}/rates.h5", "--force", "--out", "{tmp}/c.json"],
     "--plot: cannot write a .h5 figure"),
    (["train", "--method", "spikes", "--init", "{net}", "--out", "{net}", "--force"],
     "--out: {net} is also the input --init"),
    (["train", "--calibration", "{bad}/cal.json", "--out", "{bad}/cal.json", "--force"],
     "--out: {bad}/cal.json is also the input --calibration"),
    (["finetune", "{net}", "--calibration", "{bad}/cal.json", "--out", "{bad}/cal.json",
      "--force"], "--out: {bad}/cal.json is also the input --calibration"),
    (["spinnaker", "check", "{net}", "--out", "{net}", "--force"],
     "--out: {net} is also the input network"),
    (["energy", "{bad}/run.h5", "--out", "{bad}/run.h5", "--force"],
     "--out: {bad}/run.h5 is a file, not a folder"),
    # an option that does not apply is refused
    (["deploy", "{net}", "--dtype", "float32", "--images", "1", "--out", "{tmp}/n.h5"],
     "--dtype: belongs to the torch backend; 'nest' simulates in its own precision"),
    (["deploy", "{net}", "--batch", "5", "--images", "1", "--out", "{tmp}/n.h5"],
     "--batch: belongs to the torch backend"),
    (["evaluate-ann", "{net}", "--data", "{tmp}/small.npz", "--validation", "100", "--test"],
     "--validation: chooses held-out training digits, not the official test split"),
    (["evaluate-ann", "{net}", "--data", "{tmp}/small.npz", "--split-seed", "3", "--test"],
     "--split-seed: chooses held-out training digits"),
    (["deploy", "{net}", "--data", "{tmp}/small.npz", "--validation", "2", "--test",
      "--out", "{tmp}/n.h5"], "--validation: chooses held-out training digits"),
    (["deploy", "{net}", "--data", "{tmp}/small.npz", "--split-seed", "2", "--test",
      "--out", "{tmp}/n.h5"], "--split-seed: chooses held-out training digits"),
    (["energy", "--network", "{net}", "--data", "{tmp}/small.npz", "--validation", "2",
      "--test"], "--validation: chooses held-out training digits"),
    (["train", "--method", "spikes", "--loss", "rate-mse", "--margin", "0.5", "--out",
      "{tmp}/n.h5"], "--margin: only with the margin loss (got loss 'rate-mse'"),
    (["train", "--method", "spikes", "--loss", "cross-entropy", "--margin", "0.1", "--out",
      "{tmp}/n.h5"], "--margin: only with the margin loss (got loss 'cross-entropy'"),
    (["train", "--method", "spikes", "--init", "{net}", "--arch", "6c5-2s-10fc", "--out",
      "{tmp}/n.h5"], "--arch: the architecture is --init's"),
    (["energy", "{bad}/run.h5", "--hardware", "", "--out", "{tmp}/r"],
     "--hardware: name at least one device"),
    (["energy", "{bad}/run.h5", "--hardware", " , ", "--out", "{tmp}/r"],
     "--hardware: name at least one device"),
    (["energy", "{bad}/run.h5", "--devices", "{bad}/dup.json", "--out", "{tmp}/r"],
     "dup.json: device 2: a second device named 'chip'"),
    (["calibrate", "--drive", "poisson", "--dt-noise", "2", "--out", "{tmp}/n.h5"],
     "--dt-noise: belongs to --drive noisy-current, not --drive poisson"),
    (["calibrate", "--drive", "noisy-current", "--tau-syn", "2", "--out", "{tmp}/n.h5"],
     "--tau-syn: belongs to --drive poisson, not --drive noisy-current"),
    (["calibrate", "--drive", "dc", "--stds", "0", "--weight", "0.01", "--out", "{tmp}/n.h5"],
     "--weight: belongs to --drive poisson, not --drive dc"),
    (["train", "--calibration", "{bad}/cal.json", "--k", "0.2", "--out", "{tmp}/n.h5"],
     "--k: comes from --calibration"),
    (["train", "--calibration", "{bad}/cal.json", "--tau-syn", "2", "--out", "{tmp}/n.h5"],
     "--tau-syn: comes from --calibration"),
    (["deploy", "{net}", "--connectors", "lists", "--images", "1", "--out", "{tmp}/n.h5"],
     "--connectors: 'nest' has no connectors of its own (got 'lists')"),
    (["deploy", "{net}", "--backend", "torch", "--connectors", "lists", "--images", "1",
      "--out", "{tmp}/n.h5"], "--connectors: 'torch' has no connectors of its own"),
    (["deploy", "{net}", "--images", "1", "--out", "{tmp}/n.png", "--plot", "{tmp}/n.png"],
     "--plot: {tmp}/n.png is also written by --out; give each output its own file"),
    (["energy", "{bad}/run.h5", "--mapping", "{bad}/chips.json", "--out", "{tmp}/r"],
     "chips.json: chips must be a whole number >= 1 (got -3)"),
    # (after an audit against this build) more outputs that would replace inputs
    (["fit", "{bad}/g_residuals.png", "--out", "{tmp}/c.json", "--plot", "{bad}/g.png",
      "--force"], "--plot: {bad}/g_residuals.png is also the input rates"),
    (["fit", "{bad}/rates.h5", "--out", "{tmp}/c.json", "--plot", "{tmp}/fig.png"],
     "--plot: {tmp}/fig_rates.png already exists"),
    (["energy", "{bad}/rep/report.md", "--out", "{bad}/rep", "--force"],
     "--out: {bad}/rep/report.md is also the input run file"),
    (["energy", "{bad}/run.h5", "--out", "{tmp}/report"],
     "--out: {tmp}/report/energy.json already exists"),
    (["fit", "{bad}/sweep2.h5.partial", "--partial", "--out", "{bad}/sweep2.h5"],
     "--out: {bad}/sweep2.h5 is where the sweep in {bad}/sweep2.h5.partial will be written"),
    (["fit", "{bad}/sweep3.h5", "--partial", "--out", "{tmp}/c.json"],
     "sweep3.h5: no such file; the unfinished sweep is {bad}/sweep3.h5.partial"),
    # (audit) options that do not apply
    (["energy", "{bad}/run.h5", "--network", "{net}", "--out", "{tmp}/r"],
     "--network: a run file ({bad}/run.h5) and a network to simulate: give one or the other"),
    (["energy", "{bad}/run.h5", "--images", "5", "--out", "{tmp}/r"],
     "--images: belongs to --network; the run file"),
    (["energy", "{bad}/run.h5", "--backend", "nest", "--out", "{tmp}/r"],
     "--backend: belongs to --network"),
    (["energy", "{bad}/run.h5", "--hardware", "loihi,loihi", "--out", "{tmp}/r"],
     "--hardware: 'loihi' named twice"),
    (["train", "--method", "spikes", "--k", "0.5", "--out", "{tmp}/n.h5"],
     "--k: belongs to --method ann"),
    (["train", "--method", "spikes", "--softplus-sigma", "0.9", "--out", "{tmp}/n.h5"],
     "--softplus-sigma: belongs to --method ann"),
    (["spinnaker", "config", "--virtual", "--user", "bob", "--dir", "{tmp}/cfg"],
     "--user: belongs to --spalloc; a virtual board has no user"),
    (["spinnaker", "check", "{net}", "--no-map", "--connectors", "lists"],
     "--connectors: belongs to the mapping, which --no-map skips"),
    (["reproduce", "--held-out", "--out", "{tmp}/repro"], "--held-out: belongs to --full"),
    (["nir", "import", "{bad}/g.nir", "--input-rate", "300", "--out", "{tmp}/n.h5"],
     "--input-rate: the graph was exported by lifresponse and holds its own"),
    (["nir", "import", "{bad}/g.nir", "--cm", "0.5", "--out", "{tmp}/n.h5"],
     "--cm: the graph was exported by lifresponse"),
    (["nir", "import", "{bad}/g.nir", "--dt", "0.1", "--out", "{tmp}/n.h5"],
     "--dt: the graph was exported by lifresponse"),
    (["nir", "import", "{tmp}/rec.nir", "--encoding", "bernoulli", "--input-rate", "300",
      "--out", "{tmp}/n.h5"], "--input-rate: belongs to the poisson encoding"),
    (["finetune", "{net}", "--calibration", "{bad}/cal10.json", "--out", "{tmp}/n.h5"],
     "cal10.json: fitted at tau_syn 10 ms, but the network's is 5 ms"),
    (["energy", "{bad}/run.h5", "--mapping", "{bad}/map_other.json", "--out", "{tmp}/r"],
     "--mapping: mapping {bad}/map_other.json maps 1 layers, but the run has 3"),
    (["energy", "{bad}/run.h5", "--mapping", "{bad}/map_few.json", "--out", "{tmp}/r"],
     "map_few.json: 3 cores on 100 chips"),
    (["evaluate-ann", "{net}", "--data", "{bad}/bool.npz", "--validation", "2"],
     "bool.npz (images, labels): pixels are true/false"),
    # (audit) damaged network, run and sweep files
    (["deploy", "{bad}/tanh.h5", "--out", "{tmp}/n.h5"],
     "tanh.h5: activation 'tanh' is not one of"),
    (["evaluate-ann", "{bad}/tanh.h5"], "tanh.h5: activation 'tanh' is not one of"),
    (["deploy", "{bad}/complex.h5", "--out", "{tmp}/n.h5"],
     "complex.h5: layer 2 (dense): weights must be float32 or float64 (got complex128)"),
    (["deploy", "{bad}/boolw.h5", "--out", "{tmp}/n.h5"],
     "boolw.h5: layer 2 (dense): weights must be float32 or float64 (got bool)"),
    (["nir", "export", "{bad}/arch.h5", "--out", "{tmp}/n.nir"],
     "arch.h5: architecture '4c5-4s-12fc' describes layers"),
    (["deploy", "{bad}/shape.h5", "--out", "{tmp}/n.h5"],
     "shape.h5: input_shape [3, 28] is not the first layer's input (1, 28, 28)"),
    (["evaluate-ann", "{bad}/version_text.h5"], "version_text.h5: version 'one' is not a whole"),
    (["deploy", "{bad}/provenance_type.h5", "--out", "{tmp}/n.h5"],
     "provenance_type.h5: provenance n_validation must be a whole number >= 0 (got 'many')"),
    (["energy", "{bad}/fan_out.h5", "--out", "{tmp}/r"],
     "fan_out.h5: 10 fan-outs for the 784 neurons of input/counts"),
    (["energy", "{bad}/n_images.h5", "--out", "{tmp}/r"], "n_images.h5: n_images = 7 but 2"),
    (["energy", "{bad}/float_counts.h5", "--out", "{tmp}/r"],
     "float_counts.h5: layers/0/counts must hold unsigned counts, one row per image (got "
     "float64"),
    (["energy", "{bad}/timestep.h5", "--out", "{tmp}/r"],
     "timestep.h5: timestep_ms must be > 0 (got -1.0)"),
    (["energy", "{bad}/labels.h5", "--out", "{tmp}/r"],
     "labels.h5: labels must be whole numbers (got float64)"),
    (["energy", "{bad}/accuracy.h5", "--out", "{tmp}/r"],
     "accuracy.h5: evaluation accuracy must be fractions in [0, 1] (got high)"),
    (["fit", "{bad}/neuron.h5", "--out", "{tmp}/c.json"],
     "neuron.h5: neuron lacks i_offset, tau_m"),
    (["fit", "{bad}/laser.h5", "--out", "{tmp}/c.json"],
     "laser.h5: drive: unknown kind 'laser'"),
    (["fit", "{bad}/stds.h5", "--out", "{tmp}/c.json"], "stds.h5: stds must be finite"),
    # (a second audit) devices as outputs, damaged files, grids and modes
    (["fit", "{bad}/rates.h5", "--out", "/dev/null", "--force"],
     "--out: /dev/null is not a regular file (a device, pipe or socket)"),
    (["response", "--csv", "/dev/null", "--force"], "--csv: /dev/null is not a regular file"),
    (["deploy", "{bad}/half.h5", "--out", "{tmp}/n.h5"],
     "half.h5: layer 2 (dense): weights must be float32 or float64 (got float16)"),
    (["deploy", "{bad}/flat_layers.h5", "--out", "{tmp}/n.h5"],
     "flat_layers.h5: layers is a dataset, not a group of layers"),
    (["evaluate-ann", "{bad}/extra_layer.h5"],
     "extra_layer.h5: layers must be named 0 .. 3 (got 0, 1, 2, extra)"),
    (["fit", "{bad}/text_means.h5", "--out", "{tmp}/c.json"],
     "text_means.h5: means must be finite numbers"),
    (["fit", "{bad}/float_rates.h5", "--out", "{tmp}/c.json"],
     "float_rates.h5: counts must be whole numbers (got float16)"),
    (["fit", "{bad}/step0.h5", "--out", "{tmp}/c.json"],
     "step0.h5: timestep_ms must be > 0 (got 0.0)"),
    (["fit", "{bad}/rates.h5", "--partial", "--out", "{tmp}/c.json"],
     "--partial: {bad}/rates.h5 is a finished sweep; fit it without --partial"),
    (["energy", "{bad}/lost_layer.h5", "--out", "{tmp}/r"],
     "lost_layer.h5: recorded_layers [0, 1, 2] but counts of layers [0, 1]"),
    (["calibrate", "--stds", "0.5,0.5", "--out", "{tmp}/n.h5"],
     "--stds: a value given twice in '0.5,0.5': every grid point once"),
    (["response", "--means", "0.5,0.5,0.1"], "--means: a value given twice in '0.5,0.5,0.1'"),
    (["deploy", "{net}", "--images", "1", "--plot", "{tmp}/p", "--out", "{tmp}/n.h5"],
     "--plot: {tmp}/p has no suffix; end it with one of .png"),
    (["fit", "{bad}/rates.h5", "--out", "{tmp}/c.json", "--plot", "{tmp}/f.pdf"],
     "--plot: {tmp}/f.pdf: the fit's figures are written as PNG and SVG side by side"),
    (["spinnaker", "config", "--board", "http://10.0.0.1:22244", "--dir", "{tmp}/cfg"],
     "--board: a board is a host name or address, not a URL"),
    (["spinnaker", "config", "--spalloc", "http://x\nvirtual_board = True", "--dir",
      "{tmp}/cfg"], "--spalloc: spaces or control characters"),
    (["energy", "{bad}/run.h5", "--devices", "{bad}/comma.json", "--out", "{tmp}/r"],
     "comma.json: device 1: name: must be a name without commas"),
    (["energy", "{bad}/run.h5", "--devices", "{bad}/year.json", "--out", "{tmp}/r"],
     "year.json: device 1 (chip): year must be a whole number from 1940 to 2100 (got -5)"),
    (["energy", "{bad}/run.h5", "--devices", "{bad}/extra_key.json", "--out", "{tmp}/r"],
     "extra_key.json: unknown foo; the file holds 'devices' only"),
    (["energy", "{bad}/run.h5", "--devices", "{bad}/huge.json", "--out", "{tmp}/r"],
     "joules_per_synaptic_event must be a number from 0 to 1 J (got 1e+308)"),
    (["nir", "import", "{bad}/complex.nir", "--out", "{tmp}/n.h5"],
     "complex.nir: node 'dense2' (Affine): weights of type complex"),
    (["spinnaker", "check", "{net}", "--no-map", "--out", "{tmp}/m.json"],
     "--out: belongs to the mapping, which --no-map skips"),
    (["train", "--data", "{net}", "--out", "{tmp}/n.h5"],
     "not a folder of MNIST files or an .npz file"),
    (["nir", "import", "{bad}/empty_layer.nir", "--out", "{tmp}/n.h5"],
     "empty_layer.nir: node 'lif' (CubaLIF): a layer of 0 neurons"),
    (["nir", "import", "{bad}/no_resistance.nir", "--out", "{tmp}/n.h5"],
     "no_resistance.nir: node 'lif' (CubaLIF): r = 0; a resistance > 0 is needed"),
    (["nir", "import", "{bad}/other_cell.nir", "--out", "{tmp}/n.h5"],
     "other_cell.nir: node 'lif' (CubaLIF): metadata cell 'IF_cond_exp', but a CubaLIF node "
     "is IF_curr_exp"),
    (["nir", "import", "{bad}/chain.nir", "--timestep", "1e6", "--out", "{tmp}/n.h5"],
     "timestep 1e+06 ms is over 100 times the shortest time constant (5 ms)"),
    (["nir", "import", "{bad}/g.nir", "--out", "{tmp}/n.h5", "--timestep", "1e6"],
     "--timestep: the graph was exported by lifresponse"),
    # (a fourth audit) training's seeds and data against the network it starts from
    (["train", "--seed", "99999999999999999999", "--out", "{tmp}/n.h5"],
     "--seed: must be a whole number in 0 .. 2^31 - 1"),
    (["finetune", "{net}", "--seed", "-3", "--out", "{tmp}/n.h5"],
     "--seed: must be a whole number in 0 .. 2^31 - 1 (got -3)"),
    (["train", "--method", "spikes", "--init", "{net}", "--data", "{bad}/twenty.npz",
      "--validation", "2", "--out", "{tmp}/n.h5"],
     "--data: {bad}/twenty.npz (images, labels): images of shape (20, 20) do not fit"),
    (["finetune", "{net}", "--data", "{bad}/twenty.npz", "--validation", "2", "--out",
      "{tmp}/n.h5"], "--data: {bad}/twenty.npz (images, labels): images of shape (20, 20)"),
    # files newer than this lifresponse, ours and NIR's
    (["nir", "import", "{bad}/v99.nir", "--out", "{tmp}/n.h5"],
     "v99.nir: written by NIR 99.0.0; the installed nir"),
    (["nir", "import", "{bad}/fmt99.nir", "--out", "{tmp}/n.h5"],
     "fmt99.nir: lifresponse metadata of network format 99; this lifresponse writes and reads "
     "up to"),
    (["deploy", "{bad}/net_v99.h5", "--out", "{tmp}/n.h5"], "network file version 99"),
    (["evaluate-ann", "{bad}/net_v99.h5"], "network file version 99"),
    (["energy", "{bad}/run_v99.h5", "--out", "{tmp}/r"], "run file version 99"),
    (["fit", "{bad}/rates_v99.h5", "--out", "{tmp}/c.json"], "rates file version 99"),
    (["train", "--calibration", "{bad}/cal_v99.json", "--out", "{tmp}/n.h5"],
     "calibration version 99"),
    # image data, checked once for every command
    (["deploy", "{net}", "--data", "{bad}/empty.npz", "--out", "{tmp}/n.h5"],
     "empty.npz (images, labels): holds no images"),
    (["train", "--data", "{bad}/empty.npz", "--out", "{tmp}/n.h5"], "holds no images"),
    (["evaluate-ann", "{net}", "--data", "{bad}/empty.npz"], "holds no images"),
    (["evaluate-ann", "{net}", "--data", "{bad}/strings.npz", "--validation", "2"],
     "strings.npz (images, labels): labels must be integers from 0 (got <U1: '0', '1'"),
    (["train", "--data", "{bad}/strings.npz", "--out", "{tmp}/n.h5"],
     "labels must be integers from 0"),
    (["train", "--data", "{bad}/last.npz", "--validation", "2", "--out", "{tmp}/n.h5"],
     "images of shape (28, 28, 3) look like height x width x channels"),
    (["deploy", "{net}", "--data", "{bad}/last.npz", "--validation", "2", "--out",
      "{tmp}/n.h5"], "look like height x width x channels"),
    (["evaluate-ann", "{net}", "--data", "{bad}/nan.npz", "--validation", "2"],
     "nan.npz (images, labels): 1 pixel(s) are NaN or infinite"),
    (["deploy", "{net}", "--data", "{bad}/nan.npz", "--validation", "2", "--out", "{tmp}/n.h5"],
     "1 pixel(s) are NaN or infinite"),
    (["train", "--data", "{bad}/nan.npz", "--validation", "2", "--out", "{tmp}/n.h5"],
     "1 pixel(s) are NaN or infinite"),
    (["evaluate-ann", "{net}", "--data", "{bad}/twenty.npz", "--validation", "2"],
     "--data: {bad}/twenty.npz (images, labels): images of shape (20, 20) do not fit the "
     "network's input (1, 28, 28)"),
    (["deploy", "{net}", "--data", "{bad}/twenty.npz", "--validation", "2", "--images", "1",
      "--out", "{tmp}/n.h5"],
     "--data: {bad}/twenty.npz (images, labels): images of shape (20, 20)"),
    (["energy", "--network", "{net}", "--data", "{bad}/twenty.npz", "--validation", "2",
      "--images", "1"],
     "--data: {bad}/twenty.npz (images, labels): images of shape (20, 20)"),
    (["evaluate-ann", "{net}", "--data", "{bad}/gz", "--validation", "2"],
     "train-images-idx3-ubyte.gz: cannot read (Error -3 while decompressing"),
    (["train", "--data", "{bad}/gz", "--out", "{tmp}/n.h5"],
     "train-images-idx3-ubyte.gz: cannot read"),
    (["train", "--data", "{bad}/flat.npz", "--arch", "6c5-10fc", "--validation", "2", "--out",
      "{tmp}/n.h5"], "'6c5' needs maps, but follows flat input data of 784 pixels per image"),
    # broken or mistyped attributes, one reader naming file and field
    (["fit", "{bad}/drive_json.h5", "--out", "{tmp}/c.json"],
     "drive_json.h5: attribute 'drive' is not JSON"),
    (["fit", "{bad}/trials_type.h5", "--out", "{tmp}/c.json"],
     "trials_type.h5: attribute 'trials' must be a whole number (got 'many')"),
    (["calibrate", "--resume", "--out", "{bad}/sweep.h5"],
     "sweep.h5.partial: attribute 'drive' is not JSON"),
    (["energy", "{bad}/evaluation_json.h5", "--out", "{tmp}/r"],
     "evaluation_json.h5: attribute 'evaluation' is not JSON"),
    (["energy", "{bad}/window_type.h5", "--out", "{tmp}/r"],
     "window_type.h5: attribute 'window_ms' must be a finite number (got 'long')"),
    (["energy", "{bad}/layers_type.h5", "--out", "{tmp}/r"],
     "layers_type.h5: attribute 'recorded_layers' must be a JSON list"),
    (["deploy", "{bad}/provenance_json.h5", "--out", "{tmp}/n.h5"],
     "provenance_json.h5: attribute 'provenance' is not JSON"),
    (["evaluate-ann", "{bad}/provenance_json.h5"],
     "provenance_json.h5: attribute 'provenance' is not JSON"),
    (["nir", "export", "{bad}/provenance_json.h5", "--out", "{tmp}/n.h5"],
     "attribute 'provenance' is not JSON"),
    # messages that name the real fault
    (["nir", "import", "{bad}/unknown.nir", "--out", "{tmp}/n.h5"],
     "unknown.nir: node 'conv0' has type 'Quantum', which NIR"),
    (["train", "--calibration", "{bad}", "--out", "{tmp}/n.h5"],
     "cannot read a calibration file there (Is a directory)"),
    (["finetune", "{net}", "--calibration", "{bad}", "--out", "{tmp}/n.h5"],
     "cannot read a calibration file there (Is a directory)"),
    (["calibrate", "--threads", "-1", "--out", "{tmp}/n.h5"], "--threads: must be >= 1 (got -1)"),
    (["calibrate", "--threads", "0", "--out", "{tmp}/n.h5"], "--threads: must be >= 1 (got 0)"),
    # other cells (docs/cells.md)
    (["calibrate", "--cell", "IF_cond_exp", "--neuron", "{tmp}/absent.json", "--out",
      "{tmp}/n.h5"], "absent.json: no such file"),
    (["calibrate", "--cell", "IF_cond_exp", "--neuron", "{tmp}/notjson.json", "--out",
      "{tmp}/n.h5"], "notjson.json: not a JSON file of neuron parameters"),
    (["calibrate", "--cell", "IF_cond_exp", "--neuron", "{tmp}/map.json", "--out",
      "{tmp}/n.h5"], "map.json: must hold a JSON object of parameter values (got list)"),
    (["calibrate", "--cell", "Izhikevich", "--backend", "spinnaker", "--out", "{tmp}/n.h5"],
     "--drive: the poisson drive of Izhikevich's delta synapses runs on NEST"),
    (["calibrate", "--cell", "IF_curr_delta", "--drive", "poisson", "--backend", "spinnaker",
      "--out", "{tmp}/n.h5"],
     "--drive: the poisson drive of IF_curr_delta's delta synapses runs on NEST"),
]

# argparse's own refusals (exit status 2 through SystemExit, its "argument --flag:" message)
PARSER_CASES = [
    (["fit", "rates.h5", "--out", "{tmp}/folder/"], "argument --out: '{tmp}/folder/' names a "
                                                    "folder; give a file name"),
    (["deploy", "net.h5", "--out", "{tmp}/"], "argument --out: '{tmp}/' names a folder"),
    (["train", "--out", "{tmp}/nets/"], "argument --out: '{tmp}/nets/' names a folder"),
    (["response", "--csv", "{tmp}/c/"], "argument --csv: '{tmp}/c/' names a folder"),
    (["deploy", "net.h5", "--plot", "{tmp}/p/"], "argument --plot: '{tmp}/p/' names a folder"),
    (["nir", "export", "net.h5", "--out", " "], "argument --out: an empty file name"),
    (["energy", "run.h5", "--out", ""], "argument --out: an empty folder name"),
    (["spinnaker", "config", "--virtual", "--dir", ""], "argument --dir: an empty folder name"),
    (["calibrate", "--cell", "HH_cond_exp"], "argument --cell: invalid choice: 'HH_cond_exp'"),
]


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    from lifresponse.training import trainer

    path = tmp_path_factory.mktemp("net") / "net.h5"
    model = trainer.make_model("4c5-4s-10fc", "relu", 0.3, 201.0, 5.0, LIFParams(), 0)
    trainer.export(model, path, LIFParams(), 1.0, {})
    return path


@pytest.fixture(scope="module")
def bad(tmp_path_factory, network):
    """A folder of damaged inputs, one per kind (rows of CASES name them {bad}/...)."""
    import gzip
    import json
    import shutil

    from lifresponse import workflow

    d = tmp_path_factory.mktemp("bad")
    workflow.export_nir(network, out=d / "g.nir")
    workflow.deploy(network, backend="torch", images=2, window=5.0, progress=False,
                    out=d / "run.h5")
    _small_rates(d / "rates.h5")
    workflow.fit(d / "rates.h5", out=d / "cal.json")
    chip = {"name": "chip", "spiking": True, "joules_per_synaptic_event": 1e-11,
            "joules_per_neuron_update": 1e-12, "source": "a test", "year": 2026}
    (d / "dup.json").write_text(json.dumps({"devices": [chip, {**chip, "source": "another"}]}))
    for name, row, top in (("comma.json", {**chip, "name": "a,b"}, {}),
                           ("year.json", {**chip, "year": -5}, {}),
                           ("extra_key.json", chip, {"foo": 1}),
                           ("huge.json", {**chip, "joules_per_synaptic_event": 1e308}, {})):
        (d / name).write_text(json.dumps({"devices": [row], **top}))
    (d / "chips.json").write_text(json.dumps({"chips": -3, "cores": 10}))
    calibration = json.loads((d / "cal.json").read_text())
    (d / "cal_v99.json").write_text(json.dumps({**calibration, "version": 99}))

    def damaged(source, name, **attrs):
        shutil.copy(d / source if isinstance(source, str) else source, d / name)
        with h5py.File(d / name, "r+") as f:
            for key, value in attrs.items():
                if key in f:  # a dataset (NIR keeps its version as one)
                    del f[key]
                    f[key] = value
                else:
                    f.attrs[key] = value

    damaged(network, "net_v99.h5", version=99)
    damaged(network, "tanh.h5", activation="tanh")
    damaged(network, "arch.h5", architecture="4c5-4s-12fc")
    damaged(network, "shape.h5", input_shape=[3, 28])
    damaged(network, "version_text.h5", version="one")
    damaged(network, "provenance_type.h5",
            provenance=json.dumps({"n_validation": "many", "split_seed": "x"}))
    for name, dtype in (("complex.h5", complex), ("boolw.h5", bool)):
        shutil.copy(network, d / name)
        with h5py.File(d / name, "r+") as f:
            weight = f["layers/2/weight"][()]
            del f["layers/2/weight"]
            f["layers/2/weight"] = weight.astype(dtype)
    damaged("run.h5", "n_images.h5", n_images=7)
    damaged("run.h5", "timestep.h5", timestep_ms=-1.0)
    damaged("run.h5", "accuracy.h5", evaluation=json.dumps({"accuracy": "high"}))
    damaged("run.h5", "fan_out.h5", **{"input/fan_out": np.ones(10)})
    damaged("run.h5", "labels.h5", labels=np.array([1.5, 0.0]))
    shutil.copy(d / "run.h5", d / "float_counts.h5")
    with h5py.File(d / "float_counts.h5", "r+") as f:
        counts = f["layers/0/counts"][()]
        del f["layers/0/counts"]
        f["layers/0/counts"] = -counts.astype(float) - 0.5
    (d / "rep").mkdir()
    shutil.copy(d / "run.h5", d / "rep" / "report.md")
    damaged("rates.h5", "g_residuals.png")
    damaged("rates.h5", "sweep2.h5.partial")
    damaged("rates.h5", "sweep3.h5.partial")
    damaged("rates.h5", "neuron.h5", neuron=json.dumps({"cm": 0.25}))
    damaged("rates.h5", "laser.h5", drive=json.dumps({"kind": "laser"}))
    damaged("rates.h5", "stds.h5", stds=np.full(2, np.nan))
    (d / "cal10.json").write_text(json.dumps({**json.loads((d / "cal.json").read_text()),
                                              "tau_syn_ms": 10.0}))
    (d / "map_other.json").write_text(json.dumps({"chips": 1, "cores": 5,
                                                  "check": {"cores_per_layer": [1, 4]}}))
    (d / "map_few.json").write_text(json.dumps({"chips": 100, "cores": 3}))
    np.savez(d / "bool.npz", images=np.zeros((5, 28, 28), bool), labels=np.arange(5))
    _write_chain_graph(d / "chain.nir")
    _write_chain_graph(d / "empty_layer.nir", n=0)
    _write_chain_graph(d / "no_resistance.nir", r=0.0)
    _write_chain_graph(d / "other_cell.nir", cell="IF_cond_exp")
    for name, change in (("half.h5", lambda f: _replace(f, "layers/2/weight", np.float16)),
                         ("flat_layers.h5", lambda f: _replace(f, "layers", None)),
                         ("extra_layer.h5", lambda f: f.copy(f["layers/2"], "layers/extra"))):
        shutil.copy(network, d / name)
        with h5py.File(d / name, "r+") as f:
            change(f)
    for name, key, dtype in (("text_means.h5", "means", "S8"), ("float_rates.h5", "counts",
                                                                np.float16)):
        shutil.copy(d / "rates.h5", d / name)
        with h5py.File(d / name, "r+") as f:
            _replace(f, key, dtype)
    damaged("rates.h5", "step0.h5", timestep_ms=0.0)
    shutil.copy(d / "run.h5", d / "lost_layer.h5")
    with h5py.File(d / "lost_layer.h5", "r+") as f:
        del f["layers/2"]
    shutil.copy(d / "g.nir", d / "complex.nir")
    with h5py.File(d / "complex.nir", "r+") as f:
        _replace(f, "node/nodes/dense2/weight", np.complex64)
    damaged(network, "provenance_json.h5", provenance="{not json")
    damaged("run.h5", "run_v99.h5", version=99)
    damaged("run.h5", "evaluation_json.h5", evaluation="{oops")
    damaged("run.h5", "window_type.h5", window_ms="long")
    damaged("run.h5", "layers_type.h5", recorded_layers='{"0": 1}')
    damaged("rates.h5", "rates_v99.h5", version=99)
    damaged("rates.h5", "drive_json.h5", drive="{broken")
    damaged("rates.h5", "trials_type.h5", trials="many")
    damaged("drive_json.h5", "sweep.h5.partial")
    damaged("g.nir", "v99.nir", version=b"99.0.0")
    shutil.copy(d / "g.nir", d / "fmt99.nir")
    with h5py.File(d / "fmt99.nir", "r+") as f:
        del f["node/metadata/lifresponse/format_version"]
        f["node/metadata/lifresponse/format_version"] = 99
    shutil.copy(d / "g.nir", d / "unknown.nir")
    with h5py.File(d / "unknown.nir", "r+") as f:
        del f["node/nodes/conv0/type"]
        f["node/nodes/conv0/type"] = b"Quantum"
    rng = np.random.default_rng(0)
    np.savez(d / "empty.npz", images=np.zeros((0, 28, 28), np.uint8), labels=np.zeros(0, int))
    np.savez(d / "strings.npz", images=np.zeros((5, 28, 28), np.uint8),
             labels=np.array(list("01234")))
    np.savez(d / "last.npz", images=np.zeros((5, 28, 28, 3), np.uint8), labels=np.arange(5))
    pixels = rng.uniform(0, 1, (5, 28, 28)).astype(np.float32)
    pixels[0, 3, 3] = np.nan
    np.savez(d / "nan.npz", images=pixels, labels=np.arange(5))
    np.savez(d / "twenty.npz", images=np.zeros((5, 20, 20), np.uint8), labels=np.arange(5))
    np.savez(d / "flat.npz", images=np.zeros((5, 784), np.uint8), labels=np.arange(5))
    (d / "gz").mkdir()
    header = b"".join(n.to_bytes(4, "big") for n in (2051, 10, 28, 28))
    packed = bytearray(gzip.compress(header + bytes(7840)))
    packed[30:60] = bytes(b ^ 0x55 for b in packed[30:60])  # a good header, corrupt data
    (d / "gz" / "train-images-idx3-ubyte.gz").write_bytes(bytes(packed))
    (d / "gz" / "train-labels-idx1-ubyte").write_bytes(
        (2049).to_bytes(4, "big") + (10).to_bytes(4, "big") + bytes(range(10)))
    return d


@pytest.mark.parametrize("argv, fragment", CASES, ids=[" ".join(c[0][:3]) for c in CASES])
def test_bad_command_line(argv, fragment, network, bad, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path, net=network, bad=bad) for a in argv]
    fragment = fragment.format(net=network, tmp=tmp_path, bad=bad)
    (tmp_path / "npz").mkdir()
    (tmp_path / "npz" / "mnist.npz").write_bytes(b"garbage, not a zip")
    np.savez(tmp_path / "wide.npz", images=np.linspace(0, 2, 75).reshape(3, 5, 5),
             labels=np.arange(3))
    small = np.zeros((3, 5, 5), np.uint8)
    np.savez(tmp_path / "small.npz", images=small, labels=np.arange(3), test_images=small,
             test_labels=np.arange(3))
    _write_recurrent_graph(tmp_path / "rec.nir")
    (tmp_path / "afile").write_text("a file where a folder must be")
    (tmp_path / "garbage.h5").write_bytes(b"garbage")
    (tmp_path / "notjson.json").write_text("{not json")
    (tmp_path / "map.json").write_text("[1, 2]")
    (tmp_path / "exists.csv").write_text("kept")
    (tmp_path / "exists.png").write_text("kept")
    (tmp_path / "fig_rates.png").write_text("kept")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "energy.json").write_text("kept")
    (tmp_path / "report" / "spynnaker.cfg").write_text("kept")
    with h5py.File(tmp_path / "run.h5", "w") as f:  # a run file that lost its input group
        f.attrs.update({"format": "lifresponse.run", "version": 1})
        f["labels"] = np.zeros(1)
        f.create_group("layers")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err, err
    assert not (tmp_path / "n.h5").exists() and not (tmp_path / "fig.xyz").exists()
    assert not (tmp_path / "n.h5.partial").exists()  # a failed start leaves no unfinished run
    for kept in ("exists.csv", "exists.png", "fig_rates.png", "report/energy.json",
                 "report/spynnaker.cfg"):
        assert (tmp_path / kept).read_text() == "kept"  # nothing existing was overwritten


@pytest.mark.parametrize("argv, fragment", PARSER_CASES,
                         ids=[" ".join(c[0][:3]) for c in PARSER_CASES])
def test_bad_command_line_refused_by_the_parser(argv, fragment, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_status:
        main([a.format(tmp=tmp_path) for a in argv])
    assert exit_status.value.code == 2
    err = capsys.readouterr().err
    assert fragment.format(tmp=tmp_path) in err and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []


def _write_chain_graph(path, n=3, r=1.0, cell=None):
    """Input (3) -> Linear -> CubaLIF (n neurons, resistance r, metadata cell) -> Output."""
    import nir

    lif = nir.CubaLIF(tau_syn=np.full(n, 0.005), tau_mem=np.full(n, 0.02), r=np.full(n, r),
                      v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n),
                      w_in=np.ones(n), metadata={"lifresponse": {"cell": cell}} if cell else {})
    nir.write(path, nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([3])}),
               "fc": nir.Linear(np.ones((n, 3))), "lif": lif,
               "output": nir.Output(output_type={"output": np.array([n])})},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")], type_check=False))


def _write_recurrent_graph(path):
    import nir

    w, n = np.eye(3), 3
    lif = nir.LIF(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n),
                  v_threshold=np.ones(n), v_reset=np.zeros(n))
    nir.write(path, nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([3])}), "fc": nir.Linear(w),
               "lif": lif, "back": nir.Linear(w),
               "output": nir.Output(output_type={"output": np.array([3])})},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "back"), ("back", "fc"),
               ("lif", "output")], type_check=False))


def test_csv_into_a_new_folder_is_written(tmp_path):
    out = tmp_path / "new" / "folder" / "curves.csv"
    assert main(["response", "--means", "0:1:0.5", "--stds", "0.5", "--csv", str(out)]) == 0
    assert out.read_text().startswith("std_nA,mean_nA")


FULL_DISK = [
    (["nir", "export", "{net}", "--out", "{tmp}/g.nir"], "g.nir"),
    (["nir", "import", "{tmp}/g0.nir", "--out", "{tmp}/b.h5"], "b.h5"),
    (["response", "--csv", "{tmp}/c.csv"], "c.csv"),
    (["spinnaker", "config", "--virtual", "--dir", "{tmp}/cfg"], "cfg/spynnaker.cfg"),
    (["fit", "{tmp}/rates.h5", "--out", "{tmp}/cal.json"], "cal.json"),
    (["energy", "{tmp}/run0.h5", "--out", "{tmp}/report"], "report/energy.json"),
    (["deploy", "{net}", "--backend", "torch", "--images", "2", "--duration", "5", "--out",
      "{tmp}/run.h5"], "run.h5"),
]


@pytest.mark.parametrize("argv, written", FULL_DISK, ids=[" ".join(c[0][:2]) for c in FULL_DISK])
def test_a_full_disk_is_one_message_and_leaves_no_file(argv, written, network, tmp_path,
                                                       capsys, monkeypatch):
    """The disk filling under a command is one message, exit status 1, and no file under the
    final name and no temporary file: every write goes through ``paths.write_atomic``
    (simulated here: it writes part of the data, then the disk is full), and the run file's
    streaming writer checks the free space first (``shutil.disk_usage`` reports 1 kB)."""
    import errno
    import shutil
    from pathlib import Path

    from lifresponse import workflow

    workflow.export_nir(network, out=tmp_path / "g0.nir")
    (tmp_path / "run0.h5").write_bytes(
        workflow.deploy(network, backend="torch", images=2, window=5.0, progress=False,
                        out=tmp_path / "r0.h5").path.read_bytes())
    _small_rates(tmp_path / "rates.h5")
    write_bytes = Path.write_bytes

    def full_disk(path, data):
        write_bytes(path, data[:len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=1000))
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main([a.format(tmp=tmp_path, net=network) for a in argv]) == 1
    err = capsys.readouterr().err
    assert "the disk is full" in err and "Traceback" not in err, err
    assert not (tmp_path / written).exists()
    new = sorted(set(p.name for p in tmp_path.rglob("*")) - set(before))
    assert all(not name.startswith(".") and not name.endswith(".partial") for name in new), new


def _replace(f, key, dtype):
    """Replace dataset ``key`` of the open HDF5 file ``f`` by its values as ``dtype`` (None:
    by a scalar dataset where a group was)."""
    values = 0 if dtype is None else f[key][()].astype(dtype)
    del f[key]
    f[key] = values


def _small_rates(path):
    """A finished calibration file, written as a sweep writes it (no simulation)."""
    from lifresponse.calibration import results

    means, stds, trials = np.linspace(-0.2, 1.0, 7), np.array([0.2, 0.6]), 2
    rng = np.random.default_rng(0)
    results.create(path, means, stds, trials, 1, {
        "drive": {"kind": "noisy-current", "dt_noise": 1.0}, "neuron": LIFParams().to_dict(),
        "duration_ms": 1000.0, "timestep_ms": 1.0, "trials": trials, "seed": 1, "threads": 1,
        "backend": "nest", "backend_version": "test", "spike_precision": "on_grid",
        "lifresponse_version": "test", "max_cells_per_chunk": 4000, "spikes_returned": True,
        "note": "", "wall_time_s": 0.0})
    points = np.arange(len(means) * len(stds))
    mean = np.repeat(means, len(stds))
    counts = np.clip(200 * np.log1p(np.exp((mean - 0.3) / 0.1)) * 0.1, 0, None)
    results.write_chunk(path, 0, points, (counts[:, None] + rng.integers(0, 3, (len(points),
                        trials))).astype(np.int64), 1.0, spikes_returned=True)
    results.mark_complete(path, "")


def test_force_replaces_what_is_otherwise_kept(network, tmp_path):
    csv = tmp_path / "curves.csv"
    csv.write_text("old")
    argv = ["response", "--means", "0:1:0.5", "--stds", "0.5", "--csv", str(csv)]
    assert main(argv) == 2 and csv.read_text() == "old"
    assert main([*argv, "--force"]) == 0 and csv.read_text().startswith("std_nA")
    run = tmp_path / "run.h5"
    run.write_text("old")
    deploy = ["deploy", str(network), "--images", "1", "--duration", "10", "--threads", "1",
              "--quiet", "--out", str(run)]
    assert main(deploy) == 2 and run.read_text() == "old"
    assert main([*deploy, "--force"]) == 0 and run.read_bytes()[:4] == b"\x89HDF"


def test_a_simulator_error_is_one_backend_error_and_our_bugs_stay_visible(nest_kernel):
    from lifresponse import backends
    from lifresponse.errors import BackendError

    with pytest.raises(BackendError, match=r"the simulator failed \(NESTErrors, BadProperty\)"):
        with backends.quiet():
            nest_kernel.SetKernelStatus({"rng_seed": -1})
    with pytest.raises(TypeError, match="a bug of ours"):
        with backends.quiet():
            raise TypeError("a bug of ours")
