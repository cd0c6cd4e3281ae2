"""Our DCGAN trainer against the authors' Theano script, re-typed in PyTensor.

Authors' code: Newmu/dcgan_code at commit
ee12b2d15a3856794b8dae77d1eb263c67c36e47 (its last commit), file
`faces/train_uncond_dcgan.py` (unchanged since it was added in 1eb315c),
with the library it imports (`lib/updates.py`, `lib/ops.py` and the rest)
re-typed in tests/equivalence/newmu_dcgan_code.py, which also says what
stands in for Theano's GPU-only functions. Line numbers are those of
ee12b2d.

Re-typed here, statement for statement (in this package's 2-space indent):

* `train_uncond_dcgan_graph`, lines 36-148:
  - lines 36-49, the settings: k, l2, b1, nz, niter, niter_decay and lr are
    the file's; npx, ngf, ndf and nc are arguments, the ci preset's 16, 16,
    16 and 1 (MNIST) where the file has 64, 128, 128 and 3;
  - lines 68-77: the activations, `bce = T.nnet.binary_crossentropy`, and
    the initialisers, which here hand out OUR initial weights;
  - lines 79-124, the parameters, `gen` and `discrim`: at npx = 64 the
    file's lines verbatim. The ci preset's npx = 16 has two stride-2 layers
    each way instead of four: the same lines without those of gw3, gw4,
    dw3, dw4 (with their gains and biases) and of h3, h4, h2 feeding the
    output layers, and the 4x4 layer with ngf*2 channels in G (ndf*2 in D)
    instead of ngf*8. paper_gans/networks/dcgan.py generalises the depth
    the same way;
  - lines 126-148: X, Z, gX, p_real, p_gen, the five costs, `cost =
    [g_cost, d_cost, g_cost_d, d_cost_real, d_cost_gen]`, and one
    `updates.Adam(lr=lrt, b1=b1, regularizer=updates.Regularizer(l2=l2))`
    per player.
* `train_uncond_dcgan_functions`, lines 152-153: `_train_g =
  theano.function([X, Z], cost, updates=g_updates)` and `_train_d`, with the
  mean logits on X and on gX (the inputs of discrim's final sigmoid, read
  off the graph) appended to the outputs: our trainer records those as
  'discriminator_real' and 'discriminator_fake'.
* `train_uncond_dcgan_loop`, lines 193-208: `if n_updates % (k+1) == 0:
  cost = _train_g(imb, zmb) else: cost = _train_d(imb, zmb)`, `n_updates
  += 1`, each `cost` recorded.
* Not re-typed: the data set, transform and visualisation (26-34, 52-66,
  154-192), the per-epoch evaluation, samples and checkpoints, and the
  learning-rate decay (209-228; with niter_decay = 0 the rate never
  changes).

What the re-typed loop is fed instead of its own data and random numbers
(`newmu_dcgan_code.newmu_minibatches`):

* `tr_stream.get_epoch_iterator()` (line 200) becomes the list of our
  updates' minibatches, one epoch of them. A discriminator update gets the
  real batch our discriminator step consumed (already in [-1, 1], as the
  file's `transform`, `/127.5 - 1.`, makes them), a generator update one
  it does not depend on (see `newmu_minibatches`); both rotated by 180
  degrees into Theano's NCHW order.
* `zmb = floatX(np_rng.uniform(-1., 1., size=(len(imb), nz)))` (line 202)
  becomes the U(-1, 1) noise our trainer drew for that update.
* Weights: our initial weights in the file's layout: kernels transposed by
  (3, 2, 0, 1); gw's columns, gg, gb (G's reshape to 4x4) and dwy's rows
  (D's flatten) permuted by the rotation (newmu_dcgan_code's docstring).
* Update order: our trainer's 'generator_first' schedule runs G alone at
  iteration 0, then D, G per iteration; the file's loop decides by
  n_updates alone, so each update's player is compared as well as its
  losses.

Our columns against the file's outputs: 'generator_loss' = g_cost of a
`_train_g` call; 'discriminator_loss' = d_cost of a `_train_d` call (the SUM
of bce(p_real, 1).mean() and bce(p_gen, 0).mean()), 'discriminator_real' /
'discriminator_fake' = its mean logits on X / gX. All are computed before
the call's update, as ours are.

Precision: float64 on both sides (floatX = float64 in PyTensor). The
file's Adam then decays beta1 (lib/updates.py line 151, see
newmu_dcgan_code), and so does ours (`adam_beta1_decay`, the file's l).
Without that decay our losses leave the file's at update 3 (8.8e-11
relative, measured), and differ by up to 14% by update 200.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from typing import Dict, List

import numpy as np
import pytest
import tensorflow as tf

import newmu_dcgan_code as newmu
import ours
from newmu_dcgan_code import (T, activations, batchnorm, deconv, dnn_conv,
                              floatX, sharedX, theano, updates)
from paper_gans import reference
from paper_gans.papers import dcgan

# 101 updates: G alone, then 50 iterations of D, G (ends on an iteration
# boundary, so the final weights can be compared too).
UPDATES = 101
# Enough for the broken variant to show.
BROKEN_UPDATES = 3

# Float64 on both sides, at the project's equivalence tolerance. Measured
# (AMD EPYC, TensorFlow 2.21, PyTensor 2.34): worst 1.5e-14 over the first
# 100 updates. Later on both players' training amplifies the float64
# rounding of the two frameworks' different summation orders by about x10
# every 20 updates, to 1.7e-9 by update 200, which is why the comparison
# stops at 101 updates; the float64 reference replay of this preset shows
# the same growth between replays with other intra-op thread counts
# (docs/verification.md, "Reference trajectories").
RTOL = 1e-9

# PyTensor's warnings: Regularizer's T.sgn (lib/updates.py line 37, as
# written) is deprecated for T.sign; no BLAS is linked because no op is
# compiled (newmu_dcgan_code.MODE).
pytestmark = [
    pytest.mark.filterwarnings('ignore:sgn is deprecated'),
    pytest.mark.filterwarnings('ignore:PyTensor could not link to a BLAS'),
]


def ci_config(**changes) -> dcgan.DCGANConfig:
  """The 'ci' preset in float64, with `changes`."""
  return dataclasses.replace(reference.preset_config(dcgan, 'ci'),
                             dtype='float64', **changes)


# --------------------------------------------------------------------------
# Our variables -> the file's parameters.
# --------------------------------------------------------------------------

def parameter_maps(config) -> Dict[str, newmu.ParameterMap]:
  """{'gen': ..., 'discrim': ...}: each file parameter's source among ours."""
  layers = dcgan.dcgan_networks.num_strided_layers(config.image_size)
  g_base = config.generator_width * 2 ** (layers - 1)  # ngf*8 at npx = 64
  d_top = config.discriminator_width * 2 ** (layers - 1)  # ndf*8 at 64
  rotate = lambda channels, axis: functools.partial(
      newmu.units_to_theano, channels=channels, size=4, axis=axis)
  kernel = newmu.kernel_to_theano
  gen = {'gw': ('generator/project/w:0', rotate(g_base, 1)),
         'gg': ('generator/project_bn/gamma:0', rotate(g_base, 0)),
         'gb': ('generator/project_bn/beta:0', rotate(g_base, 0))}
  for index in range(1, layers):
    gen[f'gw{index + 1}'] = (f'generator/deconv{index}/w:0', kernel)
    gen[f'gg{index + 1}'] = (f'generator/deconv{index}_bn/gamma:0', np.copy)
    gen[f'gb{index + 1}'] = (f'generator/deconv{index}_bn/beta:0', np.copy)
  gen['gwx'] = (f'generator/deconv{layers}/w:0', kernel)
  discrim = {'dw': ('discriminator/conv1/w:0', kernel)}
  for index in range(2, layers + 1):
    discrim[f'dw{index}'] = (f'discriminator/conv{index}/w:0', kernel)
    discrim[f'dg{index}'] = (f'discriminator/conv{index}_bn/gamma:0', np.copy)
    discrim[f'db{index}'] = (f'discriminator/conv{index}_bn/beta:0', np.copy)
  discrim['dwy'] = ('discriminator/logit/w:0', rotate(d_top, 0))
  return {'gen': gen, 'discrim': discrim}


