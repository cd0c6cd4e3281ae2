"""Command-line conventions shared by every reproduction script.

Each paper's config is a frozen dataclass whose fields carry their source in
`metadata` (see `paper_field`). `define_config_flags` turns every field into
an absl flag whose help text shows the default and its source, so `--help`
documents where each number comes from; `config_from_flags` builds the
config back. The run flags (`--workdir`, `--steps`, `--overwrite`,
`--compile`, ...) are the same for every script.

Bad input fails before any training with one line on stderr,
`error: <message>`, and exit status 2 (`main_wrapper`).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any, Callable, Dict, Type

from absl import flags
from absl import logging

from paper_gans.errors import ConfigError

FLAGS = flags.FLAGS

EXIT_BAD_INPUT = 2
EXIT_NON_FINITE = 3
EXIT_CHECK_FAILED = 1


def paper_field(default: Any, source: str, help: str = '') -> Any:  # pylint: disable=redefined-builtin
  """A config field whose default comes from `source` (paper or code)."""
  return dataclasses.field(default=default,
                           metadata={'source': source, 'help': help})


# The floating dtypes a run can be built in.
DTYPES = ('float32', 'float64')


def dtype_field() -> Any:
  """Every paper config's `dtype` field: float32, the papers' precision."""
  return paper_field(
      'float32', 'the papers ran in float32 (Theano floatX=float32, TF1, '
      'PyTorch); float64 for the portable reference trajectories and the '
      'equivalence tests',
      'floating dtype of every variable, optimizer slot, loss and data batch: '
      + ' or '.join(DTYPES))


def check_dtype(value: str) -> None:
  check_choice('dtype', value, DTYPES)


def define_config_flags(config_cls: Type, flag_values=FLAGS) -> None:
  """Defines one flag per field of `config_cls`, typed by its default."""
  for field in dataclasses.fields(config_cls):
    default = field.default
    source = field.metadata.get('source', '')
    text = field.metadata.get('help', '') or field.name.replace('_', ' ')
    help_text = f'{text} [default from: {source}]' if source else text
    if isinstance(default, bool):
      flags.DEFINE_bool(field.name, default, help_text, flag_values=flag_values)
    elif isinstance(default, int):
      flags.DEFINE_integer(field.name, default, help_text,
                           flag_values=flag_values)
    elif isinstance(default, float):
      flags.DEFINE_float(field.name, default, help_text,
                         flag_values=flag_values)
    elif isinstance(default, str):
      flags.DEFINE_string(field.name, default, help_text,
                          flag_values=flag_values)
    else:
      raise TypeError(f'unsupported config field type: {field.name}')


def config_from_flags(config_cls: Type, flag_values=FLAGS):
  """Builds `config_cls` from the parsed flags."""
  values = {f.name: flag_values[f.name].value
            for f in dataclasses.fields(config_cls)}
  return config_cls(**values)


def define_run_flags(script_name: str, flag_values=FLAGS) -> None:
  """Flags every reproduction script shares."""
  flags.DEFINE_string('workdir', os.path.join('runs', script_name),
                      'Directory for config.json, history.jsonl, checkpoints/, '
                      'samples/, metrics.json. An unfinished run there is '
                      'resumed.', flag_values=flag_values)
  flags.DEFINE_integer('steps', None,
                       'Generator iterations to train for; overrides the '
                       "paper's run length (--epochs or --iterations).",
                       flag_values=flag_values)
  flags.DEFINE_bool('overwrite', False,
                    'Replace a finished (or differently configured) run in '
                    '--workdir.', flag_values=flag_values)
  flags.DEFINE_string('compile', 'xla',
                      "'xla' (tf.function with jit_compile=True), 'graph' "
                      "(tf.function without XLA) or 'eager' (debugging).",
                      flag_values=flag_values)
  flags.DEFINE_integer('log_every', 50, 'Generator iterations between history '
                       'flushes and progress lines.', flag_values=flag_values)
  flags.DEFINE_integer('sample_every', 500, 'Generator iterations between '
                       'sample grids.', flag_values=flag_values)
  flags.DEFINE_integer('checkpoint_every', 500, 'Generator iterations between '
                       'checkpoints.', flag_values=flag_values)
  flags.DEFINE_bool('skip_check', False, 'Do not run the expected-output '
                    'check at the end (exit 0 whatever the result).',
                    flag_values=flag_values)


def check_positive(name: str, value, allow_zero: bool = False) -> None:
  """ConfigError unless value > 0 (or >= 0)."""
  ok = value >= 0 if allow_zero else value > 0
  if not ok:
    bound = '>= 0' if allow_zero else '> 0'
    raise ConfigError(f'--{name} must be {bound}, got {value}.')


def check_fraction(name: str, value) -> None:
  """ConfigError unless 0 < value <= 1 (decay factors, keep probabilities)."""
  if not 0.0 < value <= 1.0:
    raise ConfigError(f'--{name} must be in (0, 1], got {value}.')


def check_choice(name: str, value, choices) -> None:
  if value not in choices:
    raise ConfigError(f"--{name} must be one of {', '.join(map(str, choices))}"
                      f", got '{value}'.")


def main_wrapper(main: Callable[[Any], int]) -> Callable[[Any], None]:
  """Wraps a script's main: ConfigError -> one line and exit 2, etc."""
  from paper_gans.runner import NonFiniteLossError  # pylint: disable=g-import-not-at-top

  def wrapped(argv):
    # TensorFlow's checkpoint saver logs an INFO line per save through absl;
    # the progress lines are ours.
    logging.set_verbosity(logging.WARNING)
    try:
      code = main(argv)
    except ConfigError as e:
      print(f'error: {e}', file=sys.stderr, flush=True)
      sys.exit(EXIT_BAD_INPUT)
    except NonFiniteLossError as e:
      print(f'error: {e}', file=sys.stderr, flush=True)
      sys.exit(EXIT_NON_FINITE)
    sys.exit(code or 0)

  return wrapped


