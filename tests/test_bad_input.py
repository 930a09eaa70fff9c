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
    (["calibrate", "--dt-noise", "-1", "--out", "{tmp}/n.h5"],
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
     "absent_dir: no such directory"),
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


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    from lifresponse.training import trainer

    path = tmp_path_factory.mktemp("net") / "net.h5"
    model = trainer.make_model("4c5-4s-10fc", "relu", 0.3, 201.0, 5.0, LIFParams(), 0)
    trainer.export(model, path, LIFParams(), 1.0, {})
    return path


@pytest.mark.parametrize("argv, fragment", CASES, ids=[" ".join(c[0][:3]) for c in CASES])
def test_bad_command_line(argv, fragment, network, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path, net=network) for a in argv]
    fragment = fragment.format(net=network, tmp=tmp_path)
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
    for kept in ("exists.csv", "exists.png", "report/energy.json", "report/spynnaker.cfg"):
        assert (tmp_path / kept).read_text() == "kept"  # nothing existing was overwritten


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


def test_a_full_disk_is_one_message_and_leaves_no_file(network, tmp_path, capsys,
                                                       monkeypatch):
    """The operating system failing under a command (here: no space left while the NIR graph
    is written) is one message, exit status 1, and no file under the final name."""
    import errno

    import nir

    def full_disk(path, graph, *args, **kwargs):
        with open(path, "wb") as handle:  # a partial temporary file, as a real write leaves
            handle.write(b"\x89HDF")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(nir, "write", full_disk)
    assert main(["nir", "export", str(network), "--out", str(tmp_path / "g.nir")]) == 1
    err = capsys.readouterr().err
    assert "the disk is full" in err and "Traceback" not in err
    assert not (tmp_path / "g.nir").exists() and not list(tmp_path.glob(".*.tmp"))


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
