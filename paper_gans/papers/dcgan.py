"""Radford, Metz and Chintala 2015, "Unsupervised Representation Learning with
Deep Convolutional Generative Adversarial Networks" (arXiv:1511.06434).

Faithful to the authors' code, Newmu/dcgan_code `faces/train_uncond_dcgan.py`
with `lib/updates.py` (both read for this module), whose settings are the
config's defaults:

* Networks (paper_gans/networks/dcgan.py): G projects z (100) to
  4x4x(8 ngf) with per-unit batch norm, then 5x5 stride-2 fractionally
  strided convolutions halve the channels while doubling the resolution up
  to 64x64, batch norm + ReLU on every hidden layer, tanh output without
  batch norm; D mirrors it with 5x5 stride-2 convolutions, LeakyReLU 0.2,
  batch norm on every layer but the input layer, one dense logit. No pooling,
  no hidden fully connected layers, no biases. `ngf = ndf = 128` (so the
  4x4 layer has 8 ngf = 1,024 channels, the paper's Fig. 1), `nz = 100`,
  weights N(0, 0.02), batch-norm gains N(1, 0.02).
* Losses: `d_cost = bce(D(x), 1).mean() + bce(D(G(z)), 0).mean()` (the sum
  of the two means, not their average) and the non-saturating
  `g_cost = bce(D(G(z)), 1).mean()`.
* Adam for each net: `updates.Adam(lr=lrt, b1=b1, regularizer=
  updates.Regularizer(l2=l2))` with lr 2e-4, b1 0.5 and the class defaults
  b2 0.999, e 1e-8 (epsilon added to sqrt(v_hat), Kingma & Ba's Algorithm 1);
  `l2 = 1e-5` is added to the gradient of EVERY parameter (batch-norm gains
  and biases included) before the moment updates (`g += p * l2`).
* z ~ U(-1, 1)^100 (`np_rng.uniform(-1., 1.)`); batch 128; images scaled to
  [-1, 1] (`/127.5 - 1`); `niter = 25` epochs at the initial rate and
  `niter_decay = 0` epochs of linear decay (so the rate never changes).
* `k = 1` discriminator update per generator update, on separate minibatches.
* Update order: the authors' loop draws a fresh minibatch for every update
  and runs `_train_g` when `n_updates % (k + 1) == 0`, else `_train_d`,
  from n_updates = 0: G, D, G, D, ..., starting with a generator update
  against the untrained discriminator. The engine runs it with
  `train.generator_first_schedule(k)`: generator iteration 0 has no
  discriminator step (a lone G update, no real batch consumed), every later
  iteration k discriminator steps then one generator step, so the two
  sequences are the same update for update (tested in tests/test_dcgan.py).
  `--nogenerator_first` gives the engine's plain order D, G, D, G, ...
  (k D steps in every iteration): the order of the documented 1,000-
  iteration CPU run, which was made before the engine could start with G,
  and of reference trajectories recorded before then.

Where this differs from the authors' loop:

* Data per update. `_train_g(imb, zmb)` receives a minibatch too, but the
  generator's cost does not depend on it: of every k + 1 minibatches of a
  shuffled epoch the authors' discriminator sees k (half of each epoch for
  k = 1), and one of their epochs is ntrain / nbatch updates of the two nets
  together. Here the discriminator consumes a fresh batch per step and the
  generator step none, so `steps_for` counts the authors' minibatches: one
  for the lone G update of iteration 0, k + 1 for every later iteration.
  `--epochs=25` (25 * 468 = 11,700 updates on MNIST at batch 128) is then
  5,851 generator iterations: 5,851 G and 5,850 D updates, where the
  authors' 11,700 updates are 5,850 of each (the run length is rounded up
  to whole iterations; with --nogenerator_first it is 5,850, 5,850 of
  each). The discriminator sees 12.5 passes over the data in both.
* Partial batches. Fuel's iterator yields a final partial minibatch per
  epoch; the data layer drops it.
* Sampling. The authors always run G with batch statistics, also when
  sampling (`_gen`). The engine's sample grids and our metrics call
  `trainer.generate` (batch norm with moving averages, momentum 0.1, our
  choice): each sample is then a function of its own z, which the
  interpolation measurement needs. `summarise` also reports the final
  Frechet distance with batch statistics in batches of 128 (the authors'
  way), restoring the moving averages afterwards.

Deviations forced by this machine, also in docs/dcgan.md:
* Data: the paper trained on LSUN bedrooms, Imagenet-1k and a faces set
  scraped from the web, none of which can be downloaded here. The default
  data set is MNIST resized (bilinear) to the network's resolution, 1
  channel; any data set the data layer knows can be named with --dataset
  (`tfds:<name>` if prepared, `folder:<path>`).
* The documented CPU run is at 32x32 with narrower nets (stated next to its
  numbers).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Dict, List, Optional

import numpy as np
import tensorflow as tf

from paper_gans import cli
from paper_gans import data
from paper_gans import losses
from paper_gans import optimizers
from paper_gans import plots
from paper_gans import runner
from paper_gans import train
from paper_gans.cli import check_positive, paper_field, run_record
from paper_gans.errors import ConfigError
from paper_gans.networks import dcgan as dcgan_networks
from paper_gans.papers import common

NAME = 'dcgan'
COMPILE_MODES = train.COMPILE_MODES


@dataclasses.dataclass(frozen=True)
class DCGANConfig:
  """Radford et al. 2015 as train_uncond_dcgan.py runs it; each default cites
  its source."""
  dataset: str = paper_field(
      'mnist', 'offline substitute for the paper\'s LSUN bedrooms / faces / '
      'Imagenet-1k, none of which can be downloaded here')
  image_size: int = paper_field(64, 'train_uncond_dcgan.py npx = 64',
                                'image height = width: 16, 32, 64, 128, ...')
  batch_size: int = paper_field(128, 'train_uncond_dcgan.py nbatch = 128; '
                                'paper section 4')
  latent_dim: int = paper_field(100, 'train_uncond_dcgan.py nz = 100')
  generator_width: int = paper_field(
      128, 'train_uncond_dcgan.py ngf = 128 (4x4 layer: 8 ngf = 1024)', 'ngf')
  discriminator_width: int = paper_field(
      128, 'train_uncond_dcgan.py ndf = 128', 'ndf')
  learning_rate: float = paper_field(
      2e-4, 'train_uncond_dcgan.py lr = 0.0002; paper section 4')
  adam_beta1: float = paper_field(0.5, 'train_uncond_dcgan.py b1 = 0.5; '
                                  'paper section 4')
  adam_beta2: float = paper_field(0.999, 'lib/updates.py Adam b2=0.999')
  adam_epsilon: float = paper_field(1e-8, 'lib/updates.py Adam e=1e-8')
  adam_beta1_decay: float = paper_field(
      1 - 1e-8, 'lib/updates.py Adam l=1-1e-8, b1_t = b1*l**(t-1): 1 in '
      'float32, where 1 - 1e-8 rounds to 1', 'per-update decay of beta1 in '
      "Adam's first moment, in (0, 1]")
  weight_decay: float = paper_field(
      1e-5, 'train_uncond_dcgan.py l2 = 1e-5 via updates.Regularizer(l2=l2)')
  discriminator_steps: int = paper_field(
      1, 'train_uncond_dcgan.py k = 1 (discrim updates per gen update)')
  generator_first: bool = paper_field(
      True, 'train_uncond_dcgan.py: `if n_updates % (k+1) == 0: _train_g` '
      'from n_updates = 0', 'start with a lone generator update, then k D '
      'updates and one G update per iteration (G, D, G, D, ...), as the '
      "authors' loop; --nogenerator_first: D, G, D, G, ... (the order of the "
      'documented CPU run)')
  epochs: float = paper_field(25.0, 'train_uncond_dcgan.py niter = 25 '
                              '(niter_decay = 0)')
  seed: int = paper_field(0, 'ours; the code seeds lib/rng.py with 42')
  eval_samples: int = paper_field(
      10000, 'ours: samples per checkpoint for the classifier score and '
      'Frechet distance (the ceilings are given at 10,000)')
  interpolation_pairs: int = paper_field(
      16, 'ours: pairs of random z the smoothness is measured between')
  interpolation_frames: int = paper_field(
      10, 'ours: frames per interpolation, endpoints included')
  dtype: str = cli.dtype_field()

  def validate(self) -> None:
    """ConfigError (one line) for any value that cannot work."""
    cli.check_dtype(self.dtype)
    common.check_image_dataset(self.dataset, NAME)
    for name in ('batch_size', 'latent_dim', 'generator_width',
                 'discriminator_width', 'discriminator_steps', 'eval_samples',
                 'interpolation_pairs', 'learning_rate', 'epochs'):
      check_positive(name, getattr(self, name))
    check_positive('weight_decay', self.weight_decay, allow_zero=True)
    check_positive('adam_epsilon', self.adam_epsilon, allow_zero=True)
    cli.check_fraction('adam_beta1_decay', self.adam_beta1_decay)
    for name in ('adam_beta1', 'adam_beta2'):
      if not 0.0 <= getattr(self, name) < 1.0:
        raise ConfigError(f'--{name} must be in [0, 1), '
                          f'got {getattr(self, name)}.')
    if self.interpolation_frames < 3:
      raise ConfigError('--interpolation_frames must be >= 3, got '
                        f'{self.interpolation_frames}.')
    # One line before any network is built (the networks raise the same).
    dcgan_networks.num_strided_layers(self.image_size)


CONFIG_CLASS = DCGANConfig
VALUE_RANGE = (-1.0, 1.0)  # train_uncond_dcgan.py transform: x / 127.5 - 1.
RESIZE_METHOD = 'resize'  # the faces script centre-crops to npx; we resize.
# Reference trajectories (paper_gans/reference.py): 'ci' shrinks the nets and
# the resolution, not the algorithm; 'full' is the faces script's config on
# MNIST. 'ci_width32' is 'ci' with twice the widths, for the float64
# recording: at widths 16 training amplifies float64 rounding past rtol 1e-9
# within 200 updates, at 32 it does not (docs/verification.md).
REFERENCE_PRESETS = {
    'ci': {'image_size': 16, 'generator_width': 16, 'discriminator_width': 16},
    'ci_width32': {'image_size': 16, 'generator_width': 32,
                   'discriminator_width': 32},
    'full': {},
}


def channels_of(config: DCGANConfig) -> int:
  return data.dataset_info(config.dataset)['shape'][-1]


def _adam(variables, config: DCGANConfig, name: str) -> optimizers.Adam:
  return optimizers.Adam(
      variables, learning_rate=config.learning_rate, beta1=config.adam_beta1,
      beta2=config.adam_beta2, epsilon=config.adam_epsilon,
      epsilon_placement=optimizers.ALGORITHM1,
      weight_decay=config.weight_decay, beta1_decay=config.adam_beta1_decay,
      name=name)


def build_trainer(config: DCGANConfig,
                  compile_mode: str = 'xla') -> train.GANTrainer:
  """The networks, optimizers and update rule of train_uncond_dcgan.py."""
  channels = channels_of(config)
  generator = dcgan_networks.DCGANGenerator(
      latent_dim=config.latent_dim, image_size=config.image_size,
      channels=channels, ngf=config.generator_width, seed=config.seed,
      dtype=tf.as_dtype(config.dtype))
  discriminator = dcgan_networks.DCGANDiscriminator(
      image_size=config.image_size, channels=channels,
      ndf=config.discriminator_width, seed=config.seed + 1,
      dtype=tf.as_dtype(config.dtype))
  return train.GANTrainer(
      generator=generator, discriminator=discriminator,
      generator_optimizer=_adam(generator.trainable_variables, config,
                                'generator_optimizer'),
      discriminator_optimizer=_adam(discriminator.trainable_variables, config,
                                    'discriminator_optimizer'),
      # d_cost = bce(p_real, 1).mean() + bce(p_gen, 0).mean().
      discriminator_loss=losses.minimax_discriminator_loss,
      # g_cost = bce(p_gen, 1).mean().
      generator_loss=losses.non_saturating_generator_loss,
      latent_distribution='uniform',
      update_order='alternating',
      critic_steps_schedule=critic_schedule(config),
      # The generator batch of iteration 0, which has no real batch.
      batch_size=config.batch_size,
      compile_mode=compile_mode, seed=config.seed)


def critic_schedule(config: DCGANConfig) -> train.Schedule:
  """Discriminator steps per generator iteration (see 'Update order')."""
  if config.generator_first:
    return train.generator_first_schedule(config.discriminator_steps)
  return train.constant_schedule(config.discriminator_steps)


def dataset_fn(config: DCGANConfig):
  def make(start_batch: int) -> tf.data.Dataset:
    return data.make_dataset(
        config.dataset, config.batch_size, seed=config.seed,
        image_size=config.image_size, resize_method=RESIZE_METHOD,
        value_range=VALUE_RANGE, start_batch=start_batch,
        dtype=tf.as_dtype(config.dtype))
  return make


def minibatches_per_iteration(config: DCGANConfig, iteration: int = 1) -> int:
  """Minibatches the authors' loop draws for generator iteration
  `iteration`: one per update, so k + 1 (one handed to `_train_g`, which
  ignores it, and k to `_train_d`), and 1 for the lone G update of
  iteration 0 when the generator goes first."""
  schedule = critic_schedule(config)
  return schedule(iteration) + 1


def steps_for(config: DCGANConfig, epochs: Optional[float] = None) -> int:
  """Generator iterations in `epochs` of the authors' loop (see docstring)."""
  batches = data.batches_per_epoch(config.dataset, config.batch_size)
  return common.steps_for_epochs(
      epochs if epochs is not None else config.epochs, batches,
      lambda iteration: minibatches_per_iteration(config, iteration))


