"""Optimizers against independent NumPy re-implementations of their formulas.

Sonnet's optimizer-test style: a small problem whose gradient depends on the
current parameters (a quadratic plus a fixed, step-varying noise term), run
for NUM_STEPS updates in TensorFlow (eagerly and inside
tf.function(jit_compile=True)) and in float64 NumPy written from the formulas
in the reference code; the whole parameter trajectory must agree step by step.

Tolerance: TensorFlow runs in float32 like the reference frameworks, NumPy in
float64. Each float32 update rounds the parameter to the nearest float32 (at
most half an ulp) and the update itself carries relative errors of a few
float32 ulps of its (much smaller) size; accumulated linearly over all steps
this stays below NUM_STEPS ulps of the largest parameter, which is the bound
used (TRAJECTORY_ATOL, about 1.8e-5 for parameters below 1 in magnitude). The
tests further down check that the variants a wrong implementation would most
likely be (momentum schedule shifted by one epoch, epsilon placement,
epsilon inside the square root) differ from the reference by far more than
this bound, so the trajectory tests can fail.
"""

import math

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import optimizers
from paper_gans.errors import ConfigError

NUM_STEPS = 150
SHAPES = [(3, 2), (4,)]
# Parameters stay inside [-1, 1] on this problem (checked in _problem).
MAX_ABS_PARAM = 1.0
TRAJECTORY_ATOL = NUM_STEPS * float(np.spacing(np.float32(MAX_ABS_PARAM)))


# --------------------------------------------------------------------------
# The test problem and the two ways of running it.
# --------------------------------------------------------------------------

def _problem(seed=0):
  """Initial values, curvatures, centres and per-step gradient noise."""
  rng = np.random.default_rng(seed)
  return {
      'init': [rng.uniform(-0.8, 0.8, s) for s in SHAPES],
      'curvature': [rng.uniform(0.5, 2.0, s) for s in SHAPES],
      'centre': [rng.uniform(-0.3, 0.3, s) for s in SHAPES],
      'noise': [rng.normal(0.0, 0.3, (NUM_STEPS,) + s) for s in SHAPES],
  }


def _numpy_gradients(problem, params, t):
  return [k * (p - c) + n[t] for p, k, c, n in zip(
      params, problem['curvature'], problem['centre'], problem['noise'])]


def _run_tf(make_optimizer, problem, jit, dtype=tf.float32):
  """Runs the optimizer on the problem; returns the trajectory (float64 copies)."""
  variables = [tf.Variable(v.astype(dtype.as_numpy_dtype), name=f'p{i}')
               for i, v in enumerate(problem['init'])]
  optimizer = make_optimizer(variables)
  curvature = [tf.constant(k, dtype) for k in problem['curvature']]
  centre = [tf.constant(c, dtype) for c in problem['centre']]

  def step(noise):
    gradients = [k * (v - c) + n for v, k, c, n in zip(variables, curvature,
                                                       centre, noise)]
    optimizer.apply(gradients)

  if jit:
    step = tf.function(step, jit_compile=True)
  trajectory = []
  for t in range(NUM_STEPS):
    step([tf.constant(n[t], dtype) for n in problem['noise']])
    trajectory.append([v.numpy().astype(np.float64) for v in variables])
  assert int(optimizer.step.numpy()) == NUM_STEPS
  return trajectory


def _max_difference(trajectory_a, trajectory_b):
  return max(float(np.max(np.abs(a - b)))
             for step_a, step_b in zip(trajectory_a, trajectory_b)
             for a, b in zip(step_a, step_b))


def _assert_trajectories_close(actual, expected):
  assert len(actual) == len(expected) == NUM_STEPS
  for t, (step_actual, step_expected) in enumerate(zip(actual, expected)):
    for a, e in zip(step_actual, step_expected):
      assert np.max(np.abs(e)) <= MAX_ABS_PARAM  # the premise of the tolerance
      np.testing.assert_allclose(a, e, rtol=0.0, atol=TRAJECTORY_ATOL,
                                 err_msg=f'at step {t}')


# --------------------------------------------------------------------------
# NumPy references, written from the reference code's formulas.
# --------------------------------------------------------------------------

def _numpy_sgd(problem, lr_at, momentum_at, nesterov):
  """pylearn2 learning_rule.Momentum: inc = mu inc - lr g; param += inc."""
  params = [p.copy() for p in problem['init']]
  velocities = [np.zeros_like(p) for p in params]
  trajectory = []
  for t in range(NUM_STEPS):
    grads = _numpy_gradients(problem, params, t)
    lr, mu = lr_at(t), momentum_at(t)
    for i, g in enumerate(grads):
      velocities[i] = mu * velocities[i] - lr * g
      if nesterov:
        params[i] = params[i] + mu * velocities[i] - lr * g
      else:
        params[i] = params[i] + velocities[i]
    trajectory.append([p.copy() for p in params])
  return trajectory


