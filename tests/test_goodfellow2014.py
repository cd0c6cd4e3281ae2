"""The Goodfellow et al. 2014 reproduction's paper-specific parts (MNIST)."""

import dataclasses
import json
import math
import os

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import layers
from paper_gans import losses
from paper_gans import optimizers
from paper_gans import train
from paper_gans.errors import ConfigError
from paper_gans.papers import goodfellow2014 as gf

SMALL = dict(generator_units=32, discriminator_units=8)


def test_defaults_are_mnist_yaml():
  config = gf.Goodfellow2014Config()
  # goodfeli/adversarial mnist.yaml (and AdversaryCost2's arguments there).
  assert (config.batch_size, config.latent_dim) == (100, 100)
  assert config.generator_units == 1200
  assert (config.discriminator_units, config.discriminator_pieces) == (240, 5)
  assert (config.input_keep_prob, config.input_scale) == (0.8, 1.25)
  assert (config.hidden_keep_prob, config.hidden_scale) == (0.5, 2.0)
  assert config.noise == 'uniform'
  assert (config.learning_rate, config.learning_rate_decay,
          config.min_learning_rate) == (0.1, 1.000004, 1e-6)
  assert (config.initial_momentum, config.final_momentum,
          config.momentum_start, config.momentum_saturate) == (0.5, 0.7, 1, 250)
  assert config.update_order == 'simultaneous'
  assert config.discriminator_steps == 1
  assert config.eval_samples == 10000  # parzen_ll.py --num_samples
  assert gf.TRAIN_SPLIT == 'train[:50000]'


def test_paper_size_parameter_counts():
  # mnist.yaml in pylearn2: one W [in, out] and b [out] per layer; a maxout
  # layer has out = num_units * num_pieces (one bias per piece).
  g = (100 * 1200 + 1200) + (1200 * 1200 + 1200) + (1200 * 784 + 784)
  d = (784 * 1200 + 1200) + (240 * 1200 + 1200) + (240 * 1 + 1)
  assert (g, d) == (2_503_984, 1_231_441)
  trainer = gf.build_trainer(gf.Goodfellow2014Config(), 'eager')
  assert layers.count_parameters(trainer.generator) == g
  assert layers.count_parameters(trainer.discriminator) == d
  # The optimizers hold one velocity per parameter (and a step counter).
  velocities = lambda opt: sum(int(np.prod(v.shape))
                               for v in opt.variables if v.shape.rank)
  assert velocities(trainer.generator_optimizer) == g
  assert velocities(trainer.discriminator_optimizer) == d


def test_trainer_is_wired_as_mnist_yaml():
  config = dataclasses.replace(gf.Goodfellow2014Config(), **SMALL)
  trainer = gf.build_trainer(config, 'eager')
  assert trainer.update_order == 'simultaneous'
  assert trainer.batches_needed(0) == 1
  assert trainer.clip_value is None
  assert trainer.gradient_penalty_weight == 0.0
  for opt in (trainer.generator_optimizer, trainer.discriminator_optimizer):
    assert isinstance(opt, optimizers.SGD)
  d = trainer.discriminator
  assert (d.input_keep_prob, d.input_scale, d.hidden_keep_prob,
          d.hidden_scale) == (0.8, 1.25, 0.5, 2.0)
  assert d.max_col_norms == (None, None, None)  # mnist.yaml sets none.
  # Output bias: logit of the marginals of the first 50,000 images.
  np.testing.assert_array_equal(trainer.generator.y.b.numpy(),
                                gf.training_marginals_bias())


