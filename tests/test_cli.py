"""The reproduction scripts' command-line conventions.

Bad input must fail before any training with one line on stderr and exit
status 2; `--help` must show every flag of the script with its default and
its source. Most of this runs in this process on the code the scripts run
(`cli.check_command_line` with a script's flags); a few subprocesses check
what only a fresh process shows: TensorFlow's start-up lines are held back
(in the scripts and in the `python -m paper_gans.*` modules that import
TensorFlow at the top), so stderr holds exactly the one line (or nothing,
for `--help`), and a real script's `--help` lists its flags.
"""

import ast
import importlib
import json
import os
import subprocess
import sys

import pytest
from absl import flags

from paper_gans import cli
from paper_gans import runner
from paper_gans.errors import ConfigError
from paper_gans.papers import cdcgan_mnist
from paper_gans.papers import wgan_clip
from paper_gans.papers import wgan_gp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT_DIR = os.path.join(ROOT, 'reproductions')


def script_flags(paper):
  """The flags a reproduction script defines, in a FlagValues of their own."""
  flag_values = flags.FlagValues()
  cli.define_config_flags(paper.CONFIG_CLASS, flag_values)
  cli.define_run_flags(paper.NAME, flag_values)
  return flag_values


def check(paper, *args):
  """What the script checks before training, for `script *args`."""
  return cli.check_command_line(paper, ['script', *args], script_flags(paper))


def run_script(name, *args, cwd=None):
  """Runs reproductions/<name>.py as a user does: no TF_CPP_MIN_LOG_LEVEL."""
  env = dict(os.environ, PYTHONPATH=ROOT)
  env.pop(cli.TF_LOG_LEVEL_VARIABLE, None)
  return subprocess.run(
      [sys.executable, os.path.join(SCRIPT_DIR, f'{name}.py'), *args],
      capture_output=True, text=True, cwd=cwd, env=env, timeout=300,
      check=False)


BAD_INPUTS = [
    (wgan_clip, ['--dataset=cifar100'], "unknown --dataset 'cifar100'"),
    (wgan_clip, ['--batch_size=0'], '--batch_size must be > 0, got 0.'),
    (wgan_clip, ['--critic_learning_rate=-5e-05'],
     '--critic_learning_rate must be > 0, got -5e-05.'),
    (wgan_clip, ['--clip_value=0'], '--clip_value must be > 0, got 0.0.'),
    (wgan_clip, ['--image_size=40'], '--image_size must be a multiple of 16'),
    (wgan_clip, ['--steps=0'], '--steps must be > 0, got 0.'),
    (wgan_clip, ['--compile=fast'],
     "--compile must be one of xla, graph, eager, got 'fast'."),
    # Non-finite floats never reach the config.
    (wgan_clip, ['--clip_value=inf'], 'flag --clip_value=inf: not a finite '
     'number'),
    (wgan_clip, ['--epochs=inf'], 'flag --epochs=inf: not a finite number'),
    (cdcgan_mnist, ['--learning_rate=nan'],
     'flag --learning_rate=nan: not a finite number'),
    (wgan_gp, ['--gradient_penalty_weight=-inf'],
     'flag --gradient_penalty_weight=-inf: not a finite number'),
    # absl's own errors, one line each.
    (wgan_clip, ['--nosuchflag=1'],
     'unknown flag --nosuchflag; --help lists every flag.'),
    (wgan_clip, ['--clip_valu=1'],
     'unknown flag --clip_valu; did you mean --clip_value? --help lists '
     'every flag.'),
    (wgan_clip, ['--batch_size=abc'], 'flag --batch_size=abc: invalid literal'),
    (wgan_clip, ['extra'], 'unexpected arguments: extra; every setting is a '
     '--flag'),
    (cdcgan_mnist, ['--preset=twin'],
     "--preset must be one of znxlwm, newmu, got 'twin'."),
]


