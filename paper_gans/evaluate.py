"""Evaluates a trained run: sample-quality metrics next to real-data ceilings.

    python -m paper_gans.evaluate --workdir runs/wgan_clip [--num_samples 10000]
        [--export_samples N [--export_path samples.npz] [--overwrite]]
        [--checkpoint PATH] [--compile xla|graph|eager]

The run is rebuilt from `<workdir>/config.json` (see `paper_gans.runner` for
the work-directory layout and `paper_gans.cli.run_record` for the record):
`paper` names a module of `paper_gans.papers`, whose `CONFIG_CLASS` is built
from the recorded fields and whose `build_trainer(config, compile_mode)`
gives the networks; the latest checkpoint of `<workdir>/checkpoints` (or
`--checkpoint`) is restored into them, as `runner.run_training` does.

Samples come from fixed noise, `trainer.sample_latent([config.seed, -3], n)`
(the runner's sample grids use -1, the per-checkpoint metrics of the paper
modules -2), so two evaluations of one checkpoint give the same samples. A
conditional generator (`trainer.num_classes`) is asked for the classes
0, 1, ..., C-1, 0, 1, ... in turn, so each class gets n // C or n // C + 1
samples. The exported samples are the first N of the same noise.

What is measured depends on `config.dataset`:

* 'mnist': classifier score, Frechet distance to the 60,000 training
  images and, for conditional generators, class accuracy, with the shipped
  evaluator (`evaluation.evaluate_mnist_samples`), next to the real-data
  ceiling of `weights/real_data_ceilings.json` at the same resolution (28,
  32 or 64 px) and sample count (10,000, or the 1,000-image test blocks)
  where one exists; which ceiling was used is written out.
* '8gaussians', '25gaussians': modes covered and high-quality fraction
  (`evaluation.toy_mode_metrics`), next to the same metrics of 2,500 true
  samples; 'swissroll' has no modes, so only the sample count is written.
* anything else: the sample count and whether every sample is finite, and a
  note that no evaluator exists for that data set.

The result goes to `<workdir>/metrics.json` under the key "evaluation",
merged into what is there (a reproduction's expected-output check writes
its own keys to that file; they are kept). A later evaluation replaces the
"evaluation" key. Bad input gives one line `error: ...` on stderr and exit
status 2 before any network is built.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import os
import pkgutil
import shlex
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from absl import app
from absl import flags

from paper_gans import cli
from paper_gans.errors import ConfigError

# TensorFlow (imported by the paper modules, the runner and the evaluator) is
# only imported once the cheap checks of the command line have passed, so
# bad input is reported in under a second (0.4-0.5 s measured on the busy
# 2-core CPU; `import tensorflow` alone took 8.7-9.2 s there).

METRICS_FILE = 'metrics.json'
EVALUATION_KEY = 'evaluation'
# sample_latent seed [config.seed, NOISE_STREAM]: -1 is the runner's sample
# grid, -2 the paper modules' per-checkpoint Frechet distance.
NOISE_STREAM = -3
# Samples generated per generator call, as the paper modules' per-checkpoint
# metrics do; bounds memory, not results (batch norm uses moving statistics).
GENERATION_BATCH = 500
# data.TOY_DATASETS, repeated: importing paper_gans.data imports TensorFlow.
TOY_DATASETS = ('8gaussians', '25gaussians', 'swissroll')
MNIST_DATASETS = ('mnist',)
# What data.make_dataset does when a paper does not say (its default).
DEFAULT_RESIZE_METHOD = 'resize'
CEILING_FILE = 'paper_gans/evaluation/weights/real_data_ceilings.json'


# --------------------------------------------------------------------------
# Reading the run (cheap: no TensorFlow).
# --------------------------------------------------------------------------

def read_run_record(workdir: str) -> Dict[str, Any]:
  """The parsed `<workdir>/config.json`; ConfigError if it cannot be used."""
  if not os.path.exists(workdir):
    raise ConfigError(f"--workdir '{workdir}' does not exist.")
  if not os.path.isdir(workdir):
    raise ConfigError(f"--workdir '{workdir}' is not a directory.")
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    raise ConfigError(f"'{workdir}' holds no config.json, so it is not a "
                      'paper_gans run directory.')
  try:
    with open(path, encoding='utf-8') as f:
      record = json.load(f)
  except (OSError, ValueError) as e:
    raise ConfigError(f"cannot read '{path}': {e}.") from None
  if not isinstance(record, dict) or not isinstance(record.get('paper'), str):
    raise ConfigError(f"'{path}' does not name its paper (no \"paper\" key); "
                      'it was not written by a paper_gans reproduction.')
  return record


def known_papers() -> List[str]:
  """Names of the paper modules in paper_gans.papers."""
  from paper_gans import papers  # pylint: disable=g-import-not-at-top
  return sorted(m.name for m in pkgutil.iter_modules(papers.__path__)
                if m.name != 'common' and not m.name.startswith('_'))


def check_paper_name(name: str) -> None:
  """ConfigError unless `name` is a paper module (without importing it)."""
  known = known_papers()
  if name not in known:
    raise ConfigError(f"config.json names paper '{name}', which is not a "
                      f"module of paper_gans.papers (known: "
                      f"{', '.join(known) or 'none'}).")


def load_paper(name: str):
  """The paper module `paper_gans.papers.<name>` (imports TensorFlow)."""
  check_paper_name(name)
  paper = importlib.import_module(f'paper_gans.papers.{name}')
  for attribute in ('NAME', 'CONFIG_CLASS', 'build_trainer'):
    if not hasattr(paper, attribute):
      raise ConfigError(f"paper module '{name}' has no {attribute}; it cannot "
                        'be evaluated.')
  return paper


def config_from_record(paper, record: Dict[str, Any]):
  """(config, names of fields missing from the record, which took defaults).

  Only the dataclass's fields are taken from the record; 'paper', 'steps'
  and 'compile' are the runner's.
  """
  fields = dataclasses.fields(paper.CONFIG_CLASS)
  values = {f.name: record[f.name] for f in fields if f.name in record}
  missing = [f.name for f in fields if f.name not in record]
  try:
    config = paper.CONFIG_CLASS(**values)
  except TypeError as e:
    raise ConfigError(f'config.json does not fit {paper.NAME}: {e}.') from None
  if hasattr(config, 'validate'):
    config.validate()
  return config, missing


def _no_checkpoint(directory: str) -> ConfigError:
  return ConfigError(f"no checkpoint in '{directory}'; the runner writes one "
                     'every --checkpoint_every iterations and at the end of '
                     'training.')


def _not_a_checkpoint(checkpoint: str) -> ConfigError:
  return ConfigError(f"--checkpoint '{checkpoint}' is not a checkpoint (no "
                     f"'{checkpoint}.index'); give a prefix such as "
                     'runs/<name>/checkpoints/ckpt-500.')


def checkpoint_state_exists(workdir: str) -> bool:
  """Whether the CheckpointManager's state file is there (cheap pre-check)."""
  return os.path.exists(os.path.join(workdir, 'checkpoints', 'checkpoint'))


