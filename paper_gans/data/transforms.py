"""Resolution, channel and value-range changes of uint8 image arrays."""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
import tensorflow as tf

from paper_gans.errors import ConfigError

RESIZE_METHODS = ('resize', 'pad')
VALUE_RANGES = ((0.0, 1.0), (-1.0, 1.0))

# Images resized per chunk, so that the float32 copy TF makes of them stays
# small (60,000 MNIST digits at 64x64 would be ~1 GB in one piece).
_RESIZE_CHUNK = 2048


def _check_images(images) -> None:
  if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or (
      images.ndim != 4):
    kind = (f'{images.dtype} array of rank {images.ndim}'
            if isinstance(images, np.ndarray) else type(images).__name__)
    raise ConfigError(f'images must be a uint8 numpy array [N, H, W, C], not '
                      f'a {kind}.')


def to_resolution(images: np.ndarray, size: int,
                  method: str = 'resize') -> np.ndarray:
  """Brings uint8 images [N, H, W, C] to [N, size, size, C].

  Args:
    images: uint8 array [N, H, W, C].
    size: the output height and width.
    method: 'pad' centres the images on a zero (black) canvas, e.g. MNIST
      28 -> 32 with 2 pixels on each side (an odd surplus goes to the bottom
      and right); it cannot shrink. 'resize' is bilinear interpolation
      (tf.image.resize, half-pixel centres), antialiased when shrinking, then
      rounded to the nearest integer; non-square inputs are stretched.

  Returns:
    A new uint8 array [N, size, size, C], or `images` itself when it already
    has that size.
  """
  _check_images(images)
  if method not in RESIZE_METHODS:
    raise ConfigError(f'resize method {method!r} is not one of '
                      f'{", ".join(RESIZE_METHODS)}.')
  if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or (
      size <= 0):
    raise ConfigError(f'image size {size!r} is not a positive integer.')
  num, height, width, channels = images.shape
  if (height, width) == (size, size):
    return images
  if method == 'pad':
    if size < height or size < width:
      raise ConfigError(
          f'cannot pad {height}x{width} images to {size}x{size}: padding only '
          'enlarges; use resize_method="resize" to shrink.')
    top, left = (size - height) // 2, (size - width) // 2
    return np.pad(images, ((0, 0), (top, size - height - top),
                           (left, size - width - left), (0, 0)))
  shrinking = size < height or size < width
  output = np.empty((num, size, size, channels), np.uint8)
  for start in range(0, num, _RESIZE_CHUNK):
    chunk = tf.image.resize(images[start:start + _RESIZE_CHUNK], (size, size),
                            method='bilinear', antialias=shrinking)
    output[start:start + _RESIZE_CHUNK] = tf.cast(
        tf.clip_by_value(tf.round(chunk), 0.0, 255.0), tf.uint8).numpy()
  return output


def convert_channels(images: np.ndarray, channels: int) -> np.ndarray:
  """Grey -> RGB by repetition, RGB -> grey by ITU-R 601 luma (rounded)."""
  _check_images(images)
  have = images.shape[-1]
  if channels == have:
    return images
  if have == 1 and channels == 3:
    return np.repeat(images, 3, axis=-1)
  if have == 3 and channels == 1:
    grey = tf.image.rgb_to_grayscale(tf.cast(images, tf.float32))
    return tf.cast(tf.clip_by_value(tf.round(grey), 0.0, 255.0),
                   tf.uint8).numpy()
  raise ConfigError(f'cannot convert images with {have} channels to '
                    f'{channels}; only 1 <-> 3 is supported.')


def check_value_range(value_range: Sequence[float]) -> Tuple[float, float]:
  """The value range as a float pair; ConfigError unless (0, 1) or (-1, 1)."""
  try:
    pair = tuple(float(v) for v in value_range)
  except (TypeError, ValueError):
    pair = None
  if pair not in VALUE_RANGES:
    raise ConfigError(f'value range {value_range!r} is not supported; use '
                      '(0.0, 1.0) or (-1.0, 1.0).')
  return pair


def scale_images(x, value_range: Tuple[float, float],
                 dtype: tf.DType = tf.float32):
  """Maps uint8 pixels 0..255 to `dtype` (float32 by default) in `value_range`.

  (0, 1): x / 255, as pylearn2 reads MNIST for Goodfellow et al. (2014).
  (-1, 1): x / 127.5 - 1, the tanh range of DCGAN and WGAN; 0 -> -1 and
  255 -> 1 exactly. The arithmetic runs in `dtype`.

  Args:
    x: uint8 (or any real-valued) numpy array or tf.Tensor holding 0..255.
    value_range: (0.0, 1.0) or (-1.0, 1.0).
    dtype: tf.float32 or tf.float64.

  Returns:
    `dtype` values of the same kind (numpy in, numpy out; tensor in, tensor
    out).
  """
  low, _ = check_value_range(value_range)
  if isinstance(x, np.ndarray):
    np_dtype = tf.as_dtype(dtype).as_numpy_dtype
    x = x.astype(np_dtype)
    return x / np_dtype(255.0) if low == 0.0 else (
        x / np_dtype(127.5) - np_dtype(1.0))
  x = tf.cast(x, dtype)
  return x / 255.0 if low == 0.0 else x / 127.5 - 1.0
