"""The work-directory rules: nothing on disk is lost without --overwrite."""

import json
import os
import stat

import pytest

from paper_gans import runner
from paper_gans.errors import ConfigError

CONFIG = {'learning_rate': 5e-5, 'steps': 10}


def _finished_run(path):
  os.makedirs(path)
  runner.write_json(os.path.join(path, runner.CONFIG_FILE), CONFIG)
  runner.write_json(os.path.join(path, runner.STATUS_FILE), {'finished': True})
  with open(os.path.join(path, 'history.jsonl'), 'w') as f:
    f.write('{"iteration": 0}\n')


def test_new_directory_is_created(tmp_path):
  workdir = str(tmp_path / 'a' / 'b')
  assert runner.prepare_workdir(workdir, CONFIG, overwrite=False) == 'new'
  assert os.path.isdir(workdir)


def test_finished_run_is_not_overwritten(tmp_path):
  workdir = str(tmp_path / 'run')
  _finished_run(workdir)
  with pytest.raises(ConfigError, match='holds a finished run; pass --overwrite'):
    runner.prepare_workdir(workdir, CONFIG, overwrite=False)
  # Still there, untouched.
  assert os.path.exists(os.path.join(workdir, 'history.jsonl'))


def test_finished_run_is_continued_by_the_same_config_run_longer(tmp_path):
  workdir = str(tmp_path / 'run')
  _finished_run(workdir)
  runner.write_json(os.path.join(workdir, runner.STATUS_FILE),
                    {'finished': True, 'iteration': 10})
  longer = dict(CONFIG, steps=20)
  assert runner.prepare_workdir(workdir, longer, overwrite=False) == 'resume'
  assert os.path.exists(os.path.join(workdir, 'history.jsonl'))
  # Not with the same length, nor with a changed config.
  with pytest.raises(ConfigError, match='holds a finished run; pass --overwrite'):
    runner.prepare_workdir(workdir, CONFIG, overwrite=False)
  with pytest.raises(ConfigError, match='holds a finished run; pass --overwrite'):
    runner.prepare_workdir(workdir, dict(longer, learning_rate=1e-4),
                           overwrite=False)


def test_finished_run_is_replaced_with_overwrite(tmp_path):
  workdir = str(tmp_path / 'run')
  _finished_run(workdir)
  assert runner.prepare_workdir(workdir, CONFIG, overwrite=True) == 'new'
  assert os.listdir(workdir) == []


def test_unfinished_run_with_same_config_resumes(tmp_path):
  workdir = str(tmp_path / 'run')
  os.makedirs(workdir)
  runner.write_json(os.path.join(workdir, runner.CONFIG_FILE), CONFIG)
  runner.write_json(os.path.join(workdir, runner.STATUS_FILE),
                    {'finished': False})
  longer = dict(CONFIG, steps=20)  # Run length may change on resume.
  assert runner.prepare_workdir(workdir, longer, overwrite=False) == 'resume'


def test_run_length_in_iterations_may_change_on_resume(tmp_path):
  # WGAN-GP's config states its run length as `iterations` (the scripts'
  # ITERS), as others state `epochs`.
  workdir = str(tmp_path / 'run')
  os.makedirs(workdir)
  runner.write_json(os.path.join(workdir, runner.CONFIG_FILE),
                    dict(CONFIG, iterations=100000))
  runner.write_json(os.path.join(workdir, runner.STATUS_FILE),
                    {'finished': False})
  longer = dict(CONFIG, iterations=200000)
  assert runner.prepare_workdir(workdir, longer, overwrite=False) == 'resume'


def test_unfinished_run_with_other_config_is_refused(tmp_path):
  workdir = str(tmp_path / 'run')
  os.makedirs(workdir)
  runner.write_json(os.path.join(workdir, runner.CONFIG_FILE), CONFIG)
  other = dict(CONFIG, learning_rate=1e-4)
  with pytest.raises(ConfigError, match='learning_rate=5e-05, not 0.0001'):
    runner.prepare_workdir(workdir, other, overwrite=False)


