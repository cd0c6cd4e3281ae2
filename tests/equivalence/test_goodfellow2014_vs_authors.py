"""Our Goodfellow et al. 2014 MNIST trainer against the authors' pylearn2 run.

Authors' code: goodfeli/adversarial at commit
1720041f51efcb92df61d1638f1a74aea2ae74c2 (its last commit): `mnist.yaml`
(last changed at f77a509308fa4b94c551396768362bc12d9ebd4a) and `__init__.py`
(last changed at 90ea74d1249d0f32715b3dbbfc1f93872e0237a2). mnist.yaml
trains with lisa-lab/pylearn2, re-typed here from commit
8b79d97ae309b9d22ceeaa2d8a1f60be4d79c089 (master on 2014-06-20, the
pylearn2 of the week mnist.yaml and `__init__.py` were last changed), and
with Theano's elementwise ops of Theano/Theano commit
780f3ea64f96dc6d22aa95e2511f1fffff78b596 (2014-06-21). Line numbers below
are those commits'. pylearn2 and Theano cannot be installed here (Python 2,
no maintained build), so the loop is re-typed in NumPy, float64, with every
gradient written out by hand.

Re-typed, block by block (in this package's 2-space indent):

* The model, mnist.yaml lines 7-55: `AdversaryPair` of a `Generator` (noise
  'uniform', line 9) whose MLP is RectifiedLinear 'h0', RectifiedLinear
  'h1', Sigmoid 'y' (lines 11-31), and a discriminator MLP Maxout 'h0',
  Maxout 'h1' (240 units, 5 pieces), Sigmoid 'y' of dim 1 (lines 32-54).
  No layer sets max_col_norm, W_lr_scale or b_lr_scale, so pylearn2's
  `modify_updates` and `get_lr_scalers` leave SGD's update alone
  (`AdversaryPair._modify_updates`, `__init__.py` lines 109-117, with
  `shrink_d = 0.`).
* pylearn2 `models/mlp.py`: `Linear._linear_part` (lines 2388-2425,
  `z = transformer.lmul(state_below) + b`, lmul = T.dot(x, W) with W
  [input_dim, dim]); `RectifiedLinear.fprop` (2727-2736, `T.switch(p > 0.,
  p, left_slope * p)`, left_slope 0.); `Sigmoid.fprop` (2513-2518);
  `Sigmoid.cost` (2520-2553) -> `expr/nnet.py` `kl` (lines 111-163):
  `Y * softplus(-z) + (1 - Y) * softplus(z)` from the pre-sigmoid z, mean
  over units, then mean over the batch; `MLP.dropout_fprop` (803-879): per
  layer, include_prob and scale by layer name or the defaults, then
  `apply_dropout` (1027-1072): the state unchanged when include_prob is 1,
  else `state * mask * scale` with `mask = theano_rng.binomial(p=include_prob,
  size=state.shape)`, a fresh mask per example and element.
* pylearn2 `models/maxout.py` `Maxout.fprop` (lines 548-585): z = x W + b,
  W [input_dim, num_units * num_pieces]; `p = max over i < num_pieces of
  z[:, i:last_start+i+1:pool_stride]` (pool_stride = num_pieces), built as
  `T.maximum(cur, p)` piece after piece.
* Theano (sigm.py lines 64-67 and 321-323, the float64 C code of
  ScalarSigmoid and ScalarSoftplus, and their gradients at lines 39-43 and
  308-311; scalar/basic.py lines 1273-1287, `Maximum.grad`: `gx = eq(output,
  x) * gz`, `gy = eq(output, y) * gz`; sandbox/rng_mrg.py lines 1221-1228,
  `binomial` = `cast(uniform(size) < p, dtype)`).
* `__init__.py` `Generator.sample_and_noise` (lines 145-155) and
  `get_noise` (199-216): noise U(-sqrt(3), sqrt(3)), then the MLP's
  `dropout_fprop` at include prob 1. (no dropout in G).
* `__init__.py` `AdversaryCost2` (lines 272-428), with mnist.yaml lines
  70-81 (scale_grads 0; discriminator_default_input_include_prob .5,
  input_include_probs {'h0': .8}, default_input_scale 2., input_scales
  {'h0': 1.25}; everything else its defaults):
  - get_samples_and_objectives (323-380): y1, y0 (333-334); S, z from the
    generator (337); `noise_both = 0.` skips 339-342; y_hat1 =
    d.dropout_fprop(X, ...) and y_hat0 = d.dropout_fprop(S, ...), two
    separate dropout passes with their own masks (344-351); `d_obj = 0.5 *
    (cost(y1, y_hat1) + cost(y0, y_hat0))` (353); `no_drop_in_d_for_g`
    False, so `g_obj = cost(y1, y_hat0)`: the SAME dropped-out forward pass
    of D on the samples (355-359); blend_obj False (361-362); no inferer,
    i_obj = 0 (364-378).
  - get_gradients (382-428): d_grads = T.grad(d_obj, d_params), g_grads =
    T.grad(g_obj, g_params) (397-398); scale_grads 0 skips 400-403; each
    times now_train_discriminator / now_train_generator, both 1.
    (405-414); alternate_g False (424-426).
* pylearn2 `training_algorithms/learning_rule.py` `Momentum` (lines
  78-129): `inc := momentum * inc - learning_rate * lr_scaler * grad`,
  `param := param + inc` (classical momentum: this pylearn2 has no
  nesterov option; the later `nesterov_momentum` defaults to False and
  mnist.yaml does not set it); `MomentumAdjustor` (132-185): on_monitor
  increments a count and sets `init * (1 - alpha) + alpha * final` with
  alpha = clip((count - start) / (saturate - start), 0, 1).
* pylearn2 `training_algorithms/sgd.py`: `SGD.__init__` (lines 156-205;
  learning_rate a shared variable, 181), `SGD.setup` (329-381: the
  cost's gradients, then `learning_rule.get_updates(learning_rate, grads,
  lr_scalers)`), `SGD.train` (403-465: one epoch, `sgd_update(*batch)` then
  every update callback after each batch, 447-459), `ExponentialDecay`
  (757-810: after the n-th update, lr = base_lr / decay_factor ** n,
  latched at min_lr once it reaches it).
* pylearn2 `train.py` `Train.main_loop` (lines 130-230) and
  `run_callbacks_and_monitoring` (232-256): the extensions' on_monitor
  runs once before the first epoch (197) and after every epoch (214-215),
  so MomentumAdjustor's count is e + 1 during epoch e.
* Not re-typed: the monitor and its channels (they read but never change
  the parameters), `Train.save`, the data set classes, initialisation
  (replaced by loading OUR initial weights; their layouts are pylearn2's:
  Dense and Maxout W [in, out], the maxout pieces of unit u in columns
  5u .. 5u + 4 in both).

Checked unchanged at pylearn2's last commit
af81e5c362f0df4df85c3e54e23b2adeec026055 in everything re-typed, except:
`Momentum` gained `nesterov_momentum=False` (same rule when unset) and
`MomentumAdjustor.setup` sets the count to the epochs already seen (0 for a
fresh run) before the first on_monitor, which gives the same sequence.
pylearn2's `costs/mlp/dropout.py` `Dropout` cost is commented out in
mnist.yaml (lines 82-85): AdversaryCost2 calls `MLP.dropout_fprop` itself.

What the re-typed loop is fed instead of its own data and random numbers:

* Data: every real batch our trainer consumed, in order, as pylearn2's
  design matrix rows ([B, 784], row-major from our [B, 28, 28, 1]). Epochs
  are 50,000 / 100 = 500 batches, as pylearn2's iterator over
  MNIST(start=0, stop=50000) makes them.
* Noise: `Generator.get_noise`'s `theano_rng.uniform(low=-sqrt(3),
  high=sqrt(3))` returns our U(-sqrt(3), sqrt(3)) draw. get_noise asks for
  float32 whatever floatX is; the values fed are our float64 draws, so the
  re-typing runs in float64 throughout (floatX=float64).
* Dropout masks: `theano_rng.binomial(p=include_prob, size=state.shape)` is
  `uniform(size) < include_prob` (rng_mrg.py), so it is computed from our
  recorded uniforms: those our trainer drew for the same layer input
  (paper_gans/layers.py `dropout` keeps an element where its uniform is
  below keep_prob and multiplies it by the scale, as apply_dropout does).
  The draws come in the order both codes consume them: z, then D's three
  masks (h0, h1, y inputs) on the real batch, then D's three on the samples.
* Weights: our initial weights, as they are (layouts above).

Our side and the counting. One pylearn2 `sgd_update` updates both players
(AdversaryCost2.get_gradients; our `update_order='simultaneous'`,
`GANTrainer._simultaneous_step`), and our trajectory writes two rows for
it: a 'discriminator' row (discriminator_loss = d_obj; discriminator_real
and discriminator_fake = batch means of the pre-sigmoid output z of the
dropped-out D on the real batch and on the samples) and a 'generator' row
(generator_loss = g_obj). SGD_STEPS below counts sgd_updates. The runs here
build the SAME trainer in 'graph' mode (no XLA, so the stateless draws are
those of eager mode; eager mode costs 1 s a step under load on this
2-core machine) and record each draw with an identity `tf.numpy_function`
placed after each random op, still through `tests/equivalence/ours.py`.
"""

