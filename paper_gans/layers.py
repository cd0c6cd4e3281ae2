"""Layers as `tf.Module`s that create their variables in `__init__`.

Every layer is told its input size when it is built, so that all variables
exist before the first call: checkpoints, variable counts and optimizer slots
never depend on having run a batch through the network first (the Sonnet 2
convention). Variable names are stable (`w`, `b`, `gamma`, `beta`,
`moving_mean`, `moving_variance`) and nested under the module's name.

Initialisers are explicit and seeded: `init(shape, seed, dtype)` returns a
tensor drawn with a stateless random op from the integer pair `seed`, so a
network built twice with the same seed has identical weights on any machine.

Every layer takes `dtype` (float32 by default, the papers' precision; float64
for the portable reference trajectories): its variables are created in it
and its initialiser draws in it.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Tuple, Union

import tensorflow as tf

Initializer = Callable[[Sequence[int], Tuple[int, int], tf.DType], tf.Tensor]
Padding = Union[str, int]


# --------------------------------------------------------------------------
# Initialisers.
# --------------------------------------------------------------------------

def normal_initializer(stddev: float, mean: float = 0.0) -> Initializer:
  """N(mean, stddev^2); DCGAN (Radford et al. 2015, section 4) uses N(0, 0.02)."""

  def init(shape, seed, dtype=tf.float32):
    return tf.random.stateless_normal(shape, seed=seed, mean=mean,
                                      stddev=stddev, dtype=dtype)

  return init


def uniform_initializer(limit: float) -> Initializer:
  """U(-limit, limit); pylearn2's `irange` (Goodfellow et al. 2014's mnist.yaml)."""

  def init(shape, seed, dtype=tf.float32):
    return tf.random.stateless_uniform(shape, seed=seed, minval=-limit,
                                       maxval=limit, dtype=dtype)

  return init


def zeros_initializer() -> Initializer:
  def init(shape, seed, dtype=tf.float32):
    del seed
    return tf.zeros(shape, dtype)

  return init


def constant_initializer(value) -> Initializer:
  """Fills with `value` (a scalar, or an array broadcastable to the shape)."""

  def init(shape, seed, dtype=tf.float32):
    del seed
    return tf.broadcast_to(tf.constant(value, dtype), shape)

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

def leaky_relu(x: tf.Tensor, slope: float = 0.2,
               slope_at_zero: bool = False) -> tf.Tensor:
  """max(x, slope * x); DCGAN's discriminator uses slope 0.2 (section 3).

  The two arguments of the max tie at x = 0, and TensorFlow's Maximum
  gradient goes to the first one, so the argument order decides the
  gradient there: 1 with `tf.maximum(x, slope * x)` (the default), `slope`
  with `slope_at_zero=True`, which is `tf.maximum(slope * x, x)` as
  igul222/improved_wgan_training gan_mnist.py writes its LeakyReLU. The
  values are the same either way. Exact zeros are common where a layer
  without bias sees an all-zero patch (MNIST's black background in [0, 1]).
  """
  if slope_at_zero:
    return tf.maximum(slope * x, x)
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
  mask = tf.random.stateless_uniform(tf.shape(x), seed=seed,
                                     dtype=x.dtype) < keep_prob
  return tf.where(mask, x * scale, tf.zeros_like(x))


# --------------------------------------------------------------------------
# Layers with variables.
# --------------------------------------------------------------------------

class Dense(tf.Module):
  """y = x @ w + b, with w of shape [in_features, out_features]."""

  def __init__(self, in_features: int, out_features: int, seed: Tuple[int, int],
               w_init: Initializer, use_bias: bool = True,
               b_init: Optional[Initializer] = None, name: Optional[str] = None,
               dtype: tf.DType = tf.float32):
    super().__init__(name=name)
    self.in_features = in_features
    self.out_features = out_features
    with self.name_scope:
      self.w = tf.Variable(w_init([in_features, out_features], seed, dtype),
                           name='w')
      self.b = None
      if use_bias:
        b_init = b_init or zeros_initializer()
        # A seed of its own: a random b_init drawn from the weights' seed
        # would repeat the first row of w (stateless draws share a stream).
        b_seed = tf.random.experimental.stateless_fold_in(seed, 1)
        self.b = tf.Variable(b_init([out_features], b_seed, dtype), name='b')

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
               name: Optional[str] = None, dtype: tf.DType = tf.float32):
    super().__init__(name=name)
    self.units = units
    self.pieces = pieces
    with self.name_scope:
      self.linear = Dense(in_features, units * pieces, seed, w_init,
                          name='linear', dtype=dtype)

  def __call__(self, x: tf.Tensor) -> tf.Tensor:
    z = self.linear(x)  # [B, units * pieces]
    z = tf.reshape(z, [-1, self.units, self.pieces])  # [B, units, pieces]
    return tf.reduce_max(z, axis=2)  # [B, units]


def _explicit_pad(x: tf.Tensor, pad: int) -> tf.Tensor:
  return tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]])


# Strided convolutions by phases (space-to-depth).
#
# Why: XLA's algebraic simplifier swaps the operands of a convolution whose
# kernel window is larger than its input (kernel area > input area, e.g. a
# 5x5 kernel over a 4x4 input; openxla/xla conv_operand_swapper.cc,
# `kernel_product > swapped_kernel_product`). On the CPU the swapped
# convolution (reversed, batch-last, `dim_labels=01fb_o01i->f01b`) falls off
# Eigen's fast path onto a generic loop. Stride-2 5x5 layers at 4x4 hit this
# twice: the transposed convolution 4x4 -> 8x8 in its forward pass, and the
# input gradient of the convolution 8x8 -> 4x4 (whose input is the 4x4
# gradient), so every backward pass and every gradient penalty does.
# Measured on the 2-core CPU (batch 50, forward and backward, XLA):
# conv 8->4 128->256 ch 1043 ms native vs 133 ms by phases; the same with
# gradient penalty (7->4, 256->512 ch) 10,369 vs 594 ms; transposed conv
# 4->8, 512->256 ch 2,667 vs 573 ms. Where XLA does not swap, phases are
# slower (conv 14->7 with penalty 212 vs 364 ms; transposed 7->14 186 vs
# 294 ms), so only layers whose kernel is larger than their small side use
# them (see `_by_phases`).
#
# How: a stride-s convolution y[i] = sum_t x_pad[s i + t] w[t] (t < k) is,
# with t = s a + r (r < s, a < A = ceil(k / s)), a stride-1 VALID
# convolution of space_to_depth(x_pad, s) with a kernel of A x A taps whose
# channels are the s*s phases (taps beyond k are zero). The transposed
# convolution is its adjoint: a stride-1 transposed convolution with the
# same kernel, depth_to_space, and a crop. Both compute the same sums as
# TensorFlow's ops, in another order: outputs agree to float32 rounding
# (tests/test_layers_phases.py), not bit for bit.


def _strided_output_and_pad_before(size: int, kernel_size: int, stride: int,
                                   padding: Padding) -> Tuple[int, int]:
  """Output size and leading padding of a strided convolution over `size`."""
  if padding == 'SAME':
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel_size - size, 0)
    return out, total // 2  # TensorFlow puts the odd pixel after.
  if padding == 'VALID':
    return (size - kernel_size) // stride + 1, 0
  return (size + 2 * padding - kernel_size) // stride + 1, padding


def _phase_kernel(w: tf.Tensor, stride: int) -> tf.Tensor:
  """[k, k, C, O] -> [A, A, s*s*C, O], A = ceil(k / s), in space_to_depth's
  channel order ((row phase * s + column phase) * C + c)."""
  k, _, c, o = w.shape
  a = -(-k // stride)
  w = tf.pad(w, [[0, a * stride - k], [0, a * stride - k], [0, 0], [0, 0]])
  w = tf.reshape(w, [a, stride, a, stride, c, o])  # [ay, ry, ax, rx, C, O]
  w = tf.transpose(w, [0, 2, 1, 3, 4, 5])  # [ay, ax, ry, rx, C, O]
  return tf.reshape(w, [a, a, stride * stride * c, o])


def _by_phases(kernel_size: int, stride: int, small_side: int) -> bool:
  """Whether a layer avoids XLA's operand swap by computing in phases."""
  return stride > 1 and kernel_size > small_side


def conv2d_by_phases(x: tf.Tensor, w: tf.Tensor, stride: int,
                     padding: Padding) -> tf.Tensor:
  """`tf.nn.conv2d(x, w, stride, padding)` as a stride-1 convolution.

  Args:
    x: [B, H, W, C].
    w: [k, k, C, O].
    stride: s > 1.
    padding: 'SAME', 'VALID' or p (p zeros on every side).

  Returns:
    [B, H_out, W_out, O], as TensorFlow's (or PyTorch's, for an integer p)
    strided convolution.
  """
  k = w.shape[0]
  a = -(-k // stride)
  height, width = x.shape[1], x.shape[2]
  out_h, pad_h = _strided_output_and_pad_before(height, k, stride, padding)
  out_w, pad_w = _strided_output_and_pad_before(width, k, stride, padding)
  # Rows s*i + t for output i < out and tap t < s*A: s*(out + A - 1) rows.
  need_h, need_w = stride * (out_h + a - 1), stride * (out_w + a - 1)
  x = tf.pad(x, [[0, 0], [pad_h, max(need_h - height - pad_h, 0)],
                 [pad_w, max(need_w - width - pad_w, 0)], [0, 0]])
  x = tf.nn.space_to_depth(x[:, :need_h, :need_w, :], stride)
  return tf.nn.conv2d(x, _phase_kernel(w, stride), 1, 'VALID')


def conv2d_transpose_by_phases(x: tf.Tensor, w: tf.Tensor, stride: int,
                               out_h: int, out_w: int,
                               padding: Padding) -> tf.Tensor:
  """The adjoint of `conv2d_by_phases(., w, stride, padding)` on [out_h, out_w].

  Args:
    x: [B, H, W, O].
    w: [k, k, C, O] (conv2d_transpose's layout: [k, k, out, in]).
    stride: s > 1.
    out_h, out_w: the output size (whose strided convolution gives H, W).
    padding: 'SAME', 'VALID' or p.

  Returns:
    [B, out_h, out_w, C], as `tf.nn.conv2d_transpose`.
  """
  batch = tf.shape(x)[0]
  k, _, c, _ = w.shape
  a = -(-k // stride)
  _, pad_h = _strided_output_and_pad_before(out_h, k, stride, padding)
  _, pad_w = _strided_output_and_pad_before(out_w, k, stride, padding)
  y = tf.nn.conv2d_transpose(
      x, _phase_kernel(w, stride),
      [batch, x.shape[1] + a - 1, x.shape[2] + a - 1, stride * stride * c],
      1, 'VALID')
  y = tf.nn.depth_to_space(y, stride)  # [B, s*(H + A - 1), s*(W + A - 1), C]
  return y[:, pad_h:pad_h + out_h, pad_w:pad_w + out_w, :]


class Conv2D(tf.Module):
  """2-D convolution on NHWC tensors, kernel shape [k, k, in, out].

  `padding` is 'SAME' or 'VALID' (TensorFlow's rules) or an integer p, which
  pads p zeros on every side first (PyTorch's `nn.Conv2d(padding=p)`, as the
  WGAN authors' code uses).
  """

  def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
               stride: int, padding: Padding, seed: Tuple[int, int],
               w_init: Initializer, use_bias: bool = True,
               name: Optional[str] = None, dtype: tf.DType = tf.float32):
    super().__init__(name=name)
    self.stride = stride
    self.padding = padding
    with self.name_scope:
      self.w = tf.Variable(
          w_init([kernel_size, kernel_size, in_channels, out_channels], seed,
                 dtype), name='w')
      self.b = (tf.Variable(tf.zeros([out_channels], dtype), name='b')
                if use_bias else None)

  def __call__(self, x: tf.Tensor) -> tf.Tensor:
    kernel_size = self.w.shape[0]
    out_h, _ = _strided_output_and_pad_before(x.shape[1], kernel_size,
                                              self.stride, self.padding)
    out_w, _ = _strided_output_and_pad_before(x.shape[2], kernel_size,
                                              self.stride, self.padding)
    # The input gradient convolves the [out_h, out_w] gradient with the
    # kernel: see the comment above `conv2d_by_phases`.
    if _by_phases(kernel_size, self.stride, min(out_h, out_w)):
      y = conv2d_by_phases(x, self.w, self.stride, self.padding)
    else:
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
               name: Optional[str] = None, dtype: tf.DType = tf.float32):
    super().__init__(name=name)
    self.kernel_size = kernel_size
    self.stride = stride
    self.padding = padding
    self.out_channels = out_channels
    with self.name_scope:
      self.w = tf.Variable(
          w_init([kernel_size, kernel_size, out_channels, in_channels], seed,
                 dtype), name='w')
      self.b = (tf.Variable(tf.zeros([out_channels], dtype), name='b')
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
    if _by_phases(self.kernel_size, self.stride, min(height, width)):
      # See the comment above `conv2d_by_phases`.
      y = conv2d_transpose_by_phases(
          x, self.w, self.stride, self.output_size(height),
          self.output_size(width), self.padding)
    elif isinstance(self.padding, int):
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
               affine: bool = True, dtype: tf.DType = tf.float32):
    super().__init__(name=name)
    self.epsilon = epsilon
    self.momentum = momentum
    gamma_init = gamma_init or constant_initializer(1.0)
    with self.name_scope:
      self.gamma = None
      self.beta = None
      if affine:
        self.gamma = tf.Variable(gamma_init([channels], seed, dtype),
                                 name='gamma')
        self.beta = tf.Variable(tf.zeros([channels], dtype), name='beta')
      self.moving_mean = tf.Variable(tf.zeros([channels], dtype),
                                     trainable=False, name='moving_mean')
      self.moving_variance = tf.Variable(tf.ones([channels], dtype),
                                         trainable=False,
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
