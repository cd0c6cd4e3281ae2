"""Our conditional DCGAN ('newmu' preset) against the authors' Theano script.

Authors' code: Newmu/dcgan_code at commit
ee12b2d15a3856794b8dae77d1eb263c67c36e47 (its last commit), file
`mnist/train_cond_dcgan.py` (unchanged since it was added in commit
c7e43bdddc846df35766275861141ef12ff9e14e, "inital codebase + training
mnist"), with the library it imports re-typed in
tests/equivalence/newmu_dcgan_code.py (which says what stands in for
Theano's GPU-only functions). Line numbers are those of ee12b2d.

Re-typed here, statement for statement (in this package's 2-space indent):

* `train_cond_dcgan_graph`, lines 32-47: the settings, the file's values
  (nbatch, whose batches are ours, is the ci_newmu preset's 16; the widths
  ngfc, ndfc, ngf, ndf are arguments, see below); lines 67-73: the
  activations, `bce = T.nnet.binary_crossentropy` and the initialisers,
  which here hand out OUR initial weights; lines 75-86: the parameters;
  lines 88-112: `gen` and `discrim`, verbatim (y concatenated at every
  layer with `conv_cond_concat`, `batchnorm` without gains or biases);
  lines 114-137: the graph, the five costs, `cost = [g_cost, d_cost,
  g_cost_d, d_cost_real, d_cost_gen]` and one `updates.Adam(lr=lrt, b1=b1,
  regularizer=updates.Regularizer(l2=l2))` per player.
* `train_cond_dcgan_functions`, lines 141-142: `_train_g = theano.function(
  [X, Z, Y], cost, updates=g_updates)` and `_train_d`, with the mean logits
  on X and gX appended to the outputs (our 'discriminator_real' and
  'discriminator_fake').
* `train_cond_dcgan_loop`, lines 189-207: for each minibatch `imb =
  transform(imb)`, `ymb = floatX(OneHot(ymb, ny))`, `zmb`, then `if
  n_updates % (k+1) == 0: cost = _train_g(imb, zmb, ymb) else: cost =
  _train_d(imb, zmb, ymb)`, `n_updates += 1`.
* Not re-typed: loading and visualisation (26-30, 50-65, 143-187), the
  per-epoch evaluation, samples, checkpoints and the learning-rate decay
  after niter = 100 epochs (208-231; our 101 updates are in the first of
  the file's epochs, where lrt = lr, as our EpochLinearDecay gives: checked).

What the re-typed loop is fed instead of its own data and random numbers
(`newmu_dcgan_code.newmu_minibatches`):

* `shuffle(trX, trY)` and `iter_data(trX, trY, size=nbatch)` (lines
  197-198) become the list of our updates' minibatches, one epoch of them.
  A discriminator update gets the real batch and labels our discriminator
  step consumed (images already in [0, 1], as the file's `transform`, X /
  255, makes them), rotated by 180 degrees into Theano's NCHW order; the
  file's `_train_d` generates its fakes for that batch's labels, as our
  trainer does ('real_batch').
* A generator update gets the labels our generator step drew (uniform over
  the ten classes) as ymb. In the file, `_train_g` receives a minibatch of
  the data and generates for its labels; our engine's generator step draws
  its labels instead (paper_gans/papers/cdcgan_mnist.py says so). The
  update depends only on ymb and zmb, so the file's function run on our
  labels is the update ours made. Its images (seen only by the unused
  d_cost outputs) are the neighbouring discriminator update's.
* `zmb = floatX(np_rng.uniform(-1., 1., size=(len(imb), nz)))` (line 201)
  becomes the U(-1, 1) noise our trainer drew for that update.
* Weights: our initial weights in the file's layout: kernels transposed by
  (3, 2, 0, 1); gw2's columns (G's reshape to 2 ngf x 7 x 7) and the
  first 2 ndf x 7 x 7 rows of dw3 (D's flatten) permuted by the rotation,
  dw3's ten label rows kept in place (newmu_dcgan_code's module docstring).

Widths. The ci_newmu preset keeps the file's widths (ngfc = ndfc = 1024,
ngf = ndf = 64: 13 million parameters), where one float64 update of our
trainer takes about 2 s on this 2-core CPU. The 101-update comparison
therefore runs the 'ci_newmu_narrow' preset, the same with ngf = ndf = 16
and ngfc = ndfc = 128 (the config's `newmu_*` widths; the file's
constructors are given the same widths); at the file's widths one forward
pass of both networks is compared.

Our columns against the file's outputs: 'generator_loss' = g_cost of a
`_train_g` call; 'discriminator_loss' = d_cost of a `_train_d` call (the sum
of the two means), 'discriminator_real' / 'discriminator_fake' = its mean
logits on X / gX; all computed before the call's update, as ours are.

Precision: float64 on both sides (floatX = float64 in PyTensor). The
file's Adam then decays beta1 (lib/updates.py line 151, see
newmu_dcgan_code), and so does ours (the preset's `beta1_decay`, the file's
l). Without that decay our losses leave the file's at update 4 (6.0e-12
relative, measured), and differ by up to 2.1% by update 200.
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
from newmu_dcgan_code import (OneHot, T, activations, batchnorm,
                              conv_cond_concat, deconv, dnn_conv, floatX,
                              sharedX, theano, updates)
from paper_gans import reference
from paper_gans.papers import cdcgan_mnist

# 101 updates: G alone, then 50 iterations of D, G (ends on an iteration
# boundary, so the final weights can be compared too).
UPDATES = 101
# Enough for the broken variant to show.
BROKEN_UPDATES = 3
# train_cond_dcgan.py lines 40-43: (ngf, ndf, ngfc, ndfc).
FILE_WIDTHS = (64, 64, 1024, 1024)

# Float64 on both sides, at the project's equivalence tolerance. Measured
# (AMD EPYC, TensorFlow 2.21, PyTensor 2.34): worst 4.5e-14 over the first
# 100 updates. Later on both players' training amplifies the float64
# rounding of the two frameworks' different summation orders by about x10
# every 20 updates, to 1.7e-9 by update 200, which is why the comparison
# stops at 101 updates.
RTOL = 1e-9

# PyTensor's warnings: Regularizer's T.sgn (lib/updates.py line 37, as
# written) is deprecated for T.sign; no BLAS is linked because no op is
# compiled (newmu_dcgan_code.MODE).
pytestmark = [
    pytest.mark.filterwarnings('ignore:sgn is deprecated'),
    pytest.mark.filterwarnings('ignore:PyTensor could not link to a BLAS'),
]


def ci_config(preset='ci_newmu_narrow', **changes
              ) -> cdcgan_mnist.CDCGANMnistConfig:
  """The preset ('ci_newmu_narrow' or 'ci_newmu') in float64, with `changes`."""
  return dataclasses.replace(reference.preset_config(cdcgan_mnist, preset),
                             dtype='float64', **changes)


def widths_of(config):
  """(ngf, ndf, ngfc, ndfc) of the config's networks."""
  return (config.newmu_ngf, config.newmu_ndf, config.newmu_ngfc,
          config.newmu_ndfc)


