"""Sample-quality metrics, each with its definition and its source.

Pure metrics (numpy, float64 throughout):
  classifier_score, classifier_score_from_logits   -- TF-GAN's mnist_score
  feature_statistics, frechet_distance,
  frechet_distance_from_statistics                 -- Heusel et al. 2017 (FID)
  class_conditional_accuracy                       -- conditional models
  parzen_log_likelihood, parzen_log_likelihoods    -- goodfeli/adversarial
  toy_mode_metrics                                 -- VEEGAN / PacGAN

MNIST conveniences built on the shipped evaluator (`classifier.py`):
  evaluate_mnist_samples, real_train_statistics, evaluate_mnist_parzen,
  mnist_parzen_reference_sets.

Real-data reference values ("ceilings") for all of these are computed by
`paper_gans/evaluation/ceilings.py` with this same code and stored in
`weights/real_data_ceilings.json`; `load_ceilings()` reads them.
"""

from __future__ import annotations

import json
import math
import os
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from paper_gans.evaluation import classifier as classifier_lib

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'weights')
CEILINGS_PATH = os.path.join(WEIGHTS_DIR, 'real_data_ceilings.json')
TRAIN_STATISTICS_PATH = os.path.join(WEIGHTS_DIR,
                                     'mnist_train_feature_statistics.npz')

# goodfeli/adversarial parzen_ll.py: `--sigma_start -1 --sigma_end 0
# --cross_val 10` -> numpy.logspace(-1, 0, 10); `--limit_size 1000`
# validation images; `--num_samples 10000` generator samples.
PARZEN_SIGMAS = np.logspace(-1.0, 0.0, 10)
PARZEN_NUM_SAMPLES = 10000
PARZEN_NUM_VALIDATION = 1000


# --------------------------------------------------------------------------
# Classifier score.
# --------------------------------------------------------------------------

def classifier_score(probs) -> float:
  """exp(E_x[KL(p(y|x) || p(y))]), the classifier score (TF-GAN mnist_score).

  Definition: Salimans et al. 2016 (Inception score, arXiv:1606.03498) with
  the MNIST evaluator in place of Inception; p(y) is the mean of p(y|x) over
  the given samples. Computed as TF-GAN's `classifier_score_from_logits`
  (tensorflow/gan, tensorflow_gan/python/eval/classifier_metrics.py), which
  `tfgan.eval.mnist_score` calls: the KL of every sample, averaged, then
  exponentiated; one split (no `num_splits` averaging as in the original
  Inception-score code). Range [1, number of classes]: 1 when every sample
  gets the same p(y|x), 10 when every sample is confidently classified and
  the classes are used equally often.

  Args:
    probs: [N, C] rows of p(y|x). Terms with p = 0 contribute 0
      (the limit of p log p).

  Returns:
    The score as a Python float (computed in float64).
  """
  p = np.asarray(probs, np.float64)
  if p.ndim != 2:
    raise ValueError(f'probs must be [N, C], got shape {p.shape}.')
  q = p.mean(axis=0)  # [C], the marginal p(y)
  safe_p = np.where(p > 0, p, 1.0)
  safe_q = np.where(q > 0, q, 1.0)
  kl = np.sum(np.where(p > 0, p * (np.log(safe_p) - np.log(safe_q)), 0.0),
              axis=1)  # [N]
  return float(np.exp(np.mean(kl)))


def classifier_score_from_logits(logits) -> float:
  """The classifier score from logits, exactly as TF-GAN computes it.

  TF-GAN casts the logits to float64, takes p = softmax(logits), q = mean(p),
  KL = sum p * (log_softmax(logits) - log q). Using log_softmax instead of
  log(p) keeps the terms of tiny probabilities exact.
  """
  z = np.asarray(logits, np.float64)
  if z.ndim != 2:
    raise ValueError(f'logits must be [N, C], got shape {z.shape}.')
  z = z - z.max(axis=1, keepdims=True)
  log_p = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))  # [N, C]
  p = np.exp(log_p)
  q = p.mean(axis=0)  # [C]
  kl = np.sum(p * (log_p - np.log(q)), axis=1)  # [N]
  return float(np.exp(np.mean(kl)))


# --------------------------------------------------------------------------
# Frechet distance.
# --------------------------------------------------------------------------

