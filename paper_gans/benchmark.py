"""Benchmarks every reproduction's training step: time, compile, FLOP rate, memory.

    python -m paper_gans.benchmark --out=benchmark.json [--markdown=table.md]
        [--cases=wgan_gp_toy,...] [--modes=xla,graph,...] [--repeats=5]
    python -m paper_gans.benchmark --inputs=a.json,b.json --out=merged.json
        (summarises earlier runs' measurements; measures nothing)

For each case (a paper at its default config and batch size; WGAN-GP twice,
its gan_toy.py MLP step and its gan_mnist.py step) and each compile mode,
a fresh subprocess builds the trainer with `paper.build_trainer(config,
mode)` and the data with `paper.dataset_fn(config)`, then runs generator
iterations exactly as paper_gans.runner does (k real batches from the
tf.data iterator, `trainer.train_iteration`), and measures:

* first call: seconds from the first `train_iteration` call until its
  losses are on the host (tracing, compilation and one iteration);
* after `--warmup` more iterations, `--repeats` repeats of as many
  iterations as fill about `--seconds_per_repeat`, each repeat ended by
  copying the losses to the host; the median over repeats of seconds per
  generator iteration is THE time of the step;
* images per second: real examples consumed per second (batch size x
  critic steps per generator iteration / seconds per iteration);
* input time: seconds per iteration spent waiting for the k batches from
  the tf.data iterator, inside the timed repeats (a pipeline that keeps up
  makes this a small part of the step);
* peak host memory: `ru_maxrss` of that subprocess (whole process: the
  TensorFlow runtime, the decoded data set, the compiler, the step), read
  after timing and before counting FLOPs; on a GPU also TensorFlow's peak
  device memory;
* FLOPs per generator iteration, counted from the compiled graph: the dot
  and convolution instructions of the XLA HLO (after XLA's optimisation
  passes) of every function one iteration calls, 2 FLOPs per
  multiply-add, multiplied by the calls per iteration. The HLO is always
  XLA's CPU compilation of the step, also where the step runs on a GPU
  (there a copy of the trainer is built on the CPU for counting): XLA's
  GPU HLO hands convolutions and most products to cuDNN and cuBLAS as
  custom-calls (openxla/xla `service/gpu/transforms/conv_rewriter` and
  `gemm_rewriter`), which this counter does not read. Convolutions count
  only the multiply-adds that touch real input elements (not padding or the
  zeros a transposed convolution's input dilation inserts). Elementwise
  work (activations, optimizer updates, random numbers) is not counted, so
  the rate is that of the matrix work. The count is taken once per case
  (with XLA) and used for every mode: all modes run the same algorithm;
* achieved GFLOP/s = FLOPs per iteration / seconds per iteration, and its
  fraction of the FP32 rate of a 2048 x 2048 x 2048 matrix product (the
  faster of XLA and TensorFlow's own kernel), measured in the same
  subprocess just before and just after the step's timing (their mean), so
  both see the same machine load.

The 1-minute load average is recorded with every measurement: on a shared
machine other jobs take cores, and every number should be read with it.

Modes: 'xla' (the engine's default), 'graph' (tf.function without XLA),
'eager', and 'xla_per_step' (XLA with one compiled call per player update
instead of one per generator iteration, `max_unrolled_critic_steps=0`: the
engine's previous behaviour, kept to show what unrolling measures).

Cases whose paper module cannot be imported, or whose config cannot be
built (e.g. missing data), are listed as skipped with the reason, so the
benchmark grows with the reproductions. Nothing here is CPU-specific: on a
machine where TensorFlow sees a GPU, the same code runs there.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

from paper_gans import cli

# name -> (paper module, config overrides, network kind). 'mlp' steps carry
# the 1.2x XLA-over-graph target of docs/performance.md.
CASES = {
    'goodfellow2014': ('goodfellow2014', {}, 'mlp'),
    'dcgan': ('dcgan', {}, 'conv'),
    'cdcgan_mnist': ('cdcgan_mnist', {}, 'conv'),
    'wgan_clip': ('wgan_clip', {}, 'conv'),
    'wgan_gp_toy': ('wgan_gp', {'dataset': '8gaussians'}, 'mlp'),
    'wgan_gp_mnist': ('wgan_gp', {'dataset': 'mnist'}, 'conv'),
}
MODES = ('xla', 'xla_per_step', 'graph', 'eager')
MATMUL_SIZE = 2048
# The performance targets (docs/performance.md), evaluated (not asserted) in
# the JSON.
TARGET_FRACTION_OF_MATMUL = 0.7
TARGET_XLA_OVER_GRAPH = 1.0
TARGET_XLA_OVER_GRAPH_MLP = 1.2


# --------------------------------------------------------------------------
# FLOPs from XLA HLO text.
# --------------------------------------------------------------------------

_INSTRUCTION = re.compile(
    r'^\s*(?:ROOT\s+)?%(?P<name>[\w.\-]+)\s*=\s*(?P<type>\w+)'
    r'\[(?P<dims>[\d,]*)\]\S*\s+(?P<op>[\w\-]+)\((?P<operands>[^)]*)\)'
    r'(?P<attributes>.*)$')
_OPERAND = re.compile(r'%([\w.\-]+)')


def _dims(text: str) -> List[int]:
  return [int(d) for d in text.split(',') if d]


def _instructions(hlo: str) -> List[Dict]:
  """Every instruction: name, result dims, op, operand names, attributes."""
  out = []
  for line in hlo.splitlines():
    match = _INSTRUCTION.match(line)
    if match:
      out.append({'name': match.group('name'),
                  'dims': _dims(match.group('dims')),
                  'op': match.group('op'),
                  'operands': _OPERAND.findall(match.group('operands')),
                  'attributes': match.group('attributes')})
  return out


def _window_field(window: str, field: str, count: int,
                  default: int) -> List[int]:
  match = re.search(rf'\b{field}=([\dx_]+)', window)
  if not match:
    return [default] * count
  return [int(v) for v in match.group(1).split('x')]


def _valid_taps(out_size: int, in_size: int, window: int, stride: int,
                pad_low: int, lhs_dilation: int, rhs_dilation: int) -> int:
  """Pairs (output position, kernel tap) that read a real input element."""
  last = (in_size - 1) * lhs_dilation
  count = 0
  for o in range(out_size):
    for k in range(window):
      position = o * stride + k * rhs_dilation - pad_low
      if 0 <= position <= last and position % lhs_dilation == 0:
        count += 1
  return count


def _convolution_macs(instruction: Dict, shapes: Dict[str, List[int]]) -> int:
  lhs = shapes[instruction['operands'][0]]
  rhs = shapes[instruction['operands'][1]]
  out = instruction['dims']
  attributes = instruction['attributes']
  labels = re.search(r'dim_labels=(\w+)_(\w+)->(\w+)', attributes)
  lhs_labels, rhs_labels, out_labels = labels.groups()
  spatial = sum(c.isdigit() for c in out_labels)
  window = re.search(r'window=\{([^}]*)\}', attributes)
  window = window.group(1) if window else ''
  sizes = _window_field(window, 'size', spatial, 1)
  strides = _window_field(window, 'stride', spatial, 1)
  lhs_dilations = _window_field(window, 'lhs_dilate', spatial, 1)
  rhs_dilations = _window_field(window, 'rhs_dilate', spatial, 1)
  pad_match = re.search(r'\bpad=([\d_x\-]+)', window)
  pads_low = ([int(p.split('_')[0]) for p in pad_match.group(1).split('x')]
              if pad_match else [0] * spatial)
  taps = 1
  for d in range(spatial):
    taps *= _valid_taps(out[out_labels.index(str(d))],
                        lhs[lhs_labels.index(str(d))], sizes[d], strides[d],
                        pads_low[d], lhs_dilations[d], rhs_dilations[d])
  batch = out[out_labels.index('b')]
  features = out[out_labels.index('f')]
  input_features = rhs[rhs_labels.index('i')]  # per feature group
  return batch * features * input_features * taps


def _dot_macs(instruction: Dict, shapes: Dict[str, List[int]]) -> int:
  lhs = shapes[instruction['operands'][0]]
  contracting = re.search(r'lhs_contracting_dims=\{([\d,]*)\}',
                          instruction['attributes'])
  reduced = math.prod(lhs[i] for i in _dims(contracting.group(1))) \
      if contracting else 1
  return math.prod(instruction['dims']) * reduced


def hlo_flops(hlo: str) -> Dict[str, int]:
  """FLOPs (2 per multiply-add) of the dots and convolutions of HLO text.

  Each instruction is counted once, wherever it sits (fused computations
  are called once each); loops are not expanded (the engine's steps have
  none).

  Returns:
    {'dot': FLOPs, 'convolution': FLOPs, 'total': their sum}.
  """
  instructions = _instructions(hlo)
  shapes = {i['name']: i['dims'] for i in instructions}
  flops = {'dot': 0, 'convolution': 0}
  for instruction in instructions:
    if instruction['op'] == 'dot':
      flops['dot'] += 2 * _dot_macs(instruction, shapes)
    elif instruction['op'] == 'convolution':
      flops['convolution'] += 2 * _convolution_macs(instruction, shapes)
  flops['total'] = flops['dot'] + flops['convolution']
  return flops


def iteration_flops(trainer, real_images, real_labels) -> Dict[str, int]:
  """FLOPs of one generator iteration of an XLA trainer (see module doc).

  Always counted from XLA's CPU compilation (`platform_name='CPU'`), so the
  count is the same on every machine: on a GPU, XLA's optimised HLO runs
  convolutions and most products as cuDNN / cuBLAS custom-calls, which
  `hlo_flops` does not read. The trainer's variables must be on the CPU
  (`cpu_flop_counter` builds such a trainer where a GPU is visible).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  total = {'dot': 0, 'convolution': 0, 'total': 0}
  with tf.device('/CPU:0'):
    for function, arguments, calls in trainer.compiled_functions(real_images,
                                                                 real_labels):
      hlo = function.experimental_get_compiler_ir(*arguments)(
          stage='optimized_hlo', platform_name='CPU')
      for key, value in hlo_flops(hlo).items():
        total[key] += calls * value
  return total


