"""Reference loss trajectories: record the start of a reproduction, replay it.

A trajectory is every loss of the first N updates (critic and generator
updates each count as one) of a paper's real pipeline: real data, fixed seed,
CPU, XLA. `tests/test_references.py` replays each committed file and fails
naming the first update and loss that left the tolerance.

    python -m paper_gans.reference --paper=wgan_clip --preset=ci \\
        --out=tests/references/wgan_clip_ci.json

Each paper module lists its presets in `REFERENCE_PRESETS`: 'ci' is a
shrunk config of the same algorithm (narrower, lower resolution) that
replays in well under a minute on two cores; 'full' is the paper's config,
replayed by a test marked slow.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

LOSS_KEYS = ('discriminator_loss', 'discriminator_real', 'discriminator_fake',
             'gradient_penalty')


def paper_module(name: str):
  return importlib.import_module(f'paper_gans.papers.{name}')


def preset_config(paper, preset: str):
  return dataclasses.replace(paper.CONFIG_CLASS(),
                             **paper.REFERENCE_PRESETS[preset])


def record(paper, config, updates: int, compile_mode: str = 'xla') -> List[Dict]:
  """Trains from scratch and returns one dict per update, in order."""
  trainer = paper.build_trainer(config, compile_mode)
  iterator = iter(paper.dataset_fn(config)(0))
  rows: List[Dict] = []
  while len(rows) < updates:
    iteration = int(trainer.iteration.numpy())
    k = trainer.batches_needed(iteration)
    batches = [next(iterator) for _ in range(k)]
    losses = trainer.train_iteration([b[0] for b in batches],
                                     [b[1] for b in batches])
    values = {n: np.atleast_1d(t.numpy()) for n, t in losses.items()}
    for step in range(len(values['discriminator_loss'])):
      rows.append({'update': len(rows), 'iteration': iteration,
                   'player': 'discriminator', 'step': step,
                   **{n: float(values[n][step]) for n in LOSS_KEYS}})
    rows.append({'update': len(rows), 'iteration': iteration,
                 'player': 'generator',
                 'generator_loss': float(values['generator_loss'][0])})
  return rows[:updates]


def first_divergence(expected: List[Dict], actual: List[Dict], rtol: float,
                     atol: float) -> Optional[Tuple[int, str, float, float]]:
  """(update, loss name, expected, actual) of the first value out of tolerance."""
  for want, got in zip(expected, actual):
    for name, value in want.items():
      if name in ('update', 'iteration', 'player', 'step'):
        if got.get(name) != value:
          return (want['update'], name, value, got.get(name))
        continue
      other = got.get(name, float('nan'))
      if not np.isclose(other, value, rtol=rtol, atol=atol):
        return (want['update'], name, value, other)
  if len(actual) < len(expected):
    return (len(actual), 'missing updates', len(expected), len(actual))
  return None


def make_reference(paper_name: str, preset: str, updates: int,
                   command: str) -> Dict:
  paper = paper_module(paper_name)
  config = preset_config(paper, preset)
  return {
      'paper': paper_name,
      'preset': preset,
      'config': dataclasses.asdict(config),
      'compile_mode': 'xla',
      'updates': updates,
      'command': command,
      'tensorflow_version': tf.__version__,
      'trajectory': record(paper, config, updates, 'xla'),
  }


def main(argv: List[str]) -> int:
  import argparse  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--paper', required=True)
  parser.add_argument('--preset', default='ci')
  parser.add_argument('--updates', type=int, default=200)
  parser.add_argument('--out', required=True)
  args = parser.parse_args(argv)
  command = 'python -m paper_gans.reference ' + ' '.join(argv)
  reference = make_reference(args.paper, args.preset, args.updates, command)
  with open(args.out, 'w', encoding='utf-8') as f:
    json.dump(reference, f, indent=1)
    f.write('\n')
  print(f'wrote {args.out}: {len(reference["trajectory"])} updates')
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
