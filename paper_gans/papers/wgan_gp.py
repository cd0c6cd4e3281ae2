"""Gulrajani et al. 2017, "Improved Training of Wasserstein GANs" (arXiv:1704.00028).

Faithful to the authors' TensorFlow 1 code, igul222/improved_wgan_training,
read for this module with the search tool: `gan_toy.py` (commit 3c8ba3c) and
`gan_mnist.py` (commits 4fde7f3 and a3029cc; the latter has
`MODE = 'wgan-gp'`, otherwise the same file), `tflib/mnist.py` (4fde7f3).

The update (both scripts, `MODE = 'wgan-gp'`):
* Critic loss mean D(fake) - mean D(real) + LAMBDA * mean (||grad D(x_hat)||
  - 1)^2, x_hat on the line between a real and a fake example with
  alpha ~ U[0, 1] drawn once per example (`tf.random_uniform(shape=
  [BATCH_SIZE, 1])`); the penalty uses the same fake batch as the critic
  loss (one `session.run` evaluates `fake_data` once); a fresh real batch for
  every critic step (`_data = gen.next()` inside the critic loop).
* Generator loss -mean D(G(z)) on fresh noise.
* `tf.train.AdamOptimizer(1e-4, beta1=0.5, beta2=0.9)` for both nets (TF1
  semantics, epsilon 1e-8: `optimizers.Adam(epsilon_placement='tf1')`).
* CRITIC_ITERS = 5. The loop runs the generator step BEFORE the critic loop
  and skips it at iteration 0 (`if iteration > 0: session.run(gen_train_op)`),
  so the update sequence is C5 G C5 G ... G C5: the engine's order (5 critic
  steps, then the generator step) exactly, except that ITERS of the authors'
  iterations make one generator step fewer. Nothing else needs a flag.

Presets (`preset`; the dataset picks the script, `--preset` overrides):
* 'gan_toy' (8gaussians, 25gaussians, swissroll): ReLU MLP 3 x 512 in both
  nets (`DIM = 512`), z ~ N(0, 1)^2, BATCH_SIZE 256, LAMBDA 0.1, ITERS 100000.
* 'gan_mnist' (mnist and the other image sets): the DCGAN-like nets of
  `networks/wgan_gp.py` with DIM 64 and no batch norm, z ~ N(0, 1)^128,
  BATCH_SIZE 50, LAMBDA 10, ITERS 200000, data in [0, 1] (`tflib/mnist.py`
  reads the 50,000 training images of mnist.pkl.gz: `train[:50000]`).
* 'algorithm1': the paper's Algorithm 1 hyperparameters (lambda 10, n_critic
  5, Adam lr 1e-4, beta1 0, beta2 0.9) on the data set's script preset
  (batch size, nets, run length). The paper and the code disagree on lambda
  for the toys (10 vs 0.1) and on beta1 (0 vs 0.5); the default is the code.

Figure 1 (value surfaces and weight histograms, weight clipping vs gradient
penalty): on the toys a companion run (`clipping_comparison`, default on)
trains gan_toy.py's `MODE = 'wgan'` for the same number of generator
iterations in `<workdir>/weight_clipping/`: the same nets and initial
weights, no penalty, `tf.train.RMSPropOptimizer(learning_rate=5e-5)` (TF1:
decay 0.9, epsilon 1e-10 inside the square root, mean square initialised to
ONES; `optimizers.TF1RMSprop`) and every critic parameter clipped to
[-0.01, 0.01] AFTER each critic update (`session.run([clip_disc_weights])`
follows the train op). `figure1.png` then draws, as gan_toy.py's
`generate_image` does, the critic's contours on a 128 x 128 grid over
[-3, 3]^2 with real (orange) and generated (green) samples (1,000 of each;
the authors plot one batch of 256), for both runs side by side, with the
histograms of their critic parameters below.

The paper's Figure 1a trains its critics "to optimality" against a
generator "held fixed at the real data plus Gaussian noise": gan_toy.py's
`FIXED_GENERATOR = True`, where `fake_data = real_data + 1. * tf.random_
normal(tf.shape(real_data))` (each critic step's own real batch plus fresh
N(0, 1) noise, the penalty interpolating between the two), the generator has
no parameters and `gen_train_op` is `tf.no_op()`. `--fixed_generator` runs
exactly that (GANTrainer's `fixed_generator_noise_stddev=1`), for the
gradient-penalty critic and its weight-clipping companion; the default is the
script's `FIXED_GENERATOR = False`, a trained generator. The generator's mode
and quality metrics mean nothing then; the run measures the critics instead
(`fixed_generator_critic_metrics`: how close each is to an optimal critic,
from the exact Wasserstein distance of the evaluation points, and the
penalised critic's gradient norm against the one the penalty predicts) and
checks them (`check_fixed_generator`).

Not reproduced (also in docs/wgan_gp.md):
* gan_toy.py's `MODE = 'dcgan'` option does not exist in that file (only
  'wgan' and 'wgan-gp'); gan_mnist.py's 'wgan' and 'dcgan' modes add batch
  norm and are not built here.
* Initial weights: the authors draw them with unseeded `np.random`; we draw
  the same distributions from TensorFlow's stateless generator.
* Data order: the authors' NumPy streams are unseeded; ours are stateless
  functions of `seed`. The 25gaussians set is drawn once and cycled as in
  gan_toy.py.
* Image sets other than MNIST are brought to 28 x 28 x 1 by the data layer
  (gan_mnist.py's nets are fixed to that shape).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

from paper_gans import cli
from paper_gans import data
from paper_gans import losses
from paper_gans import optimizers
from paper_gans import plots
from paper_gans import runner
from paper_gans import train
from paper_gans.cli import check_choice, check_positive, paper_field, run_record
from paper_gans.errors import ConfigError
from paper_gans.networks import wgan_gp as wgan_gp_networks
from paper_gans.papers import common

NAME = 'wgan_gp'
COMPILE_MODES = train.COMPILE_MODES
MODES = ('wgan-gp', 'wgan')
PRESET_NAMES = ('gan_toy', 'gan_mnist', 'algorithm1')
TOY_DATASETS = data.TOY_DATASETS
MNIST_IMAGE_SIZE = 28  # gan_mnist.py OUTPUT_DIM = 784 = 28 * 28, one channel.
# gan_toy.py Generator with FIXED_GENERATOR: real_data + (1.*tf.random_normal(
# tf.shape(real_data))).
FIXED_GENERATOR_NOISE_STDDEV = 1.0

# The authors' per-experiment settings. Every value is the script's constant.
PRESETS = {
    'gan_toy': {
        'batch_size': 256,  # gan_toy.py BATCH_SIZE = 256
        'latent_dim': 2,  # gan_toy.py tf.random_normal([n_samples, 2])
        'dim': 512,  # gan_toy.py DIM = 512
        'critic_steps': 5,  # gan_toy.py CRITIC_ITERS = 5
        'gradient_penalty_weight': 0.1,  # gan_toy.py LAMBDA = .1
        'learning_rate': 1e-4,  # gan_toy.py AdamOptimizer(learning_rate=1e-4,
        'beta1': 0.5,  # beta1=0.5,
        'beta2': 0.9,  # beta2=0.9)
        'iterations': 100000,  # gan_toy.py ITERS = 100000
        'split': 'train',  # unused: the toys are sampled, not split
        'clipping_comparison': True,  # ours: Figure 1's weight-clipping panel
    },
    'gan_mnist': {
        'batch_size': 50,  # gan_mnist.py BATCH_SIZE = 50
        'latent_dim': 128,  # gan_mnist.py tf.random_normal([n_samples, 128])
        'dim': 64,  # gan_mnist.py DIM = 64
        'critic_steps': 5,  # gan_mnist.py CRITIC_ITERS = 5
        'gradient_penalty_weight': 10.0,  # gan_mnist.py LAMBDA = 10
        'learning_rate': 1e-4,  # gan_mnist.py AdamOptimizer(learning_rate=1e-4,
        'beta1': 0.5,  # beta1=0.5,
        'beta2': 0.9,  # beta2=0.9)
        'iterations': 200000,  # gan_mnist.py ITERS = 200000
        'split': 'train[:50000]',  # tflib/mnist.py: mnist.pkl.gz's train part
        'clipping_comparison': False,  # the companion is a toy experiment
    },
}
# Paper, Algorithm 1: "We use default values of lambda = 10, n_critic = 5,
# alpha = 0.0001, beta1 = 0, beta2 = 0.9."
ALGORITHM1 = {
    'gradient_penalty_weight': 10.0,
    'critic_steps': 5,
    'learning_rate': 1e-4,
    'beta1': 0.0,
    'beta2': 0.9,
}


@dataclasses.dataclass(frozen=True)
class WGANGPConfig:
  """Gulrajani et al. 2017 as the authors' scripts run it.

  The defaults are gan_toy.py's on 8 Gaussians. Build configs for other data
  sets with `make_config`, which applies the data set's preset (gan_mnist.py
  for image sets) before any explicit values.
  """
  dataset: str = paper_field(
      '8gaussians', "gan_toy.py DATASET = '8gaussians'",
      'data set: 8gaussians, 25gaussians, swissroll (gan_toy.py), mnist, '
      'fashion_mnist, tfds:<name>, folder:<path> (gan_mnist.py nets)')
  preset: str = paper_field(
      'gan_toy', 'gan_toy.py for the toys, gan_mnist.py for image sets',
      "'gan_toy', 'gan_mnist', or 'algorithm1' (the paper's lambda 10, beta1 "
      "0, beta2 0.9 on the data set's script preset); explicit flags win")
  mode: str = paper_field(
      'wgan-gp', "gan_toy.py MODE = 'wgan-gp'",
      "'wgan-gp', or 'wgan' (gan_toy.py's weight clipping with RMSProp; toys)")
  batch_size: int = paper_field(
      256, 'gan_toy.py BATCH_SIZE = 256; gan_mnist.py 50')
  latent_dim: int = paper_field(
      2, 'gan_toy.py noise [n, 2]; gan_mnist.py [n, 128]', 'size of z ~ N(0, 1)')
  dim: int = paper_field(
      512, 'gan_toy.py DIM = 512; gan_mnist.py DIM = 64',
      'model width: hidden units (toys) or base channels (images)')
  critic_steps: int = paper_field(
      5, 'gan_toy.py / gan_mnist.py CRITIC_ITERS = 5; paper Algorithm 1 '
      'n_critic = 5')
  gradient_penalty_weight: float = paper_field(
      0.1, 'gan_toy.py LAMBDA = .1; gan_mnist.py and paper Algorithm 1: 10',
      'lambda')
  learning_rate: float = paper_field(
      1e-4, 'gan_toy.py / gan_mnist.py AdamOptimizer(learning_rate=1e-4); '
      'paper Algorithm 1 alpha = 0.0001', 'Adam learning rate, both nets')
  beta1: float = paper_field(
      0.5, 'gan_toy.py / gan_mnist.py beta1=0.5; paper Algorithm 1: 0')
  beta2: float = paper_field(
      0.9, 'gan_toy.py / gan_mnist.py beta2=0.9; paper Algorithm 1: 0.9')
  adam_epsilon: float = paper_field(
      1e-8, 'tf.train.AdamOptimizer default epsilon (TF1 placement)')
  clip_value: float = paper_field(
      0.01, "gan_toy.py MODE 'wgan': clip_bounds = [-.01, .01]",
      "--mode=wgan and the companion run: critic parameters clipped to +-c")
  rmsprop_learning_rate: float = paper_field(
      5e-5, "gan_toy.py MODE 'wgan': RMSPropOptimizer(learning_rate=5e-5)")
  rmsprop_decay: float = paper_field(
      0.9, 'tf.train.RMSPropOptimizer default decay')
  rmsprop_epsilon: float = paper_field(
      1e-10, 'tf.train.RMSPropOptimizer default epsilon (inside the sqrt)')
  iterations: int = paper_field(
      100000, 'gan_toy.py ITERS = 100000; gan_mnist.py ITERS = 200000',
      'generator iterations of a full-length run (--steps overrides)')
  split: str = paper_field(
      'train', "gan_mnist.py via tflib/mnist.py: 'train[:50000]' for mnist",
      'training split of an image set (unused for the toys)')
  fixed_generator: bool = paper_field(
      False, 'gan_toy.py FIXED_GENERATOR = False',
      'toys: hold the generator fixed at the real data plus N(0, 1) noise '
      'and train only the critics, as gan_toy.py FIXED_GENERATOR = True does '
      "for the paper's Figure 1 plots")
  clipping_comparison: bool = paper_field(
      True, "ours: paper Figure 1's weight-clipping side, gan_toy.py MODE "
      "'wgan' trained for the same iterations in <workdir>/weight_clipping",
      'toys: also train the weight-clipping companion run for figure1.png')
  seed: int = paper_field(0, 'ours; the authors seed nothing')
  eval_samples: int = paper_field(
      2000, 'ours: samples per checkpoint for the MNIST Frechet distance')
  dtype: str = cli.dtype_field()

  def validate(self) -> None:
    """ConfigError (one line) for any value that cannot work."""
    cli.check_dtype(self.dtype)
    if not (self.dataset in data.KNOWN_DATASETS
            or self.dataset.startswith(data.DATASET_PREFIXES)):
      raise ConfigError(
          f"unknown --dataset '{self.dataset}'; expected one of "
          f"{', '.join(data.KNOWN_DATASETS)}, tfds:<name> or folder:<path>.")
    check_choice('preset', self.preset, PRESET_NAMES)
    toy = is_toy(self.dataset)
    if self.preset == 'gan_toy' and not toy:
      raise ConfigError(
          f"--preset=gan_toy is for the 2-D toys, not '{self.dataset}'; "
          'leave --preset unset (gan_mnist.py for image sets).')
    if self.preset == 'gan_mnist' and toy:
      raise ConfigError(
          f"--preset=gan_mnist is for image sets, not '{self.dataset}'; "
          'leave --preset unset (gan_toy.py for the toys).')
    check_choice('mode', self.mode, MODES)
    if self.mode == 'wgan' and not toy:
      raise ConfigError("--mode=wgan is gan_toy.py's weight clipping and "
                        f"needs a toy data set, not '{self.dataset}'.")
    if self.fixed_generator and not toy:
      raise ConfigError("--fixed_generator is gan_toy.py's FIXED_GENERATOR "
                        f"and needs a toy data set, not '{self.dataset}'.")
    if self.clipping_comparison and not (toy and self.mode == 'wgan-gp'):
      raise ConfigError('--clipping_comparison trains the toy weight-clipping '
                        'companion of a wgan-gp run; it needs a toy data set '
                        'and --mode=wgan-gp (pass --noclipping_comparison).')
    for name in ('batch_size', 'latent_dim', 'dim', 'critic_steps',
                 'iterations', 'eval_samples'):
      check_positive(name, getattr(self, name))
    check_positive('seed', self.seed, allow_zero=True)
    if self.mode == 'wgan-gp':
      check_positive('gradient_penalty_weight', self.gradient_penalty_weight)
    for name in ('learning_rate', 'clip_value', 'rmsprop_learning_rate'):
      check_positive(name, getattr(self, name))
    for name in ('adam_epsilon', 'rmsprop_epsilon'):
      check_positive(name, getattr(self, name), allow_zero=True)
    for name in ('beta1', 'beta2', 'rmsprop_decay'):
      value = getattr(self, name)
      if not 0.0 <= value < 1.0:
        raise ConfigError(f'--{name} must be in [0, 1), got {value}.')
    if not toy:
      data.sources.parse_split(self.split)  # ConfigError if malformed.


CONFIG_CLASS = WGANGPConfig


def is_toy(dataset: str) -> bool:
  return dataset in TOY_DATASETS


def default_preset(dataset: str) -> str:
  data.validate_dataset_name(dataset)  # ConfigError for an unknown name.
  return 'gan_toy' if is_toy(dataset) else 'gan_mnist'


def preset_values(preset: str, dataset: str) -> Dict:
  """The field values `preset` sets for `dataset` (see the module docstring)."""
  check_choice('preset', preset, PRESET_NAMES)
  script = default_preset(dataset)
  if preset not in ('algorithm1', script):
    raise ConfigError(f"--preset={preset} does not fit --dataset={dataset}; "
                      f"use {script} or algorithm1.")
  values = dict(PRESETS[script])
  if script == 'gan_mnist' and dataset != 'mnist':
    values['split'] = 'train'  # Only MNIST has the pickle's 50k/10k split.
  if preset == 'algorithm1':
    values.update(ALGORITHM1)
  values['preset'] = preset
  return values


def make_config(**overrides) -> WGANGPConfig:
  """The config for `dataset`: defaults, then its preset, then `overrides`.

  `make_config(dataset='mnist')` is gan_mnist.py; `make_config(dataset=
  '25gaussians', preset='algorithm1')` is gan_toy.py's nets with the paper's
  Algorithm 1 hyperparameters. Explicit keyword values win over the preset.
  """
  base = WGANGPConfig()
  dataset = overrides.get('dataset', base.dataset)
  preset = overrides.get('preset') or default_preset(dataset)
  values = preset_values(preset, dataset)
  values.update(overrides)
  return dataclasses.replace(base, **values)


def value_range(config: WGANGPConfig) -> Optional[Tuple[float, float]]:
  """(0, 1) for image sets (gan_mnist.py: sigmoid output, data in [0, 1])."""
  return None if is_toy(config.dataset) else (0.0, 1.0)


# Per data set kind; the toys are 2-D points, not images.
VALUE_RANGE = {'toy': None, 'image': (0.0, 1.0)}

# Reference trajectories (paper_gans/reference.py). 'ci' is gan_toy.py's full
# config (it replays in seconds); 'ci_clipping' is its MODE 'wgan' (the
# companion); 'ci_mnist' shrinks gan_mnist.py's nets (DIM 64 -> 8), not the
# algorithm; 'full' is gan_mnist.py's config, replayed by a slow test.
REFERENCE_PRESETS = {
    'ci': {},
    'ci_clipping': {'mode': 'wgan', 'clipping_comparison': False},
    'ci_mnist': dict(preset_values('gan_mnist', 'mnist'), dataset='mnist',
                     dim=8),
    'full': dict(preset_values('gan_mnist', 'mnist'), dataset='mnist'),
}


# --------------------------------------------------------------------------
# Building a run.
# --------------------------------------------------------------------------

def build_networks(config: WGANGPConfig) -> Tuple[tf.Module, tf.Module]:
  """(generator, critic) of gan_toy.py or gan_mnist.py (MODE 'wgan-gp')."""
  if is_toy(config.dataset):
    generator = wgan_gp_networks.ToyGenerator(
        latent_dim=config.latent_dim, hidden_units=config.dim,
        seed=config.seed, dtype=tf.as_dtype(config.dtype))
    critic = wgan_gp_networks.ToyCritic(hidden_units=config.dim,
                                        seed=config.seed + 1,
                                        dtype=tf.as_dtype(config.dtype))
  else:
    generator = wgan_gp_networks.MnistGenerator(
        latent_dim=config.latent_dim, dim=config.dim, seed=config.seed,
        dtype=tf.as_dtype(config.dtype))
    critic = wgan_gp_networks.MnistCritic(dim=config.dim, seed=config.seed + 1,
                                          dtype=tf.as_dtype(config.dtype))
  return generator, critic


def build_trainer(config: WGANGPConfig,
                  compile_mode: str = 'xla') -> train.GANTrainer:
  """The generator, critic, optimizers and update rule of the authors' code."""
  config.validate()
  generator, critic = build_networks(config)
  if config.mode == 'wgan-gp':
    def adam(variables, name):
      return optimizers.Adam(
          variables, learning_rate=config.learning_rate, beta1=config.beta1,
          beta2=config.beta2, epsilon=config.adam_epsilon,
          epsilon_placement=optimizers.TF1, name=name)
    generator_optimizer = adam(generator.trainable_variables,
                               'generator_optimizer')
    critic_optimizer = adam(critic.trainable_variables, 'critic_optimizer')
    constraint = dict(gradient_penalty_weight=config.gradient_penalty_weight)
  else:
    def rmsprop(variables, name):
      return optimizers.TF1RMSprop(
          variables, learning_rate=config.rmsprop_learning_rate,
          decay=config.rmsprop_decay, epsilon=config.rmsprop_epsilon,
          name=name)
    generator_optimizer = rmsprop(generator.trainable_variables,
                                  'generator_optimizer')
    critic_optimizer = rmsprop(critic.trainable_variables, 'critic_optimizer')
    # gan_toy.py runs clip_disc_weights after each critic train op.
    constraint = dict(clip_value=config.clip_value,
                      clip_timing='after_critic_step')
  return train.GANTrainer(
      generator=generator, discriminator=critic,
      generator_optimizer=generator_optimizer,
      discriminator_optimizer=critic_optimizer,
      discriminator_loss=losses.wasserstein_critic_loss,
      generator_loss=losses.wasserstein_generator_loss,
      latent_distribution='normal', update_order='alternating',
      critic_steps_schedule=train.constant_schedule(config.critic_steps),
      fixed_generator_noise_stddev=(FIXED_GENERATOR_NOISE_STDDEV
                                    if config.fixed_generator else None),
      compile_mode=compile_mode, seed=config.seed, **constraint)