def feature_statistics(features) -> Tuple[np.ndarray, np.ndarray]:
  """(mean [D], covariance [D, D]) in float64, covariance with 1 / (N - 1).

  The unbiased covariance is what TF-GAN's
  `frechet_classifier_distance_from_activations` uses.
  """
  x = np.asarray(features, np.float64)
  if x.ndim != 2 or x.shape[0] < 2:
    raise ValueError(f'features must be [N >= 2, D], got shape {x.shape}.')
  mean = x.mean(axis=0)
  centred = x - mean
  covariance = centred.T @ centred / (x.shape[0] - 1)
  return mean, covariance


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
  """Symmetric square root of a symmetric positive semi-definite matrix.

  Eigenvalues that rounding made slightly negative are set to zero (the
  matrix is a covariance, so they are zero in exact arithmetic).
  """
  symmetric = 0.5 * (matrix + matrix.T)
  eigenvalues, eigenvectors = np.linalg.eigh(symmetric)
  roots = np.sqrt(np.clip(eigenvalues, 0.0, None))
  return (eigenvectors * roots) @ eigenvectors.T


def frechet_distance_from_statistics(mean_a, covariance_a, mean_b,
                                     covariance_b) -> float:
  """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)), in float64.

  Tr((S_a S_b)^(1/2)) is computed as TF-GAN's `trace_sqrt_product` does:
  with A = S_a^(1/2) (symmetric), S_a S_b has the eigenvalues of the
  symmetric PSD matrix A S_b A, so the trace is the sum of the square roots of
  those eigenvalues. Both square roots come from `numpy.linalg.eigh`, which
  is stable for the singular covariances that ReLU features give (units that
  never fire); scipy.linalg.sqrtm of the non-symmetric product is not needed.
  """
  mean_a = np.asarray(mean_a, np.float64)
  mean_b = np.asarray(mean_b, np.float64)
  covariance_a = np.asarray(covariance_a, np.float64)
  covariance_b = np.asarray(covariance_b, np.float64)
  sqrt_a = _psd_sqrt(covariance_a)
  middle = sqrt_a @ covariance_b @ sqrt_a
  eigenvalues = np.linalg.eigvalsh(0.5 * (middle + middle.T))
  trace_sqrt_product = np.sum(np.sqrt(np.clip(eigenvalues, 0.0, None)))
  mean_term = np.sum((mean_a - mean_b) ** 2)
  trace_term = (np.trace(covariance_a) + np.trace(covariance_b)
                - 2.0 * trace_sqrt_product)
  return float(mean_term + trace_term)


def frechet_distance(features_a, features_b) -> float:
  """Frechet distance between Gaussians fitted to two feature sets.

  Definition: Heusel et al. 2017 (FID, arXiv:1706.08500), eq. (6); the
  feature space here is the evaluator's 128-d penultimate ReLU layer instead
  of Inception's pool_3. Means and unbiased covariances as TF-GAN's
  `frechet_classifier_distance_from_activations`.

  The estimate is biased upwards, more so for few samples: compare numbers
  only at equal sample counts (the ceilings file gives the real-data value at
  1,000 and at 10,000 samples).

  Args:
    features_a: [N_a, D].
    features_b: [N_b, D].
  """
  mean_a, covariance_a = feature_statistics(features_a)
  mean_b, covariance_b = feature_statistics(features_b)
  return frechet_distance_from_statistics(mean_a, covariance_a, mean_b,
                                          covariance_b)


# --------------------------------------------------------------------------
# Class-conditional accuracy.
# --------------------------------------------------------------------------

def class_conditional_accuracy(probs, requested_labels,
                               num_classes: int = 10) -> Dict[str, object]:
  """How often the evaluator recognises the class a conditional G was asked for.

  Definition: the fraction of samples x = G(z, y) whose predicted class
  argmax_c p(c|x) equals the requested y; per class, the same fraction over
  the samples requested for that class (NaN for a class never requested).
  There is no single canonical source for this measure (it is the usual
  sanity check of class-conditional generators); the definition above is
  ours. Its ceiling is the evaluator's accuracy on real labelled test images,
  and a generator that ignores its label scores about 0.1.

  Returns:
    dict(overall=float, per_class=[num_classes floats],
         count_per_class=[num_classes ints]).
  """
  p = np.asarray(probs)
  labels = np.asarray(requested_labels).astype(np.int64).reshape(-1)
  if p.ndim != 2 or p.shape[0] != labels.shape[0]:
    raise ValueError(f'probs [N, C] and requested_labels [N] must agree, got '
                     f'{p.shape} and {labels.shape}.')
  correct = np.argmax(p, axis=1) == labels  # [N]
  per_class, counts = [], []
  for c in range(num_classes):
    mask = labels == c
    counts.append(int(mask.sum()))
    per_class.append(float(correct[mask].mean()) if mask.any() else math.nan)
  return dict(overall=float(correct.mean()), per_class=per_class,
              count_per_class=counts)