# pylearn2's names (W, X, S, Y, sharedX) are kept as the authors wrote them.
# pylint: disable=invalid-name

from __future__ import annotations

import collections
import dataclasses
from typing import Dict, List, Optional, Tuple
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf

import ours
from paper_gans import reference
from paper_gans import train
from paper_gans.papers import goodfellow2014

# pylearn2 sgd_update calls compared (each updates both players): 100 SGD
# steps, 200 rows of our trajectory.
SGD_STEPS = 100
# The broken variant departs at the first step.
BROKEN_STEPS = 2
# 50,000 images / batch 100: the epoch of pylearn2's iterator (and of our
# MomentumAdjustor).
BATCHES_PER_EPOCH = 500

# Float64 on both sides. Worst relative difference measured over the 400
# rows of 200 steps: 6.6e-12 (discriminator_fake at step 81, a batch mean
# of logits of both signs near 0: cancellation), 3.2e-16 for
# discriminator_loss (d_obj), 4.8e-16 for generator_loss (g_obj); over the
# 100 steps compared now, the same 6.6e-12. See also the comments at each
# assertion.
RTOL = 1e-9

# Theano's floatX for the re-typing (sharedX, np.cast[config.floatX]).
FLOATX = np.float64



def _expected_draw_shapes(config) -> List[Tuple[int, ...]]:
  """The draws of one of our simultaneous steps, in order: z, then D's
  dropout uniforms for the inputs of h0, h1 and y on the real batch, then
  on the samples."""
  b, units = config.batch_size, config.discriminator_units
  d_masks = [(b, 784), (b, units), (b, units)]
  return [(b, config.latent_dim)] + d_masks + d_masks


# --------------------------------------------------------------------------
# Theano's elementwise ops and random streams, as the re-typing needs them.
# --------------------------------------------------------------------------

def theano_sigmoid(x: np.ndarray) -> np.ndarray:
  """ScalarSigmoid's float64 C code (Theano sigm.py lines 66-67)."""
  with np.errstate(over='ignore'):
    return np.where(x < -709.0, 0.0,
                    np.where(x > 19.0, 1.0, 1.0 / (1.0 + np.exp(-x))))


def theano_softplus(x: np.ndarray) -> np.ndarray:
  """ScalarSoftplus's float64 C code (Theano sigm.py lines 322-323)."""
  with np.errstate(over='ignore'):
    return np.where(x < -745.0, 0.0,
                    np.where(x > 16.0, x, np.log1p(np.exp(x))))


class Shared:
  """A Theano shared variable: a value read and replaced between calls."""

  def __init__(self, value, name: Optional[str] = None):
    self._value = np.array(value, dtype=FLOATX)
    self.name = name

  def get_value(self) -> np.ndarray:
    return self._value

  def set_value(self, value) -> None:
    self._value = np.array(value, dtype=FLOATX)


def sharedX(value, name=None) -> Shared:
  """pylearn2.utils.sharedX: a shared variable of floatX."""
  return Shared(value, name)


