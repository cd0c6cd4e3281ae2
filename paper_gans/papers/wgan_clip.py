"""Arjovsky, Chintala and Bottou 2017, "Wasserstein GAN" (arXiv:1701.07875).

Faithful to the authors' code, martinarjovsky/WassersteinGAN `main.py`
(read for this module at commit 2cf43ba), whose defaults are the config's:

* RMSprop, lr 5e-5 for both nets, PyTorch's rule (alpha 0.99, eps 1e-8
  added outside the square root, no momentum): `optim.RMSprop(params,
  lr=opt.lrD)` with torch defaults.
* Every critic parameter (batch-norm scales and shifts included:
  `netD.parameters()`) clamped to [-0.01, 0.01] at the START of each critic
  iteration, before its loss is computed, so the generator step sees the
  critic as last updated, not yet clipped.
* 5 critic iterations per generator iteration, but 100 for the first 25
  generator iterations and every 500th (`Diters`; the paper's Algorithm 1
  says n_critic = 5 throughout).
* Batch 64, z ~ N(0, 1) of 100, DCGAN generator and critic with 4x4 kernels,
  ngf = ndf = 64, batch norm, images in [-1, 1], 25 epochs.
* `--generator=mlp` is the code's `--mlp_G` (`models/mlp.py` MLP_G: ReLU MLP
  without batch norm), for the paper's claim that WGAN trains a generator
  without batch norm (section 4.3, Fig. 6).

Deviations forced by this machine, also listed in docs/wgan_clip.md:
* Data: the authors trained on LSUN bedrooms (`--dataset lsun`), which
  cannot be downloaded here. The default data set is MNIST resized to the
  network's resolution (1 channel); any data set the data layer knows can be
  named with `--dataset`.
* Epoch accounting: the authors restart the critic loop at each epoch
  boundary (`while j < Diters and i < len(dataloader)`), which shortens the
  last critic loop of an epoch; here batches stream across epochs and the
  critic always gets its scheduled number of steps. PyTorch's DataLoader also
  yields a final partial batch per epoch; ours drops it.
* Signs: the code's critic minimises mean f(real) - mean f(fake); we use the
  paper's sign (mean f(fake) - mean f(real)), i.e. f -> -f. With the
  symmetric N(0, 0.02) initialisation both give the same distribution of
  Loss_D and Loss_G values, and -Loss_D is the Wasserstein estimate either
  way.
"""

from __future__ import annotations

import dataclasses
import os
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
from paper_gans.cli import check_choice, check_positive, paper_field, run_record
from paper_gans.errors import ConfigError
from paper_gans.networks import wgan as wgan_networks
from paper_gans.papers import common

NAME = 'wgan_clip'
GENERATORS = ('dcgan', 'mlp')
COMPILE_MODES = train.COMPILE_MODES


