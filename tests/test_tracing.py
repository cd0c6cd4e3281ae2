"""No retracing: the compiled steps are traced once per distinct shape of work.

Over 50 generator iterations the Python-side state changes every iteration
(the iteration number, hence every seed) and the critic-step count changes
between three values, one of them above `max_unrolled_critic_steps`. The
unrolled whole-iteration function must be traced once per distinct k it
runs, the per-step functions once each, and nothing more.
"""

import tensorflow as tf

from paper_gans import data
from paper_gans import losses
from paper_gans import optimizers
from paper_gans import runner
from paper_gans import train
from paper_gans.networks import wgan_gp

WIDTH = 8
BATCH = 16
ITERATIONS = 50
UNROLL_LIMIT = 3


def critic_steps(iteration):
  # 2 and 3 run unrolled; 5 (above the limit) runs one call per step.
  if iteration % 10 == 9:
    return 5
  return 2 if iteration % 2 else 3


def make_trainer(compile_mode, update_order='alternating',
                 critic_steps_schedule=critic_steps, **options):
  generator = wgan_gp.ToyGenerator(hidden_units=WIDTH, seed=0)
  critic = wgan_gp.ToyCritic(hidden_units=WIDTH, seed=1)
  return train.GANTrainer(
      generator=generator, discriminator=critic,
      generator_optimizer=optimizers.RMSprop(generator.trainable_variables,
                                             learning_rate=1e-3),
      discriminator_optimizer=optimizers.RMSprop(critic.trainable_variables,
                                                 learning_rate=1e-3),
      discriminator_loss=losses.wasserstein_critic_loss,
      generator_loss=losses.wasserstein_generator_loss,
      update_order=update_order, critic_steps_schedule=critic_steps_schedule,
      gradient_penalty_weight=0.1 if update_order == 'alternating' else 0.0,
      compile_mode=compile_mode, max_unrolled_critic_steps=UNROLL_LIMIT,
      **options)


def traces(trainer):
  # pylint: disable=protected-access
  return {'unrolled': trainer._unrolled.experimental_get_tracing_count(),
          'critic': trainer._critic.experimental_get_tracing_count(),
          'generator': trainer._generator.experimental_get_tracing_count(),
          'simultaneous':
              trainer._simultaneous.experimental_get_tracing_count()}


def test_fifty_runner_iterations_trace_once_per_distinct_k(tmp_path):
  # Graph mode: tf.function traces the same way with jit_compile on or off
  # (tracing precedes compilation); under XLA each of the four traces would
  # also be compiled, for about 30 s more and nothing more to count. The two
  # tests below count traces under XLA.
  trainer = make_trainer('graph')
  options = runner.RunOptions(workdir=str(tmp_path), steps=ITERATIONS,
                              log_every=10, sample_every=1000,
                              checkpoint_every=1000, verbose=False)
  runner.run_training(
      trainer, lambda start: data.make_dataset('8gaussians', BATCH, seed=0,
                                               start_batch=start),
      options, {}, name='tracing')
  assert int(trainer.iteration.numpy()) == ITERATIONS
  ks = {critic_steps(i) for i in range(ITERATIONS)}
  assert ks == {2, 3, 5}
  # Unrolled: k = 2 and k = 3; per step: the critic and generator steps of
  # the k = 5 iterations, each traced once although their index, seed and
  # iteration change.
  assert traces(trainer) == {'unrolled': 2, 'critic': 1, 'generator': 1,
                             'simultaneous': 0}


def test_simultaneous_step_traces_once():
  trainer = make_trainer('xla', update_order='simultaneous')
  for i in range(ITERATIONS):
    real = data.sample_toy('8gaussians', BATCH, [0, i])
    trainer.train_iteration([real], [tf.zeros([BATCH], tf.int32)])
  assert traces(trainer) == {'unrolled': 0, 'critic': 0, 'generator': 0,
                             'simultaneous': 1}


def test_an_iteration_without_critic_steps_is_traced_once():
  # The generator-first schedule: k = 0 at iteration 0, then k = 1.
  trainer = make_trainer('xla',
                         critic_steps_schedule=train.generator_first_schedule(1),
                         batch_size=BATCH)
  for i in range(10):
    k = trainer.batches_needed()
    real = [data.sample_toy('8gaussians', BATCH, [0, i])] * k
    trainer.train_iteration(real, [tf.zeros([BATCH], tf.int32)] * k)
  assert traces(trainer) == {'unrolled': 2, 'critic': 0, 'generator': 0,
                             'simultaneous': 0}
