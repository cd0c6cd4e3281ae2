"""Replays each committed reference trajectory and names the first divergence.

Every file in tests/references/ holds the first 200 updates (critic and
generator updates each count) of a reproduction's real pipeline: real data,
fixed seed, CPU, XLA (or 'graph' where the file says so), with the config,
command and TensorFlow version that produced it. 'ci' presets (shrunk nets,
same algorithm) replay here in about a minute or less; 'full' presets (the
paper's config), and the float32 files of FLOAT32_SLOW, are marked slow:
`python -m pytest -m slow`.

Tolerance: rtol 1e-4, atol 1e-6 on every loss of every update. On the
machine and TensorFlow version that recorded a trajectory the replay is
bit-exact (measured: zero difference over all 200 updates of wgan_clip_ci),
and any change to the algorithm moves some loss by far more at the first
update it affects (see test_a_changed_algorithm_is_caught).

Platforms: another processor's XLA:CPU code can round one value of update 0
differently, and a GAN's updates amplify that (measured on an Intel Xeon with
AVX-512 against files recorded on an AMD EPYC with AVX2: 2 to 10 ulps at
update 0 or 1, out of this tolerance at updates 10 to 194 in 7 of the 8 ci
files). So a file holds one recording per platform, and a replay passes when
it matches one of them over all its updates. On a machine unlike every
recorded one whose update 0 agrees with a recording to rounding (rtol 1e-5,
atol 1e-7), the test is skipped with the divergences in its reason, since
only a recording made there can tell a code change from rounding;
`python -m paper_gans.reference ... --add_recording` makes one. Anything
else fails.

float64 files (`*_float64.json`, config dtype 'float64'): the same presets
recorded in float64 (the convolutional setups at smaller batches or widths,
in 'graph' mode: XLA's float64 convolutions are slow on a CPU), replayed on
EVERY machine at rtol 1e-9 (atol 1e-12 for losses that cross zero) and never
skipped. In float64 a different rounding of one operation moves a value by
about 1e-16; a GAN's updates amplify that, while any change to the algorithm
moves some loss by far more at the first update it affects (the tests at the
end of this file make four such one-line changes). Every float64 file holds
200 updates. Two presets amplify rounding about tenfold every 20 updates
after update 150 (docs/verification.md), so their float64 files are
recorded nearby: DCGAN's at twice the ci widths ('ci_width32'; at the ci
widths it reached 4.2e-10 by update 200, at widths 32 it stays near 1e-12),
the newmu conditional DCGAN's at narrower widths and a quarter of the file's
learning rate ('ci_newmu_narrow_low_lr'; 5.0e-9 by update 200 at 2e-4,
1.6e-13 at 5e-5). The worst relative differences measured between replays
whose rounding differs are in RTOL64's comment.

The compile mode cannot be changed: stateless random ops draw different
numbers under XLA than outside it, so a non-XLA replay differs from update 0.
"""

import dataclasses
import glob
import json
import os

import pytest
import tensorflow as tf

from paper_gans import reference

RTOL, ATOL = 1e-4, 1e-6
# float64 replays. Measured on the AMD EPYC (2 cores), per file in
# docs/verification.md ("Reference trajectories"): the worst relative
# difference of any loss against the replay with 1, 4 or 8 intra-op threads
# instead of 2 (TF_NUM_INTRAOP_THREADS, which changes how products are split
# and summed) and, for the XLA files, with XLA_FLAGS=--xla_cpu_max_isa=SSE4_2
# (other vector code). Worst: wgan_gp_ci 5.6e-11, dcgan_ci_width32 4.7e-12,
# cdcgan_mnist_ci_newmu_narrow_low_lr 3.9e-13, every other file <= 8.1e-14.
# Only one kind of processor was at hand. atol: for losses that are exactly 0 (the penalty
# without one) or cross it.
RTOL64, ATOL64 = 1e-9, 1e-12
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


# float32 files replayed only with `-m slow`, like the full presets: the
# float64 file beside each replays the same preset's algorithm (or, for
# ci_newmu, the same network at narrower widths) on every machine, and
# what these add, the XLA compile mode in float32, wgan_gp_ci.json and
# cdcgan_mnist_ci.json keep for the same trainer paths. Each costs 40 to 90
# s of the suite's 15 minutes on 2 cores.
FLOAT32_SLOW = ('wgan_gp_ci_clipping.json', 'wgan_gp_ci_mnist.json',
                'cdcgan_mnist_ci_newmu.json')


def replay_params(float64: bool):
  """pytest params of the float64 files, or of the others."""
  out = []
  for path in FILES:
    ref = _load(path)
    if is_float64(ref) != float64:
      continue
    slow = (ref['preset'] == 'full'
            or os.path.basename(path) in FLOAT32_SLOW)
    marks = [pytest.mark.slow] if slow else []
    out.append(pytest.param(path, marks=marks, id=os.path.basename(path)))
  return out