def cpu_flop_counter(paper, config, trainer, force_new: bool = False):
  """An XLA trainer whose variables are on the CPU, at `trainer`'s iteration.

  `trainer` itself where it already is one (XLA, no GPU visible), else a
  new trainer built under `tf.device('/CPU:0')` (`force_new` builds one
  anyway; tests use it to check that route on a CPU-only machine).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if (trainer.compile_mode == 'xla' and not force_new and
      not tf.config.list_physical_devices('GPU')):
    return trainer
  with tf.device('/CPU:0'):
    counter = paper.build_trainer(config, 'xla')
    counter.iteration.assign(trainer.iteration)
  return counter


# --------------------------------------------------------------------------
# One measurement (runs in its own process).
# --------------------------------------------------------------------------

def paper_module(paper: str):
  return importlib.import_module(f'paper_gans.papers.{paper}')


def case_config(paper, overrides: Dict):
  """The paper's default config (its make_config where it has one)."""
  if hasattr(paper, 'make_config'):
    return paper.make_config(**overrides)
  return dataclasses.replace(paper.CONFIG_CLASS(), **overrides)


def steady_start(trainer, iterations: int) -> int:
  """First generator iteration of a run of `iterations` with the usual k.

  The usual k is the most common critic-step count over the first 1,000
  iterations (WGAN: 5, not the 100 of its first 25 iterations).
  """
  counts = [trainer.batches_needed(i) for i in range(1000 + iterations)]
  usual = statistics.mode(counts[:1000])
  for start in range(1000):
    if all(k == usual for k in counts[start:start + iterations]):
      return start
  return 0


