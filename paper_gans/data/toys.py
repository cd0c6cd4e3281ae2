"""The 2-D toy distributions of Gulrajani et al. (2017), Figure 1.

Source: igul222/improved_wgan_training, gan_toy.py, `inf_train_gen()`:

* 8gaussians: pick one of 8 centres uniformly (`random.choice`), the centres
  being (+-1, 0), (0, +-1), (+-1/sqrt2, +-1/sqrt2) times scale 2, add
  N(0, 0.02^2) noise per coordinate, then divide everything by 1.414.
* 25gaussians: ONE fixed data set is drawn up front: 100000/25 = 4000 passes
  over the 5x5 grid (2x, 2y) for x, y in -2..2, each point plus N(0, 0.05^2)
  noise; shuffled once, divided by 2.828; training then cycles through it in
  the same order, len(dataset) // BATCH_SIZE batches per pass (the last
  100000 % BATCH_SIZE points are never used).
* swissroll: sklearn.datasets.make_swiss_roll(n_samples=BATCH_SIZE,
  noise=0.25)[0][:, [0, 2]] / 7.5, i.e. t = 1.5 pi (1 + 2u), u ~ U(0, 1),
  point (t cos t, t sin t) plus N(0, 0.25^2) noise per coordinate, over 7.5.

Here every batch is drawn with stateless TF ops from an explicit seed, so a
batch is a pure function of (seed, batch size) and works inside
tf.function and XLA. Stateless ops can return different numbers under XLA
than outside it (tensorflow#121243), so compare runs in one compile mode.
"""

from __future__ import annotations

import math
from typing import Tuple

import numpy as np
import tensorflow as tf

from paper_gans.errors import ConfigError

TOY_DATASETS = ('8gaussians', '25gaussians', 'swissroll')

# gan_toy.py constants.
_EIGHT_SCALE = 2.0
_EIGHT_STD = 0.02
_EIGHT_DIVISOR = 1.414
_EIGHT_UNIT_CENTRES = (
    (1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0),
    (1.0 / math.sqrt(2.0), 1.0 / math.sqrt(2.0)),
    (1.0 / math.sqrt(2.0), -1.0 / math.sqrt(2.0)),
    (-1.0 / math.sqrt(2.0), 1.0 / math.sqrt(2.0)),
    (-1.0 / math.sqrt(2.0), -1.0 / math.sqrt(2.0)),
)
_GRID_STD = 0.05
_GRID_DIVISOR = 2.828
# `for i in xrange(100000/25)`: 4000 copies of the 25 grid points.
GRID_DATASET_SIZE = 100000
_SWISS_NOISE = 0.25
_SWISS_DIVISOR = 7.5


def _check_toy(name: str) -> None:
  if name not in TOY_DATASETS:
    raise ConfigError(f'toy data set {name!r} is not one of '
                      f'{", ".join(TOY_DATASETS)}.')


def _grid_centres() -> np.ndarray:
  """[25, 2] grid centres before scaling, in gan_toy.py's loop order (x, y)."""
  return np.array([(2.0 * x, 2.0 * y) for x in range(-2, 3)
                   for y in range(-2, 3)])


def toy_modes(name: str) -> np.ndarray:
  """The mode centres in data coordinates (after the division), float64 [M, 2].

  8gaussians: M = 8, radius 2 / 1.414; 25gaussians: M = 25, spacing
  2 / 2.828. The row index is the label make_dataset yields for that mode.
  """
  _check_toy(name)
  if name == '8gaussians':
    return np.array(_EIGHT_UNIT_CENTRES) * _EIGHT_SCALE / _EIGHT_DIVISOR
  if name == '25gaussians':
    return _grid_centres() / _GRID_DIVISOR
  raise ConfigError('toy data set "swissroll" has no discrete modes; '
                    'toy_modes accepts 8gaussians or 25gaussians.')


def toy_mode_std(name: str) -> float:
  """Per-coordinate standard deviation of each mode in data coordinates."""
  _check_toy(name)
  if name == '8gaussians':
    return _EIGHT_STD / _EIGHT_DIVISOR
  if name == '25gaussians':
    return _GRID_STD / _GRID_DIVISOR
  raise ConfigError('toy data set "swissroll" has no discrete modes; '
                    'toy_mode_std accepts 8gaussians or 25gaussians.')


