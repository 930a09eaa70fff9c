"""What every benchmark result records about the run that made it, and how results are written.

Each script in ``benchmarks/`` writes its result with :func:`write_result`: ``<name>.json`` with a
``"run"`` entry (:func:`run_record`) and ``<name>.md`` ending in a "Run" section that says the
same. The record holds the exact command, the git commit (and whether the working tree had
uncommitted changes), the UTC date, the versions of lifresponse, Python and the numerical and
simulator packages (read from the installed metadata: no simulator is imported here), the
machine (platform, CPU model, cores, memory, a GPU if torch sees one) and the thread settings
(OpenMP and OpenBLAS environment variables, torch's thread count if torch was imported).

Scripts are run as ``python benchmarks/<name>.py`` from the repository root, so they import this
module as ``provenance``. ``results/README.md`` indexes what they wrote; results made before this
module existed do not hold a run record, and the index gives their command and commit.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
PACKAGES = ("lifresponse", "numpy", "scipy", "h5py", "torch", "nest-simulator", "PyNN",
            "sPyNNaker", "dask", "distributed")
THREAD_VARIABLES = ("OMP_", "OPENBLAS_", "MKL_NUM_THREADS")
# the short names of the architectures in network file names (results/networks/README.md)
ARCHITECTURE_NAMES = {"6c5-2s-12c5-2s-10fc": "small", "12c5-2s-64c5-2s-10fc": "large",
                      "24c5-2s-64c5-2s-10fc": "wide"}
ACTIVATION_NAMES = {"noisy-softplus": "ns", "relu": "relu", "softplus": "softplus"}


def network_name(architecture: str, activation: str) -> str:
    """The start of a network file's short name: ``small-ns``, ``large-relu``, ..."""
    return (f"{ARCHITECTURE_NAMES.get(architecture, architecture)}-"
            f"{ACTIVATION_NAMES.get(activation, activation)}")


def run_record() -> dict:
    """The command, commit, date, versions, machine and thread settings of this process."""
    return {
        "command": shlex.join(sys.argv),
        "python_executable": sys.executable,
        "git": _git(),
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": {"python": platform.python_version(), **_versions()},
        "machine": _machine(),
        "threads": _threads(),
    }


def write_result(folder: Path, name: str, result: dict, markdown: str | list[str] | None,
                 ) -> dict:
    """Write ``folder/<name>.json`` (``result`` with this run's record under ``"run"``) and,
    unless ``markdown`` is None, ``folder/<name>.md`` (``markdown`` and a "Run" section).

    A ``result`` that already holds a ``"run"`` (a script that measures one part again and
    keeps the rest of an earlier file) keeps that record in ``"earlier_runs"``. Returns what
    was written to the JSON file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    result = dict(result)
    if "run" in result:
        result["earlier_runs"] = [*result.get("earlier_runs", []), result.pop("run")]
    result["run"] = run_record()
    (folder / f"{name}.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    if markdown is not None:
        text = markdown if isinstance(markdown, str) else "\n".join(markdown)
        (folder / f"{name}.md").write_text(
            text.rstrip("\n") + "\n\n" + run_markdown(result["run"]))
    return result


def run_markdown(run: dict) -> str:
    """The "Run" section of a result's Markdown file."""
    git = run["git"]
    if git is None:
        commit = "unknown (not a git checkout)"
    elif git["dirty"]:
        commit = (f"{git['commit']} with uncommitted changes to "
                  f"{', '.join(git['changed'][:3])}" + (", ... (the JSON file lists them)"
                                                        if len(git["changed"]) > 3 else ""))
    else:
        commit = git["commit"]
    machine = run["machine"]
    described = [machine["platform"], machine["cpu"],
                 f"{machine['cores']} cores ({machine['usable_cores']} usable)",
                 f"{machine['memory_gib']} GiB memory" if machine["memory_gib"] else None,
                 machine.get("gpu")]
    versions = ", ".join(f"{name} {v}" for name, v in run["versions"].items() if v)
    threads = ", ".join(f"{k}={v}" for k, v in run["threads"].items()) or "none set"
    return "\n".join([
        "## Run", "",
        f"- command: `{run['command']}` (`{run['python_executable']}`)",
        f"- commit: {commit}",
        f"- date (UTC): {run['date_utc']}",
        f"- versions: {versions}",
        f"- machine: {', '.join(d for d in described if d)}",
        f"- threads: {threads}", ""])


def _versions() -> dict:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def _git() -> dict | None:
    def git(*argv: str) -> str:
        return subprocess.run(["git", *argv], cwd=REPOSITORY, capture_output=True, text=True,
                              check=True, timeout=60).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        changed = [line[3:] for line in git("status", "--porcelain",
                                            "--untracked-files=no").splitlines()]
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(changed), "changed": changed[:20]
            + ([f"... {len(changed) - 20} more"] if len(changed) > 20 else [])}


def _machine() -> dict:
    memory = _proc_field("/proc/meminfo", "MemTotal")  # "131072000 kB"
    gpu = _gpu()
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "memory_gib": round(int(memory.split()[0]) / 2**20, 1) if memory else None,
        **({"gpu": gpu} if gpu else {}),
    }


def _gpu() -> str | None:
    torch = sys.modules.get("torch")  # only when the benchmark itself imported torch
    if torch is None or not torch.cuda.is_available():
        return None
    return ", ".join(sorted({torch.cuda.get_device_name(i)
                             for i in range(torch.cuda.device_count())}))


def _threads() -> dict:
    threads = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "unset")}
    threads.update({k: v for k, v in sorted(os.environ.items()) if k.startswith(THREAD_VARIABLES)})
    torch = sys.modules.get("torch")
    if torch is not None:
        threads["torch"] = torch.get_num_threads()
    return threads


def _proc_field(path: str, key: str) -> str | None:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(key) and ":" in line:
            return line.split(":", 1)[1].strip()
    return None
