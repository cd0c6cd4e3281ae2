"""Tests of paper_gans.networks.wgan_gp (Gulrajani et al. 2017)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import layers
from paper_gans.networks import wgan_gp


@pytest.fixture(scope='module')
def toy_pair():
  return wgan_gp.ToyGenerator(seed=1), wgan_gp.ToyCritic(seed=1)


@pytest.fixture(scope='module')
def mnist_pair():
  return wgan_gp.MnistGenerator(seed=1), wgan_gp.MnistCritic(seed=1)


def test_toy_shapes(toy_pair):
  generator, critic = toy_pair
  assert generator.latent_dim == 2 and generator.output_shape == (2,)
  assert generator.num_classes is None and critic.num_classes is None
  samples = generator(tf.random.normal([9, 2], seed=0))
  assert samples.shape == (9, 2)
  assert critic(samples).shape == (9,)


def test_mnist_shapes(mnist_pair):
  generator, critic = mnist_pair
  assert generator.latent_dim == 128
  assert generator.output_shape == (28, 28, 1)
  assert generator.num_classes is None and critic.num_classes is None
  images = generator(tf.random.normal([5, 128], seed=0))
  assert images.shape == (5, 28, 28, 1)
  assert critic(images).shape == (5,)


def test_mnist_shapes_with_another_dim():
  generator = wgan_gp.MnistGenerator(latent_dim=16, dim=8)
  critic = wgan_gp.MnistCritic(dim=8)
  images = generator(tf.random.normal([3, 16], seed=0))
  assert images.shape == (3, 28, 28, 1)
  assert critic(images).shape == (3,)


def test_parameter_counts():
  # gan_toy.py, DIM = 512: ReLULayer 2->512, 512->512, 512->512, Linear out;
  # each tflib Linear holds W [in, out] and b [out].
  toy_hidden = (2 * 512 + 512) + 2 * (512 * 512 + 512)
  assert toy_hidden == 526_848
  assert toy_hidden + (512 * 2 + 2) == 527_874
  assert toy_hidden + (512 * 1 + 1) == 527_361
  assert layers.count_parameters(wgan_gp.ToyGenerator()) == 527_874
  assert layers.count_parameters(wgan_gp.ToyCritic()) == 527_361

  # gan_mnist.py, DIM = 64, MODE 'wgan-gp' (no batch norm). tflib Deconv2D
  # holds Filters [5, 5, out, in] and Biases [out]; Conv2D Filters
  # [5, 5, in, out] and Biases [out].
  dim = 64
  g_input = 128 * (4 * 4 * 4 * dim) + 4 * 4 * 4 * dim  # 528,384
  g_deconv2 = 5 * 5 * (2 * dim) * (4 * dim) + 2 * dim  # 819,328
  g_deconv3 = 5 * 5 * dim * (2 * dim) + dim  # 204,864
  g_deconv5 = 5 * 5 * 1 * dim + 1  # 1,601
  assert g_input + g_deconv2 + g_deconv3 + g_deconv5 == 1_554_177
  assert layers.count_parameters(wgan_gp.MnistGenerator()) == 1_554_177

  d_conv1 = 5 * 5 * 1 * dim + dim  # 1,664
  d_conv2 = 5 * 5 * dim * (2 * dim) + 2 * dim  # 204,928
  d_conv3 = 5 * 5 * (2 * dim) * (4 * dim) + 4 * dim  # 819,456
  d_output = 4 * 4 * 4 * dim * 1 + 1  # 4,097
  assert d_conv1 + d_conv2 + d_conv3 + d_output == 1_030_145
  assert layers.count_parameters(wgan_gp.MnistCritic()) == 1_030_145


def test_variable_names_are_stable(toy_pair, mnist_pair):
  toy_generator, toy_critic = toy_pair
  generator, critic = mnist_pair
  assert sorted(v.name for v in toy_generator.trainable_variables) == [
      f'generator/layer{i}/{p}:0' for i in range(1, 5) for p in 'bw']
  assert sorted(v.name for v in toy_critic.trainable_variables) == [
      f'discriminator/layer{i}/{p}:0' for i in range(1, 5) for p in 'bw']
  assert sorted(v.name for v in generator.trainable_variables) == [
      'generator/deconv2/b:0', 'generator/deconv2/w:0',
      'generator/deconv3/b:0', 'generator/deconv3/w:0',
      'generator/deconv5/b:0', 'generator/deconv5/w:0',
      'generator/input/b:0', 'generator/input/w:0']
  assert sorted(v.name for v in critic.trainable_variables) == [
      'discriminator/conv1/b:0', 'discriminator/conv1/w:0',
      'discriminator/conv2/b:0', 'discriminator/conv2/w:0',
      'discriminator/conv3/b:0', 'discriminator/conv3/w:0',
      'discriminator/output/b:0', 'discriminator/output/w:0']
  # MODE 'wgan-gp' has no batch norm: no moving statistics anywhere.
  for module in [*toy_pair, *mnist_pair]:
    assert len(module.variables) == len(module.trainable_variables)


def _check_uniform(weights, stdev):
  """Weights look like U(-stdev sqrt(3), stdev sqrt(3))."""
  bound = stdev * math.sqrt(3)
  values = weights.numpy()
  assert np.abs(values).max() <= bound * (1 + 1e-6)
  # Every layer here has >= 1024 weights: P(max |w| < 0.95 bound) = 0.95^n
  # < 1e-22, so a range 5% too small fails.
  assert np.abs(values).max() > 0.95 * bound
  # Relative standard error of the sample std of n uniform draws is about
  # 0.45 / sqrt(n) <= 1.4%; 7% is a 5-sigma bound.
  np.testing.assert_allclose(values.std(), stdev, rtol=0.07)


def test_toy_initialisation_is_tflib(toy_pair):
  for mlp in toy_pair:
    in_features = mlp.layer1.w.shape[0]
    out_features = mlp.layer4.w.shape[1]
    # tflib Linear 'he': stdev sqrt(2 / input_dim).
    _check_uniform(mlp.layer1.w, math.sqrt(2 / in_features))
    _check_uniform(mlp.layer2.w, math.sqrt(2 / 512))
    _check_uniform(mlp.layer3.w, math.sqrt(2 / 512))
    # tflib Linear default ('glorot'): stdev sqrt(2 / (input + output)).
    _check_uniform(mlp.layer4.w, math.sqrt(2 / (512 + out_features)))
    for layer in [mlp.layer1, mlp.layer2, mlp.layer3, mlp.layer4]:
      assert not np.any(layer.b.numpy())


def test_mnist_initialisation_is_tflib(mnist_pair):
  generator, critic = mnist_pair
  # Fans by hand, DIM = 64, 5x5 kernels, stride 2 (tflib divides by
  # stride**2 the fan_out of Conv2D and the fan_in of Deconv2D).
  _check_uniform(generator.input.w, math.sqrt(2 / (128 + 4096)))
  _check_uniform(generator.deconv2.w, math.sqrt(4 / (256 * 25 / 4 + 128 * 25)))
  _check_uniform(generator.deconv3.w, math.sqrt(4 / (128 * 25 / 4 + 64 * 25)))
  _check_uniform(generator.deconv5.w, math.sqrt(4 / (64 * 25 / 4 + 1 * 25)))
  _check_uniform(critic.conv1.w, math.sqrt(4 / (1 * 25 + 64 * 25 / 4)))
  _check_uniform(critic.conv2.w, math.sqrt(4 / (64 * 25 + 128 * 25 / 4)))
  _check_uniform(critic.conv3.w, math.sqrt(4 / (128 * 25 + 256 * 25 / 4)))
  _check_uniform(critic.output.w, math.sqrt(2 / (4096 + 1)))
  # Kernel layouts: Deconv2D [k, k, out, in], Conv2D [k, k, in, out].
  assert generator.deconv2.w.shape == (5, 5, 128, 256)
  assert critic.conv3.w.shape == (5, 5, 128, 256)
  for module in mnist_pair:
    for variable in module.trainable_variables:
      if variable.name.endswith('/b:0'):
        assert not np.any(variable.numpy())


def test_python2_integer_division_in_fans():
  # dim = 3: tflib's Conv2D fan_out = 3 * 25 / 4 is 18 in Python 2, not 18.75.
  critic = wgan_gp.MnistCritic(dim=3, seed=0)
  # Only 75 weights in conv1, so check the bound, not the statistics.
  bound = math.sqrt(4 / (25 + 18)) * math.sqrt(3)
  assert np.abs(critic.conv1.w.numpy()).max() <= bound * (1 + 1e-6)
  init = wgan_gp.conv2d_he_init(1, 3, 5, 2)
  draws = init([100_000], (0, 0)).numpy()
  # With 1e5 draws, P(max < (1 - 1e-3) bound) = (1 - 1e-3)^1e5 = e^-100; the
  # float division would give a bound 0.86% smaller.
  np.testing.assert_allclose(np.abs(draws).max(), bound, rtol=1e-3)


def test_same_seed_same_weights_different_seed_different():
  for make in [wgan_gp.ToyGenerator, wgan_gp.ToyCritic,
               wgan_gp.MnistGenerator, wgan_gp.MnistCritic]:
    first, again, other = make(seed=4), make(seed=4), make(seed=5)
    for a, b, c in zip(first.trainable_variables, again.trainable_variables,
                       other.trainable_variables):
      np.testing.assert_array_equal(a.numpy(), b.numpy())
      if np.any(a.numpy()):  # Zero biases are equal for every seed.
        assert not np.array_equal(a.numpy(), c.numpy())


def test_outputs_finite_ranges_and_training_flag(toy_pair, mnist_pair):
  z_toy = tf.random.normal([16, 2], seed=1)
  z_mnist = tf.random.normal([16, 128], seed=1)
  for (generator, critic), z in [(toy_pair, z_toy), (mnist_pair, z_mnist)]:
    samples = generator(z)
    scores = critic(samples)
    assert np.all(np.isfinite(samples.numpy()))
    assert np.all(np.isfinite(scores.numpy()))
    # No batch norm or dropout: training=False computes the same function,
    # and the critic ignores a dropout seed.
    np.testing.assert_array_equal(samples.numpy(),
                                  generator(z, training=False).numpy())
    np.testing.assert_array_equal(
        scores.numpy(),
        critic(samples, training=False, seed=tf.constant([1, 2])).numpy())
  images = mnist_pair[0](z_mnist).numpy()
  assert images.min() >= 0. and images.max() <= 1.  # Sigmoid output.


def test_mnist_generator_crops_to_top_left_7x7():
  generator = wgan_gp.MnistGenerator(seed=2)
  z = tf.random.normal([2, 128], seed=3)
  # Recompute the generator by hand up to the crop, and on from there.
  h = tf.nn.relu(generator.input(z))
  h = tf.transpose(tf.reshape(h, [-1, 256, 4, 4]), [0, 2, 3, 1])
  h = tf.nn.relu(generator.deconv2(h))  # [2, 8, 8, 128]
  assert h.shape == (2, 8, 8, 128)
  cropped = h[:, :7, :7, :]
  expected = tf.sigmoid(generator.deconv5(
      tf.nn.relu(generator.deconv3(cropped))))
  np.testing.assert_array_equal(generator(z).numpy(), expected.numpy())
  # Cropping the bottom-right 7x7 instead gives a different image.
  other = tf.sigmoid(generator.deconv5(
      tf.nn.relu(generator.deconv3(h[:, 1:, 1:, :]))))
  assert not np.allclose(generator(z).numpy(), other.numpy())


def test_mnist_critic_flattens_in_nchw_order():
  critic = wgan_gp.MnistCritic(seed=3)
  x = tf.random.uniform([2, 28, 28, 1], seed=4)
  features = layers.leaky_relu(critic.conv1(x), 0.2)
  features = layers.leaky_relu(critic.conv2(features), 0.2)
  features = layers.leaky_relu(critic.conv3(features), 0.2).numpy()
  assert features.shape == (2, 4, 4, 256)
  # Only the weight of NCHW flat index c * 16 + h * 4 + w is non-zero, so
  # the score is the feature at (h, w, c), as in the authors' reshape of
  # [B, 4 * DIM, 4, 4].
  h, w, c = 1, 2, 37
  weights = np.zeros([4096, 1], np.float32)
  weights[c * 16 + h * 4 + w, 0] = 1.
  critic.output.w.assign(weights)
  np.testing.assert_allclose(critic(x).numpy(), features[:, h, w, c],
                             rtol=1e-6)


def test_critic_input_gradient_for_the_penalty(toy_pair, mnist_pair):
  # The gradient penalty differentiates the critic with respect to its input;
  # it must exist and be finite and non-zero for both critics.
  for critic, shape in [(toy_pair[1], [4, 2]), (mnist_pair[1], [4, 28, 28, 1])]:
    x = tf.random.uniform(shape, seed=5)
    with tf.GradientTape() as tape:
      tape.watch(x)
      scores = critic(x)
    gradients = tape.gradient(scores, x).numpy()
    assert np.all(np.isfinite(gradients)) and np.any(gradients)
