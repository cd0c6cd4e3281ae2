"""The conditional DCGAN reproduction's paper-specific parts."""

import dataclasses
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import data
from paper_gans import layers
from paper_gans import optimizers
from paper_gans import runner
from paper_gans import train
from paper_gans.errors import ConfigError
from paper_gans.papers import cdcgan_mnist


def test_znxlwm_defaults_are_the_twins():
  config = cdcgan_mnist.CDCGANMnistConfig()
  # znxlwm/tensorflow-MNIST-cGAN-cDCGAN tensorflow_MNIST_cDCGAN.py.
  assert config.preset == 'znxlwm'
  assert (config.batch_size, config.latent_dim) == (100, 100)
  assert config.latent_distribution == 'normal'
  assert config.split == 'train[5000:]'  # read_data_sets' 55,000
  assert (config.learning_rate, config.beta1, config.beta2,
          config.adam_epsilon) == (2e-4, 0.5, 0.999, 1e-8)
  assert config.epsilon_placement == 'tf1'
  assert config.weight_decay == 0.0
  assert (config.lr_schedule, config.lr_decay_steps,
          config.lr_decay_rate) == ('staircase', 500, 0.95)
  assert config.fake_labels_in_d_step == 'real_batch'
  assert not config.generator_first  # D_optim then G_optim on every batch
  assert config.epochs == 30
  assert cdcgan_mnist.value_range(config) == (-1.0, 1.0)
  assert cdcgan_mnist.make_config() == config


DEPRECATION = ('warning: --preset=seed is deprecated; it is now '
               '--preset=znxlwm (the same settings).\n')


def test_seed_is_the_deprecated_name_of_znxlwm(capsys):
  # The preset's former name gives the same config and one line saying so,
  # however the config is built: flags (make_config), an older run's
  # config.json (the class itself) or a replaced field.
  twin = cdcgan_mnist.make_config()
  for build in (lambda: cdcgan_mnist.make_config(preset='seed'),
                lambda: cdcgan_mnist.CDCGANMnistConfig(preset='seed'),
                lambda: dataclasses.replace(twin, preset='seed')):
    assert build() == twin
    assert capsys.readouterr().err == DEPRECATION
  assert (cdcgan_mnist.make_config(preset='seed', batch_size=2)
          == cdcgan_mnist.make_config(batch_size=2))
  capsys.readouterr()
  cdcgan_mnist.make_config(preset='znxlwm')
  cdcgan_mnist.make_config(preset='newmu')
  assert capsys.readouterr().err == ''
  # Unknown names are refused, and the message lists the current ones only.
  with pytest.raises(ConfigError,
                     match="--preset must be one of znxlwm, newmu, got 'x'"):
    cdcgan_mnist.make_config(preset='x')


def test_stored_configs_use_the_current_preset_names():
  # The reference trajectories' configs (replayed by tests/
  # test_references.py) name their preset as the code does today.
  paths = glob.glob(os.path.join(os.path.dirname(__file__), 'references',
                                 'cdcgan_mnist_*.json'))
  assert len(paths) >= 4
  for path in paths:
    with open(path, encoding='utf-8') as f:
      preset = json.load(f)['config']['preset']
    assert preset in cdcgan_mnist.PRESET_NAMES, path


def test_newmu_preset_is_train_cond_dcgan():
  config = cdcgan_mnist.make_config(preset='newmu')
  assert config.batch_size == 128  # nbatch
  assert config.latent_distribution == 'uniform'
  assert config.split == 'train[:50000]'
  assert config.epsilon_placement == 'algorithm1'
  assert config.weight_decay == 2.5e-5
  assert (config.lr_schedule, config.lr_constant_epochs,
          config.lr_decay_epochs, config.epochs) == ('linear', 100, 100, 200)
  assert (config.learning_rate, config.beta1) == (2e-4, 0.5)
  assert config.generator_first  # n_updates % (k+1) == 0 -> _train_g first
  assert cdcgan_mnist.value_range(config) == (0.0, 1.0)
  assert not cdcgan_mnist.make_config(preset='newmu',
                                      generator_first=False).generator_first
  # Explicit values win over the preset.
  assert cdcgan_mnist.make_config(preset='newmu', batch_size=64).batch_size == 64