def test_there_are_references():
  assert FILES, 'no reference trajectories in tests/references/'


def is_float64(ref):
  return ref.get('config', {}).get('dtype', 'float32') == 'float64'


def _verdict(ref, actual, here):
  """('pass' | 'skip' | 'fail', message) for a replay on platform `here`.

  float64 files are never skipped: they pass or fail on any machine.
  """
  rtol, atol = (RTOL64, ATOL64) if is_float64(ref) else (RTOL, ATOL)
  results = reference.recording_divergences(ref, actual, rtol, atol)
  if any(divergence is None for _, divergence in results):
    return 'pass', ''
  lines = []
  for platform, (update, name, want, got) in results:
    lines.append(f"recorded on {platform['cpu']!r} (TensorFlow "
                 f"{platform['tensorflow_version']}): update {update} ({name}) "
                 f'left the tolerance: reference {want!r}, replay {got!r}')
  message = (f"{ref['paper']} {ref['preset']}: " + '; '.join(lines) +
             f". This machine: {here['cpu']!r}, ISA {here['isa']}. Command: "
             f"{ref['command']}")
  if is_float64(ref):
    return 'fail', message
  recorded_here = any(reference.same_platform(platform, here)
                      for platform, _ in results)
  rounding_only = any(reference.update0_agrees(rec['trajectory'], actual)
                      for rec in ref['recordings'])
  if not recorded_here and rounding_only:
    return 'skip', ('no recording from a machine like this one, and update 0 '
                    'agrees to rounding; add one with --add_recording. '
                    + message)
  return 'fail', message


def check_replay(path):
  """Replays the file at `path`; pytest's skip or fail by `_verdict`."""
  ref = _load(path)
  actual = _replay(ref)
  verdict, message = _verdict(ref, actual, reference.platform_description())
  if verdict == 'skip':
    pytest.skip(message)
  if verdict == 'fail':
    pytest.fail(message)


# The float64 files replay in tests/test_references_float64.py, a file of
# their own so that pytest-xdist (`--dist loadfile`) runs them beside these.
@pytest.mark.parametrize('path', replay_params(float64=False))
def test_replay_matches_reference(path):
  check_replay(path)


def _fake_trajectory(scale=1.0, late_scale=1.0):
  """Three updates; `scale` moves update 0, `late_scale` update 2."""
  return [
      {'update': 0, 'iteration': 0, 'player': 'discriminator', 'step': 0,
       'discriminator_loss': 0.5 * scale},
      {'update': 1, 'iteration': 0, 'player': 'generator',
       'generator_loss': 1.0},
      {'update': 2, 'iteration': 1, 'player': 'generator',
       'generator_loss': 2.0 * late_scale},
  ]


def _fake_ref(*platforms_and_trajectories):
  return {'paper': 'p', 'preset': 'ci', 'command': 'c',
          'recordings': [{'platform': p, 'trajectory': t}
                         for p, t in platforms_and_trajectories]}


AMD = {'cpu': 'AMD EPYC', 'vendor': 'AuthenticAMD', 'isa': ['avx2'],
       'machine': 'x86_64', 'tensorflow_version': '2.21.0'}
INTEL = dict(AMD, cpu='Intel Xeon', vendor='GenuineIntel',
             isa=['avx2', 'avx512f'])


def test_verdict_passes_a_replay_that_matches_any_recording():
  ref = _fake_ref((AMD, _fake_trajectory()),
                  (INTEL, _fake_trajectory(late_scale=1.01)))
  assert _verdict(ref, _fake_trajectory(late_scale=1.01), AMD)[0] == 'pass'
  assert _verdict(ref, _fake_trajectory(), INTEL)[0] == 'pass'


def test_verdict_fails_a_recorded_platform_that_diverges():
  ref = _fake_ref((AMD, _fake_trajectory()))
  verdict, message = _verdict(ref, _fake_trajectory(late_scale=1.01), AMD)
  assert verdict == 'fail'
  assert 'update 2 (generator_loss)' in message


def test_verdict_skips_only_rounding_differences_on_an_unrecorded_platform():
  ref = _fake_ref((AMD, _fake_trajectory()))
  # One float32 ulp at update 0, a divergence later: rounding, skipped.
  ulp = 1.0 + 2.0 ** -23
  assert _verdict(ref, _fake_trajectory(ulp, 1.01), INTEL)[0] == 'skip'
  # Update 0 moved beyond rounding: a code change, on any platform.
  assert _verdict(ref, _fake_trajectory(1.001), INTEL)[0] == 'fail'


