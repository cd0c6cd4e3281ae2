"""Losses against values computable by hand.

Tolerances: the losses run in float32, whose relative rounding error is
2**-24 (about 6e-8) per operation; a handful of operations on O(1) values
stay well inside rtol=1e-6, which is used throughout unless stated.
"""

import math

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import losses
from paper_gans.errors import ConfigError

RTOL = 1e-6
LOG2 = math.log(2.0)


def _f32(values):
  return tf.constant(values, tf.float32)


# --------------------------------------------------------------------------
# Cross-entropy losses.
# --------------------------------------------------------------------------

def test_minimax_losses_at_zero_logits():
  # D = sigmoid(0) = 1/2 everywhere: every log term is log 2.
  zeros = _f32([0.0, 0.0, 0.0])
  np.testing.assert_allclose(
      losses.minimax_discriminator_loss(zeros, zeros).numpy(), 2 * LOG2, rtol=RTOL)
  np.testing.assert_allclose(
      losses.minimax_generator_loss(zeros).numpy(), -LOG2, rtol=RTOL)
  np.testing.assert_allclose(
      losses.non_saturating_generator_loss(zeros).numpy(), LOG2, rtol=RTOL)


def test_minimax_losses_golden_values():
  # Real logits 0 and log 3: D = 1/2 and 3/4, -log D = log 2 and log(4/3).
  # Fake logits log(1/3) and log 3: D = 1/4 and 3/4,
  #   -log(1 - D) = log(4/3) and log 4;  -log D = log 4 and log(4/3).
  real = _f32([0.0, math.log(3.0)])
  fake = _f32([math.log(1.0 / 3.0), math.log(3.0)])
  expected_d = (LOG2 + math.log(4 / 3)) / 2 + (math.log(4 / 3) + math.log(4)) / 2
  np.testing.assert_allclose(
      losses.minimax_discriminator_loss(real, fake).numpy(), expected_d, rtol=RTOL)
  np.testing.assert_allclose(
      losses.minimax_generator_loss(fake).numpy(),
      -(math.log(4 / 3) + math.log(4)) / 2, rtol=RTOL)
  np.testing.assert_allclose(
      losses.non_saturating_generator_loss(fake).numpy(),
      (math.log(4) + math.log(4 / 3)) / 2, rtol=RTOL)


def test_batch_mean_is_shape_independent():
  logits = np.array([0.3, -1.2, 2.5, 0.0], np.float32)
  flat, column = _f32(logits), _f32(logits[:, None])
  for loss in (losses.non_saturating_generator_loss,
               losses.minimax_generator_loss,
               losses.wasserstein_generator_loss):
    np.testing.assert_allclose(loss(flat).numpy(), loss(column).numpy(), rtol=RTOL)
  np.testing.assert_allclose(
      losses.minimax_discriminator_loss(flat, -flat).numpy(),
      losses.minimax_discriminator_loss(column, -column).numpy(), rtol=RTOL)


@pytest.mark.parametrize('scale', [100.0, -100.0])
def test_cross_entropy_losses_are_stable_for_large_logits(scale):
  logits = _f32([scale, scale])
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(logits)
    values = {
        'd': losses.minimax_discriminator_loss(logits, logits),
        'g_minimax': losses.minimax_generator_loss(logits),
        'g_ns': losses.non_saturating_generator_loss(logits),
    }
  for name, value in values.items():
    assert np.isfinite(value.numpy()), name
    gradient = tape.gradient(value, logits)
    assert np.all(np.isfinite(gradient.numpy())), name
  # softplus(100) = 100 + log(1 + e^-100) = 100 in float32; softplus(-100) ~ 4e-44.
  if scale > 0:
    # Real logits 100 cost ~0, fake logits 100 cost 100.
    np.testing.assert_allclose(values['d'].numpy(), 100.0, rtol=RTOL)
    np.testing.assert_allclose(values['g_minimax'].numpy(), -100.0, rtol=RTOL)
    assert 0.0 <= values['g_ns'].numpy() < 1e-30
  else:
    np.testing.assert_allclose(values['d'].numpy(), 100.0, rtol=RTOL)
    assert -1e-30 < values['g_minimax'].numpy() <= 0.0
    np.testing.assert_allclose(values['g_ns'].numpy(), 100.0, rtol=RTOL)


