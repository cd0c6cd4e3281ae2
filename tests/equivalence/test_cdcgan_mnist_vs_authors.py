"""Our conditional DCGAN (seed preset) against the authors' TF1 graph and loop.

Authors' code: znxlwm/tensorflow-MNIST-cGAN-cDCGAN, file
`tensorflow_MNIST_cDCGAN.py` at commit
57dc99cfecdf0de3677b04148026767f3ed04475 (the commit paper_gans/papers/
cdcgan_mnist.py names), the last commit that changed it: the file is the
same at the repository's last commit,
2558e30fcc05ba5002b2d6ff63849f8604e3ace3. Line numbers below are that
file's.

Re-typed here, statement for statement (in this package's 2-space indent):

* `lrelu`: lines 7-11 (0.6 X + 0.4 |X|, not max(X, 0.2 X) as ours).
* `generator`: lines 13-35; `discriminator`: lines 37-59, with their
  `tf.layers` calls and arguments as written: conv2d_transpose / conv2d
  padding, strides, `kernel_initializer=w_init`, `bias_initializer=b_init`
  (none for the last conv, which keeps tf.layers' default: a zero bias), and
  `tf.layers.batch_normalization(..., training=isTrain)` with its defaults
  (momentum 0.99, epsilon 1e-3, gamma and beta); the label vector
  concatenated to z (line 21), the label maps to x (line 45).
* `build_authors_graph`: lines 123-163:
  - 127-128: `global_step` and `lr = tf.train.exponential_decay(0.0002,
    global_step, 500, 0.95, staircase=True)`, one rate tensor for both
    optimizers;
  - 132-137: the placeholders x, z [B, 1, 1, 100], y_label [B, 1, 1, 10],
    y_fill [B, 28, 28, 10], isTrain;
  - 139-144: G_z, then the discriminator on x and (reuse=True) on G_z, both
    with y_fill;
  - 146-150: the sigmoid cross-entropy losses as written (D_loss =
    D_loss_real + D_loss_fake; G_loss on D_fake_logits with ones);
  - 152-155: D_vars and G_vars by scope name;
  - 157-163: `with tf.control_dependencies(tf.get_collection(tf.GraphKeys.
    UPDATE_OPS))` around both `tf.train.AdamOptimizer(lr, beta1=0.5)`, only
    the D optimizer's `minimize` given `global_step`: global_step counts D
    updates, the D update n runs at 0.95^floor(n / 500) and the G update
    after it, which reads the incremented step, at 0.95^floor((n + 1) /
    500), as paper_gans/papers/cdcgan_mnist.py says
    (`test_staircase_decay_...` below checks it at a shorter decay).
* `authors_training_loop`: lines 189-214: per batch, the D update (201-207:
  x_, the real batch's one-hot labels as y_label_ and their maps as y_fill_,
  fresh z_, `sess.run([D_loss, D_optim], ...)` with isTrain True), then the
  G update (209-214: fresh z_, fresh labels, `sess.run([G_loss, G_optim],
  ...)`, which feeds the same x_ too). Session and initialisation: lines
  166-167 (`tf.InteractiveSession()` becomes a `tf.compat.v1.Session`).
* Not re-typed: the fixed noise and the picture and plot helpers (61-121),
  `read_data_sets` and the pixel scaling (130, 169-173), the results folders
  and history (175-187), NumPy's seeding, the epoch loop and the shuffle
  (190-200; replaced by our batches, below), the inference-mode losses of
  the history (216-221: they change no variable), and the printing,
  pictures and pickles after each epoch and at the end (223-249).

What the loop is fed instead of its own data and random numbers
(`tests/equivalence/ours.py` records them from our run):

* x_ (line 202): every real batch our trainer consumed, in order; its
  labels (line 203) one-hot as the file's `one_hot=True` labels are.
* z_ (lines 205 and 210): our D step's and then our G step's N(0, 1) draws,
  [B, 100] reshaped to [B, 1, 1, 100].
* the D step's fake labels: the real batch's, by the file's line 207 (G_z
  and D_fake get the real batch's y_label_ and y_fill_); our preset's
  `fake_labels_in_d_step='real_batch'`. Our D step also draws uniform labels
  and discards them; they are not fed.
* y_ (line 211): the labels OUR G step drew, uniform over all ten classes.
  This is the documented deviation of paper_gans/papers/cdcgan_mnist.py (its
  docstring: the file's `np.random.randint(0, 9, (batch_size, 1))` never
  draws a 9, numpy's upper bound being exclusive; ours draws 0-9 and does
  not offer the bug as an option), so the file's loop gets our labels.
* the weights: our initial weights, loaded into the tf.layers variables
  after `global_variables_initializer` (`VARIABLE_NAMES`). Both sides are
  NHWC with the same kernel layouts (conv2d [k, k, in, out],
  conv2d_transpose [k, k, out, in]), so no transpose is needed.
* batch_size (line 124): `BATCH_SIZE`, not 100 (see there).

Precision: float64 on both sides. TF1's graph needs these changes, each
because a Python float would become a float32 tensor inside TensorFlow:
the placeholders (133-136) and the labels of the three losses (147-150) in
float64; exponential_decay's 0.0002 and 0.95 (line 128) as float64 tensors
(`ExponentialDecay.__call__` converts the rate to a tensor and casts 0.95
through float32); and Adam's beta1 0.5 and its default beta2 0.999 and
epsilon 1e-8 as float64 tensors (TF1's AdamOptimizer converts them to
float32 tensors and keeps beta1_power / beta2_power in float32 variables
made from them, casting all of them to the variables' dtype at each update:
float32(0.999) is 0.99900001287). The three constants are made before the
`control_dependencies` block, since inside it they would depend on the
batch-norm update ops and so would the accumulators' initialisers.

`tf.layers`: TensorFlow 2.21 with Keras 3 raises for `tf.compat.v1.layers.*`
("not available with Keras 3"); with TF_USE_LEGACY_KERAS=1 it resolves them
to tf_keras's legacy layers (the TF1 tensorflow/python/layers code kept in
tf_keras/src/legacy_tf_layers). Setting that variable would change tf.keras
for the whole test process, so that same module is imported directly. At
float64 tf.layers' batch norm is not fused (FusedBatchNorm has no float64
kernel); it normalises as ours does.

Our side: `ours.run`. Its 'graph' mode (no XLA; the draws copied out by
`tf.numpy_function`) costs 0.22 s of CPU time per iteration at batch 2 on
this 2-core CPU against eager mode's 0.67 s, after tracing for about 8 s:
the 100-update run uses it, the short runs eager mode.

Compared: every update's losses, our columns against the file's tensors:
discriminator_loss = D_loss, discriminator_real / discriminator_fake = the
batch means of D_real_logits / D_fake_logits (not in the file; fetched in
the D update's own `sess.run`), generator_loss = G_loss; and the final
trainable weights but the three biases ahead of a batch norm
(`BIASES_BEFORE_BATCH_NORM`).

Not compared, the batch-norm moving statistics (no training loss uses
them: isTrain is True in every update on both sides):
* The discriminator's. Line 159 makes BOTH optimizers depend on all eight
  update ops of the graph, so the file updates D's moving statistics four
  times per iteration: from D_real and D_fake in the D update, and again in
  the G update, from D_real (on x_ with the G update's label maps, since
  line 214 feeds x) and D_fake; the two of one `sess.run` with no order
  between them. Our trainer updates them three times (D step real and fake,
  G step fake). They feed only the file's lines 216-218 (the history
  losses) and nothing of ours.
* The generator's: updated once in each update on both sides, on the same
  inputs. At float64, though, tf.layers' unfused batch norm averages the
  biased batch variance into its moving variance (at float32, the file's
  precision, tf_keras's fused path averages the unbiased one, as ours
  does), and the moving means carry the biases before the batch norm,
  which are rounding noise (`BIASES_BEFORE_BATCH_NORM`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Dict, List, Tuple

import numpy as np
import pytest
import tensorflow as tf
# tf.compat.v1.layers as TensorFlow 2.21 resolves it with legacy Keras (see
# the module docstring).
from tf_keras.api._v1.keras.__internal__.legacy import layers as tf_layers

import ours
from paper_gans import reference
from paper_gans.papers import cdcgan_mnist

v1 = tf.compat.v1


# --------------------------------------------------------------------------
# tensorflow_MNIST_cDCGAN.py, re-typed.
# --------------------------------------------------------------------------

# leaky_relu
def lrelu(X, leak=0.2):  # pylint: disable=invalid-name
  """Lines 7-11."""
  f1 = 0.5 * (1 + leak)
  f2 = 0.5 * (1 - leak)
  return f1 * X + f2 * tf.abs(X)


# G(z)
def generator(x, y_label, isTrain=True, reuse=False):  # pylint: disable=invalid-name
  """Lines 13-35."""
  with v1.variable_scope('generator', reuse=reuse):
    # initializer
    w_init = v1.truncated_normal_initializer(mean=0.0, stddev=0.02)
    b_init = v1.constant_initializer(0.0)

    # concat layer
    cat1 = tf.concat([x, y_label], 3)

    # 1st hidden layer
    deconv1 = tf_layers.conv2d_transpose(cat1, 256, [7, 7], strides=(1, 1), padding='valid', kernel_initializer=w_init, bias_initializer=b_init)  # pylint: disable=line-too-long
    lrelu1 = lrelu(tf_layers.batch_normalization(deconv1, training=isTrain), 0.2)

    # 2nd hidden layer
    deconv2 = tf_layers.conv2d_transpose(lrelu1, 128, [5, 5], strides=(2, 2), padding='same', kernel_initializer=w_init, bias_initializer=b_init)  # pylint: disable=line-too-long
    lrelu2 = lrelu(tf_layers.batch_normalization(deconv2, training=isTrain), 0.2)

    # output layer
    deconv3 = tf_layers.conv2d_transpose(lrelu2, 1, [5, 5], strides=(2, 2), padding='same', kernel_initializer=w_init, bias_initializer=b_init)  # pylint: disable=line-too-long
    o = tf.nn.tanh(deconv3)

    return o


# D(x)
def discriminator(x, y_fill, isTrain=True, reuse=False):  # pylint: disable=invalid-name
  """Lines 37-59."""
  with v1.variable_scope('discriminator', reuse=reuse):
    # initializer
    w_init = v1.truncated_normal_initializer(mean=0.0, stddev=0.02)
    b_init = v1.constant_initializer(0.0)

    # concat layer
    cat1 = tf.concat([x, y_fill], 3)

    # 1st hidden layer
    conv1 = tf_layers.conv2d(cat1, 128, [5, 5], strides=(2, 2), padding='same', kernel_initializer=w_init, bias_initializer=b_init)  # pylint: disable=line-too-long
    lrelu1 = lrelu(conv1, 0.2)

    # 2nd hidden layer
    conv2 = tf_layers.conv2d(lrelu1, 256, [5, 5], strides=(2, 2), padding='same', kernel_initializer=w_init, bias_initializer=b_init)  # pylint: disable=line-too-long
    lrelu2 = lrelu(tf_layers.batch_normalization(conv2, training=isTrain), 0.2)

    # output layer
    conv3 = tf_layers.conv2d(lrelu2, 1, [7, 7], strides=(1, 1), padding='valid', kernel_initializer=w_init)  # pylint: disable=line-too-long
    o = tf.nn.sigmoid(conv3)

    return o, conv3


@dataclasses.dataclass
class AuthorsGraph:
  """The tensors and ops of lines 123-163 that the training loop uses."""
  graph: tf.Graph
  x: tf.Tensor
  z: tf.Tensor
  y_label: tf.Tensor
  y_fill: tf.Tensor
  isTrain: tf.Tensor  # pylint: disable=invalid-name
  D_loss: tf.Tensor  # pylint: disable=invalid-name
  G_loss: tf.Tensor  # pylint: disable=invalid-name
  D_optim: tf.Operation  # pylint: disable=invalid-name
  G_optim: tf.Operation  # pylint: disable=invalid-name
  lr: tf.Tensor
  global_step: tf.Variable
  # Not in the file: the batch means of the logits (our trainer's
  # 'discriminator_real' and 'discriminator_fake'), and the networks'
  # variables (made before the optimizers' slots).
  D_real_logits_mean: tf.Tensor  # pylint: disable=invalid-name
  D_fake_logits_mean: tf.Tensor  # pylint: disable=invalid-name
  model_variables: List[tf.Variable]


@functools.lru_cache(maxsize=None)
def build_authors_graph(batch_size: int, dtype: tf.DType,
                        decay_steps: int = 500) -> AuthorsGraph:
  """Lines 123-163 (but the MNIST loading of line 130), in `dtype`.

  Args:
    batch_size: line 124's batch_size (the losses' label shapes).
    dtype: tf.float64 here (tf.float32 is the file's).
    decay_steps: line 128's 500, or a shorter decay for the schedule test.
  """
  graph = tf.Graph()
  with graph.as_default():
    img_size = 28  # line 62
    # training parameters
    # batch_size = 100  (line 124: the argument)
    # lr = 0.0002
    # train_epoch = 30  (line 126: the loop runs over our batches)
    global_step = tf.Variable(0, trainable=False)
    lr = v1.train.exponential_decay(tf.constant(0.0002, dtype), global_step, decay_steps, tf.constant(0.95, dtype), staircase=True)  # pylint: disable=line-too-long

    # variables : input
    x = v1.placeholder(dtype, shape=(None, img_size, img_size, 1))
    z = v1.placeholder(dtype, shape=(None, 1, 1, 100))
    y_label = v1.placeholder(dtype, shape=(None, 1, 1, 10))
    y_fill = v1.placeholder(dtype, shape=(None, img_size, img_size, 10))
    isTrain = v1.placeholder(dtype=tf.bool)  # pylint: disable=invalid-name

    # networks : generator
    G_z = generator(z, y_label, isTrain)  # pylint: disable=invalid-name

    # networks : discriminator
    D_real, D_real_logits = discriminator(x, y_fill, isTrain)  # pylint: disable=invalid-name,unused-variable
    D_fake, D_fake_logits = discriminator(G_z, y_fill, isTrain, reuse=True)  # pylint: disable=invalid-name,unused-variable
    model_variables = v1.global_variables()[1:]  # All but global_step.

    # loss for each network
    D_loss_real = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(logits=D_real_logits, labels=tf.ones([batch_size, 1, 1, 1], dtype)))  # pylint: disable=invalid-name,line-too-long
    D_loss_fake = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(logits=D_fake_logits, labels=tf.zeros([batch_size, 1, 1, 1], dtype)))  # pylint: disable=invalid-name,line-too-long
    D_loss = D_loss_real + D_loss_fake  # pylint: disable=invalid-name
    G_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(logits=D_fake_logits, labels=tf.ones([batch_size, 1, 1, 1], dtype)))  # pylint: disable=invalid-name,line-too-long

    # trainable variables for each network
    T_vars = v1.trainable_variables()  # pylint: disable=invalid-name
    D_vars = [var for var in T_vars if var.name.startswith('discriminator')]  # pylint: disable=invalid-name
    G_vars = [var for var in T_vars if var.name.startswith('generator')]  # pylint: disable=invalid-name

    # optimizer for each network
    # (float64 tensors for 0.5 and the defaults 0.999 and 1e-8; made outside
    # the block: see the module docstring.)
    beta1, beta2, epsilon = (tf.constant(0.5, dtype),
                             tf.constant(0.999, dtype),
                             tf.constant(1e-8, dtype))
    # Eight update ops: two per batch norm call, G's two and D's on D_real
    # and on D_fake.
    assert len(v1.get_collection(v1.GraphKeys.UPDATE_OPS)) == 8
    with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
      optim = v1.train.AdamOptimizer(lr, beta1=beta1, beta2=beta2, epsilon=epsilon)  # pylint: disable=line-too-long
      D_optim = optim.minimize(D_loss, global_step=global_step, var_list=D_vars)  # pylint: disable=invalid-name
      # D_optim = tf.train.AdamOptimizer(lr, beta1=0.5).minimize(D_loss, var_list=D_vars)
      G_optim = v1.train.AdamOptimizer(lr, beta1=beta1, beta2=beta2, epsilon=epsilon).minimize(G_loss, var_list=G_vars)  # pylint: disable=invalid-name,line-too-long

    # Weight and bias of every layer, gamma and beta of every batch norm.
    assert len(D_vars) == 8 and len(G_vars) == 10, (D_vars, G_vars)
    return AuthorsGraph(
        graph=graph, x=x, z=z, y_label=y_label, y_fill=y_fill,
        isTrain=isTrain, D_loss=D_loss, G_loss=G_loss, D_optim=D_optim,
        G_optim=G_optim, lr=lr, global_step=global_step,
        D_real_logits_mean=tf.reduce_mean(D_real_logits),
        D_fake_logits_mean=tf.reduce_mean(D_fake_logits),
        model_variables=model_variables)


@dataclasses.dataclass
class Batch:
  """What one iteration of the file's loop is fed (lines 202-213)."""
  x_: np.ndarray  # The real images [B, 28, 28, 1].
  labels: np.ndarray  # Their labels [B] (one-hot in the file).
  d_z: np.ndarray  # Line 205's noise [B, 1, 1, 100].
  g_z: np.ndarray  # Line 210's noise [B, 1, 1, 100].
  g_labels: np.ndarray  # Line 211's labels [B, 1] (module docstring).


def authors_training_loop(g: AuthorsGraph, sess, batches: List[Batch],
                          batch_size: int):
  """Lines 189-214 on our batches, noise and G labels.

  Returns:
    (rows, learning_rates): one dict per update, in order, a D update's
    D_loss and mean logits then a G update's G_loss (under our column
    names); and the rate each update ran at.
  """
  img_size = 28  # line 62
  onehot = np.eye(10, dtype=g.x.dtype.as_numpy_dtype)  # line 63
  rows, learning_rates = [], []
  # for epoch in range(train_epoch): ... for iter in range(...):
  # (lines 193-200: the epochs' shuffled batches are ours, in our order)
  for batch in batches:
    # update discriminator
    x_ = batch.x_
    y_label_ = onehot[batch.labels].reshape([batch_size, 1, 1, 10])
    y_fill_ = y_label_ * np.ones([batch_size, img_size, img_size, 10])
    z_ = batch.d_z  # np.random.normal(0, 1, (batch_size, 1, 1, 100))

    loss_d_, _, real_mean, fake_mean, lr_d = sess.run(
        [g.D_loss, g.D_optim, g.D_real_logits_mean, g.D_fake_logits_mean,
         g.lr],
        {g.x: x_, g.z: z_, g.y_fill: y_fill_, g.y_label: y_label_,
         g.isTrain: True})

    # update generator
    z_ = batch.g_z  # np.random.normal(0, 1, (batch_size, 1, 1, 100))
    y_ = batch.g_labels  # np.random.randint(0, 9, (batch_size, 1))
    y_label_ = onehot[y_.astype(np.int32)].reshape([batch_size, 1, 1, 10])
    y_fill_ = y_label_ * np.ones([batch_size, img_size, img_size, 10])
    loss_g_, _, lr_g = sess.run(
        [g.G_loss, g.G_optim, g.lr],
        {g.z: z_, g.x: x_, g.y_fill: y_fill_, g.y_label: y_label_,
         g.isTrain: True})

    rows.append({'discriminator_loss': loss_d_,
                 'discriminator_real': real_mean,
                 'discriminator_fake': fake_mean})
    rows.append({'generator_loss': loss_g_})
    learning_rates += [lr_d, lr_g]
  return rows, learning_rates


# The tf.layers variables (numbered in call order within each variable
# scope; the discriminator's second call reuses the first's) and ours that
# they are loaded from.
_LAYERS = (('generator/conv2d_transpose', 'generator/deconv1', 'wb'),
           ('generator/batch_normalization', 'generator/bn1', 'bn'),
           ('generator/conv2d_transpose_1', 'generator/deconv2', 'wb'),
           ('generator/batch_normalization_1', 'generator/bn2', 'bn'),
           ('generator/conv2d_transpose_2', 'generator/deconv3', 'wb'),
           ('discriminator/conv2d', 'discriminator/conv1', 'wb'),
           ('discriminator/conv2d_1', 'discriminator/conv2', 'wb'),
           ('discriminator/batch_normalization', 'discriminator/bn2', 'bn'),
           ('discriminator/conv2d_2', 'discriminator/conv3', 'wb'))
_SUFFIXES = {'wb': (('kernel', 'w'), ('bias', 'b')),
             'bn': (('gamma', 'gamma'), ('beta', 'beta'),
                    ('moving_mean', 'moving_mean'),
                    ('moving_variance', 'moving_variance'))}
VARIABLE_NAMES = {f'{theirs}/{a}:0': f'{mine}/{b}:0'
                  for theirs, mine, kind in _LAYERS
                  for a, b in _SUFFIXES[kind]}


def load_our_weights(g: AuthorsGraph, sess, values: Dict[str, np.ndarray]):
  """Overwrites every tf.layers variable with our initial value."""
  assert sorted(v.name for v in g.model_variables) == sorted(VARIABLE_NAMES)
  assert sorted(values) == sorted(VARIABLE_NAMES.values())
  for variable in g.model_variables:
    value = values[VARIABLE_NAMES[variable.name]]
    assert tuple(variable.shape) == value.shape, (variable.name, value.shape)
    assert variable.dtype.base_dtype == value.dtype, variable.name
    variable.load(value, sess)


def authors_state(g: AuthorsGraph, sess) -> Dict[str, np.ndarray]:
  """The tf.layers variables' values, by OUR variable names."""
  return {VARIABLE_NAMES[v.name]: value for v, value in
          zip(g.model_variables, sess.run(g.model_variables))}


# --------------------------------------------------------------------------
# Our run, and feeding it to the file's loop.
# --------------------------------------------------------------------------

def ci_config(**changes) -> cdcgan_mnist.CDCGANMnistConfig:
  """The 'ci' preset (seed networks) in float64, with `changes`."""
  return dataclasses.replace(reference.preset_config(cdcgan_mnist, 'ci'),
                             dtype='float64', **changes)


def run_ours(config, updates: int, compile_mode: str) -> ours.OurRun:
  """`ours.run` on a trainer in `compile_mode` (module docstring)."""
  return ours.run(cdcgan_mnist, config, updates, compile_mode=compile_mode)


def authors_batches(run: ours.OurRun, batch_size: int) -> List[Batch]:
  """Our batches and draws, as the file's loop takes them."""
  batches = []
  for iteration in run.iterations:
    # One D step on one real batch, then the G step; each step draws its
    # noise, then its labels.
    assert len(iteration.images) == 1
    ops = [d.op for d in iteration.draws]
    assert ops == ['stateless_normal', 'stateless_uniform'] * 2, ops
    d_z, _, g_z, g_labels = [d.value for d in iteration.draws]
    for noise in (d_z, g_z):
      assert noise.shape == (batch_size, 100) and noise.dtype == np.float64
    assert g_labels.shape == (batch_size,) and g_labels.dtype == np.int32
    batches.append(Batch(
        x_=iteration.images[0], labels=iteration.labels[0],
        d_z=d_z.reshape(batch_size, 1, 1, 100),
        g_z=g_z.reshape(batch_size, 1, 1, 100),
        g_labels=g_labels.reshape(batch_size, 1)))
  return batches


def run_authors(run: ours.OurRun, config, decay_steps: int = 500):
  """The file's graph and loop from our weights, on our batches and draws.

  Returns:
    (rows, learning rates, final variables by our names): see
    `authors_training_loop`.
  """
  g = build_authors_graph(config.batch_size, tf.as_dtype(config.dtype),
                          decay_steps)
  with g.graph.as_default(), v1.Session() as sess:
    sess.run(v1.global_variables_initializer())
    load_our_weights(g, sess, {**run.initial_generator,
                               **run.initial_discriminator})
    rows, learning_rates = authors_training_loop(
        g, sess, authors_batches(run, config.batch_size), config.batch_size)
    # Only the D optimizer counts.
    assert sess.run(g.global_step) == len(run.iterations)
    return rows, learning_rates, authors_state(g, sess)


LOSS_COLUMNS = ('discriminator_loss', 'discriminator_real',
                'discriminator_fake', 'generator_loss')


def loss_differences(run: ours.OurRun, rows) -> Tuple[float, list]:
  """(worst relative difference, [(update, column, ours, theirs)] beyond
  RTOL, in update order) over every loss of every update."""
  assert len(rows) == len(run.trajectory)
  worst, failures = 0.0, []
  for mine, theirs in zip(run.trajectory, rows):
    if mine['player'] == 'discriminator':
      assert mine['gradient_penalty'] == 0.0
    columns = [c for c in LOSS_COLUMNS if c in mine]
    assert sorted(columns) == sorted(theirs), (mine['update'], theirs)
    for column in columns:
      relative, _ = ours.worst_relative_difference([mine[column]],
                                                   [theirs[column]])
      worst = max(worst, relative)
      if relative > RTOL:
        failures.append((mine['update'], column, mine[column],
                         theirs[column]))
  return worst, failures


# Biases followed by a batch norm: their gradient is zero in exact
# arithmetic (the normalisation subtracts them again), so both sides compute
# rounding noise for it, which Adam divides by its own root mean square
# into steps of about the learning rate. Their values are noise on both
# sides, and they cancel out of every loss.
BIASES_BEFORE_BATCH_NORM = ('generator/deconv1/b:0', 'generator/deconv2/b:0',
                            'discriminator/conv2/b:0')


def weight_difference(run: ours.OurRun, state) -> Tuple[float, str]:
  """Worst difference of the final trainable weights, relative to each
  variable's largest magnitude, and where (pre-batch-norm biases left out)."""
  worst, where = 0.0, ''
  for module in (run.trainer.generator, run.trainer.discriminator):
    for variable in module.trainable_variables:
      if variable.name in BIASES_BEFORE_BATCH_NORM:
        continue
      mine = variable.numpy().ravel()
      relative, _ = ours.worst_relative_difference(
          mine, state[variable.name].ravel(), floor=np.max(np.abs(mine)))
      if relative > worst:
        worst, where = relative, variable.name
  return worst, where


# --------------------------------------------------------------------------
# The tests.
# --------------------------------------------------------------------------

# tf_keras's legacy layers warn that tf.layers is deprecated.
pytestmark = pytest.mark.filterwarnings('ignore:`tf.layers.:UserWarning')

# Float64 on both sides; the worst differences measured are at each
# assertion (2-core CPU, TF 2.21).
RTOL = 1e-9
# Batch 2, not the ci preset's 16 (the file's is 100). The seed networks
# have fixed widths (5x5 convolutions of 128 and 256 channels at 7x7 and
# 14x14), and TensorFlow's float64 convolutions on this CPU cost, per
# iteration of one D and one G update and per side, 1.3 s of CPU time at
# batch 16, 0.4 s at 4 and 0.2 s at 2: 200 updates at 16 would take the
# file past four minutes. Measured at batch 16 over 6 updates: worst loss
# difference 3.9e-15; at batch 4 over 200 updates: 1.1e-13.
BATCH_SIZE = 2
# 50 iterations of one D and one G update (the staircase rate is constant
# over them: it first decays at global_step 500).
UPDATES = 100
# Six iterations with the rate decayed every 2 D updates: the G update of
# every odd iteration n already runs at the rate of D update n + 1.
DECAY_STEPS, DECAY_UPDATES = 2, 12
BROKEN_UPDATES = 2


def test_every_loss_of_100_updates_matches_the_files_loop():
  config = ci_config(batch_size=BATCH_SIZE)
  run = run_ours(config, UPDATES, 'graph')
  assert len(run.trajectory) == UPDATES
  rows, learning_rates, state = run_authors(run, config)
  assert learning_rates == [2e-4] * UPDATES
  worst, failures = loss_differences(run, rows)
  assert not failures, failures[:5]
  assert worst <= RTOL  # Measured: 2.9e-13.
  worst_weight, where = weight_difference(run, state)
  assert worst_weight <= RTOL, where  # Measured: 5.9e-13.


def test_staircase_decay_matches_the_file_where_only_d_steps_count():
  # Line 128's exponential_decay with decay_steps 2 instead of 500, and
  # our --lr_decay_steps=2.
  config = ci_config(batch_size=BATCH_SIZE, lr_decay_steps=DECAY_STEPS)
  run = run_ours(config, DECAY_UPDATES, 'eager')
  rows, learning_rates, state = run_authors(run, config,
                                            decay_steps=DECAY_STEPS)
  # The file's rates: D update n at 0.95^floor(n / 2), the G update after
  # it at 0.95^floor((n + 1) / 2).
  expected = [2e-4 * 0.95 ** ((n + player) // DECAY_STEPS)
              for n in range(DECAY_UPDATES // 2) for player in (0, 1)]
  np.testing.assert_allclose(learning_rates, expected, rtol=1e-15)
  worst, failures = loss_differences(run, rows)
  assert not failures, failures[:5]
  assert worst <= RTOL  # Measured: 5.9e-14.
  worst_weight, where = weight_difference(run, state)
  assert worst_weight <= RTOL, where  # Measured: 7.7e-13.


def test_uniform_fake_labels_in_the_d_step_fail_the_comparison():
  # Our D step makes and judges its fakes for uniformly drawn labels; the
  # file (line 207) uses the real batch's.
  config = ci_config(batch_size=BATCH_SIZE, fake_labels_in_d_step='uniform')
  run = run_ours(config, BROKEN_UPDATES, 'eager')
  rows, _, _ = run_authors(run, config)
  _, failures = loss_differences(run, rows)
  # Update 0, the first D update: its loss and its mean fake logit differ;
  # its mean real logit does not depend on the fakes and still agrees.
  assert [f[:2] for f in failures if f[0] == 0] == [
      (0, 'discriminator_loss'), (0, 'discriminator_fake')], failures
