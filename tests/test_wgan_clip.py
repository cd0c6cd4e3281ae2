"""The WGAN-clip reproduction's paper-specific parts (Arjovsky et al. 2017)."""

import dataclasses
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import layers
from paper_gans import optimizers
from paper_gans.errors import ConfigError
from paper_gans.papers import wgan_clip

SMALL = dict(image_size=16, generator_width=8, critic_width=8)


def test_defaults_are_main_py():
  config = wgan_clip.WGANClipConfig()
  # martinarjovsky/WassersteinGAN main.py argparse defaults and torch's
  # RMSprop defaults.
  assert (config.critic_learning_rate, config.generator_learning_rate) == (
      5e-5, 5e-5)
  assert (config.rmsprop_alpha, config.rmsprop_epsilon) == (0.99, 1e-8)
  assert config.clip_value == 0.01
  assert config.clip_timing == 'before_critic_step'
  assert (config.critic_steps, config.warmup_critic_steps,
          config.warmup_generator_iterations, config.critic_boost_every) == (
              5, 100, 25, 500)
  assert (config.batch_size, config.latent_dim, config.image_size) == (
      64, 100, 64)
  assert (config.generator_width, config.critic_width,
          config.extra_layers) == (64, 64, 0)
  assert config.epochs == 25


def test_trainer_is_wired_as_main_py():
  config = dataclasses.replace(wgan_clip.WGANClipConfig(), **SMALL)
  trainer = wgan_clip.build_trainer(config, 'eager')
  assert isinstance(trainer.discriminator_optimizer, optimizers.RMSprop)
  assert isinstance(trainer.generator_optimizer, optimizers.RMSprop)
  assert trainer.clip_value == 0.01
  assert trainer.clip_timing == 'before_critic_step'
  assert trainer.gradient_penalty_weight == 0.0
  assert [trainer.batches_needed(i) for i in (0, 24, 25, 499, 500, 501)] == [
      100, 100, 5, 5, 100, 5]


def test_paper_size_parameter_counts():
  # 64x64, 1 channel (MNIST), ngf = ndf = 64. DCGAN_G: cngf = 32 doubled
  # per doubling from 4 to 64 = 512; ConvT(100->512, 4) + BN(512), then the
  # pyramid 4->8->16->32 (512->256->128->64) with BN, then ConvT(64->1) to
  # 64x64; no conv biases (bias=False in models/dcgan.py).
  g = 100 * 512 * 16 + 2 * 512 + 512 * 256 * 16 + 2 * 256 + \
      256 * 128 * 16 + 2 * 128 + 128 * 64 * 16 + 2 * 64 + 64 * 1 * 16
  # DCGAN_D: Conv(1->64) + Conv(64->128) + BN + Conv(128->256) + BN +
  # Conv(256->512) + BN + Conv(512->1, 4x4 valid).
  d = 1 * 64 * 16 + 64 * 128 * 16 + 2 * 128 + 128 * 256 * 16 + 2 * 256 + \
      256 * 512 * 16 + 2 * 512 + 512 * 16
  trainer = wgan_clip.build_trainer(wgan_clip.WGANClipConfig(), 'eager')
  assert layers.count_parameters(trainer.generator) == g
  assert layers.count_parameters(trainer.discriminator) == d


def test_mlp_generator_option():
  config = dataclasses.replace(wgan_clip.WGANClipConfig(), generator='mlp',
                               **SMALL)
  trainer = wgan_clip.build_trainer(config, 'eager')
  assert not any('batch' in v.name.lower() or 'gamma' in v.name
                 for v in trainer.generator.variables)
  z = tf.zeros([2, config.latent_dim])
  assert trainer.generate(z).shape == (2, 16, 16, 1)


def test_run_length_of_25_epochs_counts_critic_batches():
  # 937 batches of 64 per MNIST epoch; 25 epochs = 23,425 batches; the first
  # 25 generator iterations and every 500th take 100, the others 5:
  # 2,500 + 5 * 4,033 + 95 * 8 (iterations 500 ... 4,000) = 23,425 at 4,058.
  config = dataclasses.replace(wgan_clip.WGANClipConfig(), image_size=32)
  assert wgan_clip.steps_for(config) == 4058


@pytest.mark.parametrize('field,value,message', [
    ('image_size', 40, '--image_size must be a multiple of 16'),
    ('generator', 'resnet', '--generator must be one of dcgan, mlp'),
    ('clip_timing', 'never', '--clip_timing must be one of'),
    ('rmsprop_alpha', 1.0, '--rmsprop_alpha must be in (0, 1)'),
    ('dataset', '8gaussians', '2-D toy data'),
])
def test_validation(field, value, message):
  config = dataclasses.replace(wgan_clip.WGANClipConfig(), **{field: value})
  with pytest.raises(ConfigError, match=message.replace('(', r'\(')
                     .replace(')', r'\)')):
    config.validate()


def test_wasserstein_estimate_is_minus_loss_d():
  history = [{'discriminator_loss': [0.3, -0.5]},
             {'discriminator_loss': [-0.2]}]
  np.testing.assert_array_equal(wgan_clip.wasserstein_estimates(history),
                                [0.5, 0.2])


def test_spearman_correlation():
  assert wgan_clip.spearman_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
  assert wgan_clip.spearman_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
  # Monotone but not linear: rank correlation is exactly 1.
  assert wgan_clip.spearman_correlation([1, 2, 3], [1, 10, 1000]) == 1.0
  # Ties get average ranks (scipy.stats.spearmanr gives 0.9486833 here).
  assert wgan_clip.spearman_correlation(
      [1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9486833, abs=1e-6)
  assert np.isnan(wgan_clip.spearman_correlation([1, 1, 1], [1, 2, 3]))


def test_clipped_fraction():
  module = tf.Module()
  module.w = tf.Variable([0.01, -0.01, 0.0, 0.005, 0.00999])
  assert wgan_clip.clipped_fraction(module, 0.01) == pytest.approx(3 / 5)


def _expected():
  with open(wgan_clip.EXPECTED_PATH) as f:
    return json.load(f)


def test_expected_file_names_the_paper_and_both_thresholds():
  expected = _expected()
  assert 'Figs. 3-4' in expected['paper']['source']
  for kind in ('full_run', 'short_cpu_run'):
    assert expected[kind]['thresholds'], kind
    assert 'command' in expected[kind]


def test_check_rejects_an_untrained_generator():
  # Measure an untrained generator the way a run is measured: its Frechet
  # distance on the shipped evaluator, no fall of the estimate (a flat
  # history), no checkpoints to correlate, and the critic's initial weights
  # (N(0, 0.02), unclipped).
  config = dataclasses.replace(wgan_clip.WGANClipConfig(), image_size=32,
                               eval_samples=500)
  trainer = wgan_clip.build_trainer(config, 'eager')
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  fd = wgan_clip.checkpoint_frechet_distance(
      trainer, config, evaluation.MnistEvaluator.load())
  flat = [{'iteration': i, 'discriminator_loss': [-0.1]} for i in range(100)]
  metrics = wgan_clip.summarise(
      flat, [{'iteration': 100, 'wasserstein_estimate': 0.1,
              'frechet_distance': fd}], trainer, config)
  for full_length in (False, True):
    results = wgan_clip.check(metrics, _expected(), full_length)
    assert not all(r['passed'] for r in results.values())
    assert not results['frechet_distance_final']['passed']
    assert not results['wasserstein_estimate_final_over_peak']['passed']