def test_a_changed_algorithm_is_caught():
  # Clipping after each critic update instead of before each critic step
  # (a trap of other implementations; docs/sources.md) must be caught at the
  # first update it
  # changes: update 0, whose loss main.py computes on the clamped initial
  # weights and the other algorithm on the unclamped ones.
  path = os.path.join(HERE, 'references', 'wgan_clip_ci.json')
  ref = _load(path)
  paper = reference.paper_module('wgan_clip')
  changed = dataclasses.replace(paper.CONFIG_CLASS(**ref['config']),
                                clip_timing='after_critic_step')
  actual = _replay(ref, changed, updates=5)
  divergence = reference.first_divergence(
      reference.recording_for(ref)['trajectory'][:5], actual, RTOL, ATOL)
  assert divergence is not None
  assert divergence[0] == 0


def test_verdict_never_skips_a_float64_file():
  ref = _fake_ref((AMD, _fake_trajectory()))
  ref['config'] = {'dtype': 'float64'}
  assert _verdict(ref, _fake_trajectory(), INTEL)[0] == 'pass'
  # 1e-8 relative: beyond float64 rounding, even on an unrecorded machine.
  assert _verdict(ref, _fake_trajectory(late_scale=1 + 1e-8), INTEL)[0] == (
      'fail')
  assert _verdict(ref, _fake_trajectory(1 + 1e-8), INTEL)[0] == 'fail'


# ---- one-line changes the float64 replays catch -------------------------------
#
# Each replays a float64 file with one line of the algorithm changed and
# names the first update that leaves rtol 1e-9.


def _first_float64_divergence(name, updates, change=None):
  ref = _load(os.path.join(HERE, 'references', f'{name}_float64.json'))
  paper = reference.paper_module(ref['paper'])
  config = paper.CONFIG_CLASS(**ref['config'])
  if change:
    config = dataclasses.replace(config, **change)
  actual = reference.record(paper, config, updates, ref['compile_mode'])
  # Unchanged, the same replay matches (test_replay_matches_reference).
  return reference.first_divergence(ref['recordings'][0]['trajectory'][:updates],
                                    actual, RTOL64, ATOL64)


def test_float64_replay_catches_clipping_after_the_critic_step():
  # main.py clamps at the start of each critic iteration, so update 0's loss
  # is computed on clamped weights; clipping after the step leaves them
  # unclamped for update 0.
  divergence = _first_float64_divergence(
      'wgan_clip_ci', 3, {'clip_timing': 'after_critic_step'})
  assert divergence is not None and divergence[0] == 0


def test_float64_replay_catches_one_penalty_weight_per_element(monkeypatch):
  from paper_gans import losses  # pylint: disable=g-import-not-at-top

  def per_element(seed, batch_size, rank, dtype=tf.float32):
    del rank  # The toy's data are [B, 2]: one alpha per coordinate.
    return tf.random.stateless_uniform([batch_size, 2], seed=seed, dtype=dtype)

  monkeypatch.setattr(losses, 'uniform_interpolation_weights', per_element)
  divergence = _first_float64_divergence('wgan_gp_ci', 3)
  assert divergence is not None and divergence[0] == 0
  assert divergence[1] in ('discriminator_loss', 'gradient_penalty')


def test_float64_replay_catches_rmsprop_epsilon_inside_the_square_root(
    monkeypatch):
  from paper_gans import optimizers  # pylint: disable=g-import-not-at-top

  class EpsilonInside(optimizers.RMSprop):
    """torch.optim.RMSprop with eps moved inside the square root."""

    def apply(self, gradients):
      for variable, square_avg, gradient in zip(
          self._params, self._square_averages, gradients):
        square_avg.assign(self._alpha * square_avg
                          + (1.0 - self._alpha) * tf.square(gradient))
        variable.assign_sub(
            tf.cast(self._learning_rate, variable.dtype) * gradient
            / tf.sqrt(square_avg + self._epsilon))
      self.step.assign_add(1)

  monkeypatch.setattr(optimizers, 'RMSprop', EpsilonInside)
  divergence = _first_float64_divergence('wgan_clip_ci', 3)
  # Update 0's loss is computed before the first RMSprop step.
  assert divergence is not None and divergence[0] == 1


def test_float64_replay_catches_the_discriminator_loss_without_one_half(
    monkeypatch):
  from paper_gans.papers import goodfellow2014  # pylint: disable=g-import-not-at-top
  loss = goodfellow2014.adversary_cost2_discriminator_loss
  monkeypatch.setattr(goodfellow2014, 'adversary_cost2_discriminator_loss',
                      lambda real, fake: 2.0 * loss(real, fake))
  divergence = _first_float64_divergence('goodfellow2014_ci', 3)
  assert divergence is not None and divergence[0] == 0


