"""Networks of Gulrajani et al. 2017, "Improved Training of Wasserstein GANs".

Built as the authors' TensorFlow 1 code igul222/improved_wgan_training builds
them, with `MODE = 'wgan-gp'` (no batch norm anywhere):

Toy problems (`gan_toy.py`, `DIM = 512`):
  ToyGenerator: z [B, 2] -> Linear 2->512 ReLU -> 512->512 ReLU -> 512->512
    ReLU -> Linear 512->2. (`Generator`: three `ReLULayer`s, then
    `Linear('Generator.4', DIM, 2)`; no output nonlinearity.)
  ToyCritic: x [B, 2] -> the same three ReLU layers -> Linear 512->1,
    reshaped to [B].
  Latent distribution: z ~ N(0, 1)^2 (`tf.random_normal([n_samples, 2])`).

MNIST (`gan_mnist.py`, `DIM = 64`, `OUTPUT_DIM = 784`):
  MnistGenerator: z [B, 128] -> Linear 128 -> 4*4*4*DIM, ReLU, reshape to
    NCHW [B, 4*DIM, 4, 4] -> Deconv 5x5 stride 2 to 2*DIM (8x8), ReLU, crop to
    the top-left 7x7 (`output[:,:,:7,:7]`) -> Deconv to DIM (14x14), ReLU ->
    Deconv to 1 (28x28), sigmoid. Output in [0, 1], like the data.
  MnistCritic: x [B, 28, 28, 1] -> Conv 5x5 stride 2 to DIM (14x14),
    LeakyReLU 0.2 -> Conv to 2*DIM (7x7), LeakyReLU -> Conv to 4*DIM (4x4),
    LeakyReLU -> flatten (NCHW order) -> Linear 4*4*4*DIM -> 1, reshaped to
    [B]. Batch norm appears in both nets only `if MODE == 'wgan'`.
  Latent distribution: z ~ N(0, 1)^128 (`tf.random_normal([n_samples, 128])`).

Initialisations (all biases zero; every weight uniform in
[-stdev * sqrt(3), stdev * sqrt(3)], i.e. with standard deviation `stdev`):
  * `tflib/ops/linear.py` `Linear`: `initialization='he'`:
    stdev = sqrt(2 / input_dim); `initialization=None` (the default) falls
    into the `'glorot'` branch: stdev = sqrt(2 / (input_dim + output_dim)).
    The ReLU layers use 'he'; the last Linear of every network
    (`Generator.4`, `Discriminator.4`, `Generator.Input`,
    `Discriminator.Output`) uses the default, i.e. 'glorot'.
  * `tflib/ops/conv2d.py` `Conv2D` (default `he_init=True`):
    fan_in = input_dim * k**2, fan_out = output_dim * k**2 / stride**2,
    stdev = sqrt(4 / (fan_in + fan_out)).
  * `tflib/ops/deconv2d.py` `Deconv2D` (default `he_init=True`, stride fixed
    at 2): fan_in = input_dim * k**2 / stride**2, fan_out = output_dim * k**2,
    stdev = sqrt(4 / (fan_in + fan_out)).
  The `/ stride**2` is Python 2 integer division in the authors' code; we use
  `//` to match (it is exact for the DIM = 64 sizes).

Layout: the authors' convolutions run on NCHW with 'SAME' padding and their
transposed convolutions call `tf.nn.conv2d_transpose(..., strides 2,
padding='SAME', output_shape=2 * input size)` on NHWC, kernel layout
[k, k, out, in]. We run everything on NHWC with the same padding rule and
kernel layouts, which computes the same function. Where the authors reshape
between dense and convolutional layers (generator input, critic output) we
reshape in their NCHW order and transpose, so every unit of the Linear layers
has the same index as in their code.

Verified by reading (search tool `read_file`) igul222/improved_wgan_training
`gan_toy.py` (commit 3c8ba3c), `gan_mnist.py` (commits 4fde7f3, where
`MODE = 'wgan'`, and a3029cc, where `MODE = 'wgan-gp'`; the networks are the
same code in both), `tflib/ops/linear.py` (4fde7f3), `tflib/ops/conv2d.py` and
`tflib/ops/deconv2d.py` (4fde7f3 and 8170ed9, same initialisation in both).
Not reproducible: the authors draw initial values with `np.random` (unseeded);
we draw the same distributions from TensorFlow's stateless generator.
"""

