"""The WGAN-GP reproduction's paper-specific parts (Gulrajani et al. 2017).

Presets against the authors' scripts (igul222/improved_wgan_training
gan_toy.py, gan_mnist.py), the trainer they configure, the penalty's inputs,
TF1's RMSProp for the weight-clipping companion, the metrics and the
expected-output check, which must reject an untrained generator and accept
the real distribution.
"""

import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import data
from paper_gans import layers
from paper_gans import losses
from paper_gans import optimizers
from paper_gans import reference
from paper_gans.errors import ConfigError
from paper_gans.papers import common
from paper_gans.papers import wgan_gp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPECTED = common.load_expected(wgan_gp.EXPECTED_PATH)


# ---- presets and sources ---------------------------------------------------

def test_every_default_names_its_source():
  for field in dataclasses.fields(wgan_gp.WGANGPConfig):
    assert field.metadata.get('source'), field.name


def test_toy_preset_is_gan_toy_py():
  for dataset in ('8gaussians', '25gaussians', 'swissroll'):
    config = wgan_gp.make_config(dataset=dataset)
    config.validate()
    assert config.preset == 'gan_toy'
    assert (config.batch_size, config.latent_dim, config.dim) == (256, 2, 512)
    assert config.critic_steps == 5
    assert config.gradient_penalty_weight == 0.1
    assert (config.learning_rate, config.beta1, config.beta2) == (1e-4, 0.5,
                                                                  0.9)
    assert config.iterations == 100000 == wgan_gp.steps_for(config)
    assert config.mode == 'wgan-gp' and config.clipping_comparison
  # The dataclass defaults are the same preset on gan_toy.py's DATASET.
  assert wgan_gp.WGANGPConfig() == wgan_gp.make_config()


def test_mnist_preset_is_gan_mnist_py():
  config = wgan_gp.make_config(dataset='mnist')
  config.validate()
  assert config.preset == 'gan_mnist'
  assert (config.batch_size, config.latent_dim, config.dim) == (50, 128, 64)
  assert config.critic_steps == 5
  assert config.gradient_penalty_weight == 10.0
  assert (config.learning_rate, config.beta1, config.beta2) == (1e-4, 0.5, 0.9)
  assert config.iterations == 200000 == wgan_gp.steps_for(config)
  assert config.split == 'train[:50000]'  # mnist.pkl.gz's training part
  assert not config.clipping_comparison
  assert wgan_gp.value_range(config) == (0.0, 1.0)
  # Other image sets have no 50k/10k pickle split.
  assert wgan_gp.make_config(dataset='fashion_mnist').split == 'train'


def test_algorithm1_preset_is_the_papers_defaults():
  for dataset in ('8gaussians', 'mnist'):
    config = wgan_gp.make_config(dataset=dataset, preset='algorithm1')
    config.validate()
    assert config.gradient_penalty_weight == 10.0
    assert config.critic_steps == 5
    assert (config.learning_rate, config.beta1, config.beta2) == (1e-4, 0.0,
                                                                  0.9)
    # Nets and batch size stay the data set's script's.
    script = wgan_gp.make_config(dataset=dataset)
    assert (config.batch_size, config.dim) == (script.batch_size, script.dim)


def test_explicit_values_win_over_the_preset():
  config = wgan_gp.make_config(dataset='mnist', batch_size=64,
                               gradient_penalty_weight=1.0)
  assert config.batch_size == 64 and config.gradient_penalty_weight == 1.0
  assert config.dim == 64  # untouched values keep the preset's


@pytest.mark.parametrize('overrides,message', [
    (dict(dataset='mnist', preset='gan_toy'), 'does not fit'),
    (dict(dataset='8gaussians', preset='gan_mnist'), 'does not fit'),
    (dict(dataset='cifar100'), 'unknown'),
])
def test_mismatched_presets_are_config_errors(overrides, message):
  with pytest.raises(ConfigError, match=message):
    wgan_gp.make_config(**overrides)


