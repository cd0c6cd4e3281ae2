"""WGAN networks (Arjovsky et al. 2017) as martinarjovsky/WassersteinGAN builds them.

The reference is the authors' PyTorch code: `models/dcgan.py` (DCGAN_G,
DCGAN_D, DCGAN_G_nobn, DCGAN_D_nobn), `models/mlp.py` (MLP_G) and `main.py`
(flags and `weights_init`). Every integer padding below is PyTorch's
(`layers.Conv2D` / `layers.ConvTranspose2D` with an int padding reproduce
`nn.Conv2d` / `nn.ConvTranspose2d` output sizes and alignment exactly).

WGANDCGANGenerator (DCGAN_G; DCGAN_G_nobn with batch_norm=False):
  cngf = ngf // 2, doubled once per doubling of 4 up to image_size
  (8 ngf at 64, 4 ngf at 32);
  z as [B, 1, 1, nz] -> ConvTranspose2d(nz, cngf, 4, 1, 0, bias=False) (4x4)
  -> BatchNorm2d -> ReLU;
  while size < image_size // 2: ConvTranspose2d(cngf, cngf // 2, 4, 2, 1,
  bias=False) -> BatchNorm2d -> ReLU, halving cngf;
  n_extra_layers x [Conv2d(cngf, cngf, 3, 1, 1, bias=False) -> BatchNorm2d
  -> ReLU];
  ConvTranspose2d(cngf, nc, 4, 2, 1, bias=False) -> Tanh.
WGANDCGANCritic (DCGAN_D; DCGAN_D_nobn with batch_norm=False):
  Conv2d(nc, ndf, 4, 2, 1, bias=False) -> LeakyReLU(0.2), no batch norm;
  n_extra_layers x [Conv2d(cndf, cndf, 3, 1, 1, bias=False) -> BatchNorm2d
  -> LeakyReLU(0.2)];
  while size > 4: Conv2d(cndf, 2 cndf, 4, 2, 1, bias=False) -> BatchNorm2d
  -> LeakyReLU(0.2);
  Conv2d(cndf, 1, 4, 1, 0, bias=False) -> one score per example.
  The code's `forward` returns `output.mean(0).view(1)`, the batch mean of
  the scores; we return the per-example scores [B] (the engine takes means).
WGANMLPGenerator (MLP_G):
  Linear(nz, ngf) -> ReLU -> Linear(ngf, ngf) -> ReLU -> Linear(ngf, ngf)
  -> ReLU -> Linear(ngf, nc * isize * isize), viewed as (B, nc, isize,
  isize). All four layers have biases; there is NO output activation (the
  samples are not confined to [-1, 1]) and no batch norm.

Initialisation (`weights_init` in main.py, applied to netG and netD): every
module whose class name contains 'Conv' (Conv2d and ConvTranspose2d) gets
weights ~ N(0, 0.02); every 'BatchNorm' module gets weight ~ N(1, 0.02) and
bias 0. `nn.Linear` matches neither, so MLP_G keeps PyTorch's default Linear
init: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (torch.nn.Linear
`reset_parameters`; in the 2017 releases `stdv = 1/sqrt(weight.size(1))` on
both). Batch norm: PyTorch's BatchNorm2d defaults, eps 1e-5, momentum 0.1,
batch statistics in training. main.py never calls `.eval()`, so the reference
always normalises with batch statistics, also for its sample grids.

Weight clipping (the engine's job) clamps EVERY `netD.parameters()` tensor to
[-0.01, 0.01], the batch-norm weights and biases included (so the N(1, 0.02)
gains become 0.01 at the first critic iteration); the moving averages are
buffers, not parameters, and are not clipped. So the engine should clip
exactly the critic's `trainable_variables`.

Settings (main.py flags): nz 100, ngf = ndf = 64, imageSize 64, nc 3,
n_extra_layers 0; `--noBN` selects DCGAN_G_nobn; `--mlp_G` selects MLP_G.
The README's MLP command is `python main.py --mlp_G --ngf 512`, so the MLP
experiment ran at width 512, not the flag default 64; pass ngf=512 to
reproduce it. DCGAN_D_nobn exists in models/dcgan.py but main.py never builds
it. main.py also offers MLP_D (`--mlp_D`), not built here.

Latent distribution (not drawn here): z ~ N(0, 1)^100
(`noise.resize_(batchSize, nz, 1, 1).normal_(0, 1)` in main.py).

Image sizes: DCGAN_G and DCGAN_D assert `isize % 16 == 0`; DCGAN_G's loop
`while tisize != isize: tisize *= 2` from 4 also never ends unless isize is a
power of two, so the DCGAN networks accept 16 * 2**n (16, 32, 64, ...) and
raise ConfigError otherwise. MLP_G works at any size.

Checked numerically against PyTorch 2.11: nn.Sequential rebuilds of DCGAN_G
(32x32, one extra layer), DCGAN_G_nobn (64x64), DCGAN_D (32x32, two extra
layers) and MLP_G, loaded with this module's weights, give the same outputs to
1e-6 relative error in float32, in training mode and in eval mode after one
training pass (running statistics equal to 1e-8), and the same parameter
counts (tests/test_networks_wgan.py pins them).

Verified by reading, with the search tool: martinarjovsky/WassersteinGAN
`models/dcgan.py` (commit 040d553), `models/mlp.py` (commit cde8a4d),
`main.py` (commits 2cf43ba and a6c76da, identical in the parts used here),
`README.md`; pytorch/pytorch `torch/nn/modules/linear.py` (a recent version;
the 2017 formula is from memory). We could not read the paper's figure
captions.
"""