def test_bad_input_fails_before_anything_is_written(tmp_path):
  for paper, args, message in BAD_INPUTS:
    workdir = tmp_path / 'run'
    with pytest.raises(ConfigError) as raised:
      check(paper, f'--workdir={workdir}', *args)
    assert str(raised.value).startswith(message), (args, str(raised.value))
    assert '\n' not in str(raised.value), args
    assert not workdir.exists(), args


def test_bad_input_is_one_line_and_exit_2(capsys):
  # What cli.run does with a ConfigError of the checks, and with a NaN loss.
  parse = cli.flags_parser(script_flags(wgan_clip),
                           check=lambda args: None)
  with pytest.raises(SystemExit) as exited:
    parse(['script', '--clip_value=nan'])
  assert exited.value.code == cli.EXIT_BAD_INPUT
  assert capsys.readouterr().err == (
      'error: flag --clip_value=nan: not a finite number\n')

  def diverged(argv):
    raise runner.NonFiniteLossError('generator_loss is nan at generator '
                                    'iteration 3; stopped.')
  with pytest.raises(SystemExit) as exited:
    cli.main_wrapper(diverged)(['script'])
  assert exited.value.code == cli.EXIT_NON_FINITE
  assert capsys.readouterr().err == (
      'error: generator_loss is nan at generator iteration 3; stopped.\n')


