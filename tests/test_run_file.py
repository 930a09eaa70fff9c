"""The run file written block by block, read lazily, and the evaluation gathered block by
block."""

import numpy as np
import pytest
from network_helpers import conv_network, random_digits

from lifresponse.deployment import DeployConfig, deploy
from lifresponse.networks import run_file
from lifresponse.networks.blocks import empty_block
from lifresponse.networks.evaluation import PREDICTION_IMAGES


def test_blocks_of_any_size_give_the_same_run_file_and_evaluation(rng, tmp_path):
    """Counts, arrays and evaluation do not depend on how the images were cut into blocks;
    the record deploy returns leaves the counts in the file until they are used."""
    network = conv_network(rng)
    digits = random_digits(rng, 7)
    runs = []
    for batch in (2, 7):
        config = DeployConfig(backend="torch", window=40.0, threads=1, seed=3, batch=batch)
        runs.append(deploy(network, digits, config, out=tmp_path / f"run{batch}.h5",
                           progress=False))
    small, whole = runs
    assert isinstance(small.layer_counts, run_file.StoredCounts)
    assert small.attrs["evaluation"] == whole.attrs["evaluation"]
    assert small.attrs["evaluation"]["prediction_images"] == min(PREDICTION_IMAGES, 7)
    for index in whole.layer_counts:
        np.testing.assert_array_equal(small.layer_counts[index], whole.layer_counts[index])
    np.testing.assert_array_equal(small.output_counts_by_time, whole.output_counts_by_time)
    np.testing.assert_array_equal(small.input_counts, whole.input_counts)
    assert sum(int(c.sum()) for c in whole.layer_counts.values()) > 20
    in_memory = deploy(network, digits, DeployConfig(backend="torch", window=40.0, threads=1,
                                                     seed=3, batch=2), progress=False)
    assert in_memory.path is None and in_memory.attrs["evaluation"] == \
        whole.attrs["evaluation"]
    np.testing.assert_array_equal(in_memory.layer_counts[2], whole.layer_counts[2])


def test_a_damaged_kept_block_runs_again_on_resume(rng, tmp_path, monkeypatch, caplog):
    """A block file of <out>.partial cut short after it was written (this store writes whole
    files only) is named, removed, and its images run again: the resumed run equals an
    uninterrupted one."""
    network = conv_network(rng)
    digits = random_digits(rng, 6)
    config = DeployConfig(backend="torch", window=30.0, threads=1, seed=2, block=2, batch=2)
    whole = deploy(network, digits, config, out=tmp_path / "whole.h5", progress=False)

    def interrupted(self, attrs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_file.RunWriter, "finish", interrupted)
    with pytest.raises(KeyboardInterrupt):
        deploy(network, digits, config, out=tmp_path / "cut.h5", progress=False)
    monkeypatch.undo()
    blocks = sorted((tmp_path / "cut.h5.partial").glob("block_*.npz"))
    assert len(blocks) == 3
    blocks[1].write_bytes(blocks[1].read_bytes()[:100])  # cut short
    with np.load(blocks[2]) as f:  # arrays of another number of images than the name says
        arrays = {k: f[k][:1] if f[k].ndim else f[k] for k in f.files}
    np.savez(blocks[2], **arrays)
    resumed = deploy(network, digits, config, out=tmp_path / "cut.h5", progress=False,
                     resume=True)
    assert f"{blocks[1]} is damaged" in caplog.text and f"{blocks[2]} is damaged" in caplog.text
    assert resumed.attrs["blocks_resumed"] == 1
    for index in whole.layer_counts:
        np.testing.assert_array_equal(resumed.layer_counts[index], whole.layer_counts[index])
    np.testing.assert_array_equal(resumed.output_counts_by_time, whole.output_counts_by_time)


def test_an_unfinished_run_file_is_removed(tmp_path):
    """A writer left by an exception leaves neither the run file nor its temporary file."""
    out = tmp_path / "run.h5"
    block = empty_block(0, 2, 4, {0: 3}, 3, 2, {})
    with pytest.raises(RuntimeError, match="interrupted"):
        with run_file.RunWriter(out, np.array([0, 1]), {0: 3}, {-1: np.ones(4), 0: np.ones(3)},
                                4, 3, np.array([10.0, 20.0]), 2) as writer:
            writer.add(block)
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_array_is_named_when_it_is_first_used(tmp_path, rng):
    network = conv_network(rng)
    run = deploy(network, random_digits(rng, 2), DeployConfig(backend="torch", window=20.0,
                                                              threads=1),
                 out=tmp_path / "run.h5", progress=False)
    reopened = run_file.read(run.path)
    run.path.write_bytes(b"not hdf5 any more")
    with pytest.raises(run_file.FileFormatError, match="run.h5: cannot read layers/0/counts"):
        reopened.layer_counts[0]


def test_blocks_presented_one_ahead_keep_order_errors_and_cleanup():
    """The background presenter hands blocks over in order, raises its error in the caller,
    and closes the presenter when the caller stops early."""
    from lifresponse.deployment import _one_ahead

    closed = []

    def blocks(fail_at=None):
        try:
            for i in range(5):
                if i == fail_at:
                    raise ValueError(f"block {i} failed")
                yield i
        finally:
            closed.append(True)

    assert list(_one_ahead(blocks())) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="block 2 failed"):
        list(_one_ahead(blocks(fail_at=2)))
    ahead = _one_ahead(blocks())
    assert next(ahead) == 0
    ahead.close()
    assert closed == [True, True, True]