# --------------------------------------------------------------------------
# The paper's claim, measured: walking the latent space changes samples
# smoothly (section 6.1, Fig. 4).
# --------------------------------------------------------------------------

def interpolation_latents(config: DCGANConfig, seed=None) -> np.ndarray:
  """z along straight lines between random pairs: [pairs, frames, latent].

  Endpoints ~ U(-1, 1), the training distribution; frame j of a pair is
  (1 - t_j) z_a + t_j z_b with t_j = j / (frames - 1).
  """
  seed = tf.constant([config.seed, -3] if seed is None else seed)
  ends = tf.random.stateless_uniform(
      [2, config.interpolation_pairs, config.latent_dim], seed=seed,
      minval=-1.0, maxval=1.0).numpy()  # [2, P, Z]
  t = np.linspace(0.0, 1.0, config.interpolation_frames)[None, :, None]
  return ((1.0 - t) * ends[0][:, None, :]
          + t * ends[1][:, None, :]).astype(np.float32)  # [P, F, Z]


def smoothness_metrics(features: np.ndarray) -> Dict[str, float]:
  """How evenly a walk changes its images, from per-frame features.

  Args:
    features: [pairs, frames, D] features of the frames of each walk.

  Returns:
    max_step_fraction: mean over walks of the largest distance between
      consecutive frames divided by the walk's path length (the sum of those
      distances). 1 / (frames - 1) for a perfectly even walk; near 1 when the
      whole change happens in one step (a jump, as a generator that
      memorised and switches between training images would show).
    path_over_endpoints: mean over walks of the path length divided by the
      distance between the endpoints (1 for a straight walk in feature space).
    endpoint_distance: mean distance between the two endpoints of a walk.
  """
  features = np.asarray(features, np.float64)
  steps = np.linalg.norm(np.diff(features, axis=1), axis=-1)  # [P, F-1]
  path = steps.sum(axis=1)  # [P]
  ends = np.linalg.norm(features[:, -1] - features[:, 0], axis=-1)  # [P]
  tiny = 1e-12
  return {
      'max_step_fraction': float(np.mean(steps.max(axis=1)
                                         / np.maximum(path, tiny))),
      'path_over_endpoints': float(np.mean(path / np.maximum(ends, tiny))),
      'endpoint_distance': float(np.mean(ends)),
  }