def dataset_fn(config: WGANGPConfig):
  """start_batch -> the stream of real batches (one per critic step)."""
  def make(start_batch: int) -> tf.data.Dataset:
    if is_toy(config.dataset):
      return data.make_dataset(config.dataset, config.batch_size,
                               seed=config.seed, start_batch=start_batch,
                               dtype=tf.as_dtype(config.dtype))
    mnist = config.dataset == 'mnist'
    return data.make_dataset(
        config.dataset, config.batch_size, seed=config.seed,
        split=config.split,
        image_size=None if mnist else MNIST_IMAGE_SIZE,
        channels=None if mnist else 1,
        value_range=(0.0, 1.0), start_batch=start_batch,
        dtype=tf.as_dtype(config.dtype))
  return make


def steps_for(config: WGANGPConfig) -> int:
  """Generator iterations of a full-length run (the scripts' ITERS)."""
  return config.iterations


def clipping_companion(config: WGANGPConfig) -> WGANGPConfig:
  """gan_toy.py MODE 'wgan' with everything else of `config` unchanged."""
  return dataclasses.replace(config, mode='wgan', clipping_comparison=False)


# --------------------------------------------------------------------------
# The paper's claims, measured.
# --------------------------------------------------------------------------

TOY_EVAL_SAMPLES = 2500  # VEEGAN's count, as in the real-data ceilings.
TOY_GRID_POINTS = 128  # gan_toy.py generate_image: N_POINTS = 128
TOY_GRID_RANGE = 3.0  # gan_toy.py generate_image: RANGE = 3
# Fixed noise / data streams for evaluation, apart from training's streams.
_EVAL_NOISE, _EVAL_REAL, _EVAL_REAL_REFERENCE = -3, -4, -5


