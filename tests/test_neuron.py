import pytest

from lifresponse import backends
from lifresponse.errors import ParameterError
from lifresponse.neuron import LIFParams


def test_table1_defaults_and_derived_values():
    p = LIFParams()
    assert (p.cm, p.tau_m, p.tau_refrac) == (0.25, 20.0, 1.0)
    assert (p.v_reset, p.v_rest, p.v_thresh, p.i_offset) == (-65.0, -65.0, -50.0, 0.1)
    assert p.tau_syn_E == p.tau_syn_I == 5.0
    assert p.r_m == pytest.approx(80.0)
    assert p.rheobase == pytest.approx(0.1875)
    assert p.input_rheobase == pytest.approx(0.0875)


def test_dict_round_trip_and_partial_dict():
    p = LIFParams(tau_syn_E=1.0, tau_syn_I=1.0, i_offset=0.0)
    assert LIFParams.from_dict(p.to_dict()) == p
    assert LIFParams.from_dict({"tau_m": 10}).tau_m == 10.0


def test_to_pynn_is_accepted_by_pynn_if_curr_exp():
    backend = backends.get("nest")
    backend.start(timestep=0.1)
    sim = backend.sim
    try:
        cells = sim.Population(1, sim.IF_curr_exp(**LIFParams().to_pynn()))
        assert cells.get("cm") == pytest.approx(0.25)
        assert cells.get("i_offset") == pytest.approx(0.1)
    finally:
        sim.end()


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("cm", 0.0, "LIFParams.cm: must be > 0 (got 0.0)"),
        ("tau_m", -1.0, "LIFParams.tau_m: must be > 0 (got -1.0)"),
        ("tau_syn_E", 0.0, "LIFParams.tau_syn_E: must be > 0"),
        ("tau_syn_I", -2.0, "LIFParams.tau_syn_I: must be > 0"),
        ("tau_refrac", -0.5, "LIFParams.tau_refrac: must be >= 0 (got -0.5)"),
        ("v_thresh", -70.0, "LIFParams.v_thresh: must be above v_reset"),
        ("i_offset", float("nan"), "LIFParams.i_offset: must be finite (got nan)"),
        ("v_rest", "low", "LIFParams.v_rest: must be a number (got 'low')"),
        ("cm", True, "LIFParams.cm: must be a number (got True)"),
    ],
)
def test_invalid_values_name_field_and_value(field, value, fragment):
    with pytest.raises(ParameterError) as info:
        LIFParams(**{field: value})
    assert fragment in str(info.value)


def test_threshold_must_be_above_rest():
    with pytest.raises(ParameterError, match="v_thresh: must be above v_rest"):
        LIFParams(v_rest=-40.0, v_reset=-70.0)


def test_from_dict_rejects_unknown_names():
    with pytest.raises(ParameterError, match="unknown parameter.*tau_mem"):
        LIFParams.from_dict({"tau_mem": 20.0})
