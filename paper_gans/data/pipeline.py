"""Deterministic, exactly resumable tf.data pipelines over every data set."""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from paper_gans.data import sources
from paper_gans.data import toys
from paper_gans.data import transforms
from paper_gans.errors import ConfigError

IMAGE_DATASETS = ('mnist', 'fashion_mnist')
KNOWN_DATASETS = IMAGE_DATASETS + toys.TOY_DATASETS
# Besides KNOWN_DATASETS, a name may be 'tfds:<registered TFDS name>' (data
# prepared locally) or 'folder:<directory of PNG/JPEG files>'.
DATASET_PREFIXES = ('tfds:', 'folder:')

# Folded into the user's seed so that the data's random streams never share
# stateless seeds with other users of the same integer (e.g. layers'
# SeedSequence pairs (seed, 1), (seed, 2), ...). ASCII 'data'.
_DATA_STREAM_TAG = 0x64617461
_MAX_SEED = 2**63

# Decoded uint8 arrays, already at the target resolution, one entry per
# (name, split, image_size, resize_method, channels).
_IMAGE_CACHE = {}


def validate_dataset_name(name: str) -> str:
  """Returns the kind of a data set name: image, toy, tfds or folder."""
  if isinstance(name, str):
    if name in IMAGE_DATASETS:
      return 'image'
    if name in toys.TOY_DATASETS:
      return 'toy'
    for prefix in DATASET_PREFIXES:
      if name.startswith(prefix) and len(name) > len(prefix):
        return prefix[:-1]
  raise ConfigError(f'data set {name!r} is unknown; use one of '
                    f'{", ".join(KNOWN_DATASETS)}, tfds:<name> or '
                    'folder:<path>.')