def real_feature_pair_distance(evaluator, count: int = 1000,
                               seed: int = 0) -> float:
  """Mean evaluator-feature distance between random pairs of real MNIST
  training digits: the scale an endpoint distance is compared with."""
  images, _ = data.load_mnist('train')
  rng = np.random.default_rng(seed)
  a = rng.choice(len(images), count, replace=False)
  b = rng.choice(len(images), count, replace=False)
  prepare = lambda idx: evaluator.prepare(images[idx], value_range=(0, 255))
  fa, _ = evaluator.features_and_logits(prepare(a))
  fb, _ = evaluator.features_and_logits(prepare(b))
  return float(np.mean(np.linalg.norm(fa - fb, axis=-1)))


def interpolation_metrics(generate: Callable[[np.ndarray], np.ndarray],
                          config: DCGANConfig, evaluator,
                          real_pair_distance: float) -> Dict[str, float]:
  """Smoothness of latent walks in evaluator-feature and pixel space.

  Args:
    generate: z [N, latent] -> images [N, H, W, 1] in [-1, 1], each image a
      function of its own z only.
    config: for the number of walks and frames and the seed.
    evaluator: the MNIST evaluator.
    real_pair_distance: `real_feature_pair_distance(evaluator)`.
  """
  z = interpolation_latents(config)  # [P, F, Z]
  pairs, frames = z.shape[:2]
  images = np.asarray(generate(z.reshape(pairs * frames, -1)))
  features, _ = evaluator.features_and_logits(
      evaluator.prepare(images, value_range=VALUE_RANGE,
                        resize_method=RESIZE_METHOD))
  feature_metrics = smoothness_metrics(features.reshape(pairs, frames, -1))
  pixel_metrics = smoothness_metrics(images.reshape(pairs, frames, -1))
  return {
      'interpolation_max_step_fraction': feature_metrics['max_step_fraction'],
      'interpolation_path_over_endpoints': feature_metrics[
          'path_over_endpoints'],
      'interpolation_endpoint_distance_over_real': (
          feature_metrics['endpoint_distance'] / real_pair_distance),
      'interpolation_pixel_max_step_fraction': pixel_metrics[
          'max_step_fraction'],
      'interpolation_even_step_fraction': 1.0 / (frames - 1),
  }