# --------------------------------------------------------------------------
# Our variables -> the file's parameters.
# --------------------------------------------------------------------------

def parameter_maps(widths) -> Dict[str, newmu.ParameterMap]:
  """{'gen': ..., 'discrim': ...}: each file parameter's source among ours."""
  ngf, ndf, _, _ = widths
  kernel = newmu.kernel_to_theano
  rotate = lambda channels, axis: functools.partial(
      newmu.units_to_theano, channels=channels, size=7, axis=axis)
  return {
      'gen': {
          'gw': ('generator/fc1/w:0', np.copy),
          'gw2': ('generator/fc2/w:0', rotate(ngf * 2, 1)),
          'gw3': ('generator/deconv1/w:0', kernel),
          'gwx': ('generator/deconv2/w:0', kernel),
      },
      'discrim': {
          'dw': ('discriminator/conv1/w:0', kernel),
          'dw2': ('discriminator/conv2/w:0', kernel),
          'dw3': ('discriminator/fc3/w:0', rotate(ndf * 2, 0)),
          'dwy': ('discriminator/logit/w:0', np.copy),
      },
  }


# --------------------------------------------------------------------------
# mnist/train_cond_dcgan.py, re-typed.
# --------------------------------------------------------------------------

def train_cond_dcgan_graph(initial: Dict[str, np.ndarray], widths):
  """Lines 32-137 on our initial weights, in float64.

  Args:
    initial: every parameter of the file by name (gw, ..., dwy), our
      initial weights in its layout.
    widths: (ngf, ndf, ngfc, ndfc) (the file's lines 40-43: 64, 64, 1024,
      1024).

  Returns:
    The file's variables: X, Z, Y, gX, p_real, p_gen, cost, g_updates,
    d_updates, and `parameters`, its shared parameters by name.
  """
  assert theano.config.floatX == 'float64'
  k = 1             # # of discrim updates for each gen update
  l2 = 2.5e-5       # l2 weight decay
  b1 = 0.5          # momentum term of adam
  nc = 1            # # of channels in image
  ny = 10           # # of classes
  nbatch = 16       # # of examples in batch (the file: 128; ci_newmu: 16)
  npx = 28          # # of pixels width/height of images
  nz = 100          # # of dim for Z
  ngf, ndf, ngfc, ndfc = widths  # the file: 64, 64, 1024, 1024
  nx = npx*npx*nc   # # of dimensions in X
  niter = 100       # # of iter at starting learning rate
  niter_decay = 100 # # of iter to linearly decay learning rate to zero
  lr = 0.0002       # initial learning rate for adam
  del k, nbatch, nx, niter, niter_decay  # Used by the loop, or not at all.

  relu = activations.Rectify()
  sigmoid = activations.Sigmoid()
  lrelu = activations.LeakyRectify()
  bce = T.nnet.binary_crossentropy

  # inits.Normal(scale=0.02) in the file: here each hands out our value.
  gifn = difn = newmu.OursInitializer(initial)

  gw  = gifn((nz+ny, ngfc), 'gw')
  gw2 = gifn((ngfc+ny, ngf*2*7*7), 'gw2')
  gw3 = gifn((ngf*2+ny, ngf, 5, 5), 'gw3')
  gwx = gifn((ngf+ny, nc, 5, 5), 'gwx')

  dw  = difn((ndf, nc+ny, 5, 5), 'dw')
  dw2 = difn((ndf*2, ndf+ny, 5, 5), 'dw2')
  dw3 = difn((ndf*2*7*7+ny, ndfc), 'dw3')
  dwy = difn((ndfc+ny, 1), 'dwy')

  gen_params = [gw, gw2, gw3, gwx]
  discrim_params = [dw, dw2, dw3, dwy]
  assert sorted(gifn.used) == sorted(initial), (gifn.used, sorted(initial))

  def gen(Z, Y, w, w2, w3, wx):
    yb = Y.dimshuffle(0, 1, 'x', 'x')
    Z = T.concatenate([Z, Y], axis=1)
    h = relu(batchnorm(T.dot(Z, w)))
    h = T.concatenate([h, Y], axis=1)
    h2 = relu(batchnorm(T.dot(h, w2)))
    h2 = h2.reshape((h2.shape[0], ngf*2, 7, 7))
    h2 = conv_cond_concat(h2, yb)
    h3 = relu(batchnorm(deconv(h2, w3, subsample=(2, 2), border_mode=(2, 2))))
    h3 = conv_cond_concat(h3, yb)
    x = sigmoid(deconv(h3, wx, subsample=(2, 2), border_mode=(2, 2)))
    return x

  def discrim(X, Y, w, w2, w3, wy):
    yb = Y.dimshuffle(0, 1, 'x', 'x')
    X = conv_cond_concat(X, yb)
    h = lrelu(dnn_conv(X, w, subsample=(2, 2), border_mode=(2, 2)))
    h = conv_cond_concat(h, yb)
    h2 = lrelu(batchnorm(dnn_conv(h, w2, subsample=(2, 2), border_mode=(2, 2))))
    h2 = T.flatten(h2, 2)
    h2 = T.concatenate([h2, Y], axis=1)
    h3 = lrelu(batchnorm(T.dot(h2, w3)))
    h3 = T.concatenate([h3, Y], axis=1)
    y = sigmoid(T.dot(h3, wy))
    return y

  X = T.tensor4()
  Z = T.matrix()
  Y = T.matrix()

  gX = gen(Z, Y, *gen_params)

  p_real = discrim(X, Y, *discrim_params)
  p_gen = discrim(gX, Y, *discrim_params)

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
      X=X, Z=Z, Y=Y, gX=gX, p_real=p_real, p_gen=p_gen, cost=cost,
      g_updates=g_updates, d_updates=d_updates,
      parameters={p.name: p for p in gen_params + discrim_params})