@pytest.mark.parametrize('config,message', [
    # Built without make_config: the toy values on an image set.
    (wgan_gp.WGANGPConfig(dataset='mnist'), 'preset=gan_toy'),
    (wgan_gp.make_config(dataset='mnist', mode='wgan'), '--mode=wgan'),
    (wgan_gp.make_config(dataset='mnist', clipping_comparison=True),
     'clipping_comparison'),
    (wgan_gp.make_config(gradient_penalty_weight=0.0),
     'gradient_penalty_weight must be > 0'),
    (wgan_gp.make_config(beta1=1.0), 'beta1 must be in'),
    (wgan_gp.make_config(dataset='mnist', split='valid'), 'split'),
    (wgan_gp.make_config(dataset='mnist', fixed_generator=True),
     '--fixed_generator'),
])
def test_bad_configs_fail_validation(config, message):
  with pytest.raises(ConfigError, match=message):
    config.validate()


# ---- the trainer the presets build -----------------------------------------

def test_toy_trainer_is_gan_toy_py():
  config = wgan_gp.make_config(clipping_comparison=False)
  trainer = wgan_gp.build_trainer(config, compile_mode='eager')
  # gan_toy.py DIM = 512: 3 ReLU layers and a linear output in both nets.
  assert layers.count_parameters(trainer.generator) == 527_874
  assert layers.count_parameters(trainer.discriminator) == 527_361
  assert trainer.gradient_penalty_weight == pytest.approx(0.1)
  assert trainer.clip_value is None
  # CRITIC_ITERS = 5 at every iteration (no WGAN-style 100-step warm-up).
  assert [trainer.batches_needed(i) for i in (0, 1, 24, 25, 500)] == [5] * 5
  for optimizer in (trainer.generator_optimizer,
                    trainer.discriminator_optimizer):
    assert isinstance(optimizer, optimizers.Adam)
    assert optimizer._epsilon_placement == optimizers.TF1  # pylint: disable=protected-access
    assert (optimizer._beta1, optimizer._beta2, optimizer._epsilon) == (  # pylint: disable=protected-access
        0.5, 0.9, 1e-8)
    assert float(optimizer.learning_rate()) == pytest.approx(1e-4)
  z = trainer.sample_latent(tf.constant([0, 0]), 7)
  assert z.shape == (7, 2)


def test_mnist_trainer_is_gan_mnist_py():
  trainer = wgan_gp.build_trainer(wgan_gp.make_config(dataset='mnist'),
                                  compile_mode='eager')
  assert layers.count_parameters(trainer.generator) == 1_554_177
  assert layers.count_parameters(trainer.discriminator) == 1_030_145
  assert trainer.gradient_penalty_weight == 10.0
  images = trainer.generate(trainer.sample_latent(tf.constant([0, 0]), 3))
  assert images.shape == (3, 28, 28, 1)
  assert float(tf.reduce_min(images)) >= 0.0
  assert float(tf.reduce_max(images)) <= 1.0