class RecordedStreams:
  """Stands in for MRG_RandomStreams: returns our draws, in order.

  `uniform` hands out the next recorded draw (checking its shape); `binomial`
  is rng_mrg.py lines 1221-1228 on top of it.
  """

  def __init__(self, draws: List[np.ndarray]):
    self._draws = list(draws)
    self.used = 0

  def uniform(self, size, low=0.0, high=1.0, dtype=None):
    # Our draws are already scaled to [low, high) by our sampler; dtype is
    # float32 in get_noise, but the values are our float64 draws.
    del low, high, dtype
    value = self._draws[self.used]
    assert value.shape == tuple(size), (value.shape, size, self.used)
    self.used += 1
    return value

  def binomial(self, size=None, n=1, p=0.5, dtype='int64'):
    assert n == 1
    x = self.uniform(size=size)
    return (x < p).astype(dtype)


# --------------------------------------------------------------------------
# pylearn2's layers (models/mlp.py, models/maxout.py), forward and backward.
# Each fprop returns (output, cache); each bprop takes the cache and the
# gradient of the output and returns ({shared: gradient}, gradient of the
# input), the two halves of Theano's T.grad through that layer, each only
# when asked for (T.grad computes only what its outputs need).
# --------------------------------------------------------------------------

class Linear:
  """mlp.Linear: W [input_dim, dim] (MatrixMul), b [dim]."""

  def __init__(self, layer_name: str, W: np.ndarray, b: np.ndarray):
    self.layer_name = layer_name
    self.W = sharedX(W, layer_name + '_W')
    self.b = sharedX(b, layer_name + '_b')

  def get_params(self) -> List[Shared]:
    return [self.W, self.b]  # mlp.py lines 2176-2187: W, then b.

  def _linear_part(self, state_below):
    """mlp.py line 2418-2419: z = T.dot(state_below, W) + b."""
    return state_below.dot(self.W.get_value()) + self.b.get_value()

  def _linear_bprop(self, state_below, g_z, need):
    grads, g_below = {}, None
    if need.params:
      grads = {self.W: state_below.T.dot(g_z), self.b: g_z.sum(axis=0)}
    if need.input:
      g_below = g_z.dot(self.W.get_value().T)
    return grads, g_below


class RectifiedLinear(Linear):
  """mlp.RectifiedLinear.fprop (mlp.py lines 2727-2736), left_slope 0."""
  left_slope = 0.0

  def fprop(self, state_below):
    p = self._linear_part(state_below)
    return np.where(p > 0., p, self.left_slope * p), (state_below, p)

  def bprop(self, cache, g_out, need):
    state_below, p = cache
    # T.switch's gradient: gz to the branch taken, 0 to the other.
    g_p = np.where(p > 0., g_out, self.left_slope * g_out)
    return self._linear_bprop(state_below, g_p, need)


class Sigmoid(Linear):
  """mlp.Sigmoid: fprop (lines 2513-2518) and cost (2520-2553)."""

  def fprop(self, state_below):
    z = self._linear_part(state_below)
    y = theano_sigmoid(z)
    return y, (state_below, z, y)

  def bprop(self, cache, g_out, need):
    state_below, z, y = cache
    del z
    # ScalarSigmoid.grad (sigm.py line 43): gz * y * (1 - y).
    return self._linear_bprop(state_below, g_out * y * (1.0 - y), need)

  def bprop_from_z(self, cache, g_z, need):
    """The backward pass from the gradient of the pre-sigmoid z, which is
    where `kl` (below) differentiates the cost."""
    return self._linear_bprop(cache[0], g_z, need)

  def cost(self, Y, forward):
    """kl(Y, Y_hat).mean(); kl (expr/nnet.py lines 111-163) takes z from
    Y_hat's owner, the sigmoid: here the last cache of the forward pass."""
    z = forward.caches[-1][1]
    term_1 = Y * theano_softplus(-z)
    term_2 = (1 - Y) * theano_softplus(z)
    total = term_1 + term_2
    ave = total.mean(axis=1)  # Every axis but the batch axis.
    return ave.mean()

  def cost_grad_z(self, Y, forward):
    """d cost / d z, as Theano's T.grad writes it: mean's gradient divides
    by the count; softplus' gradient is gz * sigmoid(x) (sigm.py line 311)."""
    z = forward.caches[-1][1]
    m, units = z.shape
    g_total = np.full(z.shape, (1.0 / m) / units)
    return (-(Y * g_total * theano_sigmoid(-z))
            + (1 - Y) * g_total * theano_sigmoid(z))


class Maxout(Linear):
  """maxout.Maxout: W [input_dim, num_units * num_pieces], fprop lines
  548-585 (randomize_pools and min_zero False, pool_stride = num_pieces)."""

  def __init__(self, layer_name, W, b, num_units: int, num_pieces: int):
    super().__init__(layer_name, W, b)
    self.detector_layer_dim = num_units * num_pieces
    self.pool_size = num_pieces
    self.pool_stride = num_pieces

  def _pieces(self, i):
    last_start = self.detector_layer_dim - self.pool_size
    return slice(i, last_start + i + 1, self.pool_stride)

  def fprop(self, state_below):
    z = self._linear_part(state_below)
    p = None
    pools = []  # p after each T.maximum, for the backward pass.
    for i in range(self.pool_size):
      cur = z[:, self._pieces(i)]
      p = cur if p is None else np.maximum(cur, p)
      pools.append(p)
    return p, (state_below, z, pools)

  def bprop(self, cache, g_out, need):
    state_below, z, pools = cache
    g_z = np.zeros_like(z)
    g_p = g_out
    for i in range(self.pool_size - 1, 0, -1):
      # p_i = T.maximum(cur_i, p_{i-1}); Maximum.grad gives gz to every
      # argument equal to the output (both, on a tie).
      cur = z[:, self._pieces(i)]
      g_z[:, self._pieces(i)] = (pools[i] == cur) * g_p
      g_p = (pools[i] == pools[i - 1]) * g_p
    g_z[:, self._pieces(0)] = g_p
    return self._linear_bprop(state_below, g_z, need)


Forward = collections.namedtuple('Forward', ['output', 'caches', 'masks',
                                             'scales'])
# What a layer's bprop computes: its parameters' gradients, its input's.
Need = collections.namedtuple('Need', ['params', 'input'])


