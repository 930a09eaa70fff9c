"""The import rules of pyproject.toml's [tool.importlinter] hold, and they catch a breach.

The contracts (no cycles; networks/ needs no simulator; NEST, sPyNNaker, PyNN and torch each
imported only where they belong; training uses the neuron step, not a backend) are checked by
import-linter on the installed source. The second test copies the package, breaks one rule in
the copy, and checks that import-linter then fails, naming the contract.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed")


def _lint(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=where, capture_output=True, text=True,
                          env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"}, timeout=300)


def test_the_import_contracts_are_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("networks/encoding.py", "import torch", "torch is imported only by"),
    ("networks/topology.py", "from lifresponse.backends.pynn import building",
     "networks/ needs no simulator"),
    ("training/trainer.py", "from lifresponse.backends.torch import backend",
     "Training uses the exact simulator's neuron step"),
    ("propagators.py", "from lifresponse.calibration import sweep", "No import cycles"),
])
def test_a_broken_rule_fails_the_contracts(tmp_path, module, line, contract):
    shutil.copytree(ROOT / "lifresponse", tmp_path / "lifresponse",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    path = tmp_path / "lifresponse" / module
    path.write_text(path.read_text() + f"\n{line}\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    _, _, broken = " ".join(result.stdout.split()).partition("Broken contracts")
    assert contract in broken, result.stdout