def train_cond_dcgan_functions(graph):
  """Lines 141-142: `_train_g` and `_train_d`.

  Their outputs are the file's `cost`, then the mean logits on X and on gX
  (ours: 'discriminator_real', 'discriminator_fake').
  """
  X, Z, Y, cost = graph.X, graph.Z, graph.Y, graph.cost  # pylint: disable=invalid-name
  logit_means = [T.mean(newmu.logit(p)) for p in (graph.p_real, graph.p_gen)]
  _train_g = theano.function([X, Z, Y], cost + logit_means, updates=graph.g_updates)
  _train_d = theano.function([X, Z, Y], cost + logit_means, updates=graph.d_updates)
  return _train_g, _train_d


def train_cond_dcgan_loop(_train_g, _train_d, minibatches) -> List[Dict]:
  """Lines 189-207 on our minibatches (`newmu_dcgan_code.Minibatch`es, one
  per update, in order).

  Returns:
    One dict per update: 'player' ('generator' for a `_train_g` call, else
    'discriminator') and the call's outputs by `newmu_dcgan_code.COST_NAMES`.
  """
  k = 1             # # of discrim updates for each gen update (line 32)
  ny = 10           # # of classes (line 36)
  nz = 100          # # of dim for Z (line 39)
  rows = []
  n_updates = 0
  n_examples = 0
  for minibatch in minibatches:  # One epoch of our minibatches.
    imb = floatX(newmu.to_theano_images(minibatch.images))  # transform(imb)
    ymb = floatX(OneHot(minibatch.y, ny))
    zmb = floatX(minibatch.z)  # np_rng.uniform(-1., 1., size=(len(imb), nz))
    assert zmb.shape == (len(imb), nz) and ymb.shape == (len(imb), ny)
    if n_updates % (k+1) == 0:
      cost = _train_g(imb, zmb, ymb)
      player = 'generator'
    else:
      cost = _train_d(imb, zmb, ymb)
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