def toy_samples(trainer: train.GANTrainer, config: WGANGPConfig,
                count: int = TOY_EVAL_SAMPLES) -> np.ndarray:
  """`count` generated points [count, 2] from fixed noise."""
  z = trainer.sample_latent(tf.constant([config.seed, _EVAL_NOISE]), count)
  return trainer.generate(z).numpy()


def real_toy_samples(config: WGANGPConfig, count: int = TOY_EVAL_SAMPLES,
                     stream: int = _EVAL_REAL) -> np.ndarray:
  return data.sample_toy(config.dataset, count,
                         tf.constant([config.seed, stream])).numpy()


def swissroll_distances(samples: np.ndarray, real: np.ndarray) -> Dict:
  """Mean nearest-neighbour distances between generated and real points.

  Ours (the paper reports no number for the Swiss roll): 'precision' is the
  mean distance from a generated point to its nearest real point (small if
  samples lie on the roll), 'recall' the mean distance from a real point to
  its nearest generated point (small if the whole roll is covered).
  """
  x = np.asarray(samples, np.float64)
  y = np.asarray(real, np.float64)
  distances = np.linalg.norm(x[:, None, :] - y[None, :, :], axis=2)  # [N, M]
  return {'precision_distance': float(distances.min(axis=1).mean()),
          'recall_distance': float(distances.min(axis=0).mean())}