# --------------------------------------------------------------------------
# faces/train_uncond_dcgan.py, re-typed.
# --------------------------------------------------------------------------

def train_uncond_dcgan_graph(initial: Dict[str, np.ndarray], npx: int,
                             nc: int, ngf: int, ndf: int):
  """Lines 36-148 on our initial weights, in float64.

  Args:
    initial: every parameter of the file by name (gw, gg, ..., dwy), our
      initial weights in its layout.
    npx, nc, ngf, ndf: the file's sizes (lines 40-45), as the config sets
      them.

  Returns:
    The file's variables: X, Z, gX, p_real, p_gen, cost, g_updates,
    d_updates, and `parameters`, its shared parameters by name.
  """
  assert theano.config.floatX == 'float64'
  k = 1             # # of discrim updates for each gen update
  l2 = 1e-5         # l2 weight decay
  b1 = 0.5          # momentum term of adam
  nbatch = 128      # # of examples in batch
  nz = 100          # # of dim for Z
  niter = 25        # # of iter at starting learning rate
  niter_decay = 0   # # of iter to linearly decay learning rate to zero
  lr = 0.0002       # initial learning rate for adam
  del k, nbatch, niter, niter_decay  # The loop's, or not used (our data).

  relu = activations.Rectify()
  sigmoid = activations.Sigmoid()
  lrelu = activations.LeakyRectify()
  tanh = activations.Tanh()
  bce = T.nnet.binary_crossentropy

  # inits.Normal(scale=0.02), inits.Normal(loc=1., scale=0.02) and
  # inits.Constant(c=0.) in the file: here each hands out our value.
  gifn = difn = gain_ifn = bias_ifn = newmu.OursInitializer(initial)

  if npx == 64:
    gw  = gifn((nz, ngf*8*4*4), 'gw')
    gg = gain_ifn((ngf*8*4*4), 'gg')
    gb = bias_ifn((ngf*8*4*4), 'gb')
    gw2 = gifn((ngf*8, ngf*4, 5, 5), 'gw2')
    gg2 = gain_ifn((ngf*4), 'gg2')
    gb2 = bias_ifn((ngf*4), 'gb2')
    gw3 = gifn((ngf*4, ngf*2, 5, 5), 'gw3')
    gg3 = gain_ifn((ngf*2), 'gg3')
    gb3 = bias_ifn((ngf*2), 'gb3')
    gw4 = gifn((ngf*2, ngf, 5, 5), 'gw4')
    gg4 = gain_ifn((ngf), 'gg4')
    gb4 = bias_ifn((ngf), 'gb4')
    gwx = gifn((ngf, nc, 5, 5), 'gwx')

    dw  = difn((ndf, nc, 5, 5), 'dw')
    dw2 = difn((ndf*2, ndf, 5, 5), 'dw2')
    dg2 = gain_ifn((ndf*2), 'dg2')
    db2 = bias_ifn((ndf*2), 'db2')
    dw3 = difn((ndf*4, ndf*2, 5, 5), 'dw3')
    dg3 = gain_ifn((ndf*4), 'dg3')
    db3 = bias_ifn((ndf*4), 'db3')
    dw4 = difn((ndf*8, ndf*4, 5, 5), 'dw4')
    dg4 = gain_ifn((ndf*8), 'dg4')
    db4 = bias_ifn((ndf*8), 'db4')
    dwy = difn((ndf*8*4*4, 1), 'dwy')

    gen_params = [gw, gg, gb, gw2, gg2, gb2, gw3, gg3, gb3, gw4, gg4, gb4, gwx]
    discrim_params = [dw, dw2, dg2, db2, dw3, dg3, db3, dw4, dg4, db4, dwy]

    def gen(Z, w, g, b, w2, g2, b2, w3, g3, b3, w4, g4, b4, wx):
      h = relu(batchnorm(T.dot(Z, w), g=g, b=b))
      h = h.reshape((h.shape[0], ngf*8, 4, 4))
      h2 = relu(batchnorm(deconv(h, w2, subsample=(2, 2), border_mode=(2, 2)), g=g2, b=b2))
      h3 = relu(batchnorm(deconv(h2, w3, subsample=(2, 2), border_mode=(2, 2)), g=g3, b=b3))
      h4 = relu(batchnorm(deconv(h3, w4, subsample=(2, 2), border_mode=(2, 2)), g=g4, b=b4))
      x = tanh(deconv(h4, wx, subsample=(2, 2), border_mode=(2, 2)))
      return x

    def discrim(X, w, w2, g2, b2, w3, g3, b3, w4, g4, b4, wy):
      h = lrelu(dnn_conv(X, w, subsample=(2, 2), border_mode=(2, 2)))
      h2 = lrelu(batchnorm(dnn_conv(h, w2, subsample=(2, 2), border_mode=(2, 2)), g=g2, b=b2))
      h3 = lrelu(batchnorm(dnn_conv(h2, w3, subsample=(2, 2), border_mode=(2, 2)), g=g3, b=b3))
      h4 = lrelu(batchnorm(dnn_conv(h3, w4, subsample=(2, 2), border_mode=(2, 2)), g=g4, b=b4))
      h4 = T.flatten(h4, 2)
      y = sigmoid(T.dot(h4, wy))
      return y
  else:
    # npx = 16: the same lines without the third and fourth stride-2 layers.
    assert npx == 16, npx
    gw  = gifn((nz, ngf*2*4*4), 'gw')
    gg = gain_ifn((ngf*2*4*4), 'gg')
    gb = bias_ifn((ngf*2*4*4), 'gb')
    gw2 = gifn((ngf*2, ngf, 5, 5), 'gw2')
    gg2 = gain_ifn((ngf), 'gg2')
    gb2 = bias_ifn((ngf), 'gb2')
    gwx = gifn((ngf, nc, 5, 5), 'gwx')

    dw  = difn((ndf, nc, 5, 5), 'dw')
    dw2 = difn((ndf*2, ndf, 5, 5), 'dw2')
    dg2 = gain_ifn((ndf*2), 'dg2')
    db2 = bias_ifn((ndf*2), 'db2')
    dwy = difn((ndf*2*4*4, 1), 'dwy')

    gen_params = [gw, gg, gb, gw2, gg2, gb2, gwx]
    discrim_params = [dw, dw2, dg2, db2, dwy]

    def gen(Z, w, g, b, w2, g2, b2, wx):
      h = relu(batchnorm(T.dot(Z, w), g=g, b=b))
      h = h.reshape((h.shape[0], ngf*2, 4, 4))
      h2 = relu(batchnorm(deconv(h, w2, subsample=(2, 2), border_mode=(2, 2)), g=g2, b=b2))
      x = tanh(deconv(h2, wx, subsample=(2, 2), border_mode=(2, 2)))
      return x

    def discrim(X, w, w2, g2, b2, wy):
      h = lrelu(dnn_conv(X, w, subsample=(2, 2), border_mode=(2, 2)))
      h2 = lrelu(batchnorm(dnn_conv(h, w2, subsample=(2, 2), border_mode=(2, 2)), g=g2, b=b2))
      h2 = T.flatten(h2, 2)
      y = sigmoid(T.dot(h2, wy))
      return y
  assert sorted(gifn.used) == sorted(initial), (gifn.used, sorted(initial))

  X = T.tensor4()
  Z = T.matrix()

  gX = gen(Z, *gen_params)

  p_real = discrim(X, *discrim_params)
  p_gen = discrim(gX, *discrim_params)

  d_cost_real = bce(p_real, T.ones(p_real.shape)).mean()
  d_cost_gen = bce(p_gen, T.zeros(p_gen.shape)).mean()
  g_cost_d = bce(p_gen, T.ones(p_gen.shape)).mean()

  d_cost = d_cost_real + d_cost_gen
  g_cost = g_cost_d

  cost = [g_cost, d_cost, g_cost_d, d_cost_real, d_cost_gen]

  lrt = sharedX(lr)
  d_updater = updates.Adam(lr=lrt, b1=b1, regularizer=updates.Regularizer(l2=l2))
  g_updater = updates.Adam(lr=lrt, b1=b1, regularizer=updates.Regularizer(l2=l2))
  d_updates = d_updater(discrim_params, d_cost)
  g_updates = g_updater(gen_params, g_cost)
  return types.SimpleNamespace(
      X=X, Z=Z, gX=gX, p_real=p_real, p_gen=p_gen, cost=cost,
      g_updates=g_updates, d_updates=d_updates,
      parameters={p.name: p for p in gen_params + discrim_params})


