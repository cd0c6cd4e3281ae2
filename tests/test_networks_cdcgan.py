"""Tests of paper_gans.networks.cdcgan (conditional DCGANs on MNIST)."""

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import layers
from paper_gans.networks import cdcgan

PRESETS = {
    'seed': (cdcgan.SeedCDCGANGenerator, cdcgan.SeedCDCGANDiscriminator),
    'newmu': (cdcgan.NewmuCondGenerator, cdcgan.NewmuCondDiscriminator),
}
LABELS = tf.constant([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], tf.int32)


def _z(batch, preset, seed=(0, 1)):
  # Each preset's own latent distribution: N(0, 1) (twin), U(-1, 1) (Newmu).
  if preset == 'seed':
    return tf.random.stateless_normal([batch, 100], seed=seed)
  return tf.random.stateless_uniform([batch, 100], seed=seed, minval=-1.,
                                     maxval=1.)


def test_seed_preset_parameter_counts():
  # tensorflow_MNIST_cDCGAN.py, every tf.layers layer with a bias, BN with
  # gamma and beta (moving statistics are not trainable in TF1 either):
  expected_g = (110 * 256 * 7 * 7 + 256      # deconv1 7x7 valid on [z|y]
                + 2 * 256                    # BN
                + 256 * 128 * 5 * 5 + 128    # deconv2
                + 2 * 128                    # BN
                + 128 * 1 * 5 * 5 + 1)       # deconv3
  expected_d = (11 * 128 * 5 * 5 + 128       # conv1 on [x | 10 label maps]
                + 128 * 256 * 5 * 5 + 256    # conv2
                + 2 * 256                    # BN
                + 256 * 1 * 7 * 7 + 1)       # conv3 7x7 valid
  assert (expected_g, expected_d) == (2_203_393, 867_841)
  assert layers.count_parameters(cdcgan.SeedCDCGANGenerator()) == expected_g
  assert layers.count_parameters(cdcgan.SeedCDCGANDiscriminator()) == \
      expected_d


def test_newmu_preset_parameter_counts():
  # train_cond_dcgan.py: gen_params = [gw, gw2, gw3, gwx] and
  # discrim_params = [dw, dw2, dw3, dwy]; batchnorm has no parameters there.
  nz, ny, ngf, ngfc, ndf, ndfc, nc = 100, 10, 64, 1024, 64, 1024, 1
  expected_g = ((nz + ny) * ngfc                 # gw
                + (ngfc + ny) * ngf * 2 * 7 * 7  # gw2
                + (ngf * 2 + ny) * ngf * 5 * 5   # gw3
                + (ngf + ny) * nc * 5 * 5)       # gwx
  expected_d = (ndf * (nc + ny) * 5 * 5          # dw
                + ndf * 2 * (ndf + ny) * 5 * 5   # dw2
                + (ndf * 2 * 7 * 7 + ny) * ndfc  # dw3
                + (ndfc + ny) * 1)               # dwy
  assert (expected_g, expected_d) == (6_820_538, 6_688_202)
  generator = cdcgan.NewmuCondGenerator()
  discriminator = cdcgan.NewmuCondDiscriminator()
  assert layers.count_parameters(generator) == expected_g
  assert layers.count_parameters(discriminator) == expected_d
  # No batch-norm gains or biases, and no layer biases.
  for variable in generator.trainable_variables + \
      discriminator.trainable_variables:
    assert variable.name.endswith('/w:0')


@pytest.mark.parametrize('preset', ['seed', 'newmu'])
def test_shapes_ranges_and_attributes(preset):
  generator_cls, discriminator_cls = PRESETS[preset]
  generator = generator_cls(seed=1)
  discriminator = discriminator_cls(seed=2)
  assert generator.latent_dim == 100
  assert generator.num_classes == 10 and discriminator.num_classes == 10
  assert generator.output_shape == (28, 28, 1)
  images = generator(_z(10, preset), LABELS)
  assert images.shape == (10, 28, 28, 1)
  assert np.all(np.isfinite(images))
  if preset == 'seed':  # tanh
    assert np.all(np.abs(images) <= 1.)
  else:  # sigmoid
    assert np.all((images >= 0.) & (images <= 1.))
  logits = discriminator(images, LABELS)
  assert logits.shape == (10,) and logits.dtype == tf.float32
  assert np.all(np.isfinite(logits))


