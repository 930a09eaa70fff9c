"""docs/python.md's notebook code runs as written, prints only what it prints itself, writes no
file, and gives real results."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "python.md"


def test_the_python_page_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 1 and len(blocks[0].strip().splitlines()) <= 14
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 3, printed  # the page's own prints, nothing from the library
    calibration, run, report = namespace["calibration"], namespace["run"], namespace["report"]
    assert 0.05 < calibration.k < 1.0 and 100.0 < calibration.S < 300.0
    assert calibration.neuron.tau_syn_E == calibration.tau_syn == 5.0
    assert len(run.labels) == 20 and 0.0 <= run.accuracy <= 1.0
    events = report["synaptic_event_model"]
    assert events["events_per_s"] > 0 and events["joules_per_image"] > 0
    assert list(tmp_path.iterdir()) == []  # objects in, objects out: no file written