def test_discriminator_loss_separates_real_and_fake_terms():
  # A confident, correct D (real +100, fake -100) has loss ~0; the reverse 200.
  right = losses.minimax_discriminator_loss(_f32([100.0]), _f32([-100.0]))
  wrong = losses.minimax_discriminator_loss(_f32([-100.0]), _f32([100.0]))
  assert 0.0 <= right.numpy() < 1e-30
  np.testing.assert_allclose(wrong.numpy(), 200.0, rtol=RTOL)


# --------------------------------------------------------------------------
# Wasserstein losses.
# --------------------------------------------------------------------------

def test_wasserstein_losses_golden_values():
  real = _f32([1.0, 2.0, 3.0])   # mean 2
  fake = _f32([0.5, -1.5])       # mean -0.5
  np.testing.assert_allclose(
      losses.wasserstein_critic_loss(real, fake).numpy(), -2.5, rtol=RTOL)
  np.testing.assert_allclose(
      losses.wasserstein_generator_loss(fake).numpy(), 0.5, rtol=RTOL)
  # The Wasserstein estimate (the WGAN code's -Loss_D) is mean f(x) - mean f(G(z)).
  np.testing.assert_allclose(
      -losses.wasserstein_critic_loss(real, fake).numpy(), 2.5, rtol=RTOL)


# --------------------------------------------------------------------------
# Gradient penalty.
# --------------------------------------------------------------------------

def _linear_critic(w):
  """f(x) = <w, x> per example, for x of any rank (w has the data shape)."""
  def critic(x):
    return tf.reduce_sum(x * w, axis=list(range(1, len(x.shape))))
  return critic


@pytest.mark.parametrize('data_shape', [(5,), (2, 2, 3)])
def test_gradient_penalty_of_linear_critic(data_shape):
  rng = np.random.default_rng(0)
  w = rng.normal(size=data_shape).astype(np.float32)
  w *= 3.0 / np.linalg.norm(w)  # ||w|| = 3, so the penalty is (3 - 1)^2 = 4
  batch = 6
  real = _f32(rng.normal(size=(batch,) + data_shape))
  fake = _f32(rng.normal(size=(batch,) + data_shape))
  alpha = losses.uniform_interpolation_weights(
      tf.constant([1, 2]), batch, rank=1 + len(data_shape))
  penalty = losses.wasserstein_gradient_penalty(
      _linear_critic(_f32(w)), real, fake, alpha)
  np.testing.assert_allclose(penalty.numpy(), 4.0, rtol=RTOL)


def test_gradient_penalty_takes_the_norm_per_example():
  # f(x) = sum over examples of ||x_i||^2 / 2 has gradient x_i for example i.
  # With real = fake = x, x_hat = x for any alpha; rows of norm 0.5, 1 and 3
  # give (0.5-1)^2, 0 and (3-1)^2: penalty (0.25 + 0 + 4) / 3.
  # A norm over the whole batch would give (sqrt(0.25 + 1 + 9) - 1)^2 = 4.85.
  def quadratic_critic(x):
    return 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])

  directions = np.zeros((3, 2, 2, 1), np.float32)
  directions[0, 0, 0, 0] = 0.5
  directions[1, 1, 0, 0] = 1.0
  directions[2, :, :, 0] = 1.5  # norm sqrt(4 * 2.25) = 3
  x = _f32(directions)
  alpha = losses.uniform_interpolation_weights(tf.constant([3, 4]), 3, rank=4)
  penalty = losses.wasserstein_gradient_penalty(quadratic_critic, x, x, alpha)
  np.testing.assert_allclose(penalty.numpy(), 4.25 / 3.0, rtol=RTOL)


