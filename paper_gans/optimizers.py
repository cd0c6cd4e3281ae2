"""Optimizers with the exact update rules of the papers' reference frameworks.

Each optimizer is a `tf.Module` built from the list of variables it updates.
All of its state (one or two slot variables per model variable, the update
counter `step` and, where the rate can change, the learning rate) is created
in `__init__` with stable names, so checkpoints and variable counts never
depend on having taken a step. The interface the training engine relies on:

    optimizer = Adam(variables, learning_rate=..., ...)
    optimizer.apply(gradients)      # one update; works in tf.function(jit_compile=True)
    optimizer.learning_rate()       # the rate the next update will use
    optimizer.step                  # int64 Variable: updates applied so far

| class   | reference code                             | used by                  |
|---------|--------------------------------------------|--------------------------|
| SGD     | pylearn2 `learning_rule.Momentum`, `sgd.ExponentialDecay`, `learning_rule.MomentumAdjustor` | Goodfellow et al. 2014 |
| Adam    | Kingma & Ba 2015 Algorithm 1; TF1 `tf.train.AdamOptimizer`; Newmu/dcgan_code `lib/updates.py` | DCGAN, WGAN-GP, cDCGAN |
| RMSprop | PyTorch `torch.optim.RMSprop`              | Arjovsky et al. 2017     |
| TF1RMSprop | TF1 `tf.train.RMSPropOptimizer` (momentum 0) | WGAN-GP toys' weight-clipping mode (gan_toy.py `MODE = 'wgan'`) |

Hyperparameters, learning rates and schedules are computed in the variables'
dtype (`Optimizer.dtype`): float32 by default, as Theano with floatX=float32,
TF1 and PyTorch all computed the updates in float32; float64 when the
networks are built in float64 (the portable reference trajectories and the
equivalence tests), as Theano with floatX=float64 would.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from paper_gans.errors import ConfigError

ALGORITHM1 = 'algorithm1'
TF1 = 'tf1'
EPSILON_PLACEMENTS = (ALGORITHM1, TF1)


def _slot_name(variable: tf.Variable, slot: str) -> str:
  """'discriminator/h0/w:0' and 'velocity' -> 'discriminator/h0/w/velocity'.

  ':' is not allowed in variable names, and characters outside TensorFlow's
  name-scope alphabet are replaced by '_'.
  """
  base = variable.name.split(':')[0]
  base = re.sub(r'[^A-Za-z0-9_./-]', '_', base)
  return f'{base}/{slot}'


def _as_floatx(value: float, dtype: tf.DType) -> float:
  """`value` stored in a `dtype` shared variable and read back (Theano floatX)."""
  return float(np.asarray(value, dtype.as_numpy_dtype))


def _zeros_slot(variable: tf.Variable, slot: str) -> tf.Variable:
  return tf.Variable(tf.zeros(variable.shape, variable.dtype), trainable=False,
                     name=_slot_name(variable, slot))


class Optimizer(tf.Module):
  """Base class: holds the variables, the update counter and the checks.

  The model variables are kept out of `self.variables` (which lists only the
  optimizer's own state) via `_TF_MODULE_IGNORED_PROPERTIES`.
  """

  _TF_MODULE_IGNORED_PROPERTIES = (
      tf.Module._TF_MODULE_IGNORED_PROPERTIES | frozenset(['_params']))

  def __init__(self, variables: Sequence[tf.Variable], name: Optional[str] = None):
    super().__init__(name=name)
    self._params = tuple(variables)
    if not self._params:
      raise ConfigError(f'{type(self).__name__} was given no variables to update.')
    dtypes = sorted({v.dtype.name for v in self._params})
    if len(dtypes) != 1:
      raise ConfigError(f'{type(self).__name__} was given variables of several '
                        f"dtypes ({', '.join(dtypes)}); build both networks "
                        'in one dtype.')
    # The dtype of the variables, of the slots and of the learning rate.
    self.dtype = self._params[0].dtype
    with self.name_scope:
      # Number of updates applied so far.
      self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name='step')

  def _check_gradients(self, gradients: Sequence[tf.Tensor]) -> List[tf.Tensor]:
    gradients = list(gradients)
    if len(gradients) != len(self._params):
      raise ValueError(f'{type(self).__name__}.apply got {len(gradients)} gradients '
                       f'for {len(self._params)} variables.')
    for variable, gradient in zip(self._params, gradients):
      if gradient is None:
        raise ValueError(f'The gradient for {variable.name} is None: the loss does '
                         'not depend on this variable.')
    return gradients

  def apply(self, gradients: Sequence[tf.Tensor]) -> None:
    raise NotImplementedError

  def learning_rate(self) -> tf.Tensor:
    raise NotImplementedError


# --------------------------------------------------------------------------
# SGD with momentum and pylearn2's schedules (Goodfellow et al. 2014).
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ExponentialDecay:
  """pylearn2 `training_algorithms.sgd.ExponentialDecay` (an SGD update callback).

  pylearn2 calls it after every update; after the n-th call it sets

      lr_n = max(base_lr / decay_factor ** n, min_lr)

  so update 0 uses base_lr, update 1 uses base_lr / decay_factor, and so on.
  `base_lr` is read back from the floatX shared variable, the division runs
  in float64 (numpy: float32 0-d array / Python float) and the result is cast
  to floatX again (`np.cast[config.floatX]`); floatX is `dtype` here. pylearn2 latches at min_lr once
  reached; with decay_factor >= 1 (required here) that equals the max above.
  Goodfellow et al.'s mnist.yaml: decay_factor 1.000004, min_lr 1e-6, reached
  after 2,878,238 updates from 0.1.
  """

  decay_factor: float
  min_lr: float

  def __post_init__(self):
    if self.decay_factor < 1.0:
      raise ConfigError(f'ExponentialDecay decay_factor must be >= 1, '
                        f'got {self.decay_factor}.')
    if self.min_lr < 0.0:
      raise ConfigError(f'ExponentialDecay min_lr must be >= 0, got {self.min_lr}.')

  def __call__(self, base_lr: float, num_updates: tf.Tensor,
               dtype: tf.DType = tf.float32) -> tf.Tensor:
    """The learning rate (in `dtype`) after `num_updates` updates."""
    base = tf.constant(_as_floatx(base_lr, dtype), tf.float64)
    n = tf.cast(num_updates, tf.float64)
    # decay_factor ** n overflows to inf after ~1.8e8 updates of 1.000004;
    # base / inf = 0 and the floor takes over, so no NaN can appear.
    lr = base / tf.pow(tf.constant(self.decay_factor, tf.float64), n)
    lr = tf.maximum(lr, tf.constant(self.min_lr, tf.float64))
    return tf.cast(lr, dtype)


@dataclasses.dataclass(frozen=True)
class MomentumAdjustor:
  """pylearn2 `training_algorithms.learning_rule.MomentumAdjustor`.

  A TrainExtension whose `on_monitor` runs once before training and once after
  every epoch, each time incrementing a counter `count` and setting

      alpha = clip((count - start) / (saturate - start), 0, 1)
      momentum = init_momentum * (1 - alpha) + alpha * final_momentum

  (if saturate == start: final_momentum once count >= start). Hence the
  epoch with 0-based index e (e epochs completed) trains with count = e + 1:
  with mnist.yaml's start 1, saturate 250, 0.5 -> 0.7, epoch 0 uses 0.5,
  epoch 1 uses 0.5 + 0.2 / 249, and epochs 249 onwards use 0.7.
  init_momentum is read back from the floatX shared variable; the value is
  computed in float64 and stored as floatX (`dtype` here).
  """

  final_momentum: float
  start: int
  saturate: int

  def __post_init__(self):
    if self.saturate < self.start:
      raise ConfigError(f'MomentumAdjustor saturate ({self.saturate}) must not be '
                        f'before start ({self.start}).')

  def __call__(self, init_momentum: float, epoch: tf.Tensor,
               dtype: tf.DType = tf.float32) -> tf.Tensor:
    """The momentum (in `dtype`) of the epoch with 0-based index `epoch`."""
    init = tf.constant(_as_floatx(init_momentum, dtype), tf.float64)
    final = tf.constant(self.final_momentum, tf.float64)
    count = tf.cast(epoch, tf.float64) + 1.0
    if self.saturate == self.start:
      momentum = tf.where(count >= float(self.start), final, init)
    else:
      alpha = (count - float(self.start)) / float(self.saturate - self.start)
      alpha = tf.clip_by_value(alpha, 0.0, 1.0)
      momentum = init * (1.0 - alpha) + alpha * final
    return tf.cast(momentum, dtype)


class SGD(Optimizer):
  """Stochastic gradient descent with pylearn2's classical momentum.

  pylearn2 `training_algorithms/learning_rule.py`, `Momentum.get_updates`:

      velocity := momentum * velocity - lr * gradient
      param    := param + velocity                           (nesterov=False)
      param    := param + momentum * velocity - lr * gradient (nesterov=True)

  where the nesterov form uses the velocity just updated (pylearn2's
  `nesterov_momentum` flag; older pylearn2 versions lack the flag and always
  do the first form). Velocities start at zero. With momentum 0 this is
  pylearn2's plain SGD rule, param := param - lr * gradient.

  Learning rate: constant, or pylearn2's `ExponentialDecay` as a function of
  `step`. Momentum: constant, or pylearn2's `MomentumAdjustor` as a function
  of the epoch, which this optimizer takes to be `step // steps_per_epoch`
  (pylearn2 changes the momentum only at monitor time, between epochs;
  mnist.yaml: 50,000 training images / batch 100 = 500 updates per epoch).

  Goodfellow et al. 2014 (goodfeli/adversarial mnist.yaml): ONE optimizer for
  the generator's and the discriminator's parameters together, learning_rate
  0.1, momentum 0.5, ExponentialDecay(1.000004, 1e-6),
  MomentumAdjustor(final_momentum=0.7, start=1, saturate=250), no per-layer
  learning-rate scalers, no max_col_norm constraints, nesterov off.

  Args:
    variables: the variables to update.
    learning_rate: the initial learning rate (pylearn2 `learning_rate`).
    momentum: the initial momentum coefficient (pylearn2 `init_momentum`);
      0 gives plain SGD.
    nesterov: pylearn2's `nesterov_momentum`.
    learning_rate_decay: optional per-update schedule.
    momentum_schedule: optional per-epoch schedule; needs `steps_per_epoch`.
    steps_per_epoch: updates per epoch, for `momentum_schedule`.
    name: module name.
  """

  def __init__(self, variables: Sequence[tf.Variable], *, learning_rate: float,
               momentum: float, nesterov: bool = False,
               learning_rate_decay: Optional[ExponentialDecay] = None,
               momentum_schedule: Optional[MomentumAdjustor] = None,
               steps_per_epoch: Optional[int] = None, name: Optional[str] = None):
    super().__init__(variables, name=name or 'sgd')
    if not 0.0 <= momentum < 1.0:
      # pylearn2's Momentum asserts 0 <= init_momentum < 1.
      raise ConfigError(f'SGD momentum must be in [0, 1), got {momentum}.')
    if momentum_schedule is not None and (steps_per_epoch is None
                                          or steps_per_epoch < 1):
      raise ConfigError('SGD with a momentum_schedule needs steps_per_epoch >= 1, '
                        f'got {steps_per_epoch}.')
    self._base_learning_rate = float(learning_rate)
    self._initial_momentum = float(momentum)
    self._nesterov = bool(nesterov)
    self._learning_rate_decay = learning_rate_decay
    self._momentum_schedule = momentum_schedule
    self._steps_per_epoch = steps_per_epoch
    with self.name_scope:
      self._velocities = [_zeros_slot(v, 'velocity') for v in self._params]

  def learning_rate(self) -> tf.Tensor:
    if self._learning_rate_decay is None:
      return tf.constant(self._base_learning_rate, self.dtype)
    return self._learning_rate_decay(self._base_learning_rate, self.step,
                                     self.dtype)

  def momentum(self) -> tf.Tensor:
    """The momentum coefficient the next update will use."""
    if self._momentum_schedule is None:
      return tf.constant(self._initial_momentum, self.dtype)
    epoch = self.step // self._steps_per_epoch
    return self._momentum_schedule(self._initial_momentum, epoch, self.dtype)

  def apply(self, gradients: Sequence[tf.Tensor]) -> None:
    gradients = self._check_gradients(gradients)
    learning_rate = self.learning_rate()
    momentum = self.momentum()
    for variable, velocity, gradient in zip(self._params, self._velocities,
                                            gradients):
      lr = tf.cast(learning_rate, variable.dtype)
      mu = tf.cast(momentum, variable.dtype)
      new_velocity = mu * velocity - lr * gradient
      velocity.assign(new_velocity)
      if self._nesterov:
        variable.assign_add(mu * new_velocity - lr * gradient)
      else:
        variable.assign_add(new_velocity)
    self.step.assign_add(1)


# --------------------------------------------------------------------------
# Adam and its per-update learning-rate schedules.
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class StaircaseExponentialDecay:
  """TF1 `tf.train.exponential_decay(lr, global_step, decay_steps, decay_rate,
  staircase=True)`:

      lr_n = lr * decay_rate ** floor(global_step / decay_steps)

  computed in the rate's dtype as TF1 does (global_step cast to it).
  `global_step` is this optimizer's update counter plus `step_offset`: a TF1
  optimizer whose `minimize` does not increment the shared global_step reads
  the value the other optimizer left (znxlwm/tensorflow-MNIST-cGAN-cDCGAN:
  the D step increments it before the G step of the same iteration runs, so
  the G optimizer sees its own count plus one).
  """

  decay_steps: int
  decay_rate: float
  step_offset: int = 0

  def __post_init__(self):
    if self.decay_steps < 1:
      raise ConfigError('StaircaseExponentialDecay decay_steps must be >= 1, '
                        f'got {self.decay_steps}.')
    if not 0.0 < self.decay_rate <= 1.0:
      raise ConfigError('StaircaseExponentialDecay decay_rate must be in '
                        f'(0, 1], got {self.decay_rate}.')
    if self.step_offset < 0:
      raise ConfigError('StaircaseExponentialDecay step_offset must be >= 0, '
                        f'got {self.step_offset}.')

  def __call__(self, base_lr: tf.Tensor, num_updates: tf.Tensor) -> tf.Tensor:
    """The rate (in base_lr's dtype) after `num_updates` updates."""
    dtype = base_lr.dtype
    global_step = tf.cast(num_updates + self.step_offset, dtype)
    exponent = tf.floor(global_step / tf.constant(self.decay_steps, dtype))
    return base_lr * tf.pow(tf.constant(self.decay_rate, dtype), exponent)


@dataclasses.dataclass(frozen=True)
class EpochLinearDecay:
  """Newmu/dcgan_code's `niter` / `niter_decay` schedule, per epoch.

  dcgan_code trains `niter + niter_decay` epochs and, after each finished
  epoch n_epochs (1-based) with n_epochs > niter, lowers its shared `lrt` by
  lr / niter_decay. So the epoch with 0-based index e trains with

      lr_e = lr * (1 - max(0, e - niter) / niter_decay)

  (niter + 1 epochs at the full rate, then 0.99, 0.98, ... of it for
  niter = niter_decay = 100; the rate reaches 0 only after the last epoch).
  The epoch is `(num_updates + step_offset) // steps_per_epoch`. dcgan_code
  subtracts in floatX each time; the rate here is computed in float64 and
  cast once to base_lr's dtype, which may differ from it in the last float32
  bit.
  """

  steps_per_epoch: int
  constant_epochs: int
  decay_epochs: int
  step_offset: int = 0

  def __post_init__(self):
    if self.steps_per_epoch < 1 or self.decay_epochs < 1:
      raise ConfigError('EpochLinearDecay steps_per_epoch and decay_epochs '
                        f'must be >= 1, got {self.steps_per_epoch} and '
                        f'{self.decay_epochs}.')
    if self.constant_epochs < 0 or self.step_offset < 0:
      raise ConfigError('EpochLinearDecay constant_epochs and step_offset '
                        f'must be >= 0, got {self.constant_epochs} and '
                        f'{self.step_offset}.')

  def __call__(self, base_lr: tf.Tensor, num_updates: tf.Tensor) -> tf.Tensor:
    """The rate (in base_lr's dtype) after `num_updates` updates."""
    epoch = (tf.cast(num_updates, tf.int64) + self.step_offset) // \
        self.steps_per_epoch
    decayed_epochs = tf.maximum(
        tf.cast(epoch - self.constant_epochs, tf.float64), 0.0)
    fraction = tf.maximum(1.0 - decayed_epochs / float(self.decay_epochs), 0.0)
    return tf.cast(tf.cast(base_lr, tf.float64) * fraction, base_lr.dtype)


class Adam(Optimizer):
  """Adam (Kingma & Ba 2015) in the two forms the reference code used.

  With g the gradient plus `weight_decay * param` (see below), t the 1-based
  update number, and m, v starting at zero:

  epsilon_placement='algorithm1' -- Kingma & Ba 2015 (ICLR version),
  Algorithm 1, and Newmu/dcgan_code `lib/updates.py` `Adam`:

      m = beta1 * m + (1 - beta1) * g
      v = beta2 * v + (1 - beta2) * g^2
      m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)
      param -= lr * m_hat / (sqrt(v_hat) + epsilon)

  epsilon_placement='tf1' -- TF1 `tf.train.AdamOptimizer`, i.e. the
  `ApplyAdam` kernel (tensorflow/core/kernels/training_ops.cc), used by
  igul222/improved_wgan_training (WGAN-GP) and the TF cDCGAN code:

      m += (g - m) * (1 - beta1)
      v += (g^2 - v) * (1 - beta2)
      lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
      param -= lr_t * m / (sqrt(v) + epsilon)

  The two agree except for epsilon: 'tf1' is 'algorithm1' with epsilon
  replaced by epsilon * sqrt(1 - beta2^t) (the "epsilon hat" of Kingma &
  Ba's section 2). TF1 keeps beta^t in float32 accumulators multiplied by
  beta after every update; here beta^t is computed with pow from `step`, which
  can differ from the accumulator in the last float32 bits.

  dcgan_code's Adam differs from 'algorithm1' in two ways, both handled:
    * its `Regularizer(l2=...)` adds l2 * param to the gradient BEFORE the
      moment updates (`gradient_regularize`: g += p * l2; not 2 * l2 * p, and
      not decoupled AdamW decay); that is `weight_decay` here (DCGAN faces and
      LSUN: 1e-5; mnist/train_cond_dcgan.py: 2.5e-5, for G and D alike);
    * it decays beta1 in the first-moment update as b1_t = b1 * l^(t-1)
      with l = 1 - 1e-8 (Kingma & Ba's arXiv v1-v7 lambda; the bias
      correction keeps the undecayed b1^t): that is `beta1_decay` here.
      Theano makes the Python float l a constant of floatX's type; with
      floatX=float32 (the setting its GPU code needed) 1 - 1e-8 rounds to
      exactly 1.0 and b1_t = b1. `beta1_decay` is likewise rounded to the
      variables' dtype, so it changes nothing in float32 and decays beta1
      by about 1e-8 per update in float64, as the code does there.
  Its epsilon is 1e-8 and beta2 0.999 (the class defaults; the DCGAN scripts
  set only lr 2e-4 and b1 0.5).

  The learning rate is a variable in the variables' dtype:
  `set_learning_rate` changes it.
  An optional `learning_rate_schedule(base_lr, step) -> rate` scales
  it per update from the optimizer's own `step` counter (checkpointed with
  the slots, and traced into XLA like any other op): TF1's staircase
  `exponential_decay` (`StaircaseExponentialDecay`) or dcgan_code's per-epoch
  linear decay (`EpochLinearDecay`). Without one the rate is the variable.

  Args:
    variables: the variables to update.
    learning_rate, beta1, beta2, epsilon: required; Kingma & Ba's suggested
      defaults are 1e-3, 0.9, 0.999, 1e-8, but none of the GAN papers uses
      all of them (DCGAN: 2e-4, 0.5, 0.999, 1e-8; WGAN-GP Algorithm 1:
      1e-4, 0, 0.9, with TF1's epsilon 1e-8).
    epsilon_placement: 'algorithm1' or 'tf1', as above.
    weight_decay: L2 coefficient added to the gradient as in dcgan_code; 0
      (the default) adds nothing.
    beta1_decay: dcgan_code's l, in (0, 1]; with epsilon_placement
      'algorithm1' only. 1 (the default) keeps beta1 constant.
    learning_rate_schedule: optional per-update schedule, a callable
      `(base_lr tensor, step int64 tensor) -> rate (base_lr's dtype)` such as
      `StaircaseExponentialDecay` or `EpochLinearDecay`.
    name: module name.
  """

  def __init__(self, variables: Sequence[tf.Variable], *, learning_rate: float,
               beta1: float, beta2: float, epsilon: float,
               epsilon_placement: str, weight_decay: float = 0.0,
               beta1_decay: float = 1.0,
               learning_rate_schedule: Optional[
                   Callable[[tf.Tensor, tf.Tensor], tf.Tensor]] = None,
               name: Optional[str] = None):
    super().__init__(variables, name=name or 'adam')
    if epsilon_placement not in EPSILON_PLACEMENTS:
      raise ConfigError(f'Adam epsilon_placement must be one of '
                        f'{EPSILON_PLACEMENTS}, got {epsilon_placement!r}.')
    for label, beta in (('beta1', beta1), ('beta2', beta2)):
      if not 0.0 <= beta < 1.0:
        raise ConfigError(f'Adam {label} must be in [0, 1), got {beta}.')
    if epsilon < 0.0 or weight_decay < 0.0:
      raise ConfigError(f'Adam epsilon ({epsilon}) and weight_decay '
                        f'({weight_decay}) must be >= 0.')
    if not 0.0 < beta1_decay <= 1.0:
      raise ConfigError(f'Adam beta1_decay must be in (0, 1], got '
                        f'{beta1_decay}.')
    if beta1_decay != 1.0 and epsilon_placement != ALGORITHM1:
      raise ConfigError("Adam beta1_decay is dcgan_code's and needs "
                        f"epsilon_placement '{ALGORITHM1}'.")
    self._beta1 = float(beta1)
    self._beta1_decay = float(beta1_decay)
    self._beta2 = float(beta2)
    self._epsilon = float(epsilon)
    self._epsilon_placement = epsilon_placement
    self._weight_decay = float(weight_decay)
    self._learning_rate_schedule = learning_rate_schedule
    with self.name_scope:
      self._learning_rate = tf.Variable(learning_rate, dtype=self.dtype,
                                        trainable=False, name='learning_rate')
      self._first_moments = [_zeros_slot(v, 'm') for v in self._params]
      self._second_moments = [_zeros_slot(v, 'v') for v in self._params]

  def learning_rate(self) -> tf.Tensor:
    """The rate the next update will use (after the schedule, if any)."""
    base = self._learning_rate.read_value()
    if self._learning_rate_schedule is None:
      return base
    return self._learning_rate_schedule(base, self.step.read_value())

  def set_learning_rate(self, value) -> None:
    """Sets the base rate (the schedule, if any, still scales it)."""
    self._learning_rate.assign(value)

  def apply(self, gradients: Sequence[tf.Tensor]) -> None:
    gradients = self._check_gradients(gradients)
    learning_rate = self.learning_rate()
    for variable, m, v, gradient in zip(self._params, self._first_moments,
                                        self._second_moments, gradients):
      dtype = variable.dtype
      lr = tf.cast(learning_rate, dtype)
      beta1 = tf.constant(self._beta1, dtype)
      beta2 = tf.constant(self._beta2, dtype)
      epsilon = tf.constant(self._epsilon, dtype)
      t = tf.cast(self.step + 1, dtype)
      bias_correction1 = 1.0 - tf.pow(beta1, t)
      bias_correction2 = 1.0 - tf.pow(beta2, t)
      if self._weight_decay:
        gradient = gradient + tf.constant(self._weight_decay, dtype) * variable
      if self._epsilon_placement == TF1:
        new_m = m + (gradient - m) * (1.0 - beta1)
        new_v = v + (tf.square(gradient) - v) * (1.0 - beta2)
        lr_t = lr * tf.sqrt(bias_correction2) / bias_correction1
        update = lr_t * new_m / (tf.sqrt(new_v) + epsilon)
      else:
        beta1_t = beta1
        # Rounded to the dtype first, as Theano rounds l to floatX: in
        # float32 l is 1 and the graph is the one without decay.
        if np.asarray(self._beta1_decay, dtype.as_numpy_dtype) != 1:
          beta1_t = beta1 * tf.pow(tf.constant(self._beta1_decay, dtype),
                                   t - 1.0)
        new_m = beta1_t * m + (1.0 - beta1_t) * gradient
        new_v = beta2 * v + (1.0 - beta2) * tf.square(gradient)
        m_hat = new_m / bias_correction1
        v_hat = new_v / bias_correction2
        update = lr * m_hat / (tf.sqrt(v_hat) + epsilon)
      m.assign(new_m)
      v.assign(new_v)
      variable.assign_sub(update)
    self.step.assign_add(1)


# --------------------------------------------------------------------------
# RMSprop.
# --------------------------------------------------------------------------

class RMSprop(Optimizer):
  """RMSprop with PyTorch's semantics (`torch.optim.RMSprop`), as WGAN used.

  martinarjovsky/WassersteinGAN main.py builds
  `optim.RMSprop(net.parameters(), lr=opt.lrD)` (lr 5e-5), so everything else
  is PyTorch's default: alpha 0.99, eps 1e-8, weight_decay 0, momentum 0,
  centered False. `_single_tensor_rmsprop` then does, with square_avg
  starting at zero:

      square_avg = alpha * square_avg + (1 - alpha) * g^2
      param -= lr * g / (sqrt(square_avg) + eps)

  epsilon is added OUTSIDE the square root. This is NOT what TensorFlow does
  by default: Keras `RMSprop` (rho 0.9, epsilon 1e-7) and TF1
  `tf.train.RMSPropOptimizer` (decay 0.9, epsilon 1e-10, mean square
  initialised to ONES) both divide by sqrt(ms + epsilon).

  Args:
    variables: the variables to update.
    learning_rate: required (PyTorch's default 1e-2 is no paper's value;
      WGAN uses 5e-5 for both nets).
    alpha: smoothing constant; PyTorch's default 0.99.
    epsilon: added to sqrt(square_avg); PyTorch's default 1e-8.
    name: module name.
  """

  def __init__(self, variables: Sequence[tf.Variable], *, learning_rate: float,
               alpha: float = 0.99, epsilon: float = 1e-8,
               name: Optional[str] = None):
    super().__init__(variables, name=name or 'rmsprop')
    if not 0.0 <= alpha < 1.0:
      raise ConfigError(f'RMSprop alpha must be in [0, 1), got {alpha}.')
    if epsilon < 0.0:
      raise ConfigError(f'RMSprop epsilon must be >= 0, got {epsilon}.')
    self._alpha = float(alpha)
    self._epsilon = float(epsilon)
    with self.name_scope:
      self._learning_rate = tf.Variable(learning_rate, dtype=self.dtype,
                                        trainable=False, name='learning_rate')
      self._square_averages = [_zeros_slot(v, 'square_avg') for v in self._params]

  def learning_rate(self) -> tf.Tensor:
    return self._learning_rate.read_value()

  def set_learning_rate(self, value) -> None:
    self._learning_rate.assign(value)

  def apply(self, gradients: Sequence[tf.Tensor]) -> None:
    gradients = self._check_gradients(gradients)
    learning_rate = self._learning_rate.read_value()
    for variable, square_avg, gradient in zip(self._params,
                                              self._square_averages, gradients):
      dtype = variable.dtype
      lr = tf.cast(learning_rate, dtype)
      alpha = tf.constant(self._alpha, dtype)
      new_square_avg = alpha * square_avg + (1.0 - alpha) * tf.square(gradient)
      square_avg.assign(new_square_avg)
      denominator = tf.sqrt(new_square_avg) + tf.constant(self._epsilon, dtype)
      variable.assign_sub(lr * (gradient / denominator))
    self.step.assign_add(1)


# --------------------------------------------------------------------------
# TF1's RMSProp (gan_toy.py's weight-clipping mode).
# --------------------------------------------------------------------------

class TF1RMSprop(Optimizer):
  """`tf.train.RMSPropOptimizer(lr)` with momentum 0 and centered False.

  tensorflow/python/training/rmsprop.py (read with the search tool): the
  mean-square slot "rms" starts at ONES, decay 0.9, epsilon 1e-10; the
  ApplyRMSProp kernel then does

      ms  += (g^2 - ms) * (1 - decay)
      mom  = momentum * mom + lr * g / sqrt(ms + epsilon)
      var -= mom

  i.e. with momentum 0: var -= lr * g / sqrt(ms + epsilon). This differs from
  PyTorch's rule (`RMSprop` above: zero-initialised average, eps outside
  the square root). Checked step by step against a NumPy
  computation of this rule and against tf.compat.v1.train.RMSPropOptimizer
  in tests/test_optimizers.py.
  """

  def __init__(self, variables: Sequence[tf.Variable], *, learning_rate: float,
               decay: float = 0.9, epsilon: float = 1e-10,
               name: Optional[str] = None):
    super().__init__(variables, name=name or 'tf1_rmsprop')
    if not 0.0 <= decay < 1.0:
      raise ConfigError(f'RMSProp decay must be in [0, 1), got {decay}.')
    if epsilon < 0.0:
      raise ConfigError(f'RMSProp epsilon must be >= 0, got {epsilon}.')
    self._decay = float(decay)
    self._epsilon = float(epsilon)
    with self.name_scope:
      self._learning_rate = tf.Variable(learning_rate, dtype=self.dtype,
                                        trainable=False, name='learning_rate')
      self._mean_squares = [
          tf.Variable(tf.ones(v.shape, v.dtype), trainable=False,
                      name=_slot_name(v, 'rms'))
          for v in self._params]

  def learning_rate(self) -> tf.Tensor:
    return self._learning_rate.read_value()

  def apply(self, gradients: Sequence[tf.Tensor]) -> None:
    gradients = self._check_gradients(gradients)
    learning_rate = self._learning_rate.read_value()
    for variable, mean_square, gradient in zip(self._params,
                                               self._mean_squares, gradients):
      dtype = variable.dtype
      decay = tf.constant(self._decay, dtype)
      new_mean_square = mean_square + (tf.square(gradient) - mean_square) * (
          1.0 - decay)
      mean_square.assign(new_mean_square)
      step = tf.cast(learning_rate, dtype) * gradient / tf.sqrt(
          new_mean_square + tf.constant(self._epsilon, dtype))
      variable.assign_sub(step)
    self.step.assign_add(1)
