"""Goodfellow et al. 2014's Parzen gap, measured: the runs and their summary.

The runs behind docs/goodfellow2014/parzen_study.json and .png, each an
ordinary `reproductions/goodfellow2014.py` run (so each resumes exactly from
its checkpoints when interrupted, and a finished one is continued by asking
for more steps). Two queues that can run side by side, one CPU thread each:

    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1 \\
        python tools/goodfellow2014_parzen_study.py run --queue=long --root=DIR
    TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1 \\
        python tools/goodfellow2014_parzen_study.py run --queue=short --root=DIR
    python tools/goodfellow2014_parzen_study.py collect --root=DIR \\
        --machine='2-core AMD EPYC'

`long`: seed 0, uniform noise (the default config), to 750 epochs: Parzen
every 5 epochs to epoch 100, then every 25.
`short`: 10 epochs of seeds 1-7 with uniform noise and seeds 0-7 with
Gaussian noise; then the two lowest seeds of 1-7 with uniform noise that did
not collapse, to 100 epochs (Parzen every 10); then Gaussian seed 0 to 250
epochs (Parzen every 10).

Every checkpoint reports parzen_ll.py's estimate (sigma from
logspace(-1, 0, 10)) and, as a secondary column, the same with a 100-point
grid over the same range (`--parzen_fine_sigmas=100`). `collect` reads the
run directories and writes one record per run and checkpoint, the summaries
(collapse rate, seed spread, best checkpoint) and the plot. Running a queue
again skips what is done and resumes what is not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from typing import Dict, List, Optional

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

# pylint: disable=wrong-import-position
from paper_gans.papers import goodfellow2014 as gf

SCRIPT = 'reproductions/goodfellow2014.py'
UPDATES_PER_EPOCH = 500  # 50,000 images, batch 100
FINE_SIGMAS = 100
SHORT_EPOCHS = 10
SPREAD_EPOCHS = 100
GAUSSIAN_EPOCHS = 250
LONG_EPOCHS = 750
SPREAD_SEEDS = 2  # beside seed 0 of the long run: three seeds to 100 epochs
STUDY_JSON = os.path.join(REPO, 'docs', 'goodfellow2014', 'parzen_study.json')
STUDY_PNG = os.path.join(REPO, 'docs', 'goodfellow2014', 'parzen_study.png')


def run_name(noise: str, seed: int) -> str:
  return f'{noise}_seed{seed}'


def stage_flags(noise: str, seed: int, epochs: int,
                checkpoint_epochs: int) -> List[str]:
  return [f'--noise={noise}', f'--seed={seed}',
          f'--steps={epochs * UPDATES_PER_EPOCH}',
          f'--checkpoint_every={checkpoint_epochs * UPDATES_PER_EPOCH}',
          f'--sample_every={checkpoint_epochs * UPDATES_PER_EPOCH}',
          '--log_every=1000', f'--parzen_fine_sigmas={FINE_SIGMAS}']


def _status(workdir: str) -> Dict:
  path = os.path.join(workdir, 'status.json')
  if not os.path.exists(path):
    return {}
  with open(path, encoding='utf-8') as f:
    return json.load(f)


def _done(workdir: str, steps: int) -> bool:
  status = _status(workdir)
  return bool(status.get('finished')) and status.get('iteration', 0) >= steps


def run_stage(root: str, noise: str, seed: int, epochs: int,
              checkpoint_epochs: int) -> None:
  """Trains `noise`/`seed` to `epochs`, unless a run there already has."""
  workdir = os.path.join(root, run_name(noise, seed))
  steps = epochs * UPDATES_PER_EPOCH
  if _done(workdir, steps):
    return
  command = [sys.executable, os.path.join(REPO, SCRIPT),
             *stage_flags(noise, seed, epochs, checkpoint_epochs),
             f'--workdir={workdir}']
  log_path = workdir + '.log'
  print(' '.join(command), '>>', log_path, flush=True)
  with open(log_path, 'a', encoding='utf-8') as log:
    code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT,
                           cwd=REPO)
  # 1: the expected-output check failed, which a 10-epoch or collapsed run
  # does; the measurements are in the run directory all the same.
  if code not in (0, 1):
    raise SystemExit(f'{" ".join(command)} exited with status {code}; see '
                     f'{log_path}.')


def collapsed_at_epoch(root: str, noise: str, seed: int, epoch: int) -> bool:
  history = gf.plots.read_history(
      os.path.join(root, run_name(noise, seed), 'history.jsonl'))
  return gf.collapsed_at(gf.discriminator_losses(history),
                         epoch * UPDATES_PER_EPOCH)


def spread_seeds(root: str) -> List[int]:
  """The SPREAD_SEEDS lowest seeds of 1-7 (uniform) not collapsed at 10."""
  healthy = [s for s in range(1, 8)
             if not collapsed_at_epoch(root, 'uniform', s, SHORT_EPOCHS)]
  return healthy[:SPREAD_SEEDS]


def run_queue(root: str, queue: str) -> None:
  if queue == 'long':
    run_stage(root, 'uniform', 0, SPREAD_EPOCHS, 5)
    run_stage(root, 'uniform', 0, LONG_EPOCHS, 25)
    return
  for seed in range(1, 8):
    run_stage(root, 'uniform', seed, SHORT_EPOCHS, SHORT_EPOCHS)
  for seed in range(8):
    run_stage(root, 'gaussian', seed, SHORT_EPOCHS, SHORT_EPOCHS)
  for seed in spread_seeds(root):
    run_stage(root, 'uniform', seed, SPREAD_EPOCHS, 10)
  run_stage(root, 'gaussian', 0, GAUSSIAN_EPOCHS, 10)


# --------------------------------------------------------------------------
# Collecting.
# --------------------------------------------------------------------------

def _read_jsonl(path: str) -> List[Dict]:
  return gf.plots.read_history(path) if os.path.exists(path) else []


def run_records(root: str, name: str) -> Optional[Dict]:
  """One run's records: its checkpoints, with the collapse of each."""
  workdir = os.path.join(root, name)
  config_path = os.path.join(workdir, 'config.json')
  if not os.path.exists(config_path):
    return None
  with open(config_path, encoding='utf-8') as f:
    config = json.load(f)
  history = _read_jsonl(os.path.join(workdir, 'history.jsonl'))
  losses = gf.discriminator_losses(history)
  checkpoints = []
  for row in _read_jsonl(os.path.join(workdir,
                                      gf.CHECKPOINT_METRICS_FILE)):
    iteration = row['iteration']
    checkpoints.append({
        'noise': config['noise'], 'seed': config['seed'],
        'epoch': iteration / UPDATES_PER_EPOCH, 'iteration': iteration,
        'parzen_mean': row['parzen_log_likelihood'],
        'parzen_std_error': row['parzen_std_error'],
        'sigma': row['parzen_sigma'],
        'parzen_mean_fine_sigma': row.get('parzen_log_likelihood_fine'),
        'parzen_std_error_fine_sigma': row.get('parzen_std_error_fine'),
        'sigma_fine': row.get('parzen_sigma_fine'),
        'collapsed': gf.collapsed_at(losses, iteration),
        'discriminator_loss_last_epoch_median': float(np.median(
            losses[max(0, iteration - UPDATES_PER_EPOCH):iteration])),
    })
  first = gf.first_collapse(losses)
  best = max(checkpoints, key=lambda r: r['parzen_mean'], default=None)
  return {
      'run': name, 'noise': config['noise'], 'seed': config['seed'],
      'epochs_trained': len(history) / UPDATES_PER_EPOCH,
      'first_collapse_epoch': (None if first is None
                               else first / UPDATES_PER_EPOCH),
      'best_checkpoint': best and {k: best[k] for k in
                                   ('epoch', 'parzen_mean',
                                    'parzen_std_error', 'sigma')},
      'checkpoints': checkpoints,
  }


