"""tools/goodfellow2014_parzen_study.py: records and summaries of its runs."""

import importlib.util
import json
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location(
    'goodfellow2014_parzen_study',
    os.path.join(ROOT, 'tools', 'goodfellow2014_parzen_study.py'))
study = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(study)


def _fake_run(root, noise, seed, d_losses, parzen_by_epoch):
  workdir = root / study.run_name(noise, seed)
  workdir.mkdir()
  (workdir / 'config.json').write_text(json.dumps(
      {'noise': noise, 'seed': seed}))
  with open(workdir / 'history.jsonl', 'w') as f:
    for t, loss in enumerate(d_losses):
      f.write(json.dumps({'iteration': t, 'discriminator_loss': [loss],
                          'generator_loss': 1.0}) + '\n')
  with open(workdir / 'checkpoint_metrics.jsonl', 'w') as f:
    for epoch, mean in parzen_by_epoch.items():
      f.write(json.dumps({
          'iteration': epoch * study.UPDATES_PER_EPOCH,
          'parzen_log_likelihood': mean, 'parzen_std_error': 2.0,
          'parzen_sigma': 0.2, 'parzen_log_likelihood_fine': mean + 1.0,
          'parzen_std_error_fine': 2.0, 'parzen_sigma_fine': 0.21}) + '\n')


def test_records_mark_collapse_and_summaries_count_it(tmp_path):
  updates = 20 * study.UPDATES_PER_EPOCH
  healthy = np.full(updates, 0.5)
  collapsed = healthy.copy()
  collapsed[3000:] = 1e-4  # collapsed from update 4,000 (epoch 8) on
  _fake_run(tmp_path, 'uniform', 1, healthy, {10: 20.0, 20: 60.0})
  _fake_run(tmp_path, 'uniform', 2, collapsed, {10: -300.0, 20: -320.0})
  _fake_run(tmp_path, 'uniform', 3, healthy, {10: 40.0, 20: 80.0})
  runs = [study.run_records(str(tmp_path), study.run_name('uniform', s))
          for s in (1, 2, 3)]
  assert runs[1]['first_collapse_epoch'] == 8.0
  assert [c['collapsed'] for c in runs[1]['checkpoints']] == [True, True]
  assert runs[0]['best_checkpoint']['epoch'] == 20.0
  assert runs[0]['checkpoints'][0]['parzen_mean_fine_sigma'] == 21.0
  summary = study.summarise(runs)
  at_10 = summary['collapse_at_epoch_10']['uniform']
  assert at_10['seeds'] == [1, 2, 3]
  assert at_10['collapsed_seeds'] == [2]
  # Seed spread only over runs of at least 100 epochs: none here.
  assert summary['seed_spread'] == {}