@pytest.mark.parametrize('preset', ['seed', 'newmu'])
def test_labels_change_the_outputs(preset):
  generator_cls, discriminator_cls = PRESETS[preset]
  generator = generator_cls(seed=3)
  discriminator = discriminator_cls(seed=4)
  # The same z for every class, as in the 10x10 picture of record. Eval mode
  # so that each output depends on its own (z, label) only.
  z = tf.repeat(_z(1, preset), 10, axis=0)
  images = generator(z, LABELS, training=False).numpy()
  # Measured at initialisation: images of two classes differ by > 1e-2 in
  # their largest pixel; float32 round-off is ~1e-7, so > 1e-5 only fails if
  # the label does not reach the output.
  for a in range(10):
    for b in range(a + 1, 10):
      assert np.abs(images[a] - images[b]).max() > 1e-5, (a, b)
  # The discriminator's logit for one image depends on the label it is given.
  x = tf.repeat(tf.constant(images[:1]), 10, axis=0)
  logits = discriminator(x, LABELS, training=False).numpy()
  # Measured: the closest two of the ten logits are 7e-4 apart.
  assert np.diff(np.sort(logits)).min() > 1e-5


@pytest.mark.parametrize('preset', ['seed', 'newmu'])
def test_labels_are_required_and_checked(preset):
  generator_cls, discriminator_cls = PRESETS[preset]
  generator = generator_cls()
  discriminator = discriminator_cls()
  with pytest.raises(ValueError):
    generator(_z(2, preset))
  with pytest.raises(ValueError):
    discriminator(tf.zeros([2, 28, 28, 1]))
  with pytest.raises(tf.errors.InvalidArgumentError):
    generator(_z(2, preset), tf.constant([3, 10], tf.int32))
  with pytest.raises(tf.errors.InvalidArgumentError):
    discriminator(tf.zeros([2, 28, 28, 1]), tf.constant([-1, 0], tf.int32))


def test_seed_preset_architecture_details():
  generator = cdcgan.SeedCDCGANGenerator()
  # 7x7 valid transposed conv on the 110-channel 1x1 [z | y].
  assert generator.deconv1.w.shape == (7, 7, 256, 110)
  assert generator.deconv1.b is not None
  # tf.layers.batch_normalization defaults: epsilon 1e-3, momentum 0.99.
  assert generator.bn1.epsilon == 1e-3
  assert abs(generator.bn1.momentum - 0.01) < 1e-12
  np.testing.assert_array_equal(generator.bn1.gamma.numpy(), np.ones(256))
  # tf.truncated_normal_initializer(stddev=0.02): nothing beyond 2 stddev.
  w = generator.deconv2.w.numpy()
  assert np.abs(w).max() <= 0.04
  # The truncated N(0, 0.02^2) has std 0.02 * 0.880 = 0.0176; 819,200 draws
  # give a s.e. of ~1.4e-5, so 5e-4 is a > 30-sigma margin that still
  # rejects an untruncated N(0, 0.02) (std 0.02).
  assert abs(w.std() - 0.0176) < 5e-4
  discriminator = cdcgan.SeedCDCGANDiscriminator()
  assert discriminator.conv1.w.shape == (5, 5, 11, 128)
  assert discriminator.conv3.w.shape == (7, 7, 256, 1)