def _numpy_adam(problem, lr_or_schedule, beta1, beta2, epsilon, placement,
                weight_decay, beta1_decay=1.0):
  """`lr_or_schedule`: a constant rate, or a function of the 0-based update.

  `beta1_decay` is Newmu/dcgan_code lib/updates.py's l: the first moment
  uses b1_t = b1 * l**(t - 1), the bias correction b1**t.
  """
  params = [p.copy() for p in problem['init']]
  ms = [np.zeros_like(p) for p in params]
  vs = [np.zeros_like(p) for p in params]
  trajectory = []
  for step in range(NUM_STEPS):
    t = step + 1
    lr = (lr_or_schedule(step) if callable(lr_or_schedule)
          else lr_or_schedule)
    grads = _numpy_gradients(problem, params, step)
    for i, g in enumerate(grads):
      g = g + weight_decay * params[i]
      beta1_t = beta1 * beta1_decay ** (t - 1)
      ms[i] = beta1_t * ms[i] + (1 - beta1_t) * g
      vs[i] = beta2 * vs[i] + (1 - beta2) * g ** 2
      if placement == 'algorithm1':
        m_hat = ms[i] / (1 - beta1 ** t)
        v_hat = vs[i] / (1 - beta2 ** t)
        params[i] = params[i] - lr * m_hat / (np.sqrt(v_hat) + epsilon)
      else:  # TF1's epsilon hat.
        lr_t = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        params[i] = params[i] - lr_t * ms[i] / (np.sqrt(vs[i]) + epsilon)
    trajectory.append([p.copy() for p in params])
  return trajectory


def _numpy_rmsprop(problem, lr, alpha, epsilon, epsilon_inside_sqrt=False,
                   initial_square_avg=0.0):
  """torch.optim.RMSprop; with epsilon_inside_sqrt, the TF/Keras form.

  TF1's ApplyRMSProp with momentum 0 (`TF1RMSprop`) is epsilon_inside_sqrt
  with initial_square_avg 1 (its "rms" slot starts at ones) and alpha =
  decay: its `ms += (g^2 - ms) * (1 - decay)` is the same average.
  """
  params = [p.copy() for p in problem['init']]
  square_avgs = [np.full_like(p, initial_square_avg) for p in params]
  trajectory = []
  for t in range(NUM_STEPS):
    grads = _numpy_gradients(problem, params, t)
    for i, g in enumerate(grads):
      square_avgs[i] = alpha * square_avgs[i] + (1 - alpha) * g * g
      if epsilon_inside_sqrt:
        denominator = np.sqrt(square_avgs[i] + epsilon)
      else:
        denominator = np.sqrt(square_avgs[i]) + epsilon
      params[i] = params[i] - lr * g / denominator
    trajectory.append([p.copy() for p in params])
  return trajectory


# A fast version of pylearn2's schedules so that both act within NUM_STEPS:
# lr 0.1 divided by 1.05 per update, floored at 0.01 (reached at update 48);
# momentum 0.5 -> 0.9 between pylearn2 counts 2 and 8, 10 updates per epoch.
FAST_LR, FAST_DECAY, FAST_MIN_LR = 0.1, 1.05, 0.01
FAST_MOMENTUM, FAST_FINAL, FAST_START, FAST_SATURATE = 0.5, 0.9, 2, 8
FAST_STEPS_PER_EPOCH = 10


def _fast_lr(t):
  return max(FAST_LR / FAST_DECAY ** t, FAST_MIN_LR)


def _fast_momentum(t, count_offset=1):
  """pylearn2 MomentumAdjustor: epoch e trains with count e + 1."""
  count = t // FAST_STEPS_PER_EPOCH + count_offset
  alpha = min(max((count - FAST_START) / (FAST_SATURATE - FAST_START), 0.0), 1.0)
  return FAST_MOMENTUM * (1 - alpha) + alpha * FAST_FINAL


def _make_fast_sgd(nesterov):
  def make(variables):
    return optimizers.SGD(
        variables, learning_rate=FAST_LR, momentum=FAST_MOMENTUM,
        nesterov=nesterov,
        learning_rate_decay=optimizers.ExponentialDecay(FAST_DECAY, FAST_MIN_LR),
        momentum_schedule=optimizers.MomentumAdjustor(
            final_momentum=FAST_FINAL, start=FAST_START, saturate=FAST_SATURATE),
        steps_per_epoch=FAST_STEPS_PER_EPOCH)
  return make


# --------------------------------------------------------------------------
# SGD.
# --------------------------------------------------------------------------