# ---- adding a recording ------------------------------------------------------

def _stored_ref(monkeypatch, trajectory):
  """A file for wgan_gp's ci preset whose only recording is `trajectory`,
  with `reference.record` replaced by one that returns a chosen replay."""
  paper = reference.paper_module('wgan_gp')
  ref = {'paper': 'wgan_gp', 'preset': 'ci', 'updates': 3,
         'compile_mode': 'xla', 'command': 'c',
         'config': dataclasses.asdict(reference.preset_config(paper, 'ci')),
         'recordings': [{'platform': AMD, 'trajectory': trajectory}]}
  replay = {}
  monkeypatch.setattr(reference, 'record',
                      lambda *args, **kwargs: replay['trajectory'])
  return ref, replay


def test_add_recording_appends_a_rounding_level_difference(monkeypatch):
  ref, replay = _stored_ref(monkeypatch, _fake_trajectory())
  replay['trajectory'] = _fake_trajectory(1.0 + 2.0 ** -23, 1.01)
  new, message = reference.add_recording(ref)
  assert len(new['recordings']) == 2 and len(ref['recordings']) == 1
  assert new['recordings'][1]['trajectory'] == replay['trajectory']
  assert new['recordings'][1]['platform'] == reference.platform_description()
  assert 'added' in message


def test_add_recording_refuses_a_code_change(monkeypatch):
  ref, replay = _stored_ref(monkeypatch, _fake_trajectory())
  replay['trajectory'] = _fake_trajectory(1.001)
  with pytest.raises(ValueError, match='code changed'):
    reference.add_recording(ref)


def test_add_recording_refuses_to_replace_this_platforms_recording(
    monkeypatch):
  ref, replay = _stored_ref(monkeypatch, _fake_trajectory())
  ref['recordings'][0]['platform'] = reference.platform_description()
  replay['trajectory'] = _fake_trajectory(1.0, 1.01)
  with pytest.raises(ValueError, match='already has a recording'):
    reference.add_recording(ref)


def test_add_recording_skips_an_identical_recording(monkeypatch):
  ref, replay = _stored_ref(monkeypatch, _fake_trajectory())
  replay['trajectory'] = _fake_trajectory()
  new, message = reference.add_recording(ref)
  assert new is ref and message.startswith('not added')


def test_add_recording_cli_errors_in_one_line(tmp_path, capsys):
  missing = str(tmp_path / 'missing.json')
  assert reference.main(['--paper=wgan_gp', '--preset=ci', f'--out={missing}',
                         '--add_recording']) == 2
  other = tmp_path / 'other.json'
  other.write_text(json.dumps({'paper': 'wgan_clip', 'preset': 'ci',
                               'updates': 200, 'recordings': []}))
  before = other.read_text()
  assert reference.main(['--paper=wgan_gp', '--preset=ci', f'--out={other}',
                         '--add_recording']) == 2
  assert other.read_text() == before  # Nothing written on an error.
  errors = capsys.readouterr().err.strip().splitlines()
  assert len(errors) == 2
  assert errors[0].startswith('error: ') and 'missing.json' in errors[0]
  assert "holds paper 'wgan_clip'" in errors[1]


def test_add_recording_cli_leaves_the_file_alone_when_nothing_is_added(
    tmp_path, monkeypatch, capsys):
  ref, replay = _stored_ref(monkeypatch, _fake_trajectory())
  replay['trajectory'] = _fake_trajectory()
  path = tmp_path / 'ref.json'
  path.write_text(json.dumps(ref))
  before = path.read_text()
  assert reference.main(['--paper=wgan_gp', '--preset=ci', '--updates=3',
                         f'--out={path}', '--add_recording']) == 0
  assert path.read_text() == before
  assert 'unchanged: not added' in capsys.readouterr().out


def test_recording_cli_refuses_to_replace_a_file_without_overwrite(
    tmp_path, monkeypatch, capsys):
  path = tmp_path / 'ref.json'
  path.write_text('{"kept": true}')
  assert reference.main(['--paper=wgan_gp', '--preset=ci', '--updates=3',
                         f'--out={path}']) == 2
  assert path.read_text() == '{"kept": true}'
  error, = capsys.readouterr().err.strip().splitlines()
  assert error.startswith('error: ') and '--overwrite' in error
  monkeypatch.setattr(reference, 'make_reference',
                      lambda *args: {'recordings': [], 'updates': 3})
  assert reference.main(['--paper=wgan_gp', '--preset=ci', '--updates=3',
                         f'--out={path}', '--overwrite']) == 0
  assert json.loads(path.read_text()) == {'recordings': [], 'updates': 3}