def check_batch_size(batch_size) -> None:
  if not isinstance(batch_size, (int, np.integer)) or isinstance(
      batch_size, bool) or batch_size <= 0:
    raise ConfigError(f'batch size {batch_size!r} is not a positive integer.')


def _mixture(batch_size: int, seed, centres: np.ndarray, std: float,
             divisor: float) -> Tuple[tf.Tensor, tf.Tensor]:
  """(centre + N(0, std^2)) / divisor with a uniformly drawn centre."""
  mode_seed, noise_seed = tf.unstack(
      tf.random.experimental.stateless_split(seed, num=2))
  modes = tf.random.stateless_uniform([batch_size], seed=mode_seed, minval=0,
                                      maxval=len(centres), dtype=tf.int32)
  noise = tf.random.stateless_normal([batch_size, 2], seed=noise_seed,
                                     stddev=std)
  points = tf.gather(tf.constant(centres, tf.float32), modes) + noise
  return points / divisor, modes  # [B, 2], [B]


def _swiss_roll(batch_size: int, seed) -> tf.Tensor:
  t_seed, noise_seed = tf.unstack(
      tf.random.experimental.stateless_split(seed, num=2))
  # sklearn: t = 1.5 * pi * (1 + 2 * uniform); x = t cos t; z = t sin t.
  t = 1.5 * math.pi * (1.0 + 2.0 * tf.random.stateless_uniform(
      [batch_size], seed=t_seed))
  roll = tf.stack([t * tf.cos(t), t * tf.sin(t)], axis=1)  # [B, 2]
  noise = tf.random.stateless_normal([batch_size, 2], seed=noise_seed,
                                     stddev=_SWISS_NOISE)
  return (roll + noise) / _SWISS_DIVISOR


def sample_toy_with_labels(name: str, batch_size: int,
                           seed) -> Tuple[tf.Tensor, tf.Tensor]:
  """Like sample_toy, also returning the mode index of each point.

  Returns:
    points float32 [B, 2] and labels int32 [B]: the row of toy_modes(name)
    each point was drawn around (0 for swissroll).
  """
  _check_toy(name)
  check_batch_size(batch_size)
  if name == '8gaussians':
    return _mixture(batch_size, seed,
                    np.array(_EIGHT_UNIT_CENTRES) * _EIGHT_SCALE, _EIGHT_STD,
                    _EIGHT_DIVISOR)
  if name == '25gaussians':
    return _mixture(batch_size, seed, _grid_centres(), _GRID_STD,
                    _GRID_DIVISOR)
  return _swiss_roll(batch_size, seed), tf.zeros([batch_size], tf.int32)


def sample_toy(name: str, batch_size: int, seed) -> tf.Tensor:
  """A fresh batch of a toy distribution, float32 [batch_size, 2].

  For 25gaussians this draws i.i.d. from the 25-mode mixture, the
  distribution gan_toy.py's fixed 100,000-point data set is a sample of;
  make_dataset('25gaussians', ...) reproduces that fixed data set instead
  (see grid_dataset).

  Args:
    name: '8gaussians', '25gaussians' or 'swissroll'.
    batch_size: number of points.
    seed: int32/int64 tensor or pair of shape [2], as for
      tf.random.stateless_uniform; the batch is a pure function of it.
  """
  return sample_toy_with_labels(name, batch_size, seed)[0]


def grid_dataset(seed) -> Tuple[tf.Tensor, tf.Tensor]:
  """gan_toy.py's fixed 25gaussians data set, drawn from a stateless seed.

  Args:
    seed: int32/int64 pair of shape [2].

  Returns:
    points float32 [100000, 2], already shuffled and divided by 2.828, and
    their mode indices int32 [100000] (rows of toy_modes('25gaussians')).
  """
  noise_seed, shuffle_seed = tf.unstack(
      tf.random.experimental.stateless_split(seed, num=2))
  repeats = GRID_DATASET_SIZE // 25
  modes = tf.tile(tf.range(25, dtype=tf.int32), [repeats])  # [100000]
  centres = tf.constant(_grid_centres(), tf.float32)
  points = tf.gather(centres, modes) + tf.random.stateless_normal(
      [GRID_DATASET_SIZE, 2], seed=noise_seed, stddev=_GRID_STD)
  order = tf.random.experimental.stateless_shuffle(
      tf.range(GRID_DATASET_SIZE), seed=shuffle_seed)
  return tf.gather(points, order) / _GRID_DIVISOR, tf.gather(modes, order)