def save_interpolation_figure(generate, config: DCGANConfig, path: str,
                              title: str) -> None:
  """One row per walk, `interpolation_frames` columns (cf. paper Fig. 4)."""
  z = interpolation_latents(config)
  pairs, frames = z.shape[:2]
  images = np.asarray(generate(z.reshape(pairs * frames, -1)))
  shown = min(pairs, 10)
  plots.save_image_grid(images[:shown * frames], path, rows=shown,
                        value_range=VALUE_RANGE, title=title)


# --------------------------------------------------------------------------
# Measuring a run: per checkpoint, at the end, and the expected-output check.
# --------------------------------------------------------------------------

CHECKPOINT_METRICS_FILE = 'checkpoint_metrics.jsonl'
EXPECTED_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__)))), 'reproductions', 'expected', 'dcgan.json')
_GENERATE_BATCH = 500


def moving_average_generate(trainer: train.GANTrainer):
  """z -> images with batch norm on moving averages (a pure function of z)."""
  def generate(z):
    z = tf.cast(z, trainer.dtype)
    return np.concatenate([
        trainer.generate(z[i:i + _GENERATE_BATCH]).numpy()
        for i in range(0, int(z.shape[0]), _GENERATE_BATCH)])
  return generate


def batch_statistics_generate(trainer: train.GANTrainer, batch_size: int):
  """z -> images as the authors' `_gen` does: batch statistics, batches of
  `batch_size`. The moving averages are restored afterwards, so sampling
  leaves the run's state untouched."""
  def generate(z):
    z = tf.cast(z, trainer.dtype)
    saved = [v.numpy() for v in trainer.generator.variables
             if not v.trainable]
    out = np.concatenate([
        trainer.generate(z[i:i + batch_size], training=True).numpy()
        for i in range(0, int(z.shape[0]), batch_size)])
    for v, value in zip([v for v in trainer.generator.variables
                         if not v.trainable], saved):
      v.assign(value)
    return out
  return generate