@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'xla'])
@pytest.mark.parametrize('nesterov', [False, True])
def test_sgd_with_schedules_matches_numpy(jit, nesterov):
  problem = _problem()
  expected = _numpy_sgd(problem, _fast_lr, _fast_momentum, nesterov)
  actual = _run_tf(_make_fast_sgd(nesterov), problem, jit)
  _assert_trajectories_close(actual, expected)


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'xla'])
def test_sgd_constant_matches_numpy(jit):
  problem = _problem(seed=1)
  expected = _numpy_sgd(problem, lambda t: 0.05, lambda t: 0.5, nesterov=False)
  actual = _run_tf(
      lambda v: optimizers.SGD(v, learning_rate=0.05, momentum=0.5), problem, jit)
  _assert_trajectories_close(actual, expected)


def test_sgd_test_discriminates_wrong_variants():
  """Off-by-one momentum epochs or nesterov would fail the trajectory test."""
  problem = _problem()
  actual = _run_tf(_make_fast_sgd(False), problem, jit=False)
  shifted = _numpy_sgd(problem, _fast_lr,
                       lambda t: _fast_momentum(t, count_offset=0), False)
  nesterov = _numpy_sgd(problem, _fast_lr, _fast_momentum, True)
  no_decay = _numpy_sgd(problem, lambda t: FAST_LR, _fast_momentum, False)
  for wrong in (shifted, nesterov, no_decay):
    assert _max_difference(actual, wrong) > 100 * TRAJECTORY_ATOL


def _goodfellow_sgd(variables):
  """Goodfellow et al. 2014's optimiser (goodfeli/adversarial mnist.yaml)."""
  return optimizers.SGD(
      variables, learning_rate=0.1, momentum=0.5,
      learning_rate_decay=optimizers.ExponentialDecay(1.000004, 1e-6),
      momentum_schedule=optimizers.MomentumAdjustor(
          final_momentum=0.7, start=1, saturate=250),
      steps_per_epoch=500)


# 0.1 / 1.000004 ** n, computed by hand (50-digit arithmetic) from the
# float32 value of 0.1 that pylearn2 reads back from its shared variable,
# 0.100000001490116119384765625.
GOODFELLOW_LEARNING_RATES = {
    0: 0.100000001490116119384765625,
    1: 0.099999601491710152544,
    500: 0.099800201753071913750,
    100_000: 0.067032059227901566704,
    3_000_000: 1e-6,          # past the floor (reached at update 2,878,238)
    10 ** 12: 1e-6,           # 1.000004 ** n overflows; still the floor
}


@pytest.mark.parametrize('num_updates', sorted(GOODFELLOW_LEARNING_RATES))
def test_exponential_decay_learning_rate(num_updates):
  variable = tf.Variable(tf.zeros([2]))
  optimizer = _goodfellow_sgd([variable])
  optimizer.step.assign(num_updates)
  expected = np.float32(GOODFELLOW_LEARNING_RATES[num_updates])
  # The rate is a float32, rounded from a float64 computation; the float64
  # pow may differ between implementations in its last bit, which can move
  # the float32 result by one ulp (2**-23 relative) but no more.
  np.testing.assert_allclose(optimizer.learning_rate().numpy(), expected,
                             rtol=2.0 ** -23, atol=0.0)


# Momentum in the epoch with 0-based index e uses pylearn2's count e + 1:
# 0.5 + 0.2 * clip((e + 1 - 1) / 249, 0, 1).
GOODFELLOW_MOMENTA = {
    0: 0.5,
    1: 0.50080321285140562249,     # 0.5 + 0.2 / 249
    125: 0.60040160642570281124,   # 0.5 + 0.2 * 125 / 249
    248: 0.69919678714859437751,   # 0.5 + 0.2 * 248 / 249
    249: 0.7,                      # the 250th epoch: count 250 = saturate
    250: 0.7,
    300: 0.7,
}


@pytest.mark.parametrize('epoch', sorted(GOODFELLOW_MOMENTA))
def test_momentum_adjustor(epoch):
  variable = tf.Variable(tf.zeros([2]))
  optimizer = _goodfellow_sgd([variable])
  expected = np.float32(GOODFELLOW_MOMENTA[epoch])
  # First and last update of the epoch (500 updates per epoch).
  for step in (epoch * 500, epoch * 500 + 499):
    optimizer.step.assign(step)
    # One float32 ulp, for the same reason as the learning rate.
    np.testing.assert_allclose(optimizer.momentum().numpy(), expected,
                               rtol=2.0 ** -23, atol=0.0)


def test_momentum_adjustor_saturate_equals_start():
  schedule = optimizers.MomentumAdjustor(final_momentum=0.9, start=3, saturate=3)
  values = [float(schedule(0.5, e).numpy()) for e in range(5)]
  # Counts 1..5: final once count >= 3, i.e. from epoch 2.
  assert values == [0.5, 0.5, np.float32(0.9), np.float32(0.9), np.float32(0.9)]


def test_sgd_learning_rate_reports_next_update():
  variable = tf.Variable([1.0])
  optimizer = _goodfellow_sgd([variable])
  assert optimizer.learning_rate().numpy() == np.float32(0.1)
  optimizer.apply([tf.constant([2.0])])
  # The first update used 0.1 and momentum 0.5 on a zero velocity.
  np.testing.assert_allclose(variable.numpy(), [1.0 - 0.2], rtol=1e-7)
  np.testing.assert_allclose(optimizer.learning_rate().numpy(),
                             np.float32(0.1 / 1.000004), rtol=2.0 ** -23)