class MLP:
  """mlp.MLP: its layers, get_params (lines 688-708) and dropout_fprop."""

  def __init__(self, layers):
    self.layers = layers
    self.layer_names = [layer.layer_name for layer in layers]

  def get_params(self) -> List[Shared]:
    return [p for layer in self.layers for p in layer.get_params()]

  def dropout_fprop(self, state_below, default_input_include_prob=0.5,
                    input_include_probs=None, default_input_scale=2.,
                    input_scales=None, *, theano_rng: RecordedStreams):
    """mlp.py lines 803-879 (per_example True); `theano_rng` stands for the
    `MRG_RandomStreams` it seeds from its numpy rng (line 854)."""
    if input_include_probs is None:
      input_include_probs = {}
    if input_scales is None:
      input_scales = {}
    assert all(n in self.layer_names for n in input_include_probs)
    assert all(n in self.layer_names for n in input_scales)
    caches, masks, scales = [], [], []
    for layer in self.layers:
      layer_name = layer.layer_name
      include_prob = input_include_probs.get(layer_name,
                                             default_input_include_prob)
      scale = input_scales.get(layer_name, default_input_scale)
      state_below, mask = self.apply_dropout(state_below, include_prob, scale,
                                             theano_rng)
      masks.append(mask)
      scales.append(scale)
      state_below, cache = layer.fprop(state_below)
      caches.append(cache)
    return Forward(state_below, caches, masks, scales)

  @staticmethod
  def apply_dropout(state, include_prob, scale, theano_rng):
    """mlp.py lines 1027-1072 (dense state, per example, mask_value 0)."""
    if include_prob in [None, 1.0, 1]:
      return state, None
    assert scale is not None
    mask = theano_rng.binomial(p=include_prob, size=state.shape,
                               dtype=state.dtype)
    return state * mask * scale, mask

  def backward(self, forward: Forward, g_top, top_is_z: bool = False,
               param_grads: bool = True, input_grad: bool = True):
    """T.grad of a scalar through `forward`: ({shared: grad}, d input).

    g_top is the gradient of the output, or with `top_is_z` of the last
    layer's pre-sigmoid z (where `kl` differentiates). `param_grads` and
    `input_grad` say which of the gradients are wanted.
    """
    grads = {}
    g = g_top
    for index in range(len(self.layers) - 1, -1, -1):
      layer, cache = self.layers[index], forward.caches[index]
      need = Need(params=param_grads, input=index > 0 or input_grad)
      if top_is_z and index == len(self.layers) - 1:
        layer_grads, g = layer.bprop_from_z(cache, g, need)
      else:
        layer_grads, g = layer.bprop(cache, g, need)
      grads.update(layer_grads)
      mask = forward.masks[index]
      if need.input and mask is not None:
        g = g * mask * forward.scales[index]  # d(state * mask * scale)
    return grads, g


# --------------------------------------------------------------------------
# goodfeli/adversarial __init__.py: Generator, AdversaryPair, AdversaryCost2.
# --------------------------------------------------------------------------

class Generator:
  """__init__.py lines 134-240 (noise 'uniform', mnist.yaml line 9)."""

  def __init__(self, mlp: MLP, noise: str = 'gaussian'):
    self.mlp = mlp
    self.noise = noise
    self.theano_rng = None  # Set per step to our draws.
    self.input_dim = mlp.layers[0].W.get_value().shape[0]  # nvis

  def get_noise(self, size):
    """Lines 199-216."""
    if self.noise == 'uniform':
      return self.theano_rng.uniform(low=-np.sqrt(3), high=np.sqrt(3),
                                     size=size, dtype='float32')
    raise NotImplementedError(self.noise)

  def sample_and_noise(self, num_samples, default_input_include_prob=1.,
                       default_input_scale=1.):
    """Lines 145-155 (all_g_layers False; VectorSpace.format_as is the
    identity from VectorSpace(n) to the MLP's VectorSpace(n))."""
    n = self.input_dim
    noise = self.get_noise((num_samples, n))
    formatted_noise = noise
    rval = self.mlp.dropout_fprop(
        formatted_noise, default_input_include_prob=default_input_include_prob,
        default_input_scale=default_input_scale, theano_rng=self.theano_rng)
    return rval, formatted_noise, None

  def get_params(self):
    return self.mlp.get_params()


class AdversaryPair:
  """Lines 30-59: the generator's parameters, then the discriminator's."""

  def __init__(self, generator: Generator, discriminator: MLP):
    self.generator = generator
    self.discriminator = discriminator
    self.inferer = None

  def get_params(self):
    return self.generator.get_params() + self.discriminator.get_params()


