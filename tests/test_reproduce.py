"""The whole pipeline on a tiny plan: stages, resumption, the report, and the report in a
real browser (headless Chromium) with its figures loaded."""

import logging
import re
import shutil
import subprocess

import pytest

from lifresponse.reproduce import Plan, reproduce

# with a small stand-in for the papers' larger network, to run its stages
TINY = Plan("tiny", (5.0,), "-0.4:1.0:0.2", "0.3,1.0", 2, 500.0, 1.0, 1, 1000, 10, 100.0,
            large_architecture="4c5-2s-8c5-2s-10fc")


@pytest.fixture(scope="module")
def reproduction(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduction")
    return out, reproduce(TINY, out, progress=False)


def test_every_stage_ran_and_the_report_sets_paper_beside_ours(reproduction):
    out, html_path = reproduction
    for stage in ("calibrate_tau5", "train_noisy-softplus", "finetune_relu", "deploy_softplus",
                  "deploy_noisy-softplus_tuned", "train_large", "finetune_large",
                  "deploy_large_tuned", "energy"):
        assert (out / f"{stage}.done.json").exists(), stage
    markdown = (out / "report.md").read_text()
    for published in ("0.3 | 201.0", "1.91 1.79 1.76", "184.57", "0.064", "192"):
        assert published in markdown, published
    assert re.search(r"\| 5 \| 0\.3 \| 201\.0 \| 0\.\d{3} \+- ", markdown)
    assert "## MNIST, 4c5-2s-8c5-2s-10fc: accuracy (%)" in markdown
    assert re.search(r"\| SNN, fine-tuned \| 98\.85 \| 99\.07 \| \d+\.\d\d \|", markdown)
    html = html_path.read_text()
    assert html.count("data:image/png;base64,") == 4
    assert "### Per device, same run" in markdown and "arXiv:1903.08941" in markdown
    assert "<h3>Per device, same run</h3>" in html and "###" not in html  # every heading rendered


def test_a_second_run_skips_finished_stages(reproduction, caplog):
    out, _ = reproduction
    before = (out / "runs" / "relu.h5").stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="lifresponse"):
        reproduce(TINY, out, progress=False)
    printed = caplog.text
    assert printed.count("skipped") == 17 and "running" not in printed
    assert (out / "runs" / "relu.h5").stat().st_mtime_ns == before


def test_report_figures_load_in_headless_chromium(reproduction, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Chromium is not installed (Debian package 'chromium'); .ci/run installs it")
    _, html_path = reproduction
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=5000", "--dump-dom", html_path.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'data-images-loaded="4"' in result.stdout


def test_the_full_preset_includes_the_papers_larger_network():
    from lifresponse.reproduce.pipeline import full_plan, quick_plan

    assert full_plan().large_architecture == "12c5-2s-64c5-2s-10fc"
    assert quick_plan().large_architecture is None


def test_an_unfinished_run_of_an_earlier_configuration_is_superseded(reproduction, caplog):
    """A deployment stage rerun with other settings (reproduce again after a change) finds the
    unfinished run an interrupted earlier configuration left, and replaces it instead of
    stopping with advice reproduce cannot follow."""
    from lifresponse.datasets import load_mnist
    from lifresponse.networks.partial_run import PartialRun
    from lifresponse.reproduce import pipeline

    out, _ = reproduction
    stale = out / "runs" / "relu.h5.partial"
    PartialRun(out / "runs" / "relu.h5", {"seed": -1, "window_ms": 1.0}, resume=False)
    assert stale.is_dir()
    with caplog.at_level(logging.WARNING, logger="lifresponse"):
        result = pipeline._deploy(TINY, "relu", load_mnist().subset(range(4)), out, False)
    assert f"{stale}: an unfinished run of an earlier configuration, removed" in caplog.text
    assert not stale.exists() and result["accuracy"] is not None