from __future__ import annotations

import math
from typing import Optional

import tensorflow as tf

from paper_gans import layers

MNIST_IMAGE_SHAPE = (28, 28, 1)
_LEAKY_RELU_SLOPE = 0.2  # gan_mnist.py: LeakyReLU(x, alpha=0.2).
# gan_mnist.py's LeakyReLU is tf.maximum(alpha*x, x): at x = 0 its gradient
# is alpha (layers.leaky_relu's docstring says why the order matters).
_LEAKY_RELU_SLOPE_AT_ZERO = True
_KERNEL_SIZE = 5  # gan_mnist.py: every Conv2D / Deconv2D has filter_size 5.
_DECONV_STRIDE = 2  # tflib/ops/deconv2d.py hard-codes stride = 2.


def _uniform_with_stdev(stdev: float) -> layers.Initializer:
  """tflib's `uniform(stdev, size)`: U(-stdev * sqrt(3), stdev * sqrt(3))."""
  return layers.uniform_initializer(stdev * math.sqrt(3.0))


def linear_he_init(input_dim: int) -> layers.Initializer:
  """tflib `Linear(..., initialization='he')`: stdev sqrt(2 / input_dim)."""
  return _uniform_with_stdev(math.sqrt(2.0 / input_dim))


def linear_glorot_init(input_dim: int, output_dim: int) -> layers.Initializer:
  """tflib `Linear` default (None -> 'glorot'): stdev sqrt(2 / (in + out))."""
  return _uniform_with_stdev(math.sqrt(2.0 / (input_dim + output_dim)))


def conv2d_he_init(input_dim: int, output_dim: int, filter_size: int,
                   stride: int) -> layers.Initializer:
  """tflib `Conv2D(..., he_init=True)`: stdev sqrt(4 / (fan_in + fan_out))."""
  fan_in = input_dim * filter_size**2
  fan_out = output_dim * filter_size**2 // stride**2  # Python 2 `/` on ints.
  return _uniform_with_stdev(math.sqrt(4.0 / (fan_in + fan_out)))


def deconv2d_he_init(input_dim: int, output_dim: int,
                     filter_size: int) -> layers.Initializer:
  """tflib `Deconv2D(..., he_init=True)`, stride 2: as Conv2D, fans swapped."""
  fan_in = input_dim * filter_size**2 // _DECONV_STRIDE**2  # Python 2 `/`.
  fan_out = output_dim * filter_size**2
  return _uniform_with_stdev(math.sqrt(4.0 / (fan_in + fan_out)))


def _check_unconditional(labels, network: str) -> None:
  if labels is not None:
    raise ValueError(f'{network} is unconditional; labels must be None.')


# --------------------------------------------------------------------------
# Toy problems (gan_toy.py).
# --------------------------------------------------------------------------

class _ToyReluMlp(tf.Module):
  """gan_toy.py's three `ReLULayer`s (He init) and a final default Linear."""

  def __init__(self, in_features: int, hidden_units: int, out_features: int,
               seed: int, name: str, dtype: tf.DType):
    super().__init__(name=name)
    seeds = layers.SeedSequence(seed)
    with self.name_scope:
      self.layer1 = layers.Dense(in_features, hidden_units, seeds(),
                                 linear_he_init(in_features), name='layer1',
                                 dtype=dtype)
      self.layer2 = layers.Dense(hidden_units, hidden_units, seeds(),
                                 linear_he_init(hidden_units), name='layer2',
                                 dtype=dtype)
      self.layer3 = layers.Dense(hidden_units, hidden_units, seeds(),
                                 linear_he_init(hidden_units), name='layer3',
                                 dtype=dtype)
      self.layer4 = layers.Dense(
          hidden_units, out_features, seeds(),
          linear_glorot_init(hidden_units, out_features), name='layer4',
          dtype=dtype)

  def _forward(self, x: tf.Tensor) -> tf.Tensor:
    h = tf.nn.relu(self.layer1(x))  # [B, hidden]
    h = tf.nn.relu(self.layer2(h))  # [B, hidden]
    h = tf.nn.relu(self.layer3(h))  # [B, hidden]
    return self.layer4(h)  # [B, out_features]