def test_unwritable_workdir_fails(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('not a directory')
  with pytest.raises(ConfigError, match='cannot create workdir'):
    check(wgan_clip, f'--workdir={blocker}/run')


def test_finished_run_is_not_overwritten(tmp_path):
  workdir = tmp_path / 'run'
  workdir.mkdir()
  (workdir / 'config.json').write_text(json.dumps({'paper': 'wgan_clip'}))
  (workdir / 'status.json').write_text(json.dumps({'finished': True}))
  (workdir / 'history.jsonl').write_text('{"iteration": 0}\n')
  with pytest.raises(ConfigError,
                     match='holds a finished run; pass --overwrite'):
    check(wgan_clip, f'--workdir={workdir}', '--steps=5')
  assert (workdir / 'history.jsonl').read_text() == '{"iteration": 0}\n'


def test_flags_given_win_over_the_preset_and_old_names_still_work(tmp_path,
                                                                   capsys):
  launch = check(cdcgan_mnist, f'--workdir={tmp_path / "a"}',
                 '--preset=newmu', '--batch_size=64', '--steps=3')
  assert launch.config == cdcgan_mnist.make_config(preset='newmu',
                                                   batch_size=64)
  assert (launch.state, launch.options.steps) == ('new', 3)
  capsys.readouterr()
  launch = check(cdcgan_mnist, f'--workdir={tmp_path / "b"}', '--preset=seed')
  assert launch.config == cdcgan_mnist.make_config()
  assert launch.config.preset == 'znxlwm'
  assert capsys.readouterr().err == (
      'warning: --preset=seed is deprecated; it is now --preset=znxlwm (the '
      'same settings).\n')


def test_a_run_recorded_as_preset_seed_resumes_from_the_script(tmp_path,
                                                               capsys):
  # The command line a user re-runs on a run started before the preset was
  # renamed: its config.json says 'seed', the flags give today's name.
  workdir = tmp_path / 'run'
  workdir.mkdir()
  record = cli.run_record(cdcgan_mnist.NAME, cdcgan_mnist.make_config(), 5,
                          'xla')
  (workdir / 'config.json').write_text(json.dumps(dict(record,
                                                       preset='seed')))
  (workdir / 'status.json').write_text(json.dumps({'finished': False}))
  launch = check(cdcgan_mnist, f'--workdir={workdir}', '--steps=5')
  assert (launch.state, launch.config.preset) == ('resume', 'znxlwm')
  assert 'deprecated' in capsys.readouterr().err


def test_expected_names_the_file_whose_thresholds_the_check_applies(
    tmp_path):
  quick = os.path.join(ROOT, 'reproductions', 'expected',
                       'goodfellow2014_quick_start.json')
  from paper_gans.papers import goodfellow2014  # pylint: disable=g-import-not-at-top
  launch = check(goodfellow2014, f'--workdir={tmp_path / "a"}', '--steps=5',
                 f'--expected={quick}')
  assert launch.expected_path == quick
  assert check(wgan_clip, f'--workdir={tmp_path / "b"}',
               '--steps=5').expected_path is None  # the paper's own file
  # Bad input, before anything is written: a missing file, not JSON, or
  # without the section a run of this length applies (the quick start's
  # file has no full_run).
  not_json = tmp_path / 'x.json'
  not_json.write_text('{')
  for args, message in [
      ([f'--expected={tmp_path / "none.json"}'], 'cannot read --expected'),
      ([f'--expected={not_json}'], f"--expected '{not_json}' is not JSON"),
      ([f'--expected={quick}', '--epochs=0.01'],
       f"--expected '{quick}' has no 'full_run' section, which a run of this "
       'length applies (it holds: paper, short_cpu_run).')]:
    workdir = tmp_path / 'run'
    with pytest.raises(ConfigError) as raised:
      check(goodfellow2014, f'--workdir={workdir}', *args)
    assert str(raised.value).startswith(message), str(raised.value)
    assert '\n' not in str(raised.value)
    assert not workdir.exists()
  # WGAN-GP's fixed generator is checked with its own section.
  with pytest.raises(ConfigError, match="no 'fixed_generator' section"):
    check(wgan_gp, f'--workdir={tmp_path / "c"}', '--fixed_generator',
          '--steps=5', f'--expected={quick}')


def test_every_flag_is_the_scripts_own_with_default_and_source():
  # absl's --help lists the key flags of the main module; the flags cli
  # defines are the calling module's (here this test module), not cli's.
  for paper in (wgan_clip, cdcgan_mnist, wgan_gp):
    flag_values = script_flags(paper)
    own = {f.name for f in flag_values.get_key_flags_for_module(
        sys.modules[__name__])}
    assert own == set(flag_values) and len(own) > 10, paper.NAME
    assert not flag_values.get_key_flags_for_module(cli)
  text = ' '.join(script_flags(wgan_clip).module_help(
      sys.modules[__name__]).split())
  for expected in ('main.py --lrD 0.00005', "(default: '5e-05')",
                   'main.py --clamp_lower -0.01 --clamp_upper 0.01',
                   'torch.optim.RMSprop default alpha', "(default: '64')",
                   '--workdir', "(default: 'runs/wgan_clip')"):
    assert expected in text, expected


def test_every_script_quiets_tensorflow_then_runs_through_cli():
  # The in-process tests above run what the scripts run only if each
  # script is just its paper's flags and cli.run, with TensorFlow's log
  # level set before the paper module imports it.
  names = sorted(n[:-3] for n in os.listdir(SCRIPT_DIR) if n.endswith('.py'))
  assert len(names) == 5
  for name in names:
    with open(os.path.join(SCRIPT_DIR, f'{name}.py'), encoding='utf-8') as f:
      tree = ast.parse(f.read())
    config_class = importlib.import_module(
        f'paper_gans.papers.{name}').CONFIG_CLASS.__name__
    statements = [ast.unparse(node) for node in tree.body[1:]]
    assert statements == [
        'from paper_gans import cli', 'cli.quiet_tensorflow()',
        f'from paper_gans.papers import {name}',
        f'cli.define_config_flags({name}.{config_class})',
        f'cli.define_run_flags({name}.NAME)',
        f"if __name__ == '__main__':\n    cli.run({name})"], name


def test_tensorflow_start_up_lines_below_the_level_are_held_back(monkeypatch):
  text = ('WARNING: All log messages before absl::InitializeLog() is called '
          'are written to STDERR\n'
          'I0000 00:00:1796191694.394682   29715 cudart_stub.cc:31] Could not '
          'find cuda drivers on your machine, GPU will not be used.\n'
          'W0000 00:00:1796191694.5   29715 x.cc:1] a warning\n'
          'E0000 00:00:1796191697.766695   29715 cuda_platform.cc:52] failed '
          'call to cuInit\n'
          '2023-08-25 11:11:47.521702: I tensorflow/tsl/cuda/cudart_stub.cc:28]'
          ' old format\n'
          'UserWarning: a Python warning\n')
  lines = text.splitlines(keepends=True)
  assert cli.log_lines_shown(text, '2') == lines[3] + lines[5]
  assert cli.log_lines_shown(text, '3') == lines[5]
  assert cli.log_lines_shown(text, '0') == text
  assert cli.log_lines_shown(text, 'x') == text
  # A level the user set is kept; otherwise errors only.
  monkeypatch.setenv(cli.TF_LOG_LEVEL_VARIABLE, '0')
  cli.quiet_tensorflow()  # TensorFlow is imported: only the level is set.
  assert os.environ[cli.TF_LOG_LEVEL_VARIABLE] == '0'
  monkeypatch.delenv(cli.TF_LOG_LEVEL_VARIABLE)
  cli.quiet_tensorflow()
  assert os.environ[cli.TF_LOG_LEVEL_VARIABLE] == '2'


def test_a_fresh_script_prints_exactly_one_line_for_bad_input(tmp_path):
  workdir = tmp_path / 'run'
  result = run_script('wgan_clip', f'--workdir={workdir}', '--image_size=40')
  assert result.returncode == 2, result.stderr[-2000:]
  assert result.stderr == ('error: --image_size must be a multiple of 16 '
                           '(main.py asserts isize % 16 == 0), got 40.\n')
  assert result.stdout == ''
  assert not workdir.exists()


def run_module(module, *args, cwd=None):
  """Runs `python -m <module>` as a user does: no TF_CPP_MIN_LOG_LEVEL."""
  env = dict(os.environ, PYTHONPATH=ROOT)
  env.pop(cli.TF_LOG_LEVEL_VARIABLE, None)
  return subprocess.run([sys.executable, '-m', module, *args],
                        capture_output=True, text=True, cwd=cwd, env=env,
                        timeout=300, check=False)


def test_modules_that_import_tensorflow_at_the_top_start_quietly(tmp_path):
  # paper_gans.reference imports TensorFlow at the top, and the package
  # paper_gans.evaluation before any of its modules runs; TensorFlow's
  # start-up lines ('Could not find cuda drivers' on a CPU machine) are
  # held back there too, so stderr holds only the command's own line.
  missing = tmp_path / 'missing.json'
  result = run_module('paper_gans.reference', '--replay', f'--out={missing}')
  assert result.returncode == 2
  assert result.stderr.startswith(f'error: {missing}: ')
  assert result.stderr.count('\n') == 1, result.stderr
  result = run_module('paper_gans.evaluation.ceilings', '--help')
  assert result.returncode == 0 and result.stderr == '', result.stderr
  assert '--out' in result.stdout


def test_help_lists_every_flag_of_the_script_with_default_and_source():
  result = run_script('wgan_clip', '--help')
  # absl prints help to stdout and exits 1 (its convention); nothing else
  # reaches stderr.
  assert result.returncode == 1 and result.stderr == '', result.stderr
  text = ' '.join(result.stdout.split())  # absl wraps help at 80 columns.
  for name in script_flags(wgan_clip):
    assert f'--{name}: ' in text or f'--[no]{name}: ' in text, name
  for expected in ('main.py --clamp_lower -0.01 --clamp_upper 0.01',
                   "(default: '0.01')", "(default: 'runs/wgan_clip')"):
    assert expected in text, expected
  assert 'Try --helpfull to get a list of all flags.' in text
