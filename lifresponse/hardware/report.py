"""``lifresponse energy``: an energy report of a deployment run (JSON, Markdown, HTML, plots):
the paper's event model, the board-level model, every chosen device with its source, the
accuracy-energy trade-off, and what the estimates leave out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lifresponse import html_page
from lifresponse.backends.spinnaker.energy_report import parse_energy_report
from lifresponse.errors import FileFormatError, ParameterError
from lifresponse.hardware import energy
from lifresponse.hardware.activity import check_every_layer_recorded, run_activity
from lifresponse.hardware.device_energy import LEFT_OUT, ann_energy, snn_energy, tradeoff
from lifresponse.hardware.devices import DEFAULT_DEVICES, Device, select
from lifresponse.networks.run_file import RunRecord
from lifresponse.paths import write_atomic
from lifresponse.plotting import colours, new_figure, save_figure


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
    check_every_layer_recorded(run)
    fan_out = {names[i]: f for i, f in run.fan_out.items()}
    n_images = int(run.attrs["n_images"])
    duration_s = n_images * (run.attrs["window_ms"] + run.attrs["gap_ms"]) / 1000.0
    events = energy.event_energy(counts, fan_out, duration_s, n_images, e_syn)
    if mapping:
        chips, cores, source = int(mapping["chips"]), int(mapping["cores"]), mapping.get(
            "source", "mapping file")
        mapped = mapping.get("populations")
        if mapped is not None and mapped != len(run.fan_out):
            raise ParameterError("mapping", f"{source} maps {mapped - 1} layers, but the run has "
                                 f"{len(run.fan_out) - 1}: a mapping of another network")
    else:
        sizes = [run.input_counts.shape[1]] + [len(run.fan_out[i]) for i in sorted(
            run.fan_out) if i >= 0]
        chips, cores = energy.estimate_cores(sizes)
        source = "estimate: 256 neurons per core, 16 application cores per chip"
    board = energy.board_energy(counts, fan_out, duration_s, n_images, chips, cores, source)
    return events, board


def energy_report(run: RunRecord, e_syn: float = energy.E_SYN_J, mapping: dict | None = None,
                  hardware=DEFAULT_DEVICES, devices: list[Device] = ()) -> dict:
    """Every estimate of a run as the dictionary that ``energy.json`` holds (nothing written).

    Parameters
    ----------
    run : RunRecord
        Recorded with every layer (``record="all"``).
    e_syn : float
        J per synaptic event of the paper's model (eq. 17-18).
    mapping : dict, optional
        ``{"chips", "cores"}`` from ``spinnaker check``, for the board-level model.
    hardware : list of str or str
        Devices to estimate for (:mod:`lifresponse.hardware.devices`).
    devices : list of Device
        Devices of a user's file, which ``hardware`` may name.
    """
    events, board = run_energy(run, e_syn, mapping)
    chosen = select(hardware, devices)
    activity = run_activity(run)
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
        "activity": activity.to_dict(),
        "devices": [d.to_dict() for d in chosen],
        "snn_energy": [snn_energy(activity, d) for d in chosen if d.spiking],
        "ann_energy": [ann_energy(activity, d) for d in chosen if not d.spiking],
        "tradeoff": tradeoff(run, activity, chosen),
        "left_out": list(LEFT_OUT),
        "spynnaker_energy_report": None,
    }
    text = run.attrs.get("spinnaker_energy_report")
    if text:
        report["spynnaker_energy_report"] = parse_energy_report(text, f"{run.path}: "
                                                                "spinnaker_energy_report")
    return report


REPORT_FILES = ("energy.json", "report.md", "report.html", "events_per_layer.png",
                "accuracy_energy.png")  # every file write_report may write


def write_report(run: RunRecord, out: Path, e_syn: float = energy.E_SYN_J,
                 mapping: dict | None = None, hardware=DEFAULT_DEVICES,
                 devices: list[Device] = ()) -> dict:
    """Write ``energy.json``, ``report.md``, ``report.html`` and PNG figures into ``out``;
    returns :func:`energy_report`'s dictionary."""
    report = energy_report(run, e_syn, mapping, hardware, devices)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = _figures(report, out)
    write_atomic(out / "energy.json", json.dumps(report, indent=2) + "\n")
    markdown = _markdown(report, figures)
    write_atomic(out / "report.md", markdown)
    write_atomic(out / "report.html", html_page.render(markdown, "Energy report", out))
    return report


def _figures(report: dict, out: Path) -> list[tuple[str, str]]:
    e = report["synaptic_event_model"]
    fig, ax = new_figure(height=3.8)
    names = list(e["events_per_layer"])
    ax.bar(names, [e["events_per_layer"][n] / report["n_images"] for n in names],
           color="tab:blue")
    ax.set_ylabel("synaptic events per image")
    ax.set_title("synaptic events caused by each layer's spikes")
    save_figure(fig, out / "events_per_layer.png")
    figures = [("events_per_layer.png", "Synaptic events per image, by the layer that spikes")]
    trade = report["tradeoff"]
    if trade["devices"] and report.get("accuracy") is not None:
        accuracy = 100 * np.asarray(trade["accuracy_by_time"], dtype=float)
        fig, ax = new_figure(height=4.2)
        for row, colour in zip(trade["devices"], colours(len(trade["devices"])), strict=True):
            joules = np.asarray(row["joules_per_image"])
            ax.plot(joules, accuracy, color=colour, label=row["device"])
            reach = row["reach"].get("0.99")
            if reach:
                ax.plot(reach["joules_per_image"], 100 * reach["accuracy"], "o", color=colour)
        for ann, style in zip(report["ann_energy"], ("--", ":", "-."), strict=False):
            ax.axvline(ann["joules_per_inference"], color="grey", ls=style,
                       label=f"ANN on {ann['device']} (one inference)")
        ax.set_xscale("log")
        ax.set_xlabel("energy per image (J), growing with presentation time")
        ax.set_ylabel("accuracy (%)")
        ax.set_title("accuracy against energy per image; dots: 99 % of the final accuracy")
        ax.legend(fontsize=8)
        save_figure(fig, out / "accuracy_energy.png")
        figures.append(("accuracy_energy.png", "Accuracy against energy per image for each "
                        "device (the ANN's energy per inference as vertical lines)"))
    return figures


