"""What every paper's run shares: run length from epochs, and the results file."""

from __future__ import annotations

import json
import math
import os
from typing import Callable, Dict, Optional

from paper_gans.errors import ConfigError


def steps_for_epochs(epochs: float, batches_per_epoch: int,
                     batches_needed: Callable[[int], int]) -> int:
  """Generator iterations that consume `epochs` passes over the data.

  Each generator iteration consumes `batches_needed(iteration)` real
  batches (its critic steps; WGAN's generator step itself uses no data, as
  in the authors' main.py, whose epochs count critic batches).
  """
  if epochs <= 0:
    raise ConfigError(f'--epochs must be > 0, got {epochs}.')
  target = math.ceil(epochs * batches_per_epoch)
  consumed, iteration = 0, 0
  while consumed < target:
    consumed += batches_needed(iteration)
    iteration += 1
  return iteration


def check_image_dataset(dataset: str, paper_name: str, hint: str = '') -> None:
  """ConfigError (one line) unless `dataset` names image data.

  Args:
    dataset: the --dataset value: a data set the data layer knows,
      tfds:<name> or folder:<path>.
    paper_name: the paper's NAME, for the message.
    hint: appended to the toy-data message, e.g. ' (see wgan_gp.py)'.
  """
  from paper_gans import data  # pylint: disable=g-import-not-at-top
  if not (dataset in data.KNOWN_DATASETS
          or dataset.startswith(('tfds:', 'folder:'))):
    raise ConfigError(
        f"unknown --dataset '{dataset}'; expected one of "
        f"{', '.join(data.KNOWN_DATASETS)}, tfds:<name> or folder:<path>.")
  if dataset in data.TOY_DATASETS:
    raise ConfigError(f'--dataset {dataset} is 2-D toy data; {paper_name} '
                      f'trains image models{hint}.')


def load_expected(path: str) -> Dict:
  with open(path, encoding='utf-8') as f:
    return json.load(f)


def expected_section(full_length: bool) -> str:
  """The section of an expected-output file a run's check applies."""
  return 'full_run' if full_length else 'short_cpu_run'


def check_expected_file(path: str, section: str) -> None:
  """ConfigError (one line) unless `path` is JSON holding `section`.

  Args:
    path: an expected-output file (`--expected`).
    section: the section the run's check will apply (`expected_section`).
  """
  try:
    expected = load_expected(path)
  except OSError as e:
    raise ConfigError(f"cannot read --expected '{path}': "
                      f'{e.strerror or e}.') from None
  except ValueError as e:
    raise ConfigError(f"--expected '{path}' is not JSON: {e}.") from None
  if not isinstance(expected, dict) or not isinstance(expected.get(section),
                                                      dict):
    held = (', '.join(k for k, v in expected.items() if isinstance(v, dict))
            if isinstance(expected, dict) else '')
    raise ConfigError(
        f"--expected '{path}' has no '{section}' section, which a run of "
        f"this length applies (it holds: {held or 'none'}).")


def write_metrics(workdir: str, metrics: Dict) -> str:
  from paper_gans import runner  # pylint: disable=g-import-not-at-top
  path = os.path.join(workdir, 'metrics.json')
  runner.write_json(path, metrics)
  return path


def format_check(results: Dict[str, Dict]) -> str:
  """One line per criterion: PASS/FAIL, measured value and threshold."""
  lines = []
  for name, r in results.items():
    verdict = 'PASS' if r['passed'] else 'FAIL'
    lines.append(f"  {verdict} {name}: measured {r['measured']:.4g} "
                 f"{r['op']} {r['threshold']:.4g} ({r['why']})")
  return '\n'.join(lines)


def criterion(measured: Optional[float], op: str, threshold: float,
              why: str) -> Dict:
  """A single pass/fail criterion: `measured op threshold`."""
  if measured is None or (isinstance(measured, float) and math.isnan(measured)):
    return {'measured': float('nan'), 'op': op, 'threshold': threshold,
            'why': why, 'passed': False}
  passed = measured >= threshold if op == '>=' else measured <= threshold
  return {'measured': float(measured), 'op': op, 'threshold': threshold,
          'why': why, 'passed': bool(passed)}


def check_thresholds(metrics: Dict, expected: Dict,
                     full_length: bool) -> Dict[str, Dict]:
  """Compares `metrics` with an expected-output file's thresholds.

  Args:
    metrics: measured values by name.
    expected: the parsed reproductions/expected/<name>.json, whose
      'full_run' and 'short_cpu_run' each hold
      `thresholds: {name: {op, value, why}}`.
    full_length: True applies 'full_run', False 'short_cpu_run'.

  Returns:
    {name: criterion(...)} for every threshold.
  """
  thresholds = expected[expected_section(full_length)]['thresholds']
  return {name: criterion(metrics.get(name), rule['op'], rule['value'],
                          rule['why'])
          for name, rule in thresholds.items()}


def append_checkpoint_metrics(path: str, row: Dict) -> None:
  """Writes `row` as the last line of a JSON-lines file of checkpoints.

  Rows from `row['iteration']` on are dropped first, so a run resumed from
  an earlier checkpoint does not list a checkpoint twice.
  """
  rows = []
  if os.path.exists(path):
    with open(path, encoding='utf-8') as f:
      rows = [json.loads(line) for line in f if line.strip()]
  rows = [r for r in rows if r['iteration'] < row['iteration']]
  with open(path, 'w', encoding='utf-8') as f:
    for r in rows + [row]:
      f.write(json.dumps(r) + '\n')


def conclude(name: str, workdir: str, metrics: Dict, results: Dict[str, Dict],
             full_length: bool, expected_path: str, run_check: bool) -> int:
  """Records the check in metrics.json, prints it, returns the exit code.

  Args:
    name: the paper's NAME, for the printed lines.
    workdir: the run's directory (metrics.json is written there).
    metrics: the run's measured values; gains a 'check' entry.
    results: `check_thresholds(...)`'s criteria.
    full_length: which thresholds were applied.
    expected_path: the expected-output file, named in the printout.
    run_check: False reports the check but always returns 0.

  Returns:
    0 when every criterion passed (or `run_check` is False), else 1.
  """
  metrics['check'] = {'applied': expected_section(full_length),
                      'passed': all(r['passed'] for r in results.values()),
                      'criteria': results}
  write_metrics(workdir, metrics)
  print(f"[{name}] expected-output check ({metrics['check']['applied']} "
        f'thresholds, {expected_path}):')
  print(format_check(results), flush=True)
  if not run_check:
    return 0
  return 0 if metrics['check']['passed'] else 1
