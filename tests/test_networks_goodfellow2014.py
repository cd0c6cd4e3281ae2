"""Tests of paper_gans.networks.goodfellow2014 (Goodfellow et al. 2014)."""

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import layers
from paper_gans.errors import ConfigError
from paper_gans.networks import goodfellow2014 as gf


@pytest.fixture(scope='module')
def generator():
  return gf.Goodfellow2014Generator(seed=3)


@pytest.fixture(scope='module')
def discriminator():
  return gf.Goodfellow2014Discriminator(seed=3)


def _images(batch, seed=0):
  rng = np.random.default_rng(seed)
  return tf.constant(rng.uniform(0., 1., (batch, 28, 28, 1)), tf.float32)


def _maxout_np(x, w, b, pieces):
  z = x @ w + b  # [B, units * pieces]
  return z.reshape(z.shape[0], -1, pieces).max(axis=2)


def _forward_np(d, x, masks=None):
  """The discriminator's logits in float64 numpy; masks = (m0, m1, m2)."""
  h = np.asarray(x, np.float64).reshape(x.shape[0], 784)
  if masks is not None:
    h = h * masks[0] * 1.25
  h = _maxout_np(h, d.h0.linear.w.numpy(), d.h0.linear.b.numpy(), 5)
  if masks is not None:
    h = h * masks[1] * 2.
  h = _maxout_np(h, d.h1.linear.w.numpy(), d.h1.linear.b.numpy(), 5)
  if masks is not None:
    h = h * masks[2] * 2.
  return (h @ d.y.w.numpy() + d.y.b.numpy())[:, 0]


def test_output_shapes(generator, discriminator):
  z = tf.random.uniform([7, 100], -np.sqrt(3), np.sqrt(3), seed=1)
  images = generator(z)
  assert images.shape == (7, 28, 28, 1)
  assert generator.output_shape == (28, 28, 1)
  assert generator.latent_dim == 100
  assert generator.num_classes is None and discriminator.num_classes is None
  seed = tf.constant([5, 6], tf.int32)
  assert discriminator(images, seed=seed).shape == (7,)
  assert discriminator(images, training=False).shape == (7,)


def test_parameter_counts_match_pylearn2():
  # Theano/pylearn2 holds one W [in, out] and one b [out] per layer (maxout:
  # out = num_units * num_pieces, one bias per piece), so its count is:
  g_h0 = 100 * 1200 + 1200  # RectifiedLinear h0
  g_h1 = 1200 * 1200 + 1200  # RectifiedLinear h1
  g_y = 1200 * 784 + 784  # Sigmoid y
  assert g_h0 + g_h1 + g_y == 2_503_984
  assert layers.count_parameters(gf.Goodfellow2014Generator()) == 2_503_984

  d_h0 = 784 * (240 * 5) + 240 * 5  # Maxout h0
  d_h1 = 240 * (240 * 5) + 240 * 5  # Maxout h1
  d_y = 240 * 1 + 1  # Sigmoid y
  assert d_h0 + d_h1 + d_y == 1_231_441
  assert layers.count_parameters(gf.Goodfellow2014Discriminator()) == 1_231_441


def test_variable_names_are_stable(generator, discriminator):
  assert sorted(v.name for v in generator.trainable_variables) == [
      'generator/h0/b:0', 'generator/h0/w:0', 'generator/h1/b:0',
      'generator/h1/w:0', 'generator/y/b:0', 'generator/y/w:0']
  assert sorted(v.name for v in discriminator.trainable_variables) == [
      'discriminator/h0/linear/b:0', 'discriminator/h0/linear/w:0',
      'discriminator/h1/linear/b:0', 'discriminator/h1/linear/w:0',
      'discriminator/y/b:0', 'discriminator/y/w:0']
  # No batch norm: no moving statistics, nothing non-trainable.
  assert len(generator.variables) == len(generator.trainable_variables)
  assert len(discriminator.variables) == len(
      discriminator.trainable_variables)


def test_initialisation_follows_mnist_yaml(generator, discriminator):
  for weights, irange in [(generator.h0.w, 0.05), (generator.h1.w, 0.05),
                          (generator.y.w, 0.05),
                          (discriminator.h0.linear.w, 0.005),
                          (discriminator.h1.linear.w, 0.005),
                          (discriminator.y.w, 0.005)]:
    values = np.abs(weights.numpy())
    assert values.max() <= irange
    # U(-irange, irange) with n >= 240 draws: P(max < 0.95 irange) = 0.95^n,
    # below 5e-6 for n = 240, so a smaller range would be caught.
    assert values.max() > 0.95 * irange
    # Std of U(-a, a) is a / sqrt(3); with n >= 240 draws the sample std has
    # a relative standard error below 3%, so 15% is a 5-sigma bound.
    np.testing.assert_allclose(weights.numpy().std(), irange / np.sqrt(3),
                               rtol=0.15)
  for bias in [generator.h0.b, generator.h1.b, generator.y.b,
               discriminator.h0.linear.b, discriminator.h1.linear.b,
               discriminator.y.b]:
    assert not np.any(bias.numpy())