def load_images(name: str, split: str,
                image_size: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
  """uint8 images [N, H, W, C] and int64 labels [N] of an image data set.

  Args:
    name: 'mnist', 'fashion_mnist', 'tfds:<name>' or 'folder:<path>'.
    split: 'train', 'test' or a slice such as 'train[:50000]' (a folder has
      only 'train'; a TFDS name takes any TFDS split string).
    image_size: folders only: centre-crop and resize every file to this
      square size (needed when the files differ in size). Use to_resolution
      for the other data sets.

  Returns:
    Images at their stored resolution and labels (all 0 for a folder).
  """
  kind = validate_dataset_name(name)
  if kind == 'toy':
    raise ConfigError(f'data set {name!r} is a 2-D toy distribution, not '
                      'images; use sample_toy or make_dataset.')
  if image_size is not None and kind != 'folder':
    raise ConfigError(f'load_images takes image_size only for folder: data '
                      f'sets, not {name!r}; use to_resolution instead.')
  if name == 'mnist':
    return sources.load_mnist(split)
  if name == 'fashion_mnist':
    return sources.load_fashion_mnist(split)
  if kind == 'tfds':
    return sources.load_tfds(name[len('tfds:'):], split)
  return sources.load_folder(name[len('folder:'):], split, image_size)


def cached_images(name: str, split: str = 'train',
                  image_size: Optional[int] = None,
                  resize_method: str = 'resize',
                  channels: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
  """load_images + to_resolution + channel conversion, decoded once per process.

  Returns read-only uint8 images [N, S, S, C] and int64 labels [N].
  """
  key = (name, split, image_size, resize_method, channels)
  if key not in _IMAGE_CACHE:
    if validate_dataset_name(name) == 'folder':
      images, labels = load_images(name, split, image_size=image_size)
    else:
      images, labels = load_images(name, split)
      if image_size is not None:
        images = transforms.to_resolution(images, image_size, resize_method)
    if channels is not None:
      images = transforms.convert_channels(images, channels)
    images.flags.writeable = False
    _IMAGE_CACHE[key] = (images, labels)
  return _IMAGE_CACHE[key]


def _num_examples(name: str, split: str) -> int:
  """Examples in a split without decoding it (folders: files are counted)."""
  kind = validate_dataset_name(name)
  if kind == 'image':
    base, part = sources.parse_split(split)
    return sources.split_size(sources.SPLIT_SIZES[base], part, split)
  if kind == 'folder':
    _, part = sources.parse_split(split, allowed=('train',))
    return sources.split_size(len(sources.folder_files(name[len('folder:'):])),
                              part, split)
  return sources.tfds_num_examples(name[len('tfds:'):], split)


def batches_per_epoch(name: str, batch_size: int,
                      split: str = 'train') -> Optional[int]:
  """Full batches per epoch (the partial last batch is dropped).

  None for the toys: 8gaussians and swissroll are infinite, and the
  25gaussians set is cycled through without epochs (gan_toy.py).
  """
  toys.check_batch_size(batch_size)
  if validate_dataset_name(name) == 'toy':
    return None
  count = _num_examples(name, split) // batch_size
  if count == 0:
    raise ConfigError(f'batch size {batch_size} exceeds the '
                      f'{_num_examples(name, split)} examples of '
                      f'{name} {split}.')
  return count


def dataset_info(name: str) -> dict:
  """{'shape', 'num_classes', 'num_examples'} of a data set's training split.

  Shapes are as stored (before to_resolution). Toys: shape (2,), num_classes
  the number of modes (1 for swissroll), num_examples None except the fixed
  25gaussians set (100,000).
  """
  kind = validate_dataset_name(name)
  if kind == 'image':
    return {'shape': (28, 28, 1), 'num_classes': 10,
            'num_examples': sources.SPLIT_SIZES['train']}
  if kind == 'toy':
    return {'shape': (2,),
            'num_classes': {'8gaussians': 8, '25gaussians': 25,
                            'swissroll': 1}[name],
            'num_examples': (toys.GRID_DATASET_SIZE
                             if name == '25gaussians' else None)}
  if kind == 'tfds':
    return sources.tfds_info(name[len('tfds:'):])
  images, _ = load_images(name, 'train[:1]')
  return {'shape': images.shape[1:], 'num_classes': 1,
          'num_examples': _num_examples(name, 'train')}


def _check_int(value, what: str, low: int, high: int) -> None:
  if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or (
      not low <= value < high):
    raise ConfigError(f'{what} {value!r} is not an integer in [{low}, {high}).')


def _fold(key: tf.Tensor, index) -> tf.Tensor:
  """A new stateless seed [2] from a key and an integer (always as int64:
  stateless_fold_in's result depends on the dtype of the integer)."""
  return tf.random.experimental.stateless_fold_in(
      key, tf.cast(index, tf.int64))


def _data_key(seed: int) -> tf.Tensor:
  return _fold(tf.constant([seed, 0], tf.int64), _DATA_STREAM_TAG)


def make_dataset(name: str, batch_size: int, seed: int, *,
                 split: str = 'train',
                 image_size: Optional[int] = None,
                 resize_method: str = 'resize',
                 value_range: Tuple[float, float] = (-1.0, 1.0),
                 start_batch: int = 0,
                 channels: Optional[int] = None,
                 dtype: tf.DType = tf.float32) -> tf.data.Dataset:
  """An endless, batched, prefetched stream of (x, labels).

  Images: every epoch is an independent permutation of the split drawn with
  stateless ops from (seed, epoch); the epoch is cut into
  N // batch_size batches and the last N % batch_size examples of each
  permutation are dropped, so batches never cross an epoch boundary and
  every batch is full. The decoded uint8 images (at the target resolution
  and channel count) are cached in memory once per process and scaled to
  `dtype` per batch.

  Toys: batch g is sample_toy(name, batch_size, fold(seed, g)) for
  8gaussians and swissroll; 25gaussians cycles in a fixed order through the
  fixed 100,000-point set grid_dataset(seed) exactly like gan_toy.py
  (100000 // batch_size batches per pass). value_range does not apply. The
  points are drawn in float32 and cast to `dtype` (exact for float64).

  Batch g is a pure function of (arguments, g): the same arguments give the
  same batches in any process, and start_batch=k yields batches k, k+1, ...
  of the start_batch=0 stream without touching the first k (the first
  epoch's permutation is sliced).

  Args:
    name: a name of KNOWN_DATASETS, 'tfds:<name>' or 'folder:<path>'.
    batch_size: examples per batch.
    seed: integer in [0, 2^63).
    split: the split to draw from (images only).
    image_size: resize/pad images to this square size (None keeps theirs).
    resize_method: 'resize' or 'pad' (see to_resolution).
    value_range: (0.0, 1.0) or (-1.0, 1.0).
    start_batch: index of the first batch yielded.
    channels: 1 or 3 to convert images (None keeps theirs).
    dtype: the floating dtype of x: tf.float32 (the papers' precision) or
      tf.float64.

  Returns:
    A tf.data.Dataset of (x `dtype` [B, H, W, C] or [B, 2] for toys,
    labels int32 [B]) pairs; labels are classes for images, mode indices for
    the Gaussian toys (rows of toy_modes) and 0 for swissroll.
  """
  kind = validate_dataset_name(name)
  toys.check_batch_size(batch_size)
  _check_int(seed, 'seed', 0, _MAX_SEED)
  _check_int(start_batch, 'start_batch', 0, _MAX_SEED)
  value_range = transforms.check_value_range(value_range)
  key = _data_key(seed)
  if kind == 'toy':
    if image_size is not None or channels is not None:
      raise ConfigError(f'toy data set {name!r} has no image_size or '
                        'channels; leave both as None.')
    return _toy_dataset(name, batch_size, key, start_batch, dtype)
  if resize_method not in transforms.RESIZE_METHODS:
    raise ConfigError(f'resize method {resize_method!r} is not one of '
                      f'{", ".join(transforms.RESIZE_METHODS)}.')
  if channels not in (None, 1, 3):
    raise ConfigError(f'channels {channels!r} is not 1, 3 or None.')
  images, labels = cached_images(name, split, image_size, resize_method,
                                 channels)
  return _image_dataset(images, labels, batch_size, key, start_batch,
                        value_range, dtype)


def _image_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int,
                   key: tf.Tensor, start_batch: int,
                   value_range: Tuple[float, float],
                   dtype: tf.DType) -> tf.data.Dataset:
  num_examples = len(images)
  per_epoch = num_examples // batch_size
  if per_epoch == 0:
    raise ConfigError(f'batch size {batch_size} exceeds the {num_examples} '
                      'examples of the split.')
  first_epoch, first_offset = divmod(start_batch, per_epoch)
  images = tf.constant(images)  # [N, H, W, C] uint8
  labels = tf.constant(labels, tf.int32)  # [N]

  def epoch_batches(epoch):
    order = tf.random.experimental.stateless_shuffle(
        tf.range(num_examples, dtype=tf.int32), seed=_fold(key, epoch))
    batches = tf.reshape(order[:per_epoch * batch_size],
                         [per_epoch, batch_size])
    # Resuming mid-epoch: drop the batches before start_batch by slicing.
    skip = tf.where(epoch == first_epoch, first_offset, 0)
    return tf.data.Dataset.from_tensor_slices(batches[skip:])

  def gather(indices):
    x = transforms.scale_images(tf.gather(images, indices), value_range,
                                dtype)
    return x, tf.gather(labels, indices)

  indices = tf.data.Dataset.counter(first_epoch).flat_map(epoch_batches)
  return indices.map(gather, num_parallel_calls=tf.data.AUTOTUNE,
                     deterministic=True).prefetch(tf.data.AUTOTUNE)


def _toy_dataset(name: str, batch_size: int, key: tf.Tensor,
                 start_batch: int, dtype: tf.DType) -> tf.data.Dataset:
  batch_indices = tf.data.Dataset.counter(start_batch)
  if name == '25gaussians':
    points, modes = toys.grid_dataset(key)
    per_pass = toys.GRID_DATASET_SIZE // batch_size
    if per_pass == 0:
      raise ConfigError(f'batch size {batch_size} exceeds the '
                        f'{toys.GRID_DATASET_SIZE} points of 25gaussians.')

    def grid_batch(index):
      start = tf.cast((index % per_pass) * batch_size, tf.int32)
      return (tf.slice(points, [start, 0], [batch_size, 2]),  # [B, 2]
              tf.slice(modes, [start], [batch_size]))  # [B]

    dataset = batch_indices.map(grid_batch)
  else:
    dataset = batch_indices.map(
        lambda index: toys.sample_toy_with_labels(name, batch_size,
                                                  _fold(key, index)),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  if dtype != tf.float32:
    dataset = dataset.map(lambda x, labels: (tf.cast(x, dtype), labels))
  return dataset.prefetch(tf.data.AUTOTUNE)
