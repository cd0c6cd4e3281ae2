"""Runs a configured `GANTrainer` in a work directory: resumable and observable.

A work directory holds one run:

    config.json        the full configuration (written before training)
    status.json        {"finished": bool, "iteration": ..., ...}
    history.jsonl      one line per generator iteration with every loss
    checkpoints/       tf.train.CheckpointManager files
    samples/*.png      sample grids on fixed noise, every `sample_every`
    loss_curves.png    at the end
    tensorboard/       summaries of every logged loss
    metrics.json       written by the reproduction's expected-output check

Losses stay on the device until a log step, when the pending ones are copied
to the host in one go, checked for NaN/Inf and written out. A checkpoint is
only ever written right after such a check, so the newest checkpoint is
always from before any non-finite loss.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from paper_gans import plots
from paper_gans.errors import ConfigError

CONFIG_FILE = 'config.json'
STATUS_FILE = 'status.json'
HISTORY_FILE = 'history.jsonl'
CHECKPOINT_DIR = 'checkpoints'

# Config keys that may differ when a stopped run is resumed: they change how
# long it runs or how often it reports, not what it computes. 'iterations'
# is a run length like 'epochs' (WGAN-GP's ITERS: only `steps_for` reads it).
RESUMABLE_KEYS = ('steps', 'epochs', 'iterations', 'log_every',
                  'sample_every', 'checkpoint_every', 'keep_checkpoints',
                  'overwrite', 'workdir')


class NonFiniteLossError(RuntimeError):
  """A loss became NaN or Inf; the message names the iteration and loss."""


@dataclasses.dataclass(frozen=True)
class RunOptions:
  """How long a run lasts and how often it reports; not part of the paper."""
  workdir: str
  steps: int  # generator iterations in total
  log_every: int = 50
  sample_every: int = 500
  checkpoint_every: int = 500
  keep_checkpoints: int = 3
  overwrite: bool = False
  verbose: bool = True

  def validate(self) -> None:
    if self.steps < 1:
      raise ConfigError(f'--steps must be >= 1, got {self.steps}.')
    for name in ('log_every', 'sample_every', 'checkpoint_every',
                 'keep_checkpoints'):
      if getattr(self, name) < 1:
        raise ConfigError(f'--{name} must be >= 1, got {getattr(self, name)}.')


# --------------------------------------------------------------------------
# The work directory.
# --------------------------------------------------------------------------

def _read_json(path: str):
  with open(path, encoding='utf-8') as f:
    return json.load(f)


def write_json(path: str, value) -> None:
  """Writes JSON atomically (temp file + rename), so a kill never truncates."""
  tmp = path + '.tmp'
  with open(tmp, 'w', encoding='utf-8') as f:
    json.dump(value, f, indent=2, sort_keys=True)
    f.write('\n')
  os.replace(tmp, path)


def _comparable(config: Dict) -> Dict:
  return {k: v for k, v in config.items() if k not in RESUMABLE_KEYS}


def _through_config_class(record: Dict, config_class: Optional[type]) -> Dict:
  """`record` with its config fields as `config_class` builds them.

  A config class may map old values to today's (the conditional DCGAN's
  deprecated preset 'seed' becomes 'znxlwm'), so a stored config.json is
  compared as it would be built. Only the fields the record holds are
  taken; one missing from an older record stays missing, and a record the
  class cannot build is compared as it is.
  """
  if config_class is None or not dataclasses.is_dataclass(config_class):
    return record
  names = {f.name for f in dataclasses.fields(config_class)}
  try:
    built = dataclasses.asdict(config_class(
        **{k: v for k, v in record.items() if k in names}))
  except (TypeError, ValueError, ConfigError):
    return record
  return {k: built[k] if k in names else v for k, v in record.items()}


def prepare_workdir(workdir: str, config: Dict, overwrite: bool,
                    config_class: Optional[type] = None) -> str:
  """Checks and prepares `workdir` before anything is built or trained.

  Nothing on disk is deleted unless `overwrite` is set, and even then only
  a directory that holds a paper_gans run.

  Args:
    workdir: the run's directory.
    config: what config.json will record (`cli.run_record`).
    overwrite: replace a finished or differently configured run. A finished
      run asked, with the same configuration, for more steps than it ran is
      continued without it.
    config_class: the paper's config dataclass. The stored and the new
      config are both built through it before they are compared, so a run
      recorded under a renamed value (a deprecated preset name) resumes.

  Returns:
    'new' for a fresh run or 'resume' for an unfinished run with the same
    configuration, or a finished one with the same configuration asked to
    run longer.

  Raises:
    ConfigError: an unwritable directory, a finished run not asked to run
      longer (unless `overwrite`), a run with a different configuration (unless
      `overwrite`), or a non-empty directory that is not a run.
  """
  config_path = os.path.join(workdir, CONFIG_FILE)
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise ConfigError(f"workdir '{workdir}' exists and is not a directory.")
  if os.path.isdir(workdir) and os.listdir(workdir):
    if not os.path.exists(config_path):
      raise ConfigError(
          f"workdir '{workdir}' is not empty and holds no paper_gans run; "
          'choose another --workdir.')
    if overwrite:
      shutil.rmtree(workdir)
    else:
      status_path = os.path.join(workdir, STATUS_FILE)
      status = _read_json(status_path) if os.path.exists(status_path) else {}
      old = _comparable(_through_config_class(_read_json(config_path),
                                              config_class))
      new = _comparable(_through_config_class(json.loads(json.dumps(config)),
                                              config_class))
      if status.get('finished'):
        # A finished run is continued, never replaced, by the same
        # configuration asked to run longer: its last checkpoint is the
        # state at its last iteration, and training resumes from there.
        done = status.get('iteration')
        if not (old == new and isinstance(done, int)
                and config.get('steps', 0) > done):
          raise ConfigError(
              f"workdir '{workdir}' holds a finished run; pass --overwrite to "
              'replace it, the same flags with a larger --steps (or run '
              'length) to continue it, or choose another --workdir.')
      if old != new:
        key = sorted(k for k in set(old) | set(new)
                     if old.get(k) != new.get(k))[0]
        raise ConfigError(
            f"workdir '{workdir}' holds an unfinished run with {key}="
            f'{old.get(key)!r}, not {new.get(key)!r}; pass --overwrite to '
            'start again or choose another --workdir.')
      _check_writable(workdir)
      return 'resume'
  try:
    os.makedirs(workdir, exist_ok=True)
  except OSError as e:
    raise ConfigError(f"cannot create workdir '{workdir}': "
                      f'{e.strerror or e}.') from None
  _check_writable(workdir)
  return 'new'


def _check_writable(workdir: str) -> None:
  probe = os.path.join(workdir, '.write_test')
  try:
    with open(probe, 'w', encoding='utf-8') as f:
      f.write('ok')
    os.remove(probe)
  except OSError as e:
    raise ConfigError(f"workdir '{workdir}' is not writable: "
                      f'{e.strerror or e}.') from None


def _truncate_history(path: str, iteration: int) -> None:
  """Drops history lines at or after `iteration` (they will be replayed)."""
  if not os.path.exists(path):
    return
  kept = [h for h in plots.read_history(path) if h['iteration'] < iteration]
  tmp = path + '.tmp'
  with open(tmp, 'w', encoding='utf-8') as f:
    for h in kept:
      f.write(json.dumps(h) + '\n')
  os.replace(tmp, path)


def _format_seconds(seconds: float) -> str:
  seconds = int(round(seconds))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f'{h}h{m:02d}m{s:02d}s' if h else f'{m}m{s:02d}s'


# --------------------------------------------------------------------------
# The loop.
# --------------------------------------------------------------------------

@dataclasses.dataclass
class RunResult:
  iterations: int
  seconds: float
  history_path: str
  workdir: str


class _SampleGrid:
  """Fixed noise (and labels) for sample grids, identical across resumes."""

  def __init__(self, trainer, rows: int, value_range):
    self.trainer = trainer
    self.value_range = value_range
    self.is_toy = len(trainer.generator.output_shape) == 1
    num_classes = trainer.num_classes
    if num_classes:
      # One row per class, one column per fixed noise vector.
      self.rows = num_classes
      z = trainer.sample_latent(tf.constant([trainer.seed, -1]), num_classes)
      self.z = tf.tile(z, [num_classes, 1])  # [C*C, latent]
      self.labels = tf.repeat(tf.range(num_classes), num_classes)
      self.row_labels = [str(c) for c in range(num_classes)]
    else:
      self.rows = rows
      count = 1000 if self.is_toy else rows * rows
      self.z = trainer.sample_latent(tf.constant([trainer.seed, -1]), count)
      self.labels = None
      self.row_labels = None

  def save(self, path: str, title: str, real: Optional[np.ndarray] = None):
    if getattr(self.trainer, 'fixed_generator_noise_stddev', None) is not None:
      self._save_fixed(path, title, real)
      return
    samples = self.trainer.generate(self.z, self.labels)
    if self.is_toy:
      plots.save_toy_samples(samples.numpy(), real if real is not None
                             else np.zeros([0, 2]), path, title=title)
    else:
      plots.save_image_grid(samples.numpy(), path, self.rows,
                            value_range=self.value_range, title=title,
                            row_labels=self.row_labels)

  def _save_fixed(self, path: str, title: str, real: Optional[np.ndarray]):
    """A fixed generator (real + noise) has no network output to show: the
    toys draw the real reference points plus the trainer's noise (always
    the same draw); image runs, which get no reference batch here, save no
    grid."""
    if not self.is_toy or real is None:
      return
    fakes = self.trainer.fixed_generator_fakes(
        real, tf.constant([self.trainer.seed, -1])).numpy()
    stddev = self.trainer.fixed_generator_noise_stddev
    plots.save_toy_samples(fakes, real, path,
                           title=f'{title} (fixed generator: real + '
                           f'{stddev:g} N(0, 1))')


def run_training(trainer, make_dataset: Callable[[int], tf.data.Dataset],
                 options: RunOptions, config: Dict, *, name: str,
                 value_range: Sequence[float] = (-1.0, 1.0),
                 on_checkpoint: Optional[Callable[[int], None]] = None,
                 toy_reference: Optional[np.ndarray] = None,
                 loss_curve_median: int = 1) -> RunResult:
  """Trains until `options.steps` generator iterations, resuming if possible.

  Args:
    trainer: a `paper_gans.train.GANTrainer`.
    make_dataset: `start_batch -> tf.data.Dataset` of (images, labels)
      batches, deterministic, starting at that batch index.
    options: run length and reporting.
    config: the full configuration, written to config.json.
    name: short name for progress lines and titles.
    value_range: the data range, for pictures.
    on_checkpoint: called with the iteration after each checkpoint.
    toy_reference: real 2-D samples to draw under toy sample plots.
    loss_curve_median: median-filter width for loss_curves.png.

  Returns:
    A RunResult.

  Raises:
    NonFiniteLossError: a loss became NaN or Inf; the last checkpoint holds
      the state before it.
  """
  workdir = options.workdir
  os.makedirs(workdir, exist_ok=True)
  write_json(os.path.join(workdir, CONFIG_FILE), config)
  status_path = os.path.join(workdir, STATUS_FILE)
  history_path = os.path.join(workdir, HISTORY_FILE)
  samples_dir = os.path.join(workdir, 'samples')
  os.makedirs(samples_dir, exist_ok=True)

  checkpoint = tf.train.Checkpoint(trainer=trainer)
  manager = tf.train.CheckpointManager(
      checkpoint, os.path.join(workdir, CHECKPOINT_DIR),
      max_to_keep=options.keep_checkpoints)
  if manager.latest_checkpoint:
    checkpoint.restore(manager.latest_checkpoint).assert_consumed()
    _log(options, f'[{name}] resumed from {manager.latest_checkpoint} at '
         f'iteration {int(trainer.iteration.numpy())}')
  start = int(trainer.iteration.numpy())
  _truncate_history(history_path, start)
  write_json(status_path, {'finished': False, 'iteration': start})

  iterator = iter(make_dataset(int(trainer.batches_consumed.numpy())))
  grid = _SampleGrid(trainer, rows=8, value_range=value_range)
  writer = tf.summary.create_file_writer(os.path.join(workdir, 'tensorboard'))
  pending: List[Tuple[int, int, Dict[str, tf.Tensor]]] = []
  run_start = window_start = time.time()
  window_iterations = 0
  last_line: Dict = {}
  # The newest critic loss for the progress line: an iteration without a
  # critic step (DCGAN's first) has none of its own.
  last_critic_loss: Optional[float] = None

  def flush() -> None:
    nonlocal last_line, last_critic_loss
    if not pending:
      return
    fetched = [(i, k, {n: t.numpy() for n, t in losses.items()})
               for i, k, losses in pending]
    pending.clear()
    # TensorBoard gets one point per loss per flush (the mean over the
    # window of each iteration's last value): one eager summary op per loss
    # per iteration cost more host time than a GPU toy step
    # (docs/performance.md). history.jsonl keeps every value.
    window: Dict[str, List[float]] = {}
    with open(history_path, 'a', encoding='utf-8') as f:
      for iteration, k, values in fetched:
        line = {'iteration': iteration, 'critic_steps': k}
        for loss_name, value in values.items():
          if loss_name == 'gradient_penalty' and not trainer.gradient_penalty_weight:
            continue
          line[loss_name] = (float(value) if np.ndim(value) == 0
                             else [float(v) for v in value])
        f.write(json.dumps(line) + '\n')
        for loss_name, value in line.items():
          if loss_name in ('iteration', 'critic_steps'):
            continue
          arr = np.atleast_1d(np.asarray(value, np.float64))
          if not arr.size:
            continue  # no critic step in this iteration
          if not np.all(np.isfinite(arr)):
            f.flush()
            bad = int(np.flatnonzero(~np.isfinite(arr))[0])
            where = f' (critic step {bad})' if loss_name != 'generator_loss' else ''
            last = manager.latest_checkpoint or 'none (no checkpoint yet)'
            raise NonFiniteLossError(
                f'{loss_name} is {arr[bad]} at generator iteration '
                f'{iteration}{where}; stopped. Last good checkpoint: {last}.')
          window.setdefault(loss_name, []).append(float(arr[-1]))
        last_line = line
        if line['discriminator_loss']:
          last_critic_loss = line['discriminator_loss'][-1]
    with writer.as_default():
      for loss_name, values in window.items():
        tf.summary.scalar(loss_name, float(np.mean(values)),
                          step=last_line['iteration'])

  for iteration in range(start, options.steps):
    k = trainer.batches_needed(iteration)
    batches = [next(iterator) for _ in range(k)]
    images = [b[0] for b in batches]  # k x [B, ...]
    labels = [b[1] for b in batches]  # k x [B]
    losses = trainer.train_iteration(images, labels)
    pending.append((iteration, k, losses))
    done = iteration + 1
    window_iterations += 1
    finished = done == options.steps
    if done % options.log_every == 0 or finished:
      flush()
      now = time.time()
      rate = window_iterations / max(now - window_start, 1e-9)
      eta = (options.steps - done) / rate
      window_start, window_iterations = now, 0
      critic = ('-' if last_critic_loss is None
                else f'{last_critic_loss:.5f}')
      _log(options,
           f'[{name}] it {done}/{options.steps} ({100.0 * done / options.steps:.1f}%)'
           f' | {rate:.2f} it/s | ETA {_format_seconds(eta)}'
           f" | D {critic} G {last_line['generator_loss']:.5f}")
    if done % options.sample_every == 0 or finished:
      flush()
      grid.save(os.path.join(samples_dir, f'iteration_{done:07d}.png'),
                f'{name}, generator iteration {done}', real=toy_reference)
    if done % options.checkpoint_every == 0 or finished:
      flush()  # Never checkpoint a state whose losses were not checked.
      manager.save(checkpoint_number=done)
      write_json(status_path, {'finished': False, 'iteration': done})
      if on_checkpoint is not None:
        on_checkpoint(done)

  flush()
  writer.flush()
  seconds = time.time() - run_start
  # An iteration without a critic step has no critic loss to draw.
  plots.save_loss_curves([h for h in plots.read_history(history_path)
                          if h['discriminator_loss']],
                         os.path.join(workdir, 'loss_curves.png'),
                         title=name, median_width=loss_curve_median)
  write_json(status_path, {
      'finished': True, 'iteration': int(trainer.iteration.numpy()),
      'seconds_this_sitting': round(seconds, 1),
      'latest_checkpoint': manager.latest_checkpoint,
  })
  return RunResult(int(trainer.iteration.numpy()), seconds, history_path,
                   workdir)


def _log(options: RunOptions, message: str) -> None:
  if options.verbose:
    print(message, flush=True)
