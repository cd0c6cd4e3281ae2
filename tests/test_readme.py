"""The README's commands and its library example are kept honest."""

import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _readme():
  with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as f:
    return f.read()


def _blocks(language):
  return re.findall(rf'```{language}\n(.*?)```', _readme(), flags=re.S)


def test_quick_start_has_two_commands_and_ci_runs_the_second():
  quick_start = _readme().split('## Quick start', 1)[1].split('## ', 1)[0]
  commands = re.findall(r'```bash\n(.*?)```', quick_start, flags=re.S)[0]
  lines = [l for l in commands.splitlines() if l.strip()]
  assert len(lines) == 2
  with open(os.path.join(ROOT, '.ci', 'run'), encoding='utf-8') as f:
    ci_lines = [l.strip() for l in f]
  assert lines[1].strip() in ci_lines


def test_library_example_runs(tmp_path):
  # The README's example, run in a fresh interpreter with 3 generator
  # iterations instead of 2,000 (the rest verbatim), must run and print
  # the mode metrics.
  example = next(b for b in _blocks('python') if 'GANTrainer' in b)
  assert len(example.strip().splitlines()) < 30
  assert 'range(2000)' in example
  script = tmp_path / 'example.py'
  script.write_text(example.replace('range(2000)', 'range(3)'))
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', PYTHONPATH=ROOT)
  result = subprocess.run([sys.executable, str(script)], capture_output=True,
                          text=True, env=env, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert '0 critic loss' in result.stdout
  assert "'modes_covered'" in result.stdout


def _quick_start_text():
  return _readme().split('## Quick start', 1)[1].split('\n## ', 1)[0]


def test_quick_start_command_is_a_documented_run_with_its_own_check():
  # The first command trains a real reproduction whose expected-output
  # file exists and lists this very command; its measured time and date
  # stand beside it (training it takes minutes, so no test runs it).
  quick_start = _quick_start_text()
  first = re.findall(r'```bash\n(.*?)```', quick_start, flags=re.S)[0]
  first = first.splitlines()[0]
  install, command = first.split(' && ', 1)
  assert install == 'pip install -e .'
  words = command.split()
  assert words[0] == 'python' and os.path.isfile(os.path.join(ROOT, words[1]))
  expected = [w.split('=', 1)[1] for w in words if w.startswith('--expected=')]
  assert len(expected) == 1
  with open(os.path.join(ROOT, expected[0]), encoding='utf-8') as f:
    assert json.load(f)['short_cpu_run']['command'] == command
  assert expected[0] in quick_start
  assert re.search(r'\*\*\d+ min \d+ s\*\* from a fresh clone, install '
                   r'excluded, on a 2-core', quick_start)
  assert re.search(r'\d{4}-\d\d-\d\d', quick_start.split('```')[2])


def test_quick_start_says_how_long_the_wgan_runs_take():
  # `python reproductions/wgan_clip.py` keeps working as before; the README
  # says how long it and its documented short run take.
  text = ' '.join(_quick_start_text().split())
  assert '`python reproductions/wgan_clip.py`' in text
  with open(os.path.join(ROOT, 'reproductions', 'expected', 'wgan_clip.json'),
            encoding='utf-8') as f:
    short = json.load(f)['short_cpu_run']['command']
  flags_only = short.split('wgan_clip.py ', 1)[1]
  assert f'`{flags_only}`, took 21.5 minutes' in text
  assert 'hours' in text.split(flags_only)[0]