def test_noise_is_unit_variance_uniform_or_gaussian():
  config = dataclasses.replace(gf.Goodfellow2014Config(), **SMALL)
  z = gf.build_trainer(config, 'eager').sample_latent(
      tf.constant([1, 2]), 2000).numpy()
  assert np.abs(z).max() <= math.sqrt(3.0)
  assert z.var() == pytest.approx(1.0, abs=0.02)
  gaussian = dataclasses.replace(config, noise='gaussian')
  assert gf.latent_distribution(gaussian) == 'normal'
  z = gf.build_trainer(gaussian, 'eager').sample_latent(
      tf.constant([1, 2]), 2000).numpy()
  assert np.abs(z).max() > math.sqrt(3.0)


def test_discriminator_loss_is_half_the_minimax_cross_entropy():
  real = tf.constant([0.0, 2.0])
  fake = tf.constant([-1.0, 3.0])
  # 0.5 * (mean -log sigmoid(real) + mean -log(1 - sigmoid(fake))).
  by_hand = 0.5 * (
      np.mean([math.log(2.0), math.log(1 + math.exp(-2.0))])
      + np.mean([math.log(1 + math.exp(-1.0)), math.log(1 + math.exp(3.0))]))
  assert float(gf.adversary_cost2_discriminator_loss(real, fake)) == (
      pytest.approx(by_hand, rel=1e-6))
  assert float(gf.adversary_cost2_discriminator_loss(real, fake)) == (
      pytest.approx(0.5 * float(losses.minimax_discriminator_loss(real, fake))))


def test_simultaneous_step_is_adversary_cost2_with_one_sgd_step():
  # One step by hand: both losses from ONE forward pass (G's loss on the same
  # dropped-out D(G(z)) as D's), gradients at the same parameters, then
  # SGD with zero initial velocity: param -= 0.1 * gradient for both players.
  config = dataclasses.replace(gf.Goodfellow2014Config(), **SMALL)
  trainer = gf.build_trainer(config, 'eager')
  g, d = trainer.generator, trainer.discriminator
  g_before = [v.numpy() for v in g.trainable_variables]
  d_before = [v.numpy() for v in d.trainable_variables]
  real = tf.constant(np.random.default_rng(0).uniform(
      0, 1, [config.batch_size, 28, 28, 1]), tf.float32)
  # The engine's seed derivation for iteration 0 (paper_gans/train.py).
  seed = train.fold(train.fold(tf.constant([config.seed, 0], tf.int32), 0),
                    train._SIMULTANEOUS)  # pylint: disable=protected-access
  z = trainer.sample_latent(train.fold(seed, train._NOISE), config.batch_size)  # pylint: disable=protected-access
  with tf.GradientTape(persistent=True) as tape:
    fake = g(z)
    real_out = d(real, seed=train.fold(seed, train._DROPOUT_REAL))  # pylint: disable=protected-access
    fake_out = d(fake, seed=train.fold(seed, train._DROPOUT_FAKE))  # pylint: disable=protected-access
    d_loss = 0.5 * (tf.reduce_mean(tf.nn.softplus(-real_out))
                    + tf.reduce_mean(tf.nn.softplus(fake_out)))
    g_loss = tf.reduce_mean(tf.nn.softplus(-fake_out))
  d_grads = tape.gradient(d_loss, d.trainable_variables)
  g_grads = tape.gradient(g_loss, g.trainable_variables)
  result = trainer.train_iteration([real], [tf.zeros([config.batch_size],
                                                     tf.int32)])
  assert float(result['discriminator_loss'][0]) == pytest.approx(
      float(d_loss), rel=1e-6)
  assert float(result['generator_loss']) == pytest.approx(float(g_loss),
                                                           rel=1e-6)
  # The engine's fused float32 update vs `before - 0.1 * grad` computed
  # separately: rounding only, a few ulps.
  for before, grad, var in zip(d_before, d_grads, d.trainable_variables):
    np.testing.assert_allclose(var.numpy(), before - 0.1 * grad.numpy(),
                               rtol=1e-5, atol=1e-8)
  for before, grad, var in zip(g_before, g_grads, g.trainable_variables):
    np.testing.assert_allclose(var.numpy(), before - 0.1 * grad.numpy(),
                               rtol=1e-5, atol=1e-8)


