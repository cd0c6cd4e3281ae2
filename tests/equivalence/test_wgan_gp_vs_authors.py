"""WGAN-GP (Gulrajani et al. 2017): our trainer against the authors' own loop.

The authors' code is igul222/improved_wgan_training, commit
fa66c574a54c4916d27c55441d33753dcc78f6bc (the newest; `gan_toy.py` last
changed in 3c8ba3c, `gan_mnist.py` in a3029cc, `tflib/__init__.py` and
`tflib/ops/linear.py` in 4fde7f3, `tflib/ops/conv2d.py` and
`tflib/ops/deconv2d.py` in 8170ed9). It is TensorFlow 1 code; it is re-typed
here as TF1 graphs under `tf.compat.v1` (each in its own `tf.Graph`, run by a
`tf.compat.v1.Session`), with the authors' own optimizers
`tf.compat.v1.train.AdamOptimizer` and `tf.compat.v1.train.RMSPropOptimizer`.
Line numbers below are those of the files at that commit.

What each block follows:
* `_Tflib.param`, `_Tflib.params_with_name`: tflib/__init__.py lines 8-37.
* `_Tflib.linear`: tflib/ops/linear.py lines 24-148 (the branches these
  scripts reach: no weight norm, 2-D inputs, biases).
* `_Tflib.conv2d`: tflib/ops/conv2d.py lines 20-123 (no mask, no weight
  norm, biases).
* `_Tflib.deconv2d`: tflib/ops/deconv2d.py lines 20-115 (no weight norm,
  biases; the `tf.stack` branch of lines 92-95, TF >= 1.0).
* `_build_gan_toy`: gan_toy.py lines 18-27 (constants), 31-58 (ReLULayer,
  Generator, Discriminator), 60-83 (losses and penalty), 85-133 (optimizers,
  `clip_disc_weights`).
* `_build_gan_mnist`: gan_mnist.py lines 22-28 (constants), 32-33
  (LeakyReLU), 55-101 (Generator, Discriminator with MODE 'wgan-gp': no batch
  norm), 103-110 (placeholders, nets, params), 134-161 (MODE 'wgan-gp': losses,
  penalty, Adam).
* `_train_authors`: the train loops, gan_toy.py lines 228-244 and
  gan_mnist.py lines 207-231 (the same loop: `if iteration > 0:
  session.run(gen_train_op)`, then CRITIC_ITERS critic steps, each on a fresh
  batch, `session.run(clip_disc_weights)` after each critic train op in
  MODE 'wgan'). Logging, plotting, sample images and the dev-set cost are
  left out; they update nothing.

What is changed in the authors' code, and why:
* The critic's train op is built under control dependencies on the losses
  the loop fetches with it (`_after`), since `session.run` leaves the order
  of the update and those losses' variable reads open; the optimizers are
  the authors', built just before.
* Initial values: `lib.param(name, values)` is given OUR initial value of
  the matching variable instead of the authors' `np.random` draw (their
  initialisation formulas do not matter once the values are loaded).
* Random ops become placeholders fed with OUR trainer's draws: the
  generator's noise `tf.random_normal([n_samples, 2])` (gan_toy.py line 46)
  and `tf.random_normal([n_samples, 128])` (gan_mnist.py line 57), and the
  penalty weights `tf.random_uniform(shape=[BATCH_SIZE,1], ...)` (gan_toy.py
  lines 72-76, gan_mnist.py lines 138-142). One `session.run` evaluates each
  random op once, so one placeholder per op and per run is exactly what the
  authors' graph draws.
* gan_toy.py interpolates `alpha*real_data + ((1-alpha)*fake_data)` (line
  77) where our trainer (and gan_mnist.py line 144) computes `real + alpha *
  (fake - real)`: the same x_hat for the authors' alpha = 1 - ours, and the
  same distribution U[0, 1] either way. The toy graph is fed 1 - our alpha.
* Precision: the placeholders and variables are float64 (the authors':
  float32), since our run is float64. The optimizers' hyperparameters are
  passed as float64 constants of the authors' values (and of the class
  defaults the authors leave unset: RMSProp's decay 0.9, momentum 0,
  epsilon 1e-10; Adam's epsilon 1e-8): given as Python floats, TF1's
  optimizers turn them into float32 tensors and cast those to the
  variables' dtype (beta2 0.9 becomes 0.89999997615814), and Adam keeps
  beta1^t and beta2^t in float32 variables. In float32 the two are the same.
* gan_mnist.py's convolutions are NCHW (`data_format='NCHW'`), which
  TensorFlow's CPU kernels do not support ("Conv2DCustomBackpropInputOp only
  supports NHWC"): `_Tflib.conv2d` transposes to NHWC, convolves with the
  same filters, strides and 'SAME' padding, and transposes back, which is the
  same convolution. Everything else stays NCHW as the authors wrote it.
* The loop fetches, with each train op, the losses it compares (disc_cost,
  gradient_penalty, the means of disc_real and disc_fake; gen_cost with
  gen_train_op, which the authors run without a fetch). In one
  `session.run` these are the values the update's gradients come from.
* gan_mnist.py's DIM is 8 here (preset 'ci_mnist'; the authors' 64), to fit
  the CPU budget.

How our losses map onto the authors': 'discriminator_loss' is disc_cost
after `disc_cost += LAMBDA*gradient_penalty` (critic loss including the
penalty; without it in MODE 'wgan'), 'gradient_penalty' is
gradient_penalty (without LAMBDA; 0 in MODE 'wgan', where the authors have
none), 'discriminator_real' / 'discriminator_fake' are the means of
disc_real / disc_fake, and 'generator_loss' is gen_cost, all evaluated
before the update they drive.

Update order: the authors' iteration 0 runs 5 critic steps and no generator
step, every later iteration the generator step and then 5 critic steps, so
their sequence is C5 G C5 G ...; our iteration is 5 critic steps then the
generator step: the same sequence (the authors' ITERS iterations end on
critic steps, ours on a generator step, which matters only at the end of a
run). `_train_authors` runs the authors' loop and takes the next of our
recorded steps for each of its train ops, failing if their kinds disagree.
FIXED_GENERATOR is False in both gan_toy.py and our presets.

A disagreement this test found, and which is fixed: gan_mnist.py line 33
writes its LeakyReLU as `tf.maximum(alpha*x, x)`, and our MNIST critic had
tf.maximum(x, 0.2 x). The two are the same function but not the same
gradient at x = 0 (0.2 for the authors', 1 for the other: TensorFlow's
Maximum gradient goes to its first argument on a tie), and with zero
initial biases every all-black 5x5 window of a real MNIST batch gives
exactly 0, so 'ci_mnist' differed from update 1 on (2e-3 relative). The
critic now uses the authors' order (`layers.leaky_relu(...,
slope_at_zero=True)`).

Runtime: our side runs in graph mode (`ours.run`'s default), at float64.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

import ours
from paper_gans import losses
from paper_gans import reference
from paper_gans import train
from paper_gans.papers import wgan_gp

UPDATES = 102  # 17 generator iterations of 5 critic steps and 1 generator.
DTYPE = tf.float64
# Worst relative difference measured over every loss of the 102 updates, at
# float64 on both sides: 'ci' 1.8e-14 (discriminator_loss, update 91),
# 'ci_clipping' 1.0e-13 (discriminator_real, update 94), 'ci_mnist' 2.9e-14
# (discriminator_real, update 0; measured with the authors' LeakyReLU
# order, which the critic now has). Over 200 updates, compared before:
# 'ci' 1.4e-12 (update 152), 'ci_clipping' 1.6e-12 (update 103). With the optimizers' hyperparameters
# given as Python floats (float32 inside TF1's optimizers) 'ci' differs by
# 1e-8 to 2e-8 at update 1 and by 2.3e-7 at update 22.
RTOL = 1e-9

# gan_toy.py lines 18-27.
TOY_DIM = 512
TOY_FIXED_GENERATOR = False
TOY_LAMBDA = .1
TOY_CRITIC_ITERS = 5
TOY_BATCH_SIZE = 256
# gan_mnist.py lines 22-28 (DIM = 64 in the authors' file; the 'ci_mnist'
# preset shrinks it to 8, as this test does).
MNIST_DIM = 8
MNIST_BATCH_SIZE = 50
MNIST_CRITIC_ITERS = 5
MNIST_LAMBDA = 10
MNIST_OUTPUT_DIM = 784

# The authors' parameter names (tflib `lib.param` names) -> our variables.
TOY_NAMES = {
    f'{net}.{layer}{suffix}': f'{ours_net}/layer{layer}/{var}:0'
    for net, ours_net in (('Generator', 'generator'),
                          ('Discriminator', 'discriminator'))
    for layer in (1, 2, 3, 4)
    for suffix, var in ((('.Linear.W', 'w'), ('.Linear.b', 'b')) if layer < 4
                        else (('.W', 'w'), ('.b', 'b')))}
MNIST_NAMES = {
    'Generator.Input.W': 'generator/input/w:0',
    'Generator.Input.b': 'generator/input/b:0',
    'Generator.2.Filters': 'generator/deconv2/w:0',
    'Generator.2.Biases': 'generator/deconv2/b:0',
    'Generator.3.Filters': 'generator/deconv3/w:0',
    'Generator.3.Biases': 'generator/deconv3/b:0',
    'Generator.5.Filters': 'generator/deconv5/w:0',
    'Generator.5.Biases': 'generator/deconv5/b:0',
    'Discriminator.1.Filters': 'discriminator/conv1/w:0',
    'Discriminator.1.Biases': 'discriminator/conv1/b:0',
    'Discriminator.2.Filters': 'discriminator/conv2/w:0',
    'Discriminator.2.Biases': 'discriminator/conv2/b:0',
    'Discriminator.3.Filters': 'discriminator/conv3/w:0',
    'Discriminator.3.Biases': 'discriminator/conv3/b:0',
    'Discriminator.Output.W': 'discriminator/output/w:0',
    'Discriminator.Output.b': 'discriminator/output/b:0',
}
CRITIC_COLUMNS = ('discriminator_loss', 'discriminator_real',
                  'discriminator_fake', 'gradient_penalty')


# --------------------------------------------------------------------------
# tflib, re-typed (tflib/__init__.py, tflib/ops/{linear,conv2d,deconv2d}.py).
# --------------------------------------------------------------------------

class _Tflib:
  """The authors' `tflib` for one graph, its params loaded from our run.

  Args:
    initial_values: our initial value of each of the authors' parameter
      names (replacing tflib's `np.random` initialisations).
    dtype: the graph's float dtype.
  """

  def __init__(self, initial_values: Dict[str, np.ndarray], dtype: tf.DType):
    self._initial_values = initial_values
    self._params = {}
    self.dtype = dtype

  def param(self, name: str, shape: Tuple[int, ...]) -> tf.Variable:
    """tflib/__init__.py `param`: one variable per name, shared on reuse.

    The authors pass the initial values (of this shape); ours are loaded.
    """
    if name not in self._params:
      value = self._initial_values[name]
      assert value.shape == tuple(shape), (name, value.shape, shape)
      self._params[name] = tf.compat.v1.Variable(value.astype(
          self.dtype.as_numpy_dtype), name=name)
    return self._params[name]

  def params_with_name(self, name: str) -> List[tf.Variable]:
    return [p for n, p in self._params.items() if name in n]

  def linear(self, name, input_dim, output_dim, inputs, biases=True,
             initialization=None):
    """tflib/ops/linear.py `Linear` (weight norm off, as by default)."""
    del initialization  # Only chooses the np.random draw, replaced by ours.
    with tf.compat.v1.name_scope(name):
      weight = self.param(name + '.W', (input_dim, output_dim))
      assert inputs.get_shape().ndims == 2  # Both scripts' inputs are 2-D.
      result = tf.matmul(inputs, weight)
      if biases:
        result = tf.nn.bias_add(result, self.param(name + '.b', (output_dim,)))
      return result

  def conv2d(self, name, input_dim, output_dim, filter_size, inputs,
             stride=1, biases=True):
    """tflib/ops/conv2d.py `Conv2D` (he_init, no mask, no weight norm)."""
    with tf.compat.v1.name_scope(name):
      filters = self.param(name + '.Filters',
                           (filter_size, filter_size, input_dim, output_dim))
      # The authors: tf.nn.conv2d(input=inputs, filter=filters, strides=[1, 1,
      # stride, stride], padding='SAME', data_format='NCHW'). CPU kernels
      # are NHWC only, so the same convolution runs on the transposed input.
      result = tf.compat.v1.nn.conv2d(
          input=tf.transpose(inputs, [0, 2, 3, 1]), filter=filters,
          strides=[1, stride, stride, 1], padding='SAME', data_format='NHWC')
      result = tf.transpose(result, [0, 3, 1, 2])  # Back to NCHW.
      if biases:
        _biases = self.param(name + '.Biases', (output_dim,))
        result = tf.nn.bias_add(result, _biases, data_format='NCHW')
      return result

  def deconv2d(self, name, input_dim, output_dim, filter_size, inputs,
               biases=True):
    """tflib/ops/deconv2d.py `Deconv2D` (he_init, stride 2, no weight norm)."""
    with tf.compat.v1.name_scope(name):
      filters = self.param(name + '.Filters',
                           (filter_size, filter_size, output_dim, input_dim))
      inputs = tf.transpose(inputs, [0, 2, 3, 1], name='NCHW_to_NHWC')
      input_shape = tf.shape(inputs)
      output_shape = tf.stack([input_shape[0], 2 * input_shape[1],
                               2 * input_shape[2], output_dim])
      result = tf.compat.v1.nn.conv2d_transpose(
          value=inputs, filter=filters, output_shape=output_shape,
          strides=[1, 2, 2, 1], padding='SAME')
      if biases:
        _biases = self.param(name + '.Biases', (output_dim,))
        result = tf.nn.bias_add(result, _biases)
      result = tf.transpose(result, [0, 3, 1, 2], name='NHWC_to_NCHW')
      return result


def _constant(value: float, dtype: tf.DType) -> tf.Tensor:
  """An optimizer hyperparameter in the graph's dtype (module docstring)."""
  return tf.constant(value, dtype)


# --------------------------------------------------------------------------
# The authors' graphs.
# --------------------------------------------------------------------------

@dataclasses.dataclass
class _Graph:
  """The tensors and ops of one of the authors' graphs that the loop runs."""
  mode: str  # gan_toy.py / gan_mnist.py MODE.
  critic_iters: int
  real_data: tf.Tensor  # Placeholders.
  noise: tf.Tensor
  alpha: Optional[tf.Tensor]
  disc_cost: tf.Tensor
  gradient_penalty: Optional[tf.Tensor]
  disc_real_mean: tf.Tensor
  disc_fake_mean: tf.Tensor
  gen_cost: tf.Tensor
  disc_train_op: tf.Operation
  gen_train_op: tf.Operation
  clip_disc_weights: Optional[tf.Operation]
  lib: _Tflib


def _after(*fetched):
  """Control dependencies: the critic's update after the losses it fetches.

  The authors' `session.run([disc_cost, disc_train_op], ...)` (gan_toy.py
  lines 239-242, gan_mnist.py lines 226-229) does not order the update against the
  variable reads of the fetched losses. The critic's output is linear in its
  last layer and the WGAN losses linear in the output, so that layer's
  gradient needs the layer's inputs but not its weights: its update can run
  before the real and fake batches' reads of those weights, and the fetched
  losses then come from the updated layer. Which happens depends on how
  TensorFlow's threads schedule the ops. A full test-suite run once failed
  gan_mnist at update 146 by 1.3e-4 relative, about one Adam step's change,
  a failure no run of the file alone reproduced; this race explains it.
  This block gives every run the order the authors' loop means and our
  trainer has: the losses of the weights before the update. The optimizers are built outside it, so that
  their constants (and the accumulators made from them) stay free of the
  placeholders the losses need.
  """
  return tf.control_dependencies([t for t in fetched if t is not None])


def _build_gan_toy(lib: _Tflib, mode: str) -> _Graph:
  """gan_toy.py lines 31-133 with MODE = `mode`, FIXED_GENERATOR = False."""
  dtype = lib.dtype
  DIM, BATCH_SIZE, LAMBDA = TOY_DIM, TOY_BATCH_SIZE, TOY_LAMBDA

  def ReLULayer(name, n_in, n_out, inputs):
    output = lib.linear(name + '.Linear', n_in, n_out, inputs,
                        initialization='he')
    output = tf.nn.relu(output)
    return output

  # Replaces `tf.random_normal([n_samples, 2])`: our trainer's noise.
  noise = tf.compat.v1.placeholder(dtype, shape=[BATCH_SIZE, 2])

  def Generator(n_samples, real_data):
    assert not TOY_FIXED_GENERATOR and n_samples == BATCH_SIZE
    del real_data  # Used only by FIXED_GENERATOR.
    output = ReLULayer('Generator.1', 2, DIM, noise)
    output = ReLULayer('Generator.2', DIM, DIM, output)
    output = ReLULayer('Generator.3', DIM, DIM, output)
    output = lib.linear('Generator.4', DIM, 2, output)
    return output

  def Discriminator(inputs):
    output = ReLULayer('Discriminator.1', 2, DIM, inputs)
    output = ReLULayer('Discriminator.2', DIM, DIM, output)
    output = ReLULayer('Discriminator.3', DIM, DIM, output)
    output = lib.linear('Discriminator.4', DIM, 1, output)
    return tf.reshape(output, [-1])

  real_data = tf.compat.v1.placeholder(dtype, shape=[None, 2])
  fake_data = Generator(BATCH_SIZE, real_data)

  disc_real = Discriminator(real_data)
  disc_fake = Discriminator(fake_data)

  # WGAN loss
  disc_cost = tf.reduce_mean(disc_fake) - tf.reduce_mean(disc_real)
  gen_cost = -tf.reduce_mean(disc_fake)

  # WGAN gradient penalty
  alpha = gradient_penalty = None
  if mode == 'wgan-gp':
    # Replaces tf.random_uniform(shape=[BATCH_SIZE,1], minval=0., maxval=1.).
    alpha = tf.compat.v1.placeholder(dtype, shape=[BATCH_SIZE, 1])
    interpolates = alpha * real_data + ((1 - alpha) * fake_data)
    disc_interpolates = Discriminator(interpolates)
    gradients = tf.gradients(disc_interpolates, [interpolates])[0]
    slopes = tf.sqrt(tf.compat.v1.reduce_sum(tf.square(gradients),
                                            reduction_indices=[1]))
    gradient_penalty = tf.reduce_mean((slopes - 1)**2)

    disc_cost += LAMBDA * gradient_penalty

  disc_params = lib.params_with_name('Discriminator')
  gen_params = lib.params_with_name('Generator')
  assert len(gen_params) > 0  # FIXED_GENERATOR = False: gen_train_op trains.

  clip_disc_weights = None
  if mode == 'wgan-gp':
    disc_optimizer = tf.compat.v1.train.AdamOptimizer(
        learning_rate=_constant(1e-4, dtype),
        beta1=_constant(0.5, dtype),
        beta2=_constant(0.9, dtype),
        epsilon=_constant(1e-8, dtype))  # The class default.
    gen_optimizer = tf.compat.v1.train.AdamOptimizer(
        learning_rate=_constant(1e-4, dtype),
        beta1=_constant(0.5, dtype),
        beta2=_constant(0.9, dtype),
        epsilon=_constant(1e-8, dtype))
  else:
    def rmsprop():
      # RMSPropOptimizer(learning_rate=5e-5) and the class defaults.
      return tf.compat.v1.train.RMSPropOptimizer(
          learning_rate=_constant(5e-5, dtype), decay=_constant(0.9, dtype),
          momentum=_constant(0.0, dtype), epsilon=_constant(1e-10, dtype))
    disc_optimizer, gen_optimizer = rmsprop(), rmsprop()
  disc_real_mean = tf.reduce_mean(disc_real)
  disc_fake_mean = tf.reduce_mean(disc_fake)
  with _after(disc_cost, disc_real_mean, disc_fake_mean, gradient_penalty):
    disc_train_op = disc_optimizer.minimize(disc_cost, var_list=disc_params)
  gen_train_op = gen_optimizer.minimize(gen_cost, var_list=gen_params)

  if mode != 'wgan-gp':
    # Build an op to do the weight clipping
    clip_ops = []
    for var in disc_params:
      clip_bounds = [-.01, .01]
      clip_ops.append(
          tf.compat.v1.assign(
              var, tf.clip_by_value(var, clip_bounds[0], clip_bounds[1])))
    clip_disc_weights = tf.group(*clip_ops)

  return _Graph(mode, TOY_CRITIC_ITERS, real_data, noise, alpha, disc_cost,
                gradient_penalty, disc_real_mean, disc_fake_mean, gen_cost,
                disc_train_op, gen_train_op, clip_disc_weights, lib)


def _build_gan_mnist(lib: _Tflib) -> _Graph:
  """gan_mnist.py lines 32-161 with MODE = 'wgan-gp' (DIM = MNIST_DIM)."""
  dtype = lib.dtype
  DIM, BATCH_SIZE, LAMBDA = MNIST_DIM, MNIST_BATCH_SIZE, MNIST_LAMBDA
  OUTPUT_DIM = MNIST_OUTPUT_DIM

  def LeakyReLU(x, alpha=0.2):
    # Kept as written. TensorFlow's Maximum gradient goes to its FIRST
    # argument on a tie, so at x = 0 this has slope alpha; our
    # `layers.leaky_relu` is tf.maximum(x, slope * x), slope 1 there. A
    # pre-activation is exactly 0 wherever a 5x5 window of the real batch
    # is all black while the biases are still zero (update 0): there the
    # two critics' first gradients differ.
    return tf.maximum(alpha * x, x)

  # Replaces `tf.random_normal([n_samples, 128])`: our trainer's noise.
  noise_placeholder = tf.compat.v1.placeholder(dtype, shape=[BATCH_SIZE, 128])

  def Generator(n_samples, noise=None):
    if noise is None:
      assert n_samples == BATCH_SIZE
      noise = noise_placeholder

    output = lib.linear('Generator.Input', 128, 4 * 4 * 4 * DIM, noise)
    output = tf.nn.relu(output)  # MODE 'wgan-gp': no Generator.BN1.
    output = tf.reshape(output, [-1, 4 * DIM, 4, 4])

    output = lib.deconv2d('Generator.2', 4 * DIM, 2 * DIM, 5, output)
    output = tf.nn.relu(output)

    output = output[:, :, :7, :7]

    output = lib.deconv2d('Generator.3', 2 * DIM, DIM, 5, output)
    output = tf.nn.relu(output)

    output = lib.deconv2d('Generator.5', DIM, 1, 5, output)
    output = tf.nn.sigmoid(output)

    return tf.reshape(output, [-1, OUTPUT_DIM])

  def Discriminator(inputs):
    output = tf.reshape(inputs, [-1, 1, 28, 28])

    output = lib.conv2d('Discriminator.1', 1, DIM, 5, output, stride=2)
    output = LeakyReLU(output)

    output = lib.conv2d('Discriminator.2', DIM, 2 * DIM, 5, output, stride=2)
    output = LeakyReLU(output)  # MODE 'wgan-gp': no Discriminator.BN2.

    output = lib.conv2d('Discriminator.3', 2 * DIM, 4 * DIM, 5, output,
                        stride=2)
    output = LeakyReLU(output)

    output = tf.reshape(output, [-1, 4 * 4 * 4 * DIM])
    output = lib.linear('Discriminator.Output', 4 * 4 * 4 * DIM, 1, output)

    return tf.reshape(output, [-1])

  real_data = tf.compat.v1.placeholder(dtype, shape=[BATCH_SIZE, OUTPUT_DIM])
  fake_data = Generator(BATCH_SIZE)

  disc_real = Discriminator(real_data)
  disc_fake = Discriminator(fake_data)

  gen_params = lib.params_with_name('Generator')
  disc_params = lib.params_with_name('Discriminator')

  # MODE == 'wgan-gp'
  gen_cost = -tf.reduce_mean(disc_fake)
  disc_cost = tf.reduce_mean(disc_fake) - tf.reduce_mean(disc_real)

  # Replaces tf.random_uniform(shape=[BATCH_SIZE,1], minval=0., maxval=1.).
  alpha = tf.compat.v1.placeholder(dtype, shape=[BATCH_SIZE, 1])
  differences = fake_data - real_data
  interpolates = real_data + (alpha * differences)
  gradients = tf.gradients(Discriminator(interpolates), [interpolates])[0]
  slopes = tf.sqrt(tf.compat.v1.reduce_sum(tf.square(gradients),
                                          reduction_indices=[1]))
  gradient_penalty = tf.reduce_mean((slopes - 1.)**2)
  disc_cost += LAMBDA * gradient_penalty

  gen_train_op = tf.compat.v1.train.AdamOptimizer(
      learning_rate=_constant(1e-4, dtype),
      beta1=_constant(0.5, dtype),
      beta2=_constant(0.9, dtype),
      epsilon=_constant(1e-8, dtype)  # The class default.
  ).minimize(gen_cost, var_list=gen_params)
  disc_optimizer = tf.compat.v1.train.AdamOptimizer(
      learning_rate=_constant(1e-4, dtype),
      beta1=_constant(0.5, dtype),
      beta2=_constant(0.9, dtype),
      epsilon=_constant(1e-8, dtype))
  disc_real_mean = tf.reduce_mean(disc_real)
  disc_fake_mean = tf.reduce_mean(disc_fake)
  with _after(disc_cost, disc_real_mean, disc_fake_mean, gradient_penalty):
    disc_train_op = disc_optimizer.minimize(disc_cost, var_list=disc_params)

  clip_disc_weights = None

  return _Graph('wgan-gp', MNIST_CRITIC_ITERS, real_data, noise_placeholder,
                alpha, disc_cost, gradient_penalty, disc_real_mean,
                disc_fake_mean, gen_cost, disc_train_op,
                gen_train_op, clip_disc_weights, lib)


# --------------------------------------------------------------------------
# Our run's steps, as feeds for the authors' graph.
# --------------------------------------------------------------------------

@dataclasses.dataclass
class _Step:
  """One of our updates: what the authors' graph is fed for it."""
  player: str  # 'discriminator' or 'generator'.
  real: Optional[np.ndarray]  # The critic step's real batch.
  noise: np.ndarray
  alpha: Optional[np.ndarray]  # Our penalty weights, as we drew them.


def _our_steps(run: ours.OurRun, penalty: bool) -> List[_Step]:
  """Our updates in order, each with the batch and the draws it used.

  Checks that each generator iteration drew what the authors' graph draws
  per step, in this order: per critic step the noise and (with the penalty)
  alpha, then the generator step's noise.
  """
  steps = []
  for iteration in run.iterations:
    draws = list(iteration.draws)
    expected = (['stateless_normal', 'stateless_uniform'] if penalty
                else ['stateless_normal']) * len(iteration.images) + [
                    'stateless_normal']
    assert [d.op for d in draws] == expected, (iteration.index,
                                               [d.op for d in draws])
    for real in iteration.images:
      noise = draws.pop(0).value
      alpha = draws.pop(0).value if penalty else None
      steps.append(_Step('discriminator', real, noise, alpha))
    steps.append(_Step('generator', None, draws.pop(0).value, None))
  return steps


def _initial_values(run: ours.OurRun,
                    names: Dict[str, str]) -> Dict[str, np.ndarray]:
  """Our initial weights under the authors' parameter names (all of them)."""
  values = {**run.initial_generator, **run.initial_discriminator}
  assert sorted(names.values()) == sorted(values), sorted(values)
  return {theirs: values[mine] for theirs, mine in names.items()}


# --------------------------------------------------------------------------
# The authors' train loop.
# --------------------------------------------------------------------------

def _train_authors(build: Callable[[_Tflib], _Graph],
                   initial_values: Dict[str, np.ndarray], steps: List[_Step],
                   updates: int,
                   their_alpha: Callable[[np.ndarray], np.ndarray],
                   dtype: tf.DType = DTYPE) -> List[Dict]:
  """Runs the authors' loop (gan_toy.py 228-244, gan_mnist.py 207-231).

  Args:
    build: `_build_gan_toy` or `_build_gan_mnist` (bound to its mode).
    initial_values: our initial weights under the authors' names.
    steps: our updates in order (`_our_steps`); each of the authors' train
      ops takes the next one, which must be of its kind.
    updates: how many updates to run.
    their_alpha: maps our alpha [B, 1, ...] to the authors' [B, 1].
    dtype: the graph's float dtype.

  Returns:
    One row per update, in our trajectory's format.
  """
  rows = []
  pending = list(steps)

  def next_step(player):
    step = pending.pop(0)
    assert step.player == player, (
        f'update {len(rows)}: the authors run the {player} step, ours was '
        f'the {step.player} step')
    return step

  with tf.Graph().as_default():
    g = build(_Tflib(initial_values, dtype))
    with tf.compat.v1.Session() as session:
      session.run(tf.compat.v1.initialize_all_variables())
      iteration = 0
      while len(rows) < updates:
        # Train generator
        if iteration > 0:
          step = next_step('generator')
          _gen_cost, _ = session.run([g.gen_cost, g.gen_train_op],
                                     feed_dict={g.noise: step.noise})
          rows.append({'update': len(rows), 'player': 'generator',
                       'generator_loss': float(_gen_cost)})
        # Train critic
        for i in range(g.critic_iters):
          if len(rows) == updates:
            break
          step = next_step('discriminator')  # _data = gen.next()
          _data = step.real.reshape(step.real.shape[0], -1)
          feed_dict = {g.real_data: _data, g.noise: step.noise}
          fetches = [g.disc_cost, g.disc_real_mean, g.disc_fake_mean]
          if g.alpha is not None:
            feed_dict[g.alpha] = their_alpha(step.alpha)
            fetches.append(g.gradient_penalty)
          values = session.run(fetches + [g.disc_train_op],
                               feed_dict=feed_dict)
          if g.mode == 'wgan':
            _ = session.run([g.clip_disc_weights])
          row = {'update': len(rows), 'player': 'discriminator',
                 'step': i, 'discriminator_loss': float(values[0]),
                 'discriminator_real': float(values[1]),
                 'discriminator_fake': float(values[2])}
          if g.alpha is not None:
            row['gradient_penalty'] = float(values[3])
          rows.append(row)
        iteration += 1
  return rows


# --------------------------------------------------------------------------
# Comparison.
# --------------------------------------------------------------------------

def _compare(our_rows: List[Dict], their_rows: List[Dict], rtol: float
             ) -> Tuple[Optional[Tuple[int, str, float, float]],
                        Dict[str, Tuple[float, int]]]:
  """(first (update, loss, ours, theirs) beyond rtol or None, and per loss
  the worst relative difference with its update).

  Every loss the authors' row has is compared (relative to our value); the
  players must agree update by update.
  """
  assert len(our_rows) == len(their_rows)
  first = None
  worst = {}
  for u, (mine, theirs) in enumerate(zip(our_rows, their_rows)):
    assert mine['player'] == theirs['player'], u
    for name, value in theirs.items():
      if name in ('update', 'player', 'step'):
        continue
      relative, _ = ours.worst_relative_difference([mine[name]], [value])
      if relative > worst.get(name, (-1.0, 0))[0]:
        worst[name] = (relative, u)
      if first is None and not relative <= rtol:
        first = (u, name, mine[name], value)
  return first, worst


def _config(preset: str):
  return dataclasses.replace(reference.preset_config(wgan_gp, preset),
                             dtype='float64')


def _check_toy_constants(config) -> None:
  """Our preset has gan_toy.py's constants (lines 18-27)."""
  assert config.dataset == '8gaussians'
  assert config.dim == TOY_DIM
  assert config.fixed_generator == TOY_FIXED_GENERATOR
  assert config.batch_size == TOY_BATCH_SIZE
  assert config.critic_steps == TOY_CRITIC_ITERS
  if config.mode == 'wgan-gp':
    assert config.gradient_penalty_weight == TOY_LAMBDA
    assert (config.learning_rate, config.beta1, config.beta2,
            config.adam_epsilon) == (1e-4, 0.5, 0.9, 1e-8)
  else:
    assert (config.rmsprop_learning_rate, config.rmsprop_decay,
            config.rmsprop_epsilon, config.clip_value) == (5e-5, 0.9, 1e-10,
                                                           .01)


def _toy_alpha(alpha: np.ndarray) -> np.ndarray:
  """The authors' toy alpha for ours: x_hat = alpha_theirs real + (1 -
  alpha_theirs) fake = real + alpha_ours (fake - real) (module docstring)."""
  return 1.0 - alpha


def _report(preset: str, worst: Dict[str, Tuple[float, int]]) -> None:
  print(f'{preset}: worst relative difference per loss (update): ' + ', '.join(
      f'{name} {value:.3g} ({u})' for name, (value, u) in worst.items()))


def _equivalence(preset: str, mode: str) -> None:
  config = _config(preset)
  run = ours.run(wgan_gp, config, UPDATES)
  penalty = mode == 'wgan-gp'
  steps = _our_steps(run, penalty)
  if preset == 'ci_mnist':
    build, names, their_alpha = _build_gan_mnist, MNIST_NAMES, (
        lambda a: a.reshape(a.shape[0], 1))
  else:
    build = lambda lib: _build_gan_toy(lib, mode)
    names, their_alpha = TOY_NAMES, _toy_alpha
  theirs = _train_authors(build, _initial_values(run, names), steps,
                          UPDATES, their_alpha)
  first, worst = _compare(run.trajectory, theirs, RTOL)
  _report(preset, worst)
  assert first is None, (
      f'{preset}: update {first[0]}, {first[1]}: ours {first[2]!r}, the '
      f"authors' {first[3]!r}")
  if not penalty:
    # The authors have no penalty in MODE 'wgan'; ours must be exactly 0.
    assert run.losses('gradient_penalty').tolist() == [0.0] * (
        len(run.losses('gradient_penalty')))
  assert len(theirs) == UPDATES


# --------------------------------------------------------------------------
# Tests.
# --------------------------------------------------------------------------

def test_gan_toy_gradient_penalty_matches_authors_for_102_updates():
  """Preset 'ci' (gan_toy.py MODE 'wgan-gp'): all losses of 102 updates."""
  _check_toy_constants(_config('ci'))
  _equivalence('ci', 'wgan-gp')


def test_gan_toy_weight_clipping_matches_authors_for_102_updates():
  """Preset 'ci_clipping' (gan_toy.py MODE 'wgan', RMSProp, clipping after
  each critic train op): all losses of 102 updates."""
  config = _config('ci_clipping')
  assert config.mode == 'wgan'
  _check_toy_constants(config)
  _equivalence('ci_clipping', 'wgan')


def test_gan_mnist_matches_authors_for_102_updates():
  """Preset 'ci_mnist' (gan_mnist.py MODE 'wgan-gp', DIM 8): all losses of
  102 updates."""
  config = _config('ci_mnist')
  assert (config.dataset, config.dim, config.batch_size, config.critic_steps,
          config.gradient_penalty_weight, config.latent_dim) == (
              'mnist', MNIST_DIM, MNIST_BATCH_SIZE, MNIST_CRITIC_ITERS,
              MNIST_LAMBDA, 128)
  assert (config.learning_rate, config.beta1, config.beta2,
          config.adam_epsilon) == (1e-4, 0.5, 0.9, 1e-8)
  _equivalence('ci_mnist', 'wgan-gp')


BROKEN_UPDATES = 6  # One generator iteration: 5 critic steps, 1 generator.


def test_per_element_penalty_weights_fail_the_comparison(monkeypatch):
  """One alpha per ELEMENT (a public implementation's trap) instead of per
  example: the comparison fails at update 0, in the penalty alone."""
  config = _config('ci')
  trainer = wgan_gp.build_trainer(config, 'eager')

  # pylint: disable=protected-access
  def per_element_penalty(real, fake, labels, seed):
    """GANTrainer._gradient_penalty with alpha of the data's shape [B, 2]."""
    alpha = tf.random.stateless_uniform(
        tf.shape(real), seed=train.fold(seed, train._ALPHA),
        dtype=trainer.dtype)
    critic = lambda x: trainer.discriminator(
        x, labels=labels, training=True,
        seed=train.fold(seed, train._DROPOUT_REAL))
    return losses.wasserstein_gradient_penalty(critic, real, fake, alpha)
  # pylint: enable=protected-access

  monkeypatch.setattr(trainer, '_gradient_penalty', per_element_penalty)
  run = ours.run(wgan_gp, config, BROKEN_UPDATES, trainer=trainer)
  assert run.iterations[0].draws[1].value.shape == (TOY_BATCH_SIZE, 2)
  # The authors' graph takes one alpha per example: it is fed the broken
  # run's weight of each example's first coordinate.
  theirs = _train_authors(lambda lib: _build_gan_toy(lib, 'wgan-gp'),
                          _initial_values(run, TOY_NAMES),
                          _our_steps(run, penalty=True), BROKEN_UPDATES,
                          lambda a: _toy_alpha(a[:, :1]))
  first, _ = _compare(run.trajectory, theirs, RTOL)
  assert first is not None and first[:2] == (0, 'discriminator_loss'), first
  # The same data, noise and weights: at update 0 only the penalty differs.
  relative = {name: ours.worst_relative_difference(
      [run.trajectory[0][name]], [theirs[0][name]])[0]
              for name in CRITIC_COLUMNS}
  assert relative['discriminator_real'] <= RTOL, relative
  assert relative['discriminator_fake'] <= RTOL, relative
  assert relative['gradient_penalty'] > 1e-3, relative
