"""``lifresponse energy``: an energy report of a deployment run (JSON, Markdown, HTML, plots)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from lifresponse import html_page
from lifresponse.errors import FileFormatError
from lifresponse.hardware import energy
from lifresponse.networks.run_file import RunRecord
from lifresponse.plotting import new_figure, save_figure


def layer_names(run: RunRecord) -> dict:
    """Run-file layer index -> readable name ("input", "layer 0", ...)."""
    return {-1: "input", **{i: f"layer {i}" for i in run.fan_out if i >= 0}}


def run_energy(run: RunRecord, e_syn: float, mapping: dict | None):
    """Both models for a run. ``mapping``: {"chips", "cores"} from ``spinnaker check``."""
    if not run.attrs.get("spikes_returned", True):
        raise FileFormatError(f"{run.path}: holds no measured spikes ({run.attrs.get('note')})")
    names = layer_names(run)
    counts = {"input": run.input_counts}
    for index, layer_counts in run.layer_counts.items():
        counts[names[index]] = layer_counts
    missing = [names[i] for i in run.fan_out if i >= 0 and i not in run.layer_counts
               and run.fan_out[i].any()]
    if missing:
        raise FileFormatError(f"{run.path}: no spike counts for {', '.join(missing)}; deploy "
                              "with --record all for an energy report")
    fan_out = {names[i]: f for i, f in run.fan_out.items()}
    n_images = int(run.attrs["n_images"])
    duration_s = n_images * (run.attrs["window_ms"] + run.attrs["gap_ms"]) / 1000.0
    events = energy.event_energy(counts, fan_out, duration_s, n_images, e_syn)
    if mapping:
        chips, cores, source = int(mapping["chips"]), int(mapping["cores"]), mapping.get(
            "source", "mapping file")
    else:
        sizes = [run.input_counts.shape[1]] + [len(run.fan_out[i]) for i in sorted(
            run.fan_out) if i >= 0]
        chips, cores = energy.estimate_cores(sizes)
        source = "estimate: 256 neurons per core, 16 application cores per chip"
    board = energy.board_energy(counts, fan_out, duration_s, n_images, chips, cores, source)
    return events, board


def energy_report(run: RunRecord, e_syn: float = energy.E_SYN_J,
                  mapping: dict | None = None) -> dict:
    """Both models of a run as the dictionary that ``report.json`` holds (nothing written)."""
    events, board = run_energy(run, e_syn, mapping)
    evaluation = run.attrs.get("evaluation", {})
    report = {
        "run_file": str(run.path), "network": run.attrs.get("network_file"),
        "architecture": run.attrs.get("architecture"), "backend": run.attrs.get("backend"),
        "n_images": events.n_images, "window_ms": run.attrs["window_ms"],
        "duration_s": events.duration_s, "accuracy": evaluation.get("accuracy"),
        "synaptic_event_model": {
            "what": "eq. 17-18: spikes x fan-out x E_syn (marginal cost of synaptic events)",
            "e_syn_J": events.e_syn, "events_per_layer": events.events_per_layer,
            "events": events.events, "events_per_s": events.events_per_second,
            "joules": events.joules, "watts": events.watts,
            "joules_per_image": events.joules_per_image},
        "board_model": {
            "what": "sPyNNaker's constants: 0.35 W per chip, 0.034 W per active core, 1 nJ per "
                    "routed spike packet (includes static power)",
            "chips": board.chips, "cores": board.cores, "cores_source": board.source,
            "packets": board.packets, "joules": board.joules, "watts": board.watts,
            "joules_per_image": board.joules_per_image},
    }
    return report


def write_report(run: RunRecord, out: Path, e_syn: float = energy.E_SYN_J,
                 mapping: dict | None = None) -> dict:
    """Write ``report.json``, ``report.md``, ``report.html`` and PNG figures into ``out``;
    returns :func:`energy_report`'s dictionary."""
    report = energy_report(run, e_syn, mapping)
    events, _ = run_energy(run, e_syn, mapping)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = _figures(run, events, out)
    _write_atomic(out / "report.json", json.dumps(report, indent=2) + "\n")
    markdown = _markdown(report, figures)
    _write_atomic(out / "report.md", markdown)
    _write_atomic(out / "report.html", html_page.render(markdown, "Energy report", out))
    return report


def _figures(run: RunRecord, events: energy.EventEnergy, out: Path) -> list[tuple[str, str]]:
    fig, ax = new_figure(height=3.8)
    names = list(events.events_per_layer)
    ax.bar(names, [events.events_per_layer[n] / events.n_images for n in names],
           color="tab:blue")
    ax.set_ylabel("synaptic events per image")
    ax.set_title("synaptic events caused by each layer's spikes")
    save_figure(fig, out / "events_per_layer.png")
    evaluation = run.attrs.get("evaluation", {})
    figures = [("events_per_layer.png", "Synaptic events per image, by the layer that spikes")]
    if evaluation:
        time_ms = np.asarray(evaluation["time_ms"])
        fig, ax = new_figure(height=3.8)
        # Energy of showing each image for t ms, assuming its rates are steady over the window.
        per_image = events.joules_per_image * time_ms / run.attrs["window_ms"]
        ax.plot(time_ms, 1e3 * per_image, color="tab:red", label="energy per image (mJ)")
        ax.set_xlabel("presentation time (ms)")
        ax.set_ylabel("energy per image (mJ), event model", color="tab:red")
        twin = ax.twinx()
        twin.plot(time_ms, 100 * np.asarray(evaluation["accuracy_by_time"]), color="black")
        twin.set_ylabel("accuracy (%)")
        save_figure(fig, out / "energy_accuracy_by_time.png")
        figures.append(("energy_accuracy_by_time.png",
                        "Energy per image (event model, steady rates assumed) and accuracy "
                        "against presentation time"))
    return figures


def _markdown(r: dict, figures) -> str:
    e, b = r["synaptic_event_model"], r["board_model"]
    rows = "\n".join(f"| {name} | {n:.4g} | {n / r['n_images']:.4g} | "
                     f"{n * e['e_syn_J']:.4g} |" for name, n in e["events_per_layer"].items())
    accuracy = f"{100 * r['accuracy']:.2f} %" if r.get("accuracy") is not None else "n/a"
    return f"""# Energy report

Run `{r['run_file']}`: {r['architecture']} on {r['backend']}, {r['n_images']} images x \
{r['window_ms']:g} ms ({r['duration_s']:g} s simulated), accuracy {accuracy}.

## Synaptic-event model (the paper's eq. 17-18)

{e['what']}; E_syn = {e['e_syn_J']:.3g} J.

| layer | synaptic events | per image | joules |
|---|---|---|---|
{rows}

Total {e['events']:.4g} events, {e['events_per_s']:.4g} events/s, {e['joules']:.4g} J, \
{e['watts']:.4g} W mean, {e['joules_per_image']:.4g} J per image.

## Board-level model (sPyNNaker's energy constants)

{b['what']}. Chips {b['chips']}, cores {b['cores']} ({b['cores_source']}); \
{b['packets']:.4g} packets. {b['joules']:.4g} J, {b['watts']:.4g} W mean, \
{b['joules_per_image']:.4g} J per image.

The first model counts only the synaptic events the computation causes; the second adds the
power the chips and cores draw whatever they compute, which dominates.

""" + "\n".join(f"![{caption}]({name})\n" for name, caption in figures)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