def _at_epoch(run: Dict, epoch: float) -> Optional[Dict]:
  return next((c for c in run['checkpoints'] if c['epoch'] == epoch), None)


def summarise(runs: List[Dict]) -> Dict:
  """Collapse rate per noise at epoch 10; seed spread; the longest run."""
  summary: Dict = {'collapse_at_epoch_10': {}, 'seed_spread': {}}
  for noise in gf.NOISES:
    at_10 = [(r['seed'], _at_epoch(r, SHORT_EPOCHS)) for r in runs
             if r['noise'] == noise]
    at_10 = [(s, c) for s, c in at_10 if c is not None]
    summary['collapse_at_epoch_10'][noise] = {
        'seeds': sorted(s for s, _ in at_10),
        'collapsed_seeds': sorted(s for s, c in at_10 if c['collapsed']),
        'parzen_mean_by_seed': {str(s): c['parzen_mean']
                                for s, c in sorted(at_10)},
    }
  spread_runs = [r for r in runs if r['noise'] == 'uniform'
                 and r['epochs_trained'] >= SPREAD_EPOCHS
                 and r['first_collapse_epoch'] is None]
  if spread_runs:
    epochs = sorted(set.intersection(*[
        {c['epoch'] for c in r['checkpoints']} for r in spread_runs]))
    for epoch in epochs:
      values = [_at_epoch(r, epoch)['parzen_mean'] for r in spread_runs]
      summary['seed_spread'][f'{epoch:g}'] = {
          'seeds': [r['seed'] for r in spread_runs],
          'mean': float(np.mean(values)),
          'std': float(np.std(values, ddof=1)) if len(values) > 1 else None}
  return summary


