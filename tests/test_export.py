"""`python -m paper_gans.export`: a trained generator as a SavedModel.

The module fixture trains two tiny runs through the runner, as a
reproduction script does (config.json, checkpoints/), on synthetic batches
(the data pipeline is not what is tested): the conditional DCGAN's default
preset at batch 2 (batch norm with gamma and beta, labels) and WGAN's DCGAN
generator at 32x32 with 8 channels (batch norm, no labels). Both are
exported, then reloaded in a fresh interpreter that cannot import
paper_gans, which runs the README's example on one and calls the other: the
samples must be the trainers' own, bit for bit.
"""

import dataclasses
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from paper_gans import cli
from paper_gans import evaluate
from paper_gans import export
from paper_gans import runner
from paper_gans.errors import ConfigError
from paper_gans.papers import cdcgan_mnist
from paper_gans.papers import wgan_clip

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README_MODEL = 'exported/cdcgan_mnist'  # The path in the README's example.


def _train(paper, config, workdir, steps):
  """A finished run of `steps` iterations, a checkpoint after each."""
  trainer = paper.build_trainer(config, 'eager')
  shape = [config.batch_size, *trainer.generator.output_shape]

  def make_dataset(start_batch):
    del start_batch  # The same two batches over and over.
    images = tf.random.stateless_uniform([2, *shape], [7, 0], -1.0, 1.0)
    labels = tf.constant([[3, 8], [0, 9]], tf.int32)[:, :config.batch_size]
    return tf.data.Dataset.from_tensor_slices((images, labels)).repeat()

  options = runner.RunOptions(workdir=workdir, steps=steps, log_every=1,
                              sample_every=steps, checkpoint_every=1,
                              verbose=False)
  runner.run_training(trainer, make_dataset, options,
                      cli.run_record(paper.NAME, config, steps, 'eager'),
                      name=paper.NAME,
                      value_range=evaluate.value_range_of(paper, config))
  return trainer


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
  root = tmp_path_factory.mktemp('export')
  conditional = str(root / 'cdcgan_mnist')
  unconditional = str(root / 'wgan_clip')
  clip_config = dataclasses.replace(
      wgan_clip.CONFIG_CLASS(), image_size=32, generator_width=8,
      critic_width=8, batch_size=2, critic_steps=1,
      # main.py's 100 critic steps in iteration 0 (and every 500th).
      warmup_critic_steps=1)
  found = dict(
      root=str(root),
      conditional=conditional,
      conditional_trainer=_train(cdcgan_mnist,
                                 cdcgan_mnist.make_config(batch_size=2),
                                 conditional, steps=2),
      unconditional=unconditional,
      unconditional_trainer=_train(wgan_clip, clip_config, unconditional,
                                   steps=1))
  for kind in ('conditional', 'unconditional'):
    out = str(root / f'{kind}_export')
    found[f'{kind}_export'] = out
    found[f'{kind}_info'] = export.export_generator(
        export.check_request(found[kind], out))
  return found


def _readme_example():
  with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as f:
    blocks = re.findall(r'```python\n(.*?)```', f.read(), flags=re.S)
  return next(b for b in blocks if 'tf.saved_model.load' in b)


# Runs in a fresh interpreter: the README's example, then the unconditional
# model's functions; writes what they returned to an .npz.
RELOAD = '''
import sys
sys.modules['paper_gans'] = None  # Any import of paper_gans now fails.
import numpy as np
import tensorflow as tf
example, conditional, unconditional, grid, out = sys.argv[1:]
namespace = {}
exec(open(example).read().replace(%r, conditional).replace(
    "'grid.png'", repr(grid)), namespace)
model = tf.saved_model.load(conditional)
serving = model.signatures['serving_default'](z=namespace['z'],
                                              labels=namespace['labels'])
other = tf.saved_model.load(unconditional)
z = other.sample_latent(tf.constant([4, 2]), 5)
np.savez(out, z=namespace['z'].numpy(), labels=namespace['labels'].numpy(),
         images=namespace['images'].numpy(), serving=serving['samples'].numpy(),
         value_range=model.value_range.numpy(),
         latent_dim=model.latent_dim.numpy(),
         num_classes=model.num_classes.numpy(),
         other_z=z.numpy(), other_samples=other.generate(z).numpy(),
         other_serving=other.signatures['serving_default'](z=z)[
             'samples'].numpy(),
         other_value_range=other.value_range.numpy(),
         other_num_classes=other.num_classes.numpy(),
         grid=tf.io.decode_png(tf.io.read_file(grid)).numpy())
''' % README_MODEL


