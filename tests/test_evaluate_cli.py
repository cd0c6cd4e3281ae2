"""`python -m paper_gans.evaluate`: a real tiny run, evaluated end to end.

The module fixture trains wgan_clip for 3 generator iterations at 32x32 with
8-channel networks (checkpoints at iterations 2 and 3) through the library,
so that the command rebuilds, restores and measures a run written exactly
as a reproduction script writes one. The command is then run as a
subprocess, as a user runs it.
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import data
from paper_gans import evaluate
from paper_gans import evaluation
from paper_gans import runner
from paper_gans.papers import wgan_clip

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_SAMPLES = 1000  # A sample count that has a real-data ceiling.
EXPORT = 40


def _evaluate(*args):
  """Runs the command; returns the CompletedProcess (text output)."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  return subprocess.run([sys.executable, '-m', 'paper_gans.evaluate', *args],
                        cwd=REPO_ROOT, env=env, capture_output=True,
                        text=True, check=False)


def _error_lines(stderr):
  return [line for line in stderr.splitlines() if line.startswith('error:')]


@pytest.fixture(scope='module')
def run_dir(tmp_path_factory):
  """A finished 3-iteration wgan_clip run at 32x32 (ceilings exist at 32)."""
  workdir = str(tmp_path_factory.mktemp('evaluate') / 'wgan_clip')
  config = dataclasses.replace(
      wgan_clip.CONFIG_CLASS(), image_size=32, generator_width=8,
      critic_width=8, batch_size=16, eval_samples=100,
      # main.py's first 25 generator iterations have 100 critic steps each.
      warmup_generator_iterations=0, critic_steps=2)
  options = runner.RunOptions(workdir=workdir, steps=3, log_every=1,
                              sample_every=3, checkpoint_every=2,
                              verbose=False)
  assert wgan_clip.run(config, options, 'eager', run_check=False) == 0
  return workdir


@pytest.fixture(scope='module')
def first_evaluation(run_dir):
  """The run's own metrics.json, then the command's result, read at once.

  Read here, before any other test runs the command again on this run.
  """
  with open(os.path.join(run_dir, 'metrics.json')) as f:
    before = json.load(f)
  result = _evaluate('--workdir', run_dir, '--num_samples', str(NUM_SAMPLES),
                     '--export_samples', str(EXPORT), '--compile', 'xla')
  assert result.returncode == 0, result.stderr
  with open(os.path.join(run_dir, 'metrics.json')) as f:
    after = json.load(f)
  export_path = os.path.join(run_dir, f'samples_{EXPORT}.npz')
  with np.load(export_path) as archive:
    exported = {k: archive[k] for k in archive.files}
  return dict(before=before, after=after, stdout=result.stdout,
              exported=exported, export_path=export_path)


# --------------------------------------------------------------------------
# A real run, evaluated.
# --------------------------------------------------------------------------

def test_evaluation_is_merged_into_the_runs_metrics(first_evaluation):
  before, after = first_evaluation['before'], first_evaluation['after']
  assert 'check' in before  # Written by wgan_clip's expected-output check.
  kept = {k: v for k, v in after.items() if k != 'evaluation'}
  # json.dumps compares NaN (the run's Spearman correlation of 2 points) too.
  assert json.dumps(kept, sort_keys=True) == json.dumps(before, sort_keys=True)
  result = after['evaluation']
  assert result['paper'] == 'wgan_clip'
  assert result['dataset'] == 'mnist'
  assert result['iteration'] == 3
  assert result['checkpoint'].endswith(os.path.join('checkpoints', 'ckpt-3'))
  assert result['num_samples'] == NUM_SAMPLES
  assert result['resolution'] == 32
  assert result['resize_method'] == 'resize'
  assert result['compile'] == 'xla'
  assert result['all_finite'] is True
  assert result['labels'] is None
  assert 'class_accuracy' not in result['metrics']
  assert result['command'].startswith('python -m paper_gans.evaluate --workdir')
  assert result['export'] == {'path': first_evaluation['export_path'],
                              'num_samples': EXPORT}


