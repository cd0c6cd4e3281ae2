"""Per-iteration wall time of runner.run_training vs its parts, toy step at width DIM (no profiler).

usage: python tools/time_runner.py STEPS DIM   (docs/performance.md: TensorBoard once per log window)

Measurement script; not part of the package.
"""
import dataclasses, os, shutil, sys, tempfile, time
import numpy as np
import tensorflow as tf
from paper_gans import runner
from paper_gans.papers import wgan_gp
steps, dim = int(sys.argv[1]), int(sys.argv[2])
config = wgan_gp.make_config(dataset='8gaussians', dim=dim, clipping_comparison=False)
make = wgan_gp.dataset_fn(config)
trainer = wgan_gp.build_trainer(config, 'xla')
k = trainer.batches_needed(0)  # gan_toy.py: CRITIC_ITERS = 5 at every iteration
it = iter(make(0)); batches = [next(it) for _ in range(k)]
imgs = [b[0] for b in batches]; labs = [b[1] for b in batches]
for _ in range(20): out = trainer.train_iteration(imgs, labs)
t = time.perf_counter()
for _ in range(steps): out = trainer.train_iteration(imgs, labs)
out['generator_loss'].numpy(); step_alone = (time.perf_counter() - t) / steps
t = time.perf_counter()
for _ in range(steps): bs = [next(it) for _ in range(k)]
next_alone = (time.perf_counter() - t) / steps
scratch = tempfile.mkdtemp(prefix='time_runner_')  # removed at the end
writer = tf.summary.create_file_writer(os.path.join(scratch, 'tensorboard'))
t = time.perf_counter()
with writer.as_default():
  for i in range(steps):
    for name in out:  # one scalar per loss, as the runner wrote them before
      tf.summary.scalar(name, 0.5, step=i)
summary_alone = (time.perf_counter() - t) / steps
trainer = wgan_gp.build_trainer(config, 'xla')
options = runner.RunOptions(workdir=os.path.join(scratch, 'run'), steps=steps + 100, log_every=50, sample_every=10**9, checkpoint_every=10**9, verbose=False)
runner.run_training(trainer, make, dataclasses.replace(options, steps=100), {}, name='prof')  # compiles
t = time.perf_counter()
runner.run_training(trainer, make, options, {}, name='prof')
total = (time.perf_counter() - t) / steps
print(f'dim {dim}, {steps} iterations, ms per generator iteration: run_training {1e3*total:.3f}; '
      f'train_iteration alone {1e3*step_alone:.3f}; {k} next(iterator) {1e3*next_alone:.3f}; '
      f'{len(out)} tf.summary.scalar {1e3*summary_alone:.3f}')
shutil.rmtree(scratch, ignore_errors=True)