def train_uncond_dcgan_functions(graph):
  """Lines 152-153: `_train_g` and `_train_d`.

  Their outputs are the file's `cost`, then the mean logits on X and on gX
  (ours: 'discriminator_real', 'discriminator_fake').
  """
  X, Z, cost = graph.X, graph.Z, graph.cost  # pylint: disable=invalid-name
  logit_means = [T.mean(newmu.logit(p)) for p in (graph.p_real, graph.p_gen)]
  _train_g = theano.function([X, Z], cost + logit_means, updates=graph.g_updates)
  _train_d = theano.function([X, Z], cost + logit_means, updates=graph.d_updates)
  return _train_g, _train_d


def train_uncond_dcgan_loop(_train_g, _train_d, minibatches) -> List[Dict]:
  """Lines 193-208 on our minibatches (`newmu_dcgan_code.Minibatch`es, one
  per update, in order).

  Returns:
    One dict per update: 'player' ('generator' for a `_train_g` call, else
    'discriminator') and the call's outputs by `newmu_dcgan_code.COST_NAMES`.
  """
  k = 1             # # of discrim updates for each gen update (line 36)
  nz = 100          # # of dim for Z (line 43)
  rows = []
  n_updates = 0
  n_examples = 0
  for minibatch in minibatches:  # One epoch of our minibatches.
    imb = floatX(newmu.to_theano_images(minibatch.images))  # transform
    zmb = floatX(minibatch.z)  # np_rng.uniform(-1., 1., size=(len(imb), nz))
    assert zmb.shape == (len(imb), nz)
    if n_updates % (k+1) == 0:
      cost = _train_g(imb, zmb)
      player = 'generator'
    else:
      cost = _train_d(imb, zmb)
      player = 'discriminator'
    n_updates += 1
    n_examples += len(imb)
    rows.append({'player': player,
                 **{name: float(value)
                    for name, value in zip(newmu.COST_NAMES, cost)}})
  return rows