def test_newmu_preset_architecture_details():
  generator = cdcgan.NewmuCondGenerator()
  # y is concatenated at every layer: 110 -> 1024, 1034 -> 6272,
  # 138 -> 64 (5x5), 74 -> 1 (5x5).
  assert generator.fc1.w.shape == (110, 1024)
  assert generator.fc2.w.shape == (1034, 128 * 7 * 7)
  assert generator.deconv1.w.shape == (5, 5, 64, 138)
  assert generator.deconv2.w.shape == (5, 5, 1, 74)
  assert generator.fc1_bn.gamma is None and generator.fc1_bn.epsilon == 1e-8
  discriminator = cdcgan.NewmuCondDiscriminator()
  assert discriminator.conv1.w.shape == (5, 5, 11, 64)
  assert discriminator.conv2.w.shape == (5, 5, 74, 128)
  assert discriminator.fc3.w.shape == (128 * 7 * 7 + 10, 1024)
  assert discriminator.logit.w.shape == (1034, 1)
  # Batch norm without gain: with training=True every unit of the first
  # dense layer is exactly standardised over the batch (eps 1e-8 is
  # negligible against variances of ~1e-2).
  z = _z(16, 'newmu')
  y = tf.one_hot(tf.range(16) % 10, 10)
  h = generator.fc1_bn(generator.fc1(tf.concat([z, y], 1)), True).numpy()
  np.testing.assert_allclose(h.mean(0), 0., atol=1e-5)
  np.testing.assert_allclose(h.std(0), 1., atol=1e-4)


@pytest.mark.parametrize('preset', ['seed', 'newmu'])
def test_variable_names_are_stable(preset):
  generator_cls, discriminator_cls = PRESETS[preset]
  generator_names = sorted(v.name for v in generator_cls().trainable_variables)
  discriminator_names = sorted(
      v.name for v in discriminator_cls().trainable_variables)
  if preset == 'seed':
    assert generator_names == sorted(
        [f'generator/deconv{i}/{p}:0' for i in (1, 2, 3) for p in ('w', 'b')]
        + [f'generator/bn{i}/{p}:0' for i in (1, 2)
           for p in ('gamma', 'beta')])
    assert discriminator_names == sorted(
        [f'discriminator/conv{i}/{p}:0' for i in (1, 2, 3)
         for p in ('w', 'b')]
        + ['discriminator/bn2/gamma:0', 'discriminator/bn2/beta:0'])
  else:
    assert generator_names == sorted(
        f'generator/{n}/w:0' for n in ('fc1', 'fc2', 'deconv1', 'deconv2'))
    assert discriminator_names == sorted(
        f'discriminator/{n}/w:0' for n in ('conv1', 'conv2', 'fc3', 'logit'))


@pytest.mark.parametrize('preset', ['seed', 'newmu'])
def test_seed_determinism(preset):
  generator_cls, discriminator_cls = PRESETS[preset]

  def weights(seed):
    return [v.numpy() for m in (generator_cls(seed=seed),
                                discriminator_cls(seed=seed))
            for v in m.trainable_variables if v.name.endswith('/w:0')]

  first, again, other = weights(5), weights(5), weights(6)
  for a, b in zip(first, again):
    np.testing.assert_array_equal(a, b)
  for a, b in zip(first, other):
    assert not np.array_equal(a, b)


@pytest.mark.parametrize('preset', ['seed', 'newmu'])
def test_training_false_uses_moving_statistics(preset):
  generator_cls, _ = PRESETS[preset]
  generator = generator_cls(seed=7)
  z = _z(6, preset, seed=(2, 3))
  labels = tf.constant([1, 2, 3, 4, 5, 6], tf.int32)
  z_other = tf.concat([z[:1], -z[1:]], 0)
  before = [v.numpy().copy() for v in generator.variables
            if 'moving' in v.name]
  eval_a = generator(z, labels, training=False).numpy()
  eval_b = generator(z_other, labels, training=False).numpy()
  after = [v.numpy() for v in generator.variables if 'moving' in v.name]
  for a, b in zip(before, after):
    np.testing.assert_array_equal(a, b)
  # Bitwise equal in eval mode (measured); 1e-6 allows float32 round-off.
  np.testing.assert_allclose(eval_a[0], eval_b[0], rtol=0, atol=1e-6)
  train_a = generator(z, labels, training=True).numpy()
  train_b = generator(z_other, labels, training=True).numpy()
  # Batch statistics couple the examples: example 0 moves by > 1e-3.
  assert np.abs(train_a[0] - train_b[0]).max() > 1e-3
  moved = [v.numpy() for v in generator.variables if 'moving' in v.name]
  assert any(not np.array_equal(a, b) for a, b in zip(before, moved))
