"""float64 mode: `dtype='float64'` keeps a whole run in float64.

Every paper config has `dtype` (default float32, the papers' precision); a
float64 run is what the portable reference trajectories and the equivalence
tests are made of, so nothing of it may silently fall back to float32:
every variable of both networks, every optimizer slot and learning rate,
every data batch and every loss.
"""

import dataclasses

import pytest
import tensorflow as tf

from paper_gans import cli
from paper_gans import reference
from paper_gans.errors import ConfigError

PAPERS = ('cdcgan_mnist', 'dcgan', 'goodfellow2014', 'wgan_clip', 'wgan_gp')
CI_PRESETS = [(name, preset) for name in PAPERS
              for preset in reference.paper_module(name).REFERENCE_PRESETS
              if preset.startswith('ci')]


def test_every_paper_defaults_to_float32_and_has_a_dtype_flag():
  for name in PAPERS:
    config_class = reference.paper_module(name).CONFIG_CLASS
    assert config_class().dtype == 'float32'
    field = {f.name: f for f in dataclasses.fields(config_class)}['dtype']
    assert 'float64' in field.metadata['help']


def test_a_bad_dtype_is_refused_in_one_line():
  config = reference.paper_module('wgan_clip').CONFIG_CLASS(dtype='float16')
  with pytest.raises(ConfigError, match='--dtype must be one of float32, '
                     'float64'):
    config.validate()


def test_check_dtype_accepts_both_dtypes():
  for dtype in cli.DTYPES:
    cli.check_dtype(dtype)


@pytest.mark.parametrize('name,preset', CI_PRESETS,
                         ids=[f'{n}-{p}' for n, p in CI_PRESETS])
def test_a_float64_run_keeps_every_variable_slot_and_loss_in_float64(
    name, preset):
  paper = reference.paper_module(name)
  config = dataclasses.replace(reference.preset_config(paper, preset),
                               dtype='float64')
  if name == 'wgan_clip':
    # One critic step instead of main.py's 100-step warm-up: the dtypes are
    # the same, and 100 eager steps would take minutes.
    config = dataclasses.replace(config, warmup_critic_steps=1)
  config.validate()
  # Eager: no compilation, and the dtypes are the same in every mode.
  trainer = paper.build_trainer(config, 'eager')
  batches = iter(paper.dataset_fn(config)(0))
  real = [next(batches) for _ in range(trainer.batches_needed())]
  assert all(images.dtype == tf.float64 for images, _ in real)
  losses = trainer.train_iteration([b[0] for b in real], [b[1] for b in real])
  assert trainer.dtype == tf.float64
  optimizers = (trainer.generator_optimizer, trainer.discriminator_optimizer)
  variables = list(trainer.variables)
  for optimizer in optimizers:
    assert optimizer.dtype == tf.float64
    assert optimizer.learning_rate().dtype == tf.float64
    variables.extend(optimizer.variables)  # Slots, rates, counters.
  floating = [v for v in variables if v.dtype.is_floating]
  assert len(floating) > len(trainer.generator.trainable_variables)
  assert [v.name for v in floating if v.dtype != tf.float64] == []
  assert {n: t.dtype for n, t in losses.items()} == {
      n: tf.float64 for n in losses}


def test_networks_of_two_dtypes_are_refused():
  from paper_gans.networks import wgan_gp as networks  # pylint: disable=g-import-not-at-top
  from paper_gans import losses, optimizers, train  # pylint: disable=g-import-not-at-top
  generator = networks.ToyGenerator(hidden_units=4, dtype=tf.float64)
  critic = networks.ToyCritic(hidden_units=4)
  with pytest.raises(ConfigError, match='one floating dtype'):
    train.GANTrainer(
        generator=generator, discriminator=critic,
        generator_optimizer=optimizers.RMSprop(
            generator.trainable_variables, learning_rate=1e-3),
        discriminator_optimizer=optimizers.RMSprop(
            critic.trainable_variables, learning_rate=1e-3),
        discriminator_loss=losses.wasserstein_critic_loss,
        generator_loss=losses.wasserstein_generator_loss,
        compile_mode='eager')
