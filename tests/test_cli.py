import csv
import subprocess
import sys

import numpy as np
import pytest

from lifresponse import __version__
from lifresponse.cli import main
from lifresponse.errors import ParameterError
from lifresponse.grids import parse_grid


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["response", "--help"])
    assert "Siegert" in capsys.readouterr().out


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "lifresponse.cli", "--help"],
                            capture_output=True, text=True, check=True)
    assert "response" in result.stdout


def test_response_writes_csv_and_plot(tmp_path, capsys):
    out_csv, out_png = tmp_path / "curves.csv", tmp_path / "fig1.png"
    assert main(["response", "--means", "-0.5:1.0:0.1", "--stds", "0.2,1.0",
                 "--csv", str(out_csv), "--plot", str(out_png)]) == 0
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 16 * 2
    last = rows[-1]
    assert float(last["mean_nA"]) == pytest.approx(1.0)
    expected = 201.0 * 0.3 * np.log1p(np.exp(1 / 0.3))
    assert float(last["noisy_softplus_Hz"]) == pytest.approx(expected, rel=1e-5)
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out_png.stat().st_size > 10000
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["response", "--stds", "-0.1"], "--stds: standard deviations must be >= 0"),
        (["response", "--means", "1:0:0.1"], "--means: the grid '1:0:0.1' is empty"),
        (["response", "--means", "a:b"], "--means: cannot read 'a:b'"),
        (["response", "--dt-noise", "0"], "--dt-noise: must be > 0 ms"),
    ],
)
def test_bad_input_gives_one_message_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_parse_grid():
    np.testing.assert_allclose(parse_grid("-0.5:1.0:0.05"), np.linspace(-0.5, 1.0, 31))
    np.testing.assert_allclose(parse_grid("0.1, 0.5,1"), [0.1, 0.5, 1.0])
    with pytest.raises(ParameterError, match="step must be > 0"):
        parse_grid("0:1:0", "--x")
    with pytest.raises(ParameterError, match="is empty"):
        parse_grid("", "--x")
    with pytest.raises(ParameterError, match="must be finite"):
        parse_grid("1,inf", "--x")
