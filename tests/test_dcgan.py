"""The DCGAN reproduction's paper-specific parts (Radford et al. 2015)."""

import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import data
from paper_gans import layers
from paper_gans import losses
from paper_gans import optimizers
from paper_gans.errors import ConfigError
from paper_gans.papers import dcgan

SMALL = dict(image_size=16, generator_width=8, discriminator_width=8)
# The documented CPU run's networks.
CPU_RUN = dict(image_size=32, generator_width=32, discriminator_width=32)


@pytest.fixture(scope='module')
def evaluator():
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  return evaluation.MnistEvaluator.load()


def test_defaults_are_train_uncond_dcgan_py():
  config = dcgan.DCGANConfig()
  # Newmu/dcgan_code faces/train_uncond_dcgan.py module constants.
  assert (config.batch_size, config.latent_dim, config.image_size) == (
      128, 100, 64)
  assert (config.generator_width, config.discriminator_width) == (128, 128)
  assert (config.learning_rate, config.adam_beta1) == (2e-4, 0.5)
  assert config.weight_decay == 1e-5
  assert config.discriminator_steps == 1
  assert config.epochs == 25
  # lib/updates.py Adam class defaults (the script sets only lr and b1).
  assert (config.adam_beta2, config.adam_epsilon) == (0.999, 1e-8)
  assert dcgan.VALUE_RANGE == (-1.0, 1.0)


def test_trainer_is_wired_as_the_script():
  config = dataclasses.replace(dcgan.DCGANConfig(), **SMALL)
  trainer = dcgan.build_trainer(config, 'eager')
  for optimizer in (trainer.generator_optimizer,
                    trainer.discriminator_optimizer):
    assert isinstance(optimizer, optimizers.Adam)
    assert optimizer._epsilon_placement == optimizers.ALGORITHM1  # pylint: disable=protected-access
    assert optimizer._weight_decay == 1e-5  # pylint: disable=protected-access
    assert optimizer.learning_rate().numpy() == np.float32(2e-4)
  assert trainer._discriminator_loss is losses.minimax_discriminator_loss  # pylint: disable=protected-access
  assert trainer._generator_loss is losses.non_saturating_generator_loss  # pylint: disable=protected-access
  assert trainer.update_order == 'alternating'
  # The authors' order: a lone G update first (no D step, no real batch).
  assert [trainer.batches_needed(i) for i in (0, 1, 1000)] == [0, 1, 1]
  assert trainer.batch_size == 128
  plain = dcgan.build_trainer(
      dataclasses.replace(config, generator_first=False), 'eager')
  assert [plain.batches_needed(i) for i in (0, 1, 1000)] == [1, 1, 1]
  assert trainer.clip_value is None and trainer.gradient_penalty_weight == 0
  # z ~ U(-1, 1): np_rng.uniform(-1., 1., size=(nbatch, nz)).
  z = trainer.sample_latent(tf.constant([0, 1]), 4096).numpy()
  assert z.min() >= -1.0 and z.max() <= 1.0
  assert z.min() < -0.99 and z.max() > 0.99
  assert abs(z.var() - 1.0 / 3.0) < 0.01


def test_first_adam_step_is_lib_updates_adam_with_l2_on_every_parameter():
  # One update of Newmu's Adam (t = 1, m = v = 0, b1_t = b1) with
  # Regularizer(l2): g' = g + l2 p; m = (1 - b1) g'; v = (1 - b2) g'^2;
  # p -= lr * (m / (1 - b1)) / (sqrt(v / (1 - b2)) + e). Checked on a
  # batch-norm gain too: the code decays gains and biases like weights.
  config = dataclasses.replace(dcgan.DCGANConfig(), **SMALL)
  trainer = dcgan.build_trainer(config, 'eager')
  variables = trainer.generator.trainable_variables
  before = [v.numpy().copy() for v in variables]
  gradients = [tf.fill(v.shape, 0.3) for v in variables]
  trainer.generator_optimizer.apply(gradients)
  lr, b1, b2, e, l2 = 2e-4, 0.5, 0.999, 1e-8, 1e-5
  names = [v.name for v in variables]
  assert any('gamma' in n for n in names)
  for name, p, v in zip(names, before, variables):
    g = 0.3 + l2 * p
    m, s = (1 - b1) * g, (1 - b2) * g * g
    want = p - lr * (m / (1 - b1)) / (np.sqrt(s / (1 - b2)) + e)
    # float32 Adam vs the float64 formula: a few ulps of relative error.
    np.testing.assert_allclose(v.numpy(), want, rtol=1e-5, atol=1e-9,
                               err_msg=name)