def test_learning_rate_and_momentum_schedules():
  config = dataclasses.replace(gf.Goodfellow2014Config(), **SMALL)
  trainer = gf.build_trainer(config, 'eager')
  for opt in (trainer.generator_optimizer, trainer.discriminator_optimizer):
    # ExponentialDecay: update n uses 0.1 / 1.000004**n, floor 1e-6.
    for n in (0, 1, 500, 125_000):
      opt.step.assign(n)
      assert float(opt.learning_rate()) == pytest.approx(
          0.1 / 1.000004 ** n, rel=1e-6)
    opt.step.assign(3_000_000)  # past 2,878,238 updates: the floor.
    assert float(opt.learning_rate()) == pytest.approx(1e-6)
    # MomentumAdjustor(0.7, start 1, saturate 250), 500 updates per epoch:
    # epoch e (0-based) trains with count e + 1.
    for update, momentum in ((0, 0.5), (499, 0.5), (500, 0.5 + 0.2 / 249),
                             (500 * 125, 0.5 + 0.2 * 125 / 249),
                             (500 * 249 - 1, 0.5 + 0.2 * 248 / 249),
                             (500 * 249, 0.7), (500 * 400, 0.7)):
      opt.step.assign(update)
      assert float(opt.momentum()) == pytest.approx(momentum, rel=1e-6)


def test_run_length():
  config = gf.Goodfellow2014Config()
  assert gf.batches_per_epoch(config) == 500  # 50,000 / 100
  assert gf.steps_for(config) == 125_000  # 250 epochs
  assert gf.steps_for(config, epochs=1) == 500
  alternating = dataclasses.replace(config, update_order='alternating',
                                    discriminator_steps=2)
  # Each generator iteration consumes k = 2 real batches.
  assert gf.steps_for(alternating, epochs=1) == 250


def test_algorithm_1_option():
  config = dataclasses.replace(gf.Goodfellow2014Config(),
                               update_order='alternating',
                               discriminator_steps=3, **SMALL)
  config.validate()
  trainer = gf.build_trainer(config, 'eager')
  assert trainer.update_order == 'alternating'
  assert [trainer.batches_needed(i) for i in (0, 1, 1000)] == [3, 3, 3]
  assert trainer.generator_optimizer._steps_per_epoch == 166  # pylint: disable=protected-access
  assert trainer.discriminator_optimizer._steps_per_epoch == 500  # pylint: disable=protected-access


@pytest.mark.parametrize('field,value,message', [
    ('noise', 'spherical', '--noise must be one of uniform, gaussian'),
    ('update_order', 'random', '--update_order must be one of'),
    ('discriminator_steps', 2, '--discriminator_steps needs --update_order'),
    ('input_keep_prob', 0.0, '--input_keep_prob must be in (0, 1]'),
    ('final_momentum', 1.0, '--final_momentum must be in [0, 1)'),
    ('momentum_saturate', 0, '--momentum_saturate must be > 0'),
    ('learning_rate_decay', 0.99, '--learning_rate_decay must be >= 1'),
    ('epochs', 0.0, '--epochs must be > 0'),
    ('batch_size', 60000, 'exceeds the 50,000 training images'),
])
def test_validation(field, value, message):
  config = dataclasses.replace(gf.Goodfellow2014Config(), **{field: value})
  with pytest.raises(ConfigError, match=message.replace('(', r'\(')
                     .replace(')', r'\)').replace('[', r'\[')
                     .replace(']', r'\]')):
    config.validate()