def test_sgd_config_errors():
  variable = tf.Variable([1.0])
  with pytest.raises(ConfigError):
    optimizers.SGD([variable], learning_rate=0.1, momentum=1.0)
  with pytest.raises(ConfigError):
    optimizers.SGD([variable], learning_rate=0.1, momentum=0.5,
                   momentum_schedule=optimizers.MomentumAdjustor(0.7, 1, 250))
  with pytest.raises(ConfigError):
    optimizers.ExponentialDecay(0.9, 1e-6)
  with pytest.raises(ConfigError):
    optimizers.MomentumAdjustor(0.7, start=10, saturate=5)


# --------------------------------------------------------------------------
# Adam.
# --------------------------------------------------------------------------

# (lr, beta1, beta2, epsilon, weight_decay). The first two are the papers'
# values (WGAN-GP code; DCGAN with dcgan_code's l2); in the third epsilon is
# large enough for its placement to change the trajectory visibly.
ADAM_SETTINGS = {
    'wgan_gp': (1e-2, 0.5, 0.9, 1e-8, 0.0),
    'dcgan_l2': (1e-2, 0.5, 0.999, 1e-8, 1e-2),
    'big_epsilon': (1e-2, 0.5, 0.9, 0.3, 0.0),
}


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'xla'])
@pytest.mark.parametrize('placement', ['algorithm1', 'tf1'])
@pytest.mark.parametrize('setting', sorted(ADAM_SETTINGS))
def test_adam_matches_numpy(setting, placement, jit):
  lr, beta1, beta2, epsilon, weight_decay = ADAM_SETTINGS[setting]
  problem = _problem(seed=2)
  expected = _numpy_adam(problem, lr, beta1, beta2, epsilon, placement,
                         weight_decay)
  actual = _run_tf(
      lambda v: optimizers.Adam(
          v, learning_rate=lr, beta1=beta1, beta2=beta2, epsilon=epsilon,
          epsilon_placement=placement, weight_decay=weight_decay),
      problem, jit)
  _assert_trajectories_close(actual, expected)


def test_adam_test_discriminates_epsilon_placement_and_weight_decay():
  problem = _problem(seed=2)
  lr, beta1, beta2, epsilon, _ = ADAM_SETTINGS['big_epsilon']
  algorithm1 = _numpy_adam(problem, lr, beta1, beta2, epsilon, 'algorithm1', 0.0)
  tf1 = _numpy_adam(problem, lr, beta1, beta2, epsilon, 'tf1', 0.0)
  assert _max_difference(algorithm1, tf1) > 100 * TRAJECTORY_ATOL
  lr, beta1, beta2, epsilon, weight_decay = ADAM_SETTINGS['dcgan_l2']
  with_decay = _numpy_adam(problem, lr, beta1, beta2, epsilon, 'algorithm1',
                           weight_decay)
  without = _numpy_adam(problem, lr, beta1, beta2, epsilon, 'algorithm1', 0.0)
  assert _max_difference(with_decay, without) > 100 * TRAJECTORY_ATOL


# float64 on both sides: rounding stays near 1e-16 per update, so 1e-12
# absolute over NUM_STEPS updates of parameters below 1 is still ~1e4 ulps
# of headroom while the decayed and undecayed runs differ by far more.
FLOAT64_TRAJECTORY_ATOL = 1e-12


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'xla'])
def test_adam_beta1_decay_matches_numpy_in_float64(jit):
  """dcgan_code's b1_t = b1 * l**(t-1), with an l far from 1 to be seen."""
  lr, beta1, beta2, epsilon, weight_decay = ADAM_SETTINGS['dcgan_l2']
  problem = _problem(seed=2)
  expected = _numpy_adam(problem, lr, beta1, beta2, epsilon, 'algorithm1',
                         weight_decay, beta1_decay=0.99)
  actual = _run_tf(
      lambda v: optimizers.Adam(
          v, learning_rate=lr, beta1=beta1, beta2=beta2, epsilon=epsilon,
          epsilon_placement='algorithm1', weight_decay=weight_decay,
          beta1_decay=0.99),
      problem, jit, dtype=tf.float64)
  undecayed = _numpy_adam(problem, lr, beta1, beta2, epsilon, 'algorithm1',
                          weight_decay)
  assert _max_difference(expected, undecayed) > 1e6 * FLOAT64_TRAJECTORY_ATOL
  assert _max_difference(actual, expected) < FLOAT64_TRAJECTORY_ATOL


