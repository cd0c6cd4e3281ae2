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

Platforms. The trajectory is a chaotic function of last-bit rounding: XLA:CPU
on another processor rounds differently (measured on the 8 ci files: recorded
on a 2-core AMD EPYC VM with AVX2, they replay bit for bit there; on a 2-core
Intel Xeon with AVX-512 the first update that differs is update 0 or 1, by 2
to 10 float32 ulps, at most 8e-7 relative, and the updates amplify that past
rtol 1e-4 at update 10 to 194 in 7 of them; in 3 of the 4 full-config files
at update 2 to 12). A file therefore holds one recording per platform
(`recordings`, each with a description of the machine and TensorFlow
version), all made by the same code and command.
`--add_recording` appends this machine's recording to an existing file, and
refuses when its first update disagrees with the file's beyond rounding
(which would mean the code changed, not the machine).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import platform as platform_module
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np

from paper_gans import cli

if __name__ == '__main__':
  cli.quiet_tensorflow()  # python -m paper_gans.reference: before TensorFlow.

# pylint: disable=wrong-import-position
import tensorflow as tf

from paper_gans import train


def paper_module(name: str):
  return importlib.import_module(f'paper_gans.papers.{name}')


def preset_config(paper, preset: str):
  return dataclasses.replace(paper.CONFIG_CLASS(),
                             **paper.REFERENCE_PRESETS[preset])


def record(paper, config, updates: int, compile_mode: str = 'xla',
           trainer: Optional[train.GANTrainer] = None) -> List[Dict]:
  """Trains from scratch and returns one dict per update, in order.

  Args:
    paper: a paper module.
    config: its config.
    updates: how many updates to record (critic and generator updates each
      count as one).
    compile_mode: the trainer's compile mode.
    trainer: a trainer already built from `config` (e.g. one whose
      `train_iteration` a test wraps to see what it is fed); by default one
      is built here.
  """
  if trainer is None:
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
                   **{n: float(values[n][step]) for n in train.CRITIC_LOSSES}})
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


# Agreement of two recordings' update 0 that counts as "the same code on
# another machine": |a - b| <= ATOL + RTOL |a|. Measured between the AMD and
# Intel recordings of all 12 files: at most 5.7% of this bound (cdcgan_mnist_ci,
# 3.6e-7 absolute); relative alone would not do, since a loss that is a
# small mean of larger terms (wgan_clip_full's discriminator_real, 2.0e-4)
# differs by 8.6e-6 relative (1.7e-9 absolute). A code change that touches
# update 0 moves it by far more than the replay's own atol of 1e-6.
SAME_CODE_UPDATE0_RTOL = 1e-5
SAME_CODE_UPDATE0_ATOL = 1e-7
# ISA extensions that decide which kernels XLA:CPU and its libraries can use.
_ISA_FLAGS = ('sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512_fp16',
              'avx512_bf16', 'amx_tile')


def platform_description() -> Dict:
  """The machine a recording was made on: processor, ISA, cores, TensorFlow."""
  model, vendor, flags = '', '', set()
  try:
    with open('/proc/cpuinfo', encoding='utf-8') as f:
      for line in f:
        key, _, value = line.partition(':')
        key, value = key.strip(), value.strip()
        if key == 'model name' and not model:
          model = value
        elif key == 'vendor_id' and not vendor:
          vendor = value
        elif key == 'flags' and not flags:
          flags = set(value.split())
  except OSError:  # Not Linux: the processor string is all we have.
    model = platform_module.processor()
  return {
      'cpu': model,
      'vendor': vendor,
      'isa': [flag for flag in _ISA_FLAGS if flag in flags],
      'cores': os.cpu_count(),
      'machine': platform_module.machine(),
      'tensorflow_version': tf.__version__,
  }


def same_platform(a: Dict, b: Dict) -> bool:
  """Whether two descriptions name the same kind of machine and TensorFlow."""
  keys = ('cpu', 'vendor', 'isa', 'machine', 'tensorflow_version')
  return all(a.get(key) == b.get(key) for key in keys)


def recording_divergences(ref: Dict, actual: List[Dict], rtol: float,
                          atol: float) -> List[Tuple[Dict, Optional[Tuple]]]:
  """(platform, first divergence or None) for each recording in the file."""
  return [(rec['platform'],
           first_divergence(rec['trajectory'], actual, rtol, atol))
          for rec in ref['recordings']]


def recording_for(ref: Dict, platform: Optional[Dict] = None) -> Dict:
  """The file's recording made on `platform` (default: this machine), else
  its first recording."""
  platform = platform or platform_description()
  for rec in ref['recordings']:
    if same_platform(rec['platform'], platform):
      return rec
  return ref['recordings'][0]


def worst_relative_difference(expected: List[Dict], actual: List[Dict],
                              floor: float = 1e-12) -> Tuple[float, int, str]:
  """(max |a - e| / max(|e|, floor), its update, its loss) over all losses."""
  worst = (0.0, 0, '')
  for want, got in zip(expected, actual):
    for name, value in want.items():
      if name in ('update', 'iteration', 'player', 'step'):
        continue
      other = got.get(name, float('nan'))
      difference = abs(other - value) / max(abs(value), floor)
      if not difference <= worst[0]:  # NaN counts as worst.
        worst = (difference, want['update'], name)
  return worst


def update0_agrees(a: List[Dict], b: List[Dict]) -> bool:
  """Whether two trajectories' first updates agree to rounding."""
  return first_divergence(a[:1], b[:1], SAME_CODE_UPDATE0_RTOL,
                          SAME_CODE_UPDATE0_ATOL) is None