def test_same_seed_same_weights_different_seed_different():
  for make in [gf.Goodfellow2014Generator, gf.Goodfellow2014Discriminator]:
    first, again, other = make(seed=11), make(seed=11), make(seed=12)
    for a, b, c in zip(first.trainable_variables, again.trainable_variables,
                       other.trainable_variables):
      np.testing.assert_array_equal(a.numpy(), b.numpy())
      if np.any(a.numpy()):  # Zero biases are equal for every seed.
        assert not np.array_equal(a.numpy(), c.numpy())


def test_generator_output_is_finite_and_in_unit_interval(generator):
  z = tf.random.uniform([64, 100], -np.sqrt(3), np.sqrt(3), seed=2)
  images = generator(z).numpy()
  assert np.all(np.isfinite(images))
  assert images.min() >= 0. and images.max() <= 1.
  # training changes nothing in G (no dropout, no batch norm).
  np.testing.assert_array_equal(images, generator(z, training=False).numpy())


def test_generator_uses_given_output_bias():
  bias = np.linspace(-3., 3., 784).astype(np.float32)
  g = gf.Goodfellow2014Generator(output_bias=bias, seed=0)
  np.testing.assert_array_equal(g.y.b.numpy(), bias)
  with pytest.raises(ConfigError):
    gf.Goodfellow2014Generator(output_bias=np.zeros(10))


def test_eval_mode_has_no_dropout(discriminator):
  x = _images(16)
  logits = discriminator(x, training=False).numpy()
  assert np.all(np.isfinite(logits))
  # float32 forward pass against a float64 one on the same weights: the
  # logits are O(1e-4); 1e-6 absolute allows float32 rounding only.
  np.testing.assert_allclose(logits, _forward_np(discriminator, x.numpy()),
                             rtol=0, atol=1e-6)
  # The seed is ignored outside training.
  np.testing.assert_array_equal(
      logits, discriminator(x, training=False,
                            seed=tf.constant([1, 1])).numpy())


def test_training_requires_a_seed(discriminator):
  with pytest.raises(ValueError):
    discriminator(_images(2), training=True)


def test_dropout_depends_on_the_seed_only(discriminator):
  x = _images(16)
  first = discriminator(x, seed=tf.constant([1, 2])).numpy()
  again = discriminator(x, seed=tf.constant([1, 2])).numpy()
  other = discriminator(x, seed=tf.constant([1, 3])).numpy()
  np.testing.assert_array_equal(first, again)
  assert not np.allclose(first, other)
  assert not np.allclose(first, discriminator(x, training=False).numpy())


def test_dropout_masks_placement_scale_and_rate():
  """Recovers each layer's mask from gradients and replays the forward pass.

  A kept input element has a non-zero gradient and a dropped one exactly
  zero (almost surely, with random weights and inputs), so:
    m0 [B, 784]: d logit / d x;
    m1 [B, 240]: rows of d logit / d W(h1), whose row i is 2 m1_i h0_i delta;
    m2 [B, 240]: d logit / d W(y), which is 2 m2_i h1_i.
  """
  d = gf.Goodfellow2014Discriminator(seed=5)
  batch = 32
  x = _images(batch, seed=1)
  seed = tf.constant([8, 9], tf.int32)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    logits = d(x, training=True, seed=seed)  # [B]
    total = tf.reduce_sum(logits)
  m0 = (tape.gradient(total, x).numpy().reshape(batch, 784) != 0)
  jac_h1 = tape.jacobian(logits, d.h1.linear.w).numpy()  # [B, 240, 1200]
  jac_y = tape.jacobian(logits, d.y.w).numpy()  # [B, 240, 1]
  m1 = np.any(jac_h1 != 0, axis=2)
  m2 = jac_y[:, :, 0] != 0
  del tape

  # The kept fraction of n Bernoulli(p) draws has standard error
  # sqrt(p (1 - p) / n): 0.0025 for m0 (n = 25088, p = 0.8) and 0.0057 for
  # m1, m2 (n = 7680, p = 0.5). 0.015 and 0.03 are about 6 and 5 sigma.
  assert abs(m0.mean() - 0.8) < 0.015
  assert abs(m1.mean() - 0.5) < 0.03
  assert abs(m2.mean() - 0.5) < 0.03
  # Each layer draws its own mask: two independent Bernoulli(0.5) masks agree
  # on half the elements (standard error 0.0057); one mask reused would
  # agree everywhere.
  assert np.mean(m1 == m2) < 0.6

  # Replaying the forward pass with these masks and pylearn2's scales
  # (1.25 for the pixels, 2 for the hidden layers) gives the same logits;
  # without the scales the logits would differ by far more than 1e-6.
  np.testing.assert_allclose(logits.numpy(),
                             _forward_np(d, x.numpy(), (m0, m1, m2)),
                             rtol=0, atol=1e-6)