def toy_metrics(trainer: train.GANTrainer, config: WGANGPConfig) -> Dict:
  """Modes covered and high-quality fraction (Gaussians) or NN distances."""
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  samples = toy_samples(trainer, config)
  if config.dataset == 'swissroll':
    return swissroll_distances(samples, real_toy_samples(config))
  result = evaluation.toy_mode_metrics(samples, data.toy_modes(config.dataset),
                                       data.toy_mode_std(config.dataset))
  return {'modes_covered': result['modes_covered'],
          'num_modes': len(data.toy_modes(config.dataset)),
          'high_quality_fraction': result['high_quality_fraction'],
          'high_quality_per_mode': result['high_quality_per_mode'],
          'num_samples': TOY_EVAL_SAMPLES}


def swissroll_real_reference(config: WGANGPConfig) -> Dict:
  """swissroll_distances of a second real sample: what a perfect G scores."""
  return swissroll_distances(
      real_toy_samples(config, stream=_EVAL_REAL_REFERENCE),
      real_toy_samples(config))


def mnist_metrics(trainer: train.GANTrainer, config: WGANGPConfig,
                  count: int, evaluator=None) -> Dict:
  """Classifier score and Frechet distance of `count` samples (fixed noise)."""
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  z = trainer.sample_latent(tf.constant([config.seed, _EVAL_NOISE]), count)
  images = np.concatenate([trainer.generate(z[i:i + 500]).numpy()
                           for i in range(0, count, 500)])
  result = evaluation.evaluate_mnist_samples(images, value_range=(0.0, 1.0),
                                             evaluator=evaluator)
  return {'classifier_score': float(result['classifier_score']),
          'frechet_distance': float(result['frechet_distance']),
          'num_samples': int(result['num_samples'])}


