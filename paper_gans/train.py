"""The one training engine: a GAN's update step, compiled in one place.

Every reproduction configures `GANTrainer` rather than writing its own loop.
What differs between the papers is expressed as data:

* `update_order='alternating'`: `critic_steps` discriminator (critic) updates,
  each on a fresh real batch and fresh noise, then one generator update on
  fresh noise (Arjovsky et al. 2017 Algorithm 1; Gulrajani et al. 2017
  Algorithm 1; Radford et al.'s code with one step each).
* `update_order='simultaneous'`: one forward pass, the discriminator's and the
  generator's gradients both taken from it and applied together in the same
  step (Goodfellow et al.'s pylearn2 code, goodfeli/adversarial: one SGD step
  updates both players from `AdversaryCost2`).
* `critic_steps_schedule(generator_iteration) -> int`: e.g. WGAN's 100 critic
  iterations for the first 25 generator iterations and every 500th, or
  `generator_first_schedule`: 0 critic steps at iteration 0, so the run
  starts with a lone generator update (Newmu/dcgan_code's loop). An
  iteration with 0 critic steps consumes no real batch; its generator step
  takes its batch size from `batch_size`.
* `clip_value` with `clip_timing`: clamp every critic variable to
  [-c, c] at the start of each critic iteration, before its loss is computed,
  as martinarjovsky/WassersteinGAN main.py does (`before_critic_step`), or
  after each critic update (`after_critic_step`). The two differ at the
  boundary: with the first, the generator step sees the critic as last
  updated, not yet clipped.
* `gradient_penalty_weight`: lambda of WGAN-GP, with alpha ~ U[0, 1] drawn
  once per example.
* `fake_labels_in_critic_step`: a conditional critic step's fakes are made
  for labels drawn uniformly ('uniform') or for the labels of that step's
  real batch ('real_batch', as both conditional DCGAN reference files do).
* `fixed_generator_noise_stddev`: no generator to train. Each critic step's
  fake batch is that step's real batch plus N(0, stddev^2) noise, and the
  generator step only evaluates the generator's loss (igul222/
  improved_wgan_training gan_toy.py `FIXED_GENERATOR = True`, the setting of
  the paper's Figure 1 value surfaces).

One gradient tape per player, each differentiating only its own player's
variables. All randomness (noise, labels, dropout masks, interpolation
weights) is drawn with stateless ops from seeds derived from
(seed, generator iteration, critic step), so a run is a pure function of its
seed and data order, and a resumed run replays exactly.

The step is compiled with `tf.function(jit_compile=True)` by default
(`compile_mode='xla'`); 'graph' compiles without XLA and 'eager' runs the
Python directly for debugging. Stateless random ops give different numbers
under XLA than outside it, so reference trajectories name their mode.
On this project's CPU, XLA used to run WGAN-GP's gan_mnist step 5x slower
than 'graph': it swapped the operands of 5x5 convolutions at 4x4 and ran
them on a generic loop. The layers now avoid that case
(`layers.conv2d_by_phases`; measured in docs/performance.md).
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import tensorflow as tf

from paper_gans.errors import ConfigError

COMPILE_MODES = ('xla', 'graph', 'eager')
UPDATE_ORDERS = ('alternating', 'simultaneous')
FAKE_LABEL_SOURCES = ('uniform', 'real_batch')
CLIP_TIMINGS = ('before_critic_step', 'after_critic_step')
# The per-critic-step losses of `train_iteration`, each of shape [k].
CRITIC_LOSSES = ('discriminator_loss', 'discriminator_real',
                 'discriminator_fake', 'gradient_penalty')

# Purposes folded into a step's seed, so each random draw has its own stream.
_NOISE, _LABELS, _DROPOUT_REAL, _DROPOUT_FAKE, _ALPHA = 1, 2, 3, 4, 5
_FIXED_GENERATOR_NOISE = 6
_CRITIC, _GENERATOR, _SIMULTANEOUS = 11, 12, 13

LossFn = Callable[..., tf.Tensor]
Schedule = Callable[[int], int]


# --------------------------------------------------------------------------
# Latent distributions and schedules.
# --------------------------------------------------------------------------

def latent_sampler(distribution, latent_dim: int,
                   dtype: tf.DType = tf.float32):
  """Returns `sample(seed, batch_size) -> z [batch_size, latent_dim]`.

  z is drawn in `dtype` (the networks' dtype).

  `distribution` is a name below or already such a callable (tests pass
  arithmetic noise that is identical with and without XLA).

  Distributions used by the five papers:
    'normal': N(0, 1) (WGAN main.py; WGAN-GP gan_toy.py and gan_mnist.py;
      the conditional DCGAN seed setup).
    'uniform': U(-1, 1) (Newmu/dcgan_code, `np_rng.uniform(-1., 1.)`).
    'uniform_unit_variance': U(-sqrt(3), sqrt(3)), unit variance
      (goodfeli/adversarial mnist.yaml's noise).
  """
  if callable(distribution):
    return distribution
  if distribution == 'normal':
    def sample(seed, batch_size):
      return tf.random.stateless_normal([batch_size, latent_dim], seed=seed,
                                        dtype=dtype)
  elif distribution in ('uniform', 'uniform_unit_variance'):
    limit = 1.0 if distribution == 'uniform' else math.sqrt(3.0)

    def sample(seed, batch_size):
      return tf.random.stateless_uniform([batch_size, latent_dim], seed=seed,
                                         minval=-limit, maxval=limit,
                                         dtype=dtype)
  else:
    raise ConfigError(
        f"unknown latent distribution '{distribution}'; expected one of "
        "normal, uniform, uniform_unit_variance.")
  return sample


def constant_schedule(steps: int) -> Schedule:
  """`steps` critic iterations for every generator iteration."""
  return lambda generator_iteration: steps


def generator_first_schedule(critic_steps: int = 1) -> Schedule:
  """0 critic steps at generator iteration 0, then `critic_steps`.

  Newmu/dcgan_code (faces/train_uncond_dcgan.py, mnist/train_cond_dcgan.py)
  counts updates from n_updates = 0 and runs

      if n_updates % (k + 1) == 0: _train_g(...)
      else: _train_d(...)

  so its sequence is G, then k D updates and one G update, repeated: G, D,
  G, D, ... for k = 1, starting with a generator update against the
  untrained discriminator. The engine's iteration i >= 1 is k critic steps
  then one generator step, so iteration 0 with no critic step gives exactly
  that sequence.
  """
  return lambda generator_iteration: (0 if generator_iteration == 0
                                      else critic_steps)


def wgan_critic_schedule(critic_steps: int = 5, warmup_critic_steps: int = 100,
                         warmup_generator_iterations: int = 25,
                         every: int = 500) -> Schedule:
  """Critic iterations per generator iteration as WGAN's main.py sets Diters.

      if gen_iterations < 25 or gen_iterations % 500 == 0: Diters = 100
      else: Diters = opt.Diters  (5)

  (martinarjovsky/WassersteinGAN main.py; the paper's Algorithm 1 has
  n_critic = 5 throughout; docs/wgan_clip.md lists this difference.)
  """

  def schedule(generator_iteration: int) -> int:
    if (generator_iteration < warmup_generator_iterations
        or generator_iteration % every == 0):
      return warmup_critic_steps
    return critic_steps

  return schedule


_MASK32 = 0xFFFFFFFF


def _mix32(x: tf.Tensor) -> tf.Tensor:
  """A bijective 32-bit integer hash (on int64 holding 32-bit values)."""
  for _ in range(2):
    x = tf.bitwise.bitwise_and(
        tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16)) * 0x45D9F3B,
        _MASK32)
  return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def fold(seed: tf.Tensor, *values) -> tf.Tensor:
  """Derives a new stateless seed [2] from `seed` and integers, in order.

  Plain integer arithmetic rather than `tf.random.experimental.
  stateless_fold_in`: random-bit ops give different numbers under XLA than
  outside it, and derived seeds must be the same in every compile mode so
  that only the final draws (noise, masks) can differ. For a fixed parent
  seed, distinct values give distinct children (`_mix32` is a bijection).
  """
  seed = tf.cast(seed, tf.int64)
  for value in values:
    parent = _mix32(tf.bitwise.bitwise_xor(
        tf.bitwise.bitwise_and(seed[0], _MASK32),
        _mix32(tf.bitwise.bitwise_and(seed[1], _MASK32))))
    child = _mix32(tf.bitwise.bitwise_xor(
        parent, _mix32(tf.bitwise.bitwise_and(
            tf.cast(value, tf.int64) + 0x9E3779B9, _MASK32))))
    seed = tf.stack([parent, child])
  # Stateless ops take int32 seeds; keep 31 bits so the cast is exact.
  return tf.cast(tf.bitwise.bitwise_and(seed, 0x7FFFFFFF), tf.int32)


def fixed_generator_fakes(real, seed, stddev: float,
                          dtype: tf.DType = tf.float32) -> tf.Tensor:
  """real + stddev * N(0, 1) in `dtype`, the noise drawn from `fold(seed, 6)`.

  gan_toy.py's Generator with FIXED_GENERATOR = True: `real_data + (1. *
  tf.random_normal(tf.shape(real_data)))`. `GANTrainer` calls it with each
  critic step's seed; pictures and metrics call it with seeds of their own.
  """
  real = tf.cast(real, dtype)
  noise = tf.random.stateless_normal(
      tf.shape(real), seed=fold(seed, _FIXED_GENERATOR_NOISE), dtype=dtype)
  return real + stddev * noise


# --------------------------------------------------------------------------
# The trainer.
# --------------------------------------------------------------------------

class GANTrainer(tf.Module):
  """Owns both players, their optimizers and the training counters.

  The trainer is itself a `tf.Module`, so `tf.train.Checkpoint(trainer=...)`
  saves networks, optimizer slots and counters in one object with stable
  names.

  Its dtype is the networks' (`dtype`): both players' variables must share
  it, and noise, penalty weights and losses are computed in it.
  """

  def __init__(self, *, generator: tf.Module, discriminator: tf.Module,
               generator_optimizer: tf.Module,
               discriminator_optimizer: tf.Module,
               discriminator_loss: LossFn, generator_loss: LossFn,
               latent_distribution: str = 'normal',
               update_order: str = 'alternating',
               critic_steps_schedule: Schedule = constant_schedule(1),
               clip_value: Optional[float] = None,
               clip_timing: str = 'before_critic_step',
               gradient_penalty_weight: float = 0.0,
               compile_mode: str = 'xla', seed: int = 0,
               max_unrolled_critic_steps: int = 10,
               fixed_generator_noise_stddev: Optional[float] = None,
               batch_size: Optional[int] = None,
               fake_labels_in_critic_step: str = 'uniform',
               name: str = 'trainer'):
    """Builds the trainer.

    Args:
      generator: `__call__(z, labels=None, training=True)`, with attributes
        `latent_dim`, `num_classes` and `output_shape`.
      discriminator: `__call__(x, labels=None, training=True, seed=None)`
        returning logits or critic scores of shape [B]; optional
        `apply_constraints()` run after each of its updates.
      generator_optimizer, discriminator_optimizer: paper_gans.optimizers
        objects built over the corresponding player's trainable variables.
      discriminator_loss: `f(real_outputs, fake_outputs) -> scalar`.
      generator_loss: `f(fake_outputs) -> scalar`.
      latent_distribution: see `latent_sampler`.
      update_order: 'alternating' or 'simultaneous'.
      critic_steps_schedule: generator iteration -> number of critic steps
        before that generator step, >= 0 ('alternating' only). 0 runs the
        generator step alone and consumes no real batch.
      clip_value: if set, clamp critic variables to [-clip_value, clip_value].
      clip_timing: 'before_critic_step' (WGAN main.py) or
        'after_critic_step'.
      gradient_penalty_weight: lambda of WGAN-GP; 0 disables the penalty.
      compile_mode: 'xla', 'graph' or 'eager'.
      seed: the integer all of the run's randomness derives from.
      max_unrolled_critic_steps: iterations with at most this many critic
        steps run as one compiled call (critic steps unrolled); longer ones
        as one call per critic step. 0 always uses one call per step. Both
        run the same steps with the same seeds: without XLA the bits are
        the same; with XLA the larger program may round differently in the
        last bit (measured in tests/test_train.py).
      fixed_generator_noise_stddev: None trains the generator. A value s
        holds it fixed at the data plus noise, as gan_toy.py's
        `FIXED_GENERATOR = True` (`fake_data = real_data +
        1. * tf.random_normal(tf.shape(real_data))`, s = 1): each critic
        step's fakes are its own real batch plus s * N(0, 1) noise drawn
        statelessly from the step's seed (the penalty interpolates between
        that real batch and those fakes), and the generator network is
        never called nor updated (gan_toy.py's `gen_train_op` is a no-op).
        'generator_loss' is then the generator loss of the fixed generator
        (gan_toy.py's `gen_cost`, e.g. -mean D(fake)), EVALUATED after the
        iteration's critic steps on the last real batch plus fresh noise,
        never minimised: it keeps the history's columns and shows the
        critic's progress. Needs update_order 'alternating' and an
        unconditional generator.
      batch_size: the generator step's batch size in an iteration with no
        critic step (there is no real batch to take it from); needed only by
        schedules that return 0. Otherwise the generator step uses the size
        of the iteration's real batches.
      fake_labels_in_critic_step: the labels a conditional critic step
        generates its fake batch for (and judges it with): 'uniform', drawn
        uniformly over all classes, or 'real_batch', the labels of that
        step's real batch, as znxlwm's tensorflow_MNIST_cDCGAN.py (y_label_
        of the real batch fed to G_z and D_fake) and Newmu/dcgan_code
        train_cond_dcgan.py (the minibatch's ymb to gen and discrim) do.
        The noise is drawn the same either way, and the generator step
        always draws uniform labels. 'real_batch' needs a conditional
        generator.
      name: module name.
    """
    super().__init__(name=name)
    if update_order not in UPDATE_ORDERS:
      raise ConfigError(f"update_order must be one of {UPDATE_ORDERS}, "
                        f"got '{update_order}'.")
    if compile_mode not in COMPILE_MODES:
      raise ConfigError(f"compile mode must be one of {', '.join(COMPILE_MODES)}"
                        f", got '{compile_mode}'.")
    if clip_timing not in CLIP_TIMINGS:
      raise ConfigError(f"clip_timing must be one of {CLIP_TIMINGS}, "
                        f"got '{clip_timing}'.")
    if clip_value is not None and not clip_value > 0:
      raise ConfigError(f'clip value must be > 0, got {clip_value}.')
    if gradient_penalty_weight < 0:
      raise ConfigError('gradient penalty weight must be >= 0, '
                        f'got {gradient_penalty_weight}.')
    if update_order == 'simultaneous' and (clip_value or gradient_penalty_weight):
      raise ConfigError('clipping and the gradient penalty need '
                        "update_order='alternating'.")
    if fake_labels_in_critic_step not in FAKE_LABEL_SOURCES:
      raise ConfigError('fake_labels_in_critic_step must be one of '
                        f"{', '.join(FAKE_LABEL_SOURCES)}, got "
                        f"'{fake_labels_in_critic_step}'.")
    if (fake_labels_in_critic_step == 'real_batch'
        and not getattr(generator, 'num_classes', None)):
      raise ConfigError("fake_labels_in_critic_step='real_batch' needs a "
                        'conditional generator (one with num_classes).')
    if batch_size is not None and not batch_size > 0:
      raise ConfigError(f'batch_size must be > 0, got {batch_size}.')
    if fixed_generator_noise_stddev is not None:
      if not fixed_generator_noise_stddev > 0:
        raise ConfigError('fixed_generator_noise_stddev must be > 0, got '
                          f'{fixed_generator_noise_stddev}.')
      if update_order != 'alternating':
        raise ConfigError('a fixed generator (real data plus noise) needs '
                          "update_order='alternating'.")
      if getattr(generator, 'num_classes', None):
        raise ConfigError('a fixed generator (real data plus noise) needs an '
                          'unconditional generator.')
    self.generator = generator
    self.discriminator = discriminator
    self.generator_optimizer = generator_optimizer
    self.discriminator_optimizer = discriminator_optimizer
    self._discriminator_loss = discriminator_loss
    self._generator_loss = generator_loss
    self.dtype = _common_dtype(generator, discriminator)
    self._sample_latent = latent_sampler(latent_distribution,
                                         generator.latent_dim, self.dtype)
    self.num_classes = getattr(generator, 'num_classes', None)
    self.update_order = update_order
    self.critic_steps_schedule = critic_steps_schedule
    self.clip_value = clip_value
    self.clip_timing = clip_timing
    self.gradient_penalty_weight = float(gradient_penalty_weight)
    self.compile_mode = compile_mode
    self.seed = int(seed)
    self.fixed_generator_noise_stddev = (
        None if fixed_generator_noise_stddev is None
        else float(fixed_generator_noise_stddev))
    self.batch_size = None if batch_size is None else int(batch_size)
    self.fake_labels_in_critic_step = fake_labels_in_critic_step
    with self.name_scope:
      # Generator iterations completed, and real batches consumed: together
      # they place a resumed run exactly where the stopped one was.
      self.iteration = tf.Variable(0, dtype=tf.int64, trainable=False,
                                   name='iteration')
      self.batches_consumed = tf.Variable(0, dtype=tf.int64, trainable=False,
                                          name='batches_consumed')
    if max_unrolled_critic_steps < 0:
      raise ConfigError('max_unrolled_critic_steps must be >= 0, got '
                        f'{max_unrolled_critic_steps}.')
    self.max_unrolled_critic_steps = int(max_unrolled_critic_steps)
    # A generator iteration with k <= max_unrolled_critic_steps critic steps
    # is ONE compiled call: the k critic steps and the generator step
    # unrolled in order (traced once per distinct k), with the iteration's
    # seed and the loss stacking inside it, so an iteration makes one
    # dispatch and no eager ops besides reading the data. Measured on the
    # 2-core CPU (docs/performance.md), nearly idle: the
    # WGAN-GP toy step (3 x 512 MLPs, batch 256, k = 5) 0.127 s per
    # iteration unrolled vs 0.142 s with one call per update (1.12x), the
    # conditional DCGAN 1.05x; under a load average of 8-12 the gain is
    # lost in the noise. The first call compiles longer (toy: 9.4 vs 4.2 s
    # idle). Longer critic loops (WGAN's 100-step warm-up) run one compiled
    # call per critic step: unrolling 100 steps would compile 100 copies of
    # the critic, and a tf.range loop compiled with XLA made a critic step
    # 35x slower on this CPU (WGAN DCGAN at 32x32: 5.4 s vs 0.15 s per
    # step, XLA:CPU's while loops).
    if compile_mode == 'eager':
      self._critic = self._critic_step
      self._generator = self._generator_step
      self._simultaneous = self._simultaneous_step
      self._unrolled = self._unrolled_iteration
      self._fixed_generator = self._fixed_generator_step
    else:
      jit = compile_mode == 'xla'
      # autograph=False: the steps branch and loop on Python values only
      # (critic counts, flags), so autograph has nothing to convert, and
      # tracing without it is faster (docs/performance.md). A branch on a
      # tensor raises at tracing instead of being converted.
      def compiled(step):
        return tf.function(step, jit_compile=jit, autograph=False)
      self._critic = compiled(self._critic_step)
      self._generator = compiled(self._generator_step)
      self._simultaneous = compiled(self._simultaneous_step)
      self._unrolled = compiled(self._unrolled_iteration)
      self._fixed_generator = compiled(self._fixed_generator_step)

  # ---- public API ------------------------------------------------------

  def batches_needed(self, iteration: Optional[int] = None) -> int:
    """Real batches the generator iteration `iteration` consumes (may be 0)."""
    if iteration is None:
      iteration = int(self.iteration.numpy())
    if self.update_order == 'simultaneous':
      return 1
    k = int(self.critic_steps_schedule(iteration))
    if k < 0:
      raise ConfigError(f'the critic-step schedule returned {k} for '
                        f'generator iteration {iteration}; it must be >= 0.')
    return k

  def train_iteration(self, real_images, real_labels) -> Dict[str, tf.Tensor]:
    """Runs one generator iteration with its critic steps.

    Args:
      real_images: k real batches, one fresh batch per critic step (k =
        `batches_needed()`; 1 for 'simultaneous'): a [k, B, ...]
        tensor or a sequence of k [B, ...] tensors. k = 0 (an empty
        sequence) runs the generator step alone, at `batch_size`.
      real_labels: the k label batches, [k, B] int32 or a sequence of [B].

    Returns:
      A dict of loss tensors: per critic step ([k], empty for k = 0)
      'discriminator_loss', 'discriminator_real', 'discriminator_fake' (mean
      outputs) and 'gradient_penalty' (0 without one); and the scalar
      'generator_loss'. Nothing is copied to the host here, so callers
      decide when to synchronise.

    Raises:
      ConfigError: k = 0 without `batch_size`, with a fixed generator (its
        fakes are made from the real batch), or with 'simultaneous'.
    """
    k = len(real_images)
    if k == 0:
      if self.update_order == 'simultaneous':
        raise ConfigError("update_order='simultaneous' needs one real batch "
                          'per iteration, got none.')
      if self.batch_size is None:
        raise ConfigError('an iteration with 0 critic steps needs '
                          'GANTrainer(batch_size=...) for its generator step.')
      if self.fixed_generator_noise_stddev is not None:
        raise ConfigError('a fixed generator (real data plus noise) needs a '
                          'real batch in every iteration; the schedule gave '
                          '0 critic steps.')
    if self.update_order == 'simultaneous':
      losses = self._simultaneous(real_images[0], real_labels[0])
    elif k <= self.max_unrolled_critic_steps:
      return self._unrolled(real_images, real_labels)
    else:
      steps = [self._critic(real_images[i], real_labels[i],
                            tf.constant(i, tf.int32)) for i in range(k)]
      losses = {name: tf.stack([step[name] for step in steps])
                for name in steps[0]}  # each [k]
      if self.fixed_generator_noise_stddev is not None:
        losses['generator_loss'] = self._fixed_generator(real_images[k - 1])
      else:
        losses['generator_loss'] = self._generator(
            tf.shape(real_images[0])[0])
    self.iteration.assign_add(1)
    self.batches_consumed.assign_add(k)
    return losses

  def compiled_functions(self, real_images, real_labels) -> List[Tuple[
      Callable, tuple, int]]:
    """The compiled functions one generator iteration calls, with arguments.

    For inspection (paper_gans.benchmark counts FLOPs from their XLA HLO
    with `function.experimental_get_compiler_ir(*arguments)`); nothing is
    run or updated.

    Args:
      real_images, real_labels: as for `train_iteration`, for the current
        iteration.

    Returns:
      [(tf.function, arguments, calls per iteration)], in call order.

    Raises:
      ValueError: in 'eager' mode, where nothing is compiled.
    """
    if self.compile_mode == 'eager':
      raise ValueError("compile_mode 'eager' compiles no functions.")
    k = len(real_images)
    if self.update_order == 'simultaneous':
      return [(self._simultaneous, (real_images[0], real_labels[0]), 1)]
    if k <= self.max_unrolled_critic_steps:
      return [(self._unrolled, (real_images, real_labels), 1)]
    # Every critic step runs the same function (the index is a tensor).
    critic = (self._critic, (real_images[0], real_labels[0],
                             tf.constant(0, tf.int32)), k)
    if self.fixed_generator_noise_stddev is not None:
      return [critic, (self._fixed_generator, (real_images[k - 1],), 1)]
    return [critic, (self._generator, (tf.shape(real_images[0])[0],), 1)]

  def generate(self, z: tf.Tensor, labels: Optional[tf.Tensor] = None,
               training: bool = False) -> tf.Tensor:
    """Samples from the generator; batch norm uses moving statistics."""
    return self.generator(z, labels=labels, training=training)

  def sample_latent(self, seed, batch_size: int) -> tf.Tensor:
    return self._sample_latent(seed, batch_size)

  def fixed_generator_fakes(self, real: tf.Tensor, seed) -> tf.Tensor:
    """The fixed generator's output for `real`: real + s * N(0, 1).

    What every critic step trains against when `fixed_generator_noise_stddev`
    (s) is set; also for pictures (runner, WGAN-GP's Figure 1).

    Args:
      real: a real batch [B, ...].
      seed: a stateless seed [2]; the noise is drawn from
        `fold(seed, _FIXED_GENERATOR_NOISE)`.
    """
    if self.fixed_generator_noise_stddev is None:
      raise ValueError('this trainer trains its generator; it has no fixed '
                       'generator.')
    return fixed_generator_fakes(real, seed, self.fixed_generator_noise_stddev,
                                 self.dtype)

  # ---- the steps ---------------------------------------------------------

  def _generator_inputs(self, seed, batch_size):
    z = self._sample_latent(fold(seed, _NOISE), batch_size)
    labels = None
    if self.num_classes:
      # Uniform over all classes (randint's upper bound is exclusive here;
      # a public cDCGAN drew randint(0, 9) and never generated a 9).
      labels = tf.random.stateless_uniform(
          [batch_size], seed=fold(seed, _LABELS), minval=0,
          maxval=self.num_classes, dtype=tf.int32)
    return z, labels

  def _iteration_seed(self) -> tf.Tensor:
    """The seed [2] of the current generator iteration (exact integer ops,
    so the same inside and outside XLA)."""
    return fold(tf.constant([self.seed, 0], tf.int32), self.iteration)

  def _unrolled_iteration(self, real_images, real_labels):
    """A whole generator iteration: k critic steps, then the generator step.

    The same steps, in the same order and with the same seeds, as the
    one-call-per-step path of `train_iteration`; k is static (the length of
    `real_images`), so each distinct k is traced once.
    """
    # Traced without autograph: a [k, B, ...] tensor argument is symbolic
    # here, and its static shape gives k.
    k = (real_images.shape[0] if isinstance(real_images, tf.Tensor)
         else len(real_images))
    steps = [self._critic_step(real_images[i], real_labels[i],
                               tf.constant(i, tf.int32)) for i in range(k)]
    if k:
      losses = {name: tf.stack([step[name] for step in steps])
                for name in steps[0]}  # each [k]
    else:
      # A lone generator update: empty per-critic-step losses.
      losses = {name: tf.zeros([0], self.dtype) for name in CRITIC_LOSSES}
    if self.fixed_generator_noise_stddev is not None:
      losses['generator_loss'] = self._fixed_generator_step(real_images[k - 1])
    else:
      losses['generator_loss'] = self._generator_step(
          tf.shape(real_images[0])[0] if k else self.batch_size)
    self.iteration.assign_add(1)
    self.batches_consumed.assign_add(k)
    return losses

  def _clip_critic(self):
    for variable in self.discriminator.trainable_variables:
      variable.assign(tf.clip_by_value(variable, -self.clip_value,
                                       self.clip_value))

  def _constrain(self, module):
    if hasattr(module, 'apply_constraints'):
      module.apply_constraints()

  def _critic_step(self, real, labels, index):
    """Critic step `index` of an iteration: one update on one real batch."""
    seed = fold(self._iteration_seed(), _CRITIC, index)
    real = tf.cast(real, self.dtype)  # A no-op when the data are in it.
    batch_size = tf.shape(real)[0]
    if not self.num_classes:
      labels = None  # Unconditional networks take no labels.
    if self.clip_value is not None and self.clip_timing == 'before_critic_step':
      self._clip_critic()
    if self.fixed_generator_noise_stddev is not None:
      # gan_toy.py FIXED_GENERATOR: this step's real batch plus noise.
      fake, fake_labels = self.fixed_generator_fakes(real, seed), None
    else:
      z, fake_labels = self._generator_inputs(seed, batch_size)
      if self.fake_labels_in_critic_step == 'real_batch':
        # The uniform draw above is discarded, so the noise is the same
        # either way.
        fake_labels = tf.cast(labels, tf.int32)
      fake = self.generator(z, labels=fake_labels, training=True)
    fake = tf.stop_gradient(fake)
    d_vars = self.discriminator.trainable_variables
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch(d_vars)
      real_out = self.discriminator(real, labels=labels, training=True,
                                    seed=fold(seed, _DROPOUT_REAL))  # [B]
      fake_out = self.discriminator(fake, labels=fake_labels, training=True,
                                    seed=fold(seed, _DROPOUT_FAKE))  # [B]
      loss = self._discriminator_loss(real_out, fake_out)
      penalty = tf.zeros([], self.dtype)
      if self.gradient_penalty_weight:
        penalty = self._gradient_penalty(real, fake, labels, seed)
        loss_with_penalty = loss + self.gradient_penalty_weight * penalty
      else:
        loss_with_penalty = loss
    grads = tape.gradient(loss_with_penalty, d_vars)
    self.discriminator_optimizer.apply(grads)
    self._constrain(self.discriminator)
    if self.clip_value is not None and self.clip_timing == 'after_critic_step':
      self._clip_critic()
    return {
        'discriminator_loss': loss_with_penalty,
        'discriminator_real': tf.reduce_mean(real_out),
        'discriminator_fake': tf.reduce_mean(fake_out),
        'gradient_penalty': penalty,
    }

  def _gradient_penalty(self, real, fake, labels, seed):
    """E[(||grad_x_hat D(x_hat)||_2 - 1)^2], alpha ~ U[0, 1] per example."""
    from paper_gans import losses  # pylint: disable=g-import-not-at-top
    alpha = losses.uniform_interpolation_weights(  # [B, 1, ..., 1]
        fold(seed, _ALPHA), tf.shape(real)[0], len(real.shape), self.dtype)
    critic = lambda x: self.discriminator(x, labels=labels, training=True,
                                          seed=fold(seed, _DROPOUT_REAL))
    return losses.wasserstein_gradient_penalty(critic, real, fake, alpha)

  def _generator_step(self, batch_size):
    seed = fold(self._iteration_seed(), _GENERATOR)
    z, fake_labels = self._generator_inputs(seed, batch_size)
    g_vars = self.generator.trainable_variables
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch(g_vars)
      fake = self.generator(z, labels=fake_labels, training=True)
      fake_out = self.discriminator(fake, labels=fake_labels, training=True,
                                    seed=fold(seed, _DROPOUT_FAKE))
      loss = self._generator_loss(fake_out)
    grads = tape.gradient(loss, g_vars)
    self.generator_optimizer.apply(grads)
    self._constrain(self.generator)
    return loss

  def _fixed_generator_step(self, real):
    """A fixed generator's step: its loss on real + noise, no update.

    gan_toy.py with FIXED_GENERATOR = True has no generator parameters, so
    its `gen_train_op` is `tf.no_op()`; the loss is evaluated only so the
    history keeps its 'generator_loss' column.
    """
    seed = fold(self._iteration_seed(), _GENERATOR)
    fake = self.fixed_generator_fakes(real, seed)
    fake_out = self.discriminator(fake, labels=None, training=True,
                                  seed=fold(seed, _DROPOUT_FAKE))
    return self._generator_loss(fake_out)

  def _simultaneous_step(self, real, labels):
    """Goodfellow et al.'s code: both players step from one forward pass.

    The generator's loss is computed from the same (dropped-out) forward
    pass of the discriminator on the fake batch as the discriminator's own
    loss, as `AdversaryCost2` in goodfeli/adversarial does.
    """
    seed = fold(self._iteration_seed(), _SIMULTANEOUS)
    real = tf.cast(real, self.dtype)  # A no-op when the data are in it.
    batch_size = tf.shape(real)[0]
    if not self.num_classes:
      labels = None  # Unconditional networks take no labels.
    z, fake_labels = self._generator_inputs(seed, batch_size)
    d_vars = self.discriminator.trainable_variables
    g_vars = self.generator.trainable_variables
    with tf.GradientTape(watch_accessed_variables=False) as d_tape, \
         tf.GradientTape(watch_accessed_variables=False) as g_tape:
      d_tape.watch(d_vars)
      g_tape.watch(g_vars)
      fake = self.generator(z, labels=fake_labels, training=True)
      real_out = self.discriminator(real, labels=labels, training=True,
                                    seed=fold(seed, _DROPOUT_REAL))
      fake_out = self.discriminator(fake, labels=fake_labels, training=True,
                                    seed=fold(seed, _DROPOUT_FAKE))
      d_loss = self._discriminator_loss(real_out, fake_out)
      g_loss = self._generator_loss(fake_out)
    d_grads = d_tape.gradient(d_loss, d_vars)
    g_grads = g_tape.gradient(g_loss, g_vars)
    # Both gradients were taken at the same parameters; apply both.
    self.discriminator_optimizer.apply(d_grads)
    self.generator_optimizer.apply(g_grads)
    self._constrain(self.discriminator)
    self._constrain(self.generator)
    expand = lambda t: tf.reshape(t, [1])
    return {
        'discriminator_loss': expand(d_loss),
        'discriminator_real': expand(tf.reduce_mean(real_out)),
        'discriminator_fake': expand(tf.reduce_mean(fake_out)),
        'gradient_penalty': tf.zeros([1], self.dtype),
        'generator_loss': g_loss,
    }


def _common_dtype(generator: tf.Module, discriminator: tf.Module) -> tf.DType:
  """The one floating dtype of both players' variables (ConfigError if not)."""
  dtypes = {v.dtype for module in (generator, discriminator)
            for v in module.variables if v.dtype.is_floating}
  if len(dtypes) != 1:
    raise ConfigError('the generator and the discriminator must be built in '
                      'one floating dtype, got '
                      f"{', '.join(sorted(d.name for d in dtypes)) or 'none'}.")
  return dtypes.pop()


def variables_of(modules: Sequence[tf.Module]):
  """Trainable variables of several modules, in a stable order."""
  out = []
  for module in modules:
    out.extend(module.trainable_variables)
  return out