class AdversaryCost2:
  """Lines 272-428, with the arguments mnist.yaml (lines 70-81) sets."""

  def __init__(self, scale_grads=1, target_scale=.1,
               discriminator_default_input_include_prob=1.,
               discriminator_input_include_probs=None,
               discriminator_default_input_scale=1.,
               discriminator_input_scales=None,
               generator_default_input_include_prob=1.,
               generator_default_input_scale=1.,
               init_now_train_generator=True,
               no_drop_in_d_for_g=False, noise_both=0., blend_obj=False):
    self.scale_grads = scale_grads
    self.target_scale = target_scale
    self.discriminator_default_input_include_prob = (
        discriminator_default_input_include_prob)
    self.discriminator_input_include_probs = discriminator_input_include_probs
    self.discriminator_default_input_scale = discriminator_default_input_scale
    self.discriminator_input_scales = discriminator_input_scales
    self.generator_default_input_include_prob = (
        generator_default_input_include_prob)
    self.generator_default_input_scale = generator_default_input_scale
    self.no_drop_in_d_for_g = no_drop_in_d_for_g
    self.noise_both = noise_both
    self.blend_obj = blend_obj
    self.now_train_generator = sharedX(init_now_train_generator)
    self.now_train_discriminator = sharedX(np.array(1., dtype='float32'))

  def _d_dropout_fprop(self, d, state, theano_rng):
    return d.dropout_fprop(state, self.discriminator_default_input_include_prob,
                           self.discriminator_input_include_probs,
                           self.discriminator_default_input_scale,
                           self.discriminator_input_scales,
                           theano_rng=theano_rng)

  def get_samples_and_objectives(self, model: AdversaryPair, data,
                                 theano_rng: RecordedStreams):
    """Lines 323-380: returns S, d_obj, g_obj, i_obj and the forward passes
    the gradients are taken through."""
    g = model.generator
    d = model.discriminator
    X = data
    m = data.shape[0]
    y1 = np.ones((m, 1), np.int8)  # T.alloc(1, m, 1)
    y0 = np.zeros((m, 1), np.int8)  # T.alloc(0, m, 1)
    S, z, _ = g.sample_and_noise(
        m, default_input_include_prob=self.generator_default_input_include_prob,
        default_input_scale=self.generator_default_input_scale)
    del z
    assert self.noise_both == 0.  # Lines 339-342 do not run.
    y_hat1 = self._d_dropout_fprop(d, X, theano_rng)
    y_hat0 = self._d_dropout_fprop(d, S.output, theano_rng)
    d_obj = 0.5 * (d.layers[-1].cost(y1, y_hat1)
                   + d.layers[-1].cost(y0, y_hat0))
    if self.no_drop_in_d_for_g:
      raise NotImplementedError('mnist.yaml leaves no_drop_in_d_for_g False')
    # g's objective from the SAME dropped-out pass on the samples (line 359).
    g_obj = d.layers[-1].cost(y1, y_hat0)
    assert not self.blend_obj
    i_obj = 0
    passes = {'S': S, 'y_hat1': y_hat1, 'y_hat0': y_hat0, 'y1': y1, 'y0': y0}
    return S, d_obj, g_obj, i_obj, passes

  def get_gradients(self, model: AdversaryPair, data,
                    theano_rng: RecordedStreams):
    """Lines 382-428, T.grad written out: ({param: grad}, {}, objectives)."""
    g = model.generator
    d = model.discriminator
    _, d_obj, g_obj, _, passes = self.get_samples_and_objectives(
        model, data, theano_rng)
    g_params = g.get_params()
    d_params = d.get_params()
    for param in g_params:
      assert param not in d_params
    # d_grads = T.grad(d_obj, d_params): through both of D's passes, the
    # 0.5 of d_obj on each cost; the two passes' contributions add up.
    top = d.layers[-1]
    grads_real, _ = d.backward(
        passes['y_hat1'], 0.5 * top.cost_grad_z(passes['y1'], passes['y_hat1']),
        top_is_z=True, input_grad=False)
    grads_fake, _ = d.backward(
        passes['y_hat0'], 0.5 * top.cost_grad_z(passes['y0'], passes['y_hat0']),
        top_is_z=True, input_grad=False)
    d_grads = [grads_real[p] + grads_fake[p] for p in d_params]
    # g_grads = T.grad(g_obj, g_params): back through the same dropped-out
    # pass of D on S (its masks), into S = G's sigmoid output, into G.
    _, g_s = d.backward(passes['y_hat0'],
                        top.cost_grad_z(passes['y1'], passes['y_hat0']),
                        top_is_z=True, param_grads=False)
    grads_g, _ = g.mlp.backward(passes['S'], g_s, input_grad=False)
    g_grads = [grads_g[p] for p in g_params]
    assert not self.scale_grads  # scale_grads: 0 (mnist.yaml line 71).
    rval = collections.OrderedDict()
    rval.update(zip(d_params, [self.now_train_discriminator.get_value() * dg
                               for dg in d_grads]))
    rval.update(zip(g_params, [self.now_train_generator.get_value() * gg
                               for gg in g_grads]))
    objectives = {
        'd_obj': d_obj, 'g_obj': g_obj,
        'mean_z_real': passes['y_hat1'].caches[-1][1].mean(),
        'mean_z_fake': passes['y_hat0'].caches[-1][1].mean(),
    }
    return rval, collections.OrderedDict(), objectives


# --------------------------------------------------------------------------
# pylearn2's SGD, Momentum, ExponentialDecay, MomentumAdjustor, main loop.
# --------------------------------------------------------------------------

class Momentum:
  """learning_rule.py lines 78-129."""

  def __init__(self, init_momentum):
    assert init_momentum >= 0.
    assert init_momentum < 1.
    self.momentum = sharedX(init_momentum, 'momentum')
    self._incs: Dict[Shared, Shared] = {}

  def get_updates(self, learning_rate: Shared, grads, lr_scalers=None):
    """Lines 110-129, evaluated: {shared: new value}, all computed from the
    values before the update (a Theano function's updates)."""
    updates = collections.OrderedDict()
    for param, grad in grads.items():
      if param not in self._incs:  # `inc = sharedX(param.get_value() * 0.)`
        self._incs[param] = sharedX(param.get_value() * 0.)
      inc = self._incs[param]
      updated_inc = (self.momentum.get_value() * inc.get_value()
                     - learning_rate.get_value() * lr_scalers.get(param, 1.)
                     * grad)
      updates[inc] = updated_inc
      updates[param] = param.get_value() + updated_inc
    return updates


class MomentumAdjustor:
  """learning_rule.py lines 132-185 (a TrainExtension)."""

  def __init__(self, final_momentum, start, saturate):
    if saturate < start:
      raise TypeError("Momentum can't saturate at its maximum value "
                      'before it starts increasing.')
    self.final_momentum = final_momentum
    self.start = start
    self.saturate = saturate
    self._initialized = False
    self._count = 0

  def on_monitor(self, model, dataset, algorithm):
    del model, dataset
    momentum = algorithm.learning_rule.momentum
    if not self._initialized:
      self._init_momentum = momentum.get_value()
      self._initialized = True
    self._count += 1
    momentum.set_value(FLOATX(self.current_momentum()))  # np.cast[floatX]

  def current_momentum(self):
    w = self.saturate - self.start
    if w == 0:
      if self._count >= self.start:
        return self.final_momentum
      return self._init_momentum
    alpha = float(self._count - self.start) / float(w)
    if alpha < 0.:
      alpha = 0.
    if alpha > 1.:
      alpha = 1.
    return self._init_momentum * (1. - alpha) + alpha * self.final_momentum


