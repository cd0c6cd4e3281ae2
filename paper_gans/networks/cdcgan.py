"""Conditional DCGANs on MNIST: two presets, both 28x28x1 with 10 classes.

Labels are int32 [B] class indices, one-hot encoded inside the modules.

Preset "seed" (`SeedCDCGANGenerator`, `SeedCDCGANDiscriminator`).
The seed setup (docs/sources.md, "Conditional DCGAN on MNIST") is given only
in words (z ~ N(0, 1) of 100 and a one-hot label into G, transposed
convolutions to 28x28x1; D sees the image with 10 label maps broadcast to
28x28 and concatenated, convolves, ends in a sigmoid). Its layers are not
specified, so
we build them exactly as its close public twin does,
znxlwm/tensorflow-MNIST-cGAN-cDCGAN `tensorflow_MNIST_cDCGAN.py` (TF1
`tf.layers`):
  G: concat(z [B,1,1,100], y [B,1,1,10]) = [B, 1, 1, 110]
     -> conv2d_transpose 256, 7x7, stride 1, 'valid' (7x7) -> BN -> lrelu 0.2
     -> conv2d_transpose 128, 5x5, stride 2, 'same' (14x14) -> BN -> lrelu
     -> conv2d_transpose 1, 5x5, stride 2, 'same' (28x28) -> tanh.
     Note the generator's hidden activation is LeakyReLU 0.2, not ReLU.
  D: concat(x [B,28,28,1], y maps [B,28,28,10]) = 11 channels
     -> conv2d 128, 5x5, stride 2, 'same' (14x14) -> lrelu 0.2 (no BN)
     -> conv2d 256, 5x5, stride 2, 'same' (7x7) -> BN -> lrelu 0.2
     -> conv2d 1, 7x7, stride 1, 'valid' -> logit (the twin's sigmoid is
     applied by the loss; we return the logit [B]).
  Every layer has a bias (tf.layers default `use_bias=True`, zeros). Kernels
  ~ truncated normal, stddev 0.02 (`tf.truncated_normal_initializer`:
  N(0, 0.02) redrawn beyond two standard deviations). Batch norm is
  `tf.layers.batch_normalization` with its defaults: gamma 1, beta 0,
  epsilon 1e-3, moving averages with TF momentum 0.99, i.e. new-batch weight
  0.01 in layers.BatchNorm's (PyTorch) convention. The twin draws its picture
  of record with `isTrain: False`, i.e. with the moving averages.
  Images in [-1, 1] (`(mnist.train.images - 0.5) / 0.5`); the twin works at
  28x28 (its resize to another size is commented out). Its latent
  distribution: z ~ N(0, 1)^100. Its training: batch 100, Adam 2e-4 beta1
  0.5 with lr x0.95 every 500 D steps (staircase), 30 epochs; beware its
  generator labels `np.random.randint(0, 9)`, which never draw a 9.
  Deviations from the twin: none in the architecture; the moving variance
  uses the unbiased batch variance (layers.BatchNorm); we did not check which
  variance TF1's fused batch norm kernel feeds its moving average.

Preset "Newmu" (`NewmuCondGenerator`, `NewmuCondDiscriminator`): the DCGAN
authors' conditional MNIST model, Newmu/dcgan_code `mnist/train_cond_dcgan.py`
(Theano). The one-hot y is concatenated to the input of EVERY layer, as a
vector before dense layers and as 10 constant maps (`conv_cond_concat`)
before conv layers:
  G: [z | y] (110) -> dense `gw` 1024 -> BN -> ReLU
     -> [h | y] (1034) -> dense `gw2` 128*7*7 -> BN -> ReLU
     -> reshape (B, 128, 7, 7) -> [h | y maps] (138 ch)
     -> deconv `gw3` 5x5 stride 2 to 64 (14x14) -> BN -> ReLU
     -> [h | y maps] (74 ch) -> deconv `gwx` 5x5 stride 2 to 1 (28x28)
     -> sigmoid.
  D: [x | y maps] (11 ch) -> conv `dw` 5x5 stride 2 pad 2 to 64 (14x14)
     -> LReLU 0.2 (no BN) -> [h | y maps] (74 ch) -> conv `dw2` 5x5/2 to 128
     (7x7) -> BN -> LReLU -> flatten (Theano's channel-first order)
     -> [h | y] (6282) -> dense `dw3` 1024 -> BN -> LReLU -> [h | y] (1034)
     -> dense `dwy` 1 -> sigmoid (we return the logit [B]).
  No layer has a bias, and every `batchnorm` is called WITHOUT gain and bias
  (`batchnorm(X)`, so `lib/ops.py` skips the affine step): these networks
  have no batch-norm parameters at all. Batch norm on the dense layers is per
  unit (2-D `batchnorm` before the reshape). Weights ~ N(0, 0.02)
  (`gifn = difn = inits.Normal(scale=0.02)`); epsilon 1e-8; batch statistics
  always (also when sampling, `_gen`); `training=False` uses moving averages
  with momentum 0.1 (our choice, the reference keeps none). The 5x5 stride-2
  layers use TensorFlow 'SAME' alignment, which differs from Theano's pad-2
  alignment by a 180-degree rotation of the image (see paper_gans.networks.
  dcgan's docstring); with constant label maps the same exact equivalence
  holds. Images in [0, 1] (`transform`: X / 255). Latent distribution:
  z ~ U(-1, 1)^100. Training (same file): Adam 2e-4 beta1 0.5, L2 2.5e-5,
  batch 128, G and D on alternate minibatches, 100 epochs then 100 with the
  learning rate decayed linearly to zero.

Verified by reading, with the search tool: znxlwm/tensorflow-MNIST-cGAN-cDCGAN
`tensorflow_MNIST_cDCGAN.py` (commit 57dc99c); Newmu/dcgan_code
`mnist/train_cond_dcgan.py` (commit c7e43bd) and, for `lib/ops.py`
(`batchnorm`, `conv_cond_concat`, `deconv`), the forks lopsided/dcgan_code
and VittalP/dcgan_code (Newmu's own `lib/ops.py` is not in the index).
"""