def load_average() -> float:
  return round(os.getloadavg()[0], 2)


def matmul_rate(size: int = MATMUL_SIZE, repeats: int = 5,
                min_seconds: float = 0.02) -> Dict:
  """FP32 [size, size] x [size, size] GFLOP/s, with and without XLA.

  The reference rate is the faster of the two medians: the rate a large
  matrix product reaches on this machine with either of TensorFlow's CPU
  (or GPU) code paths. Each timing runs as many products back to back as
  fill about `min_seconds` (1 on the CPUs measured here, where one 2048^3
  product takes 50-100 ms; more where one is quicker, as on a GPU, so that
  a timing is not that of one launch and one copy to the host), copying
  only the last result to the host.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  a = tf.random.stateless_normal([size, size], seed=[0, 1])
  b = tf.random.stateless_normal([size, size], seed=[0, 2])
  out = {}
  for name, jit in (('xla', True), ('graph', False)):
    # The sum keeps the copy to the host tiny; its size*size adds are not
    # counted (0.05% of the product's FLOPs at 2048).
    product = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)),
                          jit_compile=jit)
    product(a, b).numpy()
    start = time.perf_counter()
    product(a, b).numpy()
    calls = max(1, math.ceil(min_seconds / (time.perf_counter() - start)))
    seconds = []
    for _ in range(repeats):
      start = time.perf_counter()
      for _ in range(calls):
        result = product(a, b)
      result.numpy()
      seconds.append((time.perf_counter() - start) / calls)
    out[f'{name}_gflops_per_second'] = (2 * size**3 /
                                        statistics.median(seconds) / 1e9)
    out[f'{name}_products_per_timing'] = calls
  out['gflops_per_second'] = max(out['xla_gflops_per_second'],
                                 out['graph_gflops_per_second'])
  out['load_average_1min'] = load_average()
  return out


def _device() -> str:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  gpus = tf.config.list_physical_devices('GPU')
  if gpus:
    details = tf.config.experimental.get_device_details(gpus[0])
    return f"GPU: {details.get('device_name', gpus[0].name)}"
  return f'CPU: {os.cpu_count()} logical cores'


def measure(case: str, mode: str, *, repeats: int = 5,
            seconds_per_repeat: float = 1.0, warmup: int = 2,
            count_flops: bool = True, matmul_size: int = MATMUL_SIZE,
            config_overrides: Optional[Dict] = None) -> Dict:
  """Measures one case in one mode in THIS process; see the module doc.

  `config_overrides` replace fields of the case's config (tests use it to
  shrink a case).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  paper_name, overrides, kind = CASES[case]
  paper = paper_module(paper_name)
  config = case_config(paper, dict(overrides, **(config_overrides or {})))
  compile_mode = 'xla' if mode == 'xla_per_step' else mode
  trainer = paper.build_trainer(config, compile_mode)
  if mode == 'xla_per_step':
    trainer.max_unrolled_critic_steps = 0
  start = steady_start(trainer, 400)
  trainer.iteration.assign(start)
  iterator = iter(paper.dataset_fn(config)(0))

  def batches():
    k = trainer.batches_needed()
    real = [next(iterator) for _ in range(k)]
    return [b[0] for b in real], [b[1] for b in real]

  def iteration():
    return trainer.train_iteration(*batches())

  matmul_before = matmul_rate(matmul_size)
  load_before = load_average()
  begin = time.perf_counter()
  iteration()['generator_loss'].numpy()
  first_call = time.perf_counter() - begin
  per_iteration = first_call  # an upper bound, if there is no warm-up
  if warmup:
    begin = time.perf_counter()
    for _ in range(warmup):
      losses = iteration()
    losses['generator_loss'].numpy()
    per_iteration = (time.perf_counter() - begin) / warmup
  iterations_per_repeat = max(1, int(round(seconds_per_repeat /
                                           max(per_iteration, 1e-6))))
  seconds = []
  input_seconds = 0.0  # waiting for the tf.data iterator, inside the repeats
  for _ in range(repeats):
    begin = time.perf_counter()
    for _ in range(iterations_per_repeat):
      fetch = time.perf_counter()
      real = batches()
      input_seconds += time.perf_counter() - fetch
      losses = trainer.train_iteration(*real)
    {name: value.numpy() for name, value in losses.items()}  # pylint: disable=expression-not-assigned
    seconds.append((time.perf_counter() - begin) / iterations_per_repeat)
  load_after = load_average()
  matmul_after = matmul_rate(matmul_size)
  peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
  gpu_peak_mib = None
  if tf.config.list_physical_devices('GPU'):
    gpu_peak_mib = tf.config.experimental.get_memory_info('GPU:0')['peak'] / 2**20

  critic_steps = trainer.batches_needed()
  batch_size = int(config.batch_size)
  median = statistics.median(seconds)
  result = {
      'case': case, 'paper': paper_name, 'mode': mode, 'kind': kind,
      'config_overrides': dict(overrides, **(config_overrides or {})),
      'batch_size': batch_size,
      'update_order': trainer.update_order,
      'critic_steps_per_iteration': critic_steps,
      'first_iteration_measured': start,
      'first_call_seconds': first_call,
      'seconds_per_iteration': median,
      'seconds_per_iteration_repeats': seconds,
      'iterations_per_repeat': iterations_per_repeat,
      'images_per_second': batch_size * critic_steps / median,
      'input_seconds_per_iteration': input_seconds / (
          repeats * iterations_per_repeat),
      'peak_host_memory_mib': peak_rss_mib,
      'peak_gpu_memory_mib': gpu_peak_mib,
      'matmul_before': matmul_before, 'matmul_after': matmul_after,
      'matmul_gflops_per_second': (matmul_before['gflops_per_second'] +
                                   matmul_after['gflops_per_second']) / 2,
      'load_average_1min': {'before': load_before, 'after': load_after},
      'device': _device(),
      'tensorflow_version': tf.__version__,
  }
  if count_flops:
    counter = cpu_flop_counter(paper, config, trainer)
    result['flops_per_iteration'] = iteration_flops(counter, *batches())
    result['flops_counted_from'] = 'XLA:CPU optimised HLO'
  return result