def critic_parameters(critic: tf.Module) -> np.ndarray:
  """Every critic parameter (weights and biases: all are clipped), flat."""
  return np.concatenate([v.numpy().ravel()
                         for v in critic.trainable_variables])


def fraction_at_clip_boundary(parameters: np.ndarray, clip_value: float,
                              tolerance: float = 0.01) -> float:
  """Fraction of parameters within `tolerance * c` of +-c (paper Fig. 1b)."""
  return float(np.mean(np.abs(parameters) >= clip_value * (1.0 - tolerance)))


def critic_value_grid(critic: tf.Module) -> Tuple[np.ndarray, np.ndarray]:
  """gan_toy.py generate_image: the critic on a 128 x 128 grid over [-3, 3]^2.

  Returns:
    (axis [N], values [N, N]) with values[i, j] = D(axis[j], axis[i]), i.e.
    rows are y, as matplotlib's contour expects (the authors transpose).
  """
  axis = np.linspace(-TOY_GRID_RANGE, TOY_GRID_RANGE, TOY_GRID_POINTS)
  xs, ys = np.meshgrid(axis, axis)  # [N, N] each; xs varies along columns
  points = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)
  values = critic(tf.constant(points, _variables_dtype(critic))).numpy()
  return axis, values.reshape(TOY_GRID_POINTS, TOY_GRID_POINTS)


def save_figure1(panels: List[Dict], real: np.ndarray, path: str,
                 title: str) -> None:
  """Value surfaces with samples (top) and critic-parameter histograms.

  Each panel: {'label', 'critic', 'samples' [N, 2], 'clip_value' or None,
  'summary' (one line)}, optionally 'samples_label' (default 'generated').
  """
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, axes = plt.subplots(2, len(panels), figsize=(5.2 * len(panels), 8.6),
                           dpi=100, gridspec_kw={'height_ratios': [3, 1.3]},
                           squeeze=False)
  for column, panel in enumerate(panels):
    ax = axes[0, column]
    axis, values = critic_value_grid(panel['critic'])
    ax.contour(axis, axis, values, levels=15, linewidths=0.8)
    ax.scatter(real[:, 0], real[:, 1], c='orange', marker='+', s=12,
               linewidths=0.6, label='real')
    samples = panel['samples']
    ax.scatter(samples[:, 0], samples[:, 1], c='green', marker='+', s=12,
               linewidths=0.6, label=panel.get('samples_label', 'generated'))
    ax.set_xlim(-TOY_GRID_RANGE, TOY_GRID_RANGE)
    ax.set_ylim(-TOY_GRID_RANGE, TOY_GRID_RANGE)
    ax.set_aspect('equal')
    ax.set_title(f"{panel['label']}\n{panel['summary']}", fontsize=9)
    ax.legend(loc='upper right', fontsize=7)
    ax = axes[1, column]
    parameters = critic_parameters(panel['critic'])
    clip = panel.get('clip_value')
    if clip:
      limit, what = 1.2 * clip, 'all'
    else:
      # The first layer's few large weights (He init of a 2-input layer
      # reaches +-1.7) would squeeze the rest into one bin.
      limit, what = float(np.percentile(np.abs(parameters), 99.9)), (
          'central 99.9%')
    ax.hist(parameters, bins=101, range=(-limit, limit), color='tab:blue')
    ax.set_yscale('log')
    ax.set_xlabel(f'critic parameter value ({what} of {parameters.size})')
    ax.set_ylabel('count')
  fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
  fig.savefig(path)
  plt.close(fig)


# --------------------------------------------------------------------------
# A fixed generator (gan_toy.py FIXED_GENERATOR = True): the critics alone.
# --------------------------------------------------------------------------

# Fixed evaluation streams of the fixed-generator metrics.
_EVAL_FIXED_NOISE, _EVAL_ALPHA = -6, -7