def test_parameter_counts_of_the_cpu_run_by_hand():
  # 32x32, 1 channel, ngf = ndf = 32, written out as train_uncond_dcgan.py
  # declares its parameters with one stride-2 layer fewer than at 64x64:
  # G: gw (100, 4*4*4ngf) and per-unit gg, gb; gw2 (4ngf, 2ngf, 5, 5) + BN;
  # gw3 (2ngf, ngf, 5, 5) + BN; gwx (ngf, 1, 5, 5).
  g = (100 * 16 * 128 + 2 * 16 * 128
       + 128 * 64 * 25 + 2 * 64
       + 64 * 32 * 25 + 2 * 32
       + 32 * 1 * 25)
  # D: dw (ndf, 1, 5, 5) no BN; dw2 (2ndf, ndf, 5, 5) + BN; dw3 (4ndf, 2ndf,
  # 5, 5) + BN; dwy (4ndf*4*4, 1).
  d = (32 * 1 * 25
       + 64 * 32 * 25 + 2 * 64
       + 128 * 64 * 25 + 2 * 128
       + 128 * 16)
  assert (g, d) == (465_888, 259_232)
  config = dataclasses.replace(dcgan.DCGANConfig(), **CPU_RUN)
  trainer = dcgan.build_trainer(config, 'eager')
  assert layers.count_parameters(trainer.generator) == g
  assert layers.count_parameters(trainer.discriminator) == d


def test_paper_size_parameter_counts_on_mnist():
  # The defaults (64x64, ngf = ndf = 128) with MNIST's single channel: the
  # faces script's counts (tests/test_networks_dcgan.py, nc = 3) less
  # 2 * 128 * 25 (gwx and dw each lose two input/output channels).
  trainer = dcgan.build_trainer(dcgan.DCGANConfig(), 'eager')
  assert layers.count_parameters(trainer.generator) == 18_885_760 - 2 * 128 * 25
  assert layers.count_parameters(
      trainer.discriminator) == 17_232_768 - 2 * 128 * 25


def test_run_length_of_25_epochs_counts_the_authors_minibatches():
  # 60,000 // 128 = 468 minibatches per epoch; the authors' loop spends one on
  # each update: 25 * 468 = 11,700 updates. Generator first: iteration 0 is
  # one update (G), every later one two (D, G): 1 + 2 (n - 1) >= 11,700
  # gives n = 5,851 (5,851 G and 5,850 D updates).
  config = dataclasses.replace(dcgan.DCGANConfig(), **CPU_RUN)
  assert data.batches_per_epoch('mnist', 128) == 468
  assert dcgan.steps_for(config) == 5851
  assert dcgan.steps_for(config, epochs=1) == 235  # 1 + 2 * 234 >= 468
  # k = 2: 1 + 3 (n - 1) >= 468.
  k2 = dataclasses.replace(config, discriminator_steps=2)
  assert dcgan.steps_for(k2, epochs=1) == 157
  # The plain order (D, G per iteration): 25 * 468 / 2 = 5,850.
  plain = dataclasses.replace(config, generator_first=False)
  assert dcgan.steps_for(plain) == 5850
  assert dcgan.steps_for(plain, epochs=1) == 234
  assert dcgan.steps_for(dataclasses.replace(k2, generator_first=False),
                         epochs=1) == 156


def _update_sequence(update_sequence, config, iterations):
  """The players' updates in order ('G' or 'D'), and the real batches each
  generator iteration consumed, from an eager trainer."""
  iterator = iter(dcgan.dataset_fn(config)(0))

  def batches(k):
    drawn = [next(iterator) for _ in range(k)]
    return [b[0] for b in drawn], [b[1] for b in drawn]

  return update_sequence(dcgan.build_trainer(config, 'eager'), batches,
                         iterations)