def run_authors(run, config, widths):
  """The file's loop from our initial weights, on our minibatches.

  Returns:
    (rows, parameters): `train_cond_dcgan_loop`'s rows and the file's
    shared parameters by name, as trained.
  """
  maps = parameter_maps(widths)
  initial = newmu.scripts_parameters(run.trainer, maps, values={
      'gen': run.initial_generator, 'discrim': run.initial_discriminator})

  def build():
    graph = train_cond_dcgan_graph(initial, widths)
    return train_cond_dcgan_functions(graph) + (graph.parameters,)

  _train_g, _train_d, parameters = newmu.compiled_once(widths, initial, build)
  minibatches = newmu.newmu_minibatches(run, config.latent_dim,
                                        conditional=True)
  return train_cond_dcgan_loop(_train_g, _train_d, minibatches), parameters


def check_config_is_the_files(config) -> None:
  """The settings of lines 32-47 and lib/updates.py, as our config has them."""
  assert config.preset == 'newmu'
  assert config.weight_decay == 2.5e-5  # l2 = 2.5e-5
  assert config.beta1 == 0.5  # b1 = 0.5
  assert config.latent_dim == 100  # nz = 100
  assert config.learning_rate == 0.0002  # lr = 0.0002
  assert config.latent_distribution == 'uniform'  # np_rng.uniform(-1., 1.)
  assert (config.lr_schedule, config.lr_constant_epochs,
          config.lr_decay_epochs) == ('linear', 100, 100)  # niter, niter_decay
  # updates.Adam's defaults b2=0.999, e=1e-8 (lib/updates.py line 142), e
  # added to sqrt(v_c) (line 162).
  assert (config.beta2, config.adam_epsilon) == (0.999, 1e-8)
  assert config.epsilon_placement == 'algorithm1'
  assert config.fake_labels_in_d_step == 'real_batch'  # gen(Z, Y), Y = ymb
  assert config.generator_first  # `if n_updates % (k+1) == 0: _train_g`
  # updates.Adam's default l=1-1e-8 (lib/updates.py line 142).
  assert config.beta1_decay == 1 - 1e-8