def sample_metrics(generate, config: DCGANConfig, evaluator) -> Dict[str, float]:
  """Classifier score and Frechet distance of `eval_samples` fixed-noise
  samples, against the 60,000 MNIST training images."""
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  z = tf.random.stateless_uniform([config.eval_samples, config.latent_dim],
                                  seed=[config.seed, -2], minval=-1.0,
                                  maxval=1.0)
  result = evaluation.evaluate_mnist_samples(
      generate(z), value_range=VALUE_RANGE, evaluator=evaluator,
      resize_method=RESIZE_METHOD)
  return {'classifier_score': float(result['classifier_score']),
          'frechet_distance': float(result['frechet_distance'])}


def ceilings_for(config: DCGANConfig) -> Dict[str, Optional[float]]:
  """Real-data classifier score and Frechet distance (10,000 test images)
  at the run's resolution, from evaluation/weights/real_data_ceilings.json."""
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  mnist = evaluation.load_ceilings()['mnist']
  if config.image_size == 28:
    return {'classifier_score': mnist['classifier_score']['test_10000'],
            'frechet_distance': mnist['frechet_distance']['test_10000']}
  resized = mnist['resized_with_data_layer'].get(str(config.image_size))
  if resized is None:
    return {'classifier_score': None, 'frechet_distance': None}
  return {'classifier_score': resized['classifier_score_test_10000'],
          'frechet_distance': resized['frechet_distance_test_10000']}


def summarise(history: List[Dict], checkpoint_metrics: List[Dict],
              final: Dict[str, float]) -> Dict:
  """The numbers the expected-output check and docs/dcgan.md report.

  Args:
    history: history.jsonl rows.
    checkpoint_metrics: checkpoint_metrics.jsonl rows.
    final: the interpolation metrics and the batch-statistics Frechet
      distance of the final generator.
  """
  measured = [m for m in checkpoint_metrics
              if m.get('frechet_distance') is not None]
  last = measured[-1] if measured else {}
  return {
      'generator_iterations': len(history),
      'checkpoints_evaluated': len(measured),
      'classifier_score_final': last.get('classifier_score'),
      'frechet_distance_final': last.get('frechet_distance'),
      'frechet_distance_best': (min(m['frechet_distance'] for m in measured)
                                if measured else None),
      **final,
  }


