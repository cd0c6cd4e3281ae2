"""Exports a trained run's generator as a TensorFlow SavedModel.

    python -m paper_gans.export --workdir runs/cdcgan_mnist
        --out exported/cdcgan_mnist [--checkpoint PATH] [--overwrite]

The run is rebuilt and restored as `python -m paper_gans.evaluate` does
(`<workdir>/config.json`, then its latest checkpoint or `--checkpoint`;
every variable must match), and its generator is written with
`tf.saved_model.save`. Plain TensorFlow loads it without paper_gans (the
README's "Using a trained generator" draws a grid that way):

    model = tf.saved_model.load(DIR)
    model.generate(z)  # or model.generate(z, labels) when conditional
    model.signatures['serving_default'](z=z[, labels=labels])['samples']
    model.sample_latent(seed, n)  # z as the run draws it

* `generate(z[, labels])`: z [N, latent_dim] in the run's dtype (float32
  unless the run's config says float64), labels int32 [N] in
  [0, num_classes) for a conditional generator; returns the samples
  [N, *output_shape] in the run's value range. The generator runs in
  inference mode, as `GANTrainer.generate` (and so the sample grids and
  `python -m paper_gans.evaluate`) does: batch norm uses its moving
  averages, so a sample does not depend on the rest of the batch, and
  nothing is updated.
* the serving signature 'serving_default': the same inputs by name ('z',
  'labels'), the output as {'samples': ...}.
* `sample_latent(seed, n)`: seed int32 [2], n int32; the run's noise
  (`GANTrainer.sample_latent`: stateless, so a seed gives the same z here
  as in the trainer outside XLA).
* variables `latent_dim`, `num_classes` (0 when unconditional) and
  `value_range` (float32 [low, high]; [-inf, inf] for 2-D points, which
  have no range, as in the samples file of `paper_gans.evaluate`).

`<out>/assets.extra/paper_gans.json` records where the export came from:
the run's config.json, the checkpoint and its generator iteration, and the
signature.

Bad input gives one line `error: ...` on stderr and exit status 2 before
TensorFlow is imported: no run or no checkpoint in --workdir, a run whose
generator is fixed (WGAN-GP's --fixed_generator trains none), an existing
--out without --overwrite, or an --out that exists and is not an export
(never replaced). The SavedModel is written next to --out and moved into
place when complete, so a failed export leaves --out as it was.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
from typing import Any, Dict, Optional

from absl import app
from absl import flags

import paper_gans
from paper_gans import cli
from paper_gans import evaluate
from paper_gans.errors import ConfigError

SIGNATURE_KEY = 'serving_default'
OUTPUT_KEY = 'samples'
SAVED_MODEL_FILE = 'saved_model.pb'
INFO_FILE = os.path.join('assets.extra', 'paper_gans.json')


@dataclasses.dataclass
class Request:
  """A checked command line: what `export_generator` needs."""
  workdir: str
  out: str
  record: Dict[str, Any]
  checkpoint: Optional[str] = None
  overwrite: bool = False


def check_out(out: str, overwrite: bool) -> None:
  """ConfigError unless the export may be written to `out`.

  A missing path or an empty directory may be; an earlier export (a
  directory with saved_model.pb) only with `overwrite`; anything else
  never.
  """
  if os.path.isdir(out) and not os.listdir(out):
    return
  if os.path.lexists(out):
    if not os.path.isfile(os.path.join(out, SAVED_MODEL_FILE)):
      raise ConfigError(f"--out '{out}' exists and is not an exported "
                        f'generator (no {SAVED_MODEL_FILE}); it is never '
                        'replaced: choose another --out.')
    if not overwrite:
      raise ConfigError(f"'{out}' exists; pass --overwrite to replace it or "
                        'choose another --out.')
  ancestor = os.path.dirname(os.path.abspath(out))
  while not os.path.exists(ancestor):
    ancestor = os.path.dirname(ancestor)
  if not (os.path.isdir(ancestor) and os.access(ancestor, os.W_OK)):
    raise ConfigError(f"cannot write --out '{out}': '{ancestor}' is not a "
                      'writable directory.')


def check_request(workdir: Optional[str], out: Optional[str],
                  checkpoint: Optional[str] = None,
                  overwrite: bool = False) -> Request:
  """Every check of the command line; none needs TensorFlow.

  Raises:
    ConfigError: one sentence naming the flag or file at fault.
  """
  if not workdir:
    raise ConfigError('--workdir is required.')
  if not out:
    raise ConfigError('--out is required (the SavedModel directory to '
                      'write).')
  record = evaluate.read_run_record(workdir)
  evaluate.check_paper_name(record['paper'])
  if record.get('fixed_generator'):
    raise ConfigError(f"'{workdir}' trains no generator (--fixed_generator: "
                      'real data plus noise); there is nothing to export.')
  evaluate.check_checkpoint(workdir, checkpoint)
  check_out(out, overwrite)
  return Request(workdir=workdir, out=out, record=record,
                 checkpoint=checkpoint, overwrite=overwrite)


def exported_module(trainer, value_range):
  """A tf.Module holding `trainer.generator` and the exported functions.

  Args:
    trainer: a restored `GANTrainer`.
    value_range: (low, high) of the generator's output, or None.

  Returns:
    (module, serving function) for `tf.saved_model.save`.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top,import-outside-toplevel
  generator = trainer.generator
  z_spec = tf.TensorSpec([None, generator.latent_dim], trainer.dtype,
                         name='z')
  if trainer.num_classes:
    specs = [z_spec, tf.TensorSpec([None], tf.int32, name='labels')]

    def generate(z, labels):
      return trainer.generate(z, labels)  # training=False

    def serve(z, labels):
      return {OUTPUT_KEY: generate(z, labels)}
  else:
    specs = [z_spec]

    def generate(z):
      return trainer.generate(z)

    def serve(z):
      return {OUTPUT_KEY: generate(z)}
  module = tf.Module(name='exported_generator')
  module.generator = generator  # Its variables, moving averages included.
  module.generate = tf.function(generate, input_signature=specs)
  module.sample_latent = tf.function(
      trainer.sample_latent,
      input_signature=[tf.TensorSpec([2], tf.int32, name='seed'),
                       tf.TensorSpec([], tf.int32, name='batch_size')])
  low, high = value_range if value_range is not None else (-math.inf,
                                                           math.inf)
  module.value_range = tf.Variable([low, high], dtype=tf.float32,
                                   trainable=False, name='value_range')
  module.latent_dim = tf.Variable(generator.latent_dim, dtype=tf.int32,
                                  trainable=False, name='latent_dim')
  module.num_classes = tf.Variable(trainer.num_classes or 0, dtype=tf.int32,
                                   trainable=False, name='num_classes')
  return module, tf.function(serve, input_signature=specs)