def test_summarise_reports_the_last_checkpoint():
  config = gf.Goodfellow2014Config()
  rows = [{'iteration': 500, 'parzen_log_likelihood': 100.0,
           'parzen_std_error': 2.0, 'parzen_sigma': 0.2,
           'parzen_samples': 10000},
          {'iteration': 1000, 'parzen_log_likelihood': 150.0,
           'parzen_std_error': 2.1, 'parzen_sigma': 0.17,
           'parzen_samples': 10000},
          {'iteration': 1500, 'parzen_log_likelihood': 140.0,
           'parzen_std_error': 2.2, 'parzen_sigma': 0.17,
           'parzen_samples': 10000}]
  history = [{'iteration': i} for i in range(1500)]
  metrics = gf.summarise(history, rows, config)
  assert metrics['parzen_log_likelihood'] == 140.0
  assert metrics['parzen_std_error'] == 2.2
  assert metrics['parzen_iteration'] == 1500
  assert metrics['parzen_log_likelihood_best'] == 150.0
  assert metrics['epochs'] == 3.0
  assert metrics['paper_table_1']['Adversarial nets'] == {'mean': 225.0,
                                                          'std_error': 2.0}


def _expected():
  with open(gf.EXPECTED_PATH) as f:
    return json.load(f)


def test_expected_file_names_the_paper_and_both_thresholds():
  expected = _expected()
  assert 'Table 1' in expected['paper']['source']
  assert '225' in expected['paper']['claim']
  for kind in ('full_run', 'short_cpu_run'):
    assert expected[kind]['thresholds']['parzen_log_likelihood']['op'] == '>='
    assert 'command' in expected[kind]


def test_check_rejects_an_untrained_generator():
  # The untrained generator of the paper's config (its output bias already
  # at the data marginals), measured as a run is, but with 1,000 Parzen
  # centres instead of 10,000 to keep the test fast: its samples are nearly
  # all the mean image, so the count barely matters.
  config = gf.Goodfellow2014Config()
  trainer = gf.build_trainer(config, 'eager')
  result, = gf.parzen_of_generator(trainer, config, num_samples=1000)
  rows = [{'iteration': 0, 'parzen_log_likelihood': result['mean'],
           'parzen_std_error': result['std_error'],
           'parzen_sigma': result['sigma'], 'parzen_samples': 1000}]
  metrics = gf.summarise([], rows, config)
  for full_length in (False, True):
    results = gf.check(metrics, _expected(), full_length)
    assert not results['parzen_log_likelihood']['passed']
  # The README's quick start (10 epochs) has a file of its own, whose
  # threshold an untrained generator fails too.
  results = gf.check(metrics, _quick_start_expected(), full_length=False)
  assert not results['parzen_log_likelihood']['passed']
  assert result['mean'] < -40.0  # the threshold is -30


def test_fine_sigma_grid_is_a_second_estimate_from_the_same_samples():
  # logspace(-1, 0, 100) holds parzen_ll.py's 10 points (exponent -1 + k/9
  # = -1 + 11k/99), so its best validation likelihood is at least theirs;
  # the 10-point entry is the paper's estimate, whatever else is asked.
  config = gf.Goodfellow2014Config(generator_units=32)
  trainer = gf.build_trainer(config, 'eager')
  coarse, fine = gf.parzen_of_generator(trainer, config, num_samples=500,
                                        sigma_grids=(10, 100))
  alone, = gf.parzen_of_generator(trainer, config, num_samples=500)
  assert coarse == alone
  assert len(coarse['validation_ll_per_sigma']) == 10
  assert len(fine['validation_ll_per_sigma']) == 100
  assert (max(fine['validation_ll_per_sigma'].values())
          >= max(coarse['validation_ll_per_sigma'].values()) - 1e-9)
  assert fine['sigma'] in fine['validation_ll_per_sigma']


QUICK_START_PATH = os.path.join(os.path.dirname(gf.EXPECTED_PATH),
                                'goodfellow2014_quick_start.json')


def _quick_start_expected():
  with open(QUICK_START_PATH) as f:
    return json.load(f)


