"""paper_gans.benchmark: FLOP counting from HLO, the record's structure, bad input.

No timing is asserted anywhere: on a shared CPU times say nothing about
correctness. The FLOP counts are checked against hand counts.
"""

import json

import pytest
import tensorflow as tf

from paper_gans import benchmark


def _hlo(function, *arguments):
  compiled = tf.function(function, jit_compile=True)
  return compiled.experimental_get_compiler_ir(*arguments)(
      stage='optimized_hlo')


def test_dot_flops_are_two_per_multiply_add():
  a = tf.ones([8, 16])
  b = tf.ones([16, 4])
  flops = benchmark.hlo_flops(_hlo(lambda a, b: tf.matmul(a, b), a, b))
  assert flops == {'dot': 2 * 8 * 16 * 4, 'convolution': 0,
                   'total': 2 * 8 * 16 * 4}


def test_convolution_counts_only_taps_inside_the_input():
  # 9x9 input, 3x3 kernel, stride 2, SAME: 5 outputs per axis, padding 1 on
  # each side. Taps reading the input, per axis: output 0 reads -1, 0, 1
  # (2 real), outputs 1-3 read 3 each, output 4 reads 7, 8, 9 (2 real):
  # 2 + 3 + 3 + 3 + 2 = 13. Batch 2, 3 -> 5 channels.
  x = tf.ones([2, 9, 9, 3])
  kernel = tf.ones([3, 3, 3, 5])
  hlo = _hlo(lambda x, k: tf.nn.conv2d(x, k, 2, 'SAME'), x, kernel)
  assert benchmark.hlo_flops(hlo)['convolution'] == 2 * (2 * 13 * 13 * 5 * 3)


def test_transposed_convolution_skips_the_inserted_zeros():
  # The gradient of a SAME 5x5 stride-2 convolution from 8x8 to 4x4 (pad
  # low 1). Input element i and tap k write output 2i + k - 1 where that is
  # in [0, 8): i = 0: 4 taps, i = 1: 5, i = 2: 5, i = 3: 3 (17 per axis).
  # Batch 1, 2 -> 3 channels. A dense count of the dilated input would be
  # 8 * 8 * 25 * 2 * 3 = 9600 multiply-adds instead of 17 * 17 * 6 = 1734.
  x = tf.ones([1, 4, 4, 2])
  kernel = tf.ones([5, 5, 3, 2])  # [k, k, out, in]
  hlo = _hlo(lambda x, k: tf.nn.conv2d_transpose(x, k, [1, 8, 8, 3], 2,
                                                 'SAME'), x, kernel)
  assert benchmark.hlo_flops(hlo)['convolution'] == 2 * (17 * 17 * 3 * 2)


def test_hlo_flops_of_text_with_fused_computations():
  # Optimized HLO prints no operand shapes; they come from the defining
  # instructions, also inside fused computations.
  hlo = '\n'.join([
      '%fused (param_0: f32[4,3], param_1: f32[3,2]) -> f32[4,2] {',
      '  %param_0 = f32[4,3]{1,0} parameter(0)',
      '  %param_1 = f32[3,2]{1,0} parameter(1)',
      '  ROOT %dot.1 = f32[4,2]{1,0} dot(%param_0, %param_1), '
      'lhs_contracting_dims={1}, rhs_contracting_dims={0}',
      '}'])
  assert benchmark.hlo_flops(hlo)['dot'] == 2 * 4 * 2 * 3


def test_steady_start_skips_wgans_warm_up():
  class Trainer:
    def batches_needed(self, iteration):
      return 100 if iteration < 25 or iteration % 500 == 0 else 5
  assert benchmark.steady_start(Trainer(), 400) == 25


def _tiny_measurement(mode, count_flops, warmup=1):
  return benchmark.measure(
      'wgan_gp_toy', mode, repeats=2, seconds_per_repeat=0.05, warmup=warmup,
      count_flops=count_flops, matmul_size=64,
      config_overrides={'dim': 8, 'batch_size': 16, 'critic_steps': 1})


