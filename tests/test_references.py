"""Replays each committed reference trajectory and names the first divergence.

Every file in tests/references/ holds the first 200 updates (critic and
generator updates each count) of a reproduction's real pipeline: real data,
fixed seed, CPU, XLA, with the config, command and TensorFlow version that
produced it. 'ci' presets (shrunk nets, same algorithm) replay here in
well under a minute; 'full' presets (the paper's config) are marked slow:
`python -m pytest -m slow`.

Tolerance: rtol 1e-4, atol 1e-6 on every loss of every update. On the
machine and TensorFlow version that recorded a file the replay is bit-exact
(measured: zero difference over all 200 updates of wgan_clip_ci), so the
tolerance only absorbs last-bit rounding differences of another CPU's XLA
code path while they are still small. Any change to the algorithm moves
some loss by far more at the first update it affects (see
test_a_changed_algorithm_is_caught). The compile mode cannot be changed:
stateless random ops draw different numbers under XLA than outside it, so a
non-XLA replay differs from update 0.
"""

import dataclasses
import glob
import json
import os

import pytest

from paper_gans import reference

RTOL, ATOL = 1e-4, 1e-6
HERE = os.path.dirname(os.path.abspath(__file__))
FILES = sorted(glob.glob(os.path.join(HERE, 'references', '*.json')))


def _load(path):
  with open(path, encoding='utf-8') as f:
    return json.load(f)


def _replay(ref, config=None, updates=None):
  paper = reference.paper_module(ref['paper'])
  config = config or paper.CONFIG_CLASS(**ref['config'])
  return reference.record(paper, config, updates or ref['updates'],
                          ref['compile_mode'])


def _params():
  out = []
  for path in FILES:
    ref = _load(path)
    marks = [pytest.mark.slow] if ref['preset'] == 'full' else []
    out.append(pytest.param(path, marks=marks, id=os.path.basename(path)))
  return out


def test_there_are_references():
  assert FILES, 'no reference trajectories in tests/references/'


@pytest.mark.parametrize('path', _params())
def test_replay_matches_reference(path):
  ref = _load(path)
  actual = _replay(ref)
  divergence = reference.first_divergence(ref['trajectory'], actual, RTOL, ATOL)
  if divergence is not None:
    update, name, want, got = divergence
    pytest.fail(
        f'{os.path.basename(path)}: update {update} ({name}) left the '
        f'tolerance: reference {want!r}, replay {got!r} (recorded with '
        f"TensorFlow {ref['tensorflow_version']}, command: {ref['command']})")


def test_a_changed_algorithm_is_caught():
  # Clipping after each critic update instead of before each critic step
  # (the trap REFERENCES.md names) must be caught at the first update it
  # changes: update 0, whose loss main.py computes on the clamped initial
  # weights and the other algorithm on the unclamped ones.
  path = os.path.join(HERE, 'references', 'wgan_clip_ci.json')
  ref = _load(path)
  paper = reference.paper_module('wgan_clip')
  changed = dataclasses.replace(paper.CONFIG_CLASS(**ref['config']),
                                clip_timing='after_critic_step')
  actual = _replay(ref, changed, updates=5)
  divergence = reference.first_divergence(ref['trajectory'][:5], actual, RTOL,
                                          ATOL)
  assert divergence is not None
  assert divergence[0] == 0