def test_run_lengths():
  # Twin: 55,000 // 100 = 550 batches per epoch, 30 epochs.
  twin = cdcgan_mnist.CDCGANMnistConfig()
  assert cdcgan_mnist.steps_for(twin) == 16500
  assert cdcgan_mnist.minibatches_for(twin, 16500) == 16500
  # Newmu: 50,000 // 128 = 390 batches per epoch, one per update of either
  # player, 200 epochs = 78,000 updates. Generator first: iteration 0 is
  # one update, every later one two: 1 + 2 (n - 1) >= 78,000 gives n =
  # 39,001 (39,001 G and 39,000 D updates).
  newmu = cdcgan_mnist.make_config(preset='newmu')
  assert cdcgan_mnist.batches_per_epoch(newmu) == 390
  assert cdcgan_mnist.steps_for(newmu) == 39001
  assert cdcgan_mnist.steps_for(newmu, epochs=1) == 196  # 1 + 2 * 195 >= 390
  assert [cdcgan_mnist.minibatches_per_iteration(newmu, i)
          for i in (0, 1, 2)] == [1, 2, 2]
  assert cdcgan_mnist.minibatches_for(newmu, 39001) == 78001
  assert cdcgan_mnist.minibatches_for(newmu, 196) == 391
  # --nogenerator_first: one (D, G) iteration per two batches, 39,000.
  plain = dataclasses.replace(newmu, generator_first=False)
  assert cdcgan_mnist.steps_for(plain) == 39000
  assert cdcgan_mnist.steps_for(plain, epochs=1) == 195
  assert cdcgan_mnist.minibatches_for(plain, 39000) == 78000


def test_parameter_counts():
  # Computed by hand from the two files in tests/test_networks_cdcgan.py.
  twin = cdcgan_mnist.build_trainer(cdcgan_mnist.CDCGANMnistConfig(), 'eager')
  assert layers.count_parameters(twin.generator) == 2_203_393
  assert layers.count_parameters(twin.discriminator) == 867_841
  newmu = cdcgan_mnist.build_trainer(cdcgan_mnist.make_config(preset='newmu'),
                                     'eager')
  assert layers.count_parameters(newmu.generator) == 6_820_538
  assert layers.count_parameters(newmu.discriminator) == 6_688_202


def _rate(optimizer, step):
  optimizer.step.assign(step)
  return float(optimizer.learning_rate())


def test_znxlwm_learning_rates_follow_the_shared_global_step():
  trainer = cdcgan_mnist.build_trainer(cdcgan_mnist.CDCGANMnistConfig(),
                                       'eager')
  d_opt, g_opt = trainer.discriminator_optimizer, trainer.generator_optimizer
  assert isinstance(d_opt, optimizers.Adam) and isinstance(g_opt, optimizers.Adam)
  assert d_opt._epsilon_placement == g_opt._epsilon_placement == 'tf1'
  base = float(np.float32(2e-4))
  # D update n: 2e-4 * 0.95^floor(n / 500); G update n runs after D's n-th
  # has incremented global_step: 0.95^floor((n + 1) / 500).
  assert _rate(d_opt, 499) == pytest.approx(base, rel=1e-6)
  assert _rate(d_opt, 500) == pytest.approx(base * 0.95, rel=1e-6)
  assert _rate(g_opt, 498) == pytest.approx(base, rel=1e-6)
  assert _rate(g_opt, 499) == pytest.approx(base * 0.95, rel=1e-6)
  assert _rate(d_opt, 16499) == pytest.approx(base * 0.95 ** 32, rel=1e-5)


def test_newmu_learning_rate_and_weight_decay():
  trainer = cdcgan_mnist.build_trainer(cdcgan_mnist.make_config(preset='newmu'),
                                       'eager')
  for optimizer in (trainer.discriminator_optimizer,
                    trainer.generator_optimizer):
    assert optimizer._weight_decay == 2.5e-5
    assert optimizer._epsilon_placement == 'algorithm1'
    base = float(np.float32(2e-4))
    # 195 updates of each player per epoch; epochs 0..100 at the full rate.
    assert _rate(optimizer, 195 * 101 - 1) == pytest.approx(base, rel=1e-6)
    assert _rate(optimizer, 195 * 101) == pytest.approx(0.99 * base, rel=1e-6)
    assert _rate(optimizer, 195 * 199) == pytest.approx(0.01 * base, rel=1e-4)
  # The 39,001st G update of a generator-first run: epoch 200, rate 0.
  assert _rate(trainer.generator_optimizer, 39000) == 0.0