def test_a_fresh_interpreter_without_paper_gans_gets_the_trainers_samples(
    runs, tmp_path):
  conditional_out = runs['conditional_export']
  unconditional_out = runs['unconditional_export']
  info = runs['conditional_info']
  assert info['iteration'] == 2 and info['num_classes'] == 10
  assert runs['unconditional_info']['num_classes'] == 0
  assert info['signature']['inputs'] == {'z': [None, 100, 'float32'],
                                         'labels': [None, 'int32']}
  with open(os.path.join(conditional_out, export.INFO_FILE)) as f:
    assert json.load(f)['config']['preset'] == 'znxlwm'

  example = tmp_path / 'example.py'
  example.write_text(_readme_example())
  driver = tmp_path / 'reload.py'
  driver.write_text(RELOAD)
  arrays = tmp_path / 'reloaded.npz'
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  env['TF_CPP_MIN_LOG_LEVEL'] = '3'
  result = subprocess.run(
      [sys.executable, str(driver), str(example), conditional_out,
       unconditional_out, str(tmp_path / 'grid.png'), str(arrays)],
      cwd=str(tmp_path), env=env, capture_output=True, text=True,
      timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  got = dict(np.load(arrays))

  trainer = runs['conditional_trainer']
  expected = trainer.generate(tf.constant(got['z']),
                              tf.constant(got['labels'])).numpy()
  # The README's grid: one row per digit, one column per noise vector.
  np.testing.assert_array_equal(got['labels'], np.repeat(np.arange(10), 10))
  np.testing.assert_array_equal(
      got['z'], np.tile(trainer.sample_latent(tf.constant([0, 1]), 10), [10, 1]))
  np.testing.assert_array_equal(got['images'], expected)
  np.testing.assert_array_equal(got['serving'], expected)
  assert got['grid'].shape == (280, 280, 1)
  np.testing.assert_array_equal(got['value_range'], [-1.0, 1.0])
  assert (got['latent_dim'], got['num_classes']) == (100, 10)
  # Batch norm ran on its moving averages: the batch's own statistics
  # give other images.
  assert not np.allclose(expected, trainer.generate(
      tf.constant(got['z']), tf.constant(got['labels']),
      training=True).numpy(), atol=1e-3)

  other = runs['unconditional_trainer']
  np.testing.assert_array_equal(
      got['other_z'], other.sample_latent(tf.constant([4, 2]), 5))
  other_expected = other.generate(tf.constant(got['other_z'])).numpy()
  assert other_expected.shape == (5, 32, 32, 1)
  np.testing.assert_array_equal(got['other_samples'], other_expected)
  np.testing.assert_array_equal(got['other_serving'], other_expected)
  np.testing.assert_array_equal(got['other_value_range'], [-1.0, 1.0])
  assert got['other_num_classes'] == 0


def _command_flags(*args):
  flag_values = flags.FlagValues()
  export.define_flags(flag_values)
  flag_values(['export', *args])
  return flag_values


def test_an_export_is_replaced_only_with_overwrite(runs, tmp_path, capsys):
  out = str(tmp_path / 'model')
  first = os.path.join(runs['conditional'], 'checkpoints', 'ckpt-1')
  assert export.main([], _command_flags(
      '--workdir', runs['conditional'], '--out', out,
      '--checkpoint', first)) == 0
  assert capsys.readouterr().out.startswith(
      f"exported the generator of {runs['conditional']} (generator iteration "
      f'1, {first}) to {out}: generate(z [N, 100] float32, labels [N] int32 '
      'in [0, 10)) -> samples [N, 28, 28, 1] in [-1, 1]')
  with open(os.path.join(out, export.SAVED_MODEL_FILE), 'rb') as f:
    saved = f.read()
  with pytest.raises(ConfigError, match=f"'{out}' exists; pass --overwrite"):
    export.check_request(runs['conditional'], out)
  with open(os.path.join(out, export.SAVED_MODEL_FILE), 'rb') as f:
    assert f.read() == saved
  export.export_generator(
      export.check_request(runs['conditional'], out, overwrite=True))
  with open(os.path.join(out, export.INFO_FILE)) as f:
    assert json.load(f)['iteration'] == 2
  assert sorted(os.listdir(tmp_path)) == ['model']  # No partial copies.


def test_bad_input_is_refused_before_tensorflow(runs, tmp_path):
  untrained = tmp_path / 'untrained'
  untrained.mkdir()
  with open(os.path.join(runs['conditional'], 'config.json')) as f:
    (untrained / 'config.json').write_text(f.read())
  fixed = tmp_path / 'fixed'
  fixed.mkdir()
  (fixed / 'config.json').write_text(json.dumps(
      {'paper': 'wgan_gp', 'fixed_generator': True}))
  other = tmp_path / 'notes'
  other.mkdir()
  (other / 'notes.txt').write_text('mine')
  blocker = tmp_path / 'file'
  blocker.write_text('not a directory')
  out = str(tmp_path / 'out')
  for args, message in [
      ((None, out), '--workdir is required.'),
      ((runs['conditional'], None), '--out is required'),
      ((str(tmp_path / 'missing'), out), "--workdir '"),
      ((str(fixed), out), f"'{fixed}' trains no generator (--fixed_generator"),
      ((str(untrained), out), "no checkpoint in '"),
      ((runs['conditional'], str(other), None, True),
       f"--out '{other}' exists and is not an exported generator"),
      ((runs['conditional'], str(blocker)),
       f"--out '{blocker}' exists and is not an exported generator"),
      ((runs['conditional'], str(blocker / 'model')),
       f"cannot write --out '{blocker / 'model'}'"),
  ]:
    with pytest.raises(ConfigError) as raised:
      export.check_request(*args)
    assert str(raised.value).startswith(message), (args, str(raised.value))
  assert (other / 'notes.txt').read_text() == 'mine'
  assert not os.path.exists(out)

  # The command itself: one line, exit 2, and fast (TensorFlow is never
  # imported for bad input).
  existing = os.path.join(runs['root'], 'existing')
  os.makedirs(existing, exist_ok=True)
  with open(os.path.join(existing, export.SAVED_MODEL_FILE), 'w') as f:
    f.write('an earlier export')
  for args, line in [
      (['--workdir', str(untrained), '--out', out],
       f"error: no checkpoint in '{untrained / 'checkpoints'}'; the runner "
       'writes one every --checkpoint_every iterations and at the end of '
       'training.\n'),
      (['--workdir', runs['conditional'], '--out', existing],
       f"error: '{existing}' exists; pass --overwrite to replace it or "
       'choose another --out.\n'),
      (['--workdir', runs['conditional'], '--out', out, '--nosuch'],
       'error: unknown flag --nosuch; --help lists every flag.\n')]:
    result = subprocess.run([sys.executable, '-m', 'paper_gans.export', *args],
                            cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    assert (result.returncode, result.stderr, result.stdout) == (2, line, ''), \
        result.stderr
