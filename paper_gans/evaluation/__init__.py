"""Evaluation of generated samples: the fixed MNIST evaluator and the metrics.

    from paper_gans import evaluation
    evaluator = evaluation.MnistEvaluator.load()
    result = evaluation.evaluate_mnist_samples(images, value_range=(-1., 1.))
    ceilings = evaluation.load_ceilings()  # the same metrics on real data

See `metrics.py` for each metric's definition and source, `classifier.py`
for the evaluator, `train_classifier.py` for how its weights were trained,
and `ceilings.py` for the real-data reference values.
"""

import sys as _sys

from paper_gans import cli as _cli

# `python -m paper_gans.evaluation.<module>` imports this package, and with
# it TensorFlow, before the module runs: sys.argv[0] is '-m' while Python
# imports the packages of the module it runs (as in paper_gans/__init__.py).
if _sys.argv[:1] == ['-m']:
  _cli.quiet_tensorflow()

# pylint: disable=wrong-import-position
from paper_gans.evaluation.classifier import MnistClassifier
from paper_gans.evaluation.classifier import MnistEvaluator
from paper_gans.evaluation.classifier import softmax
from paper_gans.evaluation.metrics import class_conditional_accuracy
from paper_gans.evaluation.metrics import classifier_score
from paper_gans.evaluation.metrics import classifier_score_from_logits
from paper_gans.evaluation.metrics import default_evaluator
from paper_gans.evaluation.metrics import evaluate_mnist_parzen
from paper_gans.evaluation.metrics import evaluate_mnist_samples
from paper_gans.evaluation.metrics import feature_statistics
from paper_gans.evaluation.metrics import frechet_distance
from paper_gans.evaluation.metrics import frechet_distance_from_statistics
from paper_gans.evaluation.metrics import load_ceilings
from paper_gans.evaluation.metrics import mnist_parzen_reference_sets
from paper_gans.evaluation.metrics import parzen_log_likelihood
from paper_gans.evaluation.metrics import parzen_log_likelihoods
from paper_gans.evaluation.metrics import real_train_statistics
from paper_gans.evaluation.metrics import toy_mode_metrics