def test_update_order_is_the_authors_generator_first(update_sequence):
  # train_uncond_dcgan.py: n_updates % (k + 1) == 0 -> _train_g, else
  # _train_d, from n_updates = 0: G, D, G, D, ...
  config = dataclasses.replace(dcgan.DCGANConfig(), batch_size=8, **SMALL)
  updates, consumed = _update_sequence(update_sequence, config, 4)
  assert updates[0] == 'G'
  assert updates == ['G', 'D', 'G', 'D', 'G', 'D', 'G']
  assert updates == ['G' if n % 2 == 0 else 'D' for n in range(len(updates))]
  assert consumed == [0, 1, 1, 1]  # the lone G update takes no real batch
  # k = 2: G, D, D, G, D, D, G.
  k2 = dataclasses.replace(config, discriminator_steps=2)
  assert _update_sequence(update_sequence, k2, 3)[0] == [
      'G' if n % 3 == 0 else 'D' for n in range(7)]
  # --nogenerator_first: the engine's plain order.
  plain = dataclasses.replace(config, generator_first=False)
  assert _update_sequence(update_sequence, plain, 3)[0] == ['D', 'G'] * 3


@pytest.mark.parametrize('field,value,message', [
    ('image_size', 48, 'image_size=48'),
    ('image_size', 8, 'image_size=8'),
    ('dataset', 'swissroll', '2-D toy data'),
    ('dataset', 'cifar', "unknown --dataset 'cifar'"),
    ('adam_beta1', 1.0, '--adam_beta1 must be in [0, 1)'),
    ('discriminator_steps', 0, '--discriminator_steps must be > 0'),
    ('interpolation_frames', 2, '--interpolation_frames must be >= 3'),
    ('weight_decay', -1e-5, '--weight_decay must be >= 0'),
])
def test_validation(field, value, message):
  config = dataclasses.replace(dcgan.DCGANConfig(), **{field: value})
  with pytest.raises(ConfigError, match=message.replace('[', r'\[')
                     .replace(')', r'\)').replace('(', r'\(')):
    config.validate()


def test_interpolation_latents_are_straight_lines_between_uniform_ends():
  config = dataclasses.replace(dcgan.DCGANConfig(), interpolation_pairs=3,
                               interpolation_frames=5)
  z = dcgan.interpolation_latents(config)
  assert z.shape == (3, 5, 100)
  assert np.all(np.abs(z) <= 1.0)
  # Linear interpolation in float32 (|z| <= 1): exact up to rounding.
  np.testing.assert_allclose(z[:, 2], 0.5 * (z[:, 0] + z[:, 4]), atol=1e-6)
  np.testing.assert_allclose(z[:, 1], 0.75 * z[:, 0] + 0.25 * z[:, 4],
                             atol=1e-6)
  np.testing.assert_array_equal(z, dcgan.interpolation_latents(config))


def test_smoothness_metrics_of_even_and_jumping_walks():
  t = np.linspace(0, 1, 10)[None, :, None]
  a, b = np.zeros([1, 1, 4]), np.array([[[3.0, 4.0, 0.0, 0.0]]])
  even = dcgan.smoothness_metrics((1 - t) * a + t * b)
  assert even['max_step_fraction'] == pytest.approx(1 / 9)
  assert even['path_over_endpoints'] == pytest.approx(1.0)
  assert even['endpoint_distance'] == pytest.approx(5.0)
  # All of the change in one step: a jump.
  jump = np.where(t < 0.5, a, b)
  assert dcgan.smoothness_metrics(jump)['max_step_fraction'] == pytest.approx(1)
  # A detour: out to (0, 5) and back to b doubles... path 5 + sqrt(9 + 1).
  detour = np.concatenate([a, [[[0.0, 5.0, 0, 0]]], b], axis=1)
  assert dcgan.smoothness_metrics(detour)['path_over_endpoints'] == (
      pytest.approx((5 + np.sqrt(10)) / 5))