def fixed_generator_points(config: WGANGPConfig,
                           count: int = TOY_EVAL_SAMPLES
                           ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(real, fake, interpolates), each [count, 2], for the critic metrics.

  fake = real + noise as the fixed generator makes it; interpolates =
  alpha real + (1 - alpha) fake with alpha ~ U[0, 1] per pair, gan_toy.py's
  penalty points. Fixed streams, so every checkpoint and both critics of a
  run (same seed) are measured on the same points.
  """
  real = real_toy_samples(config, count)
  fake = fixed_fakes(config, real)
  alpha = tf.random.stateless_uniform(
      [count, 1], seed=tf.constant([config.seed, _EVAL_ALPHA])).numpy()
  return real, fake, alpha * real + (1.0 - alpha) * fake


def fixed_fakes(config: WGANGPConfig, real: np.ndarray) -> np.ndarray:
  """The fixed generator's output for `real`, from a fixed evaluation seed."""
  return train.fixed_generator_fakes(
      real, tf.constant([config.seed, _EVAL_FIXED_NOISE]),
      FIXED_GENERATOR_NOISE_STDDEV).numpy()


def exact_wasserstein1(a: np.ndarray, b: np.ndarray) -> float:
  """W1 between two equally sized point sets: the optimal assignment's mean
  Euclidean cost (exact for empirical measures of equal weights).

  scipy is one of the package's dependencies (setup.py).
  """
  from scipy import optimize  # pylint: disable=g-import-not-at-top
  a = np.asarray(a, np.float64)
  b = np.asarray(b, np.float64)
  cost = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)  # [N, N]
  rows, columns = optimize.linear_sum_assignment(cost)
  return float(cost[rows, columns].mean())


def _variables_dtype(module: tf.Module) -> tf.DType:
  """The dtype the module was built in (float32 or float64).

  A critic without variables (a fixed function of x, as in the tests) is
  evaluated in float32, the papers' precision.
  """
  variables = module.trainable_variables
  return variables[0].dtype if variables else tf.float32


def critic_gradient_norms(critic: tf.Module, points: np.ndarray) -> np.ndarray:
  """||grad_x D(x)||_2 at each point [N] (the quantity the penalty holds)."""
  x = tf.constant(points, _variables_dtype(critic))
  with tf.GradientTape() as tape:
    tape.watch(x)
    values = critic(x)
  return tf.norm(tape.gradient(values, x), axis=1).numpy()


def fixed_generator_critic_metrics(
    critic: tf.Module, points: Tuple[np.ndarray, np.ndarray, np.ndarray],
    wasserstein: float, gradient_penalty_weight: Optional[float] = None
) -> Dict[str, float]:
  """How close a critic trained against the fixed generator is to optimal.

  Kantorovich-Rubinstein: for an L-Lipschitz critic D, mean D(real) -
  mean D(fake) <= L W1(real, fake), with equality for an optimal critic
  (a Kantorovich potential, scaled). 'optimality' is that ratio, with L the
  largest gradient norm found at the real, fake and interpolated points
  (the region the data and the penalty see): 1 for an optimal critic, near
  0 (or below) for one that has learnt nothing. It is the paper's Figure 1a
  question asked of a number: does the critic's value surface capture the
  data distribution ("critics trained with weight clipping fail to capture
  higher moments")?

  For a penalised critic also the gradient norm on the interpolates. The
  paper's Proposition 1 says the optimal critic has gradient norm 1 along
  the lines between coupled points; the penalty lambda E[(||grad|| - 1)^2]
  is soft, and among rescalings c D* of an optimal critic the penalised
  objective c W1 - lambda (c - 1)^2 is largest at c = 1 + W1 / (2 lambda).
  So the prediction is a norm of 1 + W1 / (2 lambda): 1.05 at the paper's
  lambda 10, but about 5 at gan_toy.py's lambda 0.1 (W1 ~ 0.8 here), which
  is why a plain "norm near 1" would be the wrong test for the code's
  config. 'gradient_norm_relative_error' is |mean norm / prediction - 1|.

  Args:
    critic: the critic module.
    points: `fixed_generator_points(...)`.
    wasserstein: `exact_wasserstein1(real, fake)` of those points.
    gradient_penalty_weight: lambda, or None for a weight-clipped critic.
  """
  real, fake, interpolates = points
  dtype = _variables_dtype(critic)
  estimate = float(np.mean(critic(tf.constant(real, dtype)).numpy())
                   - np.mean(critic(tf.constant(fake, dtype)).numpy()))
  on_interpolates = critic_gradient_norms(critic, interpolates)
  largest = float(max(np.max(on_interpolates),
                      np.max(critic_gradient_norms(critic, real)),
                      np.max(critic_gradient_norms(critic, fake))))
  out = {
      'critic_estimate': estimate,
      'gradient_norm_max': largest,
      'gradient_norm_mean_interpolates': float(np.mean(on_interpolates)),
      'gradient_norm_cv_interpolates': float(
          np.std(on_interpolates) / max(np.mean(on_interpolates), 1e-12)),
      'optimality': estimate / max(largest * wasserstein, 1e-12),
  }
  if gradient_penalty_weight:
    predicted = 1.0 + wasserstein / (2.0 * gradient_penalty_weight)
    out['gradient_norm_predicted'] = predicted
    out['gradient_norm_relative_error'] = abs(
        out['gradient_norm_mean_interpolates'] / predicted - 1.0)
  return out


