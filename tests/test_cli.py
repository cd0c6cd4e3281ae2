"""The reproduction scripts' command-line conventions, run as a user would.

Bad input must fail before any training with one line on stderr and exit
status 2; `--help` must show every flag with its default and its source.
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'reproductions', 'wgan_clip.py')


def run_script(*args, cwd=None):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=ROOT)
  return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True,
                        text=True, cwd=cwd, env=env, timeout=300, check=False)


def error_lines(result):
  """stderr lines that are ours (TensorFlow's start-up chatter aside)."""
  return [line for line in result.stderr.splitlines()
          if line.startswith('error:')]


BAD_INPUTS = [
    (['--dataset=cifar100'], "unknown --dataset 'cifar100'"),
    (['--batch_size=0'], '--batch_size must be > 0, got 0.'),
    (['--critic_learning_rate=-5e-05'],
     '--critic_learning_rate must be > 0, got -5e-05.'),
    (['--clip_value=0'], '--clip_value must be > 0, got 0.0.'),
    (['--image_size=40'], '--image_size must be a multiple of 16'),
    (['--steps=0'], '--steps must be > 0, got 0.'),
    (['--compile=fast'], "--compile must be one of xla, graph, eager, got 'fast'."),
]


@pytest.mark.parametrize('args,message', BAD_INPUTS,
                         ids=[a[0].split('=')[0] for a, _ in BAD_INPUTS])
def test_bad_input_fails_with_one_line_and_exit_2(tmp_path, args, message):
  workdir = tmp_path / 'run'
  result = run_script(f'--workdir={workdir}', *args)
  assert result.returncode == 2, result.stderr[-2000:]
  lines = error_lines(result)
  assert len(lines) == 1 and message in lines[0], result.stderr[-2000:]
  # Nothing was trained or written.
  assert not workdir.exists()


def test_unwritable_workdir_fails_with_exit_2(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('not a directory')
  result = run_script(f'--workdir={blocker}/run')
  assert result.returncode == 2
  lines = error_lines(result)
  assert len(lines) == 1 and 'cannot create workdir' in lines[0]


def test_finished_run_is_not_overwritten(tmp_path):
  workdir = tmp_path / 'run'
  workdir.mkdir()
  (workdir / 'config.json').write_text(json.dumps({'paper': 'wgan_clip'}))
  (workdir / 'status.json').write_text(json.dumps({'finished': True}))
  (workdir / 'history.jsonl').write_text('{"iteration": 0}\n')
  result = run_script(f'--workdir={workdir}', '--steps=5')
  assert result.returncode == 2
  assert 'holds a finished run; pass --overwrite' in error_lines(result)[0]
  assert (workdir / 'history.jsonl').read_text() == '{"iteration": 0}\n'


def test_help_shows_defaults_and_their_sources():
  result = run_script('--helpfull')
  # absl prints help to stdout and exits 1 (its convention); it wraps help
  # text at 80 columns.
  text = ' '.join(result.stdout.split())
  for expected in ("main.py --lrD 0.00005", "(default: '5e-05')",
                   'main.py --clamp_lower -0.01 --clamp_upper 0.01',
                   "torch.optim.RMSprop default alpha", "(default: '64')",
                   "--workdir", "(default: 'runs/wgan_clip')"):
    assert expected in text, expected