@pytest.mark.parametrize('generator_first', [True, False])
def test_newmu_rate_of_every_update_is_the_files(generator_first):
  # train_cond_dcgan.py: update n (either player) trains on minibatch n of
  # the run, in epoch n // 390 (here 390 batches per epoch), at lr * (1 -
  # max(0, epoch - 100) / 100). Each player's schedule here counts its own
  # updates; check all 78,001 updates of a 39,001-iteration run (78,000 of
  # 39,000 iterations with the plain order, D taking the even minibatches).
  config = cdcgan_mnist.make_config(preset='newmu',
                                    generator_first=generator_first)
  iterations = cdcgan_mnist.steps_for(config)
  total = cdcgan_mnist.minibatches_for(config, iterations)
  n = np.arange(total)
  first, second = (('generator', 'critic') if generator_first
                   else ('critic', 'generator'))
  for player, parity in ((first, 0), (second, 1)):
    positions = n[n % 2 == parity]  # this player's updates, in order
    schedule = cdcgan_mnist.learning_rate_schedule(config, player)
    ours = schedule(tf.constant(1.0, tf.float64),
                    tf.constant(np.arange(len(positions)))).numpy()
    epoch = positions // 390
    files = np.maximum(1.0 - np.maximum(epoch - 100, 0) / 100.0, 0.0)
    # EpochLinearDecay returns its float64 rate cast to float32: at most
    # 6e-8 relative from the float64 formula here (rtol 1e-6 leaves margin);
    # atol covers the zeros of the last epoch.
    np.testing.assert_allclose(ours, files, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize('compile_mode', ['eager', 'xla'])
def test_generator_labels_cover_all_ten_classes(compile_mode):
  # The G step's labels are uniform over 0..9; the twin's randint(0, 9)
  # never drew a 9. 10,000 draws: each class expects 1,000 (binomial s.d.
  # 30), so [850, 1150] is a 5-sigma band, and class 9 must appear.
  trainer = cdcgan_mnist.build_trainer(cdcgan_mnist.CDCGANMnistConfig(),
                                       compile_mode)
  draw = lambda seed: trainer._generator_inputs(seed, 10000)[1]
  if compile_mode == 'xla':
    draw = tf.function(draw, jit_compile=True)
  labels = draw(train.fold(tf.constant([0, 0], tf.int32), 12)).numpy()
  counts = np.bincount(labels, minlength=10)
  assert len(counts) == 10 and counts[9] > 0
  assert np.all((counts >= 850) & (counts <= 1150)), counts


class _RecordingGenerator(tf.Module):
  """Delegates to a generator and records the labels of each call."""

  def __init__(self, generator):
    super().__init__(name='recording')
    self.inner = generator
    self.latent_dim = generator.latent_dim
    self.num_classes = generator.num_classes
    self.output_shape = generator.output_shape
    self.calls = []

  def __call__(self, z, labels=None, training=True):
    self.calls.append(np.asarray(labels))
    return self.inner(z, labels=labels, training=training)


@pytest.mark.parametrize('source', ['real_batch', 'uniform'])
def test_d_step_fakes_use_the_real_batch_labels(source):
  config = dataclasses.replace(cdcgan_mnist.CDCGANMnistConfig(),
                               fake_labels_in_d_step=source)
  trainer = cdcgan_mnist.build_trainer(config, 'eager')
  recorder = _RecordingGenerator(trainer.generator)
  trainer.generator = recorder
  real_labels = tf.constant(np.arange(64) % 10, tf.int32)
  real = tf.zeros([64, 28, 28, 1])
  trainer.train_iteration([real], [real_labels])
  d_step_labels, g_step_labels = recorder.calls
  if source == 'real_batch':
    np.testing.assert_array_equal(d_step_labels, real_labels.numpy())
  else:  # 64 uniform draws matching 0, 1, ..., 9, 0, ... by chance: ~1e-64
    assert not np.array_equal(d_step_labels, real_labels.numpy())
  assert not np.array_equal(g_step_labels, real_labels.numpy())


def test_picture_of_record_is_one_row_per_digit():
  trainer = cdcgan_mnist.build_trainer(cdcgan_mnist.CDCGANMnistConfig(),
                                       'eager')
  grid = runner._SampleGrid(trainer, rows=8, value_range=(-1.0, 1.0))
  labels = grid.labels.numpy().reshape(10, 10)
  z = grid.z.numpy().reshape(10, 10, -1)
  np.testing.assert_array_equal(labels, np.repeat(np.arange(10)[:, None], 10,
                                                  axis=1))
  for row in range(1, 10):  # the same ten noise vectors in every row
    np.testing.assert_array_equal(z[row], z[0])


def _update_sequence(update_sequence, config, iterations):
  """The players' updates in order ('G' or 'D') and the real batches each
  generator iteration consumed, from an eager trainer fed blank batches."""
  images = tf.zeros([config.batch_size, 28, 28, 1])
  labels = tf.constant(np.arange(config.batch_size) % 10, tf.int32)
  return update_sequence(cdcgan_mnist.build_trainer(config, 'eager'),
                         lambda k: ([images] * k, [labels] * k), iterations)


def test_newmu_update_order_is_train_cond_dcgans(update_sequence):
  # train_cond_dcgan.py: n_updates % (k + 1) == 0 -> _train_g, else
  # _train_d, k = 1, from n_updates = 0: G, D, G, D, ...
  config = cdcgan_mnist.make_config(preset='newmu', batch_size=8)
  trainer = cdcgan_mnist.build_trainer(config, 'eager')
  assert [trainer.batches_needed(i) for i in (0, 1, 1000)] == [0, 1, 1]
  assert trainer.batch_size == 8  # the lone G update's batch: nbatch
  updates, consumed = _update_sequence(update_sequence, config, 4)
  assert updates == ['G', 'D', 'G', 'D', 'G', 'D', 'G']
  assert updates == ['G' if n % 2 == 0 else 'D' for n in range(len(updates))]
  assert consumed == [0, 1, 1, 1]  # the lone G update takes no real batch
  # --nogenerator_first: the engine's plain order.
  plain = dataclasses.replace(config, generator_first=False)
  assert _update_sequence(update_sequence, plain, 3) == (['D', 'G'] * 3,
                                                     [1, 1, 1])


def test_znxlwm_update_order_stays_d_then_g(update_sequence):
  # tensorflow_MNIST_cDCGAN.py: D_optim then G_optim on every batch.
  config = dataclasses.replace(cdcgan_mnist.CDCGANMnistConfig(), batch_size=8)
  assert _update_sequence(update_sequence, config, 3) == (['D', 'G'] * 3,
                                                      [1, 1, 1])


@pytest.mark.parametrize('field,value,message', [
    ('preset', 'carpedm20', '--preset must be one of znxlwm, newmu'),
    ('generator_first', True, "--generator_first is train_cond_dcgan.py's"),
    ('dataset', '8gaussians', '--dataset must be one of mnist, fashion_mnist'),
    ('latent_distribution', 'cauchy', '--latent_distribution must be one of'),
    ('lr_schedule', 'cosine', '--lr_schedule must be one of'),
    ('fake_labels_in_d_step', 'none', '--fake_labels_in_d_step must be one of'),
    ('batch_size', 0, '--batch_size must be > 0'),
    ('beta1', 1.0, '--beta1 must be in [0, 1)'),
    ('lr_decay_rate', 0.0, '--lr_decay_rate must be in (0, 1]'),
    ('split', 'valid', "split 'valid' is not valid"),
    ('batch_size', 70000, 'exceeds the'),
])
def test_validation(field, value, message):
  config = dataclasses.replace(cdcgan_mnist.CDCGANMnistConfig(),
                               **{field: value})
  with pytest.raises(ConfigError, match=message.replace('(', r'\(')
                     .replace(')', r'\)').replace('[', r'\[')
                     .replace(']', r'\]')):
    config.validate()


def _expected():
  with open(cdcgan_mnist.EXPECTED_PATH) as f:
    return json.load(f)


def test_expected_file_has_the_project_targets():
  full = _expected()['full_run']['thresholds']
  assert full['class_accuracy'] == {**full['class_accuracy'], 'op': '>=',
                                    'value': 0.97}
  assert full['class_accuracy_min_per_class']['value'] == 0.90
  assert _expected()['short_cpu_run']['thresholds']
  assert 'command' in _expected()['short_cpu_run']


def test_class_accuracy_metric_on_real_digits():
  # The check's metric, fed real test digits: with their true labels it is
  # the evaluator's accuracy (0.9925 on all 10,000); with labels shifted by
  # one class it is near 0.
  images, labels = data.load_images('mnist', 'test[:1000]')
  images = images.astype(np.float32) / 127.5 - 1.0  # the twin's range
  config = cdcgan_mnist.CDCGANMnistConfig()
  right = cdcgan_mnist.measure(images, labels, config)
  assert right['class_accuracy'] >= 0.98
  assert right['class_accuracy_min_per_class'] >= 0.9
  wrong = cdcgan_mnist.measure(images, (labels + 1) % 10, config)
  assert wrong['class_accuracy'] <= 0.05


def test_check_rejects_an_untrained_generator():
  config = cdcgan_mnist.CDCGANMnistConfig()
  trainer = cdcgan_mnist.build_trainer(config, 'eager')
  images, labels = cdcgan_mnist.generate(trainer, config.seed, -3, 1000)
  metrics = cdcgan_mnist.measure(images, labels, config)
  for full_length in (False, True):
    results = cdcgan_mnist.check(metrics, _expected(), full_length)
    assert not all(r['passed'] for r in results.values())
    assert not results['class_accuracy']['passed']
    assert not results['class_accuracy_min_per_class']['passed']