def _move_into_place(new: str, out: str) -> None:
  """Replaces `out` (absent, empty or an earlier export) by `new`."""
  if os.path.isdir(out) and not os.listdir(out):
    os.rmdir(out)
  if not os.path.exists(out):
    os.replace(new, out)
    return
  old = f'{new}.old'
  os.replace(out, old)
  os.replace(new, out)
  shutil.rmtree(old)


def export_generator(request: Request) -> Dict[str, Any]:
  """Restores the run, writes the SavedModel; returns what INFO_FILE holds."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top,import-outside-toplevel
  paper = evaluate.load_paper(request.record['paper'])
  config, missing = evaluate.config_from_record(paper, request.record)
  checkpoint_path = evaluate.find_checkpoint(request.workdir,
                                             request.checkpoint)
  value_range = evaluate.value_range_of(paper, config)
  trainer = evaluate.restore_trainer(paper, config, 'eager', checkpoint_path)
  module, serve = exported_module(trainer, value_range)
  generator = trainer.generator
  inputs = {'z': [None, generator.latent_dim, trainer.dtype.name]}
  if trainer.num_classes:
    inputs['labels'] = [None, 'int32']
  info = dict(
      paper=paper.NAME, workdir=request.workdir, checkpoint=checkpoint_path,
      iteration=int(trainer.iteration.numpy()),
      value_range=list(value_range) if value_range is not None else None,
      latent_dim=generator.latent_dim, num_classes=trainer.num_classes or 0,
      signature=dict(key=SIGNATURE_KEY, inputs=inputs, outputs={
          OUTPUT_KEY: [None, *generator.output_shape, trainer.dtype.name]}),
      batch_norm='moving averages (training=False)',
      config=request.record,
      notes=(['config.json lacks ' + ', '.join(missing) + "; today's "
              'defaults were used.'] if missing else []),
      tensorflow_version=tf.__version__,
      paper_gans_version=paper_gans.__version__)
  partial = f'{os.path.abspath(request.out)}.partial-{os.getpid()}'
  shutil.rmtree(partial, ignore_errors=True)
  os.makedirs(os.path.dirname(partial), exist_ok=True)
  try:
    tf.saved_model.save(module, partial, signatures={SIGNATURE_KEY: serve})
    info_path = os.path.join(partial, INFO_FILE)
    os.makedirs(os.path.dirname(info_path), exist_ok=True)
    with open(info_path, 'w', encoding='utf-8') as f:
      json.dump(info, f, indent=2, sort_keys=True)
      f.write('\n')
    _move_into_place(partial, request.out)
  finally:
    shutil.rmtree(partial, ignore_errors=True)
  return info


def summary(info: Dict[str, Any], out: str) -> str:
  """One line: what was exported, from where, and how to call it."""
  z = info['signature']['inputs']['z']
  call = f"z [N, {z[1]}] {z[2]}"
  if 'labels' in info['signature']['inputs']:
    call += f", labels [N] int32 in [0, {info['num_classes']})"
  shape = ', '.join(str(d) for d in info['signature']['outputs'][OUTPUT_KEY][
      1:-1])
  where = (f" in [{info['value_range'][0]:g}, {info['value_range'][1]:g}]"
           if info['value_range'] else '')
  return (f"exported the generator of {info['workdir']} (generator iteration "
          f"{info['iteration']}, {info['checkpoint']}) to {out}: "
          f'generate({call}) -> samples [N, {shape}]{where}')


def define_flags(flag_values=flags.FLAGS) -> None:
  """The command's flags (defined by `__main__`, as evaluate's are)."""
  flags.DEFINE_string('workdir', None, 'Run directory written by a '
                      'reproduction script (holds config.json and '
                      'checkpoints/). Required.', flag_values=flag_values)
  flags.DEFINE_string('out', None, 'Directory to write the SavedModel to. '
                      'Required; an existing export is kept unless '
                      '--overwrite is given.', flag_values=flag_values)
  flags.DEFINE_string('checkpoint', None, 'Checkpoint prefix (e.g. '
                      'runs/<name>/checkpoints/ckpt-500) or directory; '
                      'default: the latest in <workdir>/checkpoints.',
                      flag_values=flag_values)
  flags.DEFINE_bool('overwrite', False, 'Replace an earlier export in --out.',
                    flag_values=flag_values)


def main(argv, flag_values=flags.FLAGS) -> int:
  del argv  # cli.parse_command_line refuses positional arguments.
  request = check_request(flag_values.workdir, flag_values.out,
                          flag_values.checkpoint, flag_values.overwrite)
  cli.quiet_tensorflow()  # Imported once the command line is known good.
  info = export_generator(request)
  print(summary(info, request.out), flush=True)
  return 0


if __name__ == '__main__':
  define_flags()
  app.run(cli.main_wrapper(main), flags_parser=cli.flags_parser())