def test_quick_start_file_is_a_short_run_of_the_papers_config():
  # Its command shortens the run and changes nothing else; it is checked
  # with the short-run section, the only one the file holds.
  expected = _quick_start_expected()
  assert set(expected) == {'paper', 'short_cpu_run'}
  command = expected['short_cpu_run']['command'].split()
  assert command[:2] == ['python', 'reproductions/goodfellow2014.py']
  flags_given = dict(a[2:].split('=', 1) for a in command[2:])
  assert set(flags_given) == {'steps', 'checkpoint_every', 'sample_every',
                              'expected'}
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  assert flags_given['expected'] == os.path.relpath(QUICK_START_PATH, root)
  assert int(flags_given['steps']) < gf.steps_for(gf.Goodfellow2014Config())
  rule = expected['short_cpu_run']['thresholds']['parzen_log_likelihood']
  assert (rule['op'], rule['value']) == ('>=', -30.0)


def _ci_reference():
  import os  # pylint: disable=g-import-not-at-top
  path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'references', 'goodfellow2014_ci.json')
  with open(path, encoding='utf-8') as f:
    return json.load(f)


@pytest.mark.parametrize('change,first_update', [
    # Algorithm 1 draws the discriminator's dropout masks from other seeds:
    # its mean logit on the real batch moves at the first update.
    (dict(update_order='alternating'), 0),
    # Half the learning rate: the second discriminator update sees weights
    # moved half as far.
    (dict(learning_rate=0.05), 2),
])
def test_reference_trajectory_catches_a_changed_algorithm(change,
                                                          first_update):
  # The committed ci trajectory must tell these apart at the tolerances of
  # tests/test_references.py (rtol 1e-4, atol 1e-6). (A change of noise,
  # uniform vs Gaussian, is NOT visible in the first 200 updates: the
  # generator's output starts at its marginal bias and barely depends on z.)
  from paper_gans import reference  # pylint: disable=g-import-not-at-top
  ref = _ci_reference()
  changed = dataclasses.replace(gf.Goodfellow2014Config(**ref['config']),
                                **change)
  actual = reference.record(gf, changed, first_update + 1, ref['compile_mode'])
  recorded = reference.recording_for(ref)['trajectory']
  divergence = reference.first_divergence(recorded[:first_update + 1], actual,
                                          1e-4, 1e-6)
  assert divergence is not None
  assert divergence[0] == first_update


def test_collapse_needs_two_epochs_of_a_winning_discriminator():
  window, low = gf.COLLAPSE_WINDOW, gf.COLLAPSE_DISCRIMINATOR_LOSS
  healthy = np.full(5000, 0.5)
  # An early dip below the threshold for fewer than `window` updates, as
  # seed 0's first epochs have (D loss 0.003 around update 550), is not a
  # collapse.
  dipped = healthy.copy()
  dipped[500:500 + window - 1] = 0.003
  assert gf.first_collapse(dipped) is None
  assert not any(gf.collapsed_at(dipped, t) for t in range(0, 5001, 100))
  # A discriminator that wins from update 3,000 on: collapsed once `window`
  # updates in a row were below the threshold, and at every later point.
  won = healthy.copy()
  won[3000:] = 2e-4
  assert gf.first_collapse(won) == 3000 + window
  assert not gf.collapsed_at(won, 3000 + window - 1)
  assert gf.collapsed_at(won, 3000 + window)
  assert gf.collapsed_at(won, 5000)
  # The threshold is strict, and one update above it restarts the count.
  at_threshold = np.full(2 * window, low)
  assert gf.first_collapse(at_threshold) is None
  interrupted = np.full(2 * window, low / 10)
  interrupted[window - 1] = 0.5
  assert gf.first_collapse(interrupted) == 2 * window
  # A history.jsonl's rows, as the runner writes them.
  rows = [{'iteration': t, 'discriminator_loss': [float(v)]}
          for t, v in enumerate(won)]
  np.testing.assert_array_equal(gf.discriminator_losses(rows), won)