class ExponentialDecay:
  """sgd.py lines 757-810 (an SGD update callback)."""

  def __init__(self, decay_factor, min_lr):
    assert isinstance(decay_factor, float)
    assert isinstance(min_lr, float)
    self.decay_factor = decay_factor
    self.min_lr = min_lr
    self._count = 0
    self._min_reached = False

  def __call__(self, algorithm):
    if self._count == 0:
      self._base_lr = algorithm.learning_rate.get_value()
    self._count += 1
    if not self._min_reached:
      new_lr = self._base_lr / (self.decay_factor ** self._count)
      if new_lr <= self.min_lr:
        self._min_reached = True
        new_lr = self.min_lr
    else:
      new_lr = self.min_lr
    new_lr = FLOATX(new_lr)  # np.cast[config.floatX]
    algorithm.learning_rate.set_value(new_lr)


class SGD:
  """sgd.py: __init__ (156-205), setup (329-381), train (403-465)."""

  def __init__(self, learning_rate, cost, batch_size, learning_rule,
               update_callbacks):
    self.learning_rule = learning_rule
    self.learning_rate = sharedX(learning_rate, 'learning_rate')
    self.cost = cost
    self.batch_size = batch_size
    self.update_callbacks = list(update_callbacks)
    self.rows: List[Dict] = []  # What each update computed and used.

  def setup(self, model, theano_rngs):
    self.model = model
    self.params = list(model.get_params())
    self._theano_rngs = iter(theano_rngs)  # One per sgd_update call.

  def sgd_update(self, batch):
    """The compiled Theano function: gradients, Momentum's updates (no lr
    scalers, `model.modify_updates` a no-op), then all assignments."""
    theano_rng = next(self._theano_rngs)
    self.model.generator.theano_rng = theano_rng
    grads, updates, objectives = self.cost.get_gradients(self.model, batch,
                                                         theano_rng)
    for param in grads:
      assert param in self.params
    for param in self.params:
      assert param in grads
    lr_scalers = {}  # model.get_lr_scalers(): mnist.yaml sets none.
    self.rows.append({**objectives,
                      'learning_rate': float(self.learning_rate.get_value()),
                      'momentum': float(
                          self.learning_rule.momentum.get_value()),
                      'draws_used': theano_rng.used})
    updates.update(self.learning_rule.get_updates(self.learning_rate, grads,
                                                  lr_scalers))
    for shared, value in updates.items():
      shared.set_value(value)

  def train(self, epoch_batches):
    """One epoch: sgd_update per batch, then every update callback."""
    for batch in epoch_batches:
      self.sgd_update(batch)
      for callback in self.update_callbacks:
        callback(self)


def main_loop(model, algorithm: SGD, extensions, batches, theano_rngs):
  """train.py Train.main_loop (lines 130-230) with an SGD algorithm, over our
  batches in epochs of BATCHES_PER_EPOCH; stops when they run out (our
  recording ends mid-epoch; mnist.yaml has no termination criterion)."""
  algorithm.setup(model, theano_rngs)

  def run_callbacks_and_monitoring():  # Lines 232-256, monitor left out.
    for extension in extensions:
      extension.on_monitor(model, None, algorithm)

  run_callbacks_and_monitoring()
  for start in range(0, len(batches), BATCHES_PER_EPOCH):
    algorithm.train(batches[start:start + BATCHES_PER_EPOCH])
    run_callbacks_and_monitoring()
  return algorithm.rows


def build_mnist_yaml(initial_generator: Dict[str, np.ndarray],
                     initial_discriminator: Dict[str, np.ndarray],
                     config) -> Tuple[AdversaryPair, SGD, list]:
  """mnist.yaml's model, algorithm and extensions, with OUR weights."""
  gw = lambda layer, v: initial_generator[f'generator/{layer}/{v}:0']
  dw = lambda layer, v: initial_discriminator[f'discriminator/{layer}/{v}:0']
  generator = Generator(MLP([
      RectifiedLinear('h0', gw('h0', 'w'), gw('h0', 'b')),
      RectifiedLinear('h1', gw('h1', 'w'), gw('h1', 'b')),
      Sigmoid('y', gw('y', 'w'), gw('y', 'b')),
  ]), noise='uniform')
  units, pieces = config.discriminator_units, config.discriminator_pieces
  discriminator = MLP([
      Maxout('h0', dw('h0/linear', 'w'), dw('h0/linear', 'b'), units, pieces),
      Maxout('h1', dw('h1/linear', 'w'), dw('h1/linear', 'b'), units, pieces),
      Sigmoid('y', dw('y', 'w'), dw('y', 'b')),
  ])
  model = AdversaryPair(generator, discriminator)
  # mnist.yaml lines 70-81.
  cost = AdversaryCost2(
      scale_grads=0,
      discriminator_default_input_include_prob=.5,
      discriminator_input_include_probs={'h0': .8},
      discriminator_default_input_scale=2.,
      discriminator_input_scales={'h0': 1.25})
  return model, mnist_yaml_sgd(cost), mnist_yaml_extensions()


def mnist_yaml_sgd(cost, sgd_class=SGD) -> SGD:
  """mnist.yaml lines 56-61 and 91-94: SGD, Momentum, ExponentialDecay."""
  return sgd_class(learning_rate=.1, cost=cost, batch_size=100,
                   learning_rule=Momentum(init_momentum=.5),
                   update_callbacks=[ExponentialDecay(decay_factor=1.000004,
                                                      min_lr=.000001)])


def mnist_yaml_extensions() -> list:
  """mnist.yaml lines 96-106: MomentumAdjustor."""
  return [MomentumAdjustor(start=1, saturate=250, final_momentum=.7)]


# --------------------------------------------------------------------------
# Our run, the authors' run on it, and the comparison.
# --------------------------------------------------------------------------

def ci_config():
  """The 'ci' preset (generator 64 units, the rest mnist.yaml's) in float64."""
  return dataclasses.replace(reference.preset_config(goodfellow2014, 'ci'),
                             dtype='float64')


