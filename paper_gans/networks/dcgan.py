"""DCGAN generator and discriminator (Radford et al. 2015) as Newmu/dcgan_code builds them.

The reference is the authors' Theano script `faces/train_uncond_dcgan.py`
(64x64x3 faces, ngf = ndf = 128, nz = 100), with the helpers of `lib/ops.py`,
`lib/inits.py` and `lib/activations.py`.

Generator (`gen` in train_uncond_dcgan.py), for image_size 64:
  z [B, 100] -> dense `gw` [100, 4*4*8ngf], NO bias
  -> batch norm over each of the 4*4*8ngf units (a 2-D `batchnorm` on the
     dense output, BEFORE the reshape, with gain `gg` and bias `gb` of size
     4*4*8ngf: per unit, not per channel) -> ReLU
  -> reshape to (B, 8ngf, 4, 4) in Theano's channel-first order
  -> deconv 5x5 stride 2 to 8ngf/2 channels, no bias, BN, ReLU  (x3: 8, 16, 32)
  -> deconv 5x5 stride 2 to `channels`, no bias -> tanh  (64x64)
Discriminator (`discrim`):
  x -> conv 5x5 stride 2 pad 2 to ndf, no bias, NO batch norm -> LeakyReLU 0.2
  -> conv 5x5/2 to 2ndf, no bias, BN, LReLU -> 4ndf ... -> 8ndf at 4x4
  -> flatten (Theano's channel-first order) -> dense `dwy` to 1, NO bias
  -> sigmoid in the code; we return the logit [B].
No layer of either network has a bias; the only additive parameters are the
batch-norm biases. Activations: `Rectify` is (x + |x|) / 2 = ReLU and
`LeakyRectify(leak=0.2)` is 0.6 x + 0.4 |x| = max(x, 0.2 x).

Other image sizes (our generalisation; only 64 is in the script): the number
of stride-2 layers is n for image_size = 4 * 2**n (32 -> 3, 64 -> 4), the
generator starts at 4x4x(ngf * 2**(n-1)) and halves the channels per layer
down to ngf, and the discriminator doubles them from ndf up to
ndf * 2**(n-1) at 4x4. At 32x32 this is the shape of the authors' SVHN
discriminator (`svhn/svhn_semisup_analysis.py`: three 5x5 stride-2 convs,
batch norm on the 2nd and 3rd with 128 and 256 channels, i.e. ndf = 64).
Sizes that are not 4 * 2**n, or are below 16, raise ConfigError.

Initialisation (`lib/inits.py` as the script uses it): every weight
~ N(0, 0.02) (`inits.Normal(scale=0.02)`), every batch-norm gain
~ N(1, 0.02) (`gain_ifn = inits.Normal(loc=1., scale=0.02)`), every
batch-norm bias 0 (`bias_ifn = inits.Constant(c=0.)`).

Batch norm (`lib/ops.py batchnorm`): in training, normalises with the batch
mean and the biased batch variance, epsilon 1e-8 added to the variance inside
the square root. The authors never keep moving averages: the generator is
always run with batch statistics (also when sampling, `_gen`), and where they
need inference statistics for the discriminator they compute them in a
separate pass as the average over training minibatches of the per-batch means
and biased variances (`infer_bnorm_stats` in svhn/svhn_semisup_analysis.py)
and pass them as `u`, `s`. Our `training=False` instead uses moving averages
with PyTorch-style momentum 0.1 (our choice; no reference value exists).
Call the networks with `training=True` to match the reference, sampling
included.

Transposed-convolution alignment. The script's `deconv(h, w, subsample=(2,
2), border_mode=(2, 2))` is the gradient of a 5x5 stride-2 convolution padded
by 2 on every side: it maps n to 2n, and from the full 2n + 3 outputs of the
transposed convolution it keeps rows and columns 2 .. 2n + 1. TensorFlow's
`conv2d_transpose(..., padding='SAME')` (which `layers.ConvTranspose2D` uses
here) also maps n to 2n, but keeps 1 .. 2n: the output grid is shifted by one
pixel, and likewise a 'SAME' stride-2 convolution pads (1, 2) where Theano's
pads (2, 2). The two are exactly related by a 180-degree rotation: with R the
spatial rotation and w' the spatially flipped kernel,
`same_deconv(x, w) = R(theano_deconv(R(x), w'))` and
`same_conv(x, w) = R(theano_conv(R(x), w'))` (tests/test_networks_dcgan.py
checks both numerically). Batch norm and the pointwise nonlinearities commute
with R, and R before a flatten or after a reshape is a fixed permutation of
the dense weights. So our networks equal the authors' networks, up to a fixed
re-indexing of the parameters, applied to 180-degree-rotated images: G(z) =
R(G_theano(z)) and D(x) = D_theano(R(x)). As the initial distributions are
i.i.d. per parameter and Adam is elementwise, training ours on data X is
equivalent to training theirs on R(X) and rotating the samples back. Theano's
'conv' mode also flips kernels relative to TensorFlow's cross-correlation; with
i.i.d. symmetric initial weights that too is only a re-indexing.

Latent distribution (not drawn here): z ~ U(-1, 1)^100 (`np_rng.uniform(-1.,
1., size=(nbatch, nz))` in the script). Training settings for the engine, from
the same script: Adam lr 2e-4, beta1 0.5, L2 weight decay 1e-5 on every
parameter (`updates.Regularizer(l2=l2)`), batch 128, G and D updated on
alternate minibatches (`n_updates % (k+1)`), images in [-1, 1].

Verified by reading, with the search tool: Newmu/dcgan_code
`faces/train_uncond_dcgan.py`, `mnist/train_cond_dcgan.py`,
`svhn/svhn_semisup_analysis.py`, `lib/activations.py`. `lib/ops.py` and
`lib/inits.py` of Newmu/dcgan_code are not in the index; we read them in two
forks, lopsided/dcgan_code and VittalP/dcgan_code (identical `batchnorm`,
`deconv`, `conv_cond_concat`; `inits.Normal(loc, scale)` draws
`np_rng.normal(loc=loc, scale=scale)`).
"""

