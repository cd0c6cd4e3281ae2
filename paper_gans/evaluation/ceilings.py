"""Real-data reference values ("ceilings") of every metric, by the same code.

Run from the repository root:

    python -m paper_gans.evaluation.ceilings

It writes `paper_gans/evaluation/weights/real_data_ceilings.json` and
`paper_gans/evaluation/weights/mnist_train_feature_statistics.npz` (the
Frechet reference statistics of the 60,000 training images, tied to the
evaluator weights by their SHA-256) and prints a markdown table.

What "ceiling" means for each metric (real data standing in for a perfect
generator):

* Classifier score: of the 10,000 real MNIST test images (and of 1,000-image
  blocks, the sample count the tests use). Real digits are classified
  confidently and the classes are nearly balanced, so this is close to, but
  below, the maximum of 10.
* Frechet distance: real test images against the 60,000 training images,
  the same reference generated samples are compared with. It is not zero:
  the test set is a different finite sample, and the estimator is biased
  upwards for small samples, so it is given at 10,000 and at 1,000 samples;
  compare a generator at the same sample count.
* Resized generators (32x32, 64x64 trained on data the data layer resized
  with its default 'resize'): the classifier score and Frechet distance of
  the test images taken to that size by `data.to_resolution` and back by
  `MnistEvaluator.prepare`, the best a generator at that resolution can
  score. ('pad' round trips are exact, so their ceilings are the 28x28 ones.)
* Class-conditional accuracy: the evaluator's accuracy on the real test
  images with their true labels, overall and per class.
* Parzen log-likelihood: a Parzen estimator with 10,000 real training images
  (the first 10,000 of the GAN training split train[:50000]) as its centres
  in place of generator samples, sigma chosen and test set scored exactly as
  parzen_ll.py does. Real test images as centres would score the test set
  against itself, which is meaningless. This is a reference, not an upper
  bound: Theis et al. 2016 show that other sample sets (k-means centres) can
  beat real data under this estimator.
* Toy mode metrics: 2,500 samples (VEEGAN's sample count) drawn from the true
  8- and 25-Gaussian mixtures; every mode is covered and the high-quality
  fraction is near its analytic value 1 - exp(-4.5) = 0.9889.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np

from paper_gans import data
from paper_gans.evaluation import classifier as classifier_lib
from paper_gans.evaluation import metrics

TOY_NUM_SAMPLES = 2500  # VEEGAN (Srivastava et al. 2017, Sec. 5.1).
# Distinct seeds: with one seed both mixtures would get the same normalised
# noise and hence the same high-quality fraction.
TOY_SEEDS = {'8gaussians': (0, 0), '25gaussians': (0, 1)}
BLOCK_SIZE = 1000
PARZEN_REAL_SAMPLES = 'train[:10000]'
RESIZED_SIZES = (32, 64)


def _mnist_ceilings(evaluator: classifier_lib.MnistEvaluator) -> dict:
  train_images, _ = data.load_mnist('train')
  test_images, test_labels = data.load_mnist('test')
  train_features, train_logits = evaluator.features_and_logits(
      evaluator.prepare(train_images, (0, 255)))
  test_features, test_logits = evaluator.features_and_logits(
      evaluator.prepare(test_images, (0, 255)))

  train_mean, train_covariance = metrics.feature_statistics(train_features)
  np.savez(metrics.TRAIN_STATISTICS_PATH, mean=train_mean,
           covariance=train_covariance,
           weights_sha256=np.array(evaluator.weights_sha256))

  def fd(features):
    mean, covariance = metrics.feature_statistics(features)
    return metrics.frechet_distance_from_statistics(
        mean, covariance, train_mean, train_covariance)

  blocks = range(0, len(test_labels), BLOCK_SIZE)
  test_probs = classifier_lib.softmax(test_logits)
  accuracy = metrics.class_conditional_accuracy(test_probs, test_labels)
  correct = int(np.sum(np.argmax(test_logits, axis=1) == test_labels))

  validation, test = metrics.mnist_parzen_reference_sets()
  parzen_images, _ = data.load_mnist(PARZEN_REAL_SAMPLES)
  parzen_samples = parzen_images.reshape(-1, 784).astype(np.float64) / 255.0
  parzen = metrics.parzen_log_likelihood(parzen_samples, validation, test)

  resized = {}
  for size in RESIZED_SIZES:
    round_trip = evaluator.prepare(
        data.to_resolution(test_images, size, 'resize'), (0, 255), 'resize')
    features, logits = evaluator.features_and_logits(round_trip)
    resized[str(size)] = dict(
        classifier_score_test_10000=metrics.classifier_score_from_logits(
            logits),
        frechet_distance_test_10000=fd(features),
        frechet_distance_test_1000_blocks=[
            fd(features[s:s + BLOCK_SIZE]) for s in blocks])

  return dict(
      test_accuracy=accuracy['overall'],
      test_correct=correct,
      classifier_score=dict(
          test_10000=metrics.classifier_score_from_logits(test_logits),
          test_1000_blocks=[
              metrics.classifier_score_from_logits(
                  test_logits[s:s + BLOCK_SIZE]) for s in blocks],
          train_60000=metrics.classifier_score_from_logits(train_logits)),
      frechet_distance=dict(
          reference='features of the 60,000 MNIST training images',
          test_10000=fd(test_features),
          test_1000_blocks=[fd(test_features[s:s + BLOCK_SIZE])
                            for s in blocks]),
      resized_with_data_layer=resized,
      class_accuracy=accuracy,
      parzen=dict(samples=f'real MNIST {PARZEN_REAL_SAMPLES} as centres',
                  validation='train[50000:51000]', test='test (10,000)',
                  **parzen))


def _toy_ceilings() -> dict:
  result = {}
  for name in ('8gaussians', '25gaussians'):
    samples = data.sample_toy(name, TOY_NUM_SAMPLES,
                              np.array(TOY_SEEDS[name], np.int32)).numpy()
    result[name] = dict(
        num_samples=TOY_NUM_SAMPLES,
        seed=list(TOY_SEEDS[name]),
        num_modes=len(data.toy_modes(name)),
        mode_std=data.toy_mode_std(name),
        analytic_high_quality_fraction=1.0 - math.exp(-4.5),
        **metrics.toy_mode_metrics(samples, data.toy_modes(name),
                                   data.toy_mode_std(name)))
  return result


def _markdown(ceilings: dict) -> str:
  mnist = ceilings['mnist']
  cs = mnist['classifier_score']
  fd = mnist['frechet_distance']
  parzen = mnist['parzen']
  per_class = ', '.join(
      f'{a:.3f}' for a in mnist['class_accuracy']['per_class'])
  rows = [
      ('Evaluator test accuracy', f"{mnist['test_accuracy']:.4f} "
       f"({mnist['test_correct']}/10000)", 'shipped weights'),
      ('Classifier score, 10,000 test images', f"{cs['test_10000']:.3f}",
       'max 10'),
      ('Classifier score, 1,000-image test blocks',
       f"{min(cs['test_1000_blocks']):.3f} to "
       f"{max(cs['test_1000_blocks']):.3f}",
       '10 disjoint blocks'),
      ('Frechet distance, 10,000 test vs 60,000 train',
       f"{fd['test_10000']:.4f}", 'lower is better'),
      ('Frechet distance, 1,000-image test blocks vs train',
       f"{min(fd['test_1000_blocks']):.4f} to "
       f"{max(fd['test_1000_blocks']):.4f}",
       '10 disjoint blocks'),
      ('Class accuracy per digit 0-9', per_class, 'real labels'),
  ]
  for size, values in mnist['resized_with_data_layer'].items():
    blocks = values['frechet_distance_test_1000_blocks']
    rows.append((
        f'{size}x{size} round trip: classifier score / Frechet distance '
        '(10,000; 1,000 blocks)',
        f"{values['classifier_score_test_10000']:.3f} / "
        f"{values['frechet_distance_test_10000']:.4f}; "
        f'{min(blocks):.2f} to {max(blocks):.2f}',
        'ceiling of generators trained on data resized by to_resolution'))
  rows += [
      ('Parzen log-likelihood (real train[:10000] as centres)',
       f"{parzen['mean']:.1f} +- {parzen['std_error']:.1f} "
       f"(sigma {parzen['sigma']:.4f})", 'Goodfellow et al.: 225 +- 2'),
  ]
  for name, toy in ceilings['toy'].items():
    rows.append((f'{name}: modes covered / high-quality fraction',
                 f"{toy['modes_covered']}/{toy['num_modes']} / "
                 f"{toy['high_quality_fraction']:.4f}",
                 f"{toy['num_samples']} true samples; analytic "
                 f"{toy['analytic_high_quality_fraction']:.4f}"))
  lines = ['| metric | real data | note |', '|---|---|---|']
  lines += [f'| {a} | {b} | {c} |' for a, b, c in rows]
  return '\n'.join(lines)


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--out', default=metrics.CEILINGS_PATH)
  args = parser.parse_args(argv)
  start = time.time()
  evaluator = classifier_lib.MnistEvaluator.load()
  ceilings = dict(
      command='python -m paper_gans.evaluation.ceilings',
      evaluator_weights_sha256=evaluator.weights_sha256,
      mnist=_mnist_ceilings(evaluator),
      toy=_toy_ceilings(),
      meaning=__doc__[__doc__.index('What "ceiling"'):].strip())
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  with open(args.out, 'w', encoding='utf-8') as f:
    json.dump(ceilings, f, indent=2)
    f.write('\n')
  print(_markdown(ceilings))
  print(f'\nwrote {args.out} and {metrics.TRAIN_STATISTICS_PATH} '
        f'({time.time() - start:.0f} s)')


if __name__ == '__main__':
  main()