def test_untrained_generator_scores_far_from_the_ceiling(first_evaluation):
  result = first_evaluation['after']['evaluation']
  ceiling = result['ceiling']
  assert 'resized_with_data_layer["32"]' in ceiling['source']
  # 1,000 samples: the mean of the ten 1,000-image blocks of the file.
  blocks = evaluation.load_ceilings()['mnist']['resized_with_data_layer'][
      '32']['frechet_distance_test_1000_blocks']
  assert ceiling['frechet_distance']['num_samples'] == 1000
  assert ceiling['frechet_distance']['value'] == pytest.approx(np.mean(blocks))
  # After 3 of main.py's ~23,000 generator iterations the samples are near
  # constant grey blobs: measured 775 against a real-data block mean of 21.8
  # (blocks 16.0 to 28.0). A factor 10 leaves a wide margin and still fails
  # for anything digit-like.
  assert result['metrics']['frechet_distance'] > 10 * ceiling[
      'frechet_distance']['value']
  # Near-identical images get near-identical p(y|x): score near its minimum
  # 1 (measured 1.002) against the ceiling 9.77; 2 is far from both.
  assert result['metrics']['classifier_score'] < 2.0
  assert ceiling['classifier_score']['value'] > 9.0
  assert 'Frechet distance' in first_evaluation['stdout']
  assert 'resized_with_data_layer["32"]' in first_evaluation['stdout']


def test_export_file(first_evaluation):
  exported = first_evaluation['exported']
  assert exported['samples'].shape == (EXPORT, 32, 32, 1)
  assert exported['samples'].dtype == np.float32
  np.testing.assert_array_equal(exported['value_range'], [-1.0, 1.0])
  # The generator ends in tanh (main.py DCGAN_G), so its range holds exactly.
  assert exported['samples'].min() >= -1.0
  assert exported['samples'].max() <= 1.0
  assert 'labels' not in exported  # Unconditional generator.
  info = json.loads(str(exported['info']))
  assert info['iteration'] == 3 and info['paper'] == 'wgan_clip'


def test_export_refuses_to_overwrite_then_overwrites(run_dir,
                                                     first_evaluation):
  path = first_evaluation['export_path']
  with open(path, 'rb') as f:
    original = f.read()
  refused = _evaluate('--workdir', run_dir, '--num_samples', '100',
                      '--export_samples', str(EXPORT))
  assert refused.returncode == 2
  assert refused.stderr.strip() == (
      f"error: '{path}' exists; pass --overwrite to replace it or choose "
      'another --export_path.')
  with open(path, 'rb') as f:
    assert f.read() == original

  # With --overwrite, from the older checkpoint (and the recorded compile
  # mode, eager): the file now holds iteration 2's samples.
  checkpoint = os.path.join(run_dir, 'checkpoints', 'ckpt-2')
  replaced = _evaluate('--workdir', run_dir, '--num_samples', '100',
                       '--export_samples', str(EXPORT), '--overwrite',
                       '--checkpoint', checkpoint)
  assert replaced.returncode == 0, replaced.stderr
  with np.load(path) as archive:
    assert json.loads(str(archive['info']))['iteration'] == 2
    assert archive['samples'].shape == (EXPORT, 32, 32, 1)
  with open(os.path.join(run_dir, 'metrics.json')) as f:
    result = json.load(f)['evaluation']
  assert result['iteration'] == 2 and result['compile'] == 'eager'
  assert result['num_samples'] == 100
  # 100 samples: no ceiling at that count, the 10,000 one is shown and said.
  assert result['ceiling']['frechet_distance']['num_samples'] == 10000
  assert any('no ceiling at 100 samples' in n for n in result['notes'])


# --------------------------------------------------------------------------
# Bad input: one line on stderr, exit status 2, nothing written.
# --------------------------------------------------------------------------

def _write_config(directory, record):
  os.makedirs(directory, exist_ok=True)
  with open(os.path.join(directory, 'config.json'), 'w') as f:
    json.dump(record, f)


def _bad_inputs(run_dir, tmp):
  """(name, args, expected message) for each early failure."""
  empty = os.path.join(tmp, 'empty')
  os.makedirs(empty)
  unknown = os.path.join(tmp, 'unknown')
  _write_config(unknown, {'paper': 'no_such_paper'})
  untrained = os.path.join(tmp, 'untrained')
  with open(os.path.join(run_dir, 'config.json')) as f:
    _write_config(untrained, json.load(f))
  missing = os.path.join(tmp, 'missing')
  return [
      ('missing workdir', ['--workdir', missing],
       f"error: --workdir '{missing}' does not exist."),
      ('no config.json', ['--workdir', empty],
       f"error: '{empty}' holds no config.json, so it is not a paper_gans "
       'run directory.'),
      ('unknown paper', ['--workdir', unknown],
       "error: config.json names paper 'no_such_paper', which is not a "
       'module of paper_gans.papers (known: '),
      ('no checkpoint', ['--workdir', untrained],
       f"error: no checkpoint in '{os.path.join(untrained, 'checkpoints')}'"),
      ('export N < 1', ['--workdir', run_dir, '--export_samples', '0'],
       'error: --export_samples must be >= 1, got 0.'),
      ('num_samples < 2', ['--workdir', run_dir, '--num_samples', '1'],
       'error: --num_samples must be >= 2'),
      ('bad checkpoint', ['--workdir', run_dir, '--checkpoint',
                          os.path.join(run_dir, 'checkpoints', 'ckpt-99')],
       "error: --checkpoint '"),
      ('bad compile mode', ['--workdir', run_dir, '--compile', 'jit'],
       "error: --compile must be one of xla, graph, eager, got 'jit'."),
      ('no workdir', [], 'error: --workdir is required.'),
  ]