def test_foreign_directory_is_never_deleted(tmp_path):
  workdir = tmp_path / 'mine'
  workdir.mkdir()
  (workdir / 'thesis.tex').write_text('precious')
  for overwrite in (False, True):
    with pytest.raises(ConfigError, match='holds no paper_gans run'):
      runner.prepare_workdir(str(workdir), CONFIG, overwrite=overwrite)
  assert (workdir / 'thesis.tex').read_text() == 'precious'


@pytest.mark.skipif(os.geteuid() == 0, reason='root can write anywhere')
def test_unwritable_directory(tmp_path):
  parent = tmp_path / 'ro'
  parent.mkdir()
  parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
  with pytest.raises(ConfigError, match='cannot create workdir'):
    runner.prepare_workdir(str(parent / 'run'), CONFIG, overwrite=False)


def test_workdir_that_is_a_file(tmp_path):
  path = tmp_path / 'file'
  path.write_text('x')
  with pytest.raises(ConfigError, match='is not a directory'):
    runner.prepare_workdir(str(path), CONFIG, overwrite=False)


def test_write_json_is_atomic(tmp_path):
  path = str(tmp_path / 'x.json')
  runner.write_json(path, {'a': 1})
  assert json.load(open(path)) == {'a': 1}
  assert not os.path.exists(path + '.tmp')


def test_uncreatable_directory_under_a_file(tmp_path):
  # Works as root too (CI runs as root, where chmod cannot make a directory
  # unwritable): a directory cannot be created inside a regular file.
  blocker = tmp_path / 'blocker'
  blocker.write_text('x')
  with pytest.raises(ConfigError, match="cannot create workdir '.*blocker/run'"):
    runner.prepare_workdir(str(blocker / 'run'), CONFIG, overwrite=False)


def _unfinished_run(path, record):
  os.makedirs(path)
  runner.write_json(os.path.join(path, runner.CONFIG_FILE), record)
  runner.write_json(os.path.join(path, runner.STATUS_FILE),
                    {'finished': False})


def test_run_recorded_under_a_deprecated_preset_name_resumes(tmp_path,
                                                             capsys):
  # An unfinished conditional-DCGAN run whose config.json says preset
  # 'seed' (today 'znxlwm'; the same settings): both configs are built
  # through the paper's config class before they are compared.
  from paper_gans import cli  # pylint: disable=g-import-not-at-top
  from paper_gans.papers import cdcgan_mnist  # pylint: disable=g-import-not-at-top
  record = cli.run_record(cdcgan_mnist.NAME, cdcgan_mnist.make_config(), 50,
                          'xla')
  assert record['preset'] == 'znxlwm'
  workdir = str(tmp_path / 'run')
  _unfinished_run(workdir, dict(record, preset='seed'))
  config_class = cdcgan_mnist.CDCGANMnistConfig
  # Compared as stored, the old name is a different config.
  with pytest.raises(ConfigError, match="preset='seed', not 'znxlwm'"):
    runner.prepare_workdir(workdir, record, overwrite=False)
  assert runner.prepare_workdir(workdir, dict(record, steps=100),
                                overwrite=False,
                                config_class=config_class) == 'resume'
  assert capsys.readouterr().err == (
      'warning: --preset=seed is deprecated; it is now --preset=znxlwm (the '
      'same settings).\n')
  # A real difference is still refused, and a field missing from an older
  # record still counts as one.
  with pytest.raises(ConfigError, match='batch_size=100, not 64'):
    runner.prepare_workdir(workdir, dict(record, batch_size=64),
                           overwrite=False, config_class=config_class)
  older = str(tmp_path / 'older')
  _unfinished_run(older, {k: v for k, v in record.items() if k != 'split'})
  with pytest.raises(ConfigError, match="split=None, not 'train"):
    runner.prepare_workdir(older, record, overwrite=False,
                           config_class=config_class)