# --------------------------------------------------------------------------
# Our run against the file's.
# --------------------------------------------------------------------------

def run_authors(run, config):
  """The file's loop from our initial weights, on our minibatches.

  Returns:
    (rows, parameters): `train_uncond_dcgan_loop`'s rows and the file's
    shared parameters by name, as trained.
  """
  maps = parameter_maps(config)
  initial = newmu.scripts_parameters(run.trainer, maps, values={
      'gen': run.initial_generator, 'discrim': run.initial_discriminator})
  sizes = (config.image_size, dcgan.channels_of(config),
           config.generator_width, config.discriminator_width)

  def build():
    graph = train_uncond_dcgan_graph(initial, *sizes)
    return train_uncond_dcgan_functions(graph) + (graph.parameters,)

  _train_g, _train_d, parameters = newmu.compiled_once(sizes, initial, build)
  minibatches = newmu.newmu_minibatches(run, config.latent_dim,
                                        conditional=False)
  return train_uncond_dcgan_loop(_train_g, _train_d, minibatches), parameters


def final_weights(run, config) -> Dict[str, np.ndarray]:
  """Our trained weights, in the file's layout, by its names."""
  return newmu.scripts_parameters(run.trainer, parameter_maps(config))


def check_config_is_the_files(config) -> None:
  """The settings lines 36-49 fix, as our config has them."""
  assert config.discriminator_steps == 1  # k = 1
  assert config.weight_decay == 1e-5  # l2 = 1e-5
  assert config.adam_beta1 == 0.5  # b1 = 0.5
  assert config.batch_size == 128  # nbatch = 128
  assert config.latent_dim == 100  # nz = 100
  assert config.learning_rate == 0.0002  # lr = 0.0002
  # updates.Adam's defaults b2=0.999, e=1e-8 (lib/updates.py line 142).
  assert (config.adam_beta2, config.adam_epsilon) == (0.999, 1e-8)
  assert config.generator_first  # `if n_updates % (k+1) == 0: _train_g`
  # updates.Adam's default l=1-1e-8 (lib/updates.py line 142).
  assert config.adam_beta1_decay == 1 - 1e-8