class ToyGenerator(_ToyReluMlp):
  """gan_toy.py `Generator`: z [B, 2] -> 3 x ReLU 512 -> [B, 2] (linear).

  Attributes:
    latent_dim: size of z (2 in gan_toy.py).
    num_classes: None (unconditional).
    output_shape: (2,).
  """

  def __init__(self, latent_dim: int = 2, hidden_units: int = 512,
               seed: int = 0, name: str = 'generator',
               dtype: tf.DType = tf.float32):
    super().__init__(latent_dim, hidden_units, 2, seed, name, dtype)
    self.latent_dim = latent_dim
    self.num_classes = None
    self.output_shape = (2,)

  def __call__(self, z: tf.Tensor, labels=None,
               training: bool = True) -> tf.Tensor:
    del training  # No batch norm or dropout.
    _check_unconditional(labels, 'ToyGenerator')
    return self._forward(z)  # [B, 2]


class ToyCritic(_ToyReluMlp):
  """gan_toy.py `Discriminator`: x [B, 2] -> 3 x ReLU 512 -> score [B].

  Attributes:
    num_classes: None (unconditional).
  """

  def __init__(self, hidden_units: int = 512, seed: int = 0,
               name: str = 'discriminator',
               dtype: tf.DType = tf.float32):
    super().__init__(2, hidden_units, 1, seed, name, dtype)
    self.num_classes = None

  def __call__(self, x: tf.Tensor, labels=None, training: bool = True,
               seed: Optional[tf.Tensor] = None) -> tf.Tensor:
    del training, seed  # No batch norm or dropout.
    _check_unconditional(labels, 'ToyCritic')
    return tf.reshape(self._forward(x), [-1])  # [B]


# --------------------------------------------------------------------------
# MNIST (gan_mnist.py, MODE = 'wgan-gp').
# --------------------------------------------------------------------------

class MnistGenerator(tf.Module):
  """gan_mnist.py `Generator` without batch norm: z [B, 128] -> [B, 28, 28, 1].

  Attributes:
    latent_dim: size of z (128 in gan_mnist.py).
    num_classes: None (unconditional).
    output_shape: (28, 28, 1).
  """

  def __init__(self, latent_dim: int = 128, dim: int = 64, seed: int = 0,
               name: str = 'generator',
               dtype: tf.DType = tf.float32):
    """Creates every variable.

    Args:
      latent_dim: size of z; gan_mnist.py uses 128.
      dim: gan_mnist.py `DIM` (64).
      seed: integer seed of all initial weights.
      name: module name (prefix of the variable names).
    """
    super().__init__(name=name)
    self.latent_dim = latent_dim
    self.num_classes = None
    self.output_shape = MNIST_IMAGE_SHAPE
    self.dim = dim
    k = _KERNEL_SIZE
    seeds = layers.SeedSequence(seed)
    with self.name_scope:
      # Variable names follow the authors' 'Generator.Input', 'Generator.2',
      # 'Generator.3' and 'Generator.5'.
      self.input = layers.Dense(
          latent_dim, 4 * 4 * 4 * dim, seeds(),
          linear_glorot_init(latent_dim, 4 * 4 * 4 * dim), name='input', dtype=dtype)
      self.deconv2 = layers.ConvTranspose2D(
          4 * dim, 2 * dim, k, _DECONV_STRIDE, 'SAME', seeds(),
          deconv2d_he_init(4 * dim, 2 * dim, k), name='deconv2', dtype=dtype)
      self.deconv3 = layers.ConvTranspose2D(
          2 * dim, dim, k, _DECONV_STRIDE, 'SAME', seeds(),
          deconv2d_he_init(2 * dim, dim, k), name='deconv3', dtype=dtype)
      self.deconv5 = layers.ConvTranspose2D(
          dim, 1, k, _DECONV_STRIDE, 'SAME', seeds(),
          deconv2d_he_init(dim, 1, k), name='deconv5', dtype=dtype)

  def __call__(self, z: tf.Tensor, labels=None,
               training: bool = True) -> tf.Tensor:
    """Maps z [B, latent_dim] to images [B, 28, 28, 1] in [0, 1]."""
    del training  # No batch norm in MODE 'wgan-gp'.
    _check_unconditional(labels, 'MnistGenerator')
    h = tf.nn.relu(self.input(z))  # [B, 4*4*4*dim]
    h = tf.reshape(h, [-1, 4 * self.dim, 4, 4])  # NCHW, as the authors.
    h = tf.transpose(h, [0, 2, 3, 1])  # [B, 4, 4, 4*dim]
    h = tf.nn.relu(self.deconv2(h))  # [B, 8, 8, 2*dim]
    h = h[:, :7, :7, :]  # [B, 7, 7, 2*dim]: the authors' output[:,:,:7,:7].
    h = tf.nn.relu(self.deconv3(h))  # [B, 14, 14, dim]
    return tf.sigmoid(self.deconv5(h))  # [B, 28, 28, 1]


