"""Command-line conventions shared by every reproduction script.

Each paper's config is a frozen dataclass whose fields carry their source in
`metadata` (see `paper_field`). `define_config_flags` turns every field into
an absl flag whose help text shows the default and its source, so `--help`
documents where each number comes from; `config_from_flags` builds the
config back. The run flags (`--workdir`, `--steps`, `--overwrite`,
`--compile`, ...) are the same for every script. Both are the calling
script's own (key) flags, so its `--help` lists all of them.

A script is three statements (`reproductions/*.py`):

    cli.quiet_tensorflow()  # before the paper module imports TensorFlow
    cli.define_config_flags(paper.CONFIG_CLASS); cli.define_run_flags(paper.NAME)
    cli.run(paper)

Bad input fails before any training with one line on stderr,
`error: <message>`, and exit status 2: an unknown or malformed flag, a
non-finite float (`--clip_value=inf`, `--learning_rate=nan`), stray
arguments, any check of the config, the run options and the work directory.
All of them run while the command line is parsed (`check_command_line`),
before absl's start-up callbacks, one of which (TensorFlow's) initialises
the devices and may log a line of its own.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
import tempfile
from typing import Any, Callable, Dict, List, Optional, Type

from absl import app
from absl import flags
from absl import logging

import paper_gans
from paper_gans.errors import ConfigError

# The DEFINE_* calls below define flags of the module that calls
# `define_config_flags` / `define_run_flags` (the script), so that its
# `--help` (absl: the main module's key flags) lists them, not only
# `--helpfull`.
flags.disclaim_key_flags()

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


# --------------------------------------------------------------------------
# A quiet start.
# --------------------------------------------------------------------------

TF_LOG_LEVEL_VARIABLE = 'TF_CPP_MIN_LOG_LEVEL'

# A line of TensorFlow's C++ log: absl's format (`I0000 00:00:17.3 29 f.cc:31]
# ...`; before absl's logging is set up its seconds are those since 1970) or
# the older `2023-08-25 11:11:47.5: I tensorflow/...`.
_LOG_LINE = re.compile(r'(?:([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+\] |'
                       r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: ([IWEF]) )')
_SEVERITY = {'I': 0, 'W': 1, 'E': 2, 'F': 3}
# absl's notice above the lines it writes before its logging is set up.
_PREINIT_NOTICE = 'WARNING: All log messages before absl::InitializeLog()'


def log_lines_shown(text: str, level: str) -> str:
  """The lines of `text` that TF_CPP_MIN_LOG_LEVEL=`level` lets through.

  Args:
    text: what TensorFlow wrote to stderr while it was imported.
    level: the log level ('0' shows everything, '2' errors and fatal ones).

  Returns:
    `text` without the C++ log lines below `level` and absl's notice about
    logging before its set-up (a warning); every other line (a Python
    warning, a traceback) is kept.
  """
  try:
    minimum = int(level)
  except ValueError:
    minimum = 0  # TensorFlow reads an unparsable level as 0.
  kept = []
  for line in text.splitlines(keepends=True):
    match = _LOG_LINE.match(line)
    if match:
      severity = _SEVERITY[match.group(1) or match.group(2)]
    elif line.startswith(_PREINIT_NOTICE):
      severity = _SEVERITY['W']
    else:
      severity = None
    if severity is None or severity >= minimum:
      kept.append(line)
  return ''.join(kept)


def quiet_tensorflow() -> None:
  """Sets TensorFlow's C++ log level, then imports TensorFlow under it.

  TF_CPP_MIN_LOG_LEVEL becomes `paper_gans.TF_QUIET_LOG_LEVEL` ('2':
  errors only) unless it is set already (a user's choice wins). TensorFlow
  logs a few lines while it loads, before its logging reads that level
  (e.g. `cudart_stub.cc] Could not find cuda drivers` on a CPU machine);
  they are held back and only those the level lets through are written
  (`log_lines_shown`). A no-op when TensorFlow is imported already.
  """
  level = os.environ.setdefault(TF_LOG_LEVEL_VARIABLE,
                                paper_gans.TF_QUIET_LOG_LEVEL)
  if 'tensorflow' in sys.modules:
    return
  try:
    sys.stderr.flush()
    saved = os.dup(2)
  except (AttributeError, OSError, ValueError):  # No file descriptor 2.
    import tensorflow  # pylint: disable=g-import-not-at-top,unused-import,import-outside-toplevel
    return
  held = tempfile.TemporaryFile()
  failed = True
  try:
    os.dup2(held.fileno(), 2)
    import tensorflow  # pylint: disable=g-import-not-at-top,unused-import,import-outside-toplevel,redefined-outer-name
    failed = False
  finally:
    sys.stderr.flush()
    os.dup2(saved, 2)
    os.close(saved)
    held.seek(0)
    text = held.read().decode('utf-8', 'replace')
    held.close()
    # A failed import shows everything it wrote.
    sys.stderr.write(text if failed else log_lines_shown(text, level))
    sys.stderr.flush()


# --------------------------------------------------------------------------
# Flags.
# --------------------------------------------------------------------------

class FiniteFloatParser(flags.FloatParser):
  """absl's float parser that refuses inf and nan (bad input, exit 2)."""

  def convert(self, argument):
    value = super().convert(argument)
    if not math.isfinite(value):
      raise ValueError('not a finite number')
    return value


def define_config_flags(config_cls: Type, flag_values=FLAGS) -> None:
  """Defines one flag per field of `config_cls`, typed by its default.

  The flags belong to the calling module: a script's `--help` lists them.
  """
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
      flags.DEFINE(FiniteFloatParser(), field.name, default, help_text,
                   flag_values=flag_values,
                   serializer=flags.ArgumentSerializer())
    elif isinstance(default, str):
      flags.DEFINE_string(field.name, default, help_text,
                          flag_values=flag_values)
    else:
      raise TypeError(f'unsupported config field type: {field.name}')


def config_from_flags(paper, flag_values=FLAGS):
  """Builds `paper.CONFIG_CLASS` from the parsed flags.

  A paper with presets (`make_config(**overrides)`: wgan_gp, cdcgan_mnist)
  gets the flags given on the command line as overrides of its preset;
  any other gets every flag's value.
  """
  fields = dataclasses.fields(paper.CONFIG_CLASS)
  if hasattr(paper, 'make_config'):
    return paper.make_config(**{f.name: flag_values[f.name].value
                                for f in fields if flag_values[f.name].present})
  return paper.CONFIG_CLASS(**{f.name: flag_values[f.name].value
                               for f in fields})


def define_run_flags(script_name: str, flag_values=FLAGS) -> None:
  """Flags every reproduction script shares (the calling module's)."""
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
  flags.DEFINE_string('expected', None, 'Expected-output file whose '
                      'thresholds the check at the end applies (its full_run '
                      'or short_cpu_run section, by run length); default '
                      f'reproductions/expected/{script_name}.json.',
                      flag_values=flag_values)
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


# --------------------------------------------------------------------------
# Parsing and exit statuses.
# --------------------------------------------------------------------------

def flag_error_message(error: flags.Error) -> str:
  """One line for absl's flag error (unknown flag, unparsable value)."""
  if isinstance(error, flags.UnrecognizedFlagError):
    # absl appends its guesses as '. Did you mean: a, b ?'.
    guesses = re.search(r'Did you mean: (.*) \?', str(error))
    hint = (f"did you mean --{guesses.group(1).replace(', ', ', --')}? "
            if guesses else '')
    return f'unknown flag --{error.flagname}; {hint}--help lists every flag.'
  return ' '.join(str(error).split())


def parse_command_line(argv: List[str], flag_values=FLAGS) -> List[str]:
  """absl's parse of `argv`; every flag error is a one-line ConfigError.

  Returns:
    `argv[:1]`: the program name (a script takes no positional arguments).
  """
  try:
    args = flag_values(argv)
  except flags.Error as e:
    raise ConfigError(flag_error_message(e)) from None
  if len(args) > 1:
    raise ConfigError(f"unexpected arguments: {' '.join(args[1:])}; every "
                      'setting is a --flag (--help lists them).')
  return args


def fail(message, code: int = EXIT_BAD_INPUT) -> None:
  """Writes `error: <message>` to stderr and exits with `code`."""
  print(f'error: {message}', file=sys.stderr, flush=True)
  sys.exit(code)


def flags_parser(flag_values=FLAGS,
                 check: Optional[Callable[[List[str]], None]] = None):
  """An absl `flags_parser`: bad flags (or a failed `check`) exit 2.

  Args:
    flag_values: the flags to parse into.
    check: called with the remaining arguments once the flags are parsed;
      its ConfigError is bad input too.

  Returns:
    `parse(argv) -> remaining arguments` for `app.run(..., flags_parser=)`.
  """
  def parse(argv):
    try:
      args = parse_command_line(argv, flag_values)
      if check is not None:
        check(args)
    except ConfigError as e:
      fail(e)
    return args
  return parse


def main_wrapper(main: Callable[[Any], int]) -> Callable[[Any], None]:
  """Wraps a main: ConfigError -> exit 2, a NaN loss -> exit 3, one line.

  Imports nothing (the runner's NonFiniteLossError is looked up when
  raised), so a command that checks its input before importing TensorFlow
  stays fast.
  """
  def wrapped(argv):
    # TensorFlow's checkpoint saver logs an INFO line per save through absl;
    # the progress lines are ours.
    logging.set_verbosity(logging.WARNING)
    try:
      code = main(argv)
    except ConfigError as e:
      fail(e)
    except Exception as e:  # pylint: disable=broad-except
      runner = sys.modules.get('paper_gans.runner')
      if runner is None or not isinstance(e, runner.NonFiniteLossError):
        raise
      fail(e, EXIT_NON_FINITE)
    sys.exit(code or 0)

  return wrapped


# --------------------------------------------------------------------------
# Launching a reproduction.
# --------------------------------------------------------------------------

def config_to_dict(config) -> Dict[str, Any]:
  return dataclasses.asdict(config)


def run_record(paper_name: str, config, steps: int,
               compile_mode: str) -> Dict[str, Any]:
  """What config.json records: which paper, its config, length, compile mode.

  `python -m paper_gans.evaluate` rebuilds the run from this record.
  """
  return dict(dataclasses.asdict(config), paper=paper_name, steps=steps,
              compile=compile_mode)


@dataclasses.dataclass
class Launch:
  """A checked run, its work directory prepared: `launch()` trains."""
  paper: Any
  config: Any
  options: Any  # runner.RunOptions
  compile_mode: str
  run_check: bool
  state: str  # 'new' or 'resume'
  expected_path: Optional[str] = None  # None: the paper's own file

  def __call__(self) -> int:
    print(f'[{self.paper.NAME}] {self.state} run in {self.options.workdir}: '
          f'{self.options.steps} generator iterations, compile mode '
          f'{self.compile_mode}', flush=True)
    return self.paper.run(self.config, self.options, self.compile_mode,
                          run_check=self.run_check,
                          expected_path=self.expected_path)


def prepare_launch(paper, config, flag_values=FLAGS) -> Launch:
  """Validates everything and prepares the workdir; trains nothing.

  `paper` is a module of paper_gans.papers providing `NAME`,
  `steps_for(config)` (the paper's run length in generator iterations, from
  `config.epochs` or `config.iterations`) and
  `run(config, options, compile_mode, run_check, expected_path)`; a paper
  whose check reads another section of its expected-output file names it
  with `expected_section(config, full_length)`. Every check that can fail
  on bad input runs here, before the first network is built.
  """
  from paper_gans import runner  # pylint: disable=g-import-not-at-top,import-outside-toplevel
  from paper_gans import train  # pylint: disable=g-import-not-at-top,import-outside-toplevel
  from paper_gans.papers import common  # pylint: disable=g-import-not-at-top,import-outside-toplevel
  config.validate()
  check_choice('compile', flag_values.compile, train.COMPILE_MODES)
  if flag_values.steps is not None:
    steps = flag_values.steps
    check_positive('steps', steps)
  else:
    steps = paper.steps_for(config)
  if flag_values.expected is not None:
    full_length = steps >= paper.steps_for(config)
    section = (paper.expected_section(config, full_length)
               if hasattr(paper, 'expected_section')
               else common.expected_section(full_length))
    common.check_expected_file(flag_values.expected, section)
  options = runner.RunOptions(
      workdir=flag_values.workdir, steps=steps,
      log_every=flag_values.log_every, sample_every=flag_values.sample_every,
      checkpoint_every=flag_values.checkpoint_every,
      overwrite=flag_values.overwrite)
  options.validate()
  state = runner.prepare_workdir(
      options.workdir, run_record(paper.NAME, config, steps,
                                  flag_values.compile),
      flag_values.overwrite, config_class=paper.CONFIG_CLASS)
  return Launch(paper=paper, config=config, options=options,
                compile_mode=flag_values.compile,
                run_check=not flag_values.skip_check, state=state,
                expected_path=flag_values.expected)


def check_command_line(paper, argv: List[str], flag_values=FLAGS) -> Launch:
  """Parses `argv` into `flag_values` and checks it all (`prepare_launch`).

  Raises:
    ConfigError: one line naming the flag, value or directory at fault.
  """
  parse_command_line(argv, flag_values)
  return _launch_from_flags(paper, flag_values)


def _launch_from_flags(paper, flag_values) -> Launch:
  return prepare_launch(paper, config_from_flags(paper, flag_values),
                        flag_values)


def run(paper, flag_values=FLAGS, argv: Optional[List[str]] = None) -> None:
  """A reproduction script's `__main__`: check, then train; never returns.

  The checks run as absl's flags parser, so bad input exits 2 before
  absl's start-up callbacks and before anything is built.
  """
  launches = []

  def check(args):
    del args  # parse_command_line refused any positional argument.
    launches.append(_launch_from_flags(paper, flag_values))

  app.run(main_wrapper(lambda argv: launches[0]()), argv=argv,
          flags_parser=flags_parser(flag_values, check))