def test_bad_input_fails_early_with_one_line(run_dir, tmp_path):
  metrics_path = os.path.join(run_dir, 'metrics.json')
  with open(metrics_path, 'rb') as f:
    metrics_before = f.read()
  for name, args, message in _bad_inputs(run_dir, str(tmp_path)):
    result = _evaluate(*args)
    assert result.returncode == 2, (name, result.stderr)
    # Every one of these is found before TensorFlow is imported, so stderr
    # holds nothing but the one line.
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, (name, result.stderr)
    assert lines[0].startswith(message), (name, lines[0])
    assert result.stdout == '', name
  with open(metrics_path, 'rb') as f:
    assert f.read() == metrics_before  # No failed call touched the run.
  assert not os.path.exists(os.path.join(str(tmp_path), 'untrained',
                                         'metrics.json'))


def test_checkpoint_of_another_config_is_refused(run_dir, tmp_path):
  other = str(tmp_path / 'other')
  shutil.copytree(os.path.join(run_dir, 'checkpoints'),
                  os.path.join(other, 'checkpoints'))
  with open(os.path.join(run_dir, 'config.json')) as f:
    record = json.load(f)
  record['generator_width'] = 16  # Other variable shapes than the checkpoint.
  _write_config(other, record)
  result = _evaluate('--workdir', other, '--num_samples', '100')
  assert result.returncode == 2, result.stderr
  errors = _error_lines(result.stderr)
  assert len(errors) == 1, result.stderr
  assert 'does not match the configuration in config.json' in errors[0]
  assert 'generator/' in errors[0]  # Names the variable at fault.
  assert not os.path.exists(os.path.join(other, 'metrics.json'))


def test_help_documents_every_flag():
  result = _evaluate('--help')
  # absl's --help prints the usage to stdout and exits with status 1
  # (absl/app.py HelpFlag), as the reproduction scripts do.
  assert result.returncode == 1, result.stderr
  text = ' '.join(result.stdout.split())  # absl wraps help at 80 columns.
  for flag, help_words in (
      ('--workdir', 'Run directory written by a reproduction script'),
      ('--num_samples', 'real-data ceilings exist for 10,000'),
      ('--export_samples', "in the generator's value range"),
      ('--export_path', '(default <workdir>/samples_<N>.npz)'),
      ('--[no]overwrite', 'Replace an existing --export_path file.'),
      ('--checkpoint', 'default: the latest in <workdir>/checkpoints'),
      ('--compile', 'default: the mode recorded in config.json')):
    assert f'{flag}: ' in text, flag
    assert help_words in text, flag


# --------------------------------------------------------------------------
# The parts no paper module exercises yet: conditional and toy generators.
# --------------------------------------------------------------------------

class _RealDigitTrainer:
  """Stands in for a conditional trainer: 'generates' real test digits.

  generate(z, labels) returns, for each requested label, the next unused
  MNIST test image of that class, scaled to [-1, 1]: a perfect conditional
  generator, whose class accuracy must be the evaluator's real-data one.
  """
  num_classes = 10

  def __init__(self):
    images, labels = data.load_mnist('test')
    self._pools = [list(images[labels == c]) for c in range(10)]

  def sample_latent(self, seed, batch_size):
    return tf.random.stateless_normal([batch_size, 4], seed)

  def generate(self, z, labels=None):
    assert labels is not None and labels.shape[0] == z.shape[0]
    images = [self._pools[int(c)].pop(0) for c in labels.numpy()]
    return tf.constant(np.stack(images).astype(np.float32) / 127.5 - 1.0)


def test_conditional_labels_cycle_and_class_accuracy_is_reported():
  trainer = _RealDigitTrainer()
  # 1,005 samples: three generator calls (500, 500, 5), uneven class counts.
  samples, labels = evaluate.generate_samples(trainer, seed=0,
                                              num_samples=1005,
                                              compile_mode='eager')
  assert samples.shape == (1005, 28, 28, 1)
  np.testing.assert_array_equal(labels[:12], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                              0, 1])
  np.testing.assert_array_equal(np.bincount(labels), [101] * 5 + [100] * 5)

  result = evaluate.evaluate_samples('mnist', samples[:1000], labels[:1000],
                                     value_range=(-1.0, 1.0))
  accuracy = result['metrics']['class_accuracy']
  assert accuracy['count_per_class'] == [100] * 10
  # Real digits: the evaluator's test accuracy is 0.9925 over all 10,000
  # (per class 0.984 to 1.0); on these 1,000 it must stay close. 0.97 allows
  # three times the worst per-class error rate.
  assert accuracy['overall'] > 0.97
  assert result['ceiling']['class_accuracy']['value'] == 0.9925
  assert result['ceiling']['source'].endswith('mnist (28x28 test images)')
  # Real 28x28 test images score like the real-data ceiling: the classifier
  # score of the 1,000-image test blocks is 9.61 to 9.95; a class-balanced
  # 1,000 cannot be far from it (0.3 is the blocks' spread).
  assert result['metrics']['classifier_score'] > 9.3