from __future__ import annotations

import math

import tensorflow as tf

from paper_gans import layers
from paper_gans.errors import ConfigError

# torch.nn.BatchNorm2d defaults (eps=1e-05, momentum=0.1), which DCGAN_G and
# DCGAN_D use.
BN_EPSILON = 1e-5
BN_MOMENTUM = 0.1
# main.py weights_init: Conv weights normal_(0.0, 0.02), BatchNorm weight
# normal_(1.0, 0.02), BatchNorm bias fill_(0).
CONV_STDDEV = 0.02
GAIN_MEAN, GAIN_STDDEV = 1.0, 0.02
# nn.LeakyReLU(0.2, inplace=True) in DCGAN_D.
LEAKY_SLOPE = 0.2


def check_dcgan_image_size(image_size: int) -> None:
  """Raises ConfigError unless image_size is 16 * 2**n (DCGAN_G / DCGAN_D)."""
  power_of_two = image_size > 0 and image_size & (image_size - 1) == 0
  if image_size % 16 != 0 or not power_of_two:
    raise ConfigError(
        f'The WGAN DCGAN networks cannot work at image_size={image_size}: '
        'models/dcgan.py asserts a multiple of 16 and its generator only '
        'terminates for a power of two (16, 32, 64, 128, ...).')


def _first_generator_channels(image_size: int, ngf: int) -> int:
  """DCGAN_G's cngf: ngf // 2 doubled once per doubling of 4 to image_size."""
  channels, size = ngf // 2, 4
  while size != image_size:
    channels *= 2
    size *= 2
  return channels


def _pytorch_linear(in_features: int, out_features: int, seed,
                    name: str, dtype: tf.DType) -> layers.Dense:
  """nn.Linear with PyTorch's default init, weight and bias U(+-1/sqrt(in))."""
  limit = 1.0 / math.sqrt(in_features)
  return layers.Dense(in_features, out_features, seed,
                      layers.uniform_initializer(limit),
                      b_init=layers.uniform_initializer(limit), name=name,
                      dtype=dtype)


