"""Strided convolutions computed by phases (paper_gans/layers.py).

Layers whose kernel is larger than their small side (5x5 kernels at 4x4)
compute as stride-1 convolutions over space_to_depth phases, because XLA
would otherwise swap the operands of their convolutions and run them on
XLA:CPU's slow generic loop (see the comment in layers.py). These tests
check that the phases compute TensorFlow's strided and transposed
convolutions, with first and second derivatives (the gradient penalty
differentiates through the input gradient), and that the compiled WGAN-GP
MNIST critic step no longer contains a swapped convolution.
"""

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import layers

# The phases sum the same products as TensorFlow's kernels in another order
# (plus zero taps); float32 sums of 25 * C products of O(1) terms differ in
# the last bits, so values are compared at 1e-5 relative to their scale.
RTOL = 1e-5


def _close(got, want):
  got, want = np.asarray(got), np.asarray(want)
  assert got.shape == want.shape
  scale = max(float(np.max(np.abs(want))), 1e-6)
  np.testing.assert_allclose(got / scale, want / scale, atol=RTOL)


def _native_conv(x, w, stride, padding):
  if isinstance(padding, int):
    x = tf.pad(x, [[0, 0], [padding] * 2, [padding] * 2, [0, 0]])
    padding = 'VALID'
  return tf.nn.conv2d(x, w, stride, padding)


CONV_CASES = [  # (size, kernel, stride, padding)
    (8, 5, 2, 'SAME'), (7, 5, 2, 'SAME'), (14, 5, 2, 'SAME'),
    (9, 5, 2, 'VALID'), (6, 5, 2, 2), (8, 4, 2, 1), (10, 4, 2, 'SAME'),
    (9, 3, 3, 'SAME'), (12, 7, 3, 3),
]


@pytest.mark.parametrize('size,kernel,stride,padding', CONV_CASES)
def test_conv2d_by_phases_matches_tensorflow(size, kernel, stride, padding):
  rng = np.random.default_rng(size * 100 + kernel)
  x = tf.constant(rng.normal(size=(2, size, size + 1, 3)), tf.float32)
  w = tf.constant(rng.normal(size=(kernel, kernel, 3, 4)), tf.float32)
  _close(layers.conv2d_by_phases(x, w, stride, padding),
         _native_conv(x, w, stride, padding))


@pytest.mark.parametrize('size,kernel,stride,padding', CONV_CASES)
def test_conv2d_transpose_by_phases_is_the_adjoint(size, kernel, stride,
                                                   padding):
  """The transposed convolution equals the strided one's input gradient."""
  rng = np.random.default_rng(size * 100 + kernel + 1)
  x = tf.constant(rng.normal(size=(2, size, size + 1, 3)), tf.float32)
  w = tf.constant(rng.normal(size=(kernel, kernel, 3, 4)), tf.float32)
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = _native_conv(x, w, stride, padding)
  dy = tf.constant(rng.normal(size=y.shape), tf.float32)
  want = tape.gradient(y, x, output_gradients=dy)
  got = layers.conv2d_transpose_by_phases(dy, w, stride, size, size + 1,
                                          padding)
  _close(got, want)


def test_phase_kernel_has_the_taps_in_space_to_depth_order():
  w = tf.reshape(tf.range(5 * 5 * 1 * 1, dtype=tf.float32), [5, 5, 1, 1])
  phases = layers._phase_kernel(w, 2).numpy()  # [3, 3, 4, 1]
  assert phases.shape == (3, 3, 4, 1)
  for ay in range(3):
    for ax in range(3):
      for ry in range(2):
        for rx in range(2):
          ty, tx = 2 * ay + ry, 2 * ax + rx
          want = 5 * ty + tx if ty < 5 and tx < 5 else 0.0
          assert phases[ay, ax, 2 * ry + rx, 0] == want


def test_only_layers_with_a_kernel_larger_than_their_small_side_use_phases():
  assert layers._by_phases(5, 2, 4)       # 5x5 at 4x4: XLA would swap
  assert not layers._by_phases(5, 2, 5)   # equal areas: no swap
  assert not layers._by_phases(5, 2, 7)
  assert not layers._by_phases(4, 2, 4)   # WGAN's 4x4 kernels at 4x4
  assert not layers._by_phases(7, 1, 1)   # stride 1: never


@pytest.mark.parametrize('module', ['conv', 'transpose'])
def test_layer_first_and_second_derivatives_match_tensorflow(module):
  """Value, gradients and the gradient penalty's second derivative."""
  rng = np.random.default_rng(7)
  init = layers.normal_initializer(0.1)
  if module == 'conv':  # 7x7 -> 4x4: by phases
    layer = layers.Conv2D(3, 4, 5, 2, 'SAME', (1, 2), init)
    x = tf.constant(rng.normal(size=(2, 7, 7, 3)), tf.float32)
    native = lambda v: tf.nn.conv2d(v, layer.w, 2, 'SAME') + layer.b
  else:  # 4x4 -> 8x8: by phases
    layer = layers.ConvTranspose2D(3, 4, 5, 2, 'SAME', (1, 2), init)
    x = tf.constant(rng.normal(size=(2, 4, 4, 3)), tf.float32)
    native = lambda v: tf.nn.conv2d_transpose(
        v, layer.w, [2, 8, 8, 4], 2, 'SAME') + layer.b

  def penalty_and_grads(fn):
    with tf.GradientTape() as outer:
      with tf.GradientTape() as inner:
        inner.watch(x)
        value = tf.reduce_sum(tf.nn.leaky_relu(fn(x), 0.2) ** 2)
      slopes = tf.norm(tf.reshape(inner.gradient(value, x), [2, -1]), axis=1)
      penalty = tf.reduce_mean((slopes - 1.0) ** 2)
    return [value, penalty] + outer.gradient(penalty, [layer.w, layer.b])

  for got, want in zip(penalty_and_grads(layer), penalty_and_grads(native)):
    _close(got, want)


def _convolutions(hlo: str):
  return [line for line in hlo.splitlines() if ' convolution(' in line]


def test_compiled_wgan_gp_mnist_critic_step_has_no_swapped_convolution():
  """XLA's operand swap shows as a reversed window (`rhs_reversal`) on a
  batch-last convolution; with phases no convolution of the critic step
  (penalty included) is swapped. The DIM-8 critic has the paper's shapes."""
  from paper_gans.networks import wgan_gp as nets  # pylint: disable=g-import-not-at-top
  critic = nets.MnistCritic(dim=8, seed=0)
  x = tf.random.stateless_normal([4, 28, 28, 1], [1, 2])

  def step(x):
    with tf.GradientTape() as outer:
      with tf.GradientTape() as inner:
        inner.watch(x)
        scores = critic(x)
      slopes = tf.norm(tf.reshape(inner.gradient(scores, x), [4, -1]), axis=1)
      loss = tf.reduce_mean(scores) + tf.reduce_mean((slopes - 1.0) ** 2)
    return outer.gradient(loss, critic.trainable_variables)

  hlo = tf.function(step, jit_compile=True).experimental_get_compiler_ir(x)(
      stage='optimized_hlo')
  convolutions = _convolutions(hlo)
  assert convolutions, 'no convolution found in the optimised HLO'
  swapped = [line for line in convolutions if 'rhs_reversal' in line]
  assert not swapped, swapped[0]