def run_ours(config, steps: int, compile_mode: str = 'graph',
             trainer_class=None) -> ours.OurRun:
  """`ours.run` for `steps` simultaneous steps (two trajectory rows each).

  'graph' for long runs (see the module docstring); 'eager' for a few steps,
  where tracing the graph would cost more than it saves.
  """
  if trainer_class is None:
    trainer = goodfellow2014.build_trainer(config, compile_mode)
  else:
    with mock.patch.object(train, 'GANTrainer', trainer_class):
      trainer = goodfellow2014.build_trainer(config, compile_mode)
    assert isinstance(trainer, trainer_class)
  return ours.run(goodfellow2014, config, 2 * steps, trainer=trainer)


def run_authors(run: ours.OurRun,
                config) -> Tuple[List[Dict], AdversaryPair]:
  """mnist.yaml's training from our weights, batches and draws: one row per
  sgd_update, and the trained model."""
  model, algorithm, extensions = build_mnist_yaml(
      run.initial_generator, run.initial_discriminator, config)
  batches = []
  for iteration in run.iterations:
    assert len(iteration.images) == 1  # One real batch per sgd_update.
    images = iteration.images[0]
    batches.append(images.reshape(images.shape[0], -1))  # Design matrix.
  theano_rngs = [RecordedStreams([d.value for d in it.draws])
                 for it in run.iterations]
  rows = main_loop(model, algorithm, extensions, batches, theano_rngs)
  return rows, model


# (our column, the authors' value) for each row of our trajectory.
DISCRIMINATOR_COLUMNS = (('discriminator_loss', 'd_obj'),
                         ('discriminator_real', 'mean_z_real'),
                         ('discriminator_fake', 'mean_z_fake'))


def loss_differences(run: ours.OurRun, rows) -> Tuple[float, list]:
  """(worst relative difference, [(row, SGD step, column, ours, theirs)]
  out of RTOL) over every loss of every row of our trajectory."""
  assert len(rows) * 2 >= len(run.trajectory)
  worst, failures = 0.0, []
  for mine in run.trajectory:
    step = mine['iteration']
    theirs = rows[step]
    if mine['player'] == 'discriminator':
      assert mine['gradient_penalty'] == 0.0
      pairs = [(c, mine[c], theirs[name]) for c, name in DISCRIMINATOR_COLUMNS]
    else:
      pairs = [('generator_loss', mine['generator_loss'], theirs['g_obj'])]
    for column, ours_value, their_value in pairs:
      relative, _ = ours.worst_relative_difference([ours_value],
                                                   [their_value])
      worst = max(worst, relative)
      if relative > RTOL:
        failures.append((mine['update'], step, column, ours_value,
                         their_value))
  return worst, failures


def parameter_difference(run: ours.OurRun,
                         model: AdversaryPair) -> Tuple[float, str]:
  """Worst difference of the final weights of both players, relative to
  each tensor's largest magnitude (a weight that crossed zero on the way
  has no relative precision of its own), and where."""
  now = {**ours.values_by_name(run.trainer.generator),
         **ours.values_by_name(run.trainer.discriminator)}
  theirs = {}
  for prefix, mlp in (('generator', model.generator.mlp),
                      ('discriminator', model.discriminator)):
    for layer in mlp.layers:
      scope = (f'{prefix}/{layer.layer_name}/linear'
               if isinstance(layer, Maxout) else
               f'{prefix}/{layer.layer_name}')
      theirs[f'{scope}/w:0'] = layer.W.get_value()
      theirs[f'{scope}/b:0'] = layer.b.get_value()
  assert sorted(theirs) == sorted(now)
  worst, where = 0.0, ''
  for name, value in now.items():
    relative, _ = ours.worst_relative_difference(
        value.ravel(), theirs[name].ravel(), floor=np.abs(value).max())
    if relative > worst:
      worst, where = relative, name
  return worst, where


# --------------------------------------------------------------------------
# The broken variant: the generator's loss from a fresh pass of D.
# --------------------------------------------------------------------------

# The engine's seed purposes (paper_gans/train.py), for the subclass below.
_SIMULTANEOUS = train._SIMULTANEOUS  # pylint: disable=protected-access
_DROPOUT_REAL = train._DROPOUT_REAL  # pylint: disable=protected-access
_DROPOUT_FAKE = train._DROPOUT_FAKE  # pylint: disable=protected-access


class FreshDiscriminatorPassForGenerator(train.GANTrainer):
  """`_simultaneous_step` with g_loss from a SECOND forward pass of D on the
  fake batch, with new dropout masks, instead of the pass d_loss uses
  (AdversaryCost2 line 359 reuses y_hat0). Everything else is unchanged."""

  def _simultaneous_step(self, real, labels):
    seed = train.fold(self._iteration_seed(), _SIMULTANEOUS)
    real = tf.cast(real, self.dtype)
    batch_size = tf.shape(real)[0]
    z, _ = self._generator_inputs(seed, batch_size)
    d_vars = self.discriminator.trainable_variables
    g_vars = self.generator.trainable_variables
    with tf.GradientTape(watch_accessed_variables=False) as d_tape, \
         tf.GradientTape(watch_accessed_variables=False) as g_tape:
      d_tape.watch(d_vars)
      g_tape.watch(g_vars)
      fake = self.generator(z, training=True)
      real_out = self.discriminator(real, training=True,
                                    seed=train.fold(seed, _DROPOUT_REAL))
      fake_out = self.discriminator(fake, training=True,
                                    seed=train.fold(seed, _DROPOUT_FAKE))
      d_loss = self._discriminator_loss(real_out, fake_out)
      # The broken part: a fresh pass, fresh masks (a seed of its own).
      fresh_fake_out = self.discriminator(
          fake, training=True, seed=train.fold(seed, 99))
      g_loss = self._generator_loss(fresh_fake_out)
    d_grads = d_tape.gradient(d_loss, d_vars)
    g_grads = g_tape.gradient(g_loss, g_vars)
    self.discriminator_optimizer.apply(d_grads)
    self.generator_optimizer.apply(g_grads)
    expand = lambda t: tf.reshape(t, [1])
    return {
        'discriminator_loss': expand(d_loss),
        'discriminator_real': expand(tf.reduce_mean(real_out)),
        'discriminator_fake': expand(tf.reduce_mean(fake_out)),
        'gradient_penalty': tf.zeros([1], self.dtype),
        'generator_loss': g_loss,
    }