class WGANDCGANGenerator(tf.Module):
  """z [B, latent_dim] -> image [B, image_size, image_size, channels] in [-1, 1].

  Attributes:
    latent_dim: size of z.
    num_classes: None (unconditional).
    output_shape: (image_size, image_size, channels).
  """

  def __init__(self, latent_dim: int = 100, image_size: int = 64,
               channels: int = 3, ngf: int = 64, n_extra_layers: int = 0,
               batch_norm: bool = True, seed: int = 0,
               name: str = 'generator',
               dtype: tf.DType = tf.float32):
    """Creates every variable.

    Args:
      latent_dim: size of z; main.py `--nz` default 100.
      image_size: output height and width, 16 * 2**n; `--imageSize` 64.
      channels: output channels; `--nc` 3.
      ngf: channels of the last hidden layer; `--ngf` 64.
      n_extra_layers: extra 3x3 stride-1 conv layers before the output;
        `--n_extra_layers` 0.
      batch_norm: True is DCGAN_G; False is DCGAN_G_nobn (`--noBN`), the
        same layers without any batch norm.
      seed: integer seed of all initial weights.
      name: module name (prefix of the variable names).

    Raises:
      ConfigError: if image_size is not 16 * 2**n.
    """
    super().__init__(name=name)
    check_dcgan_image_size(image_size)
    self.latent_dim = latent_dim
    self.num_classes = None
    self.output_shape = (image_size, image_size, channels)
    self.batch_norm = batch_norm
    seeds = layers.SeedSequence(seed)
    w_init = layers.normal_initializer(CONV_STDDEV)
    gain_init = layers.normal_initializer(GAIN_STDDEV, mean=GAIN_MEAN)

    def make_bn(num_channels, bn_name):
      if not batch_norm:
        return None
      return layers.BatchNorm(num_channels, BN_EPSILON, BN_MOMENTUM,
                              gamma_init=gain_init, seed=seeds(), name=bn_name, dtype=dtype)

    cngf = _first_generator_channels(image_size, ngf)
    with self.name_scope:
      # initial.{nz}-{cngf}.convt: 1x1 -> 4x4.
      self.initial_convt = layers.ConvTranspose2D(
          latent_dim, cngf, 4, 1, 0, seeds(), w_init, use_bias=False,
          name='initial_convt', dtype=dtype)
      self.initial_bn = make_bn(cngf, 'initial_bn')
      # pyramid.{cngf}-{cngf//2}.convt: each doubles H and W.
      self.pyramid_convts = []
      self.pyramid_bns = []
      size = 4
      while size < image_size // 2:
        index = len(self.pyramid_convts) + 1
        self.pyramid_convts.append(layers.ConvTranspose2D(
            cngf, cngf // 2, 4, 2, 1, seeds(), w_init, use_bias=False,
            name=f'pyramid{index}_convt', dtype=dtype))
        self.pyramid_bns.append(make_bn(cngf // 2, f'pyramid{index}_bn'))
        cngf //= 2
        size *= 2
      # extra-layers-{t}.{cngf}.conv: 3x3 stride 1, size kept.
      self.extra_convs = []
      self.extra_bns = []
      for t in range(n_extra_layers):
        self.extra_convs.append(layers.Conv2D(
            cngf, cngf, 3, 1, 1, seeds(), w_init, use_bias=False,
            name=f'extra{t}_conv', dtype=dtype))
        self.extra_bns.append(make_bn(cngf, f'extra{t}_bn'))
      # final.{cngf}-{nc}.convt: to image_size, then Tanh.
      self.final_convt = layers.ConvTranspose2D(
          cngf, channels, 4, 2, 1, seeds(), w_init, use_bias=False,
          name='final_convt', dtype=dtype)

  def __call__(self, z: tf.Tensor, labels=None,
               training: bool = True) -> tf.Tensor:
    """Maps z [B, latent_dim] to images [B, H, W, C] in [-1, 1].

    Args:
      z: latent codes [B, latent_dim].
      labels: must be None (unconditional).
      training: True normalises with batch statistics (main.py always does)
        and updates the moving averages; False uses the moving averages.
    """
    if labels is not None:
      raise ValueError('WGANDCGANGenerator is unconditional; '
                       'labels must be None.')

    def norm(h, bn):
      return h if bn is None else bn(h, training)

    h = tf.reshape(z, [-1, 1, 1, self.latent_dim])  # [B, 1, 1, nz]
    h = tf.nn.relu(norm(self.initial_convt(h), self.initial_bn))  # 4x4
    for convt, bn in zip(self.pyramid_convts, self.pyramid_bns):
      h = tf.nn.relu(norm(convt(h), bn))  # doubles H and W
    for conv, bn in zip(self.extra_convs, self.extra_bns):
      h = tf.nn.relu(norm(conv(h), bn))  # same size
    return tf.tanh(self.final_convt(h))  # [B, H, W, channels]


class WGANDCGANCritic(tf.Module):
  """x [B, image_size, image_size, channels] -> critic score [B].

  Attributes:
    num_classes: None (unconditional).
  """

  def __init__(self, image_size: int = 64, channels: int = 3, ndf: int = 64,
               n_extra_layers: int = 0, batch_norm: bool = True,
               seed: int = 0, name: str = 'discriminator',
               dtype: tf.DType = tf.float32):
    """Creates every variable.

    Args:
      image_size: input height and width, 16 * 2**n; `--imageSize` 64.
      channels: input channels; `--nc` 3.
      ndf: channels of the first conv layer; `--ndf` 64.
      n_extra_layers: extra 3x3 stride-1 conv layers after the first;
        `--n_extra_layers` 0.
      batch_norm: True is DCGAN_D (what main.py builds); False is
        DCGAN_D_nobn (in models/dcgan.py, unused by main.py).
      seed: integer seed of all initial weights.
      name: module name (prefix of the variable names).

    Raises:
      ConfigError: if image_size is not 16 * 2**n.
    """
    super().__init__(name=name)
    check_dcgan_image_size(image_size)
    self.num_classes = None
    self.batch_norm = batch_norm
    seeds = layers.SeedSequence(seed)
    w_init = layers.normal_initializer(CONV_STDDEV)
    gain_init = layers.normal_initializer(GAIN_STDDEV, mean=GAIN_MEAN)

    def make_bn(num_channels, bn_name):
      if not batch_norm:
        return None
      return layers.BatchNorm(num_channels, BN_EPSILON, BN_MOMENTUM,
                              gamma_init=gain_init, seed=seeds(), name=bn_name, dtype=dtype)

    with self.name_scope:
      # initial.conv.{nc}-{ndf}: halves H and W; no batch norm.
      self.initial_conv = layers.Conv2D(channels, ndf, 4, 2, 1, seeds(),
                                        w_init, use_bias=False,
                                        name='initial_conv', dtype=dtype)
      size, cndf = image_size // 2, ndf
      # extra-layers-{t}.{cndf}.conv: 3x3 stride 1.
      self.extra_convs = []
      self.extra_bns = []
      for t in range(n_extra_layers):
        self.extra_convs.append(layers.Conv2D(
            cndf, cndf, 3, 1, 1, seeds(), w_init, use_bias=False,
            name=f'extra{t}_conv', dtype=dtype))
        self.extra_bns.append(make_bn(cndf, f'extra{t}_bn'))
      # pyramid.{cndf}-{2 cndf}.conv: halve H and W down to 4x4.
      self.pyramid_convs = []
      self.pyramid_bns = []
      while size > 4:
        index = len(self.pyramid_convs) + 1
        self.pyramid_convs.append(layers.Conv2D(
            cndf, cndf * 2, 4, 2, 1, seeds(), w_init, use_bias=False,
            name=f'pyramid{index}_conv', dtype=dtype))
        self.pyramid_bns.append(make_bn(cndf * 2, f'pyramid{index}_bn'))
        cndf *= 2
        size //= 2
      # final.{cndf}-1.conv: 4x4 valid -> 1x1x1.
      self.final_conv = layers.Conv2D(cndf, 1, 4, 1, 0, seeds(), w_init,
                                      use_bias=False, name='final_conv', dtype=dtype)

  def __call__(self, x: tf.Tensor, labels=None, training: bool = True,
               seed=None) -> tf.Tensor:
    """Returns the critic scores [B] (no sigmoid).

    The reference returns their batch mean, `output.mean(0)`; take the mean
    of this output to get it.

    Args:
      x: images [B, H, W, C] in [-1, 1].
      labels: must be None (unconditional).
      training: True normalises with batch statistics (main.py always does)
        and updates the moving averages; False uses the moving averages.
      seed: ignored (no dropout).
    """
    del seed
    if labels is not None:
      raise ValueError('WGANDCGANCritic is unconditional; labels must be None.')

    def norm(h, bn):
      return h if bn is None else bn(h, training)

    h = layers.leaky_relu(self.initial_conv(x), LEAKY_SLOPE)
    for conv, bn in zip(self.extra_convs, self.extra_bns):
      h = layers.leaky_relu(norm(conv(h), bn), LEAKY_SLOPE)
    for conv, bn in zip(self.pyramid_convs, self.pyramid_bns):
      h = layers.leaky_relu(norm(conv(h), bn), LEAKY_SLOPE)
    scores = self.final_conv(h)  # [B, 1, 1, 1]
    return tf.reshape(scores, [-1])  # [B]


class WGANMLPGenerator(tf.Module):
  """z [B, latent_dim] -> image [B, image_size, image_size, channels], unbounded.

  Attributes:
    latent_dim: size of z.
    num_classes: None (unconditional).
    output_shape: (image_size, image_size, channels).
  """

  def __init__(self, latent_dim: int = 100, image_size: int = 64,
               channels: int = 3, ngf: int = 64, seed: int = 0,
               name: str = 'generator',
               dtype: tf.DType = tf.float32):
    """Creates every variable.

    Args:
      latent_dim: size of z; main.py `--nz` 100.
      image_size: output height and width; `--imageSize` 64.
      channels: output channels; `--nc` 3.
      ngf: width of the three hidden layers. main.py's flag default is 64;
        the README's MLP reproduction command passes `--ngf 512`.
      seed: integer seed of all initial weights.
      name: module name (prefix of the variable names).
    """
    super().__init__(name=name)
    self.latent_dim = latent_dim
    self.num_classes = None
    self.output_shape = (image_size, image_size, channels)
    seeds = layers.SeedSequence(seed)
    with self.name_scope:
      # nn.Sequential indices 0, 2, 4, 6 of MLP_G.main.
      self.linear0 = _pytorch_linear(latent_dim, ngf, seeds(), 'linear0', dtype)
      self.linear2 = _pytorch_linear(ngf, ngf, seeds(), 'linear2', dtype)
      self.linear4 = _pytorch_linear(ngf, ngf, seeds(), 'linear4', dtype)
      self.linear6 = _pytorch_linear(
          ngf, channels * image_size * image_size, seeds(), 'linear6', dtype)

  def __call__(self, z: tf.Tensor, labels=None,
               training: bool = True) -> tf.Tensor:
    """Maps z [B, latent_dim] to images [B, H, W, C] (linear output).

    `training` changes nothing: MLP_G has no batch norm and no dropout.
    """
    del training
    if labels is not None:
      raise ValueError('WGANMLPGenerator is unconditional; '
                       'labels must be None.')
    h = tf.nn.relu(self.linear0(z))  # [B, ngf]
    h = tf.nn.relu(self.linear2(h))
    h = tf.nn.relu(self.linear4(h))
    out = self.linear6(h)  # [B, C*H*W], PyTorch's (C, H, W) order
    height, width, channels = self.output_shape
    out = tf.reshape(out, [-1, channels, height, width])  # out.view(B, nc, H, W)
    return tf.transpose(out, [0, 2, 3, 1])  # [B, H, W, C]