def config_to_dict(config) -> Dict[str, Any]:
  return dataclasses.asdict(config)


def run_record(paper_name: str, config, steps: int,
               compile_mode: str) -> Dict[str, Any]:
  """What config.json records: which paper, its config, length, compile mode.

  `python -m paper_gans.evaluate` rebuilds the run from this record.
  """
  return dict(dataclasses.asdict(config), paper=paper_name, steps=steps,
              compile=compile_mode)


def launch(paper, config, flag_values=FLAGS) -> int:
  """Validates everything, prepares the workdir, then trains and checks.

  `paper` is a module of paper_gans.papers providing `NAME`,
  `steps_for(config)` (the paper's run length in generator iterations, from
  `config.epochs` or `config.iterations`) and
  `run(config, options, compile_mode, run_check)`. Every check that can fail
  on bad input runs before the first network is built.
  """
  from paper_gans import runner  # pylint: disable=g-import-not-at-top
  from paper_gans import train  # pylint: disable=g-import-not-at-top
  config.validate()
  check_choice('compile', flag_values.compile, train.COMPILE_MODES)
  if flag_values.steps is not None:
    steps = flag_values.steps
    check_positive('steps', steps)
  else:
    steps = paper.steps_for(config)
  options = runner.RunOptions(
      workdir=flag_values.workdir, steps=steps,
      log_every=flag_values.log_every, sample_every=flag_values.sample_every,
      checkpoint_every=flag_values.checkpoint_every,
      overwrite=flag_values.overwrite)
  options.validate()
  state = runner.prepare_workdir(options.workdir,
                                 run_record(paper.NAME, config, steps, flag_values.compile),
                                 flag_values.overwrite)
  print(f'[{paper.NAME}] {state} run in {options.workdir}: {steps} generator '
        f'iterations, compile mode {flag_values.compile}', flush=True)
  return paper.run(config, options, flag_values.compile,
                   run_check=not flag_values.skip_check)