# --------------------------------------------------------------------------
# The tests.
# --------------------------------------------------------------------------

def test_every_loss_matches_train_uncond_dcgan_py_for_101_updates():
  config = ci_config()
  check_config_is_the_files(config)
  run = ours.run(dcgan, config, UPDATES)
  assert len(run.trajectory) == UPDATES
  assert [len(it.images) for it in run.iterations] == [0] + [1] * 50
  rows, parameters = run_authors(run, config)
  assert len(rows) == UPDATES
  worst, failures = newmu.loss_differences(run, rows, RTOL)
  assert not failures, failures[:5]
  worst_state, where = newmu.state_difference(final_weights(run, config),
                                              parameters)
  assert worst_state <= RTOL, (worst_state, where)


def test_the_files_own_64x64_networks_give_our_logits_and_samples():
  # The file's npx = 64 lines verbatim (four stride-2 layers each way), on
  # narrow layers (ngf = ndf = 8) and a batch of 4: one forward pass of gen
  # and discrim (training at 64 x 64 costs seconds per update on our side
  # here).
  config = ci_config(image_size=64, generator_width=8, discriminator_width=8,
                     batch_size=4)
  trainer = dcgan.build_trainer(config, 'eager')
  initial = newmu.scripts_parameters(trainer, parameter_maps(config))
  graph = train_uncond_dcgan_graph(initial, 64, 1, 8, 8)
  forward = theano.function([graph.X, graph.Z], [
      newmu.logit(graph.p_real), newmu.logit(graph.p_gen), graph.gX])
  rng = np.random.default_rng(0)
  x = rng.uniform(-1.0, 1.0, size=(4, 64, 64, 1))
  z = rng.uniform(-1.0, 1.0, size=(4, 100))
  logits_real, logits_gen, samples = forward(newmu.to_theano_images(x), z)
  ours_samples = trainer.generator(tf.constant(z), training=True)
  ours_real = trainer.discriminator(tf.constant(x), training=True)
  ours_gen = trainer.discriminator(ours_samples, training=True)
  # The file's samples are ours rotated by 180 degrees. One float64
  # forward pass each, differing only in summation order; measured (AMD
  # EPYC, TensorFlow 2.21, PyTensor 2.34): samples 3.9e-16 absolute
  # (tanh outputs in [-1, 1]), logits 2.5e-13 relative. Absolute for the
  # samples, since some are near 0.
  np.testing.assert_allclose(samples,
                             newmu.to_theano_images(ours_samples.numpy()),
                             rtol=0, atol=1e-13)
  np.testing.assert_allclose(logits_real[:, 0], ours_real.numpy(), rtol=1e-12)
  np.testing.assert_allclose(logits_gen[:, 0], ours_gen.numpy(), rtol=1e-12)