class MnistCritic(tf.Module):
  """gan_mnist.py `Discriminator` without batch norm: [B, 28, 28, 1] -> [B].

  Attributes:
    num_classes: None (unconditional).
  """

  def __init__(self, dim: int = 64, seed: int = 0,
               name: str = 'discriminator',
               dtype: tf.DType = tf.float32):
    """Creates every variable.

    Args:
      dim: gan_mnist.py `DIM` (64).
      seed: integer seed of all initial weights.
      name: module name (prefix of the variable names).
    """
    super().__init__(name=name)
    self.num_classes = None
    self.dim = dim
    k = _KERNEL_SIZE
    stride = 2
    seeds = layers.SeedSequence(seed)
    with self.name_scope:
      # 'Discriminator.1', '.2', '.3' and 'Discriminator.Output'.
      self.conv1 = layers.Conv2D(1, dim, k, stride, 'SAME', seeds(),
                                 conv2d_he_init(1, dim, k, stride),
                                 name='conv1', dtype=dtype)
      self.conv2 = layers.Conv2D(dim, 2 * dim, k, stride, 'SAME', seeds(),
                                 conv2d_he_init(dim, 2 * dim, k, stride),
                                 name='conv2', dtype=dtype)
      self.conv3 = layers.Conv2D(2 * dim, 4 * dim, k, stride, 'SAME', seeds(),
                                 conv2d_he_init(2 * dim, 4 * dim, k, stride),
                                 name='conv3', dtype=dtype)
      self.output = layers.Dense(4 * 4 * 4 * dim, 1, seeds(),
                                 linear_glorot_init(4 * 4 * 4 * dim, 1),
                                 name='output', dtype=dtype)

  def __call__(self, x: tf.Tensor, labels=None, training: bool = True,
               seed: Optional[tf.Tensor] = None) -> tf.Tensor:
    """Returns the critic's scores [B] for images x [B, 28, 28, 1]."""
    del training, seed  # No batch norm or dropout in MODE 'wgan-gp'.
    _check_unconditional(labels, 'MnistCritic')
    h = tf.reshape(x, [-1, *MNIST_IMAGE_SHAPE])  # [B, 28, 28, 1]
    h = layers.leaky_relu(self.conv1(h), _LEAKY_RELU_SLOPE,
                          _LEAKY_RELU_SLOPE_AT_ZERO)  # [B, 14, 14, d]
    h = layers.leaky_relu(self.conv2(h), _LEAKY_RELU_SLOPE,
                          _LEAKY_RELU_SLOPE_AT_ZERO)  # [B, 7, 7, 2d]
    h = layers.leaky_relu(self.conv3(h), _LEAKY_RELU_SLOPE,
                          _LEAKY_RELU_SLOPE_AT_ZERO)  # [B, 4, 4, 4d]
    h = tf.transpose(h, [0, 3, 1, 2])  # NCHW, flattened as the authors do.
    h = tf.reshape(h, [-1, 4 * 4 * 4 * self.dim])  # [B, 4*4*4*dim]
    return tf.reshape(self.output(h), [-1])  # [B]
