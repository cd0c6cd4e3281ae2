"""Tests of paper_gans.networks.dcgan (Newmu/dcgan_code's DCGAN)."""

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import layers
from paper_gans.errors import ConfigError
from paper_gans.networks import dcgan

# Small widths keep the forward passes fast; parameter counts use the defaults.
SMALL = 8


def _theano_param_count_generator(nz, ngf, nc, num_layers):
  """Sum of the sizes of gen_params, as train_uncond_dcgan.py declares them.

  At 64x64 (num_layers 4): gw (nz, ngf*8*4*4), gg and gb (ngf*8*4*4),
  gw2 (ngf*8, ngf*4, 5, 5), gg2, gb2 (ngf*4), ..., gwx (ngf, nc, 5, 5).
  """
  base = ngf * 2 ** (num_layers - 1)
  count = nz * base * 4 * 4 + 2 * base * 4 * 4  # gw, gg, gb
  channels = base
  for _ in range(num_layers - 1):
    count += channels * (channels // 2) * 5 * 5 + 2 * (channels // 2)
    channels //= 2
  return count + channels * nc * 5 * 5  # gwx


def test_generator_parameter_count_matches_theano_script_at_64():
  # train_uncond_dcgan.py, nz=100, ngf=128, nc=3, written out layer by layer:
  expected = (100 * 128 * 8 * 4 * 4          # gw
              + 2 * 128 * 8 * 4 * 4          # gg, gb (per unit: 16384 each)
              + 128 * 8 * 128 * 4 * 5 * 5    # gw2
              + 2 * 128 * 4                  # gg2, gb2
              + 128 * 4 * 128 * 2 * 5 * 5    # gw3
              + 2 * 128 * 2                  # gg3, gb3
              + 128 * 2 * 128 * 5 * 5        # gw4
              + 2 * 128                      # gg4, gb4
              + 128 * 3 * 5 * 5)             # gwx
  assert expected == 18_885_760
  assert expected == _theano_param_count_generator(100, 128, 3, 4)
  generator = dcgan.DCGANGenerator()
  assert layers.count_parameters(generator) == expected


def test_discriminator_parameter_count_matches_theano_script_at_64():
  # discrim_params of train_uncond_dcgan.py, ndf=128, nc=3:
  expected = (128 * 3 * 5 * 5                # dw (no BN on the input layer)
              + 256 * 128 * 5 * 5 + 2 * 256  # dw2, dg2, db2
              + 512 * 256 * 5 * 5 + 2 * 512  # dw3, dg3, db3
              + 1024 * 512 * 5 * 5 + 2 * 1024  # dw4, dg4, db4
              + 1024 * 4 * 4 * 1)            # dwy, no bias
  assert expected == 17_232_768
  assert layers.count_parameters(dcgan.DCGANDiscriminator()) == expected


def test_parameter_counts_at_32():
  # Three stride-2 layers: G 4x4x4ngf -> 8x8x2ngf -> 16x16xngf -> 32x32xnc;
  # D ndf -> 2ndf -> 4ndf at 4x4 (the SVHN discriminator's shape).
  nz, ngf, ndf, nc = 100, 64, 64, 3
  expected_g = (nz * 4 * 4 * 4 * ngf + 2 * 4 * 4 * 4 * ngf
                + 4 * ngf * 2 * ngf * 25 + 2 * 2 * ngf
                + 2 * ngf * ngf * 25 + 2 * ngf
                + ngf * nc * 25)
  expected_d = (nc * ndf * 25
                + ndf * 2 * ndf * 25 + 2 * 2 * ndf
                + 2 * ndf * 4 * ndf * 25 + 2 * 4 * ndf
                + 4 * 4 * 4 * ndf)
  generator = dcgan.DCGANGenerator(image_size=32, ngf=ngf)
  discriminator = dcgan.DCGANDiscriminator(image_size=32, ndf=ndf)
  assert layers.count_parameters(generator) == expected_g
  assert layers.count_parameters(discriminator) == expected_d
  assert expected_g == _theano_param_count_generator(nz, ngf, nc, 3)


@pytest.mark.parametrize('image_size, num_deconvs', [(16, 2), (32, 3), (64, 4)])
def test_output_shapes_and_ranges(image_size, num_deconvs):
  generator = dcgan.DCGANGenerator(image_size=image_size, ngf=SMALL, seed=1)
  discriminator = dcgan.DCGANDiscriminator(image_size=image_size, ndf=SMALL,
                                           seed=2)
  assert len(generator.deconvs) + 1 == num_deconvs
  assert len(discriminator.convs) + 1 == num_deconvs
  assert generator.output_shape == (image_size, image_size, 3)
  assert generator.latent_dim == 100 and generator.num_classes is None
  assert discriminator.num_classes is None
  z = tf.random.stateless_uniform([4, 100], seed=(0, 1), minval=-1., maxval=1.)
  images = generator(z)
  assert images.shape == (4, image_size, image_size, 3)
  assert np.all(np.isfinite(images))
  # tanh output.
  assert np.all(np.abs(images) <= 1.)
  logits = discriminator(images)
  assert logits.shape == (4,)
  assert logits.dtype == tf.float32
  assert np.all(np.isfinite(logits))


def test_grayscale_channels():
  generator = dcgan.DCGANGenerator(image_size=32, channels=1, ngf=SMALL)
  discriminator = dcgan.DCGANDiscriminator(image_size=32, channels=1,
                                           ndf=SMALL)
  images = generator(tf.zeros([2, 100]) + 0.5)
  assert images.shape == (2, 32, 32, 1)
  assert discriminator(images).shape == (2,)


@pytest.mark.parametrize('image_size', [8, 12, 24, 48, 100, 0])
def test_bad_image_size_raises_config_error(image_size):
  with pytest.raises(ConfigError, match=f'image_size={image_size}'):
    dcgan.DCGANGenerator(image_size=image_size)
  with pytest.raises(ConfigError, match=f'image_size={image_size}'):
    dcgan.DCGANDiscriminator(image_size=image_size)


def test_architecture_details_from_the_script():
  generator = dcgan.DCGANGenerator(image_size=64, ngf=SMALL)
  # Projection: dense without bias, then batch norm PER UNIT (16 * 8 ngf).
  assert generator.project.b is None
  assert generator.project_bn.gamma.shape == (4 * 4 * 8 * SMALL,)
  assert generator.base_channels == 8 * SMALL
  # No bias anywhere but the batch-norm betas.
  for variable in generator.trainable_variables:
    assert variable.name.split('/')[-1] in ('w:0', 'gamma:0', 'beta:0')
  assert generator.output_deconv.b is None
  discriminator = dcgan.DCGANDiscriminator(image_size=64, ndf=SMALL)
  assert discriminator.logit.b is None
  assert discriminator.input_conv.b is None
  assert [bn.gamma.shape[0] for bn in discriminator.conv_bns] == [
      2 * SMALL, 4 * SMALL, 8 * SMALL]
  assert all(bn.epsilon == 1e-8 for bn in discriminator.conv_bns)


def test_initial_weight_statistics():
  # inits.Normal(scale=0.02) weights and Normal(loc=1, scale=0.02) gains.
  # With >= 16384 draws the standard error of the sample std is below
  # 0.02 / sqrt(2 * 16384) = 1.1e-4, so 10% (2e-3) is a > 15-sigma margin.
  generator = dcgan.DCGANGenerator(image_size=64, ngf=SMALL, seed=3)
  w = generator.project.w.numpy()
  assert abs(w.std() - 0.02) < 2e-3 and abs(w.mean()) < 2e-3
  gamma = generator.project_bn.gamma.numpy()
  assert abs(gamma.mean() - 1.) < 2e-3 and abs(gamma.std() - 0.02) < 2e-3
  assert np.all(generator.project_bn.beta.numpy() == 0.)


def test_variable_names_are_stable():
  generator = dcgan.DCGANGenerator(image_size=32, ngf=SMALL)
  names = sorted(v.name for v in generator.variables)
  assert names == sorted([
      'generator/project/w:0',
      'generator/project_bn/gamma:0', 'generator/project_bn/beta:0',
      'generator/project_bn/moving_mean:0',
      'generator/project_bn/moving_variance:0',
      'generator/deconv1/w:0', 'generator/deconv1_bn/gamma:0',
      'generator/deconv1_bn/beta:0', 'generator/deconv1_bn/moving_mean:0',
      'generator/deconv1_bn/moving_variance:0',
      'generator/deconv2/w:0', 'generator/deconv2_bn/gamma:0',
      'generator/deconv2_bn/beta:0', 'generator/deconv2_bn/moving_mean:0',
      'generator/deconv2_bn/moving_variance:0',
      'generator/deconv3/w:0',
  ])
  discriminator = dcgan.DCGANDiscriminator(image_size=32, ndf=SMALL)
  names = sorted(v.name for v in discriminator.trainable_variables)
  assert names == sorted([
      'discriminator/conv1/w:0',
      'discriminator/conv2/w:0', 'discriminator/conv2_bn/gamma:0',
      'discriminator/conv2_bn/beta:0',
      'discriminator/conv3/w:0', 'discriminator/conv3_bn/gamma:0',
      'discriminator/conv3_bn/beta:0',
      'discriminator/logit/w:0',
  ])


def test_seed_determinism():
  def weights(seed):
    generator = dcgan.DCGANGenerator(image_size=16, ngf=SMALL, seed=seed)
    discriminator = dcgan.DCGANDiscriminator(image_size=16, ndf=SMALL,
                                             seed=seed)
    return [v.numpy() for v in generator.variables + discriminator.variables]

  first, again, other = weights(7), weights(7), weights(8)
  for a, b in zip(first, again):
    np.testing.assert_array_equal(a, b)
  # Every randomly initialised tensor changes with the seed.
  changed = [not np.array_equal(a, b) for a, b in zip(first, other)]
  random_ones = [a.std() > 0 for a in first]
  assert changed == random_ones
  assert sum(random_ones) >= 5


def test_training_false_uses_moving_statistics():
  generator = dcgan.DCGANGenerator(image_size=16, ngf=SMALL, seed=4)
  z = tf.random.stateless_uniform([6, 100], seed=(1, 2), minval=-1., maxval=1.)
  moving_before = generator.project_bn.moving_mean.numpy().copy()
  # Eval mode leaves the moving averages alone and treats each example on
  # its own: example 0's output does not depend on the rest of the batch.
  # Measured at this seed: eval outputs ~1e-3 and bitwise equal; training
  # outputs ~0.07 whose example 0 moves by ~0.2 with the batch. 1e-6 allows
  # float32 round-off only; 1e-3 is far above it and far below the effect.
  eval_a = generator(z, training=False).numpy()
  eval_b = generator(tf.concat([z[:1], -z[1:]], 0), training=False).numpy()
  np.testing.assert_array_equal(generator.project_bn.moving_mean.numpy(),
                                moving_before)
  np.testing.assert_allclose(eval_a[0], eval_b[0], rtol=0, atol=1e-6)
  # Training mode normalises with batch statistics, so example 0 changes with
  # the rest of the batch, and the moving averages move.
  train_a = generator(z, training=True).numpy()
  train_b = generator(tf.concat([z[:1], -z[1:]], 0), training=True).numpy()
  assert np.abs(train_a[0] - train_b[0]).max() > 1e-3
  assert not np.array_equal(generator.project_bn.moving_mean.numpy(),
                            moving_before)
  discriminator = dcgan.DCGANDiscriminator(image_size=16, ndf=SMALL, seed=5)
  x = tf.random.stateless_uniform([5, 16, 16, 3], seed=(3, 4), minval=-1.,
                                  maxval=1.)
  # Measured: eval logits ~3e-3, identical for example 0; training logits
  # ~0.3, and example 0 moves by ~0.07 with the batch.
  d_a = discriminator(x, training=False).numpy()
  d_b = discriminator(tf.concat([x[:1], x[1:] * 0.5], 0),
                      training=False).numpy()
  assert abs(d_a[0] - d_b[0]) < 1e-7
  t_a = discriminator(x, training=True).numpy()
  t_b = discriminator(tf.concat([x[:1], x[1:] * 0.5], 0),
                      training=True).numpy()
  assert abs(t_a[0] - t_b[0]) > 1e-3


def test_labels_are_rejected():
  generator = dcgan.DCGANGenerator(image_size=16, ngf=SMALL)
  with pytest.raises(ValueError):
    generator(tf.zeros([2, 100]), labels=tf.constant([0, 1]))


# The 'SAME' vs Theano alignment identity stated in the module docstring.

def _rotate(x):
  return x[:, ::-1, ::-1, :]


def _flip_kernel(w):
  return w[::-1, ::-1]


def _theano_deconv(x, w):
  """lib/ops.py deconv(x, w, subsample=(2, 2), border_mode=(2, 2)), NHWC.

  The gradient of a 5x5 stride-2 convolution padded by 2: the full transposed
  convolution has 2n + 3 rows, of which rows 2 .. 2n + 1 belong to the
  (unpadded) input of that convolution.
  """
  n = x.shape[1]
  full = 2 * n + 3
  y = tf.nn.conv2d_transpose(x, w, [x.shape[0], full, full, w.shape[2]],
                             strides=2, padding='VALID')
  return y[:, 2:2 * n + 2, 2:2 * n + 2, :]


def _theano_conv(x, w):
  """dnn_conv(x, w, subsample=(2, 2), border_mode=(2, 2)) as a correlation."""
  x = tf.pad(x, [[0, 0], [2, 2], [2, 2], [0, 0]])
  return tf.nn.conv2d(x, w, strides=2, padding='VALID')


def test_same_deconv_is_rotated_theano_deconv():
  rng = np.random.default_rng(0)
  x = tf.constant(rng.normal(size=(2, 4, 4, 3)), tf.float32)
  layer = layers.ConvTranspose2D(3, 5, 5, 2, 'SAME', (0, 1),
                                 layers.normal_initializer(1.), use_bias=False)
  ours = layer(x)
  theirs = _rotate(_theano_deconv(_rotate(x), _flip_kernel(layer.w)))
  assert ours.shape == theirs.shape == (2, 8, 8, 5)
  # Float32 sums of ~20 products of N(0,1) terms: 1e-4 absolute is ~1e3 ulps
  # of slack yet far below the O(1) values a misalignment would change.
  np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4)
  # ...and the alignment genuinely differs without the rotation.
  assert np.abs(ours - _theano_deconv(x, layer.w)).max() > 0.1


def test_same_conv_is_rotated_theano_conv():
  rng = np.random.default_rng(1)
  x = tf.constant(rng.normal(size=(2, 8, 8, 3)), tf.float32)
  layer = layers.Conv2D(3, 5, 5, 2, 'SAME', (0, 2),
                        layers.normal_initializer(1.), use_bias=False)
  ours = layer(x)
  theirs = _rotate(_theano_conv(_rotate(x), _flip_kernel(layer.w)))
  assert ours.shape == theirs.shape == (2, 4, 4, 5)
  np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4)  # as above
  assert np.abs(ours - _theano_conv(x, layer.w)).max() > 0.1