from __future__ import annotations

import tensorflow as tf

from paper_gans import layers

MNIST_IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10

# Twin: tf.truncated_normal_initializer(mean=0.0, stddev=0.02).
SEED_KERNEL_STDDEV = 0.02
# Twin: tf.layers.batch_normalization defaults epsilon=1e-3, momentum=0.99
# (TF's decay of the old value; layers.BatchNorm takes the new batch's weight).
SEED_BN_EPSILON = 1e-3
SEED_BN_MOMENTUM = 1.0 - 0.99
# Twin: lrelu(X, leak=0.2) = 0.6 X + 0.4 |X| in both networks.
LEAKY_SLOPE = 0.2

# Newmu: gifn = difn = inits.Normal(scale=0.02).
NEWMU_WEIGHT_STDDEV = 0.02
# Newmu: lib/ops.py batchnorm(..., e=1e-8).
NEWMU_BN_EPSILON = 1e-8
# Moving-average weight for training=False; not in the reference.
NEWMU_BN_MOMENTUM = 0.1


def _truncated_normal_initializer(stddev: float) -> layers.Initializer:
  """TF1's truncated_normal_initializer: N(0, stddev^2), redrawn beyond 2 stddev."""

  def init(shape, seed, dtype=tf.float32):
    return tf.random.stateless_truncated_normal(shape, seed=seed,
                                                stddev=stddev, dtype=dtype)

  return init


def _one_hot(labels, num_classes: int, owner: str,
             dtype: tf.DType) -> tf.Tensor:
  """int labels [B] -> one-hot [B, num_classes] in `dtype`, range-checked."""
  if labels is None:
    raise ValueError(f'{owner} is conditional; labels (int32 [B]) are required.')
  labels = tf.convert_to_tensor(labels)
  tf.debugging.assert_non_negative(labels, message=f'{owner}: labels < 0')
  tf.debugging.assert_less(labels, tf.cast(num_classes, labels.dtype),
                           message=f'{owner}: labels >= num_classes')
  return tf.one_hot(labels, num_classes, dtype=dtype)


