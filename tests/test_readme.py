"""The README's commands and its library example are kept honest."""

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
