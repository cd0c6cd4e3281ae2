"""The MNIST networks of Goodfellow et al. 2014, "Generative Adversarial Nets".

Built as the authors' pylearn2 configuration goodfeli/adversarial `mnist.yaml`
builds them (`Generator`, `AdversaryPair`, `AdversaryCost2` from that
repository's `__init__.py`; layers from lisa-lab/pylearn2).

Generator (`mnist.yaml`, generator.mlp, nvis: 100):
  z [B, 100] -> RectifiedLinear 'h0' 1200 -> RectifiedLinear 'h1' 1200
  -> Sigmoid 'y' 784, reshaped to [B, 28, 28, 1].
  Every weight ~ U(-0.05, 0.05) (`irange: .05` on each of the three layers);
  biases 0 except the output layer's, which is
  `pylearn2.models.dbm.init_sigmoid_bias_from_marginals` of the training set
  (see `marginal_output_bias`).

Discriminator (`mnist.yaml`, discriminator, nvis: 784):
  x [B, 784] -> Maxout 'h0' 240 units x 5 pieces -> Maxout 'h1' 240 x 5
  -> Sigmoid 'y' 1 (we return its logit, shape [B]).
  Every weight ~ U(-0.005, 0.005) (`irange: .005` on each layer); biases 0
  (pylearn2 `init_bias` default 0., one bias per maxout piece, i.e. 1200 per
  maxout layer).
  Dropout on the input of EVERY layer, as `AdversaryCost2` configures
  `MLP.dropout_fprop`: layer 'h0' (the 784 pixels) keep 0.8, scale 1.25
  (`discriminator_input_include_probs: {'h0': .8}`,
  `discriminator_input_scales: {'h0': 1.25}`); layers 'h1' and 'y' (the two
  maxout outputs) keep 0.5, scale 2 (`discriminator_default_input_include_prob:
  .5`, `discriminator_default_input_scale: 2.`). At test time (`fprop`) there
  is no dropout and no rescaling.

Latent distribution: z ~ U(-sqrt(3), sqrt(3))^100, i.e. unit variance. The
stored `mnist.yaml` at commit f77a509 sets `noise: 'uniform'` on the
Generator, and `Generator.get_noise` draws
`uniform(low=-np.sqrt(3), high=np.sqrt(3))` for it. The file's three commits
are ordered: 600ee5c (2014-06-10, "Copy the code and hyperparameters from
galatea") sets `noise: "uniform"`; 068bb03 (2014-06-17, "fix yaml file")
drops the key, so `Generator`'s default `noise = "gaussian"` (N(0, 1))
applies; f77a509 (2014-06-18, "uniform noise turned out to be ok") sets
uniform again, and the repository's last commit, 1720041, keeps it
(docs/sources.md).
The network does not draw z (the training engine does).

Verified against the authors' and pylearn2's code (read with the search
tool's `read_file`):
  * goodfeli/adversarial `mnist.yaml` (commits f77a509 and 068bb03): layer
    types, sizes, `irange`s, `init_bias` of G's output layer, dropout settings,
    `nvis` 100 / 784, and that NO layer sets `max_col_norm` (nor
    `max_row_norm`, `W_lr_scale`, `b_lr_scale`, `include_prob`, `sparse_init`
    or `init_bias` other than G's output).
  * goodfeli/adversarial `__init__.py` (commits 600ee5c and 90ea74d):
    `AdversaryCost2.get_samples_and_objectives` samples G with
    `generator_default_input_include_prob = 1.` (no dropout in G), runs
    `d.dropout_fprop` separately on the real batch and on the samples (two
    independent sets of masks), and, because `no_drop_in_d_for_g=False`, G's
    objective reuses the SAME dropped-out D output on the samples (`y_hat0`)
    that D's objective uses. `scale_grads: 0` in the yaml disables the
    gradient rescaling of G.
  * lisa-lab/pylearn2 `pylearn2/models/mlp.py`: `Linear.set_input_space`
    draws W [input_dim, dim] from `rng.uniform(-irange, irange)` (times a mask
    `< include_prob`, all-ones at the default 1.0); `Linear.__init__` sets
    `b = zeros(dim) + init_bias`; `RectifiedLinear.fprop` is
    `T.switch(p > 0., p, left_slope * p)` with `left_slope` 0; `Sigmoid.fprop`
    is `T.nnet.sigmoid`; `MLP.dropout_fprop` applies `apply_dropout` to the
    input of every layer, with per-example, per-element masks
    `binomial(p=include_prob)` and `state * mask * scale`; `apply_dropout`
    returns the state untouched (not even scaled) when `include_prob` is 1.
    `Linear.censor_updates` implements `max_col_norm` as
    `W * clip(col_norms, min_col_norm (0), max_col_norm) / (1e-7 + col_norms)`
    with `col_norms = sqrt(sum(W**2, axis=0))`.
  * lisa-lab/pylearn2 `pylearn2/models/maxout.py` `Maxout`: W
    [input_dim, num_units * num_pieces] ~ U(-irange, irange), bias of size
    num_units * num_pieces; `fprop` takes the max over
    `z[:, i:last_start+i+1:pool_stride]` for i < num_pieces with
    `pool_stride = num_pieces`, so unit u pools columns
    u*num_pieces ... u*num_pieces + num_pieces - 1 (what `layers.Maxout`'s
    reshape to [B, units, pieces] does); `max_col_norm` defaults to None, and
    when set is enforced as `W * clip(col_norms, 0, max) / (1e-7 + col_norms)`.
  * lisa-lab/pylearn2 `pylearn2/models/dbm/__init__.py`
    `init_sigmoid_bias_from_marginals` -> `init_sigmoid_bias_from_array`:
    raises unless `X.max() == 1` and `X.min() == 0`, then
    `inverse_sigmoid_numpy(clip(X.mean(axis=0), 1e-7, 1 - 1e-7))`, and
    `pylearn2/expr/nnet.py` `inverse_sigmoid_numpy(x) = log(x / (1 - x))`.
  * lisa-lab/pylearn2 `pylearn2/datasets/mnist.py` and
    `pylearn2/utils/mnist_ubyte.py`: the design matrix is the uint8 images
    converted to float32 and divided by 255, rows in file order (no shuffling
    by default), flattened row-major from [28, 28, 1]; `start: 0, stop: 50000`
    keeps the first 50,000 training images.

So `apply_constraints` reproduces pylearn2's `max_col_norm` exactly, but
`mnist.yaml` sets none, so the default `max_col_norms=(None, None, None)` makes
it a no-op; it exists for configurations that set one.

Not reproducible and not attempted: pylearn2 draws the initial weights with
`np.random.RandomState([2013, 1, 4])` per MLP (`MLP.seed` default); we draw the
same distributions from TensorFlow's stateless generator, so the numbers differ.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from paper_gans import layers
from paper_gans.errors import ConfigError

MNIST_IMAGE_SHAPE = (28, 28, 1)
_NUM_PIXELS = 28 * 28

# mnist.yaml: irange of every generator layer and of every discriminator layer.
GENERATOR_IRANGE = 0.05
DISCRIMINATOR_IRANGE = 0.005

# pylearn2 init_sigmoid_bias_from_array clips the marginals to this margin.
_MARGINAL_CLIP = 1e-7
# pylearn2 censor_updates: W * desired / (_COL_NORM_EPSILON + col_norms).
_COL_NORM_EPSILON = 1e-7


def marginal_output_bias(train_images) -> np.ndarray:
  """The generator's initial output bias: logit of the per-pixel data mean.

  pylearn2's `init_sigmoid_bias_from_marginals(dataset)` on the dataset of
  `mnist.yaml` (`MNIST(which_set='train', start=0, stop=50000)`): pass the
  FIRST 50,000 images of the MNIST training file, in file order. The result is
  float32 [784], pixels in row-major order, as `b` of the output layer 'y'.

  Args:
    train_images: uint8 images in [0, 255] (converted to float32 and divided
      by 255, as pylearn2's `read_mnist_images(dtype='float32')` does), or
      float images already in [0, 1]; shape [N, 28, 28], [N, 28, 28, 1] or
      [N, 784].

  Returns:
    float32 [784]: log(m / (1 - m)) with m = clip(mean over images,
    1e-7, 1 - 1e-7), computed in float32 like pylearn2's float32 design matrix.

  Raises:
    ConfigError: if the images do not have 784 pixels, or their maximum is not
      exactly 1 or their minimum not exactly 0 (pylearn2 raises ValueError in
      both cases, since it expects a design matrix of values in [0, 1] that
      reaches both ends).
  """
  images = np.asarray(train_images)
  if images.dtype == np.uint8:
    design = images.astype(np.float32)
    design /= 255.  # In place, in float32: pylearn2's mnist_ubyte does this.
  else:
    design = images.astype(np.float32)
  if design.size == 0 or design.size % _NUM_PIXELS != 0:
    raise ConfigError(
        f'marginal_output_bias needs images of {_NUM_PIXELS} pixels each, '
        f'got an array of shape {images.shape}.')
  design = design.reshape(-1, _NUM_PIXELS)  # [N, 784]
  if design.max() != 1:
    raise ConfigError(
        'marginal_output_bias expects pixels in [0, 1] whose maximum is '
        f'exactly 1 (pylearn2 checks this), but the maximum is {design.max()}.')
  if design.min() != 0:
    raise ConfigError(
        'marginal_output_bias expects pixels in [0, 1] whose minimum is '
        f'exactly 0 (pylearn2 checks this), but the minimum is {design.min()}.')
  mean = design.mean(axis=0)  # float32 [784]
  mean = np.clip(mean, _MARGINAL_CLIP, 1 - _MARGINAL_CLIP)
  return np.log(mean / (1. - mean)).astype(np.float32)


class Goodfellow2014Generator(tf.Module):
  """z [B, 100] -> ReLU 1200 -> ReLU 1200 -> sigmoid 784 -> [B, 28, 28, 1].

  Attributes:
    latent_dim: size of z (mnist.yaml `nvis: 100`).
    num_classes: None (unconditional).
    output_shape: (28, 28, 1).
  """

  def __init__(self, latent_dim: int = 100, hidden_units: int = 1200,
               output_bias: Optional[np.ndarray] = None, seed: int = 0,
               name: str = 'generator',
               dtype: tf.DType = tf.float32):
    """Creates every variable.

    Args:
      latent_dim: size of z; mnist.yaml `nvis: 100`.
      hidden_units: width of both ReLU layers; mnist.yaml `dim: 1200`.
      output_bias: initial bias of the sigmoid output layer, float [784].
        The reference uses `marginal_output_bias(first 50,000 training
        images)`; None gives zeros, which is NOT the reference setting.
      seed: integer seed of all initial weights.
      name: module name (prefix of the variable names).
    """
    super().__init__(name=name)
    self.latent_dim = latent_dim
    self.num_classes = None
    self.output_shape = MNIST_IMAGE_SHAPE
    if output_bias is None:
      output_bias_init = layers.zeros_initializer()
    else:
      output_bias = np.asarray(output_bias, dtype=np.float32)
      if output_bias.shape != (_NUM_PIXELS,):
        raise ConfigError(
            f'output_bias must have shape ({_NUM_PIXELS},), '
            f'got {output_bias.shape}.')
      output_bias_init = layers.constant_initializer(output_bias)
    seeds = layers.SeedSequence(seed)
    w_init = layers.uniform_initializer(GENERATOR_IRANGE)
    with self.name_scope:
      # Layer names are mnist.yaml's layer_names.
      self.h0 = layers.Dense(latent_dim, hidden_units, seeds(), w_init,
                             name='h0', dtype=dtype)
      self.h1 = layers.Dense(hidden_units, hidden_units, seeds(), w_init,
                             name='h1', dtype=dtype)
      self.y = layers.Dense(hidden_units, _NUM_PIXELS, seeds(), w_init,
                            b_init=output_bias_init, name='y', dtype=dtype)

  def __call__(self, z: tf.Tensor, labels=None,
               training: bool = True) -> tf.Tensor:
    """Maps z [B, latent_dim] to images [B, 28, 28, 1] in [0, 1].

    `training` changes nothing: the generator has no batch norm, and
    AdversaryCost2 samples it with include probability 1 (no dropout).
    """
    del training
    if labels is not None:
      raise ValueError('Goodfellow2014Generator is unconditional; '
                       'labels must be None.')
    h = tf.nn.relu(self.h0(z))  # [B, 1200]
    h = tf.nn.relu(self.h1(h))  # [B, 1200]
    pixels = tf.sigmoid(self.y(h))  # [B, 784]
    return tf.reshape(pixels, [-1, *MNIST_IMAGE_SHAPE])


class Goodfellow2014Discriminator(tf.Module):
  """x [B, 28, 28, 1] -> maxout 240x5 -> maxout 240x5 -> logit [B].

  With `training=True` each layer's input is dropped out (pylearn2's
  `MLP.dropout_fprop` with AdversaryCost2's settings); the masks are a pure
  function of the `seed` argument.

  Attributes:
    num_classes: None (unconditional).
  """

  def __init__(self, maxout_units: int = 240, pieces: int = 5,
               input_keep_prob: float = 0.8, input_scale: float = 1.25,
               hidden_keep_prob: float = 0.5, hidden_scale: float = 2.0,
               max_col_norms: Sequence[Optional[float]] = (None, None, None),
               seed: int = 0, name: str = 'discriminator',
               dtype: tf.DType = tf.float32):
    """Creates every variable.

    Args:
      maxout_units: maxout units per hidden layer; mnist.yaml `num_units: 240`.
      pieces: linear pieces per unit; mnist.yaml `num_pieces: 5`.
      input_keep_prob: dropout keep probability of the pixels (input of 'h0');
        mnist.yaml `discriminator_input_include_probs: {'h0': .8}`.
      input_scale: factor on kept pixels; `discriminator_input_scales:
        {'h0': 1.25}`.
      hidden_keep_prob: keep probability of the inputs of 'h1' and 'y';
        `discriminator_default_input_include_prob: .5`.
      hidden_scale: factor on kept hidden units;
        `discriminator_default_input_scale: 2.`.
      max_col_norms: pylearn2 `max_col_norm` of layers ('h0', 'h1', 'y'), or
        None for no constraint. mnist.yaml sets none.
      seed: integer seed of all initial weights.
      name: module name (prefix of the variable names).
    """
    super().__init__(name=name)
    self.num_classes = None
    self.input_keep_prob = input_keep_prob
    self.input_scale = input_scale
    self.hidden_keep_prob = hidden_keep_prob
    self.hidden_scale = hidden_scale
    self.max_col_norms = tuple(max_col_norms)
    if len(self.max_col_norms) != 3:
      raise ConfigError('max_col_norms needs one entry (a float or None) for '
                        f'each of the 3 layers, got {max_col_norms}.')
    seeds = layers.SeedSequence(seed)
    w_init = layers.uniform_initializer(DISCRIMINATOR_IRANGE)
    with self.name_scope:
      self.h0 = layers.Maxout(_NUM_PIXELS, maxout_units, pieces, seeds(),
                              w_init, name='h0', dtype=dtype)
      self.h1 = layers.Maxout(maxout_units, maxout_units, pieces, seeds(),
                              w_init, name='h1', dtype=dtype)
      self.y = layers.Dense(maxout_units, 1, seeds(), w_init, name='y', dtype=dtype)

  def _weight_matrices(self):
    """The [in, out] weight matrix of each layer, in order h0, h1, y."""
    return (self.h0.linear.w, self.h1.linear.w, self.y.w)

  @staticmethod
  def _dropout(x: tf.Tensor, keep_prob: float, scale: float,
               seed: tf.Tensor) -> tf.Tensor:
    # pylearn2's apply_dropout returns the input unscaled when include_prob
    # is 1, whatever the scale.
    if keep_prob == 1:
      return x
    return layers.dropout(x, keep_prob, seed, scale=scale)

  def __call__(self, x: tf.Tensor, labels=None, training: bool = True,
               seed: Optional[tf.Tensor] = None) -> tf.Tensor:
    """Returns the logits [B] of D(x) = sigmoid(logit).

    Args:
      x: images [B, 28, 28, 1] (any shape with 784 values per example).
      labels: must be None (unconditional).
      training: True applies dropout to every layer's input; False is
        pylearn2's plain `fprop` (no dropout, no scaling).
      seed: int32 [2] tensor; required when `training` is True. Each layer's
        mask uses its own seed, `stateless_fold_in(seed, layer_index)`.
    """
    if labels is not None:
      raise ValueError('Goodfellow2014Discriminator is unconditional; '
                       'labels must be None.')
    h = tf.reshape(x, [-1, _NUM_PIXELS])  # [B, 784], row-major like pylearn2.
    if training:
      if seed is None:
        raise ValueError('Goodfellow2014Discriminator needs a dropout seed '
                         '(int32 [2]) when training=True.')
      layer_seeds = [tf.random.experimental.stateless_fold_in(seed, index)
                     for index in range(3)]
      h = self._dropout(h, self.input_keep_prob, self.input_scale,
                        layer_seeds[0])
    h = self.h0(h)  # [B, 240]
    if training:
      h = self._dropout(h, self.hidden_keep_prob, self.hidden_scale,
                        layer_seeds[1])
    h = self.h1(h)  # [B, 240]
    if training:
      h = self._dropout(h, self.hidden_keep_prob, self.hidden_scale,
                        layer_seeds[2])
    logits = self.y(h)  # [B, 1]
    return tf.reshape(logits, [-1])

  def apply_constraints(self) -> None:
    """pylearn2's `max_col_norm` re-projection, on each layer that sets one.

    For W [in, out]: W <- W * clip(n, 0, max) / (1e-7 + n), n the L2 norm of
    each column (over the input axis), as `Maxout.censor_updates` and
    `Linear.censor_updates` do after every update. Note that the 1e-7 also
    shrinks columns below the maximum, by a factor n / (n + 1e-7); pylearn2
    does the same. A no-op with mnist.yaml's settings (no max_col_norm).
    """
    for weights, max_norm in zip(self._weight_matrices(), self.max_col_norms):
      if max_norm is None:
        continue
      col_norms = tf.sqrt(tf.reduce_sum(tf.square(weights), axis=0))  # [out]
      desired_norms = tf.clip_by_value(col_norms, 0., max_norm)
      weights.assign(weights * (desired_norms /
                                (_COL_NORM_EPSILON + col_norms)))