def save_plot(runs: List[Dict], path: str, ceiling: Optional[Dict]) -> None:
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, ax = plt.subplots(figsize=(8, 4.8), dpi=100)
  colours = {'uniform': 'tab:blue', 'gaussian': 'tab:orange'}
  for run in runs:
    rows = run['checkpoints']
    if not rows:
      continue
    epochs = [c['epoch'] for c in rows]
    means = [c['parzen_mean'] for c in rows]
    if len(rows) == 1:
      ax.plot(epochs, means, 'x' if rows[0]['collapsed'] else 'o', ms=4,
              color=colours[run['noise']], alpha=0.7)
    else:
      ax.plot(epochs, means, '-', lw=1.2, color=colours[run['noise']],
              alpha=0.9, label=f"{run['noise']}, seed {run['seed']}")
  ax.axhline(225.0, color='tab:red', ls='--', lw=1,
             label='paper Table 1: 225 +- 2')
  ax.axhspan(223.0, 227.0, color='tab:red', alpha=0.1)
  if ceiling:
    ax.axhline(ceiling['mean'], color='k', ls=':', lw=1,
               label=f"real train[:10000] as centres {ceiling['mean']:.1f}")
  ax.plot([], [], 'o', color='grey', ms=4, label='10-epoch seed (x: collapsed)')
  ax.set_xlabel('epoch (500 updates)')
  ax.set_ylabel('Parzen log-likelihood of MNIST test (nats)')
  ax.set_ylim(bottom=max(-400.0, ax.get_ylim()[0]))
  ax.legend(fontsize=7, loc='lower right')
  ax.set_title('Goodfellow et al. 2014, MNIST: noise, seed and run length',
               fontsize=9)
  fig.tight_layout()
  fig.savefig(path)
  plt.close(fig)


def collect(root: str, machine: str, out_json: str, out_png: str) -> None:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from paper_gans import evaluation  # pylint: disable=g-import-not-at-top
  names = sorted(n for n in os.listdir(root)
                 if os.path.isdir(os.path.join(root, n)))
  runs = [r for r in (run_records(root, n) for n in names) if r]
  ceiling = evaluation.load_ceilings().get('mnist', {}).get('parzen')
  commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO,
                          capture_output=True, text=True).stdout.strip()
  study = {
      'what': "Goodfellow et al. 2014's Parzen estimate (paper Table 1: "
              '225 +- 2) across noise, seed and run length; '
              'tools/goodfellow2014_parzen_study.py',
      'commands': {
          'long': 'python tools/goodfellow2014_parzen_study.py run '
                  '--queue=long --root=DIR',
          'short': 'python tools/goodfellow2014_parzen_study.py run '
                   '--queue=short --root=DIR',
          'each run': f'python {SCRIPT} ' + ' '.join(
              stage_flags('NOISE', 0, 0, 0)[:1]) + ' --seed=SEED '
              '--steps=... --checkpoint_every=... --sample_every=... '
              f'--log_every=1000 --parzen_fine_sigmas={FINE_SIGMAS} '
              '--workdir=DIR/NOISE_seedSEED',
      },
      'machine': machine, 'threads_per_run': 1,
      'tensorflow': tf.__version__, 'python': platform.python_version(),
      'compile': 'xla', 'dtype': 'float32', 'commit': commit,
      'collapse_definition': (
          f'discriminator loss (halved cross-entropy) below '
          f'{gf.COLLAPSE_DISCRIMINATOR_LOSS} on each of the '
          f'{gf.COLLAPSE_WINDOW} updates before the checkpoint '
          '(paper_gans.papers.goodfellow2014.collapsed_at)'),
      'sigma_grids': {'sigma': "parzen_ll.py's logspace(-1, 0, 10)",
                      'sigma_fine': f'logspace(-1, 0, {FINE_SIGMAS}), '
                                    'secondary'},
      'real_data_ceiling': ceiling,
      'summary': summarise(runs),
      'runs': runs,
  }
  with open(out_json, 'w', encoding='utf-8') as f:
    json.dump(study, f, indent=1, sort_keys=True)
    f.write('\n')
  save_plot(runs, out_png, ceiling)
  print(f'{len(runs)} runs, '
        f"{sum(len(r['checkpoints']) for r in runs)} checkpoints -> "
        f'{out_json}, {out_png}')


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  sub = parser.add_subparsers(dest='command', required=True)
  run_parser = sub.add_parser('run', help='train one queue of runs')
  run_parser.add_argument('--queue', choices=('long', 'short'), required=True)
  run_parser.add_argument('--root', required=True,
                          help='directory of the run directories')
  collect_parser = sub.add_parser('collect', help='write the JSON and plot')
  collect_parser.add_argument('--root', required=True)
  collect_parser.add_argument('--machine', required=True,
                              help='the CPU the runs were measured on')
  collect_parser.add_argument('--out_json', default=STUDY_JSON)
  collect_parser.add_argument('--out_png', default=STUDY_PNG)
  args = parser.parse_args(argv)
  if args.command == 'run':
    run_queue(args.root, args.queue)
  else:
    collect(args.root, args.machine, args.out_json, args.out_png)


if __name__ == '__main__':
  main()