def check_fixed_generator(metrics: Dict, expected: Dict,
                          dataset: str) -> Dict[str, Dict]:
  """The fixed-generator check: expected/wgan_gp.json 'fixed_generator'.

  Mode coverage and sample quality measure a generator; a fixed generator
  (real data plus noise) has none to measure, so this check asks instead
  whether the critics did what the paper's Figure 1 shows (see
  `fixed_generator_critic_metrics`): the penalised critic is close to
  optimal ('gradient_penalty_critic_optimality', > 0.5 where an untrained
  critic scores -0.35 to 0.28), its gradient norm is the one the penalty
  predicts ('gradient_norm_relative_error', untrained 0.60 to 0.76), and,
  where the file says so, it is a better critic than the weight-clipped one
  ('optimality_gain_over_weight_clipping', only when the companion ran).
  The same thresholds apply to runs of any length. A weight-clipping-only
  run (--mode=wgan) has no thresholds.

  Args:
    metrics: `run`'s metrics, with 'fixed_generator_critics' filled in.
    expected: the parsed expected-output file.
    dataset: the toy data set.

  Returns:
    One criterion per threshold that applies.
  """
  rules = expected['fixed_generator'].get(dataset, {}).get('thresholds', {})
  fixed = metrics.get('fixed_generator_critics', {})
  penalised = fixed.get('gradient_penalty_critic')
  clipped = fixed.get('weight_clipping_critic')
  measured = {}
  if penalised is not None:
    measured['gradient_penalty_critic_optimality'] = penalised['optimality']
    measured['gradient_norm_relative_error'] = penalised[
        'gradient_norm_relative_error']
    if clipped is not None:
      measured['optimality_gain_over_weight_clipping'] = (
          penalised['optimality'] - clipped['optimality'])
  return {name: common.criterion(measured[name], rule['op'], rule['value'],
                                 rule['why'])
          for name, rule in rules.items() if name in measured}


def wasserstein_estimates(history: List[Dict]) -> np.ndarray:
  """mean D(real) - mean D(fake) at each iteration's last critic step."""
  return np.array([h['discriminator_real'][-1] - h['discriminator_fake'][-1]
                   for h in history], np.float64)


# --------------------------------------------------------------------------
# The expected-output check.
# --------------------------------------------------------------------------

CHECKPOINT_METRICS_FILE = 'checkpoint_metrics.jsonl'
COMPANION_DIR = 'weight_clipping'
EXPECTED_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__)))), 'reproductions', 'expected', 'wgan_gp.json')


def expected_section(config: WGANGPConfig, full_length: bool) -> str:
  """The expected-output file's section a run's check applies."""
  if config.fixed_generator:
    return 'fixed_generator'
  return common.expected_section(full_length)


def check(metrics: Dict, expected: Dict, full_length: bool,
          dataset: str) -> Dict[str, Dict]:
  """Compares `metrics` with expected/wgan_gp.json's thresholds for `dataset`.

  Returns one criterion per threshold ({} where the file has none for this
  data set, e.g. image sets without an evaluator).
  """
  section = expected[common.expected_section(full_length)]
  rules = section.get(dataset, {}).get('thresholds', {})
  return {name: common.criterion(metrics.get(name), rule['op'], rule['value'],
                                 rule['why'])
          for name, rule in rules.items()}


def _train(config: WGANGPConfig, options: runner.RunOptions,
           compile_mode: str, name: str, evaluator=None, fixed=None):
  """Trains one run in options.workdir; returns (trainer, history).

  `fixed`: the run's FixedGeneratorEvaluation when --fixed_generator.
  """
  trainer = build_trainer(config, compile_mode)
  workdir = options.workdir
  metrics_path = os.path.join(workdir, CHECKPOINT_METRICS_FILE)

  def on_checkpoint(iteration: int) -> None:
    if fixed is not None:
      row = dict(iteration=iteration, **fixed.critic_metrics(trainer))
      row.pop('gradient_norm_cv_interpolates', None)
    elif is_toy(config.dataset):
      row = dict(iteration=iteration, **toy_metrics(trainer, config))
      row.pop('high_quality_per_mode', None)
    elif evaluator is not None:
      row = dict(iteration=iteration, **mnist_metrics(
          trainer, config, config.eval_samples, evaluator))
    else:
      return
    common.append_checkpoint_metrics(metrics_path, row)
    shown = ', '.join(f'{k} {v:.4g}' for k, v in row.items()
                      if k not in ('iteration', 'num_samples', 'num_modes'))
    print(f'[{name}] checkpoint {iteration}: {shown}', flush=True)

  toy_reference = (real_toy_samples(config, count=1000)
                   if is_toy(config.dataset) else None)
  result = runner.run_training(
      trainer, dataset_fn(config), options,
      run_record(NAME, config, options.steps, compile_mode), name=name,
      value_range=value_range(config) or (0.0, 1.0),
      on_checkpoint=on_checkpoint, toy_reference=toy_reference,
      loss_curve_median=51)
  return trainer, plots.read_history(result.history_path)


class FixedGeneratorEvaluation:
  """The fixed-generator metrics' points and exact W1, computed once per run
  (the assignment of 2,500 x 2,500 points takes seconds)."""

  def __init__(self, config: WGANGPConfig):
    self.config = config
    self.points = fixed_generator_points(config)
    self._wasserstein = None

  @property
  def wasserstein(self) -> float:
    if self._wasserstein is None:
      self._wasserstein = exact_wasserstein1(self.points[0], self.points[1])
    return self._wasserstein

  def critic_metrics(self, trainer: train.GANTrainer) -> Dict[str, float]:
    weight = (trainer.gradient_penalty_weight
              if trainer.gradient_penalty_weight else None)
    return fixed_generator_critic_metrics(trainer.discriminator, self.points,
                                          self.wasserstein, weight)