def test_apply_constraints_is_a_no_op_with_mnist_yaml_settings(discriminator):
  before = [v.numpy().copy() for v in discriminator.trainable_variables]
  discriminator.apply_constraints()
  for old, new in zip(before, discriminator.trainable_variables):
    np.testing.assert_array_equal(old, new.numpy())


def test_apply_constraints_is_pylearn2_max_col_norm():
  max_norm = 1.0
  d = gf.Goodfellow2014Discriminator(max_col_norms=(max_norm, None, max_norm),
                                     seed=2)
  # Push every other column of h0, and y's single column, over the limit.
  w0 = d.h0.linear.w.numpy()
  w0[:, ::2] *= 100.  # Column norms ~8 (initial ~0.08).
  d.h0.linear.w.assign(w0)
  d.y.w.assign(d.y.w * 1000.)  # Norm ~45.
  w1 = d.h1.linear.w.numpy()
  w1[:, ::2] *= 1000.  # Layer without a constraint: must stay as it is.
  d.h1.linear.w.assign(w1)
  wy = d.y.w.numpy()

  d.apply_constraints()

  for before, after in [(w0, d.h0.linear.w.numpy()), (wy, d.y.w.numpy())]:
    before64 = before.astype(np.float64)
    norms = np.sqrt((before64**2).sum(axis=0))
    expected = before64 * np.clip(norms, 0, max_norm) / (1e-7 + norms)
    # float32 arithmetic against float64: a few ulp (1.2e-7 each).
    np.testing.assert_allclose(after, expected, rtol=1e-6, atol=0)
    new_norms = np.sqrt((after.astype(np.float64)**2).sum(axis=0))
    assert np.all(new_norms <= max_norm * (1 + 1e-6))
    big = norms > max_norm
    assert big.any()
    np.testing.assert_allclose(new_norms[big], max_norm, rtol=1e-6)
    # Columns under the limit keep their values up to pylearn2's epsilon,
    # a factor n / (n + 1e-7): at n ~ 0.08 that is 1.3e-6 relative, plus
    # float32 rounding.
    np.testing.assert_allclose(after[:, ~big], before[:, ~big], rtol=2e-6)
  np.testing.assert_array_equal(d.h1.linear.w.numpy(), w1)

  with pytest.raises(ConfigError):
    gf.Goodfellow2014Discriminator(max_col_norms=(1.0, None))


def test_marginal_output_bias_is_pylearn2_formula():
  # Four toy images, each pixel's mean chosen by hand:
  #   pixel 0: 0, 0, 0, 0           -> mean 0, clipped to 1e-7
  #   pixel 1: 255, 255, 255, 255   -> mean 1, clipped to 1 - 1e-7
  #   pixel 2: 255, 0, 0, 0         -> mean 0.25
  #   pixel 3: 255, 255, 0, 0       -> mean 0.5
  #   pixel 4: 51, 51, 51, 51       -> mean 0.2 (51 / 255)
  #   other pixels 0.
  images = np.zeros((4, 28, 28), np.uint8)
  flat = images.reshape(4, 784)
  flat[:, 1] = 255
  flat[0, 2] = 255
  flat[:2, 3] = 255
  flat[:, 4] = 51
  bias = gf.marginal_output_bias(images)
  assert bias.shape == (784,) and bias.dtype == np.float32
  expected = np.full(784, np.log(1e-7 / (1 - 1e-7)))
  # pylearn2 works in float32, where 1 - 1e-7 rounds to 1 - 2^-23, so the
  # upper clip gives log((1 - 2^-23) / 2^-23) = log(2^23 - 1) = 15.94, not
  # log((1 - 1e-7) / 1e-7) = 16.12.
  expected[1] = np.log(2.**23 - 1)
  expected[2] = np.log(0.25 / 0.75)
  expected[3] = 0.
  expected[4] = np.log(0.2 / 0.8)
  # float32 rounding of the means (<= 6e-8) times d logit / d m
  # (<= 1 / (0.2 * 0.8) = 6.25) and of the log: well under 1e-5.
  np.testing.assert_allclose(bias, expected, rtol=0, atol=1e-5)

  # Float images in [0, 1] give the same bias as the uint8 ones.
  as_float = images.astype(np.float32) / 255.
  np.testing.assert_array_equal(gf.marginal_output_bias(as_float[..., None]),
                                bias)


def test_marginal_output_bias_rejects_what_pylearn2_rejects():
  images = np.zeros((2, 784), np.float32)
  images[0, 0] = 0.5  # Maximum 0.5, not 1.
  with pytest.raises(ConfigError):
    gf.marginal_output_bias(images)
  images[0, 0] = 1.
  images[:, 1:] = 0.2  # Pixel 0 of image 1 is still 0.
  gf.marginal_output_bias(images)  # Max 1, min 0: accepted.
  images[1, 0] = 0.2  # Now the minimum is 0.2.
  with pytest.raises(ConfigError):
    gf.marginal_output_bias(images)
  with pytest.raises(ConfigError):
    gf.marginal_output_bias(np.ones((3, 100), np.float32))
