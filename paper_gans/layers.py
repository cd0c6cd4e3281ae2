"""Layers as `tf.Module`s that create their variables in `__init__`.

Every layer is told its input size when it is built, so that all variables
exist before the first call: checkpoints, variable counts and optimizer slots
never depend on having run a batch through the network first (the Sonnet 2
convention). Variable names are stable (`w`, `b`, `gamma`, `beta`,
`moving_mean`, `moving_variance`) and nested under the module's name.

Initialisers are explicit and seeded: `init(shape, seed)` returns a tensor
drawn with a stateless random op from the integer pair `seed`, so a network
built twice with the same seed has identical weights on any machine.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Tuple, Union

import tensorflow as tf

Initializer = Callable[[Sequence[int], Tuple[int, int]], tf.Tensor]
Padding = Union[str, int]


# --------------------------------------------------------------------------
# Initialisers.
# --------------------------------------------------------------------------

def normal_initializer(stddev: float, mean: float = 0.0) -> Initializer:
  """N(mean, stddev^2); DCGAN (Radford et al. 2015, section 4) uses N(0, 0.02)."""

  def init(shape, seed):
    return tf.random.stateless_normal(shape, seed=seed, mean=mean, stddev=stddev)

  return init


def uniform_initializer(limit: float) -> Initializer:
  """U(-limit, limit); pylearn2's `irange` (Goodfellow et al. 2014's mnist.yaml)."""

  def init(shape, seed):
    return tf.random.stateless_uniform(shape, seed=seed, minval=-limit, maxval=limit)

  return init


def zeros_initializer() -> Initializer:
  def init(shape, seed):
    del seed
    return tf.zeros(shape)

  return init


def constant_initializer(value) -> Initializer:
  """Fills with `value` (a scalar, or an array broadcastable to the shape)."""

  def init(shape, seed):
    del seed
    return tf.broadcast_to(tf.constant(value, tf.float32), shape)

  return init


class SeedSequence:
  """Hands out distinct stateless seeds `(base, 0), (base, 1), ...` in order.

  A network takes one integer seed and gives each layer the next seed from
  this sequence, so that adding a layer at the end never changes the weights
  of the layers before it.
  """

  def __init__(self, seed: int):
    self._seed = int(seed)
    self._count = 0

  def __call__(self) -> Tuple[int, int]:
    self._count += 1
    return (self._seed, self._count)


# --------------------------------------------------------------------------
# Activations and dropout (stateless functions).
# --------------------------------------------------------------------------

def leaky_relu(x: tf.Tensor, slope: float = 0.2) -> tf.Tensor:
  """max(x, slope * x); DCGAN's discriminator uses slope 0.2 (section 3)."""
  return tf.maximum(x, slope * x)


def dropout(x: tf.Tensor, keep_prob: float, seed: tf.Tensor,
            scale: Optional[float] = None) -> tf.Tensor:
  """Keeps each element with probability `keep_prob` and multiplies it by `scale`.

  pylearn2's `Dropout` cost (Goodfellow et al. 2014) states the keep
  probability (`input_include_probs`) and the scale (`input_scales`)
  separately; the default scale is 1 / keep_prob, which is what pylearn2 uses
  in mnist.yaml (keep 0.8 -> scale 1.25, keep 0.5 -> scale 2).

  Args:
    x: the input tensor.
    keep_prob: probability of keeping an element.
    seed: int32 tensor of shape [2] for `tf.random.stateless_uniform`; the
      mask is a pure function of it, so training is reproducible.
    scale: the factor kept elements are multiplied by.
  """
  if scale is None:
    scale = 1.0 / keep_prob
  if keep_prob >= 1.0:
    return x * scale
  mask = tf.random.stateless_uniform(tf.shape(x), seed=seed) < keep_prob
  return tf.where(mask, x * scale, tf.zeros_like(x))


# --------------------------------------------------------------------------
# Layers with variables.
# --------------------------------------------------------------------------