def test_batch_statistics_sampling_leaves_moving_averages_alone():
  config = dataclasses.replace(dcgan.DCGANConfig(), **SMALL)
  trainer = dcgan.build_trainer(config, 'eager')
  before = [v.numpy().copy() for v in trainer.generator.variables
            if not v.trainable]
  z = tf.random.uniform([10, 100], -1, 1, seed=1)
  images = dcgan.batch_statistics_generate(trainer, 4)(z)
  assert images.shape == (10, 16, 16, 1)
  after = [v.numpy() for v in trainer.generator.variables if not v.trainable]
  for b, a in zip(before, after):
    np.testing.assert_array_equal(b, a)
  # Batch statistics over batches of 4, as the authors' gen_samples batches.
  first_batch = trainer.generator(z[:4], training=True).numpy()
  # Same ops on the same batch, but separately compiled: float32 rounding.
  np.testing.assert_allclose(images[:4], first_batch, atol=1e-6)
  moving = trainer.generator(z[:4], training=False).numpy()
  assert np.abs(images[:4] - moving).max() > 1e-3


def test_ceilings_at_the_run_resolution():
  config = dataclasses.replace(dcgan.DCGANConfig(), **CPU_RUN)
  ceilings = dcgan.ceilings_for(config)
  assert 9.0 < ceilings['classifier_score'] < 10.0
  assert 0.0 < ceilings['frechet_distance'] < 20.0


def _expected():
  with open(dcgan.EXPECTED_PATH) as f:
    return json.load(f)


def test_expected_file_names_the_paper_and_both_thresholds():
  expected = _expected()
  assert '1511.06434' in expected['paper']['source']
  for kind in ('full_run', 'short_cpu_run'):
    thresholds = expected[kind]['thresholds']
    assert {'frechet_distance_final', 'classifier_score_final',
            'interpolation_max_step_fraction',
            'interpolation_path_over_endpoints',
            'interpolation_endpoint_distance_over_real'} <= set(thresholds)
    assert 'command' in expected[kind]


def _cpu_config():
  return dataclasses.replace(dcgan.DCGANConfig(), eval_samples=1000,
                             **CPU_RUN)


def _measure(generate, config, evaluator):
  """A run's final metrics, measured as `dcgan.run` measures them."""
  row = {'iteration': 100, **dcgan.sample_metrics(generate, config, evaluator)}
  final = dcgan.interpolation_metrics(
      generate, config, evaluator, dcgan.real_feature_pair_distance(evaluator))
  return dcgan.summarise([{}] * 100, [row], final)


def test_check_rejects_an_untrained_generator(evaluator):
  config = _cpu_config()
  trainer = dcgan.build_trainer(config, 'eager')
  metrics = _measure(dcgan.moving_average_generate(trainer), config, evaluator)
  for full_length in (False, True):
    results = dcgan.check(metrics, _expected(), full_length)
    assert not all(r['passed'] for r in results.values())
    assert not results['frechet_distance_final']['passed']
    assert not results['classifier_score_final']['passed']
    # It does walk smoothly, between nearly identical grey images.
    assert not results['interpolation_endpoint_distance_over_real']['passed']


def _lookup_generator(num_codes):
  """A memoriser: z -> the real digit whose random code is nearest to z."""
  images, _ = data.cached_images('mnist', 'train', 32, 'resize', 1)
  digits = images[:num_codes].astype(np.float32) / 127.5 - 1.0
  codes = np.random.default_rng(0).uniform(-1, 1, [num_codes, 100])

  def generate(z):
    z = np.asarray(z, np.float64)
    d = (z * z).sum(1)[:, None] - 2 * z @ codes.T + (codes * codes).sum(1)
    return digits[np.argmin(d, axis=1)]
  return generate


@pytest.mark.parametrize('num_codes', [10, 60000])
def test_check_rejects_a_memorising_generator(evaluator, num_codes):
  # Its samples are real digits (with 60,000 codes they score like real data
  # on the sample metrics), so the walk has to tell: with few codes it jumps
  # between them (max step fraction), with many it hops between unrelated
  # digits (path over endpoints).
  config = _cpu_config()
  metrics = _measure(_lookup_generator(num_codes), config, evaluator)
  results = dcgan.check(metrics, _expected(), full_length=False)
  assert not all(r['passed'] for r in results.values())
  assert not (results['interpolation_max_step_fraction']['passed']
              and results['interpolation_path_over_endpoints']['passed'])