@dataclasses.dataclass(frozen=True)
class WGANClipConfig:
  """Arjovsky et al. 2017 as main.py runs it; each default cites its source."""
  dataset: str = paper_field(
      'mnist', 'offline substitute for main.py --dataset lsun (bedrooms), '
      'which cannot be downloaded here')
  image_size: int = paper_field(64, 'main.py --imageSize 64',
                                'image height = width; a multiple of 16')
  batch_size: int = paper_field(64, 'main.py --batchSize 64')
  latent_dim: int = paper_field(100, 'main.py --nz 100')
  generator_width: int = paper_field(64, 'main.py --ngf 64', 'ngf')
  critic_width: int = paper_field(64, 'main.py --ndf 64', 'ndf')
  extra_layers: int = paper_field(0, 'main.py --n_extra_layers 0')
  generator: str = paper_field(
      'dcgan', "main.py default DCGAN_G; 'mlp' = --mlp_G (paper Fig. 6)",
      "generator architecture: 'dcgan' or 'mlp' (no batch norm)")
  critic_learning_rate: float = paper_field(5e-5, 'main.py --lrD 0.00005')
  generator_learning_rate: float = paper_field(5e-5, 'main.py --lrG 0.00005')
  rmsprop_alpha: float = paper_field(0.99, 'torch.optim.RMSprop default alpha')
  rmsprop_epsilon: float = paper_field(1e-8, 'torch.optim.RMSprop default eps')
  clip_value: float = paper_field(
      0.01, 'main.py --clamp_lower -0.01 --clamp_upper 0.01')
  clip_timing: str = paper_field(
      'before_critic_step', 'main.py clamps at the start of each critic '
      "iteration; 'after_critic_step' is the other algorithm")
  critic_steps: int = paper_field(5, 'main.py --Diters 5; paper Algorithm 1')
  warmup_critic_steps: int = paper_field(
      100, 'main.py: Diters = 100 if gen_iterations < 25 or '
      'gen_iterations % 500 == 0')
  warmup_generator_iterations: int = paper_field(25, 'main.py (as above)')
  critic_boost_every: int = paper_field(500, 'main.py (as above)')
  epochs: float = paper_field(25.0, 'main.py --niter 25')
  seed: int = paper_field(0, 'ours; main.py draws random.randint(1, 10000)')
  eval_samples: int = paper_field(
      2000, 'ours: samples per checkpoint for the Frechet distance')
  dtype: str = cli.dtype_field()

  def validate(self) -> None:
    """ConfigError (one line) for any value that cannot work."""
    cli.check_dtype(self.dtype)
    common.check_image_dataset(self.dataset, NAME, ' (see wgan_gp.py)')
    for name in ('batch_size', 'latent_dim', 'generator_width',
                 'critic_width', 'critic_steps', 'warmup_critic_steps',
                 'critic_boost_every', 'eval_samples'):
      check_positive(name, getattr(self, name))
    check_positive('extra_layers', self.extra_layers, allow_zero=True)
    check_positive('warmup_generator_iterations',
                   self.warmup_generator_iterations, allow_zero=True)
    for name in ('critic_learning_rate', 'generator_learning_rate',
                 'clip_value', 'rmsprop_epsilon'):
      check_positive(name, getattr(self, name))
    if not 0.0 < self.rmsprop_alpha < 1.0:
      raise ConfigError(f'--rmsprop_alpha must be in (0, 1), '
                        f'got {self.rmsprop_alpha}.')
    if self.image_size < 16 or self.image_size % 16:
      raise ConfigError(
          f'--image_size must be a multiple of 16 (main.py asserts isize % 16 '
          f'== 0), got {self.image_size}.')
    check_choice('generator', self.generator, GENERATORS)
    check_choice('clip_timing', self.clip_timing, train.CLIP_TIMINGS)
    check_positive('epochs', self.epochs)


CONFIG_CLASS = WGANClipConfig
VALUE_RANGE = (-1.0, 1.0)  # main.py: transforms.Normalize((0.5,), (0.5,)).
RESIZE_METHOD = 'resize'  # main.py: transforms.Scale(opt.imageSize).
# Reference trajectories (paper_gans/reference.py): 'ci' shrinks the nets and
# the resolution, not the algorithm; 'full' is main.py's config on MNIST.
REFERENCE_PRESETS = {
    'ci': {'image_size': 16, 'generator_width': 16, 'critic_width': 16},
    'full': {},
}


def critic_schedule(config: WGANClipConfig):
  return train.wgan_critic_schedule(
      critic_steps=config.critic_steps,
      warmup_critic_steps=config.warmup_critic_steps,
      warmup_generator_iterations=config.warmup_generator_iterations,
      every=config.critic_boost_every)


def channels_of(config: WGANClipConfig) -> int:
  return data.dataset_info(config.dataset)['shape'][-1]


def build_trainer(config: WGANClipConfig,
                  compile_mode: str = 'xla') -> train.GANTrainer:
  """The generator, critic, optimizers and update rule of main.py."""
  channels = channels_of(config)
  if config.generator == 'mlp':
    generator = wgan_networks.WGANMLPGenerator(
        latent_dim=config.latent_dim, image_size=config.image_size,
        channels=channels, ngf=config.generator_width, seed=config.seed,
        dtype=tf.as_dtype(config.dtype))
  else:
    generator = wgan_networks.WGANDCGANGenerator(
        latent_dim=config.latent_dim, image_size=config.image_size,
        channels=channels, ngf=config.generator_width,
        n_extra_layers=config.extra_layers, seed=config.seed,
        dtype=tf.as_dtype(config.dtype))
  critic = wgan_networks.WGANDCGANCritic(
      image_size=config.image_size, channels=channels,
      ndf=config.critic_width, n_extra_layers=config.extra_layers,
      seed=config.seed + 1, dtype=tf.as_dtype(config.dtype))
  return train.GANTrainer(
      generator=generator, discriminator=critic,
      generator_optimizer=optimizers.RMSprop(
          generator.trainable_variables,
          learning_rate=config.generator_learning_rate,
          alpha=config.rmsprop_alpha, epsilon=config.rmsprop_epsilon,
          name='generator_optimizer'),
      discriminator_optimizer=optimizers.RMSprop(
          critic.trainable_variables,
          learning_rate=config.critic_learning_rate,
          alpha=config.rmsprop_alpha, epsilon=config.rmsprop_epsilon,
          name='critic_optimizer'),
      discriminator_loss=losses.wasserstein_critic_loss,
      generator_loss=losses.wasserstein_generator_loss,
      latent_distribution='normal',
      update_order='alternating',
      critic_steps_schedule=critic_schedule(config),
      clip_value=config.clip_value, clip_timing=config.clip_timing,
      compile_mode=compile_mode, seed=config.seed)


