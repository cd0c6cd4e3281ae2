"""Times every dense layer, convolution and batch norm of a benchmark case's step, one at a time.

usage: python tools/time_layers.py CASE [REPEATS [MODE]]   (CASE: a paper_gans.benchmark case;
       MODE: 'xla', the default, or 'graph': tf.function without XLA, layers and step alike)

Measurement script for docs/performance.md, items 2, 7 and 8; not part of the package.
Records the (layer, input shape) of every Dense / Conv2D / ConvTranspose2D / BatchNorm call made while
one steady-state generator iteration is traced, then times each distinct one alone under XLA at
that shape: forward, and forward plus gradients with respect to the input and the variables
(a random upstream gradient). FLOPs come from the optimised HLO (benchmark.hlo_flops). Finally
times the whole step (train_iteration on fixed batches) and the 2048^3 matmul, back to back.
"""
import collections, statistics, sys, time
import tensorflow as tf
from paper_gans import benchmark, layers

case = sys.argv[1]
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 7
mode = sys.argv[3] if len(sys.argv) > 3 else 'xla'
module_name, overrides, _ = benchmark.CASES[case]
paper = benchmark.paper_module(module_name)
config = benchmark.case_config(paper, dict(overrides))
trainer = paper.build_trainer(config, mode)
iterator = iter(paper.dataset_fn(config)(0))
# The benchmark's steady state: the usual k (WGAN: 5, not its 100-step iterations).
steady = benchmark.steady_start(trainer, 400)
k = trainer.batches_needed(steady)
trainer.iteration.assign(steady)
batches = [next(iterator) for _ in range(k)]
images, labels = [b[0] for b in batches], [b[1] for b in batches]

calls = collections.Counter()
instances = {}
# Dense covers Maxout's product too (a Maxout holds a Dense); its max over pieces is not timed.
originals = {cls: cls.__call__ for cls in (layers.Dense, layers.Conv2D, layers.ConvTranspose2D,
                                          layers.BatchNorm)}
def recording(cls):
  def call(self, x, *args, **kwargs):
    key = (cls.__name__, self.name, tuple(x.shape), args, tuple(sorted(kwargs.items())))
    calls[key] += 1
    instances[key] = self
    return originals[cls](self, x, *args, **kwargs)
  return call
for cls in originals:
  cls.__call__ = recording(cls)
trainer.train_iteration(images, labels)  # traces and compiles once; records the calls
for cls, original in originals.items():
  cls.__call__ = original

def median_seconds(fn, *args):
  fn(*args)  # compile
  out = fn(*args); tf.nest.map_structure(lambda t: t.numpy(), out)
  times = []
  for _ in range(repeats):
    t = time.perf_counter(); out = fn(*args); tf.nest.map_structure(lambda t: t.numpy(), out)
    times.append(time.perf_counter() - t)
  return statistics.median(times)

def make_functions(layer, args, kwargs):
  def forward(x):
    return layer(x, *args, **kwargs)
  variables = list(layer.trainable_variables)
  def both(x, dy):
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = forward(x)
    # y too: a linear layer's gradients do not need y, and XLA would drop the forward pass.
    return [y] + tape.gradient(y, [x] + variables, output_gradients=dy)
  jit = mode == 'xla'
  return (tf.function(forward, jit_compile=jit), tf.function(both, jit_compile=jit),
          tf.function(forward, jit_compile=True), tf.function(both, jit_compile=True))

rows = []
for key, count in calls.items():
  kind, name, shape, args, kwargs = key
  layer = instances[key]
  x = tf.random.normal([config.batch_size if d is None else d for d in shape])
  fwd, bwd, fwd_xla, bwd_xla = make_functions(layer, args, dict(kwargs))  # *_xla: FLOP counts
  y_shape = fwd(x).shape
  dy = tf.random.normal(y_shape)
  t_fwd, t_both = median_seconds(fwd, x), median_seconds(bwd, x, dy)
  f_fwd = benchmark.hlo_flops(fwd_xla.experimental_get_compiler_ir(x)(stage='optimized_hlo'))['total']
  f_both = benchmark.hlo_flops(bwd_xla.experimental_get_compiler_ir(x, dy)(stage='optimized_hlo'))['total']
  rows.append(dict(kind=kind, name=name, shape=shape, calls=count, t_fwd=t_fwd, t_both=t_both, f_fwd=f_fwd, f_both=f_both))

t_step = median_seconds(lambda: trainer.train_iteration(images, labels))
matmul = benchmark.matmul_rate()
print(f'case {case}, mode {mode}, k {k}, step {t_step:.4f} s per generator iteration; matmul {matmul}')
print('| layer | input shape | calls per iteration | forward ms | forward+gradients ms | forward GFLOP/s | forward+gradients GFLOP/s |')
print('|---|---|---|---|---|---|---|')
lo = hi = 0.0
for r in sorted(rows, key=lambda r: -r['calls'] * r['t_both']):
  lo += r['calls'] * r['t_fwd']; hi += r['calls'] * r['t_both']
  rate = lambda f, t: f'{f / t / 1e9:.1f}' if f else '-'
  print(f"| {r['kind']} {r['name']} | {list(r['shape'])} | {r['calls']} | {1e3*r['t_fwd']:.2f} | {1e3*r['t_both']:.2f} | {rate(r['f_fwd'], r['t_fwd'])} | {rate(r['f_both'], r['t_both'])} |")
print(f'sum over calls: forward only {lo:.4f} s, forward+gradients {hi:.4f} s; step {t_step:.4f} s')