class Dense(tf.Module):
  """y = x @ w + b, with w of shape [in_features, out_features]."""

  def __init__(self, in_features: int, out_features: int, seed: Tuple[int, int],
               w_init: Initializer, use_bias: bool = True,
               b_init: Optional[Initializer] = None, name: Optional[str] = None):
    super().__init__(name=name)
    self.in_features = in_features
    self.out_features = out_features
    with self.name_scope:
      self.w = tf.Variable(w_init([in_features, out_features], seed), name='w')
      self.b = None
      if use_bias:
        b_init = b_init or zeros_initializer()
        # A seed of its own: a random b_init drawn from the weights' seed
        # would repeat the first row of w (stateless draws share a stream).
        b_seed = tf.random.experimental.stateless_fold_in(seed, 1)
        self.b = tf.Variable(b_init([out_features], b_seed), name='b')

  def __call__(self, x: tf.Tensor) -> tf.Tensor:
    y = tf.matmul(x, self.w)  # [B, out_features]
    if self.b is not None:
      y = y + self.b
    return y


class Maxout(tf.Module):
  """Maxout layer (Goodfellow et al. 2013) as pylearn2's `maxout.Maxout`.

  A dense layer to `units * pieces` outputs whose pieces are grouped per unit
  with the piece index varying fastest (pylearn2 takes `z[:, i::num_pieces]`
  for piece i), followed by the max over each group.
  """

  def __init__(self, in_features: int, units: int, pieces: int,
               seed: Tuple[int, int], w_init: Initializer,
               name: Optional[str] = None):
    super().__init__(name=name)
    self.units = units
    self.pieces = pieces
    with self.name_scope:
      self.linear = Dense(in_features, units * pieces, seed, w_init, name='linear')

  def __call__(self, x: tf.Tensor) -> tf.Tensor:
    z = self.linear(x)  # [B, units * pieces]
    z = tf.reshape(z, [-1, self.units, self.pieces])  # [B, units, pieces]
    return tf.reduce_max(z, axis=2)  # [B, units]


def _explicit_pad(x: tf.Tensor, pad: int) -> tf.Tensor:
  return tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]])


class Conv2D(tf.Module):
  """2-D convolution on NHWC tensors, kernel shape [k, k, in, out].

  `padding` is 'SAME' or 'VALID' (TensorFlow's rules) or an integer p, which
  pads p zeros on every side first (PyTorch's `nn.Conv2d(padding=p)`, as the
  WGAN authors' code uses).
  """

  def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
               stride: int, padding: Padding, seed: Tuple[int, int],
               w_init: Initializer, use_bias: bool = True,
               name: Optional[str] = None):
    super().__init__(name=name)
    self.stride = stride
    self.padding = padding
    with self.name_scope:
      self.w = tf.Variable(
          w_init([kernel_size, kernel_size, in_channels, out_channels], seed),
          name='w')
      self.b = (tf.Variable(tf.zeros([out_channels]), name='b')
                if use_bias else None)

  def __call__(self, x: tf.Tensor) -> tf.Tensor:
    if isinstance(self.padding, int):
      x = _explicit_pad(x, self.padding)
      padding = 'VALID'
    else:
      padding = self.padding
    y = tf.nn.conv2d(x, self.w, strides=self.stride, padding=padding)
    if self.b is not None:
      y = y + self.b
    return y