# --------------------------------------------------------------------------
# The whole benchmark (one subprocess per case and mode).
# --------------------------------------------------------------------------

def available_cases(cases: Sequence[str]) -> Tuple[List[str], Dict[str, str]]:
  """(importable cases, {skipped case: reason})."""
  ok, skipped = [], {}
  for case in cases:
    paper_name, overrides, _ = CASES[case]
    try:
      paper = paper_module(paper_name)
      case_config(paper, dict(overrides)).validate()
      paper.dataset_fn  # pylint: disable=pointless-statement
      paper.build_trainer  # pylint: disable=pointless-statement
    except Exception as e:  # pylint: disable=broad-except
      skipped[case] = f'{type(e).__name__}: {e}'.splitlines()[0]
      continue
    ok.append(case)
  return ok, skipped


def _run_worker(case: str, mode: str, args) -> Dict:
  with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, 'result.json')
    command = [sys.executable, '-m', 'paper_gans.benchmark', '--worker',
               f'--cases={case}', f'--modes={mode}', f'--out={out}',
               f'--repeats={args.repeats}',
               f'--seconds_per_repeat={args.seconds_per_repeat}',
               f'--warmup={args.warmup}', f'--matmul_size={args.matmul_size}']
    if mode != 'xla':
      command.append('--nocount_flops')
    begin = time.time()
    try:
      completed = subprocess.run(command, capture_output=True, text=True,
                                 check=False, timeout=args.worker_timeout)
    except subprocess.TimeoutExpired:
      return {'case': case, 'mode': mode,
              'error': f'timed out after {args.worker_timeout} s',
              'wall_seconds': time.time() - begin}
    if completed.returncode != 0 or not os.path.exists(out):
      tail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
      return {'case': case, 'mode': mode, 'error': ' | '.join(tail),
              'wall_seconds': time.time() - begin}
    with open(out, encoding='utf-8') as f:
      result = json.load(f)
    result['wall_seconds'] = time.time() - begin
    return result