def check(metrics: Dict, expected: Dict, full_length: bool) -> Dict[str, Dict]:
  """Compares `metrics` with the thresholds in expected/dcgan.json."""
  return common.check_thresholds(metrics, expected, full_length)


def save_metric_plot(checkpoint_metrics: List[Dict], ceilings: Dict,
                     path: str) -> None:
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  rows = [m for m in checkpoint_metrics if m.get('frechet_distance') is not None]
  if not rows:
    return
  iterations = [m['iteration'] for m in rows]
  fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5), dpi=100)
  ax1.plot(iterations, [m['frechet_distance'] for m in rows], 'o-')
  ax2.plot(iterations, [m['classifier_score'] for m in rows], 'o-')
  for ax, key, label in ((ax1, 'frechet_distance', 'Frechet distance'),
                         (ax2, 'classifier_score', 'classifier score')):
    if ceilings.get(key) is not None:
      ax.axhline(ceilings[key], color='k', ls='--', lw=0.8,
                 label='real data (ceiling)')
      ax.legend(fontsize=8)
    ax.set_xlabel('generator iteration')
    ax.set_title(label, fontsize=9)
  ax1.set_yscale('log')
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def run(config: DCGANConfig, options: runner.RunOptions,
        compile_mode: str = 'xla', run_check: bool = True,
        expected_path: Optional[str] = None) -> int:
  """Trains, measures and checks; returns the process exit code.

  `expected_path`: the expected-output file (`--expected`); default
  EXPECTED_PATH.
  """
  expected_path = expected_path or EXPECTED_PATH
  trainer = build_trainer(config, compile_mode)
  workdir = options.workdir
  metrics_path = os.path.join(workdir, CHECKPOINT_METRICS_FILE)
  evaluator = None
  real_pair_distance = None
  if config.dataset == 'mnist':
    from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
    evaluator = evaluation.MnistEvaluator.load()
    real_pair_distance = real_feature_pair_distance(evaluator)
  generate = moving_average_generate(trainer)

  def on_checkpoint(iteration: int) -> None:
    row = {'iteration': iteration}
    if evaluator is not None:
      row.update(sample_metrics(generate, config, evaluator))
      row.update(interpolation_metrics(generate, config, evaluator,
                                       real_pair_distance))
    common.append_checkpoint_metrics(metrics_path, row)
    if evaluator is not None:
      print(f"[{NAME}] checkpoint {iteration}: classifier score "
            f"{row['classifier_score']:.3f}, Frechet distance "
            f"{row['frechet_distance']:.2f}, interpolation max step fraction "
            f"{row['interpolation_max_step_fraction']:.3f}", flush=True)

  result = runner.run_training(
      trainer, dataset_fn(config), options,
      run_record(NAME, config, options.steps, compile_mode),
      name=NAME, value_range=VALUE_RANGE, on_checkpoint=on_checkpoint,
      loss_curve_median=25)
  history = plots.read_history(result.history_path)
  checkpoint_metrics = plots.read_history(metrics_path)
  iterations = len(history)
  save_interpolation_figure(
      generate, config, os.path.join(workdir, 'interpolation.png'),
      f'DCGAN latent walks after {iterations} generator iterations')
  if evaluator is None:
    print(f'[{NAME}] --dataset {config.dataset}: no evaluator for this data '
          'set; samples, loss curves and interpolations only, no check.')
    return 0
  final = interpolation_metrics(generate, config, evaluator,
                                real_pair_distance)
  final['frechet_distance_final_batch_statistics'] = sample_metrics(
      batch_statistics_generate(trainer, config.batch_size), config,
      evaluator)['frechet_distance']
  ceilings = ceilings_for(config)
  save_metric_plot(checkpoint_metrics, ceilings,
                   os.path.join(workdir, 'sample_metrics.png'))
  metrics = summarise(history, checkpoint_metrics, final)
  metrics['real_data_ceilings'] = ceilings
  full_length = options.steps >= steps_for(config)
  expected = common.load_expected(expected_path)
  results = check(metrics, expected, full_length)
  return common.conclude(NAME, workdir, metrics, results, full_length,
                         expected_path, run_check)
