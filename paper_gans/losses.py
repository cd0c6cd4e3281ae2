"""GAN losses as pure functions of the discriminator's (critic's) outputs.

Every loss is a quantity to MINIMISE, averaged over the batch (the mean over
all elements of the score tensor, so [B] and [B, 1] shapes give the same
number). There are no other reductions, no label smoothing and no weights:
where a reference implementation scales a loss (e.g. by 1/2), the caller
applies that scale and says so.

Cross-entropy losses take logits (the discriminator's pre-sigmoid output) and
use softplus, so they stay finite for logits of any size:
    -log sigmoid(x) = softplus(-x),   -log(1 - sigmoid(x)) = softplus(x).
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

from paper_gans.errors import ConfigError


# --------------------------------------------------------------------------
# Minimax / non-saturating cross-entropy losses (Goodfellow et al. 2014).
# --------------------------------------------------------------------------

def minimax_discriminator_loss(real_logits: tf.Tensor,
                               fake_logits: tf.Tensor) -> tf.Tensor:
  """-E[log D(x)] - E[log(1 - D(G(z)))] = mean softplus(-real) + mean softplus(fake).

  The negative of the value function V(D, G) of Goodfellow et al. 2014,
  eq. 1, which D maximises. Newmu/dcgan_code minimises exactly this sum of
  two batch means (`d_cost = d_cost_real + d_cost_gen`).

  goodfeli/adversarial's `AdversaryCost2` (used by mnist.yaml) minimises HALF
  of it: `d_obj = 0.5 * (cost(y1, y_hat1) + cost(y0, y_hat0))`, each term a
  batch mean of the sigmoid cross-entropy computed from the pre-sigmoid
  activation. With plain SGD this halves the discriminator's effective
  learning rate, so a faithful Goodfellow et al. reproduction multiplies this
  loss by 0.5.

  Args:
    real_logits: D's logits on real data, [B] or [B, 1].
    fake_logits: D's logits on generated data, [B] or [B, 1].
  """
  return (tf.reduce_mean(tf.nn.softplus(-real_logits))
          + tf.reduce_mean(tf.nn.softplus(fake_logits)))


def minimax_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
  """E[log(1 - D(G(z)))] = -mean softplus(fake): the saturating generator loss.

  What G minimises in the minimax game of Goodfellow et al. 2014, eq. 1 and
  Algorithm 1. Its gradient vanishes when D confidently rejects the samples,
  which is why the paper (section 3) trains G with
  `non_saturating_generator_loss` instead.
  """
  return -tf.reduce_mean(tf.nn.softplus(fake_logits))


def non_saturating_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
  """-E[log D(G(z))] = mean softplus(-fake): the non-saturating generator loss.

  Goodfellow et al. 2014, section 3 ("train G to maximize log D(G(z))").
  goodfeli/adversarial `AdversaryCost2`: `g_obj = cost(y1, y_hat0)` (no 1/2
  factor); Newmu/dcgan_code: `g_cost = bce(p_gen, ones).mean()`.
  """
  return tf.reduce_mean(tf.nn.softplus(-fake_logits))


# --------------------------------------------------------------------------
# Wasserstein losses (Arjovsky et al. 2017; Gulrajani et al. 2017).
# --------------------------------------------------------------------------

def wasserstein_critic_loss(real_scores: tf.Tensor,
                            fake_scores: tf.Tensor) -> tf.Tensor:
  """mean f(G(z)) - mean f(x): the critic's loss, minimised.

  Arjovsky et al. 2017, Algorithm 1: the critic ascends
  mean f(x) - mean f(G(z)), the estimate of the Wasserstein distance (up to
  the Lipschitz constant), so it minimises the negative, which this returns.
  Gulrajani et al. 2017 Algorithm 1 writes the same, plus the gradient
  penalty: L = D(x_tilde) - D(x) + lambda * (||grad D(x_hat)||_2 - 1)^2.

  In martinarjovsky/WassersteinGAN main.py the network `netD` returns the
  batch mean of its output, and the code calls `errD_real.backward(one)`,
  `errD_fake.backward(mone)` and then `optimizerD.step()`, i.e. it MINIMISES
  netD(real) - netD(fake); the generator minimises `errG = netD(fake)`. So
  the code's network plays -f: its printed numbers map onto these functions,
  with f = -netD, as
      Loss_D = errD_real - errD_fake = wasserstein_critic_loss(f(x), f(G(z)))
      Loss_G = errG                  = wasserstein_generator_loss(f(G(z)))
  and the Wasserstein estimate plotted in the paper is -Loss_D =
  -wasserstein_critic_loss. Training from scratch, the sign convention of the
  network is arbitrary; only the printed signs differ.

  Args:
    real_scores: critic outputs f(x) on real data, [B] or [B, 1].
    fake_scores: critic outputs f(G(z)) on generated data, [B] or [B, 1].
  """
  return tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores)


def wasserstein_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
  """-mean f(G(z)): the generator's loss, minimised (Arjovsky et al. 2017, Alg. 1).

  Equals the WGAN code's printed Loss_G (see `wasserstein_critic_loss`) and
  `gen_cost = -tf.reduce_mean(disc_fake)` in igul222/improved_wgan_training.
  """
  return -tf.reduce_mean(fake_scores)


def uniform_interpolation_weights(seed, batch_size: int, rank: int,
                                  dtype: tf.DType = tf.float32) -> tf.Tensor:
  """alpha ~ U[0, 1), one per example, shaped [B, 1, ..., 1] to broadcast.

  Gulrajani et al. 2017 Algorithm 1 draws epsilon ~ U[0, 1] per example;
  igul222/improved_wgan_training draws
  `tf.random_uniform(shape=[BATCH_SIZE, 1], minval=0., maxval=1.)` for its
  flattened data. Drawn with `tf.random.stateless_uniform`, so alpha is a
  pure function of `seed`.

  Args:
    seed: int32/int64 tensor or pair of shape [2].
    batch_size: B.
    rank: rank of the data tensor alpha will multiply (2 for [B, D], 4 for
      [B, H, W, C]); the result has this rank.
    dtype: the data's floating dtype.
  """
  if rank < 2:
    raise ConfigError(f'uniform_interpolation_weights needs rank >= 2 (a batch '
                      f'axis and data axes), got {rank}.')
  shape = [batch_size] + [1] * (rank - 1)
  return tf.random.stateless_uniform(shape, seed=seed, minval=0.0, maxval=1.0,
                                     dtype=dtype)


def wasserstein_gradient_penalty(critic_fn: Callable[[tf.Tensor], tf.Tensor],
                                 real: tf.Tensor, fake: tf.Tensor,
                                 alpha: tf.Tensor) -> tf.Tensor:
  """E[(||grad_{x_hat} f(x_hat)||_2 - 1)^2], x_hat = real + alpha (fake - real).

  Gulrajani et al. 2017, Algorithm 1 and eq. 3, WITHOUT the factor lambda
  (the caller multiplies: lambda 10 in the paper and gan_mnist.py, 0.1 in
  gan_toy.py). Reproduces igul222/improved_wgan_training gan_mnist.py:

      differences = fake_data - real_data
      interpolates = real_data + (alpha*differences)
      gradients = tf.gradients(Discriminator(interpolates), [interpolates])[0]
      slopes = tf.sqrt(tf.reduce_sum(tf.square(gradients), reduction_indices=[1]))
      gradient_penalty = tf.reduce_mean((slopes-1.)**2)

  Their data are flattened to [B, D], so reduction_indices=[1] is the norm
  over all non-batch axes, which is what this takes for data of any rank.
  There is no epsilon inside the square root, as there; so the penalty's
  gradient is NaN if a critic gradient is exactly zero for some example
  (e.g. a ReLU critic dead at x_hat), as in the reference.
  (gan_toy.py writes x_hat = alpha * real + (1 - alpha) * fake, the same
  distribution of x_hat for alpha ~ U[0, 1] but a different x_hat for a given
  alpha.)

  The gradient of the summed critic outputs with respect to x_hat is the
  per-example gradient only when each output depends on its own example
  alone, which is why the paper's critic has no batch normalisation.
  Differentiable with respect to the critic's variables (the inner tape's
  gradient is recorded by any enclosing tape), as the critic's update needs.

  Args:
    critic_fn: maps a batch [B, ...] to scores [B] or [B, 1].
    real: real data, [B, ...].
    fake: generated data, same shape.
    alpha: interpolation weights broadcastable to the data, [B, 1, ..., 1]
      (see `uniform_interpolation_weights`).
  """
  interpolates = real + alpha * (fake - real)  # [B, ...]
  with tf.GradientTape() as tape:
    tape.watch(interpolates)
    scores = critic_fn(interpolates)
  gradients = tape.gradient(scores, interpolates)  # [B, ...]
  data_axes = list(range(1, len(interpolates.shape)))
  slopes = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=data_axes))  # [B]
  return tf.reduce_mean(tf.square(slopes - 1.0))