def test_adam_beta1_decay_of_dcgan_code_is_one_in_float32():
  """l = 1 - 1e-8 rounds to 1 in float32: bit for bit the undecayed run."""
  lr, beta1, beta2, epsilon, weight_decay = ADAM_SETTINGS['dcgan_l2']
  problem = _problem(seed=2)

  def make(beta1_decay):
    return lambda v: optimizers.Adam(
        v, learning_rate=lr, beta1=beta1, beta2=beta2, epsilon=epsilon,
        epsilon_placement='algorithm1', weight_decay=weight_decay,
        beta1_decay=beta1_decay)

  assert _max_difference(_run_tf(make(1 - 1e-8), problem, True),
                         _run_tf(make(1.0), problem, True)) == 0.0
  decayed64 = _run_tf(make(1 - 1e-8), problem, True, dtype=tf.float64)
  undecayed64 = _run_tf(make(1.0), problem, True, dtype=tf.float64)
  assert _max_difference(decayed64, undecayed64) > 0.0


def test_adam_tf1_matches_tensorflow_v1_adam_optimizer():
  """'tf1' against the optimizer igul222/improved_wgan_training ran."""
  problem = _problem(seed=3)
  lr, beta1, beta2, epsilon = 1e-2, 0.5, 0.9, 0.3  # epsilon visible, as above
  actual = _run_tf(
      lambda v: optimizers.Adam(v, learning_rate=lr, beta1=beta1, beta2=beta2,
                                epsilon=epsilon, epsilon_placement='tf1'),
      problem, jit=False)

  class _V1Adam:
    """Adapts tf.compat.v1.train.AdamOptimizer to the `apply` interface."""

    def __init__(self, variables):
      self._variables = variables
      self._optimizer = tf.compat.v1.train.AdamOptimizer(
          learning_rate=lr, beta1=beta1, beta2=beta2, epsilon=epsilon)
      self.step = tf.Variable(0, dtype=tf.int64)

    def apply(self, gradients):
      self._optimizer.apply_gradients(zip(gradients, self._variables))
      self.step.assign_add(1)

  reference = _run_tf(_V1Adam, problem, jit=False)
  # Both run in float32 with the same formula; TF1 keeps beta^t in float32
  # accumulators, ours uses pow, and XLA/Eigen may order the arithmetic
  # differently, so a few float32 ulps per step remain: the same bound.
  _assert_trajectories_close(actual, reference)


def test_adam_set_learning_rate():
  variable = tf.Variable([1.0])
  optimizer = optimizers.Adam([variable], learning_rate=2e-4, beta1=0.5,
                              beta2=0.999, epsilon=1e-8,
                              epsilon_placement='algorithm1')
  assert optimizer.learning_rate().numpy() == np.float32(2e-4)
  optimizer.set_learning_rate(1e-4)
  optimizer.apply([tf.constant([3.0])])
  # First Adam step: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps).
  np.testing.assert_allclose(variable.numpy(), [1.0 - 1e-4], rtol=1e-7)


# Schedules, written out from the reference code for the NumPy side.
def _tf1_staircase(lr, decay_steps, decay_rate, step_offset):
  # tf.train.exponential_decay(lr, global_step, decay_steps, decay_rate,
  # staircase=True) with global_step = update + step_offset.
  return lambda step: lr * decay_rate ** ((step + step_offset) // decay_steps)


def _dcgan_code_linear(lr, steps_per_epoch, niter, niter_decay):
  # train_cond_dcgan.py: after each finished epoch n_epochs (1-based), if
  # n_epochs > niter: lrt -= lr / niter_decay. Replayed epoch by epoch.
  def at(step):
    rate = lr
    for finished in range(1, step // steps_per_epoch + 1):
      if finished > niter:
        rate -= lr / niter_decay
    return max(rate, 0.0)
  return at


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'xla'])
@pytest.mark.parametrize('placement', ['algorithm1', 'tf1'])
def test_adam_with_staircase_decay_matches_numpy(placement, jit):
  # lr x0.5 every 20 updates (7 decays in 150 steps), G-side offset of one.
  problem = _problem(seed=4)
  expected = _numpy_adam(problem, _tf1_staircase(1e-2, 20, 0.5, 1), 0.5, 0.999,
                         1e-8, placement, 0.0)
  actual = _run_tf(
      lambda v: optimizers.Adam(
          v, learning_rate=1e-2, beta1=0.5, beta2=0.999, epsilon=1e-8,
          epsilon_placement=placement,
          learning_rate_schedule=optimizers.StaircaseExponentialDecay(
              20, 0.5, step_offset=1)),
      problem, jit)
  _assert_trajectories_close(actual, expected)
  # The comparison can fail: the schedule shifted by one update, or no
  # schedule at all, moves the trajectory by far more than the tolerance.
  for wrong in (_tf1_staircase(1e-2, 20, 0.5, 0), lambda step: 1e-2):
    other = _numpy_adam(problem, wrong, 0.5, 0.999, 1e-8, placement, 0.0)
    assert _max_difference(other, expected) > 10 * TRAJECTORY_ATOL


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'xla'])
def test_adam_with_epoch_linear_decay_matches_numpy(jit):
  # 10 updates per epoch, 3 epochs + 1 at the full rate, then down to zero
  # over 8 epochs: from update 110 on the rate is 0 and nothing moves.
  problem = _problem(seed=5)
  schedule = _dcgan_code_linear(1e-2, 10, 3, 8)
  assert schedule(39) == 1e-2 and schedule(40) == pytest.approx(1e-2 * 7 / 8)
  assert schedule(109) == pytest.approx(1e-2 / 8) and schedule(110) == 0.0
  expected = _numpy_adam(problem, schedule, 0.5, 0.999, 1e-8, 'algorithm1',
                         2.5e-3)
  actual = _run_tf(
      lambda v: optimizers.Adam(
          v, learning_rate=1e-2, beta1=0.5, beta2=0.999, epsilon=1e-8,
          epsilon_placement='algorithm1', weight_decay=2.5e-3,
          learning_rate_schedule=optimizers.EpochLinearDecay(10, 3, 8)),
      problem, jit)
  _assert_trajectories_close(actual, expected)
  for a, b in zip(actual[110], actual[-1]):
    np.testing.assert_array_equal(a, b)
  constant = _numpy_adam(problem, 1e-2, 0.5, 0.999, 1e-8, 'algorithm1', 2.5e-3)
  assert _max_difference(constant, expected) > 10 * TRAJECTORY_ATOL