# --------------------------------------------------------------------------
# The schedules alone: pylearn2's callbacks over many epochs.
# --------------------------------------------------------------------------

class ScheduleOnlySGD(SGD):
  """SGD whose sgd_update only records the learning rate and momentum it
  would use: the schedules' callbacks run as in `main_loop`."""

  def setup(self, model, theano_rngs):
    del model, theano_rngs

  def sgd_update(self, batch):
    del batch
    self.rows.append({
        'learning_rate': float(self.learning_rate.get_value()),
        'momentum': float(self.learning_rule.momentum.get_value())})


# Past MomentumAdjustor's saturation at epoch 250 (count 250 in epoch 249).
SCHEDULE_EPOCHS = 252


def pylearn2_schedules(updates: int) -> List[Dict]:
  """The (learning rate, momentum) of each of `updates` sgd_updates."""
  algorithm = mnist_yaml_sgd(cost=None, sgd_class=ScheduleOnlySGD)
  return main_loop(None, algorithm, mnist_yaml_extensions(), [None] * updates,
                   [])


def our_schedules(optimizer, steps: List[int]) -> List[Tuple[float, float]]:
  """(learning_rate(), momentum()) of `optimizer` before update n, each n."""
  saved = int(optimizer.step.numpy())

  @tf.function
  def at_each(steps):
    # One compiled loop: set the update counter, read both schedules.
    count = tf.shape(steps)[0]
    rates = tf.TensorArray(optimizer.dtype, size=count)
    momenta = tf.TensorArray(optimizer.dtype, size=count)
    for i in tf.range(count):
      optimizer.step.assign(steps[i])
      rates = rates.write(i, optimizer.learning_rate())
      momenta = momenta.write(i, optimizer.momentum())
    return rates.stack(), momenta.stack()

  try:
    rates, momenta = at_each(tf.constant(steps, tf.int64))
    return list(zip(rates.numpy().tolist(), momenta.numpy().tolist()))
  finally:
    optimizer.step.assign(saved)


# --------------------------------------------------------------------------
# The tests.
# --------------------------------------------------------------------------

@pytest.fixture(scope='module')
def both_runs():
  """Our run of SGD_STEPS simultaneous steps and mnist.yaml's on it."""
  config = ci_config()
  run = run_ours(config, SGD_STEPS)
  rows, model = run_authors(run, config)
  return config, run, rows, model


def test_every_loss_of_100_sgd_steps_matches_adversary_cost2(both_runs):
  config, run, rows, model = both_runs
  assert len(run.trajectory) == 2 * SGD_STEPS
  assert len(rows) == SGD_STEPS
  # Every step drew z and six dropout uniforms, and mnist.yaml's step used
  # them all, in order (RecordedStreams checks each shape).
  expected = _expected_draw_shapes(config)
  for iteration, row in zip(run.iterations, rows):
    assert [d.value.shape for d in iteration.draws] == expected
    assert row['draws_used'] == len(expected)
  worst, failures = loss_differences(run, rows)
  assert not failures, failures[:5]
  assert worst <= RTOL  # Measured: 6.6e-12 (discriminator_fake, step 81).
  # After the 100 steps, every weight and bias of both players.
  worst_weights, where = parameter_difference(run, model)
  assert worst_weights <= RTOL, where  # Measured: 9.5e-15.


def test_learning_rate_and_momentum_follow_pylearn2_schedules(both_runs):
  _, run, rows, _ = both_runs
  trainer = run.trainer
  # The values the 100 compared updates used, on both sides.
  steps = list(range(SGD_STEPS))
  for optimizer in (trainer.discriminator_optimizer,
                    trainer.generator_optimizer):
    mine = our_schedules(optimizer, steps)
    theirs = [(row['learning_rate'], row['momentum']) for row in rows]
    assert mine == theirs  # Measured: identical.
  # Over 252 epochs: every update of the first three epochs, the last and
  # first update around every epoch boundary, and every 97th update.
  schedule = pylearn2_schedules(SCHEDULE_EPOCHS * BATCHES_PER_EPOCH)
  steps = sorted(set(range(3 * BATCHES_PER_EPOCH))
                 | {n for e in range(1, SCHEDULE_EPOCHS)
                    for n in (e * BATCHES_PER_EPOCH - 1, e * BATCHES_PER_EPOCH)}
                 | set(range(0, len(schedule), 97)))
  theirs = [(schedule[n]['learning_rate'], schedule[n]['momentum'])
            for n in steps]
  assert theirs[0] == (0.1, 0.5)
  assert schedule[-1]['momentum'] == 0.7
  for optimizer in (trainer.discriminator_optimizer,
                    trainer.generator_optimizer):
    mine = our_schedules(optimizer, steps)
    lr_worst, _ = ours.worst_relative_difference([m[0] for m in mine],
                                                 [t[0] for t in theirs])
    mu_worst, _ = ours.worst_relative_difference([m[1] for m in mine],
                                                 [t[1] for t in theirs])
    # Measured (once over all 126,000 updates, here on a sample): identical
    # learning rates (TensorFlow's float64 pow and Python's ** agree at
    # every update). Momenta: identical when our
    # MomentumAdjustor runs eagerly; inside a compiled graph, as training
    # runs it, 47 of the 252 epochs' values differ by one float64 rounding
    # (2.2e-16), and none with grappler's constant folding turned off.
    assert lr_worst <= RTOL
    assert mu_worst <= RTOL


def test_generator_loss_from_a_fresh_discriminator_pass_fails_the_comparison():
  config = ci_config()
  run = run_ours(config, BROKEN_STEPS, 'eager',
                 FreshDiscriminatorPassForGenerator)
  # Its fresh pass draws three more mask uniforms per step, after the seven
  # mnist.yaml uses; the re-typing takes the first seven, as before.
  assert [len(it.draws) for it in run.iterations] == [10] * BROKEN_STEPS
  rows, _ = run_authors(run, config)
  _, failures = loss_differences(run, rows)
  assert failures
  first_row, first_step, column, _, _ = failures[0]
  # SGD step 0's discriminator row agrees (D's loss is untouched); its
  # generator row (trajectory row 1) is the first that differs.
  assert (first_row, first_step, column) == (1, 0, 'generator_loss'), (
      failures[0])