def compare(config, updates: int):
  """Our run and the file's: (run, rows, parameters)."""
  run = ours.run(cdcgan_mnist, config, updates)
  assert len(run.trajectory) == updates
  rows, parameters = run_authors(run, config, widths_of(config))
  # The file's loop ran every update of ours (whole iterations), which may
  # be one more than the trajectory records.
  assert len(rows) >= len(run.trajectory)
  return run, rows, parameters


# --------------------------------------------------------------------------
# The tests.
# --------------------------------------------------------------------------

def test_every_loss_matches_train_cond_dcgan_py_for_101_updates():
  config = ci_config()
  check_config_is_the_files(config)
  assert widths_of(config) == (16, 16, 128, 128)
  run, rows, parameters = compare(config, UPDATES)
  assert [len(it.images) for it in run.iterations] == [0] + [1] * 50
  # Both players' rates are still lr (the file's epoch 1 of 200).
  for optimizer in (run.trainer.generator_optimizer,
                    run.trainer.discriminator_optimizer):
    assert float(optimizer.learning_rate()) == 0.0002
  worst, failures = newmu.loss_differences(run, rows, RTOL)
  assert not failures, failures[:5]
  worst_state, where = newmu.state_difference(
      newmu.scripts_parameters(run.trainer,
                               parameter_maps(widths_of(config))),
      parameters)
  assert worst_state <= RTOL, (worst_state, where)


def test_the_files_widths_give_our_logits_and_samples():
  # ci_newmu exactly (ngf = ndf = 64, ngfc = ndfc = 1024): one forward pass
  # of gen and discrim on a real batch of ours and its labels.
  config = ci_config('ci_newmu')
  assert widths_of(config) == FILE_WIDTHS
  trainer = cdcgan_mnist.build_trainer(config, 'eager')
  initial = newmu.scripts_parameters(trainer, parameter_maps(FILE_WIDTHS))
  graph = train_cond_dcgan_graph(initial, FILE_WIDTHS)
  forward = theano.function([graph.X, graph.Z, graph.Y], [
      newmu.logit(graph.p_real), newmu.logit(graph.p_gen), graph.gX])
  images, labels = next(iter(cdcgan_mnist.dataset_fn(config)(0)))
  images, labels = images.numpy(), labels.numpy()
  z = np.random.default_rng(0).uniform(-1.0, 1.0, size=(len(images), 100))
  logits_real, logits_gen, samples = forward(
      newmu.to_theano_images(images), z, floatX(OneHot(labels, 10)))
  ours_samples = trainer.generator(tf.constant(z), labels=labels,
                                   training=True)
  ours_real = trainer.discriminator(tf.constant(images), labels=labels,
                                    training=True)
  ours_gen = trainer.discriminator(ours_samples, labels=labels, training=True)
  # The file's samples are ours rotated by 180 degrees. One float64
  # forward pass each, differing only in summation order; measured (AMD
  # EPYC, TensorFlow 2.21, PyTensor 2.34): samples 4.4e-16 absolute
  # (sigmoid outputs in [0, 1]), logits 1.7e-14 relative. Absolute for the
  # samples, since some are near 0.
  np.testing.assert_allclose(samples,
                             newmu.to_theano_images(ours_samples.numpy()),
                             rtol=0, atol=1e-13)
  np.testing.assert_allclose(logits_real[:, 0], ours_real.numpy(), rtol=1e-12)
  np.testing.assert_allclose(logits_gen[:, 0], ours_gen.numpy(), rtol=1e-12)


def test_discriminator_first_fails_the_comparison():
  # --nogenerator_first: D, G, D, G, ... where the file's loop starts with
  # _train_g at n_updates = 0. The file's loop is unchanged. (Eager: for
  # three updates it is quicker here than tracing the graphs.)
  config = ci_config(generator_first=False)
  run = ours.run(cdcgan_mnist, config, BROKEN_UPDATES, compile_mode='eager')
  rows, _ = run_authors(run, config, widths_of(config))
  _, failures = newmu.loss_differences(run, rows, RTOL)
  assert failures
  # Our update 0 is a discriminator update, the file's a _train_g call.
  assert failures[0][:2] == (0, 'player'), failures[0]