# --------------------------------------------------------------------------
# Parzen-window log-likelihood.
# --------------------------------------------------------------------------

def parzen_log_likelihoods(samples, points, sigmas,
                           batch_size: int = 500) -> np.ndarray:
  """Log-density of each point under Gaussian Parzen windows on `samples`.

  For each sigma and each point x (goodfeli/adversarial parzen_ll.py,
  `theano_parzen`, credited there to Yann Dauphin):

      log p(x) = logmeanexp_i( -0.5 * ||(x - mu_i) / sigma||^2 )
                 - d * log(sigma * sqrt(2 pi))

  with mu_i the samples and d the dimension, i.e. the log of the mean of the
  isotropic Gaussian densities N(x; mu_i, sigma^2 I). logmeanexp subtracts the
  maximum first, as the original `log_mean_exp` does.

  Vectorised: the squared distances of a batch of points to all samples come
  from one matrix product, ||x||^2 - 2 x.mu + ||mu||^2, in float64 (numpy), and
  are reused for every sigma. The original runs in Theano's floatX (float32 in
  the usual configuration); float64 makes the result independent of the
  batching and summation order. Memory: batch_size x N float64 (40 MB for 500
  x 10,000).

  Args:
    samples: [N, d] Parzen centres (generator samples).
    points: [P, d] points to evaluate.
    sigmas: scalar or sequence of window widths.
    batch_size: points per matrix product.

  Returns:
    float64 [len(sigmas), P] (or [P] for a scalar sigma).
  """
  mu = np.asarray(samples, np.float64)
  x_all = np.asarray(points, np.float64)
  scalar = np.ndim(sigmas) == 0
  sigma_values = np.atleast_1d(np.asarray(sigmas, np.float64))
  if mu.ndim != 2 or x_all.ndim != 2 or mu.shape[1] != x_all.shape[1]:
    raise ValueError(f'samples [N, d] and points [P, d] must agree, got '
                     f'{mu.shape} and {x_all.shape}.')
  dim = mu.shape[1]
  mu_sq = np.sum(mu ** 2, axis=1)  # [N]
  result = np.zeros([len(sigma_values), x_all.shape[0]], np.float64)
  for start in range(0, x_all.shape[0], batch_size):
    x = x_all[start:start + batch_size]  # [B, d]
    sq = np.sum(x ** 2, axis=1)[:, None] - 2.0 * (x @ mu.T) + mu_sq[None, :]
    sq = np.maximum(sq, 0.0)  # [B, N]; rounding can make tiny values negative
    for k, sigma in enumerate(sigma_values):
      a = -0.5 * sq / (sigma * sigma)  # [B, N]
      a_max = a.max(axis=1)  # [B]
      log_mean = a_max + np.log(np.mean(np.exp(a - a_max[:, None]), axis=1))
      normaliser = dim * math.log(sigma * math.sqrt(2.0 * math.pi))
      result[k, start:start + x.shape[0]] = log_mean - normaliser
  return result[0] if scalar else result


def parzen_log_likelihood(samples, validation, test,
                          sigmas: Optional[Sequence[float]] = None,
                          batch_size: int = 500) -> Dict[str, object]:
  """Parzen-window log-likelihood of the test set, as Goodfellow et al. 2014.

  Procedure of goodfeli/adversarial `parzen_ll.py` (read with the search
  tool, commit 1720041): with the generator's samples as Parzen centres,
  choose sigma from `sigmas` (default numpy.logspace(-1, 0, 10)) as the one
  with the highest mean log-likelihood on `validation` (the script uses the
  first 1,000 images of MNIST train[50000:60000]); then report the mean
  log-likelihood of the test images and its standard error
  ll.std() / sqrt(len(test)) (numpy's std, ddof = 0). Goodfellow et al.
  report 225 +- 2 on MNIST with 10,000 samples. See
  `parzen_log_likelihoods` for the formula and the numerics; see
  `mnist_parzen_reference_sets` for the MNIST sets exactly as the script
  loads them.

  Theis et al. 2016 ("A note on the evaluation of generative models") show
  that this estimate is a poor proxy for the true log-likelihood; it is kept
  because it is the number the 2014 paper reports.

  Args:
    samples: [N, 784] generator samples in [0, 1] (the script uses 10,000).
    validation: [M, 784] images that choose sigma.
    test: [T, 784] images whose log-likelihood is reported.
    sigmas: candidate widths.
    batch_size: points per matrix product.

  Returns:
    dict(sigma, mean, std_error, validation_ll_per_sigma={sigma: mean ll}).
  """
  sigma_values = PARZEN_SIGMAS if sigmas is None else np.asarray(sigmas,
                                                                 np.float64)
  validation_ll = parzen_log_likelihoods(samples, validation, sigma_values,
                                         batch_size)  # [S, M]
  validation_means = validation_ll.mean(axis=1)  # [S]
  # numpy.argmax, as cross_validate_sigma: the first sigma among ties.
  best = int(np.argmax(validation_means))
  sigma = float(sigma_values[best])
  test_ll = parzen_log_likelihoods(samples, test, sigma, batch_size)  # [T]
  return dict(
      sigma=sigma,
      mean=float(test_ll.mean()),
      std_error=float(test_ll.std() / math.sqrt(test_ll.shape[0])),
      validation_ll_per_sigma={float(s): float(m) for s, m in
                               zip(sigma_values, validation_means)})