def _concat_label_maps(h: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
  """Appends y [B, K] as K constant maps: [B, H, W, C] -> [B, H, W, C + K]."""
  maps = y[:, tf.newaxis, tf.newaxis, :] * tf.ones_like(h[..., :1])
  return tf.concat([h, maps], axis=-1)


class SeedCDCGANGenerator(tf.Module):
  """(z [B, 100], labels [B]) -> image [B, 28, 28, 1] in [-1, 1].

  Attributes:
    latent_dim: size of z.
    num_classes: number of classes (10).
    output_shape: (28, 28, 1).
  """

  def __init__(self, latent_dim: int = 100, num_classes: int = NUM_CLASSES,
               seed: int = 0, name: str = 'generator',
               dtype: tf.DType = tf.float32):
    """Creates every variable.

    Args:
      latent_dim: size of z; the twin's z placeholder is (None, 1, 1, 100).
      num_classes: number of classes; 10 (MNIST).
      seed: integer seed of all initial weights.
      name: module name (prefix of the variable names).
    """
    super().__init__(name=name)
    self.latent_dim = latent_dim
    self.num_classes = num_classes
    self.output_shape = MNIST_IMAGE_SHAPE
    seeds = layers.SeedSequence(seed)
    w_init = _truncated_normal_initializer(SEED_KERNEL_STDDEV)
    with self.name_scope:
      # The twin's deconv1, deconv2, deconv3 and their batch norms.
      self.deconv1 = layers.ConvTranspose2D(latent_dim + num_classes, 256, 7,
                                            1, 'VALID', seeds(), w_init,
                                            name='deconv1', dtype=dtype)
      self.bn1 = layers.BatchNorm(256, SEED_BN_EPSILON, SEED_BN_MOMENTUM,
                                  name='bn1', dtype=dtype)
      self.deconv2 = layers.ConvTranspose2D(256, 128, 5, 2, 'SAME', seeds(),
                                            w_init, name='deconv2', dtype=dtype)
      self.bn2 = layers.BatchNorm(128, SEED_BN_EPSILON, SEED_BN_MOMENTUM,
                                  name='bn2', dtype=dtype)
      self.deconv3 = layers.ConvTranspose2D(128, 1, 5, 2, 'SAME', seeds(),
                                            w_init, name='deconv3', dtype=dtype)

  def __call__(self, z: tf.Tensor, labels=None,
               training: bool = True) -> tf.Tensor:
    """Maps z [B, latent_dim] and labels [B] to images [B, 28, 28, 1].

    Args:
      z: latent codes [B, latent_dim].
      labels: int32 class indices [B].
      training: True normalises with batch statistics and updates the moving
        averages (the twin's isTrain=True); False uses the moving averages.
    """
    y = _one_hot(labels, self.num_classes, 'SeedCDCGANGenerator',
                 z.dtype)  # [B, 10]
    h = tf.concat([z, y], axis=1)[:, tf.newaxis, tf.newaxis, :]  # [B,1,1,110]
    h = layers.leaky_relu(self.bn1(self.deconv1(h), training), LEAKY_SLOPE)
    h = layers.leaky_relu(self.bn2(self.deconv2(h), training), LEAKY_SLOPE)
    return tf.tanh(self.deconv3(h))  # [B, 28, 28, 1]


class SeedCDCGANDiscriminator(tf.Module):
  """(x [B, 28, 28, 1], labels [B]) -> logit [B].

  Attributes:
    num_classes: number of classes (10).
  """

  def __init__(self, num_classes: int = NUM_CLASSES, seed: int = 0,
               name: str = 'discriminator',
               dtype: tf.DType = tf.float32):
    """Creates every variable.

    Args:
      num_classes: number of classes; 10 (MNIST).
      seed: integer seed of all initial weights.
      name: module name (prefix of the variable names).
    """
    super().__init__(name=name)
    self.num_classes = num_classes
    seeds = layers.SeedSequence(seed)
    w_init = _truncated_normal_initializer(SEED_KERNEL_STDDEV)
    channels = MNIST_IMAGE_SHAPE[-1]
    with self.name_scope:
      # The twin's conv1, conv2 (with batch norm) and conv3.
      self.conv1 = layers.Conv2D(channels + num_classes, 128, 5, 2, 'SAME',
                                 seeds(), w_init, name='conv1', dtype=dtype)
      self.conv2 = layers.Conv2D(128, 256, 5, 2, 'SAME', seeds(), w_init,
                                 name='conv2', dtype=dtype)
      self.bn2 = layers.BatchNorm(256, SEED_BN_EPSILON, SEED_BN_MOMENTUM,
                                  name='bn2', dtype=dtype)
      self.conv3 = layers.Conv2D(256, 1, 7, 1, 'VALID', seeds(), w_init,
                                 name='conv3', dtype=dtype)

  def __call__(self, x: tf.Tensor, labels=None, training: bool = True,
               seed=None) -> tf.Tensor:
    """Returns the logits [B]; the twin's D(x, y) is sigmoid(logit).

    Args:
      x: images [B, 28, 28, 1] in [-1, 1].
      labels: int32 class indices [B].
      training: True normalises with batch statistics and updates the moving
        averages; False uses the moving averages.
      seed: ignored (no dropout).
    """
    del seed
    y = _one_hot(labels, self.num_classes, 'SeedCDCGANDiscriminator',
                 x.dtype)
    h = _concat_label_maps(x, y)  # [B, 28, 28, 11]
    h = layers.leaky_relu(self.conv1(h), LEAKY_SLOPE)  # [B, 14, 14, 128]
    h = layers.leaky_relu(self.bn2(self.conv2(h), training), LEAKY_SLOPE)
    logits = self.conv3(h)  # [B, 1, 1, 1]
    return tf.reshape(logits, [-1])


class NewmuCondGenerator(tf.Module):
  """(z [B, 100], labels [B]) -> image [B, 28, 28, 1] in [0, 1].

  Attributes:
    latent_dim: size of z.
    num_classes: number of classes (10).
    output_shape: (28, 28, 1).
  """

  def __init__(self, latent_dim: int = 100, num_classes: int = NUM_CLASSES,
               ngf: int = 64, ngfc: int = 1024, seed: int = 0,
               name: str = 'generator',
               dtype: tf.DType = tf.float32):
    """Creates every variable.

    Args:
      latent_dim: size of z; `nz = 100` in train_cond_dcgan.py.
      num_classes: number of classes; `ny = 10`.
      ngf: channels of the 14x14 layer (the 7x7 layer has 2 ngf); `ngf = 64`.
      ngfc: units of the first dense layer; `ngfc = 1024`.
      seed: integer seed of all initial weights.
      name: module name (prefix of the variable names).
    """
    super().__init__(name=name)
    self.latent_dim = latent_dim
    self.num_classes = num_classes
    self.output_shape = MNIST_IMAGE_SHAPE
    self._channels_7x7 = 2 * ngf
    seeds = layers.SeedSequence(seed)
    w_init = layers.normal_initializer(NEWMU_WEIGHT_STDDEV)

    def make_bn(units, bn_name):
      return layers.BatchNorm(units, NEWMU_BN_EPSILON, NEWMU_BN_MOMENTUM,
                              name=bn_name, affine=False, dtype=dtype)

    with self.name_scope:
      # gw (nz+ny, ngfc), gw2 (ngfc+ny, ngf*2*7*7), gw3 (ngf*2+ny, ngf, 5, 5),
      # gwx (ngf+ny, nc, 5, 5).
      self.fc1 = layers.Dense(latent_dim + num_classes, ngfc, seeds(), w_init,
                              use_bias=False, name='fc1', dtype=dtype)
      self.fc1_bn = make_bn(ngfc, 'fc1_bn')
      self.fc2 = layers.Dense(ngfc + num_classes, self._channels_7x7 * 7 * 7,
                              seeds(), w_init, use_bias=False, name='fc2', dtype=dtype)
      self.fc2_bn = make_bn(self._channels_7x7 * 7 * 7, 'fc2_bn')
      self.deconv1 = layers.ConvTranspose2D(
          self._channels_7x7 + num_classes, ngf, 5, 2, 'SAME', seeds(), w_init,
          use_bias=False, name='deconv1', dtype=dtype)
      self.deconv1_bn = make_bn(ngf, 'deconv1_bn')
      self.deconv2 = layers.ConvTranspose2D(
          ngf + num_classes, MNIST_IMAGE_SHAPE[-1], 5, 2, 'SAME', seeds(),
          w_init, use_bias=False, name='deconv2', dtype=dtype)

  def __call__(self, z: tf.Tensor, labels=None,
               training: bool = True) -> tf.Tensor:
    """Maps z [B, latent_dim] and labels [B] to images [B, 28, 28, 1].

    Args:
      z: latent codes [B, latent_dim].
      labels: int32 class indices [B].
      training: True normalises with batch statistics (the reference always
        does) and updates the moving averages; False uses the moving averages.
    """
    y = _one_hot(labels, self.num_classes, 'NewmuCondGenerator',
                 z.dtype)  # [B, 10]
    h = tf.concat([z, y], axis=1)  # [B, 110]
    h = tf.nn.relu(self.fc1_bn(self.fc1(h), training))  # [B, 1024]
    h = tf.concat([h, y], axis=1)  # [B, 1034]
    h = tf.nn.relu(self.fc2_bn(self.fc2(h), training))  # [B, 6272], per unit
    h = tf.reshape(h, [-1, self._channels_7x7, 7, 7])  # Theano's (C, H, W)
    h = tf.transpose(h, [0, 2, 3, 1])  # [B, 7, 7, 128]
    h = _concat_label_maps(h, y)  # [B, 7, 7, 138]
    h = tf.nn.relu(self.deconv1_bn(self.deconv1(h), training))  # [B,14,14,64]
    h = _concat_label_maps(h, y)  # [B, 14, 14, 74]
    return tf.sigmoid(self.deconv2(h))  # [B, 28, 28, 1]


class NewmuCondDiscriminator(tf.Module):
  """(x [B, 28, 28, 1], labels [B]) -> logit [B].

  Attributes:
    num_classes: number of classes (10).
  """

  def __init__(self, num_classes: int = NUM_CLASSES, ndf: int = 64,
               ndfc: int = 1024, seed: int = 0, name: str = 'discriminator',
               dtype: tf.DType = tf.float32):
    """Creates every variable.

    Args:
      num_classes: number of classes; `ny = 10`.
      ndf: channels of the first conv layer (the second has 2 ndf);
        `ndf = 64`.
      ndfc: units of the dense hidden layer; `ndfc = 1024`.
      seed: integer seed of all initial weights.
      name: module name (prefix of the variable names).
    """
    super().__init__(name=name)
    self.num_classes = num_classes
    seeds = layers.SeedSequence(seed)
    w_init = layers.normal_initializer(NEWMU_WEIGHT_STDDEV)
    channels = MNIST_IMAGE_SHAPE[-1]
    with self.name_scope:
      # dw (ndf, nc+ny, 5, 5), dw2 (ndf*2, ndf+ny, 5, 5),
      # dw3 (ndf*2*7*7+ny, ndfc), dwy (ndfc+ny, 1).
      self.conv1 = layers.Conv2D(channels + num_classes, ndf, 5, 2, 'SAME',
                                 seeds(), w_init, use_bias=False, name='conv1', dtype=dtype)
      self.conv2 = layers.Conv2D(ndf + num_classes, 2 * ndf, 5, 2, 'SAME',
                                 seeds(), w_init, use_bias=False, name='conv2', dtype=dtype)
      self.conv2_bn = layers.BatchNorm(2 * ndf, NEWMU_BN_EPSILON,
                                       NEWMU_BN_MOMENTUM, name='conv2_bn',
                                       affine=False, dtype=dtype)
      self.fc3 = layers.Dense(2 * ndf * 7 * 7 + num_classes, ndfc, seeds(),
                              w_init, use_bias=False, name='fc3', dtype=dtype)
      self.fc3_bn = layers.BatchNorm(ndfc, NEWMU_BN_EPSILON, NEWMU_BN_MOMENTUM,
                                     name='fc3_bn', affine=False, dtype=dtype)
      self.logit = layers.Dense(ndfc + num_classes, 1, seeds(), w_init,
                                use_bias=False, name='logit', dtype=dtype)

  def __call__(self, x: tf.Tensor, labels=None, training: bool = True,
               seed=None) -> tf.Tensor:
    """Returns the logits [B]; the reference's D(x, y) is sigmoid(logit).

    Args:
      x: images [B, 28, 28, 1] in [0, 1].
      labels: int32 class indices [B].
      training: True normalises with batch statistics and updates the moving
        averages; False uses the moving averages.
      seed: ignored (no dropout).
    """
    del seed
    y = _one_hot(labels, self.num_classes, 'NewmuCondDiscriminator',
                 x.dtype)
    h = _concat_label_maps(x, y)  # [B, 28, 28, 11]
    h = layers.leaky_relu(self.conv1(h), LEAKY_SLOPE)  # [B, 14, 14, 64]
    h = _concat_label_maps(h, y)  # [B, 14, 14, 74]
    h = layers.leaky_relu(self.conv2_bn(self.conv2(h), training),
                          LEAKY_SLOPE)  # [B, 7, 7, 128]
    h = tf.transpose(h, [0, 3, 1, 2])  # Theano's (C, H, W) order for flatten
    h = tf.reshape(h, [tf.shape(h)[0], -1])  # [B, 6272]
    h = tf.concat([h, y], axis=1)  # [B, 6282]
    h = layers.leaky_relu(self.fc3_bn(self.fc3(h), training), LEAKY_SLOPE)
    h = tf.concat([h, y], axis=1)  # [B, 1034]
    return tf.reshape(self.logit(h), [-1])  # [B]