@pytest.mark.parametrize('global_step', [0, 1, 499, 500, 501, 999, 1000, 16499])
def test_staircase_decay_equals_tf1_exponential_decay(global_step):
  # The znxlwm cDCGAN's schedule: exponential_decay(0.0002, global_step, 500,
  # 0.95, staircase=True), in float32 like ours.
  decayed = tf.compat.v1.train.exponential_decay(
      0.0002, tf.constant(global_step, tf.int64), 500, 0.95, staircase=True)
  want = decayed() if callable(decayed) else decayed
  schedule = optimizers.StaircaseExponentialDecay(500, 0.95)
  got = schedule(tf.constant(0.0002, tf.float32), tf.constant(global_step,
                                                               tf.int64))
  assert got.dtype == tf.float32
  np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=2.0 ** -23)


def test_epoch_linear_decay_is_dcgan_codes_niter_schedule():
  # train_cond_dcgan.py: niter = niter_decay = 100, lr 2e-4; 195 updates of
  # each player per epoch here. Epochs 0..100 (0-based) at 2e-4, then
  # 0.99, 0.98, ... of it; 0.01 of it in the last epoch (199).
  schedule = optimizers.EpochLinearDecay(195, 100, 100)
  base = tf.constant(2e-4, tf.float32)
  rate = lambda update: float(schedule(base, tf.constant(update, tf.int64)))
  reference = _dcgan_code_linear(float(np.float32(2e-4)), 195, 100, 100)
  for epoch in (0, 99, 100, 101, 150, 199, 200):
    for update in (195 * epoch, 195 * epoch + 194):
      assert rate(update) == pytest.approx(reference(update), rel=1e-6,
                                           abs=1e-12)
  assert rate(195 * 100) == np.float32(2e-4)
  assert rate(195 * 101) == pytest.approx(0.99 * 2e-4, rel=1e-6)
  assert rate(195 * 199) == pytest.approx(0.01 * 2e-4, rel=1e-5)
  assert rate(195 * 200) == 0.0


def test_adam_learning_rate_reports_the_scheduled_rate():
  variable = tf.Variable([1.0])
  optimizer = optimizers.Adam(
      [variable], learning_rate=2e-4, beta1=0.5, beta2=0.999, epsilon=1e-8,
      epsilon_placement='tf1',
      learning_rate_schedule=optimizers.StaircaseExponentialDecay(2, 0.5))
  rates = []
  for _ in range(5):
    rates.append(float(optimizer.learning_rate()))
    optimizer.apply([tf.constant([1.0])])
  np.testing.assert_allclose(rates, [2e-4, 2e-4, 1e-4, 1e-4, 5e-5], rtol=1e-6)
  # set_learning_rate changes the base; the schedule still scales it.
  optimizer.set_learning_rate(1e-4)
  np.testing.assert_allclose(float(optimizer.learning_rate()), 2.5e-5,
                             rtol=1e-6)


def test_schedule_config_errors():
  with pytest.raises(ConfigError):
    optimizers.StaircaseExponentialDecay(0, 0.95)
  with pytest.raises(ConfigError):
    optimizers.StaircaseExponentialDecay(500, 1.5)
  with pytest.raises(ConfigError):
    optimizers.EpochLinearDecay(0, 100, 100)
  with pytest.raises(ConfigError):
    optimizers.EpochLinearDecay(195, -1, 100)


