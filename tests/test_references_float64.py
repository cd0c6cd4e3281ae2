"""Replays the float64 reference trajectories on every machine, never skipped.

The tolerance, the verdict and what the files hold are in
tests/test_references.py; these replays are a file of their own so that
pytest-xdist (`--dist loadfile`, pytest.ini) runs them beside the float32
ones.
"""

import pytest

import test_references as references


@pytest.mark.parametrize('path', references.replay_params(float64=True))
def test_float64_replay_matches_reference(path):
  references.check_replay(path)