def _markdown(r: dict, figures) -> str:
    e, b = r["synaptic_event_model"], r["board_model"]
    rows = "\n".join(f"| {name} | {n:.4g} | {n / r['n_images']:.4g} | "
                     f"{n * e['e_syn_J']:.4g} |" for name, n in e["events_per_layer"].items())
    accuracy = f"{100 * r['accuracy']:.2f} %" if r.get("accuracy") is not None else "n/a"
    return f"""# Energy report

Run `{r['run_file']}`: {r['architecture']} on {r['backend']}, {r['n_images']} images x \
{r['window_ms']:g} ms ({r['duration_s']:g} s simulated), accuracy {accuracy}.

## Devices

{_devices_markdown(r)}

## Activity, per layer

{_activity_markdown(r)}

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

The per-operation models count only what the computation causes; the board-level model adds
the power the chips and cores draw whatever they compute, which dominates.

{_measured_markdown(r)}

## What these estimates leave out

""" + "\n".join(f"- {item}" for item in r["left_out"]) + "\n\n" + "\n".join(
        f"![{caption}]({name})\n" for name, caption in figures)


def _devices_markdown(r: dict) -> str:
    """Per device: the constants with their source, J per image and W over the whole run, and
    at 300 ms; the energy needed to reach 98 % and 99 % of the final accuracy."""
    by_name = {d["name"]: d for d in r["devices"]}
    trade = {row["device"]: row for row in r["tradeoff"]["devices"]}
    lines = ["| device | J per synaptic event (or MAC) | J per neuron update | J per image "
             "(whole window) | W | J per image at 300 ms | W at 300 ms | 10,000 images x "
             "300 ms (J) | J per image to 98 % / 99 % of final accuracy (at ms) | source |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in r["snn_energy"]:
        d, t = by_name[row["device"]], trade[row["device"]]
        at = t.get("at")
        at_cells = (f"{at['joules_per_image']:.3g} | {at['watts']:.3g} | "
                    f"{at['joules_10000_images']:.3g}" if at else "- | - | -")
        reach = " / ".join(f"{t['reach'][f]['joules_per_image']:.3g} "
                           f"({t['reach'][f]['time_ms']:g})" if f in t["reach"] else "-"
                           for f in ("0.98", "0.99"))
        lines.append(f"| {d['name']} | {d['joules_per_synaptic_event']:.3g} | "
                     f"{d['joules_per_neuron_update']:.3g} | {row['joules_per_image']:.3g} | "
                     f"{row['watts']:.3g} | {at_cells} | {reach} | {d['source']} "
                     f"({d['year']}) |")
    for row in r["ann_energy"]:
        d = by_name[row["device"]]
        lines.append(f"| {d['name']} (the ANN, {row['macs_per_inference']:,} MACs and "
                     f"{row['neurons_per_inference']:,} neurons per inference) | "
                     f"{d['joules_per_synaptic_event']:.3g} | {d['joules_per_neuron_update']:.3g}"
                     f" | {row['joules_per_inference']:.3g} | - | - | - | - | - | "
                     f"{d['source']} ({d['year']}) |")
    steady = [row["device"] for row in r["tradeoff"]["devices"]
              if not row["events_measured_by_time"]]
    note = ("\n\nThis run file has no events per time bin (written before they were "
            "recorded): energy against presentation time assumes steady rates." if steady
            else "")
    return "\n".join(lines) + note


def _activity_markdown(r: dict) -> str:
    a = r["activity"]
    lines = ["| layer | neurons | synaptic events per image | per s | neuron updates per image "
             "| per s | mean rate (Hz) | peak rate (Hz) | ANN MACs per inference |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {x['name']} | {x['neurons']} | {x['synaptic_events_per_image']:.4g} | "
              f"{x['synaptic_events_per_s']:.4g} | {x['neuron_updates_per_image']:.4g} | "
              f"{x['neuron_updates_per_s']:.4g} | {x['mean_rate_hz']:.1f} | "
              f"{x['peak_rate_hz']:.0f} | {x['macs_per_inference']:,} |" for x in a["layers"]]
    lines.append(f"\nTimestep {a['timestep_ms']:g} ms: neuron updates are neurons x timesteps "
                 "(the input is a spike source and has none). The ANN's MACs count every "
                 "connection with a non-zero weight (twice for Noisy Softplus, whose noise term "
                 "is a second weighted sum).")
    return "\n".join(lines)


def _measured_markdown(r: dict) -> str:
    m = r["spynnaker_energy_report"]
    if m is None:
        return ("No measured energy: sPyNNaker writes its own energy report only on a real "
                "board with `[Reports] write_energy_report = True`; this run has none.")
    return (f"## Measured by sPyNNaker on the board\n\n{m['n_boards']} board(s), "
            f"{m['n_chips']} chips, {m['n_active_cores']} active cores; execution "
            f"{m['exec_time_s']:.4g} s, {m['exec_energy_j']:.4g} J "
            f"({m['exec_energy_j'] / max(m['exec_time_s'], 1e-12):.4g} W); total with "
            f"mapping, loading and extraction {m['total_energy_j']:.4g} J.")