from __future__ import annotations

import tensorflow as tf

from paper_gans import layers
from paper_gans.errors import ConfigError

# lib/ops.py: batchnorm(X, g=None, b=None, u=None, s=None, a=1., e=1e-8).
BN_EPSILON = 1e-8
# Weight of the new batch in the moving averages used by training=False. Not
# from the reference (which keeps none); PyTorch's default.
BN_MOMENTUM = 0.1
# train_uncond_dcgan.py: gifn = difn = inits.Normal(scale=0.02).
WEIGHT_STDDEV = 0.02
# train_uncond_dcgan.py: gain_ifn = inits.Normal(loc=1., scale=0.02).
GAIN_MEAN, GAIN_STDDEV = 1.0, 0.02
# lib/activations.py LeakyRectify(leak=0.2), as the script constructs it.
LEAKY_SLOPE = 0.2
KERNEL_SIZE = 5
_MIN_IMAGE_SIZE = 16
_BASE_SIZE = 4  # Spatial size of the projected z and of D's last conv.


def num_strided_layers(image_size: int) -> int:
  """n such that image_size == 4 * 2**n; ConfigError if there is none or n < 2."""
  n = 0
  size = _BASE_SIZE
  while size < image_size:
    size *= 2
    n += 1
  if size != image_size or image_size < _MIN_IMAGE_SIZE:
    raise ConfigError(
        f'DCGAN networks cannot work at image_size={image_size}: it must be '
        f'4 * 2**n and at least {_MIN_IMAGE_SIZE} (16, 32, 64, 128, ...).')
  return n


def _theano_to_nhwc(x: tf.Tensor, channels: int) -> tf.Tensor:
  """Reshapes flat features [B, C*4*4] in Theano's (C, H, W) order to NHWC."""
  x = tf.reshape(x, [-1, channels, _BASE_SIZE, _BASE_SIZE])  # [B, C, 4, 4]
  return tf.transpose(x, [0, 2, 3, 1])  # [B, 4, 4, C]