def test_adam_config_errors():
  variable = tf.Variable([1.0])
  with pytest.raises(ConfigError):
    optimizers.Adam([variable], learning_rate=1e-4, beta1=0.5, beta2=0.9,
                    epsilon=1e-8, epsilon_placement='keras')
  with pytest.raises(ConfigError):
    optimizers.Adam([variable], learning_rate=1e-4, beta1=1.0, beta2=0.9,
                    epsilon=1e-8, epsilon_placement='tf1')
  for beta1_decay in (0.0, 1.5):
    with pytest.raises(ConfigError, match='beta1_decay'):
      optimizers.Adam([variable], learning_rate=1e-4, beta1=0.5, beta2=0.9,
                      epsilon=1e-8, epsilon_placement='algorithm1',
                      beta1_decay=beta1_decay)
  with pytest.raises(ConfigError, match='algorithm1'):
    optimizers.Adam([variable], learning_rate=1e-4, beta1=0.5, beta2=0.9,
                    epsilon=1e-8, epsilon_placement='tf1',
                    beta1_decay=1 - 1e-8)


# --------------------------------------------------------------------------
# RMSprop.
# --------------------------------------------------------------------------

# (lr, alpha, epsilon): the WGAN code's values (lr 5e-5 raised to 1e-3 so that
# the parameters move well beyond the tolerance in NUM_STEPS), and a large
# epsilon whose placement (outside vs inside the square root) is visible.
RMSPROP_SETTINGS = {
    'wgan': (1e-3, 0.99, 1e-8),
    'big_epsilon': (1e-2, 0.99, 0.3),
}


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'xla'])
@pytest.mark.parametrize('setting', sorted(RMSPROP_SETTINGS))
def test_rmsprop_matches_numpy(setting, jit):
  lr, alpha, epsilon = RMSPROP_SETTINGS[setting]
  problem = _problem(seed=4)
  expected = _numpy_rmsprop(problem, lr, alpha, epsilon)
  actual = _run_tf(
      lambda v: optimizers.RMSprop(v, learning_rate=lr, alpha=alpha,
                                   epsilon=epsilon),
      problem, jit)
  _assert_trajectories_close(actual, expected)


def test_rmsprop_defaults_are_pytorchs():
  variable = tf.Variable([1.0])
  optimizer = optimizers.RMSprop([variable], learning_rate=5e-5)
  optimizer.apply([tf.constant([2.0])])
  # square_avg starts at 0: after one step it is 0.01 g^2, so the step is
  # lr * g / (0.1 |g| + 1e-8) = 10 lr (up to 5e-8 relative).
  np.testing.assert_allclose(variable.numpy(), [1.0 - 5e-4], rtol=1e-7)


def test_rmsprop_test_discriminates_wrong_variants():
  problem = _problem(seed=4)
  lr, alpha, epsilon = RMSPROP_SETTINGS['big_epsilon']
  torch_form = _numpy_rmsprop(problem, lr, alpha, epsilon)
  inside = _numpy_rmsprop(problem, lr, alpha, epsilon, epsilon_inside_sqrt=True)
  assert _max_difference(torch_form, inside) > 100 * TRAJECTORY_ATOL
  lr, alpha, epsilon = RMSPROP_SETTINGS['wgan']
  torch_form = _numpy_rmsprop(problem, lr, alpha, epsilon)
  keras_rho = _numpy_rmsprop(problem, lr, 0.9, epsilon)
  assert _max_difference(torch_form, keras_rho) > 100 * TRAJECTORY_ATOL


# --------------------------------------------------------------------------
# TF1 RMSProp (gan_toy.py's weight-clipping mode).
# --------------------------------------------------------------------------

# (lr, decay, epsilon): gan_toy.py's TF1 defaults (decay 0.9, epsilon 1e-10)
# with lr 5e-5 raised to 1e-2 so that the parameters move well beyond the
# tolerance in NUM_STEPS, and a large epsilon whose placement is visible.
TF1_RMSPROP_SETTINGS = {
    'gan_toy': (1e-2, 0.9, 1e-10),
    'big_epsilon': (1e-2, 0.9, 0.3),
}


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'xla'])
@pytest.mark.parametrize('setting', sorted(TF1_RMSPROP_SETTINGS))
def test_tf1_rmsprop_matches_numpy(setting, jit):
  lr, decay, epsilon = TF1_RMSPROP_SETTINGS[setting]
  problem = _problem(seed=5)
  expected = _numpy_rmsprop(problem, lr, decay, epsilon,
                            epsilon_inside_sqrt=True, initial_square_avg=1.0)
  actual = _run_tf(
      lambda v: optimizers.TF1RMSprop(v, learning_rate=lr, decay=decay,
                                      epsilon=epsilon),
      problem, jit)
  _assert_trajectories_close(actual, expected)