def dataset_fn(config: WGANClipConfig):
  def make(start_batch: int) -> tf.data.Dataset:
    return data.make_dataset(
        config.dataset, config.batch_size, seed=config.seed,
        image_size=config.image_size, resize_method=RESIZE_METHOD,
        value_range=(-1.0, 1.0), start_batch=start_batch,
        dtype=tf.as_dtype(config.dtype))
  return make


def steps_for(config: WGANClipConfig, epochs: Optional[float] = None) -> int:
  batches = data.batches_per_epoch(config.dataset, config.batch_size)
  return common.steps_for_epochs(epochs if epochs is not None else config.epochs,
                                 batches, critic_schedule(config))


# --------------------------------------------------------------------------
# The paper's claims, measured.
# --------------------------------------------------------------------------

def wasserstein_estimates(history: List[Dict]) -> np.ndarray:
  """-Loss_D of each generator iteration's last critic step (main.py prints
  errD from the last critic iteration), i.e. mean f(real) - mean f(fake)."""
  return -np.array([h['discriminator_loss'][-1] for h in history], np.float64)


def clipped_fraction(critic: tf.Module, clip_value: float,
                     tolerance: float = 0.01) -> float:
  """Fraction of critic weights within `tolerance * c` of +-c."""
  weights = np.concatenate([v.numpy().ravel()
                            for v in critic.trainable_variables])
  return float(np.mean(np.abs(weights) >= clip_value * (1.0 - tolerance)))


def save_weight_histogram(critic: tf.Module, clip_value: float, path: str,
                          title: str) -> None:
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  weights = np.concatenate([v.numpy().ravel()
                            for v in critic.trainable_variables])
  fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
  ax.hist(weights, bins=101, range=(-1.2 * clip_value, 1.2 * clip_value))
  ax.set_yscale('log')
  ax.set_xlabel('critic weight')
  ax.set_title(title, fontsize=9)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def spearman_correlation(a, b) -> float:
  """Spearman's rank correlation (average ranks for ties), in NumPy."""
  def ranks(x):
    x = np.asarray(x, np.float64)
    order = np.argsort(x, kind='mergesort')
    r = np.empty(len(x))
    r[order] = np.arange(len(x), dtype=np.float64)
    for value in np.unique(x):  # average the ranks of ties
      tied = x == value
      r[tied] = r[tied].mean()
    return r
  ra, rb = ranks(a), ranks(b)
  if np.std(ra) == 0 or np.std(rb) == 0:
    return float('nan')
  return float(np.corrcoef(ra, rb)[0, 1])


# --------------------------------------------------------------------------
# Measuring a run: per checkpoint, at the end, and the expected-output check.
# --------------------------------------------------------------------------

CHECKPOINT_METRICS_FILE = 'checkpoint_metrics.jsonl'
EXPECTED_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__)))), 'reproductions', 'expected', 'wgan_clip.json')


def estimate_window(config: WGANClipConfig) -> int:
  """Generator iterations the Wasserstein estimate is median-filtered over."""
  del config
  return 51


def checkpoint_frechet_distance(trainer: train.GANTrainer,
                                config: WGANClipConfig, evaluator) -> float:
  """Frechet distance of `eval_samples` samples (fixed noise) to MNIST train."""
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  z = trainer.sample_latent(tf.constant([config.seed, -2]), config.eval_samples)
  images = np.concatenate([
      trainer.generate(z[i:i + 500]).numpy()
      for i in range(0, config.eval_samples, 500)])
  result = evaluation.evaluate_mnist_samples(images, value_range=(-1.0, 1.0),
                                             evaluator=evaluator)
  return float(result['frechet_distance'])


