"""The training engine: update orders, schedules, clipping, parity, recovery.

Small toy networks (gan_toy.py's MLPs at width 16) keep every test fast; the
engine code under test is the same that every reproduction runs.
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import data
from paper_gans import losses
from paper_gans import optimizers
from paper_gans import runner
from paper_gans import train
from paper_gans.errors import ConfigError
from paper_gans.networks import wgan_gp

WIDTH = 16
BATCH = 32


def deterministic_latent(seed, batch_size):
  """Pseudo-random noise from integer hashing: identical under XLA and not.

  Stateless random ops (and even float `sin`) give different numbers under
  XLA than outside it (tensorflow#121243), so the XLA-parity test draws its
  noise from exact integer arithmetic.
  """
  seed = tf.cast(seed, tf.int64)
  index = tf.range(batch_size * 2, dtype=tf.int64)
  bits = train._mix32(tf.bitwise.bitwise_and(  # pylint: disable=protected-access
      index * 0x9E3779B1 + seed[0] * 0x85EBCA77 + seed[1], 0xFFFFFFFF))
  unit = tf.cast(bits, tf.float32) / float(2**32)  # [0, 1)
  return tf.reshape(unit * 2.0 - 1.0, [batch_size, 2])


def make_trainer(compile_mode='xla', seed=0, update_order='alternating',
                 schedule=train.constant_schedule(3), clip_value=None,
                 clip_timing='before_critic_step', gradient_penalty_weight=0.0,
                 latent='normal', learning_rate=1e-3, d_loss=None,
                 optimizer='rmsprop', **engine_options):
  generator = wgan_gp.ToyGenerator(hidden_units=WIDTH, seed=seed)
  critic = wgan_gp.ToyCritic(hidden_units=WIDTH, seed=seed + 1)
  if optimizer == 'rmsprop':
    make_optimizer = lambda v: optimizers.RMSprop(v, learning_rate=learning_rate)
  else:
    make_optimizer = lambda v: optimizers.SGD(v, learning_rate=learning_rate,
                                              momentum=0.5)
  return train.GANTrainer(
      generator=generator, discriminator=critic,
      generator_optimizer=make_optimizer(generator.trainable_variables),
      discriminator_optimizer=make_optimizer(critic.trainable_variables),
      discriminator_loss=d_loss or losses.wasserstein_critic_loss,
      generator_loss=losses.wasserstein_generator_loss,
      latent_distribution=latent, update_order=update_order,
      critic_steps_schedule=schedule, clip_value=clip_value,
      clip_timing=clip_timing,
      gradient_penalty_weight=gradient_penalty_weight,
      compile_mode=compile_mode, seed=seed, **engine_options)


def toy_batches(k, seed=0):
  real = tf.stack([data.sample_toy('8gaussians', BATCH, [seed, i])
                   for i in range(k)])  # [k, B, 2]
  return real, tf.zeros([k, BATCH], tf.int32)


def make_toy_dataset(start_batch):
  return data.make_dataset('8gaussians', BATCH, seed=0, start_batch=start_batch)


def run_toy(workdir, steps, trainer=None, toy_reference=None, **options):
  """Trains `trainer` (by default a fresh XLA one) through the runner."""
  trainer = trainer or make_trainer()
  options = dict(dict(log_every=5, sample_every=1000, checkpoint_every=5,
                      verbose=False), **options)
  opts = runner.RunOptions(workdir=str(workdir), steps=steps, **options)
  runner.run_training(trainer, make_toy_dataset, opts, {'test': 1},
                      name='test', value_range=(-2, 2),
                      toy_reference=toy_reference)
  with open(os.path.join(str(workdir), runner.HISTORY_FILE)) as f:
    return [json.loads(line) for line in f]


# ---- schedules -------------------------------------------------------------

def test_wgan_schedule_matches_main_py():
  schedule = train.wgan_critic_schedule()
  # main.py: Diters = 100 if gen_iterations < 25 or gen_iterations % 500 == 0.
  expected = {0: 100, 1: 100, 24: 100, 25: 5, 26: 5, 499: 5, 500: 100,
              501: 5, 1000: 100, 1001: 5}
  assert {i: schedule(i) for i in expected} == expected


def test_trainer_consumes_one_batch_per_critic_step():
  trainer = make_trainer(compile_mode='eager',
                         schedule=lambda i: 2 if i == 0 else 4)
  for _ in range(3):
    k = trainer.batches_needed()
    trainer.train_iteration(*toy_batches(k))
  assert int(trainer.batches_consumed.numpy()) == 2 + 4 + 4
  assert int(trainer.iteration.numpy()) == 3


def test_each_critic_step_gets_its_own_real_batch():
  # Poison only batch j: only critic step j's loss may become NaN. This shows
  # step i reads real batch i, and that no batch is reused. Graph mode: which
  # batch a step reads is decided before compilation, the same under XLA
  # (test_unrolled_iteration_gives_the_numbers_of_one_call_per_step compares
  # the XLA paths).
  trainer = make_trainer(compile_mode='graph')
  real, labels = toy_batches(3)
  poisoned = tf.tensor_scatter_nd_update(
      real, [[1]], tf.fill([1, BATCH, 2], np.nan))
  result = trainer.train_iteration(poisoned, labels)
  finite = np.isfinite(result['discriminator_loss'].numpy())
  assert finite[0] and not finite[1]


# ---- players' variables ------------------------------------------------------

def test_critic_steps_leave_generator_alone_and_vice_versa():
  trainer = make_trainer(compile_mode='graph',
                         schedule=train.constant_schedule(2))
  g_before = [v.numpy().copy() for v in trainer.generator.trainable_variables]
  d_before = [v.numpy().copy() for v in trainer.discriminator.trainable_variables]
  trainer.train_iteration(*toy_batches(2))
  # The generator moved once (one G step), the critic twice (two critic
  # steps): the optimizers' step counters say who was updated how often.
  assert int(trainer.generator_optimizer.step.numpy()) == 1
  assert int(trainer.discriminator_optimizer.step.numpy()) == 2
  assert any(np.any(a != v.numpy()) for a, v in
             zip(g_before, trainer.generator.trainable_variables))
  assert any(np.any(a != v.numpy()) for a, v in
             zip(d_before, trainer.discriminator.trainable_variables))


def test_simultaneous_update_takes_both_gradients_at_the_same_point():
  # Goodfellow et al.'s code: one forward pass, both players' gradients from
  # it, both applied. Recompute by hand with plain SGD in eager mode.
  seed = 3
  trainer = train.GANTrainer(
      generator=wgan_gp.ToyGenerator(hidden_units=WIDTH, seed=seed),
      discriminator=wgan_gp.ToyCritic(hidden_units=WIDTH, seed=seed + 1),
      generator_optimizer=None, discriminator_optimizer=None,
      discriminator_loss=losses.minimax_discriminator_loss,
      generator_loss=losses.non_saturating_generator_loss,
      latent_distribution=deterministic_latent, update_order='simultaneous',
      compile_mode='eager', seed=seed)
  lr = 0.1
  trainer.generator_optimizer = optimizers.SGD(
      trainer.generator.trainable_variables, learning_rate=lr, momentum=0.0)
  trainer.discriminator_optimizer = optimizers.SGD(
      trainer.discriminator.trainable_variables, learning_rate=lr,
      momentum=0.0)
  real, labels = toy_batches(1)
  g_vars = trainer.generator.trainable_variables
  d_vars = trainer.discriminator.trainable_variables
  # Expected: gradients of both losses at the initial parameters.
  step_seed = train.fold(train.fold(tf.constant([seed, 0]), 0),
                         train._SIMULTANEOUS)  # pylint: disable=protected-access
  z = deterministic_latent(train.fold(step_seed, train._NOISE), BATCH)  # pylint: disable=protected-access
  with tf.GradientTape(persistent=True) as tape:
    fake = trainer.generator(z)
    d_loss = losses.minimax_discriminator_loss(trainer.discriminator(real[0]),
                                               trainer.discriminator(fake))
    g_loss = losses.non_saturating_generator_loss(trainer.discriminator(fake))
  expected_g = [v - lr * g for v, g in zip(g_vars, tape.gradient(g_loss, g_vars))]
  expected_d = [v - lr * g for v, g in zip(d_vars, tape.gradient(d_loss, d_vars))]
  result = trainer.train_iteration(real, labels)
  # Same float32 ops in the same order: agreement to rounding.
  np.testing.assert_allclose(result['discriminator_loss'].numpy()[0],
                             d_loss.numpy(), rtol=1e-6)
  for want, var in zip(expected_g + expected_d, g_vars + d_vars):
    np.testing.assert_allclose(var.numpy(), want.numpy(), rtol=1e-5, atol=1e-7)


# ---- clipping -----------------------------------------------------------------

def _max_abs(module):
  return max(float(np.max(np.abs(v.numpy()))) for v in module.trainable_variables)


def test_clip_before_each_critic_step_lets_last_update_through():
  # With a large learning rate, the last critic update leaves weights beyond
  # c; main.py clamps them only at the start of the next critic iteration.
  # Graph mode: the order of clip and update is the same under XLA
  # (test_xla_graph_and_eager_steps_agree).
  c = 0.01
  before = make_trainer(compile_mode='graph', clip_value=c, learning_rate=0.05,
                        clip_timing='before_critic_step')
  before.train_iteration(*toy_batches(3))
  assert _max_abs(before.discriminator) > c
  after = make_trainer(compile_mode='graph', clip_value=c, learning_rate=0.05,
                       clip_timing='after_critic_step')
  after.train_iteration(*toy_batches(3))
  assert _max_abs(after.discriminator) <= c


def test_clip_before_critic_step_clamps_initial_weights():
  # Glorot/He-initialised toy weights exceed 0.01; one critic step with a
  # zero learning rate leaves exactly the clamped weights.
  trainer = make_trainer(compile_mode='eager', clip_value=0.01,
                         learning_rate=0.0, schedule=train.constant_schedule(1))
  raw = [v.numpy().copy() for v in trainer.discriminator.trainable_variables]
  trainer.train_iteration(*toy_batches(1))
  for r, v in zip(raw, trainer.discriminator.trainable_variables):
    np.testing.assert_array_equal(v.numpy(), np.clip(r, -0.01, 0.01))


# ---- XLA parity -----------------------------------------------------------------

def test_xla_graph_and_eager_steps_agree():
  # Each mode runs the same generator iteration (3 critic steps with
  # clipping, then a generator step) from the same state, 10 times from 10
  # states: the eager and graph trainers are reset to the XLA trainer's
  # variables (networks, optimizer slots, counters) before every iteration,
  # so float32 rounding differences cannot compound. Noise comes from integer
  # arithmetic, so all modes see the same inputs. clip_value 0.5 clips part
  # of the width-16 toy critic's He-initialised weights (limit 0.61); at
  # c = 0.01 the critic's pre-activations sit so close to zero that
  # rounding flips ReLUs and RMSprop's sign-like first steps (measured: 3%
  # weight differences within one iteration), which would test chaos, not
  # the algorithm. Measured here: graph and eager agree bit for bit; XLA
  # differs by at most 8e-5 relative in the losses and 3e-7 (relative to the
  # largest weight) in the weights. Tolerances: 1e-3 and 1e-5, over 10x
  # margins, while a skipped clip or a reused batch changes them by 1e-2+.
  trainers = {mode: make_trainer(compile_mode=mode, latent=deterministic_latent,
                                 clip_value=0.5)
              for mode in train.COMPILE_MODES}
  reference = trainers['xla']
  for i in range(10):
    for mode in ('graph', 'eager'):
      for mine, theirs in zip(trainers[mode].variables, reference.variables):
        mine.assign(theirs)
    batches = toy_batches(3, seed=i)
    results = {mode: t.train_iteration(*batches) for mode, t in trainers.items()}
    for name in ('discriminator_real', 'discriminator_fake', 'generator_loss'):
      np.testing.assert_array_equal(results['eager'][name].numpy(),
                                    results['graph'][name].numpy())
      np.testing.assert_allclose(results['xla'][name].numpy(),
                                 results['graph'][name].numpy(), rtol=1e-3)
    for mine, theirs in zip(trainers['graph'].trainable_variables,
                            reference.trainable_variables):
      scale = float(np.max(np.abs(mine.numpy())))
      np.testing.assert_allclose(theirs.numpy(), mine.numpy(), rtol=0,
                                 atol=1e-5 * scale)
    for mine, theirs in zip(trainers['eager'].trainable_variables,
                            trainers['graph'].trainable_variables):
      np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


# ---- determinism and recovery ---------------------------------------------------

@pytest.fixture(scope='module')
def straight_xla_run(tmp_path_factory):
  """History of 15 uninterrupted XLA iterations (the scripts' default mode)."""
  return run_toy(tmp_path_factory.mktemp('straight'), steps=15)


def test_same_seed_same_trajectory_bit_for_bit(tmp_path, straight_xla_run):
  # A run of 12 is the first 12 iterations of the run of 15, bit for bit.
  assert run_toy(tmp_path / 'a', steps=12) == straight_xla_run[:12]
  other_seed = run_toy(tmp_path / 'c', steps=12, trainer=make_trainer(seed=1))
  assert other_seed != straight_xla_run[:12]


def test_resume_gives_the_same_trajectory(tmp_path, straight_xla_run):
  # Stop after 10 iterations (a checkpoint every 5), then resume in a fresh
  # trainer, as a new process would.
  run_toy(tmp_path / 'resumed', steps=10)
  resumed = run_toy(tmp_path / 'resumed', steps=15, trainer=make_trainer())
  assert resumed == straight_xla_run


def test_resume_ignores_a_checkpoint_killed_mid_write(tmp_path):
  # Graph mode: which checkpoint is restored does not depend on the compile
  # mode, and XLA's exact resume is test_resume_gives_the_same_trajectory.
  def graph_trainer():
    return make_trainer(compile_mode='graph')

  workdir = tmp_path / 'run'
  run_toy(workdir, steps=10, trainer=graph_trainer())
  ckpt_dir = workdir / runner.CHECKPOINT_DIR
  # A kill during a save leaves data files that the `checkpoint` state file
  # (written last, atomically) does not name.
  (ckpt_dir / 'ckpt-15.index').write_bytes(b'\x00garbage')
  (ckpt_dir / 'ckpt-15.data-00000-of-00001').write_bytes(b'')
  straight = run_toy(tmp_path / 'straight', steps=15, trainer=graph_trainer())
  resumed = run_toy(workdir, steps=15, trainer=graph_trainer())
  assert resumed == straight


def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
  calls = tf.Variable(0)

  def poisoned_loss(real, fake):
    # NaN from the 13th critic step on (iteration 4, with 3 critic steps).
    calls.assign_add(1)
    loss = losses.wasserstein_critic_loss(real, fake)
    return tf.where(calls > 12, tf.constant(np.nan, tf.float32), loss)

  trainer = make_trainer(d_loss=poisoned_loss, compile_mode='graph')
  opts = runner.RunOptions(workdir=str(tmp_path), steps=20, log_every=1,
                           sample_every=1000, checkpoint_every=2, verbose=False)
  with pytest.raises(runner.NonFiniteLossError,
                     match=r'discriminator_loss is nan at generator iteration '
                     r'4 \(critic step 0\); stopped\. Last good checkpoint: '
                     r'.*ckpt-4'):
    runner.run_training(trainer, make_toy_dataset, opts, {}, name='t')
  state = tf.train.get_checkpoint_state(str(tmp_path / runner.CHECKPOINT_DIR))
  assert state.model_checkpoint_path.endswith('ckpt-4')
  status = json.load(open(tmp_path / runner.STATUS_FILE))
  assert status['finished'] is False


# ---- outputs -----------------------------------------------------------------------

def test_run_writes_history_samples_curves_and_tensorboard(tmp_path):
  history = run_toy(tmp_path, steps=6, trainer=make_trainer(compile_mode='graph'))
  assert [h['iteration'] for h in history] == list(range(6))
  assert all(len(h['discriminator_loss']) == 3 for h in history)
  assert os.path.exists(tmp_path / 'loss_curves.png')
  assert os.listdir(tmp_path / 'samples')
  assert json.load(open(tmp_path / runner.STATUS_FILE))['finished'] is True
  # TensorBoard: one point per loss per log window (log_every=5, so windows
  # end at iterations 4 and 5), the window's mean of each iteration's last
  # value; history.jsonl keeps every value.
  points = {}
  for name in os.listdir(tmp_path / 'tensorboard'):
    for event in tf.compat.v1.train.summary_iterator(
        str(tmp_path / 'tensorboard' / name)):
      for value in event.summary.value:
        points.setdefault(value.tag, []).append(
            (event.step, float(tf.make_ndarray(value.tensor))))
  assert set(points) == {'discriminator_loss', 'discriminator_real',
                         'discriminator_fake', 'gradient_penalty',
                         'generator_loss'} & set(history[0])
  for tag, series in points.items():
    last = [h[tag][-1] if isinstance(h[tag], list) else h[tag]
            for h in history]
    assert [step for step, _ in series] == [4, 5]
    # TensorBoard stores float32; the expected means are float64 here.
    # rtol 1e-6 is about 8 float32 ulps: rounding only, not a looser mean.
    np.testing.assert_allclose([v for _, v in series],
                               [np.mean(last[:5]), last[5]], rtol=1e-6)


def test_bad_engine_settings_are_config_errors():
  with pytest.raises(ConfigError, match='clip value must be > 0'):
    make_trainer(clip_value=0.0)
  with pytest.raises(ConfigError, match='compile mode must be one of'):
    make_trainer(compile_mode='fast')
  with pytest.raises(ConfigError, match='unknown latent distribution'):
    make_trainer(latent='cauchy')
  with pytest.raises(ConfigError, match='max_unrolled_critic_steps must be >= 0'):
    make_trainer(max_unrolled_critic_steps=-1)


# ---- one compiled call per iteration ------------------------------------------------

@pytest.mark.parametrize('compile_mode', ['xla', 'graph'])
def test_unrolled_iteration_gives_the_numbers_of_one_call_per_step(
    compile_mode):
  # The same critic steps (clipping and a gradient penalty included) and
  # generator step, with the same seeds, as one compiled call per iteration
  # or one call per update. Without XLA the bits are the same. XLA fuses the
  # larger program differently and may round differently in the last bit:
  # measured over these 4 iterations, at most 4.8e-6 relative in a loss
  # (discriminator_real, a mean near zero) and 2.5e-7 of the largest weight
  # in the variables; over the 200 updates of
  # tests/references/wgan_gp_ci.json, no difference at all. Tolerances
  # 1e-4 / 1e-5 keep 20x and 40x margins, while a wrong seed or a skipped
  # step changes the losses by 1e-2 and more.
  unrolled = make_trainer(compile_mode=compile_mode, clip_value=0.5,
                          gradient_penalty_weight=0.1)
  per_step = make_trainer(compile_mode=compile_mode, clip_value=0.5,
                          gradient_penalty_weight=0.1,
                          max_unrolled_critic_steps=0)
  for i in range(4):
    batches = toy_batches(3, seed=i)
    a = unrolled.train_iteration(*batches)
    b = per_step.train_iteration(*batches)
    assert sorted(a) == sorted(b)
    for name in a:
      if compile_mode == 'graph':
        np.testing.assert_array_equal(a[name].numpy(), b[name].numpy())
      else:
        np.testing.assert_allclose(a[name].numpy(), b[name].numpy(),
                                   rtol=1e-4, atol=1e-6)
  for mine, theirs in zip(unrolled.variables, per_step.variables):
    if compile_mode == 'graph':
      np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    else:
      scale = max(float(np.max(np.abs(theirs.numpy()))), 1e-30)
      np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=0,
                                 atol=1e-5 * scale)
  assert int(unrolled.iteration.numpy()) == 4
  assert int(unrolled.batches_consumed.numpy()) == 12
  assert int(unrolled.discriminator_optimizer.step.numpy()) == 12
  assert int(unrolled.generator_optimizer.step.numpy()) == 4


# ---- a fixed generator: real data plus noise (gan_toy.py FIXED_GENERATOR) ----------

def _record_critic_inputs(monkeypatch, trainer):
  """Records every input the critic sees, and the penalty's (real, fake)."""
  seen = {'critic': [], 'penalty': []}
  critic_call = type(trainer.discriminator).__call__

  def recording_critic(self, x, *args, **kwargs):
    seen['critic'].append(x.numpy())
    return critic_call(self, x, *args, **kwargs)

  penalty = losses.wasserstein_gradient_penalty

  def recording_penalty(critic_fn, real, fake, alpha):
    seen['penalty'].append((real.numpy(), fake.numpy()))
    return penalty(critic_fn, real, fake, alpha)

  monkeypatch.setattr(type(trainer.discriminator), '__call__',
                      recording_critic)
  monkeypatch.setattr(losses, 'wasserstein_gradient_penalty',
                      recording_penalty)
  return seen


def test_fixed_generator_fakes_are_each_steps_real_batch_plus_noise(
    monkeypatch):
  # gan_toy.py: fake_data = real_data + 1. * tf.random_normal(shape), with
  # real_data the batch fed to that critic step; the penalty interpolates
  # between that real batch and those fakes. Eager mode, so the noise can
  # be recomputed from the step's seed and compared bit for bit.
  stddev = 0.5
  trainer = make_trainer(compile_mode='eager', gradient_penalty_weight=0.1,
                         fixed_generator_noise_stddev=stddev)
  seen = _record_critic_inputs(monkeypatch, trainer)
  real, labels = toy_batches(3)
  trainer.train_iteration(real, labels)
  assert len(seen['penalty']) == 3
  iteration_seed = train.fold(tf.constant([0, 0]), 0)
  noises = []
  for step, (penalty_real, penalty_fake) in enumerate(seen['penalty']):
    # Critic calls per step: real, fake, interpolates (the penalty).
    critic_real, critic_fake = seen['critic'][3 * step:3 * step + 2]
    np.testing.assert_array_equal(critic_real, real[step].numpy())
    np.testing.assert_array_equal(penalty_real, real[step].numpy())
    np.testing.assert_array_equal(penalty_fake, critic_fake)
    step_seed = train.fold(iteration_seed, train._CRITIC, step)  # pylint: disable=protected-access
    noise = tf.random.stateless_normal(
        [BATCH, 2], seed=train.fold(step_seed, train._FIXED_GENERATOR_NOISE))  # pylint: disable=protected-access
    np.testing.assert_array_equal(critic_fake,
                                  (real[step] + stddev * noise).numpy())
    noises.append(critic_fake - critic_real)
  # Fresh noise every step.
  assert len({n.tobytes() for n in noises}) == 3
  # The generator step only evaluates the loss: one more critic call.
  assert len(seen['critic']) == 3 * 3 + 1


def test_fixed_generator_noise_has_the_requested_stddev():
  # 2 x 20,000 draws: the sample standard deviation of N(0, s^2) is within
  # 1% of s with probability > 0.99 (its SD is s / sqrt(2n) = 0.5%).
  trainer = make_trainer(compile_mode='eager',
                         fixed_generator_noise_stddev=0.3)
  real = tf.fill([20000, 2], 2.0)
  fakes = trainer.fixed_generator_fakes(real, tf.constant([4, 5])).numpy()
  noise = fakes - 2.0
  assert abs(noise.mean()) < 0.01
  assert noise.std() == pytest.approx(0.3, rel=0.01)


@pytest.mark.parametrize('compile_mode,unroll', [('xla', 10), ('graph', 0)])
def test_fixed_generator_trains_the_critic_only(compile_mode, unroll):
  # Unrolled (one call per iteration) and one call per step.
  trainer = make_trainer(compile_mode=compile_mode,
                         gradient_penalty_weight=0.1,
                         fixed_generator_noise_stddev=1.0,
                         max_unrolled_critic_steps=unroll)
  g_before = [v.numpy().copy() for v in trainer.generator.variables]
  d_before = [v.numpy().copy() for v in trainer.discriminator.variables]
  for i in range(3):
    result = trainer.train_iteration(*toy_batches(3, seed=i))
    assert np.isfinite(float(result['generator_loss']))
    assert result['discriminator_loss'].shape == (3,)
  for before, v in zip(g_before, trainer.generator.variables):
    np.testing.assert_array_equal(before, v.numpy())
  assert int(trainer.generator_optimizer.step.numpy()) == 0
  assert int(trainer.discriminator_optimizer.step.numpy()) == 9
  # Every critic parameter moved but the output bias, which the Wasserstein
  # loss and the penalty do not depend on (zero gradient).
  moved = {v.name for before, v in zip(d_before,
                                       trainer.discriminator.variables)
           if np.any(before != v.numpy())}
  assert moved == {v.name for v in trainer.discriminator.variables
                   if 'layer4/b' not in v.name}
  assert int(trainer.iteration.numpy()) == 3
  assert int(trainer.batches_consumed.numpy()) == 9


def test_fixed_generator_unrolled_and_per_step_agree():
  unrolled = make_trainer(compile_mode='graph', gradient_penalty_weight=0.1,
                          fixed_generator_noise_stddev=1.0)
  per_step = make_trainer(compile_mode='graph', gradient_penalty_weight=0.1,
                          fixed_generator_noise_stddev=1.0,
                          max_unrolled_critic_steps=0)
  for i in range(2):
    batches = toy_batches(3, seed=i)
    a = unrolled.train_iteration(*batches)
    b = per_step.train_iteration(*batches)
    for name in a:
      np.testing.assert_array_equal(a[name].numpy(), b[name].numpy())


def test_fixed_generator_run_writes_history_samples_and_resumes(tmp_path):
  # Graph mode: the XLA path of the fixed-generator step is
  # test_fixed_generator_trains_the_critic_only[xla-10].
  def fixed():
    return make_trainer(gradient_penalty_weight=0.1,
                        fixed_generator_noise_stddev=1.0, compile_mode='graph')

  opts = dict(sample_every=5,
              toy_reference=data.sample_toy('8gaussians', 100, [9, 9]).numpy())
  history = run_toy(tmp_path / 'run', steps=10, trainer=fixed(), **opts)
  assert [h['iteration'] for h in history] == list(range(10))
  assert all(np.isfinite(h['generator_loss']) for h in history)
  assert sorted(os.listdir(tmp_path / 'run' / 'samples')) == [
      'iteration_0000005.png', 'iteration_0000010.png']
  assert os.path.exists(tmp_path / 'run' / 'loss_curves.png')
  # Stopped at 5 and resumed in a fresh trainer: the same trajectory.
  run_toy(tmp_path / 'resumed', steps=5, trainer=fixed(), **opts)
  resumed = run_toy(tmp_path / 'resumed', steps=10, trainer=fixed(), **opts)
  assert resumed == history


def test_fixed_generator_bad_settings_are_config_errors():
  with pytest.raises(ConfigError, match='fixed_generator_noise_stddev must be'):
    make_trainer(fixed_generator_noise_stddev=0.0)
  with pytest.raises(ConfigError, match="needs update_order='alternating'"):
    make_trainer(update_order='simultaneous',
                 fixed_generator_noise_stddev=1.0)
  generator = wgan_gp.ToyGenerator(hidden_units=WIDTH, seed=0)
  generator.num_classes = 10
  with pytest.raises(ConfigError, match='unconditional generator'):
    train.GANTrainer(
        generator=generator,
        discriminator=wgan_gp.ToyCritic(hidden_units=WIDTH, seed=1),
        generator_optimizer=None, discriminator_optimizer=None,
        discriminator_loss=losses.wasserstein_critic_loss,
        generator_loss=losses.wasserstein_generator_loss,
        fixed_generator_noise_stddev=1.0)
  with pytest.raises(ValueError, match='no fixed generator'):
    make_trainer(compile_mode='eager').fixed_generator_fakes(
        tf.zeros([2, 2]), tf.constant([0, 0]))


# ---- iterations without a critic step (Newmu/dcgan_code: G first) -------------------

def test_generator_first_schedule_is_dcgan_codes_update_loop():
  # dcgan_code: if n_updates % (k + 1) == 0: _train_g() else: _train_d(),
  # from n_updates = 0. The engine: schedule(i) critic steps, then G.
  for k in (1, 2, 3):
    schedule = train.generator_first_schedule(k)
    engine = []
    for iteration in range(6):
      engine += ['D'] * schedule(iteration) + ['G']
    authors = ['G' if n % (k + 1) == 0 else 'D' for n in range(len(engine))]
    assert engine == authors, k


@pytest.mark.parametrize('compile_mode', ['xla', 'eager'])
def test_an_iteration_without_critic_steps_updates_only_the_generator(
    compile_mode):
  trainer = make_trainer(compile_mode=compile_mode,
                         schedule=train.generator_first_schedule(3),
                         batch_size=BATCH)
  assert [trainer.batches_needed(i) for i in range(3)] == [0, 3, 3]
  g_before = [v.numpy().copy() for v in trainer.generator.variables]
  d_before = [v.numpy().copy() for v in trainer.discriminator.variables]
  result = trainer.train_iteration([], [])
  for name in train.CRITIC_LOSSES:
    assert result[name].shape == (0,), name
  assert np.isfinite(float(result['generator_loss']))
  assert int(trainer.generator_optimizer.step.numpy()) == 1
  assert int(trainer.discriminator_optimizer.step.numpy()) == 0
  for before, v in zip(d_before, trainer.discriminator.variables):
    np.testing.assert_array_equal(before, v.numpy())
  assert any(np.any(before != v.numpy()) for before, v in
             zip(g_before, trainer.generator.variables))
  assert int(trainer.iteration.numpy()) == 1
  assert int(trainer.batches_consumed.numpy()) == 0
  result = trainer.train_iteration(*toy_batches(3))
  assert result['discriminator_loss'].shape == (3,)
  assert int(trainer.discriminator_optimizer.step.numpy()) == 3
  assert int(trainer.generator_optimizer.step.numpy()) == 2
  assert int(trainer.batches_consumed.numpy()) == 3


def test_a_lone_generator_step_uses_batch_size(monkeypatch):
  trainer = make_trainer(compile_mode='eager',
                         schedule=train.generator_first_schedule(1),
                         batch_size=7)
  shapes = []
  generator_call = type(trainer.generator).__call__

  def recording_generator(self, z, *args, **kwargs):
    shapes.append(tuple(z.shape))
    return generator_call(self, z, *args, **kwargs)

  monkeypatch.setattr(type(trainer.generator), '__call__',
                      recording_generator)
  trainer.train_iteration([], [])
  assert shapes == [(7, 2)]
  # With real batches, the generator step takes their size (32), not 7.
  trainer.train_iteration(*toy_batches(1))
  assert shapes[1:] == [(BATCH, 2), (BATCH, 2)]


def test_zero_critic_steps_bad_settings_are_config_errors():
  with pytest.raises(ConfigError, match=r'needs GANTrainer\(batch_size'):
    make_trainer(schedule=train.generator_first_schedule(1)).train_iteration(
        [], [])
  with pytest.raises(ConfigError, match='batch_size must be > 0'):
    make_trainer(batch_size=0)
  with pytest.raises(ConfigError, match='must be >= 0'):
    make_trainer(schedule=lambda i: -1).batches_needed(0)
  with pytest.raises(ConfigError, match='needs a real batch in every'):
    make_trainer(schedule=train.generator_first_schedule(1), batch_size=4,
                 fixed_generator_noise_stddev=1.0).train_iteration([], [])


def test_runner_feeds_no_batch_to_a_lone_generator_step_and_resumes(tmp_path):
  # Graph mode: the XLA path of a lone generator step is
  # test_an_iteration_without_critic_steps_updates_only_the_generator[xla].
  def generator_first():
    return make_trainer(schedule=train.generator_first_schedule(3),
                        batch_size=BATCH, compile_mode='graph')

  # log_every 1: the progress line of iteration 0 has no critic loss yet.
  straight = run_toy(tmp_path / 'straight', steps=10,
                     trainer=generator_first(), log_every=1)
  assert [h['critic_steps'] for h in straight] == [0] + [3] * 9
  assert straight[0]['discriminator_loss'] == []
  assert np.isfinite(straight[0]['generator_loss'])
  assert os.path.exists(tmp_path / 'straight' / 'loss_curves.png')
  # Stopped after 5 iterations (checkpoint every 5) and resumed in a fresh
  # trainer: 0 + 3 * 4 = 12 batches consumed, and the same trajectory.
  stopped = generator_first()
  run_toy(tmp_path / 'resumed', steps=5, trainer=stopped)
  assert int(stopped.batches_consumed.numpy()) == 12
  resumed = run_toy(tmp_path / 'resumed', steps=10, trainer=generator_first(),
                    log_every=1)
  assert resumed == straight


# ---- a conditional critic step's fake labels: uniform or the real batch's --------

NUM_CLASSES = 3


class _ConditionalToyGenerator(tf.Module):
  """The toy generator plus a per-class offset; records each call's inputs."""

  def __init__(self):
    super().__init__(name='generator')
    self.inner = wgan_gp.ToyGenerator(hidden_units=WIDTH, seed=0)
    self.latent_dim, self.num_classes, self.output_shape = 2, NUM_CLASSES, (2,)
    self.offsets = tf.Variable(tf.zeros([NUM_CLASSES, 2]), name='offsets')
    self.calls = []

  def __call__(self, z, labels=None, training=True):
    self.calls.append((z.numpy(), labels.numpy()))
    return self.inner(z, training=training) + tf.gather(self.offsets, labels)


class _ConditionalToyCritic(tf.Module):
  """The toy critic plus a per-class bias; records the labels of each call."""

  def __init__(self):
    super().__init__(name='discriminator')
    self.inner = wgan_gp.ToyCritic(hidden_units=WIDTH, seed=1)
    self.biases = tf.Variable(tf.zeros([NUM_CLASSES]), name='biases')
    self.labels = []

  def __call__(self, x, labels=None, training=True, seed=None):
    self.labels.append(np.asarray(labels))
    return self.inner(x, training=training) + tf.gather(self.biases, labels)


def _conditional_trainer(source):
  generator, critic = _ConditionalToyGenerator(), _ConditionalToyCritic()
  return train.GANTrainer(
      generator=generator, discriminator=critic,
      generator_optimizer=optimizers.RMSprop(generator.trainable_variables,
                                             learning_rate=1e-3),
      discriminator_optimizer=optimizers.RMSprop(critic.trainable_variables,
                                                 learning_rate=1e-3),
      discriminator_loss=losses.wasserstein_critic_loss,
      generator_loss=losses.wasserstein_generator_loss,
      critic_steps_schedule=train.constant_schedule(2),
      fake_labels_in_critic_step=source, compile_mode='eager', seed=0)


def test_critic_step_fakes_use_the_real_batch_labels_when_asked():
  # Real labels 0, 1, 2, 0, ...; uniform draws match them by chance with
  # probability 3^-32 per batch.
  real, _ = toy_batches(2)
  real_labels = tf.constant(np.tile(np.arange(BATCH) % NUM_CLASSES, [2, 1]),
                            tf.int32)  # [2, B]
  recorded = {}
  for source in train.FAKE_LABEL_SOURCES:
    trainer = _conditional_trainer(source)
    trainer.train_iteration(real, real_labels)
    recorded[source] = (trainer.generator.calls, trainer.discriminator.labels)
  for source, (g_calls, d_labels) in recorded.items():
    assert len(g_calls) == 3  # two critic steps, one generator step
    for step in range(2):
      _, fake_labels = g_calls[step]
      # The critic sees its real batch with its labels, then the fakes with
      # the labels they were generated for.
      np.testing.assert_array_equal(d_labels[2 * step], real_labels[step])
      np.testing.assert_array_equal(d_labels[2 * step + 1], fake_labels)
      if source == 'real_batch':
        np.testing.assert_array_equal(fake_labels, real_labels[step])
      else:
        assert not np.array_equal(fake_labels, real_labels[step])
    # The generator step draws uniform labels either way.
    assert not np.array_equal(g_calls[2][1], real_labels[0])
  # Only the labels differ: the same noise, and the same generator-step
  # labels, with either option.
  for (z_a, _), (z_b, _) in zip(recorded['uniform'][0],
                                recorded['real_batch'][0]):
    np.testing.assert_array_equal(z_a, z_b)
  np.testing.assert_array_equal(recorded['uniform'][0][2][1],
                                recorded['real_batch'][0][2][1])


def test_fake_label_source_bad_settings_are_config_errors():
  with pytest.raises(ConfigError,
                     match='fake_labels_in_critic_step must be one of'):
    _conditional_trainer('generated')
  with pytest.raises(ConfigError, match='needs a conditional generator'):
    make_trainer(fake_labels_in_critic_step='real_batch')