def test_weight_clipping_companion_is_gan_toy_py_mode_wgan():
  config = wgan_gp.clipping_companion(wgan_gp.make_config())
  trainer = wgan_gp.build_trainer(config, compile_mode='eager')
  assert trainer.gradient_penalty_weight == 0.0
  assert trainer.clip_value == 0.01
  # gan_toy.py runs clip_disc_weights after each critic train op.
  assert trainer.clip_timing == 'after_critic_step'
  assert isinstance(trainer.discriminator_optimizer, optimizers.TF1RMSprop)
  assert float(trainer.discriminator_optimizer.learning_rate()) == (
      pytest.approx(5e-5))
  # Same seed, same initial networks as the gradient-penalty run.
  main = wgan_gp.build_trainer(wgan_gp.make_config(), compile_mode='eager')
  for a, b in zip(trainer.discriminator.trainable_variables,
                  main.discriminator.trainable_variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_penalty_inputs_are_the_papers(monkeypatch):
  """alpha per example, the critic loss's own fake batch, fresh real batches."""
  config = wgan_gp.make_config(dim=8, batch_size=16, clipping_comparison=False)
  trainer = wgan_gp.build_trainer(config, compile_mode='eager')
  seen = {'critic_inputs': [], 'penalty': []}
  critic_call = type(trainer.discriminator).__call__

  def recording_critic(self, x, *args, **kwargs):
    seen['critic_inputs'].append(x.numpy())
    return critic_call(self, x, *args, **kwargs)

  penalty = losses.wasserstein_gradient_penalty

  def recording_penalty(critic_fn, real, fake, alpha):
    seen['penalty'].append((real.numpy(), fake.numpy(), alpha.numpy()))
    return penalty(critic_fn, real, fake, alpha)

  monkeypatch.setattr(type(trainer.discriminator), '__call__',
                      recording_critic)
  monkeypatch.setattr(losses, 'wasserstein_gradient_penalty',
                      recording_penalty)
  iterator = iter(wgan_gp.dataset_fn(config)(0))
  batches = [next(iterator)[0] for _ in range(5)]
  trainer.train_iteration(batches, [tf.zeros([16], tf.int32)] * 5)
  assert len(seen['penalty']) == 5  # one penalty per critic step
  for step, (real, fake, alpha) in enumerate(seen['penalty']):
    np.testing.assert_array_equal(real, batches[step].numpy())
    # Critic inputs per step: real, fake, then the interpolates.
    critic_real, critic_fake = seen['critic_inputs'][3 * step:3 * step + 2]
    np.testing.assert_array_equal(critic_real, real)
    np.testing.assert_array_equal(critic_fake, fake)
    assert alpha.shape == (16, 1)  # [BATCH_SIZE, 1] as in gan_toy.py
    assert len(np.unique(alpha)) == 16  # one draw per example
    assert np.all((alpha >= 0.0) & (alpha < 1.0))
  # A fresh real batch for every critic step.
  assert len({r.tobytes() for r, _, _ in seen['penalty']}) == 5


# ---- data ------------------------------------------------------------------

def test_mnist_stream_is_gan_mnist_py_data():
  config = wgan_gp.make_config(dataset='mnist')
  images, _ = next(iter(wgan_gp.dataset_fn(config)(0)))
  assert images.shape == (50, 28, 28, 1)
  assert float(tf.reduce_min(images)) >= 0.0
  assert float(tf.reduce_max(images)) <= 1.0
  # 50,000 images / BATCH_SIZE 50 = 1,000 batches per epoch (tflib).
  assert data.batches_per_epoch('mnist', 50, config.split) == 1000


def test_toy_stream_batches():
  config = wgan_gp.make_config(dataset='25gaussians')
  points, modes = next(iter(wgan_gp.dataset_fn(config)(0)))
  assert points.shape == (256, 2) and modes.shape == (256,)


# ---- metrics and the figure ------------------------------------------------

def test_toy_metrics_of_real_and_collapsed_samples():
  modes = data.toy_modes('8gaussians')
  std = data.toy_mode_std('8gaussians')
  real = data.sample_toy('8gaussians', 2500, tf.constant([1, 2])).numpy()
  # Real data: every mode, ~98.9% within 3 standard deviations (analytic
  # P(chi^2_2 < 9) = 0.9889; 2,500 samples: +-0.005 is ~2.4 binomial SDs).
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  result = evaluation.toy_mode_metrics(real, modes, std)
  assert result['modes_covered'] == 8
  assert abs(result['high_quality_fraction'] - 0.9889) < 0.0055
  collapsed = np.repeat(modes[:1], 2500, axis=0)
  assert evaluation.toy_mode_metrics(collapsed, modes, std)[
      'modes_covered'] == 1


def test_swissroll_distances_separate_real_from_shifted():
  config = wgan_gp.make_config(dataset='swissroll')
  reference_values = wgan_gp.swissroll_real_reference(config)
  real = wgan_gp.real_toy_samples(config)
  shifted = wgan_gp.swissroll_distances(real + 0.5, real)
  for key in ('precision_distance', 'recall_distance'):
    assert 0.0 < reference_values[key] < 0.1
    assert shifted[key] > 2 * reference_values[key]


def test_fraction_at_clip_boundary():
  parameters = np.array([0.01, -0.01, 0.00995, 0.005, 0.0, -0.00999])
  # |w| >= 0.0099 counts: 0.01, -0.01, 0.00995, -0.00999.
  assert wgan_gp.fraction_at_clip_boundary(parameters, 0.01) == 4 / 6


def test_value_grid_has_rows_along_y():
  """critic_value_grid's [i, j] is D(axis[j], axis[i]), contour's layout."""

  class XCritic(tf.Module):

    def __call__(self, x):
      return x[:, 0] + 10.0 * x[:, 1]  # [B]

  axis, values = wgan_gp.critic_value_grid(XCritic())
  assert axis[0] == -3.0 and axis[-1] == 3.0 and len(axis) == 128
  np.testing.assert_allclose(values[5, 7], axis[7] + 10.0 * axis[5],
                             rtol=1e-5)


# ---- the expected-output check ---------------------------------------------

def test_expected_file_names_the_papers_figure_and_the_targets():
  assert 'Figure 1' in EXPECTED['paper']['source']
  full = EXPECTED['full_run']
  assert full['8gaussians']['thresholds']['modes_covered']['value'] == 8
  assert full['8gaussians']['thresholds']['high_quality_fraction'][
      'value'] == 0.9
  assert full['25gaussians']['thresholds']['modes_covered']['value'] == 24
  for dataset in ('8gaussians', '25gaussians', 'mnist'):
    assert EXPECTED['short_cpu_run'][dataset]['thresholds'], dataset


@pytest.mark.parametrize('dataset', ['8gaussians', '25gaussians'])
@pytest.mark.parametrize('full_length', [False, True])
def test_check_rejects_an_untrained_toy_generator(dataset, full_length):
  config = wgan_gp.make_config(dataset=dataset)
  trainer = wgan_gp.build_trainer(config, compile_mode='eager')
  metrics = wgan_gp.toy_metrics(trainer, config)
  results = wgan_gp.check(metrics, EXPECTED, full_length, dataset)
  assert results and not all(r['passed'] for r in results.values()), results


@pytest.mark.parametrize('dataset', ['8gaussians', '25gaussians'])
@pytest.mark.parametrize('full_length', [False, True])
def test_check_accepts_the_real_distribution(dataset, full_length):
  """The thresholds are reachable: true-mixture samples pass them."""
  real = data.sample_toy(dataset, wgan_gp.TOY_EVAL_SAMPLES,
                         tf.constant([3, 4])).numpy()
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  metrics = evaluation.toy_mode_metrics(real, data.toy_modes(dataset),
                                        data.toy_mode_std(dataset))
  results = wgan_gp.check(metrics, EXPECTED, full_length, dataset)
  assert results and all(r['passed'] for r in results.values()), results


def test_check_rejects_an_untrained_mnist_generator():
  config = wgan_gp.make_config(dataset='mnist')
  trainer = wgan_gp.build_trainer(config, compile_mode='eager')
  # The run measures 10,000 samples; 1,000 (the ceilings' block size) keep
  # this test fast. Measured for this untrained generator at 10,000: classifier
  # score 1.003, Frechet distance 772, far outside the thresholds at any count.
  metrics = wgan_gp.mnist_metrics(trainer, config, 1000)
  results = wgan_gp.check(metrics, EXPECTED, False, 'mnist')
  assert results and not all(r['passed'] for r in results.values()), (
      metrics, results)


def test_check_fails_a_missing_metric():
  results = wgan_gp.check({}, EXPECTED, False, '8gaussians')
  assert results and not any(r['passed'] for r in results.values())


# ---- the fixed generator (gan_toy.py FIXED_GENERATOR = True) ---------------

def test_fixed_generator_is_gan_toy_py_real_data_plus_unit_noise():
  config = wgan_gp.make_config(fixed_generator=True)
  config.validate()
  assert not wgan_gp.WGANGPConfig().fixed_generator  # the script's False
  trainer = wgan_gp.build_trainer(config, compile_mode='eager')
  # fake_data = real_data + (1.*tf.random_normal(tf.shape(real_data))).
  assert trainer.fixed_generator_noise_stddev == 1.0
  assert trainer.gradient_penalty_weight == pytest.approx(0.1)
  # The weight-clipping companion holds the generator fixed too.
  companion = wgan_gp.clipping_companion(config)
  companion.validate()
  companion_trainer = wgan_gp.build_trainer(companion, compile_mode='eager')
  assert companion_trainer.fixed_generator_noise_stddev == 1.0
  assert companion_trainer.clip_value == 0.01
  assert wgan_gp.build_trainer(
      wgan_gp.make_config(), 'eager').fixed_generator_noise_stddev is None


def test_exact_wasserstein1_finds_the_optimal_assignment():
  # The identity pairing costs sqrt(10) per point; the crossed one 1.
  a = np.array([[0.0, 0.0], [3.0, 0.0]])
  b = np.array([[3.0, 1.0], [0.0, 1.0]])
  assert wgan_gp.exact_wasserstein1(a, b) == pytest.approx(1.0)


class _RadialCritic(tf.Module):
  """D(x) = -scale ||x||: the optimal critic (Kantorovich potential, scaled)
  when all real mass sits at the origin and fake = real + noise."""

  def __init__(self, scale):
    super().__init__()
    self.scale = scale

  def __call__(self, x):
    return -self.scale * tf.norm(x, axis=1)


class _LinearCritic(tf.Module):
  """D(x) = x . (1, 1): blind to noise that is symmetric about the data."""

  def __call__(self, x):
    return tf.reduce_sum(x, axis=1)


def _origin_points(count=1000):
  rng = np.random.default_rng(0)
  real = 1e-3 * rng.normal(size=(count, 2))
  fake = real + rng.normal(size=(count, 2))
  alpha = rng.uniform(size=(count, 1))
  return real, fake, alpha * real + (1 - alpha) * fake


def test_fixed_generator_metrics_of_an_optimal_and_a_blind_critic():
  points = _origin_points()
  w1 = wgan_gp.exact_wasserstein1(points[0], points[1])
  # W1 from a (near) point mass to its noisy copy is E||noise|| ~ 1.2533.
  assert w1 == pytest.approx(np.sqrt(np.pi / 2), rel=0.05)
  # The penalised optimum: the optimal critic scaled to 1 + W1 / (2 lambda).
  lam = 0.1
  optimal = wgan_gp.fixed_generator_critic_metrics(
      _RadialCritic(1.0 + w1 / (2 * lam)), points, w1, lam)
  # Exactly 1 in exact arithmetic; float32 and the assignment: 1e-3 slack.
  assert optimal['optimality'] == pytest.approx(1.0, abs=1e-3)
  assert optimal['gradient_norm_relative_error'] < 1e-3
  # Unscaled, the same critic is still optimal, but its norm (1) is not the
  # penalised optimum's (7.3): the gradient-norm criterion sees that.
  unscaled = wgan_gp.fixed_generator_critic_metrics(_RadialCritic(1.0),
                                                    points, w1, lam)
  assert unscaled['optimality'] == pytest.approx(1.0, abs=1e-3)
  assert unscaled['gradient_norm_relative_error'] > 0.8
  blind = wgan_gp.fixed_generator_critic_metrics(_LinearCritic(), points, w1)
  assert abs(blind['optimality']) < 0.1
  assert 'gradient_norm_relative_error' not in blind  # no penalty
  expected_metrics = {'fixed_generator_critics': {
      'gradient_penalty_critic': optimal, 'weight_clipping_critic': blind}}
  results = wgan_gp.check_fixed_generator(expected_metrics, EXPECTED,
                                          '8gaussians')
  assert sorted(results) == sorted(
      EXPECTED['fixed_generator']['8gaussians']['thresholds'])
  assert all(r['passed'] for r in results.values()), results
  # The same critics the other way round fail every criterion.
  swapped = {'fixed_generator_critics': {
      'gradient_penalty_critic': dict(blind, gradient_norm_relative_error=(
          unscaled['gradient_norm_relative_error'])),
      'weight_clipping_critic': optimal}}
  results = wgan_gp.check_fixed_generator(swapped, EXPECTED, '8gaussians')
  assert not any(r['passed'] for r in results.values()), results


def test_fixed_generator_check_without_the_companion():
  metrics = {'fixed_generator_critics': {'gradient_penalty_critic': {
      'optimality': 0.9, 'gradient_norm_relative_error': 0.01}}}
  results = wgan_gp.check_fixed_generator(metrics, EXPECTED, '8gaussians')
  assert 'optimality_gain_over_weight_clipping' not in results
  assert results and all(r['passed'] for r in results.values())
  # --mode=wgan: no penalised critic, nothing to check.
  assert wgan_gp.check_fixed_generator(
      {'fixed_generator_critics': {'weight_clipping_critic': {
          'optimality': 0.4}}}, EXPECTED, '8gaussians') == {}


@pytest.mark.parametrize('dataset', ['8gaussians', '25gaussians',
                                     'swissroll'])
def test_fixed_generator_check_rejects_untrained_critics(dataset):
  """The initial critics (what the check must never accept) fail it."""
  config = wgan_gp.make_config(dataset=dataset, fixed_generator=True)
  fixed = wgan_gp.FixedGeneratorEvaluation(config)
  critics = {
      'gradient_penalty_critic': fixed.critic_metrics(
          wgan_gp.build_trainer(config, 'eager')),
      'weight_clipping_critic': fixed.critic_metrics(wgan_gp.build_trainer(
          wgan_gp.clipping_companion(config), 'eager'))}
  results = wgan_gp.check_fixed_generator(
      {'fixed_generator_critics': critics}, EXPECTED, dataset)
  assert results and not any(r['passed'] for r in results.values()), results


def test_fixed_generator_run_writes_figure1_and_checks_the_critics(tmp_path):
  """Two iterations of narrow nets: figure1.png, no generator metrics, and
  a check that fails (critics this far from optimal must not pass)."""
  from paper_gans import runner  # pylint: disable=g-import-not-at-top
  config = wgan_gp.make_config(fixed_generator=True, dim=8, batch_size=16)
  options = runner.RunOptions(workdir=str(tmp_path), steps=2, log_every=1,
                              sample_every=1, checkpoint_every=1,
                              verbose=False)
  code = wgan_gp.run(config, options, compile_mode='graph')
  assert code == 1
  assert os.path.exists(tmp_path / 'figure1.png')
  assert os.path.exists(tmp_path / wgan_gp.COMPANION_DIR / 'history.jsonl')
  assert sorted(os.listdir(tmp_path / 'samples')) == [
      'iteration_0000001.png', 'iteration_0000002.png']
  with open(tmp_path / 'metrics.json', encoding='utf-8') as f:
    metrics = json.load(f)
  assert metrics['fixed_generator'] is True
  assert 'modes_covered' not in metrics
  assert metrics['check']['applied'] == 'fixed_generator'
  assert sorted(metrics['check']['criteria']) == sorted(
      EXPECTED['fixed_generator']['8gaussians']['thresholds'])
  assert not metrics['check']['passed']
  critics = metrics['fixed_generator_critics']
  assert critics['wasserstein1_exact'] > 0
  assert set(critics) >= {'gradient_penalty_critic', 'weight_clipping_critic'}
  # Per checkpoint, the critic metrics instead of the generator's.
  rows = plots_rows(tmp_path / wgan_gp.CHECKPOINT_METRICS_FILE)
  assert [r['iteration'] for r in rows] == [1, 2]
  assert 'optimality' in rows[0] and 'modes_covered' not in rows[0]


def plots_rows(path):
  with open(path, encoding='utf-8') as f:
    return [json.loads(line) for line in f if line.strip()]


# ---- the reference trajectory ----------------------------------------------

def test_a_changed_penalty_weight_is_caught_at_the_first_update():
  """gan_mnist.py's lambda 10 on the toy reference diverges at update 0."""
  path = os.path.join(ROOT, 'tests', 'references', 'wgan_gp_ci.json')
  with open(path, encoding='utf-8') as f:
    ref = json.load(f)
  paper = reference.paper_module('wgan_gp')
  changed = dataclasses.replace(paper.CONFIG_CLASS(**ref['config']),
                                gradient_penalty_weight=10.0)
  actual = reference.record(paper, changed, 6, ref['compile_mode'])
  recorded = reference.recording_for(ref)['trajectory']
  divergence = reference.first_divergence(recorded[:6], actual, 1e-4, 1e-6)
  assert divergence is not None
  assert divergence[:2] == (0, 'discriminator_loss')