def summarise(results: List[Dict], skipped: Dict[str, str]) -> Dict:
  """Per case: the modes side by side, derived ratios, and the targets."""
  by_case: Dict[str, Dict[str, Dict]] = {}
  for r in results:
    by_case.setdefault(r['case'], {})[r['mode']] = r
  rows = []
  for case, modes in by_case.items():
    xla = modes.get('xla', {})
    row = {'case': case, 'kind': CASES[case][2]}
    measured = [r for r in modes.values() if 'error' not in r]
    for key in ('batch_size', 'critic_steps_per_iteration', 'update_order'):
      row[key] = measured[0].get(key) if measured else None
    flops = xla.get('flops_per_iteration', {}).get('total')
    row['flops_per_iteration'] = flops
    for mode, r in modes.items():
      if 'error' in r:
        row[mode] = {'error': r['error']}
        continue
      entry = {'seconds_per_iteration': r['seconds_per_iteration'],
               'first_call_seconds': r['first_call_seconds'],
               'images_per_second': r['images_per_second'],
               'input_seconds_per_iteration':
                   r.get('input_seconds_per_iteration'),
               'peak_host_memory_mib': r['peak_host_memory_mib'],
               'matmul_gflops_per_second': r['matmul_gflops_per_second'],
               'load_average_1min': r['load_average_1min']}
      if flops:
        entry['gflops_per_second'] = flops / r['seconds_per_iteration'] / 1e9
        entry['fraction_of_matmul'] = (entry['gflops_per_second'] /
                                       r['matmul_gflops_per_second'])
      row[mode] = entry
    if 'seconds_per_iteration' in modes.get('graph', {}) and 'error' not in xla \
        and xla:
      row['xla_speedup_over_graph'] = (modes['graph']['seconds_per_iteration'] /
                                       xla['seconds_per_iteration'])
      # Each time scaled by the matmul rate measured next to it: the ratio
      # of the two steps' work in matmul-seconds, less sensitive to the
      # load changing between the two subprocesses.
      row['xla_speedup_over_graph_load_adjusted'] = (
          row['xla_speedup_over_graph'] *
          modes['graph']['matmul_gflops_per_second'] /
          xla['matmul_gflops_per_second'])
    if ('seconds_per_iteration' in modes.get('xla_per_step', {})
        and 'error' not in xla and xla):
      row['unrolled_speedup_over_per_step'] = (
          modes['xla_per_step']['seconds_per_iteration'] /
          xla['seconds_per_iteration'])
      row['unrolled_speedup_over_per_step_load_adjusted'] = (
          row['unrolled_speedup_over_per_step'] *
          modes['xla_per_step']['matmul_gflops_per_second'] /
          xla['matmul_gflops_per_second'])
    rows.append(row)
  return {'rows': rows, 'skipped': skipped, 'targets': targets(rows)}