def summarise(history: List[Dict], checkpoint_metrics: List[Dict],
              trainer: train.GANTrainer, config: WGANClipConfig) -> Dict:
  """The numbers the expected-output check and docs/wgan_clip.md report."""
  estimate = plots.median_filter(wasserstein_estimates(history),
                                 estimate_window(config))
  tail = estimate[-estimate_window(config):]
  with_fd = [m for m in checkpoint_metrics
             if m.get('frechet_distance') is not None]
  correlation = (spearman_correlation(
      [m['wasserstein_estimate'] for m in with_fd],
      [m['frechet_distance'] for m in with_fd])
                 if len(with_fd) >= 3 else float('nan'))
  return {
      'generator_iterations': len(history),
      'wasserstein_estimate_peak': float(np.max(estimate)) if len(estimate) else None,
      'wasserstein_estimate_final': float(np.median(tail)) if len(tail) else None,
      'wasserstein_estimate_final_over_peak': (
          float(np.median(tail) / np.max(estimate))
          if len(estimate) and np.max(estimate) > 0 else None),
      'frechet_distance_final': with_fd[-1]['frechet_distance'] if with_fd else None,
      'frechet_distance_first': with_fd[0]['frechet_distance'] if with_fd else None,
      # None, not NaN, where undefined: metrics.json stays strict JSON.
      'spearman_wasserstein_vs_frechet': (
          None if np.isnan(correlation) else correlation),
      'checkpoints_evaluated': len(with_fd),
      'critic_weights_at_clip_boundary': clipped_fraction(
          trainer.discriminator, config.clip_value),
  }


def check(metrics: Dict, expected: Dict, full_length: bool) -> Dict[str, Dict]:
  """Compares `metrics` with the thresholds in expected/wgan_clip.json."""
  return common.check_thresholds(metrics, expected, full_length)


def save_estimate_plot(history, checkpoint_metrics, config, path) -> None:
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  estimate = wasserstein_estimates(history)
  iterations = np.arange(len(estimate))
  fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
  ax.plot(iterations, estimate, color='0.8', lw=0.5, label='-Loss_D')
  ax.plot(iterations, plots.median_filter(estimate, estimate_window(config)),
          color='tab:blue', label=f'median filter ({estimate_window(config)})')
  ax.set_xlabel('generator iteration')
  ax.set_ylabel('Wasserstein estimate')
  with_fd = [m for m in checkpoint_metrics
             if m.get('frechet_distance') is not None]
  if with_fd:
    ax2 = ax.twinx()
    ax2.plot([m['iteration'] for m in with_fd],
             [m['frechet_distance'] for m in with_fd], 'o-',
             color='tab:red', label='Frechet distance (evaluator)')
    ax2.set_ylabel('Frechet distance', color='tab:red')
  ax.legend(loc='upper right', fontsize=8)
  ax.set_title('WGAN (weight clipping): critic estimate and sample quality',
               fontsize=9)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def _read_jsonl(path: str, below: Optional[int] = None) -> List[Dict]:
  rows = plots.read_history(path)
  if below is not None:
    rows = [r for r in rows if r['iteration'] <= below]
  return rows


def run(config: WGANClipConfig, options: runner.RunOptions,
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
  if config.dataset == 'mnist':
    from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
    evaluator = evaluation.MnistEvaluator.load()

  def on_checkpoint(iteration: int) -> None:
    history = plots.read_history(os.path.join(workdir, runner.HISTORY_FILE))
    estimate = wasserstein_estimates(history)
    window = estimate[-estimate_window(config):]
    row = {'iteration': iteration,
           'wasserstein_estimate': float(np.median(window)),
           'frechet_distance': (checkpoint_frechet_distance(
               trainer, config, evaluator) if evaluator else None)}
    common.append_checkpoint_metrics(metrics_path, row)
    print(f"[{NAME}] checkpoint {iteration}: Wasserstein estimate "
          f"{row['wasserstein_estimate']:.5f}"
          + (f", Frechet distance {row['frechet_distance']:.3f}"
             if row['frechet_distance'] is not None else ''), flush=True)

  result = runner.run_training(
      trainer, dataset_fn(config), options,
      run_record(NAME, config, options.steps, compile_mode),
      name=NAME, value_range=(-1.0, 1.0), on_checkpoint=on_checkpoint,
      loss_curve_median=estimate_window(config))
  history = plots.read_history(result.history_path)
  checkpoint_metrics = _read_jsonl(metrics_path)
  save_weight_histogram(
      trainer.discriminator, config.clip_value,
      os.path.join(workdir, 'critic_weight_histogram.png'),
      f'critic weights after {len(history)} generator iterations '
      f'(clip {config.clip_value})')
  save_estimate_plot(history, checkpoint_metrics, config,
                     os.path.join(workdir, 'wasserstein_estimate.png'))
  metrics = summarise(history, checkpoint_metrics, trainer, config)
  full_length = options.steps >= steps_for(config)
  expected = common.load_expected(expected_path)
  results = check(metrics, expected, full_length)
  return common.conclude(NAME, workdir, metrics, results, full_length,
                         expected_path, run_check)