def test_toy_mode_metrics_and_ceiling():
  true = data.sample_toy('8gaussians', 2500, np.array([5, 5], np.int32))
  result = evaluate.evaluate_samples('8gaussians', true.numpy(), None,
                                     value_range=None)
  assert result['metrics']['modes_covered'] == 8
  assert result['metrics']['num_modes'] == 8
  # True samples are high quality with probability 1 - exp(-4.5) = 0.9889;
  # on 2,500 samples the standard deviation is 0.002, so 0.98 is > 4 sigma.
  assert result['metrics']['high_quality_fraction'] > 0.98
  assert result['ceiling']['modes_covered'] == 8
  assert result['ceiling']['source'].endswith('toy.8gaussians')

  collapsed = np.repeat(data.toy_modes('25gaussians')[:1], 100, axis=0)
  result = evaluate.evaluate_samples('25gaussians', collapsed, None,
                                     value_range=None)
  assert result['metrics']['modes_covered'] == 1
  assert any('2500 samples' in n for n in result['notes'])


def test_data_sets_without_an_evaluator():
  swiss = evaluate.evaluate_samples('swissroll', np.zeros([10, 2]), None,
                                    value_range=None)
  assert swiss['metrics'] == {} and swiss['num_samples'] == 10
  assert 'no discrete modes' in swiss['notes'][0]
  samples = np.zeros([7, 28, 28, 1], np.float32)
  samples[3, 0, 0, 0] = np.nan
  other = evaluate.evaluate_samples('fashion_mnist', samples, None)
  assert other['num_samples'] == 7 and other['all_finite'] is False
  assert any("no evaluator exists for data set 'fashion_mnist'" in n
             for n in other['notes'])


def test_ceiling_selection_follows_resolution_and_sample_count():
  ceilings = evaluation.load_ceilings()
  mnist = ceilings['mnist']
  at_28 = evaluate.select_mnist_ceiling(ceilings, 28, 'resize', 10000,
                                        conditional=False)
  assert at_28['frechet_distance']['value'] == mnist['frechet_distance'][
      'test_10000']
  assert at_28['classifier_score']['value'] == mnist['classifier_score'][
      'test_10000']
  assert at_28['notes'] == []
  # 'pad' round trips are exact, so a padded 32x32 generator gets 28x28 ones.
  padded = evaluate.select_mnist_ceiling(ceilings, 32, 'pad', 10000,
                                         conditional=True)
  assert padded['resolution'] == 28
  assert padded['class_accuracy']['value'] == mnist['class_accuracy'][
      'overall']
  at_64 = evaluate.select_mnist_ceiling(ceilings, 64, 'resize', 1000,
                                        conditional=True)
  assert at_64['resolution'] == 64
  assert at_64['frechet_distance']['range'] == [
      min(mnist['resized_with_data_layer']['64'][
          'frechet_distance_test_1000_blocks']),
      max(mnist['resized_with_data_layer']['64'][
          'frechet_distance_test_1000_blocks'])]
  assert any('measured at 28x28' in n for n in at_64['notes'])
  at_16 = evaluate.select_mnist_ceiling(ceilings, 16, 'resize', 10000,
                                        conditional=False)
  assert at_16['source'] is None and at_16['frechet_distance'] is None
  assert 'no real-data ceiling at 16x16' in at_16['notes'][0]


def test_value_range_follows_the_preset_where_a_paper_defines_it():
  # cdcgan_mnist's presets differ in range (tanh vs sigmoid output); a
  # single module constant would misread one of them.
  from paper_gans.papers import cdcgan_mnist  # pylint: disable=g-import-not-at-top
  znxlwm = cdcgan_mnist.make_config(preset='znxlwm')
  newmu = cdcgan_mnist.make_config(preset='newmu')
  assert evaluate.value_range_of(cdcgan_mnist, znxlwm) == (-1.0, 1.0)
  assert evaluate.value_range_of(cdcgan_mnist, newmu) == (0.0, 1.0)
  assert evaluate.value_range_of(wgan_clip, wgan_clip.WGANClipConfig()) == (
      -1.0, 1.0)