def targets(rows: List[Dict]) -> Dict:
  """The performance targets, evaluated on the XLA mode (None: not measured)."""
  out = {}
  for row in rows:
    xla = row.get('xla', {})
    fraction = xla.get('fraction_of_matmul')
    speedup = row.get('xla_speedup_over_graph')
    adjusted = row.get('xla_speedup_over_graph_load_adjusted')
    needed = (TARGET_XLA_OVER_GRAPH_MLP if row['kind'] == 'mlp'
              else TARGET_XLA_OVER_GRAPH)
    out[row['case']] = {
        'fraction_of_matmul': fraction,
        'fraction_target': TARGET_FRACTION_OF_MATMUL,
        'fraction_met': None if fraction is None
                        else fraction >= TARGET_FRACTION_OF_MATMUL,
        'xla_speedup_over_graph': speedup,
        'speedup_target': needed,
        'speedup_met': None if speedup is None else speedup >= needed,
        'xla_speedup_over_graph_load_adjusted': adjusted,
        'load_adjusted_speedup_met': (None if adjusted is None
                                      else adjusted >= needed),
    }
  return out


def _fmt(value, spec: str, missing: str = '-') -> str:
  return missing if value is None else format(value, spec)


def markdown_table(summary: Dict) -> str:
  """The table of docs/performance.md: one row per case."""
  lines = [
      '| step | batch | k | GFLOP/it | XLA s/it | XLA per-step s/it | '
      'graph s/it | eager s/it | XLA compile s | XLA img/s | XLA GFLOP/s | '
      'matmul GFLOP/s | % of matmul | XLA / graph (load-adjusted) | '
      'input ms/it (XLA) | '
      'peak RSS MiB (XLA) | load 1 min |',
      '|' + '---|' * 17]
  for row in summary['rows']:
    modes = {m: row.get(m, {}) for m in MODES}
    xla = modes['xla']
    flops = row.get('flops_per_iteration')

    def seconds(mode):
      entry = modes[mode]
      if 'error' in entry:
        return 'error'
      return _fmt(entry.get('seconds_per_iteration'), '.4f')

    load = xla.get('load_average_1min', {})
    lines.append(
        f"| {row['case']} | {row['batch_size']} | "
        f"{row['critic_steps_per_iteration']} | "
        f"{_fmt(flops and flops / 1e9, '.3f')} | {seconds('xla')} | "
        f"{seconds('xla_per_step')} | {seconds('graph')} | "
        f"{seconds('eager')} | {_fmt(xla.get('first_call_seconds'), '.1f')} | "
        f"{_fmt(xla.get('images_per_second'), '.0f')} | "
        f"{_fmt(xla.get('gflops_per_second'), '.1f')} | "
        f"{_fmt(xla.get('matmul_gflops_per_second'), '.1f')} | "
        f"{_fmt(xla.get('fraction_of_matmul') and 100 * xla['fraction_of_matmul'], '.0f')} | "
        f"{_fmt(row.get('xla_speedup_over_graph'), '.2f')} "
        f"({_fmt(row.get('xla_speedup_over_graph_load_adjusted'), '.2f')}) | "
        f"{_fmt(xla.get('input_seconds_per_iteration') and 1e3 * xla['input_seconds_per_iteration'], '.1f')} | "
        f"{_fmt(xla.get('peak_host_memory_mib'), '.0f')} | "
        f"{_fmt(load.get('before'), '.1f')}-{_fmt(load.get('after'), '.1f')} |")
  for case, reason in summary['skipped'].items():
    lines.append(f'| {case} | skipped: {reason} |' + ' |' * 15)
  return '\n'.join(lines) + '\n'


