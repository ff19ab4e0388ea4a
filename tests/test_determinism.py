"""Same parameters and seed, same numbers: every study's ``ci`` profile run twice gives bit-equal records."""

import pytest

from clustlib import profiles, results, runner

#: What a record says about the result; timings, memory and the run folder's name differ between runs.
_RESULT_COLUMNS = ["study", "dataset", "method", "setting", "seed", "metric", "value", "params_sha"]


@pytest.mark.slow
@pytest.mark.parametrize("study", profiles.list_studies())
def test_ci_profile_twice_gives_bit_equal_records(study, isolated_project):
    first = runner.run_study(study, "ci", progress=False, force=True, timeout_s=900)
    second = runner.run_study(study, "ci", progress=False, force=True, timeout_s=900)
    a, b = (results.read_records(o.run_dir)[_RESULT_COLUMNS].reset_index(drop=True) for o in (first, second))
    assert len(a) > 0 and first.run_dir != second.run_dir
    # equal as values, NaN == NaN, float64 bit for bit (no tolerance)
    assert a.equals(b), a.compare(b).head(20).to_string()