def test_measurement_record_summary_and_table():
  xla = _tiny_measurement('xla', count_flops=True)
  graph = _tiny_measurement('graph', count_flops=False, warmup=0)
  for key in ('first_call_seconds', 'seconds_per_iteration',
              'images_per_second', 'peak_host_memory_mib',
              'matmul_gflops_per_second', 'load_average_1min', 'device'):
    assert key in xla, key
  assert len(xla['seconds_per_iteration_repeats']) == 2
  assert xla['critic_steps_per_iteration'] == 1
  assert xla['images_per_second'] == pytest.approx(
      16 / xla['seconds_per_iteration'])
  # One critic step and one generator step of 2 -> 8 -> 8 -> 8 -> 1/2 MLPs
  # at batch 16 multiply matrices; the count is positive and only dots.
  flops = xla['flops_per_iteration']
  assert flops['convolution'] == 0 and flops['dot'] > 0
  summary = benchmark.summarise([xla, graph], {'dcgan': 'ImportError: x'})
  row = summary['rows'][0]
  assert row['xla_speedup_over_graph'] == pytest.approx(
      graph['seconds_per_iteration'] / xla['seconds_per_iteration'])
  assert row['xla']['fraction_of_matmul'] == pytest.approx(
      flops['total'] / xla['seconds_per_iteration'] / 1e9 /
      xla['matmul_gflops_per_second'])
  assert summary['targets']['wgan_gp_toy']['speedup_target'] == 1.2
  table = benchmark.markdown_table(summary)
  assert '| wgan_gp_toy | 16 | 1 |' in table
  assert '| dcgan | skipped: ImportError: x |' in table
  json.dumps(summary)  # Everything is JSON-serialisable.


def test_flops_are_counted_on_the_cpu_whatever_runs_the_step():
  # On a GPU the count comes from a second trainer built on the CPU (XLA's
  # GPU HLO hides convolutions and products in cuDNN / cuBLAS custom-calls).
  # That route, forced here, counts what the step's own trainer counts.
  paper = benchmark.paper_module('wgan_gp')
  config = benchmark.case_config(paper, {'dataset': '8gaussians', 'dim': 8,
                                         'batch_size': 16, 'critic_steps': 2})
  trainer = paper.build_trainer(config, 'xla')
  iterator = iter(paper.dataset_fn(config)(0))
  real = [next(iterator) for _ in range(trainer.batches_needed())]
  images, labels = [r[0] for r in real], [r[1] for r in real]
  assert benchmark.cpu_flop_counter(paper, config, trainer) is trainer
  own = benchmark.iteration_flops(trainer, images, labels)
  counter = benchmark.cpu_flop_counter(paper, config, trainer, force_new=True)
  assert counter is not trainer
  assert all('CPU' in v.device for v in counter.variables)
  assert benchmark.iteration_flops(counter, images, labels) == own
  # A graph-mode trainer is counted through an XLA twin.
  graph = paper.build_trainer(config, 'graph')
  assert benchmark.iteration_flops(
      benchmark.cpu_flop_counter(paper, config, graph), images, labels) == own
  assert own['dot'] > 0 and own['convolution'] == 0


def test_unimportable_papers_are_skipped(monkeypatch):
  monkeypatch.setitem(benchmark.CASES, 'nonexistent',
                      ('no_such_paper', {}, 'mlp'))
  runnable, skipped = benchmark.available_cases(['wgan_gp_toy',
                                                 'nonexistent'])
  assert runnable == ['wgan_gp_toy']
  assert 'ModuleNotFoundError' in skipped['nonexistent']


def test_bad_arguments_exit_2(tmp_path, capsys):
  out = str(tmp_path / 'b.json')
  assert benchmark.main([f'--out={out}', '--cases=nope']) == 2
  assert benchmark.main([f'--out={out}', '--modes=fast']) == 2
  assert benchmark.main([f'--out={out}', '--repeats=0']) == 2
  assert benchmark.main([f'--out={out}', '--worker_timeout=0']) == 2
  assert 'unknown case or mode' in capsys.readouterr().err
  with open(out, 'w') as f:
    f.write('{}')
  assert benchmark.main([f'--out={out}', '--cases=wgan_gp_toy']) == 2
  assert 'pass --overwrite' in capsys.readouterr().err
  assert open(out).read() == '{}'
  other = str(tmp_path / 'c.json')
  assert benchmark.main([f'--out={other}', '--inputs=/no/such.json']) == 2
  assert 'does not exist' in capsys.readouterr().err