def test_adam_without_bias_correction_fails_the_comparison():
  # Our trainer with both Adams' update counters started at 10^6, where
  # 1 - beta1^t and 1 - beta2^t are exactly 1 in float64: Adam without
  # lib/updates.py's m_t / (1-self.b1**t), v_t / (1-self.b2**t). The dcgan
  # config has no learning-rate schedule, so nothing else reads the
  # counter. The file's loop is unchanged.
  config = ci_config()
  trainer = dcgan.build_trainer(config, 'graph')
  for optimizer in (trainer.generator_optimizer,
                    trainer.discriminator_optimizer):
    optimizer.step.assign(10 ** 6)
  run = ours.run(dcgan, config, BROKEN_UPDATES, trainer=trainer)
  rows, _ = run_authors(run, config)
  _, failures = newmu.loss_differences(run, rows, RTOL)
  assert failures
  # Update 0 is the generator's loss before any update; update 1 the
  # discriminator's, on fakes of the generator after its first (uncorrected)
  # step.
  first_update, column, _, _ = failures[0]
  assert (first_update, column) == (1, 'discriminator_loss'), failures[0]


def test_stand_in_convolutions_match_pytensors_own():
  # dnn_conv and deconv (GpuDnnConvGradI) as written in newmu_dcgan_code,
  # and their gradients, against PyTensor's reference CPU convolution
  # (AbstractConv2d and its input gradient, filter_flip for conv_mode
  # 'conv'), at the scripts' 5x5 kernels, stride 2 and padding 2.
  from pytensor.tensor.conv import abstract_conv  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  img = rng.normal(size=(3, 4, 8, 8))
  top = rng.normal(size=(3, 6, 4, 4))
  W = sharedX(rng.normal(size=(6, 4, 5, 5)))  # pylint: disable=invalid-name
  X, Y = T.tensor4(), T.tensor4()  # pylint: disable=invalid-name
  args = dict(border_mode=(2, 2), subsample=(2, 2))
  ours_conv = dnn_conv(X, W, **args)
  ref_conv = abstract_conv.conv2d(X, W, filter_flip=True, **args)
  ours_deconv = deconv(Y, W, **args)
  ref_deconv = abstract_conv.conv2d_grad_wrt_inputs(
      Y, W, input_shape=(3, 4, 8, 8), filter_flip=True, **args)
  outputs = []
  for out, inp in ((ours_conv, X), (ref_conv, X), (ours_deconv, Y),
                   (ref_deconv, Y)):
    # A nonlinear cost, so that both gradients depend on the values.
    outputs += [out] + list(T.grad((out ** 3).sum(), [inp, W]))
  values = theano.function([X, Y], outputs)(img, top)
  for mine, reference_value in zip(values[:3] + values[6:9],
                                   values[3:6] + values[9:12]):
    np.testing.assert_allclose(mine, reference_value, rtol=1e-12, atol=1e-12)
