"""Tests of paper_gans.networks.wgan (martinarjovsky/WassersteinGAN's networks)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import layers
from paper_gans.errors import ConfigError
from paper_gans.networks import wgan

SMALL = 8  # Width for the forward-pass tests; counts use main.py's defaults.


def _pytorch_dcgan_g_count(isize, nz, nc, ngf, n_extra, batch_norm=True):
  """sum(p.numel() for p in DCGAN_G(...).parameters()), following models/dcgan.py.

  ConvTranspose2d weights are (in, out, 4, 4) without bias; BatchNorm2d has a
  weight and a bias per channel (running stats are buffers, not parameters).
  """
  bn = 2 if batch_norm else 0
  cngf, tisize = ngf // 2, 4
  while tisize != isize:
    cngf, tisize = cngf * 2, tisize * 2
  count = nz * cngf * 4 * 4 + bn * cngf
  csize = 4
  while csize < isize // 2:
    count += cngf * (cngf // 2) * 4 * 4 + bn * (cngf // 2)
    cngf, csize = cngf // 2, csize * 2
  count += n_extra * (cngf * cngf * 3 * 3 + bn * cngf)
  return count + cngf * nc * 4 * 4


def _pytorch_dcgan_d_count(isize, nc, ndf, n_extra):
  """sum(p.numel() for p in DCGAN_D(...).parameters()), following models/dcgan.py."""
  count = nc * ndf * 4 * 4
  csize, cndf = isize // 2, ndf
  count += n_extra * (cndf * cndf * 3 * 3 + 2 * cndf)
  while csize > 4:
    count += cndf * cndf * 2 * 4 * 4 + 2 * cndf * 2
    cndf, csize = cndf * 2, csize // 2
  return count + cndf * 1 * 4 * 4


def test_default_parameter_counts_written_out():
  # DCGAN_G(64, nz=100, nc=3, ngf=64): 100->512 (4x4), 512->256, 256->128,
  # 128->64, 64->3, each ConvTranspose2d 4x4 without bias, BN on all but last.
  expected_g = (100 * 512 * 16 + 2 * 512
                + 512 * 256 * 16 + 2 * 256
                + 256 * 128 * 16 + 2 * 128
                + 128 * 64 * 16 + 2 * 64
                + 64 * 3 * 16)
  # DCGAN_D(64, nc=3, ndf=64): 3->64 (no BN), 64->128, 128->256, 256->512
  # (with BN), 512->1 (4x4 valid); all Conv2d 4x4 without bias.
  expected_d = (3 * 64 * 16
                + 64 * 128 * 16 + 2 * 128
                + 128 * 256 * 16 + 2 * 256
                + 256 * 512 * 16 + 2 * 512
                + 512 * 1 * 16)
  # PyTorch counts the same (see PYTORCH_MEASURED_COUNTS).
  assert expected_g == 3_576_704
  assert expected_d == 2_765_568
  assert layers.count_parameters(wgan.WGANDCGANGenerator()) == expected_g
  assert layers.count_parameters(wgan.WGANDCGANCritic()) == expected_d


# sum(p.numel() for p in net.parameters()) measured with PyTorch 2.11 on
# nn.Sequential rebuilds of DCGAN_G / DCGAN_D (models/dcgan.py), nz 100,
# nc 3, ngf = ndf = 64: (image_size, n_extra_layers, G, D).
PYTORCH_MEASURED_COUNTS = [
    (32, 0, 1_068_928, 663_296),
    (32, 2, 1_142_912, 737_280),
    (64, 0, 3_576_704, 2_765_568),
    (64, 2, 3_650_688, 2_839_552),
]


@pytest.mark.parametrize('image_size, n_extra_layers, torch_g, torch_d',
                         PYTORCH_MEASURED_COUNTS)
def test_parameter_counts_follow_pytorch(image_size, n_extra_layers, torch_g,
                                         torch_d):
  assert _pytorch_dcgan_g_count(image_size, 100, 3, 64,
                                n_extra_layers) == torch_g
  assert _pytorch_dcgan_d_count(image_size, 3, 64, n_extra_layers) == torch_d
  generator = wgan.WGANDCGANGenerator(image_size=image_size,
                                      n_extra_layers=n_extra_layers)
  critic = wgan.WGANDCGANCritic(image_size=image_size,
                                n_extra_layers=n_extra_layers)
  assert layers.count_parameters(generator) == torch_g
  assert layers.count_parameters(critic) == torch_d


def test_nobn_generator_count_and_no_batch_norm():
  generator = wgan.WGANDCGANGenerator(batch_norm=False)
  # DCGAN_G_nobn: the same convolutions, no BatchNorm2d parameters.
  expected = 100 * 512 * 16 + 512 * 256 * 16 + 256 * 128 * 16 + 128 * 64 * 16 \
      + 64 * 3 * 16
  assert expected == _pytorch_dcgan_g_count(64, 100, 3, 64, 0, False)
  assert expected == 3_574_784  # measured with PyTorch 2.11 (DCGAN_G_nobn)
  assert layers.count_parameters(generator) == expected
  assert not any('bn' in v.name for v in generator.variables)
  z = tf.random.stateless_normal([3, 100], seed=(0, 0))
  # Without batch norm, training and inference modes compute the same thing.
  np.testing.assert_array_equal(generator(z, training=True),
                                generator(z, training=False))
  critic = wgan.WGANDCGANCritic(batch_norm=False, ndf=SMALL)
  assert not any('bn' in v.name for v in critic.variables)


def test_mlp_generator_count():
  # MLP_G(64, nz=100, nc=3, ngf): four nn.Linear layers, all with biases.
  def expected(ngf):
    return ((100 * ngf + ngf) + 2 * (ngf * ngf + ngf)
            + (ngf * 3 * 64 * 64 + 3 * 64 * 64))

  # 6,880,768 and 813,504 measured with PyTorch 2.11 on nn.Sequential
  # rebuilds of MLP_G(64, 100, 3, ngf).
  assert expected(512) == 6_880_768
  assert expected(64) == 813_504
  assert layers.count_parameters(wgan.WGANMLPGenerator(ngf=512)) == \
      expected(512)
  assert layers.count_parameters(wgan.WGANMLPGenerator()) == expected(64)


@pytest.mark.parametrize('image_size', [32, 64])
@pytest.mark.parametrize('n_extra_layers', [0, 1])
def test_output_shapes_and_ranges(image_size, n_extra_layers):
  generator = wgan.WGANDCGANGenerator(image_size=image_size, ngf=SMALL,
                                      n_extra_layers=n_extra_layers, seed=1)
  critic = wgan.WGANDCGANCritic(image_size=image_size, ndf=SMALL,
                                n_extra_layers=n_extra_layers, seed=2)
  assert len(generator.extra_convs) == n_extra_layers
  assert len(critic.extra_convs) == n_extra_layers
  assert generator.output_shape == (image_size, image_size, 3)
  assert generator.latent_dim == 100 and generator.num_classes is None
  assert critic.num_classes is None
  z = tf.random.stateless_normal([4, 100], seed=(0, 1))
  images = generator(z)
  assert images.shape == (4, image_size, image_size, 3)
  assert np.all(np.isfinite(images)) and np.all(np.abs(images) <= 1.)
  scores = critic(images)
  # Per-example scores, not the code's batch mean.
  assert scores.shape == (4,) and scores.dtype == tf.float32
  assert np.all(np.isfinite(scores))


def test_mlp_generator_shape_and_unbounded_output():
  generator = wgan.WGANMLPGenerator(image_size=16, channels=3, ngf=32, seed=3)
  z = tf.random.stateless_normal([5, 100], seed=(2, 3)) * 50.
  images = generator(z)
  assert images.shape == (5, 16, 16, 3)
  assert np.all(np.isfinite(images))
  # MLP_G has no output activation: large z gives values outside [-1, 1]
  # (a tanh would keep them inside).
  assert np.abs(images).max() > 1.


def test_mlp_layout_is_pytorch_view():
  # out.view(B, nc, isize, isize): output unit c*H*W + h*W + w is pixel
  # (h, w) of channel c. Put a bias on one unit and check where it lands.
  generator = wgan.WGANMLPGenerator(image_size=4, channels=2, ngf=8)
  generator.linear6.w.assign(tf.zeros_like(generator.linear6.w))
  bias = np.zeros(2 * 4 * 4, np.float32)
  bias[1 * 16 + 2 * 4 + 3] = 1.  # channel 1, row 2, column 3
  generator.linear6.b.assign(bias)
  images = generator(tf.zeros([1, 100])).numpy()
  assert images[0, 2, 3, 1] == 1.
  assert images.sum() == 1.


def test_mlp_init_is_pytorch_linear_default():
  # nn.Linear: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  generator = wgan.WGANMLPGenerator(image_size=16, ngf=512, seed=4)
  for layer, fan_in in [(generator.linear0, 100), (generator.linear2, 512),
                        (generator.linear6, 512)]:
    bound = 1. / math.sqrt(fan_in)
    for value in (layer.w.numpy(), layer.b.numpy()):
      assert np.abs(value).max() <= bound
      # U(-a, a) has std a / sqrt(3). With >= 512 draws the sample std is
      # within 10% of it at > 5 sigma (its relative s.e. is < 1/sqrt(1.8*512)).
      assert abs(value.std() - bound / math.sqrt(3)) < 0.1 * bound / math.sqrt(3)
    # The bias is not a copy of a weight row (a shared stateless seed would
    # make it one).
    assert not np.allclose(layer.b.numpy(), layer.w.numpy()[0])


def test_conv_and_bn_init_follow_weights_init():
  generator = wgan.WGANDCGANGenerator(seed=5)
  # 512*256*16 = 2.1M draws: the s.e. of the sample std is 1e-5 and of the
  # mean 1.4e-5, so 1e-3 is a ~70-sigma margin that still catches a wrong
  # stddev (e.g. 0.01 or 0.05).
  w = generator.pyramid_convts[0].w.numpy()
  assert abs(w.std() - 0.02) < 1e-3 and abs(w.mean()) < 1e-3
  gamma = generator.initial_bn.gamma.numpy()  # 512 draws of N(1, 0.02)
  # s.e. of the mean 0.02/sqrt(512) = 9e-4: 0.005 is > 5 sigma.
  assert abs(gamma.mean() - 1.) < 5e-3
  assert np.all(generator.initial_bn.beta.numpy() == 0.)
  assert generator.initial_bn.epsilon == 1e-5
  assert generator.initial_bn.momentum == 0.1
  # No biases on any convolution.
  assert all(v.name.split('/')[-1] != 'b:0' for v in generator.variables)


def test_cngf_from_image_size():
  # DCGAN_G: cngf = ngf // 2 doubled per doubling from 4: 8 ngf at 64, 4 ngf
  # at 32, 2 ngf at 16.
  for image_size, factor in [(16, 2), (32, 4), (64, 8), (128, 16)]:
    generator = wgan.WGANDCGANGenerator(image_size=image_size, ngf=4)
    assert generator.initial_convt.w.shape == (4, 4, 4 * factor, 100)
    assert generator.final_convt.w.shape == (4, 4, 3, 4)


@pytest.mark.parametrize('image_size', [8, 24, 48, 96, 100])
def test_bad_image_size_raises_config_error(image_size):
  with pytest.raises(ConfigError, match=f'image_size={image_size}'):
    wgan.WGANDCGANGenerator(image_size=image_size)
  with pytest.raises(ConfigError, match=f'image_size={image_size}'):
    wgan.WGANDCGANCritic(image_size=image_size)


def test_variable_names_are_stable():
  generator = wgan.WGANDCGANGenerator(image_size=32, ngf=SMALL,
                                      n_extra_layers=1)
  assert sorted(v.name for v in generator.trainable_variables) == sorted([
      'generator/initial_convt/w:0', 'generator/initial_bn/gamma:0',
      'generator/initial_bn/beta:0',
      'generator/pyramid1_convt/w:0', 'generator/pyramid1_bn/gamma:0',
      'generator/pyramid1_bn/beta:0',
      'generator/pyramid2_convt/w:0', 'generator/pyramid2_bn/gamma:0',
      'generator/pyramid2_bn/beta:0',
      'generator/extra0_conv/w:0', 'generator/extra0_bn/gamma:0',
      'generator/extra0_bn/beta:0',
      'generator/final_convt/w:0',
  ])
  critic = wgan.WGANDCGANCritic(image_size=32, ndf=SMALL)
  assert sorted(v.name for v in critic.trainable_variables) == sorted([
      'discriminator/initial_conv/w:0',
      'discriminator/pyramid1_conv/w:0', 'discriminator/pyramid1_bn/gamma:0',
      'discriminator/pyramid1_bn/beta:0',
      'discriminator/pyramid2_conv/w:0', 'discriminator/pyramid2_bn/gamma:0',
      'discriminator/pyramid2_bn/beta:0',
      'discriminator/final_conv/w:0',
  ])
  mlp = wgan.WGANMLPGenerator(image_size=8, ngf=SMALL)
  assert sorted(v.name for v in mlp.variables) == sorted(
      f'generator/linear{i}/{p}:0' for i in (0, 2, 4, 6) for p in ('w', 'b'))


def test_seed_determinism():
  def weights(seed):
    modules = [wgan.WGANDCGANGenerator(image_size=16, ngf=SMALL, seed=seed),
               wgan.WGANDCGANCritic(image_size=16, ndf=SMALL, seed=seed),
               wgan.WGANMLPGenerator(image_size=8, ngf=SMALL, seed=seed)]
    return [v.numpy() for m in modules for v in m.variables]

  first, again, other = weights(7), weights(7), weights(8)
  for a, b in zip(first, again):
    np.testing.assert_array_equal(a, b)
  changed = [not np.array_equal(a, b) for a, b in zip(first, other)]
  random_ones = [a.std() > 0 for a in first]
  assert changed == random_ones
  assert sum(random_ones) >= 10


def test_training_false_uses_moving_statistics():
  generator = wgan.WGANDCGANGenerator(image_size=16, ngf=SMALL, seed=4)
  z = tf.random.stateless_normal([6, 100], seed=(1, 2))
  z_other = tf.concat([z[:1], -z[1:]], 0)
  before = generator.initial_bn.moving_variance.numpy().copy()
  # Measured at this seed: eval outputs bitwise equal for example 0;
  # training outputs ~0.06 whose example 0 moves by ~0.06 with the batch.
  # 1e-6 allows float32 round-off only; 1e-3 is far above it.
  eval_a = generator(z, training=False).numpy()
  eval_b = generator(z_other, training=False).numpy()
  np.testing.assert_array_equal(generator.initial_bn.moving_variance.numpy(),
                                before)
  np.testing.assert_allclose(eval_a[0], eval_b[0], rtol=0, atol=1e-6)
  train_a = generator(z, training=True).numpy()
  train_b = generator(z_other, training=True).numpy()
  assert np.abs(train_a[0] - train_b[0]).max() > 1e-3
  assert not np.array_equal(generator.initial_bn.moving_variance.numpy(),
                            before)
  critic = wgan.WGANDCGANCritic(image_size=16, ndf=SMALL, seed=5)
  x = tf.random.stateless_uniform([5, 16, 16, 3], seed=(3, 4), minval=-1.,
                                  maxval=1.)
  x_other = tf.concat([x[:1], x[1:] * 0.5], 0)
  # At initialisation the eval-mode scores are ~3e-3 and the batch-statistics
  # scores ~0.1 (measured); 1e-7 is float32 round-off at that size, 1e-3 a
  # real dependence on the other examples.
  assert abs(critic(x, training=False)[0] - critic(x_other,
                                                    training=False)[0]) < 1e-7
  assert abs(critic(x, training=True)[0] - critic(x_other,
                                                   training=True)[0]) > 1e-3
