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


def load_expected(path: str) -> Dict:
  with open(path, encoding='utf-8') as f:
    return json.load(f)


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
