"""Our side of an equivalence test: one run of a paper's trainer, recorded.

An equivalence test runs the authors' training loop (re-typed in their own
framework) from our initial weights, on our data batches and on the random
numbers our trainer drew, and compares every loss of every update. This
module runs our trainer and records all of that:

* the initial value of every variable of both players, by variable name;
* every real batch each generator iteration consumed, in order;
* every random draw each generator iteration made (noise, labels, dropout
  masks' uniforms, penalty weights), in the order the trainer drew them;
* the trajectory, as `paper_gans.reference.record` writes it.

The trainer runs in 'eager' mode, so that the draws can be read as they are
made (stateless random ops give the same numbers in eager and graph mode;
under XLA they differ, which is why a recording names its compile mode).
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

from paper_gans import reference

# The stateless ops every random number of a training step comes from.
DRAW_OPS = ('stateless_normal', 'stateless_uniform',
            'stateless_truncated_normal')


@dataclasses.dataclass
class Draw:
  """One random tensor our trainer drew."""
  op: str  # One of DRAW_OPS.
  value: np.ndarray


@dataclasses.dataclass
class Iteration:
  """What one generator iteration of ours was fed and drew."""
  index: int
  images: List[np.ndarray]  # k real batches, one per critic step.
  labels: List[np.ndarray]
  draws: List[Draw]  # In the order the trainer drew them.


@dataclasses.dataclass
class OurRun:
  trainer: object
  initial_generator: Dict[str, np.ndarray]  # Variable name -> value.
  initial_discriminator: Dict[str, np.ndarray]
  iterations: List[Iteration]
  trajectory: List[Dict]  # One row per update (paper_gans.reference).

  def losses(self, name: str) -> np.ndarray:
    """Every value of one loss column, in update order."""
    return np.array([row[name] for row in self.trajectory if name in row])


def values_by_name(module: tf.Module) -> Dict[str, np.ndarray]:
  return {v.name: v.numpy().copy() for v in module.variables}


@contextlib.contextmanager
def recording_draws(draws: List[Draw]):
  """Appends every stateless random tensor drawn inside the block to `draws`."""
  originals = {op: getattr(tf.random, op) for op in DRAW_OPS}

  def wrap(op):
    def draw(*args, **kwargs):
      value = originals[op](*args, **kwargs)
      draws.append(Draw(op, value.numpy()))
      return value
    return draw

  try:
    for op in DRAW_OPS:
      setattr(tf.random, op, wrap(op))
    yield draws
  finally:
    for op, original in originals.items():
      setattr(tf.random, op, original)


def run(paper, config, updates: int,
        trainer: Optional[object] = None) -> OurRun:
  """Trains `paper` at `config` for `updates` updates in eager mode.

  Args:
    paper: a paper module (paper_gans.papers.*).
    config: its config (e.g. a reference preset with dtype='float64').
    updates: updates to record (critic and generator updates each count).
    trainer: a trainer built from `config` in eager mode, for a test that
      breaks one on purpose; by default `paper.build_trainer(config,
      'eager')`.
  """
  if trainer is None:
    trainer = paper.build_trainer(config, 'eager')
  initial_generator = values_by_name(trainer.generator)
  initial_discriminator = values_by_name(trainer.discriminator)
  iterations: List[Iteration] = []
  train_iteration = trainer.train_iteration

  def recording_iteration(real_images, real_labels):
    record = Iteration(int(trainer.iteration.numpy()),
                       [np.asarray(x) for x in real_images],
                       [np.asarray(y) for y in real_labels], [])
    iterations.append(record)
    with recording_draws(record.draws):
      return train_iteration(real_images, real_labels)

  trainer.train_iteration = recording_iteration
  try:
    trajectory = reference.record(paper, config, updates, 'eager',
                                  trainer=trainer)
  finally:
    del trainer.train_iteration
  return OurRun(trainer, initial_generator, initial_discriminator, iterations,
                trajectory)


def worst_relative_difference(ours: np.ndarray, theirs: np.ndarray,
                              floor: float = 0.0) -> Tuple[float, int]:
  """(max |ours - theirs| / max(|ours|, floor), index of that maximum)."""
  ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
  scale = np.maximum(np.abs(ours), floor)
  with np.errstate(divide='ignore', invalid='ignore'):
    relative = np.where(ours == theirs, 0.0, np.abs(ours - theirs) / scale)
  index = int(np.argmax(relative))
  return float(relative[index]), index