def check_checkpoint(workdir: str, checkpoint: Optional[str] = None) -> None:
  """ConfigError unless there is a checkpoint to restore (no TensorFlow).

  `checkpoint` as in `find_checkpoint`; None means the latest in workdir.
  """
  if checkpoint is None and not checkpoint_state_exists(workdir):
    raise _no_checkpoint(os.path.join(workdir, 'checkpoints'))
  if checkpoint is not None and not (os.path.isdir(checkpoint) or
                                     os.path.exists(checkpoint + '.index')):
    raise _not_a_checkpoint(checkpoint)


def find_checkpoint(workdir: str, checkpoint: Optional[str] = None) -> str:
  """The checkpoint prefix to restore: `checkpoint`, or the latest in workdir.

  `checkpoint` may be a prefix (`.../checkpoints/ckpt-500`) or a directory
  (its latest checkpoint is taken).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if checkpoint is None:
    directory = os.path.join(workdir, 'checkpoints')
    latest = tf.train.latest_checkpoint(directory)
    if latest is None:
      raise _no_checkpoint(directory)
    return latest
  if os.path.isdir(checkpoint):
    latest = tf.train.latest_checkpoint(checkpoint)
    if latest is None:
      raise ConfigError(f"--checkpoint '{checkpoint}' is a directory without "
                        'a checkpoint.')
    return latest
  if not os.path.exists(checkpoint + '.index'):
    raise _not_a_checkpoint(checkpoint)
  return checkpoint


def value_range_of(paper, config) -> Optional[Tuple[float, float]]:
  """The generator's output range: the paper's `value_range(config)` or
  VALUE_RANGE.

  A paper whose presets differ in range (cdcgan_mnist: [-1, 1] for the
  znxlwm preset, [0, 1] for newmu) defines `value_range(config)`, which wins.
  Otherwise VALUE_RANGE is a (low, high) pair, None (2-D points, no range),
  or a dict {'toy': ..., 'image': ...} for papers with both kinds of data
  (wgan_gp).
  """
  if callable(getattr(paper, 'value_range', None)):
    value_range = paper.value_range(config)
  else:
    value_range = getattr(paper, 'VALUE_RANGE', None)
  if isinstance(value_range, dict):
    kind = 'toy' if config.dataset in TOY_DATASETS else 'image'
    if kind not in value_range:
      raise ConfigError(f"paper module '{paper.NAME}' has no VALUE_RANGE for "
                        f"{kind} data.")
    value_range = value_range[kind]
  if value_range is None:
    return None
  if len(value_range) != 2 or not value_range[0] < value_range[1]:
    raise ConfigError(f"paper module '{paper.NAME}' has VALUE_RANGE "
                      f'{value_range!r}; expected (low, high) or None.')
  return float(value_range[0]), float(value_range[1])


def resize_method_of(paper, config) -> Tuple[str, str]:
  """(how the data pipeline brought images to the generator's size, source).

  A config field `resize_method` wins, then the paper module's
  `RESIZE_METHOD`, then data.make_dataset's default, 'resize' (wgan_clip's
  dataset_fn passes 'resize' explicitly).
  """
  if hasattr(config, 'resize_method'):
    return config.resize_method, 'config.resize_method'
  if hasattr(paper, 'RESIZE_METHOD'):
    return paper.RESIZE_METHOD, f'paper_gans.papers.{paper.NAME}.RESIZE_METHOD'
  return DEFAULT_RESIZE_METHOD, 'default of paper_gans.data.make_dataset'


# --------------------------------------------------------------------------
# Real-data ceilings.
# --------------------------------------------------------------------------

def _from_blocks(blocks: Sequence[float]) -> Dict[str, Any]:
  return dict(value=float(np.mean(blocks)),
              range=[float(min(blocks)), float(max(blocks))],
              num_samples=1000,
              measured_on=f'{len(blocks)} disjoint 1,000-image blocks of the '
              'MNIST test set (value = their mean)')


def _from_test(value: float) -> Dict[str, Any]:
  return dict(value=float(value), num_samples=10000,
              measured_on='the 10,000 MNIST test images')


def select_mnist_ceiling(ceilings: Dict[str, Any], resolution: int,
                         resize_method: str, num_samples: int,
                         conditional: bool) -> Dict[str, Any]:
  """The real-data ceilings that match a generator's resolution and count.

  Args:
    ceilings: `evaluation.load_ceilings()`.
    resolution: the generator's image size (28 for flat 784-d output).
    resize_method: what the data pipeline used ('resize' or 'pad').
    num_samples: generated samples evaluated.
    conditional: whether to add the class-accuracy ceiling.

  Returns:
    dict(source, resolution, classifier_score, frechet_distance
    [, class_accuracy], notes): each metric a dict(value, num_samples,
    measured_on[, range]) or None where no ceiling exists; `source` names the
    entry of real_data_ceilings.json that was used, None if none fits.
  """
  mnist = ceilings['mnist']
  notes = []
  if resolution == 28 or resize_method == 'pad':
    # 'pad' round trips are exact (ceilings.py), so 28x28 ceilings apply.
    source = f'{CEILING_FILE}: mnist (28x28 test images)'
    ceiling_resolution = 28
    score_10000 = mnist['classifier_score']['test_10000']
    score_blocks = mnist['classifier_score']['test_1000_blocks']
    fd_10000 = mnist['frechet_distance']['test_10000']
    fd_blocks = mnist['frechet_distance']['test_1000_blocks']
  elif str(resolution) in mnist['resized_with_data_layer']:
    entry = mnist['resized_with_data_layer'][str(resolution)]
    source = (f'{CEILING_FILE}: mnist.resized_with_data_layer["{resolution}"] '
              f'(test images taken to {resolution}x{resolution} and back)')
    ceiling_resolution = resolution
    score_10000 = entry['classifier_score_test_10000']
    score_blocks = None  # ceilings.py measures it at 10,000 only.
    fd_10000 = entry['frechet_distance_test_10000']
    fd_blocks = entry['frechet_distance_test_1000_blocks']
  else:
    sizes = ['28'] + sorted(mnist['resized_with_data_layer'], key=int)
    notes.append(f'no real-data ceiling at {resolution}x{resolution} '
                 f"('{resize_method}'); ceilings exist for "
                 f"{', '.join(s + ' px' for s in sizes)}.")
    result = dict(source=None, resolution=None, classifier_score=None,
                  frechet_distance=None, notes=notes)
    if conditional:
      result['class_accuracy'] = None
    return result

  if num_samples == 1000:
    frechet = _from_blocks(fd_blocks)
    if score_blocks is not None:
      score = _from_blocks(score_blocks)
    else:
      score = _from_test(score_10000)
      notes.append(f'classifier-score ceiling at {resolution}x{resolution} '
                   'exists for 10,000 samples only.')
  else:
    frechet = _from_test(fd_10000)
    score = _from_test(score_10000)
    if num_samples != 10000:
      notes.append(f'no ceiling at {num_samples} samples (ceilings exist for '
                   '1,000 and 10,000); the 10,000-sample one is shown. The '
                   'Frechet distance is biased upwards for fewer samples, so '
                   'compare at 10,000.')
  result = dict(source=source, resolution=ceiling_resolution,
                classifier_score=score, frechet_distance=frechet, notes=notes)
  if conditional:
    accuracy = mnist['class_accuracy']
    result['class_accuracy'] = dict(
        value=float(accuracy['overall']),
        per_class=[float(a) for a in accuracy['per_class']],
        num_samples=int(sum(accuracy['count_per_class'])),
        measured_on='the evaluator on the 10,000 28x28 MNIST test images '
        'with their true labels')
    if ceiling_resolution != 28:
      notes.append('the class-accuracy ceiling is measured at 28x28, not at '
                   f'{resolution}x{resolution}.')
  return result


# --------------------------------------------------------------------------
# Generating and measuring.
# --------------------------------------------------------------------------

def cycled_labels(num_samples: int, num_classes: int) -> np.ndarray:
  """0, 1, ..., C-1, 0, 1, ...: every class n // C or n // C + 1 times."""
  return (np.arange(num_samples) % num_classes).astype(np.int32)