def mnist_parzen_reference_sets() -> Tuple[np.ndarray, np.ndarray]:
  """(validation [1000, 784], test [10000, 784]) float64 in [0, 1].

  As parzen_ll.py loads them: validation = pylearn2
  MNIST('train', start=50000, stop=60000).X[:1000], test = the MNIST test
  set; pixels / 255 as pylearn2's `read_mnist_images`.
  """
  from paper_gans import data  # pylint: disable=g-import-not-at-top
  validation, _ = data.load_mnist('train[50000:]')
  test, _ = data.load_mnist('test')
  validation = validation[:PARZEN_NUM_VALIDATION].reshape(-1, 784) / 255.0
  test = test.reshape(-1, 784) / 255.0
  return validation.astype(np.float64), test.astype(np.float64)


def evaluate_mnist_parzen(images, value_range: Sequence[float] = (0.0, 1.0),
                          resize_method: str = 'resize',
                          batch_size: int = 500,
                          sigmas: Optional[Sequence[float]] = None
                          ) -> Dict[str, object]:
  """Parzen log-likelihood of MNIST test under generated `images`.

  The images go through `MnistEvaluator.prepare` (28x28 in [0, 1]; see it for
  `value_range` and `resize_method`), then `parzen_log_likelihood` with the
  reference sets of parzen_ll.py. Pass 10,000 samples and the default
  `sigmas` (parzen_ll.py's logspace(-1, 0, 10)) to match Goodfellow et al.
  2014.
  """
  samples = classifier_lib.MnistEvaluator.prepare(images, value_range,
                                                  resize_method)
  samples = samples.numpy().reshape(-1, 784).astype(np.float64)
  validation, test = mnist_parzen_reference_sets()
  result = parzen_log_likelihood(samples, validation, test, sigmas=sigmas,
                                 batch_size=batch_size)
  result['num_samples'] = int(samples.shape[0])
  return result


# --------------------------------------------------------------------------
# Toy 2-D mixtures.
# --------------------------------------------------------------------------

def toy_mode_metrics(samples, modes, mode_std: float,
                     threshold_stds: float = 3.0,
                     min_samples_per_mode: int = 1) -> Dict[str, object]:
  """Modes covered and fraction of high-quality samples on a 2-D mixture.

  Definitions of VEEGAN (Srivastava et al. 2017, Sec. 5.1), as implemented in
  PacGAN's code (fjxmlzn/PacGAN, synthetic_data_experiments/PacGAN/pacgan/
  extensions.py, `MetricLogger`, `dis_thre=3`): every sample is assigned to
  its nearest mode; it is high quality if its distance to that mode is below
  `threshold_stds` (3) standard deviations of the mixture component; a mode
  is covered if at least `min_samples_per_mode` high-quality samples are
  assigned to it (PacGAN's code counts a mode when its count is non-zero,
  i.e. 1). The components are isotropic with a common `mode_std`, so nearest
  in Euclidean distance is nearest in PacGAN's variance-scaled distance.

  Reference point: samples drawn from the true mixture are high quality with
  probability P(chi^2_2 < 9) = 1 - exp(-4.5) = 0.9889 in 2-D.

  Args:
    samples: [N, 2].
    modes: [M, 2] mode centres.
    mode_std: standard deviation of each component (after any rescaling of
      the data, e.g. 0.02 / 1.414 for gan_toy.py's 8 Gaussians).
    threshold_stds: the quality radius in standard deviations.
    min_samples_per_mode: high-quality samples a mode needs to count.

  Returns:
    dict(modes_covered=int, high_quality_fraction=float,
         high_quality_per_mode=[M ints]).
  """
  x = np.asarray(samples, np.float64)
  centres = np.asarray(modes, np.float64)
  distances = np.linalg.norm(x[:, None, :] - centres[None, :, :],
                             axis=2)  # [N, M]
  nearest = np.argmin(distances, axis=1)  # [N]
  nearest_distance = distances[np.arange(x.shape[0]), nearest]
  high_quality = nearest_distance < threshold_stds * mode_std  # [N]
  per_mode = np.bincount(nearest[high_quality], minlength=centres.shape[0])
  return dict(
      modes_covered=int(np.sum(per_mode >= min_samples_per_mode)),
      high_quality_fraction=float(high_quality.mean()),
      high_quality_per_mode=[int(n) for n in per_mode])