def test_tf1_rmsprop_test_discriminates_wrong_variants():
  problem = _problem(seed=5)
  lr, decay, epsilon = TF1_RMSPROP_SETTINGS['gan_toy']
  tf1_form = _numpy_rmsprop(problem, lr, decay, epsilon,
                            epsilon_inside_sqrt=True, initial_square_avg=1.0)
  # PyTorch's zero-initialised average.
  zero_start = _numpy_rmsprop(problem, lr, decay, epsilon,
                              epsilon_inside_sqrt=True)
  assert _max_difference(tf1_form, zero_start) > 100 * TRAJECTORY_ATOL
  lr, decay, epsilon = TF1_RMSPROP_SETTINGS['big_epsilon']
  tf1_form = _numpy_rmsprop(problem, lr, decay, epsilon,
                            epsilon_inside_sqrt=True, initial_square_avg=1.0)
  outside = _numpy_rmsprop(problem, lr, decay, epsilon, initial_square_avg=1.0)
  assert _max_difference(tf1_form, outside) > 100 * TRAJECTORY_ATOL


def test_tf1_rmsprop_matches_tensorflow_v1_rmsprop_optimizer():
  """TF1RMSprop against the optimizer gan_toy.py MODE 'wgan' ran."""
  rng = np.random.default_rng(0)
  start = rng.normal(size=(4, 3)).astype(np.float32)
  gradients = [rng.normal(size=(4, 3)).astype(np.float32) * scale
               for scale in (1.0, 0.1, 3.0, 0.01, 1.0)]
  ours_variable = tf.Variable(start)
  ours = optimizers.TF1RMSprop([ours_variable], learning_rate=0.05)
  v1_variable = tf.Variable(start)
  v1 = tf.compat.v1.train.RMSPropOptimizer(learning_rate=0.05)
  for gradient in gradients:
    ours.apply([tf.constant(gradient)])
    v1.apply_gradients([(tf.constant(gradient), v1_variable)])
    # Same float32 formula; Eigen may order it differently: a few ulps.
    np.testing.assert_allclose(ours_variable.numpy(), v1_variable.numpy(),
                               rtol=1e-6, atol=1e-7)


def test_tf1_rmsprop_config_errors():
  variable = tf.Variable([1.0])
  with pytest.raises(ConfigError):
    optimizers.TF1RMSprop([variable], learning_rate=5e-5, decay=1.0)
  with pytest.raises(ConfigError):
    optimizers.TF1RMSprop([variable], learning_rate=5e-5, epsilon=-1.0)


# --------------------------------------------------------------------------
# State created at construction.
# --------------------------------------------------------------------------

SLOTS = {
    'sgd': (lambda v: optimizers.SGD(v, learning_rate=0.1, momentum=0.5),
            ['velocity']),
    'adam': (lambda v: optimizers.Adam(v, learning_rate=1e-4, beta1=0.5,
                                       beta2=0.9, epsilon=1e-8,
                                       epsilon_placement='tf1'),
             ['m', 'v']),
    'rmsprop': (lambda v: optimizers.RMSprop(v, learning_rate=5e-5),
                ['square_avg']),
    'tf1_rmsprop': (lambda v: optimizers.TF1RMSprop(v, learning_rate=5e-5),
                    ['rms']),
}
# Initial slot values: zeros, except TF1 RMSProp's mean square (ones).
INITIAL_SLOT_VALUE = {'tf1_rmsprop': 1.0}


@pytest.mark.parametrize('kind', sorted(SLOTS))
def test_all_slots_exist_after_construction(kind):
  make, slot_names = SLOTS[kind]
  with tf.name_scope('net'):
    variables = [tf.Variable(tf.ones(s), name=f'w{i}')
                 for i, s in enumerate(SHAPES)]
  optimizer = make(variables)
  by_name = {v.name: v for v in optimizer.variables}
  # No model variable is listed as optimizer state.
  assert not {id(v) for v in variables} & {id(v) for v in optimizer.variables}
  assert f'{kind}/step:0' in by_name
  assert by_name[f'{kind}/step:0'].dtype == tf.int64
  assert int(optimizer.step.numpy()) == 0
  for i, shape in enumerate(SHAPES):
    for slot in slot_names:
      name = f'{kind}/net/w{i}/{slot}:0'
      assert name in by_name, sorted(by_name)
      assert tuple(by_name[name].shape) == shape
      assert not by_name[name].trainable
      assert np.all(by_name[name].numpy() == INITIAL_SLOT_VALUE.get(kind, 0.0))
  expected_count = 1 + len(slot_names) * len(SHAPES) + (kind != 'sgd')
  assert len(optimizer.variables) == expected_count
  assert not optimizer.trainable_variables


def test_apply_rejects_mismatched_gradients():
  variables = [tf.Variable([1.0]), tf.Variable([2.0])]
  optimizer = optimizers.RMSprop(variables, learning_rate=5e-5)
  with pytest.raises(ValueError):
    optimizer.apply([tf.constant([1.0])])
  with pytest.raises(ValueError):
    optimizer.apply([tf.constant([1.0]), None])