def generate_samples(trainer, seed: int, num_samples: int,
                     compile_mode: str = 'eager'
                     ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
  """(samples [N, ...] in the generator's range, labels [N] or None).

  Noise: `trainer.sample_latent([seed, NOISE_STREAM], num_samples)`, drawn
  at once, so the first k samples do not depend on `num_samples`' batching.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  z = trainer.sample_latent(tf.constant([seed, NOISE_STREAM], tf.int32),
                            num_samples)  # [N, latent]
  labels = (cycled_labels(num_samples, trainer.num_classes)
            if trainer.num_classes else None)

  def generate(z_batch, label_batch=None):
    return trainer.generate(z_batch, label_batch)

  if compile_mode != 'eager':
    generate = tf.function(generate, jit_compile=compile_mode == 'xla')
  batches = []
  for start in range(0, num_samples, GENERATION_BATCH):
    z_batch = z[start:start + GENERATION_BATCH]
    if labels is None:
      batches.append(generate(z_batch).numpy())
    else:
      batches.append(generate(
          z_batch, tf.constant(labels[start:start + GENERATION_BATCH])).numpy())
  return np.concatenate(batches).astype(np.float32), labels


def image_resolution(samples: np.ndarray) -> int:
  """Height of image samples; 28 for flat 784-d MNIST vectors."""
  if samples.ndim == 2:
    return 28
  return int(samples.shape[1])


def evaluate_samples(dataset: str, samples: np.ndarray,
                     labels: Optional[np.ndarray], *,
                     value_range: Optional[Sequence[float]] = (-1.0, 1.0),
                     resize_method: str = DEFAULT_RESIZE_METHOD,
                     evaluator=None) -> Dict[str, Any]:
  """Measures `samples` with the evaluator that fits `dataset`.

  Returns:
    dict(evaluator, num_samples, all_finite, metrics, ceiling, notes):
    `metrics` holds what was measured, `ceiling` the real-data reference
    (None where there is none), `notes` what the reader must know.
  """
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  num_samples = int(samples.shape[0])
  all_finite = bool(np.all(np.isfinite(samples)))
  notes: List[str] = []
  if not all_finite:
    notes.append('some samples are NaN or Inf; the metrics are meaningless.')
  result = dict(evaluator=None, num_samples=num_samples,
                all_finite=all_finite, metrics={}, ceiling=None, notes=notes)
  ceilings = evaluation.load_ceilings()

  if dataset in MNIST_DATASETS:
    if value_range is None:
      raise ConfigError('an MNIST generator needs a value range '
                        '(the paper module has VALUE_RANGE = None).')
    evaluator = evaluator or evaluation.default_evaluator()
    measured = evaluation.evaluate_mnist_samples(
        samples, value_range=tuple(value_range), evaluator=evaluator,
        requested_labels=labels, resize_method=resize_method)
    metrics = dict(classifier_score=measured['classifier_score'],
                   frechet_distance=measured['frechet_distance'])
    if 'class_accuracy' in measured:
      metrics['class_accuracy'] = measured['class_accuracy']
    resolution = image_resolution(samples)
    ceiling = select_mnist_ceiling(ceilings, resolution, resize_method,
                                   num_samples, conditional=labels is not None)
    notes.extend(ceiling.pop('notes'))
    result.update(
        evaluator='paper_gans.evaluation MNIST classifier (shipped weights)',
        evaluator_weights_sha256=evaluator.weights_sha256,
        resolution=resolution, resize_method=resize_method,
        value_range=[float(v) for v in value_range],
        metrics=metrics, ceiling=ceiling)
    if ceilings.get('evaluator_weights_sha256') != evaluator.weights_sha256:
      notes.append('the ceilings were computed with other evaluator weights.')
    return result

  if dataset in ('8gaussians', '25gaussians'):
    from paper_gans import data  # pylint: disable=g-import-not-at-top
    if samples.ndim != 2 or samples.shape[1] != 2:
      raise ConfigError(f'{dataset} samples must be [N, 2], got '
                        f'{list(samples.shape)}.')
    metrics = evaluation.toy_mode_metrics(samples, data.toy_modes(dataset),
                                          data.toy_mode_std(dataset))
    metrics['num_modes'] = len(data.toy_modes(dataset))
    toy = ceilings['toy'][dataset]
    result.update(
        evaluator='toy_mode_metrics (VEEGAN / PacGAN definitions)',
        metrics=metrics,
        ceiling=dict(
            source=f'{CEILING_FILE}: toy.{dataset}',
            modes_covered=toy['modes_covered'], num_modes=toy['num_modes'],
            high_quality_fraction=toy['high_quality_fraction'],
            analytic_high_quality_fraction=toy[
                'analytic_high_quality_fraction'],
            num_samples=toy['num_samples'],
            measured_on=f"{toy['num_samples']} samples of the true mixture"))
    if num_samples != toy['num_samples']:
      notes.append(f"the ceiling uses {toy['num_samples']} samples (VEEGAN's "
                   'count); modes covered depends on the sample count.')
    return result

  if dataset == 'swissroll':
    notes.append('swissroll has no discrete modes, so there are no mode '
                 'metrics; only the sample count is written.')
    result['evaluator'] = None
    return result

  notes.append(f"no evaluator exists for data set '{dataset}'; only the "
               'sample count and finiteness are written.')
  return result


# --------------------------------------------------------------------------
# The whole evaluation.
# --------------------------------------------------------------------------

@dataclasses.dataclass
class Request:
  """A checked command line: everything `evaluate_run` needs."""
  workdir: str
  record: Dict[str, Any]
  num_samples: int
  checkpoint: Optional[str] = None
  compile_mode: Optional[str] = None
  export_samples: Optional[int] = None
  export_path: Optional[str] = None
  overwrite: bool = False
  command: Optional[str] = None  # The command line, recorded when given.


def check_request(workdir: str, num_samples: int = 10000,
                  checkpoint: Optional[str] = None,
                  compile_mode: Optional[str] = None,
                  export_samples: Optional[int] = None,
                  export_path: Optional[str] = None,
                  overwrite: bool = False) -> Request:
  """Every check of the command line that needs no TensorFlow.

  Raises:
    ConfigError: one sentence naming the flag or file at fault.
  """
  record = read_run_record(workdir)
  check_paper_name(record['paper'])
  if num_samples < 2:
    raise ConfigError(f'--num_samples must be >= 2 (the Frechet distance '
                      f'needs a covariance), got {num_samples}.')
  if compile_mode is None:
    compile_mode = record.get('compile', 'xla')
  cli.check_choice('compile', compile_mode, ('xla', 'graph', 'eager'))
  if export_samples is None:
    if export_path is not None:
      raise ConfigError('--export_path needs --export_samples N.')
  else:
    if export_samples < 1:
      raise ConfigError(f'--export_samples must be >= 1, got {export_samples}.')
    if export_path is None:
      export_path = os.path.join(workdir, f'samples_{export_samples}.npz')
    if not export_path.endswith('.npz'):
      raise ConfigError(f"--export_path '{export_path}' must end in .npz "
                        '(numpy.savez would append it).')
    if os.path.exists(export_path) and not overwrite:
      raise ConfigError(f"'{export_path}' exists; pass --overwrite to replace "
                        'it or choose another --export_path.')
    parent = os.path.dirname(os.path.abspath(export_path))
    if not os.path.isdir(parent):
      raise ConfigError(f"the directory of --export_path '{export_path}' does "
                        'not exist.')
  check_checkpoint(workdir, checkpoint)
  metrics_path = os.path.join(workdir, METRICS_FILE)
  if os.path.exists(metrics_path):
    _read_metrics(metrics_path)  # Fail now, not after the evaluation.
  return Request(workdir=workdir, record=record, num_samples=num_samples,
                 checkpoint=checkpoint, compile_mode=compile_mode,
                 export_samples=export_samples, export_path=export_path,
                 overwrite=overwrite)


def _read_metrics(path: str) -> Dict[str, Any]:
  try:
    with open(path, encoding='utf-8') as f:
      metrics = json.load(f)
  except (OSError, ValueError) as e:
    raise ConfigError(f"cannot merge into '{path}': {e}.") from None
  if not isinstance(metrics, dict):
    raise ConfigError(f"cannot merge into '{path}': it holds no JSON object.")
  return metrics


def restore_trainer(paper, config, compile_mode: str, checkpoint_path: str):
  """Builds the trainer and restores `checkpoint_path` into it.

  Every variable of the trainer must be in the checkpoint
  (`assert_existing_objects_matched`), so a checkpoint of another
  configuration fails here instead of evaluating random weights.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  trainer = paper.build_trainer(config, compile_mode)
  try:
    # Variables exist already, so restore assigns at once: a shape mismatch
    # raises ValueError here, a variable missing from the checkpoint fails
    # the assertion, an unreadable file raises an OpError.
    status = tf.train.Checkpoint(trainer=trainer).restore(checkpoint_path)
    status.assert_existing_objects_matched()
  except (AssertionError, ValueError, tf.errors.OpError) as e:
    lines = str(e).strip().splitlines()
    raise ConfigError(f"checkpoint '{checkpoint_path}' does not match the "
                      'configuration in config.json: '
                      f"{lines[-1] if lines else type(e).__name__}") from None
  status.expect_partial()
  return trainer


def export_samples_file(path: str, samples: np.ndarray,
                        labels: Optional[np.ndarray],
                        value_range: Optional[Sequence[float]],
                        info: Dict[str, Any]) -> None:
  """Writes samples (and labels) to `path` (.npz), atomically.

  Keys: samples (float32, the generator's output), value_range (float32 [2];
  [-inf, inf] when the paper declares none, as for 2-D toy data), labels
  (int32 [N], conditional generators only) and info (a JSON string: paper,
  checkpoint, iteration, noise seed).
  """
  arrays = dict(
      samples=samples.astype(np.float32),
      value_range=np.array(value_range if value_range is not None
                           else (-np.inf, np.inf), np.float32),
      info=np.array(json.dumps(info, sort_keys=True)))
  if labels is not None:
    arrays['labels'] = labels.astype(np.int32)
  tmp = path[:-len('.npz')] + '.tmp.npz'
  np.savez(tmp, **arrays)
  os.replace(tmp, path)


def evaluate_run(request: Request) -> Dict[str, Any]:
  """Restores, generates, measures, exports; returns the "evaluation" dict.

  Also writes it to `<workdir>/metrics.json` (merged) and the export file.
  """
  from paper_gans import runner  # pylint: disable=g-import-not-at-top
  record = request.record
  paper = load_paper(record['paper'])
  config, missing = config_from_record(paper, record)
  checkpoint_path = find_checkpoint(request.workdir, request.checkpoint)
  notes = []
  if missing:
    notes.append('config.json lacks ' + ', '.join(missing) + '; the '
                 'defaults of today\'s config class were used.')
  value_range = value_range_of(paper, config)
  resize_method, resize_source = resize_method_of(paper, config)
  trainer = restore_trainer(paper, config, request.compile_mode,
                            checkpoint_path)
  iteration = int(trainer.iteration.numpy())

  total = max(request.num_samples, request.export_samples or 0)
  samples, labels = generate_samples(trainer, config.seed, total,
                                     request.compile_mode)
  n = request.num_samples
  result = evaluate_samples(
      config.dataset, samples[:n], None if labels is None else labels[:n],
      value_range=value_range, resize_method=resize_method)
  status_path = os.path.join(request.workdir, runner.STATUS_FILE)
  status = {}
  if os.path.exists(status_path):
    with open(status_path, encoding='utf-8') as f:
      status = json.load(f)
  evaluation = dict(
      paper=paper.NAME, dataset=config.dataset, checkpoint=checkpoint_path,
      iteration=iteration, run_finished=status.get('finished'),
      compile=request.compile_mode,
      noise=f'trainer.sample_latent([{config.seed}, {NOISE_STREAM}], '
      f'{total})[:{n}]',
      labels=(f'cycled 0..{trainer.num_classes - 1}'
              if labels is not None else None))
  if request.command:
    evaluation['command'] = request.command
  if result.get('resize_method') is not None:
    evaluation['resize_method_source'] = resize_source
  result['notes'] = notes + result['notes']
  evaluation.update(result)

  if request.export_samples:
    k = request.export_samples
    export_samples_file(
        request.export_path, samples[:k],
        None if labels is None else labels[:k], value_range,
        dict(paper=paper.NAME, checkpoint=checkpoint_path, iteration=iteration,
             noise=f'trainer.sample_latent([{config.seed}, {NOISE_STREAM}], '
             f'{total})[:{k}]'))
    evaluation['export'] = dict(path=request.export_path, num_samples=k)

  metrics_path = os.path.join(request.workdir, METRICS_FILE)
  metrics = (_read_metrics(metrics_path) if os.path.exists(metrics_path)
             else {})
  metrics[EVALUATION_KEY] = evaluation
  runner.write_json(metrics_path, metrics)
  return evaluation


# --------------------------------------------------------------------------
# Printing.
# --------------------------------------------------------------------------

def _ceiling_text(entry: Optional[Dict[str, Any]], resolution) -> str:
  if not entry:
    return '-'
  text = f"{entry['value']:.4g}"
  if 'range' in entry:
    text += f" ({entry['range'][0]:.4g} to {entry['range'][1]:.4g})"
  size = f'{resolution}x{resolution}, ' if resolution else ''
  return f"{text} [{size}{entry['num_samples']:,} real]"


def format_table(evaluation: Dict[str, Any]) -> str:
  """A short plain-text table of the measured metrics and their ceilings."""
  lines = [f"{evaluation['paper']} on {evaluation['dataset']}: checkpoint "
           f"{evaluation['checkpoint']} (generator iteration "
           f"{evaluation['iteration']}), {evaluation['num_samples']:,} "
           'samples']
  metrics = evaluation['metrics']
  ceiling = evaluation.get('ceiling') or {}
  rows = []
  if evaluation['dataset'] in MNIST_DATASETS:
    resolution = ceiling.get('resolution')
    rows.append(('classifier score (higher is better)',
                 f"{metrics['classifier_score']:.4g}",
                 _ceiling_text(ceiling.get('classifier_score'), resolution)))
    rows.append(('Frechet distance (lower is better)',
                 f"{metrics['frechet_distance']:.4g}",
                 _ceiling_text(ceiling.get('frechet_distance'), resolution)))
    if 'class_accuracy' in metrics:
      rows.append(('class accuracy',
                   f"{metrics['class_accuracy']['overall']:.4f}",
                   _ceiling_text(ceiling.get('class_accuracy'), 28)))
  elif 'modes_covered' in metrics:
    rows.append(('modes covered', f"{metrics['modes_covered']}/"
                 f"{metrics['num_modes']}",
                 f"{ceiling['modes_covered']}/{ceiling['num_modes']} "
                 f"[{ceiling['num_samples']:,} true samples]"))
    rows.append(('high-quality fraction',
                 f"{metrics['high_quality_fraction']:.4f}",
                 f"{ceiling['high_quality_fraction']:.4f} "
                 f"[{ceiling['num_samples']:,} true samples]"))
  rows.append(('all samples finite', str(evaluation['all_finite']), '-'))
  width = max(len(r[0]) for r in rows + [('metric', '', '')])
  value_width = max(len(r[1]) for r in rows + [('', 'generated', '')])
  lines.append(f"  {'metric':<{width}}  {'generated':>{value_width}}  "
               'real-data ceiling')
  for name, value, reference in rows:
    lines.append(f'  {name:<{width}}  {value:>{value_width}}  {reference}')
  if ceiling.get('source'):
    lines.append(f"  ceiling: {ceiling['source']}")
  for note in evaluation['notes']:
    lines.append(f'  note: {note}')
  if 'export' in evaluation:
    lines.append(f"  exported {evaluation['export']['num_samples']:,} samples "
                 f"to {evaluation['export']['path']}")
  return '\n'.join(lines)


# --------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------

def define_flags(flag_values=flags.FLAGS) -> None:
  """The command's flags (defined here, not at import, so that importing
  this module next to a reproduction script's flags cannot clash)."""
  flags.DEFINE_string('workdir', None, 'Run directory written by a '
                      'reproduction script (holds config.json and '
                      'checkpoints/). Required.', flag_values=flag_values)
  flags.DEFINE_integer('num_samples', 10000, 'Generated samples to evaluate; '
                       'the real-data ceilings exist for 10,000 (the '
                       'reference count) and 1,000.', flag_values=flag_values)
  flags.DEFINE_integer('export_samples', None, 'Also write this many '
                       'generated samples (and their labels, if conditional) '
                       "to an .npz, in the generator's value range, which is "
                       'stored in the file.', flag_values=flag_values)
  flags.DEFINE_string('export_path', None, 'Where --export_samples writes '
                      '(default <workdir>/samples_<N>.npz). An existing file '
                      'is kept unless --overwrite is given.',
                      flag_values=flag_values)
  flags.DEFINE_bool('overwrite', False, 'Replace an existing --export_path '
                    'file.', flag_values=flag_values)
  flags.DEFINE_string('checkpoint', None, 'Checkpoint prefix (e.g. '
                      'runs/<name>/checkpoints/ckpt-500) or directory; '
                      'default: the latest in <workdir>/checkpoints.',
                      flag_values=flag_values)
  flags.DEFINE_string('compile', None, "'xla', 'graph' or 'eager': how the "
                      'trainer is built and the generator run; default: the '
                      "mode recorded in config.json ('compile').",
                      flag_values=flag_values)


def main(argv) -> int:
  del argv  # cli.parse_command_line refuses positional arguments.
  flag_values = flags.FLAGS
  if not flag_values.workdir:
    raise ConfigError('--workdir is required.')
  request = check_request(
      flag_values.workdir, num_samples=flag_values.num_samples,
      checkpoint=flag_values.checkpoint, compile_mode=flag_values.compile,
      export_samples=flag_values.export_samples,
      export_path=flag_values.export_path, overwrite=flag_values.overwrite)
  cli.quiet_tensorflow()  # Imported once the command line is known good.
  request.command = 'python -m paper_gans.evaluate ' + ' '.join(
      shlex.quote(a) for a in sys.argv[1:])
  evaluation = evaluate_run(request)
  print(format_table(evaluation))
  print(f"wrote the \"{EVALUATION_KEY}\" key of "
        f"{os.path.join(request.workdir, METRICS_FILE)}", flush=True)
  return 0


if __name__ == '__main__':
  define_flags()
  # Bad flags and ConfigError: one line and exit 2 (nothing is trained, so
  # there is no NaN to map).
  app.run(cli.main_wrapper(main), flags_parser=cli.flags_parser())