def run(config: WGANGPConfig, options: runner.RunOptions,
        compile_mode: str = 'xla', run_check: bool = True,
        expected_path: Optional[str] = None) -> int:
  """Trains (and the clipping companion), measures, checks; the exit code.

  With --fixed_generator only critics are trained (gan_toy.py
  FIXED_GENERATOR): the metrics and the check are the critics' (see
  `check_fixed_generator`), not the generator's.

  `expected_path`: the expected-output file (`--expected`); default
  EXPECTED_PATH.
  """
  expected_path = expected_path or EXPECTED_PATH
  workdir = options.workdir
  companion = None
  fixed = FixedGeneratorEvaluation(config) if config.fixed_generator else None
  if config.clipping_comparison:
    # First, so that a stopped run is resumed before the main run finishes
    # (a finished main workdir is not resumed).
    companion_config = clipping_companion(config)
    companion_options = dataclasses.replace(
        options, workdir=os.path.join(workdir, COMPANION_DIR))
    print(f'[{NAME}] weight-clipping companion (gan_toy.py MODE wgan) in '
          f'{companion_options.workdir}', flush=True)
    companion = _train(companion_config, companion_options, compile_mode,
                       f'{NAME}/weight_clipping', fixed=fixed)
  evaluator = None
  if config.dataset == 'mnist':
    from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
    evaluator = evaluation.MnistEvaluator.load()
  trainer, history = _train(config, options, compile_mode, NAME, evaluator,
                            fixed=fixed)

  estimates = wasserstein_estimates(history)
  metrics: Dict = {
      'dataset': config.dataset, 'preset': config.preset, 'mode': config.mode,
      'fixed_generator': config.fixed_generator,
      'generator_iterations': len(history),
      'wasserstein_estimate_final': (float(np.median(estimates[-100:]))
                                     if len(estimates) else None),
  }
  if fixed is not None:
    main_key = ('gradient_penalty_critic' if config.mode == 'wgan-gp'
                else 'weight_clipping_critic')
    metrics['fixed_generator_critics'] = {
        'noise_stddev': FIXED_GENERATOR_NOISE_STDDEV,
        'num_points': TOY_EVAL_SAMPLES,
        'wasserstein1_exact': fixed.wasserstein,
        main_key: fixed.critic_metrics(trainer)}
    metrics['critic_parameters_abs_max'] = float(np.max(np.abs(
        critic_parameters(trainer.discriminator))))
  elif is_toy(config.dataset):
    metrics.update(toy_metrics(trainer, config))
    if config.dataset == 'swissroll':
      metrics['real_data_reference'] = swissroll_real_reference(config)
    else:
      from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
      metrics['real_data_ceiling'] = evaluation.load_ceilings()['toy'][
          config.dataset]
    metrics['critic_parameters_abs_max'] = float(np.max(np.abs(
        critic_parameters(trainer.discriminator))))
  elif evaluator is not None:
    from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
    metrics.update(mnist_metrics(trainer, config, 10000, evaluator))
    ceilings = evaluation.load_ceilings()['mnist']
    metrics['real_data_ceiling'] = {
        'classifier_score_test_10000':
            ceilings['classifier_score']['test_10000'],
        'frechet_distance_test_10000':
            ceilings['frechet_distance']['test_10000']}

  if companion is not None:
    companion_trainer, _ = companion
    companion_config = clipping_companion(config)
    companion_parameters = critic_parameters(companion_trainer.discriminator)
    at_boundary = fraction_at_clip_boundary(companion_parameters,
                                            config.clip_value)
    if fixed is not None:
      companion_metrics = fixed.critic_metrics(companion_trainer)
      metrics['fixed_generator_critics']['weight_clipping_critic'] = (
          companion_metrics)
    else:
      companion_metrics = toy_metrics(companion_trainer, companion_config)
    companion_metrics['critic_parameters_at_clip_boundary'] = at_boundary
    metrics['weight_clipping_companion'] = companion_metrics

    def summary(values: Dict) -> str:
      if 'optimality' in values:
        return (f"optimality {values['optimality']:.3f}, mean |grad D| "
                f"{values['gradient_norm_mean_interpolates']:.3g}")
      if 'modes_covered' in values:
        return (f"modes {values['modes_covered']}/{values['num_modes']}, "
                f"high quality {values['high_quality_fraction']:.3f}")
      return (f"precision {values['precision_distance']:.3f}, "
              f"recall {values['recall_distance']:.3f}")

    figure_real = real_toy_samples(config, count=1000)
    if fixed is not None:
      # As in gan_toy.py, the "generated" points are real points plus noise.
      fakes = fixed_fakes(config, figure_real)
      samples = {'main': fakes, 'companion': fakes}
      samples_label = 'real + noise (fixed generator)'
      main_summary = summary(metrics['fixed_generator_critics'][main_key])
      what = 'critics trained against a fixed generator (real + noise)'
    else:
      samples = {
          'main': toy_samples(trainer, config, 1000),
          'companion': toy_samples(companion_trainer, companion_config, 1000)}
      samples_label = 'generated'
      main_summary = summary(metrics)
      what = 'critic value surface and samples'
    save_figure1(
        [{'label': f'gradient penalty (lambda {config.gradient_penalty_weight:g}'
                   f', Adam)', 'critic': trainer.discriminator,
          'samples': samples['main'], 'samples_label': samples_label,
          'clip_value': None, 'summary': main_summary},
         {'label': f'weight clipping (c = {config.clip_value:g}, RMSProp)',
          'critic': companion_trainer.discriminator,
          'samples': samples['companion'], 'samples_label': samples_label,
          'clip_value': config.clip_value,
          'summary': summary(companion_metrics)}],
        figure_real, os.path.join(workdir, 'figure1.png'),
        f'{config.dataset}, {len(history)} generator iterations: {what} '
        '(top), critic parameters (bottom)')

  expected = common.load_expected(expected_path)
  full_length = options.steps >= steps_for(config)
  applied = expected_section(config, full_length)
  if fixed is not None:
    results = check_fixed_generator(metrics, expected, config.dataset)
  else:
    results = check(metrics, expected, full_length, config.dataset)
  metrics['check'] = {
      'applied': applied,
      'passed': all(r['passed'] for r in results.values()),
      'criteria': results}
  common.write_metrics(workdir, metrics)
  print(f"[{NAME}] expected-output check ({applied} thresholds, "
        f'{expected_path}):')
  if fixed is not None:
    print('  fixed generator (gan_toy.py FIXED_GENERATOR): the "generator" '
          'is the real data plus noise, so mode coverage and sample quality '
          'are not measured; the critics are checked instead.', flush=True)
  if fixed is not None and companion is None and results:
    print('  no weight-clipping companion (--noclipping_comparison): the '
          'comparison with it is not checked.', flush=True)
  if results:
    print(common.format_check(results), flush=True)
  elif fixed is not None:
    print('  no gradient-penalty critic in this run (--mode=wgan): nothing '
          'to check', flush=True)
  else:
    print(f'  no thresholds for {config.dataset} in the expected file (see '
          'its description there); nothing to check', flush=True)
  if not run_check:
    return 0
  return 0 if metrics['check']['passed'] else 1