def main(argv: Sequence[str]) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--cases', default=','.join(CASES),
                      help='comma-separated names of CASES')
  parser.add_argument('--modes', default=','.join(MODES),
                      help=f"comma-separated, of {', '.join(MODES)}")
  parser.add_argument('--repeats', type=int, default=5)
  parser.add_argument('--seconds_per_repeat', type=float, default=1.0)
  parser.add_argument('--warmup', type=int, default=2,
                      help='iterations after the first call, before timing')
  parser.add_argument('--matmul_size', type=int, default=MATMUL_SIZE)
  parser.add_argument('--out', required=True, help='JSON file to write')
  parser.add_argument('--markdown', default=None, help='table file to write')
  parser.add_argument('--overwrite', action='store_true')
  parser.add_argument('--worker_timeout', type=float, default=1800,
                      help='seconds before one case/mode is given up')
  parser.add_argument('--inputs', default=None,
                      help='comma-separated JSON files of earlier runs: '
                      'measure nothing, summarise their measurements')
  parser.add_argument('--nocount_flops', action='store_true',
                      help=argparse.SUPPRESS)
  parser.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
  args = parser.parse_args(argv)
  cases = [c for c in args.cases.split(',') if c]
  modes = [m for m in args.modes.split(',') if m]
  bad = [c for c in cases if c not in CASES] + [m for m in modes
                                                 if m not in MODES]
  if bad or args.repeats < 1 or args.seconds_per_repeat <= 0 or \
      args.warmup < 0 or args.matmul_size < 1 or args.worker_timeout <= 0:
    print(f'error: unknown case or mode {bad}, or a non-positive count; '
          f"cases: {', '.join(CASES)}; modes: {', '.join(MODES)}.",
          file=sys.stderr)
    return 2
  # TensorFlow's start-up lines held back as in the scripts, once the
  # command line is known good (bad input and --inputs import no TensorFlow).
  if args.worker:
    cli.quiet_tensorflow()
    result = measure(cases[0], modes[0], repeats=args.repeats,
                     seconds_per_repeat=args.seconds_per_repeat,
                     warmup=args.warmup, count_flops=not args.nocount_flops,
                     matmul_size=args.matmul_size)
    with open(args.out, 'w', encoding='utf-8') as f:
      json.dump(result, f, indent=1)
    return 0
  for path in (args.out, args.markdown):
    if path and os.path.exists(path) and not args.overwrite:
      print(f"error: '{path}' exists; pass --overwrite to replace it.",
            file=sys.stderr)
      return 2
  command = 'python -m paper_gans.benchmark ' + ' '.join(argv)
  settings = {k: v for k, v in vars(args).items()
              if k not in ('worker', 'nocount_flops', 'overwrite')}
  started = time.time()
  results: List[Dict] = []
  skipped: Dict[str, str] = {}

  def write(summary):
    report = {'command': command, 'settings': settings,
              'wall_seconds': time.time() - started,
              'summary': summary, 'measurements': results}
    with open(args.out, 'w', encoding='utf-8') as f:
      json.dump(report, f, indent=1)
      f.write('\n')

  missing = [p for p in (args.inputs or '').split(',')
             if p and not os.path.exists(p)]
  if missing:
    print(f"error: --inputs file '{missing[0]}' does not exist.",
          file=sys.stderr)
    return 2
  if args.inputs:
    for path in args.inputs.split(','):
      with open(path, encoding='utf-8') as f:
        earlier = json.load(f)
      results.extend(earlier['measurements'])
      skipped.update(earlier['summary']['skipped'])
    measured = {r['case'] for r in results}
    skipped = {c: r for c, r in skipped.items() if c not in measured}
  else:
    cli.quiet_tensorflow()
    runnable, skipped = available_cases(cases)
    for case, reason in skipped.items():
      print(f'[benchmark] skipping {case}: {reason}', flush=True)
    for case in runnable:
      for mode in modes:
        print(f'[benchmark] {case} {mode} (load {load_average()})',
              flush=True)
        result = _run_worker(case, mode, args)
        results.append(result)
        if 'error' in result:
          print(f"[benchmark]   error: {result['error']}", flush=True)
        else:
          print(f"[benchmark]   {result['seconds_per_iteration']:.4f} s/it, "
                f"first call {result['first_call_seconds']:.1f} s, matmul "
                f"{result['matmul_gflops_per_second']:.1f} GFLOP/s",
                flush=True)
        write(summarise(results, skipped))  # Partial results survive a kill.
  summary = summarise(results, skipped)
  write(summary)
  table = markdown_table(summary)
  if args.markdown:
    with open(args.markdown, 'w', encoding='utf-8') as f:
      f.write(table)
  print(table)
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