# --------------------------------------------------------------------------
# MNIST evaluation with the shipped evaluator.
# --------------------------------------------------------------------------

_DEFAULT_EVALUATOR = []


def default_evaluator() -> classifier_lib.MnistEvaluator:
  """The shipped evaluator, loaded once per process."""
  if not _DEFAULT_EVALUATOR:
    _DEFAULT_EVALUATOR.append(classifier_lib.MnistEvaluator.load())
  return _DEFAULT_EVALUATOR[0]


def compute_train_statistics(evaluator: classifier_lib.MnistEvaluator
                             ) -> Tuple[np.ndarray, np.ndarray]:
  """Feature mean and covariance of all 60,000 MNIST training images."""
  from paper_gans import data  # pylint: disable=g-import-not-at-top
  train_images, _ = data.load_mnist('train')
  features = evaluator.features(evaluator.prepare(train_images, (0, 255)))
  return feature_statistics(features)


def real_train_statistics(evaluator: classifier_lib.MnistEvaluator
                          ) -> Tuple[np.ndarray, np.ndarray]:
  """The Frechet reference: features of the 60,000 real training images.

  Read from `weights/mnist_train_feature_statistics.npz` when the evaluator
  carries the weights that file was computed with (checked by SHA-256),
  otherwise computed (about 20 s on 2 CPU cores); cached on the evaluator.
  """
  if evaluator.train_statistics_cache is None:
    statistics = None
    if (evaluator.weights_sha256 is not None
        and os.path.exists(TRAIN_STATISTICS_PATH)):
      with np.load(TRAIN_STATISTICS_PATH) as archive:
        if str(archive['weights_sha256']) == evaluator.weights_sha256:
          statistics = (archive['mean'], archive['covariance'])
    if statistics is None:
      statistics = compute_train_statistics(evaluator)
    evaluator.train_statistics_cache = statistics
  return evaluator.train_statistics_cache


def evaluate_mnist_samples(images, value_range: Sequence[float] = (0.0, 1.0),
                           evaluator: Optional[
                               classifier_lib.MnistEvaluator] = None,
                           requested_labels=None,
                           resize_method: str = 'resize'
                           ) -> Dict[str, object]:
  """Classifier metrics of generated MNIST digits.

  Args:
    images: generator output, any shape `MnistEvaluator.prepare` accepts.
    value_range: the range of `images` ((0, 1) for sigmoid, (-1, 1) tanh).
    evaluator: defaults to the shipped one.
    requested_labels: [N] classes a conditional generator was asked for;
      adds the class-conditional accuracy.
    resize_method: how the training images were brought to the generator's
      resolution ('resize' or 'pad', as given to the data pipeline); only
      matters for sizes other than 28. See `MnistEvaluator.prepare`.

  Returns:
    dict(num_samples, classifier_score, frechet_distance[, class_accuracy]),
    where frechet_distance is measured against the features of the 60,000
    real training images. Compare with `load_ceilings()` at the same number
    of samples (10,000 is the reference count).
  """
  evaluator = evaluator or default_evaluator()
  images01 = evaluator.prepare(images, value_range, resize_method)
  features, logits = evaluator.features_and_logits(images01)
  mean, covariance = feature_statistics(features)
  train_mean, train_covariance = real_train_statistics(evaluator)
  result = dict(
      num_samples=int(features.shape[0]),
      classifier_score=classifier_score_from_logits(logits),
      frechet_distance=frechet_distance_from_statistics(
          mean, covariance, train_mean, train_covariance))
  if requested_labels is not None:
    result['class_accuracy'] = class_conditional_accuracy(
        classifier_lib.softmax(logits), requested_labels)
  return result


def load_ceilings(path: str = CEILINGS_PATH) -> Dict[str, object]:
  """The real-data reference values written by `ceilings.py`."""
  with open(path, encoding='utf-8') as f:
    return json.load(f)