def _nhwc_to_theano_flat(x: tf.Tensor) -> tf.Tensor:
  """Flattens [B, H, W, C] in Theano's (C, H, W) order, as T.flatten(h, 2)."""
  x = tf.transpose(x, [0, 3, 1, 2])  # [B, C, H, W]
  return tf.reshape(x, [tf.shape(x)[0], -1])  # [B, C*H*W]


class DCGANGenerator(tf.Module):
  """z [B, latent_dim] -> image [B, image_size, image_size, channels] in [-1, 1].

  Attributes:
    latent_dim: size of z.
    num_classes: None (unconditional).
    output_shape: (image_size, image_size, channels).
  """

  def __init__(self, latent_dim: int = 100, image_size: int = 64,
               channels: int = 3, ngf: int = 128, seed: int = 0,
               name: str = 'generator',
               dtype: tf.DType = tf.float32):
    """Creates every variable.

    Args:
      latent_dim: size of z; `nz = 100` in train_uncond_dcgan.py.
      image_size: output height and width, 4 * 2**n >= 16; the script's
        `npx = 64`.
      channels: output channels; `nc = 3`.
      ngf: channels of the last hidden layer; `ngf = 128` (the faces run).
      seed: integer seed of all initial weights.
      name: module name (prefix of the variable names).

    Raises:
      ConfigError: if image_size is not 4 * 2**n with n >= 2.
    """
    super().__init__(name=name)
    num_layers = num_strided_layers(image_size)
    self.latent_dim = latent_dim
    self.num_classes = None
    self.output_shape = (image_size, image_size, channels)
    # 8 ngf at 64x64 (the script); one halving per deconv down to ngf.
    self.base_channels = ngf * 2 ** (num_layers - 1)
    projected_units = _BASE_SIZE * _BASE_SIZE * self.base_channels
    seeds = layers.SeedSequence(seed)
    w_init = layers.normal_initializer(WEIGHT_STDDEV)
    gain_init = layers.normal_initializer(GAIN_STDDEV, mean=GAIN_MEAN)
    with self.name_scope:
      # gw, gg, gb: the projection and its per-unit batch norm.
      self.project = layers.Dense(latent_dim, projected_units, seeds(), w_init,
                                  use_bias=False, name='project', dtype=dtype)
      self.project_bn = layers.BatchNorm(
          projected_units, BN_EPSILON, BN_MOMENTUM, gamma_init=gain_init,
          seed=seeds(), name='project_bn', dtype=dtype)
      # gw2..gw4 with gg2..gg4, gb2..gb4 at 64x64.
      self.deconvs = []
      self.deconv_bns = []
      in_channels = self.base_channels
      for index in range(1, num_layers):
        out_channels = in_channels // 2
        self.deconvs.append(layers.ConvTranspose2D(
            in_channels, out_channels, KERNEL_SIZE, 2, 'SAME', seeds(), w_init,
            use_bias=False, name=f'deconv{index}', dtype=dtype))
        self.deconv_bns.append(layers.BatchNorm(
            out_channels, BN_EPSILON, BN_MOMENTUM, gamma_init=gain_init,
            seed=seeds(), name=f'deconv{index}_bn', dtype=dtype))
        in_channels = out_channels
      # gwx: the output layer, no batch norm.
      self.output_deconv = layers.ConvTranspose2D(
          in_channels, channels, KERNEL_SIZE, 2, 'SAME', seeds(), w_init,
          use_bias=False, name=f'deconv{num_layers}', dtype=dtype)

  def __call__(self, z: tf.Tensor, labels=None,
               training: bool = True) -> tf.Tensor:
    """Maps z [B, latent_dim] to images [B, H, W, C] in [-1, 1].

    Args:
      z: latent codes [B, latent_dim].
      labels: must be None (unconditional).
      training: True normalises with batch statistics (the reference always
        does) and updates the moving averages; False uses the moving averages.
    """
    if labels is not None:
      raise ValueError('DCGANGenerator is unconditional; labels must be None.')
    h = self.project(z)  # [B, 16 * base_channels]
    h = tf.nn.relu(self.project_bn(h, training))
    h = _theano_to_nhwc(h, self.base_channels)  # [B, 4, 4, base_channels]
    for deconv, bn in zip(self.deconvs, self.deconv_bns):
      h = tf.nn.relu(bn(deconv(h), training))  # doubles H and W
    return tf.tanh(self.output_deconv(h))  # [B, H, W, channels]