class ConvTranspose2D(tf.Module):
  """Fractionally-strided (transposed) convolution on NHWC tensors.

  Kernel shape is [k, k, out, in] (TensorFlow's `conv2d_transpose` layout).
  With an integer `padding` p the output size follows PyTorch's
  `nn.ConvTranspose2d`: (in - 1) * stride - 2 p + k. With 'SAME' it is
  in * stride, TensorFlow's rule, which is also what the DCGAN authors'
  Theano `deconv` produces.
  """

  def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
               stride: int, padding: Padding, seed: Tuple[int, int],
               w_init: Initializer, use_bias: bool = True,
               name: Optional[str] = None):
    super().__init__(name=name)
    self.kernel_size = kernel_size
    self.stride = stride
    self.padding = padding
    self.out_channels = out_channels
    with self.name_scope:
      self.w = tf.Variable(
          w_init([kernel_size, kernel_size, out_channels, in_channels], seed),
          name='w')
      self.b = (tf.Variable(tf.zeros([out_channels]), name='b')
                if use_bias else None)

  def output_size(self, in_size: int) -> int:
    if isinstance(self.padding, int):
      return (in_size - 1) * self.stride - 2 * self.padding + self.kernel_size
    if self.padding == 'SAME':
      return in_size * self.stride
    return (in_size - 1) * self.stride + self.kernel_size

  def __call__(self, x: tf.Tensor) -> tf.Tensor:
    batch = tf.shape(x)[0]
    height, width = x.shape[1], x.shape[2]
    if isinstance(self.padding, int):
      full_h = (height - 1) * self.stride + self.kernel_size
      full_w = (width - 1) * self.stride + self.kernel_size
      y = tf.nn.conv2d_transpose(
          x, self.w, [batch, full_h, full_w, self.out_channels],
          strides=self.stride, padding='VALID')
      p = self.padding
      if p:
        y = y[:, p:full_h - p, p:full_w - p, :]
    else:
      out_h, out_w = self.output_size(height), self.output_size(width)
      y = tf.nn.conv2d_transpose(
          x, self.w, [batch, out_h, out_w, self.out_channels],
          strides=self.stride, padding=self.padding)
    if self.b is not None:
      y = y + self.b
    return y


class BatchNorm(tf.Module):
  """Batch normalisation over all axes but the last.

  In training it normalises with the batch's own mean and (biased) variance,
  as every reference implementation here does, and updates moving averages
  for use when `training=False`:

      moving = (1 - momentum) * moving + momentum * batch_statistic

  `momentum` follows PyTorch's meaning (the weight of the new batch; 0.1 in
  the WGAN authors' PyTorch code), and the moving variance uses the unbiased
  batch variance as PyTorch does. `epsilon` is added to the variance inside
  the square root: 1e-5 in PyTorch (WGAN), 1e-8 in the DCGAN authors' Theano
  code; every network states the value it uses.

  With `affine=False` there is no `gamma` and no `beta` (both are None): the
  output is only normalised, as the DCGAN authors' `batchnorm(X)` called
  without `g` and `b` does (Newmu/dcgan_code mnist/train_cond_dcgan.py).
  """

  def __init__(self, channels: int, epsilon: float, momentum: float = 0.1,
               gamma_init: Optional[Initializer] = None,
               seed: Tuple[int, int] = (0, 0), name: Optional[str] = None,
               affine: bool = True):
    super().__init__(name=name)
    self.epsilon = epsilon
    self.momentum = momentum
    gamma_init = gamma_init or constant_initializer(1.0)
    with self.name_scope:
      self.gamma = None
      self.beta = None
      if affine:
        self.gamma = tf.Variable(gamma_init([channels], seed), name='gamma')
        self.beta = tf.Variable(tf.zeros([channels]), name='beta')
      self.moving_mean = tf.Variable(tf.zeros([channels]), trainable=False,
                                     name='moving_mean')
      self.moving_variance = tf.Variable(tf.ones([channels]), trainable=False,
                                         name='moving_variance')

  def __call__(self, x: tf.Tensor, training: bool) -> tf.Tensor:
    axes = list(range(len(x.shape) - 1))
    if training:
      mean, variance = tf.nn.moments(x, axes=axes)  # [C], [C] (biased)
      count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), x.dtype)
      unbiased = variance * count / tf.maximum(count - 1.0, 1.0)
      self.moving_mean.assign(
          (1.0 - self.momentum) * self.moving_mean + self.momentum * mean)
      self.moving_variance.assign(
          (1.0 - self.momentum) * self.moving_variance + self.momentum * unbiased)
    else:
      mean, variance = self.moving_mean, self.moving_variance
    return tf.nn.batch_normalization(x, mean, variance, self.beta, self.gamma,
                                     self.epsilon)


def count_parameters(module: tf.Module, trainable_only: bool = True) -> int:
  """Number of scalar parameters in `module`'s (trainable) variables."""
  variables = module.trainable_variables if trainable_only else module.variables
  return int(sum(v.shape.num_elements() for v in variables))
