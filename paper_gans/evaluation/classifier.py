"""The fixed MNIST evaluator: a small CNN whose weights ship with the package.

Every sample-quality number in paper_gans that needs a classifier (classifier
score, Frechet distance, class-conditional accuracy) is computed with this one
network and these one set of weights, so that numbers from different users and
different reproductions are comparable. The weights are trained by
`paper_gans/evaluation/train_classifier.py` (see its docstring for the command,
the number of epochs, the machine and the accuracy measured) and stored in
`paper_gans/evaluation/weights/mnist_classifier.npz`, one array per variable,
keyed by the stable names of `MnistClassifier.named_variables()`.

Architecture (input [B, 28, 28, 1] in [0, 1]):

    conv 3x3, 32, SAME, ReLU -> max-pool 2x2   -> [B, 14, 14, 32]
    conv 3x3, 64, SAME, ReLU -> max-pool 2x2   -> [B, 7, 7, 64]
    flatten -> dense 128, ReLU ("features")    -> [B, 128]
    (dropout, keep 0.5, in training only)
    dense 10 ("logits")                        -> [B, 10]

421,642 parameters (1.57 MB compressed). The 128-d ReLU layer is the feature
space of the Frechet distance; the logits give p(y|x) for the classifier score
and the class-conditional accuracy. Test accuracy of the shipped weights:
0.9925 (9925 / 10,000), measured by train_classifier.py and ceilings.py.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import zipfile
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from paper_gans import layers

WEIGHTS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            'weights', 'mnist_classifier.npz')
IMAGE_SIZE = 28
NUM_CLASSES = 10
FEATURE_SIZE = 128
_FLAT_SIZE = 7 * 7 * 64


def _he_normal(fan_in: int) -> layers.Initializer:
  """N(0, 2 / fan_in), He et al. 2015: keeps ReLU activations at unit scale."""
  return layers.normal_initializer(stddev=math.sqrt(2.0 / fan_in))


def _max_pool(x: tf.Tensor) -> tf.Tensor:
  return tf.nn.max_pool2d(x, ksize=2, strides=2, padding='VALID')


class MnistClassifier(tf.Module):
  """The evaluator network (see the module docstring for the architecture)."""

  def __init__(self, seed: int = 0, name: str = 'mnist_classifier'):
    super().__init__(name=name)
    seeds = layers.SeedSequence(seed)
    with self.name_scope:
      self.conv1 = layers.Conv2D(1, 32, 3, 1, 'SAME', seeds(),
                                 _he_normal(3 * 3 * 1), name='conv1')
      self.conv2 = layers.Conv2D(32, 64, 3, 1, 'SAME', seeds(),
                                 _he_normal(3 * 3 * 32), name='conv2')
      self.fc = layers.Dense(_FLAT_SIZE, FEATURE_SIZE, seeds(),
                             _he_normal(_FLAT_SIZE), name='fc')
      # Glorot-scale output layer: the logits start near zero.
      self.out = layers.Dense(FEATURE_SIZE, NUM_CLASSES, seeds(),
                              layers.normal_initializer(
                                  math.sqrt(1.0 / FEATURE_SIZE)),
                              name='out')

  def named_variables(self) -> Dict[str, tf.Variable]:
    """The variables under the stable names used as keys in the .npz file."""
    return {
        'conv1/w': self.conv1.w, 'conv1/b': self.conv1.b,
        'conv2/w': self.conv2.w, 'conv2/b': self.conv2.b,
        'fc/w': self.fc.w, 'fc/b': self.fc.b,
        'out/w': self.out.w, 'out/b': self.out.b,
    }

  def __call__(self, images01: tf.Tensor, training: bool = False,
               dropout_seed: Optional[tf.Tensor] = None
               ) -> Tuple[tf.Tensor, tf.Tensor]:
    """Returns (features [B, 128], logits [B, 10]) for images in [0, 1].

    Args:
      images01: float32 [B, 28, 28, 1] in [0, 1].
      training: applies dropout (keep 0.5) to the features before the output
        layer; the returned features are always the pre-dropout ones.
      dropout_seed: int32 [2], required when training.
    """
    h = _max_pool(tf.nn.relu(self.conv1(images01)))  # [B, 14, 14, 32]
    h = _max_pool(tf.nn.relu(self.conv2(h)))  # [B, 7, 7, 64]
    h = tf.reshape(h, [-1, _FLAT_SIZE])  # [B, 3136]
    features = tf.nn.relu(self.fc(h))  # [B, 128]
    h = features
    if training:
      h = layers.dropout(h, keep_prob=0.5, seed=dropout_seed)
    logits = self.out(h)  # [B, 10]
    return features, logits


def save_weights(classifier: MnistClassifier, path: str) -> None:
  """Writes every variable as float32 into a compressed .npz, keyed by name.

  The archive is byte-for-byte a function of the weights: entries in sorted
  order with a fixed timestamp (np.savez_compressed stamps the current
  time), so equal weights give an equal SHA-256. `np.load` reads it.
  """
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  variables = classifier.named_variables()
  with zipfile.ZipFile(path, 'w') as archive:
    for name in sorted(variables):
      info = zipfile.ZipInfo(name + '.npy', date_time=(1980, 1, 1, 0, 0, 0))
      info.compress_type = zipfile.ZIP_DEFLATED
      buffer = io.BytesIO()
      np.lib.format.write_array(
          buffer, variables[name].numpy().astype(np.float32),
          allow_pickle=False)
      archive.writestr(info, buffer.getvalue())


def load_weights(classifier: MnistClassifier, path: str) -> None:
  """Assigns the arrays of `path` to the classifier's variables.

  Raises:
    ValueError: if the file's names or shapes differ from the network's.
  """
  variables = classifier.named_variables()
  with np.load(path) as archive:
    stored = {name: archive[name] for name in archive.files}
  if set(stored) != set(variables):
    raise ValueError(
        f'{path} holds variables {sorted(stored)}, but the evaluator has '
        f'{sorted(variables)}.')
  for name, variable in variables.items():
    if tuple(stored[name].shape) != tuple(variable.shape):
      raise ValueError(f'{path}: {name} has shape {stored[name].shape}, '
                       f'expected {tuple(variable.shape)}.')
    variable.assign(stored[name])


class MnistEvaluator:
  """The shipped classifier, with the preprocessing every metric shares.

  Typical use:

      evaluator = MnistEvaluator.load()
      images01 = evaluator.prepare(generated, value_range=(-1., 1.))
      features, logits = evaluator.features_and_logits(images01)
  """

  def __init__(self, classifier: MnistClassifier, batch_size: int = 1000,
               weights_sha256: Optional[str] = None):
    """Wraps a classifier.

    Args:
      classifier: the network with its weights.
      batch_size: images per forward pass.
      weights_sha256: SHA-256 of the weights file, when loaded from one; it
        lets `metrics.real_train_statistics` reuse the shipped statistics.
    """
    self.classifier = classifier
    self.batch_size = batch_size
    self.weights_sha256 = weights_sha256
    self._forward = tf.function(
        lambda x: self.classifier(x, training=False),
        input_signature=[tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE, 1],
                                       tf.float32)])
    # Feature statistics of the real training images, filled on first use by
    # `paper_gans.evaluation.metrics.real_train_statistics`.
    self.train_statistics_cache: Optional[Tuple[np.ndarray, np.ndarray]] = None

  @classmethod
  def load(cls, path: Optional[str] = None) -> 'MnistEvaluator':
    """The evaluator with the weights shipped in the package (or `path`)."""
    path = path or WEIGHTS_PATH
    classifier = MnistClassifier()
    load_weights(classifier, path)
    with open(path, 'rb') as f:
      sha256 = hashlib.sha256(f.read()).hexdigest()
    return cls(classifier, weights_sha256=sha256)

  @staticmethod
  def prepare(images, value_range: Sequence[float] = (0.0, 1.0),
              resize_method: str = 'resize') -> tf.Tensor:
    """Converts generator output to the evaluator's input.

    Accepts [B, 784], [B, H, W] or [B, H, W, 1] with H = W >= 28 (any H for
    'resize'), values in `value_range` (for example (-1, 1) for a tanh
    generator, (0, 255) for uint8 images). Steps, in order:

    1. rescale linearly from `value_range` to [0, 1];
    2. bring H x W to 28 x 28 by undoing what paper_gans.data.to_resolution
       did to the training images, named by `resize_method` (the same value
       the data pipeline was given; 28x28 input is never changed):
       'resize' (the data layer's default, bilinear there): antialiased
       Lanczos-3 resize to 28x28 (`tf.image.resize(method='lanczos3',
       antialias=True)`), e.g. for 32x32 or 64x64 generators. Chosen by
       measurement on 1,000 training images (train[10000:11000]) taken
       28 -> 32 by the data layer and back: Frechet distance to the training
       statistics 17.8 with Lanczos-3, 22.5 bicubic, 38.2 area, 43.6
       bilinear, against 5.4 for the untouched images (the same at 64). Every
       resize loses detail, so compare such generators with the resized
       real-data ceilings of `ceilings.py`, not the 28x28 ones;
       'pad' (28x28 centred on a zero canvas there): the centre crop,
       rows and columns (H - 28) // 2 onwards, which gives back the original
       pixels exactly;
    3. clip to [0, 1] (the range the classifier was trained on; it only
       removes numerical overshoot for sigmoid/tanh outputs).

    Returns:
      float32 tensor [B, 28, 28, 1] in [0, 1].
    """
    if resize_method not in ('resize', 'pad'):
      raise ValueError(f"resize_method must be 'resize' or 'pad', got "
                       f'{resize_method!r}.')
    x = tf.convert_to_tensor(images)
    x = tf.cast(x, tf.float32)
    if x.shape.rank == 2:
      if x.shape[1] != IMAGE_SIZE * IMAGE_SIZE:
        raise ValueError(f'flat images must have 784 values, got {x.shape}.')
      x = tf.reshape(x, [-1, IMAGE_SIZE, IMAGE_SIZE, 1])
    elif x.shape.rank == 3:
      x = x[..., tf.newaxis]
    if x.shape.rank != 4 or x.shape[-1] != 1 or x.shape[1] != x.shape[2]:
      raise ValueError(
          f'expected [B, 784], [B, H, W] or [B, H, W, 1] square grey images, '
          f'got shape {x.shape}.')
    low, high = float(value_range[0]), float(value_range[1])
    if not high > low:
      raise ValueError(f'value_range must be (low, high) with high > low, '
                       f'got {value_range}.')
    x = (x - low) / (high - low)
    size = x.shape[1]
    if size != IMAGE_SIZE:
      if resize_method == 'pad':
        if size < IMAGE_SIZE:
          raise ValueError(f"resize_method 'pad' needs images of at least "
                           f'28x28, got {size}x{size}.')
        top = (size - IMAGE_SIZE) // 2  # as to_resolution(method='pad')
        x = x[:, top:top + IMAGE_SIZE, top:top + IMAGE_SIZE, :]
      else:
        x = tf.image.resize(x, [IMAGE_SIZE, IMAGE_SIZE], method='lanczos3',
                            antialias=True)
    return tf.clip_by_value(x, 0.0, 1.0)

  def features_and_logits(self, images01) -> Tuple[np.ndarray, np.ndarray]:
    """(features [B, 128], logits [B, 10]) as float32 numpy, batched.

    Args:
      images01: [B, 28, 28, 1] in [0, 1], as returned by `prepare`.
    """
    images01 = tf.convert_to_tensor(images01, tf.float32)
    count = int(images01.shape[0])
    features = np.zeros([count, FEATURE_SIZE], np.float32)
    logits = np.zeros([count, NUM_CLASSES], np.float32)
    for start in range(0, count, self.batch_size):
      stop = min(start + self.batch_size, count)
      batch_features, batch_logits = self._forward(images01[start:stop])
      features[start:stop] = batch_features.numpy()
      logits[start:stop] = batch_logits.numpy()
    return features, logits

  def logits(self, images01) -> np.ndarray:
    """Logits [B, 10] (float32) for images from `prepare`."""
    return self.features_and_logits(images01)[1]

  def probabilities(self, images01) -> np.ndarray:
    """p(y|x) [B, 10] as float64, softmax of the logits in float64."""
    return softmax(self.logits(images01))

  def features(self, images01) -> np.ndarray:
    """The 128-d penultimate ReLU features [B, 128] (float32)."""
    return self.features_and_logits(images01)[0]

  def predict(self, images01) -> np.ndarray:
    """Predicted digit [B] (int64)."""
    return np.argmax(self.logits(images01), axis=1).astype(np.int64)


def softmax(logits) -> np.ndarray:
  """Softmax over the last axis in float64 (TF-GAN also casts to float64)."""
  z = np.asarray(logits, np.float64)
  z = z - z.max(axis=-1, keepdims=True)
  e = np.exp(z)
  return e / e.sum(axis=-1, keepdims=True)