class DCGANDiscriminator(tf.Module):
  """x [B, image_size, image_size, channels] -> logit [B].

  Attributes:
    num_classes: None (unconditional).
  """

  def __init__(self, image_size: int = 64, channels: int = 3, ndf: int = 128,
               seed: int = 0, name: str = 'discriminator',
               dtype: tf.DType = tf.float32):
    """Creates every variable.

    Args:
      image_size: input height and width, 4 * 2**n >= 16; `npx = 64`.
      channels: input channels; `nc = 3`.
      ndf: channels of the first conv layer; `ndf = 128` (the faces run).
      seed: integer seed of all initial weights.
      name: module name (prefix of the variable names).

    Raises:
      ConfigError: if image_size is not 4 * 2**n with n >= 2.
    """
    super().__init__(name=name)
    num_layers = num_strided_layers(image_size)
    self.num_classes = None
    seeds = layers.SeedSequence(seed)
    w_init = layers.normal_initializer(WEIGHT_STDDEV)
    gain_init = layers.normal_initializer(GAIN_STDDEV, mean=GAIN_MEAN)
    with self.name_scope:
      # dw: the input layer, no batch norm.
      self.input_conv = layers.Conv2D(channels, ndf, KERNEL_SIZE, 2, 'SAME',
                                      seeds(), w_init, use_bias=False,
                                      name='conv1', dtype=dtype)
      # dw2..dw4 with dg2..dg4, db2..db4 at 64x64.
      self.convs = []
      self.conv_bns = []
      in_channels = ndf
      for index in range(2, num_layers + 1):
        out_channels = in_channels * 2
        self.convs.append(layers.Conv2D(
            in_channels, out_channels, KERNEL_SIZE, 2, 'SAME', seeds(), w_init,
            use_bias=False, name=f'conv{index}', dtype=dtype))
        self.conv_bns.append(layers.BatchNorm(
            out_channels, BN_EPSILON, BN_MOMENTUM, gamma_init=gain_init,
            seed=seeds(), name=f'conv{index}_bn', dtype=dtype))
        in_channels = out_channels
      # dwy: flattened 4x4 features to one logit, no bias.
      self.logit = layers.Dense(_BASE_SIZE * _BASE_SIZE * in_channels, 1,
                                seeds(), w_init, use_bias=False, name='logit', dtype=dtype)

  def __call__(self, x: tf.Tensor, labels=None, training: bool = True,
               seed=None) -> tf.Tensor:
    """Returns the logits [B]; the reference's D(x) is sigmoid(logit).

    Args:
      x: images [B, H, W, C] in [-1, 1].
      labels: must be None (unconditional).
      training: True normalises with batch statistics and updates the moving
        averages; False uses the moving averages.
      seed: ignored (no dropout).
    """
    del seed
    if labels is not None:
      raise ValueError('DCGANDiscriminator is unconditional; '
                       'labels must be None.')
    h = layers.leaky_relu(self.input_conv(x), LEAKY_SLOPE)  # halves H and W
    for conv, bn in zip(self.convs, self.conv_bns):
      h = layers.leaky_relu(bn(conv(h), training), LEAKY_SLOPE)
    h = _nhwc_to_theano_flat(h)  # [B, 16 * final channels]
    return tf.reshape(self.logit(h), [-1])  # [B]