def test_gradient_penalty_interpolates_from_real_towards_fake():
  # Same quadratic critic (gradient x_hat_i); real = 0, fake rows of norm 3,
  # alpha 0.1, 0.5, 1: x_hat = alpha * fake has norms 0.3, 1.5, 3, so the
  # penalty is (0.49 + 0.25 + 4) / 3 = 1.58. The gan_toy.py form
  # alpha * real + (1 - alpha) * fake would give norms 2.7, 1.5, 0 and 1.38.
  def quadratic_critic(x):
    return 0.5 * tf.reduce_sum(tf.square(x), axis=1)

  real = tf.zeros([3, 4])
  fake = _f32(np.full((3, 4), 1.5))  # each row has norm sqrt(4 * 2.25) = 3
  alpha = _f32([[0.1], [0.5], [1.0]])
  penalty = losses.wasserstein_gradient_penalty(quadratic_critic, real, fake, alpha)
  np.testing.assert_allclose(penalty.numpy(), 4.74 / 3.0, rtol=RTOL)


@pytest.mark.parametrize('jit', [False, True], ids=['eager', 'xla'])
def test_gradient_penalty_gradient_with_respect_to_critic_weights(jit):
  # Penalty (||w|| - 1)^2 has gradient 2 (||w|| - 1) w / ||w|| (double backprop).
  w_value = np.array([[1.0, 2.0], [2.0, 0.0]], np.float32)  # ||w|| = 3
  w = tf.Variable(w_value)
  critic = _linear_critic(w)
  real = _f32(np.arange(16, dtype=np.float32).reshape(4, 2, 2) / 10.0)
  fake = -real

  def penalty_and_gradient():
    with tf.GradientTape() as tape:
      alpha = losses.uniform_interpolation_weights(tf.constant([5, 6]), 4, rank=3)
      penalty = losses.wasserstein_gradient_penalty(critic, real, fake, alpha)
    return penalty, tape.gradient(penalty, w)

  if jit:
    penalty_and_gradient = tf.function(penalty_and_gradient, jit_compile=True)
  penalty, gradient = penalty_and_gradient()
  np.testing.assert_allclose(penalty.numpy(), 4.0, rtol=RTOL)
  np.testing.assert_allclose(gradient.numpy(), 2.0 * 2.0 * w_value / 3.0,
                             rtol=RTOL)


# --------------------------------------------------------------------------
# Interpolation weights.
# --------------------------------------------------------------------------

@pytest.mark.parametrize('rank,shape', [(2, (7, 1)), (4, (7, 1, 1, 1))])
def test_uniform_interpolation_weights_shape(rank, shape):
  alpha = losses.uniform_interpolation_weights(tf.constant([0, 1]), 7, rank)
  assert tuple(alpha.shape) == shape
  assert alpha.dtype == tf.float32


def test_uniform_interpolation_weights_distribution():
  alpha = losses.uniform_interpolation_weights(tf.constant([7, 8]), 10_000, 4)
  values = alpha.numpy().ravel()
  assert values.min() >= 0.0 and values.max() < 1.0
  # U[0, 1): mean 1/2, variance 1/12. The standard error of the mean of
  # 10,000 draws is 0.0029; 0.015 is five of them. Likewise for the variance
  # (standard error about 0.0009 for uniform draws; 0.005 is over five).
  assert abs(values.mean() - 0.5) < 0.015
  assert abs(values.var() - 1.0 / 12.0) < 0.005
  # One weight per example, not one per batch.
  assert len(np.unique(values)) > 9_900


def test_uniform_interpolation_weights_are_a_function_of_the_seed():
  first = losses.uniform_interpolation_weights(tf.constant([1, 2]), 16, 2)
  again = losses.uniform_interpolation_weights(tf.constant([1, 2]), 16, 2)
  other = losses.uniform_interpolation_weights(tf.constant([1, 3]), 16, 2)
  np.testing.assert_array_equal(first.numpy(), again.numpy())
  assert not np.array_equal(first.numpy(), other.numpy())


def test_uniform_interpolation_weights_rejects_rank_one():
  with pytest.raises(ConfigError):
    losses.uniform_interpolation_weights(tf.constant([1, 2]), 16, 1)