def make_reference(paper_name: str, preset: str, updates: int,
                   command: str, dtype: str = 'float32',
                   compile_mode: str = 'xla') -> Dict:
  paper = paper_module(paper_name)
  config = dataclasses.replace(preset_config(paper, preset), dtype=dtype)
  return {
      'paper': paper_name,
      'preset': preset,
      'config': dataclasses.asdict(config),
      'compile_mode': compile_mode,
      'updates': updates,
      'command': command,
      'recordings': [{
          'platform': platform_description(),
          'trajectory': record(paper, config, updates, compile_mode),
      }],
  }


def add_recording(ref: Dict) -> Tuple[Dict, str]:
  """Records `ref`'s preset on this machine and appends it (a new dict).

  Records with the file's stored config, as the replay test does. Returns
  the file's new content and a one-line message. Raises ValueError when this
  machine's platform already has a recording that the new one does not
  reproduce, or when the new recording's first update disagrees with the
  file's beyond rounding: each means the code changed, and the file must be
  re-recorded (with --out alone) and the change explained.
  """
  paper = paper_module(ref['paper'])
  # The file's own config, as the replay test builds it (later fields keep
  # their defaults).
  config = paper.CONFIG_CLASS(**ref['config'])
  here = platform_description()
  trajectory = record(paper, config, ref['updates'], ref['compile_mode'])
  for rec in ref['recordings']:
    if first_divergence(rec['trajectory'], trajectory, 0.0, 0.0) is None:
      return ref, ('not added: identical to the recording made on '
                   f"{rec['platform']['cpu']!r}")
    if same_platform(rec['platform'], here):
      raise ValueError('this platform already has a recording and this '
                       'replay differs from it: the code or the machine '
                       'changed')
  if not any(update0_agrees(rec['trajectory'], trajectory)
             for rec in ref['recordings']):
    raise ValueError('update 0 differs from every recording beyond rounding '
                     f'(rtol {SAME_CODE_UPDATE0_RTOL}, atol '
                     f'{SAME_CODE_UPDATE0_ATOL}): the code changed')
  new = dict(ref)
  new['recordings'] = list(ref['recordings']) + [
      {'platform': here, 'trajectory': trajectory}]
  return new, f"added a recording made on {here['cpu']!r}"


def main(argv: List[str]) -> int:
  import argparse  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--paper', help='required except with --replay')
  parser.add_argument('--preset', default='ci')
  parser.add_argument('--updates', type=int, default=200)
  parser.add_argument(
      '--dtype', default='float32', choices=('float32', 'float64'),
      help='float64 records a portable trajectory (replayed on every '
           'machine at rtol 1e-9); float32 one per kind of machine')
  parser.add_argument(
      '--compile_mode', default='xla', choices=('xla', 'graph'),
      help="the trainer's compile mode, kept in the file for its replays "
           '(stateless random ops draw other numbers under XLA). graph runs '
           "TensorFlow's own kernels, whose float64 convolutions are several "
           "times faster on a CPU than XLA's")
  parser.add_argument('--out', required=True)
  parser.add_argument(
      '--add_recording', action='store_true',
      help="append this machine's recording to the existing --out file "
           '(same paper, preset and updates) instead of replacing it')
  parser.add_argument(
      '--overwrite', action='store_true',
      help='replace an existing --out file with a new recording (without '
           'it, an existing file is left alone and the command exits 2)')
  parser.add_argument(
      '--replay', action='store_true',
      help='replay the existing --out file on this machine and print, per '
           'recording, the worst relative difference of any loss; writes '
           'nothing')
  args = parser.parse_args(argv)
  if args.replay:
    return replay_main(args.out)
  if not args.paper:
    parser.error('--paper is required')
  if args.add_recording:
    try:
      with open(args.out, encoding='utf-8') as f:
        ref = json.load(f)
      if (ref['paper'], ref['preset'], ref['updates']) != (
          args.paper, args.preset, args.updates):
        raise ValueError(f'{args.out} holds paper {ref["paper"]!r}, preset '
                         f'{ref["preset"]!r}, {ref["updates"]} updates')
      new, message = add_recording(ref)
    except (OSError, ValueError, KeyError) as error:
      print(f'error: {args.out}: {error}', file=sys.stderr)
      return 2
    if new is ref:
      print(f'{args.out} unchanged: {message}')
      return 0
    ref = new
  else:
    if os.path.exists(args.out) and not args.overwrite:
      print(f'error: {args.out} exists; pass --overwrite to replace it, or '
            '--add_recording to add this machine\'s recording to it',
            file=sys.stderr)
      return 2
    command = 'python -m paper_gans.reference ' + ' '.join(
        a for a in argv if a != '--overwrite')
    ref = make_reference(args.paper, args.preset, args.updates, command,
                         args.dtype, args.compile_mode)
    message = 'recorded'
  with open(args.out, 'w', encoding='utf-8') as f:
    json.dump(ref, f, indent=1)
    f.write('\n')
  print(f'wrote {args.out}: {message}; {len(ref["recordings"])} '
        f'recording(s) of {ref["updates"]} updates')
  return 0


def replay_main(path: str) -> int:
  """`--replay`: how far this machine's replay is from each recording."""
  try:
    with open(path, encoding='utf-8') as f:
      ref = json.load(f)
    paper = paper_module(ref['paper'])
    config = paper.CONFIG_CLASS(**ref['config'])
  except (OSError, ValueError, KeyError, TypeError) as error:
    print(f'error: {path}: {error}', file=sys.stderr)
    return 2
  actual = record(paper, config, ref['updates'], ref['compile_mode'])
  for rec in ref['recordings']:
    difference, update, name = worst_relative_difference(rec['trajectory'],
                                                         actual)
    print(f"{path}: against the recording made on {rec['platform']['cpu']!r} "
          f"({', '.join(rec['platform']['isa'])}): worst relative difference "
          f'{difference:.3g} at update {update} ({name})')
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
