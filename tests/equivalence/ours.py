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

The trainer runs in 'graph' mode by default (tf.function without XLA; eager
costs about 800 Python-dispatched ops per update), with each random op
followed by an identity `tf.numpy_function` that copies the drawn value out
as the compiled step runs; 'eager' reads them directly. Stateless random
ops give the same numbers in eager and graph mode; under XLA they differ
(and XLA cannot run numpy_function), which is why recordings name their
compile mode. A draw recorded wrongly would feed the authors' loop the wrong
numbers and fail the comparison, so the recording cannot make a test pass.
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


# The list the graph-mode captures append to: the current iteration's.
_recording_into: List[List[Draw]] = [[]]


@contextlib.contextmanager
def recording_draws_in_graphs(draws: List[Draw]):
  """`recording_draws` for a trainer compiled with tf.function (no XLA).

  While the block runs, each stateless random op traced is followed by an
  identity `tf.numpy_function` that appends the drawn value to the list of
  the block being run (`draws`) every time the compiled function executes.
  numpy_function is stateful, so tf.function's automatic control
  dependencies run the captures in program order.
  """
  _recording_into[0] = draws
  originals = {op: getattr(tf.random, op) for op in DRAW_OPS}

  def wrap(op):
    def capture(value):
      _recording_into[0].append(Draw(op, np.array(value, copy=True)))
      return value

    def draw(*args, **kwargs):
      value = originals[op](*args, **kwargs)
      recorded = tf.numpy_function(capture, [value], value.dtype,
                                   stateful=True)
      recorded.set_shape(value.shape)
      return recorded
    return draw

  try:
    for op in DRAW_OPS:
      setattr(tf.random, op, wrap(op))
    yield draws
  finally:
    for op, original in originals.items():
      setattr(tf.random, op, original)


def run(paper, config, updates: int, trainer: Optional[object] = None,
        compile_mode: str = 'graph') -> OurRun:
  """Trains `paper` at `config` for `updates` updates and records them.

  Args:
    paper: a paper module (paper_gans.papers.*).
    config: its config (e.g. a reference preset with dtype='float64').
    updates: updates to record (critic and generator updates each count).
    trainer: a trainer built from `config` ('graph' or 'eager'), for a test
      that breaks one on purpose; by default `paper.build_trainer(config,
      compile_mode)`.
    compile_mode: 'graph' or 'eager' (XLA's draws cannot be read out).
  """
  if trainer is None:
    trainer = paper.build_trainer(config, compile_mode)
  if trainer.compile_mode not in ('graph', 'eager'):
    raise ValueError(f'cannot record the draws of a {trainer.compile_mode!r} '
                     "trainer; use 'graph' or 'eager'.")
  recording = (recording_draws if trainer.compile_mode == 'eager'
               else recording_draws_in_graphs)
  initial_generator = values_by_name(trainer.generator)
  initial_discriminator = values_by_name(trainer.discriminator)
  iterations: List[Iteration] = []
  train_iteration = trainer.train_iteration

  def recording_iteration(real_images, real_labels):
    record = Iteration(int(trainer.iteration.numpy()),
                       [np.asarray(x) for x in real_images],
                       [np.asarray(y) for y in real_labels], [])
    iterations.append(record)
    with recording(record.draws):
      return train_iteration(real_images, real_labels)

  trainer.train_iteration = recording_iteration
  try:
    trajectory = reference.record(paper, config, updates,
                                  trainer.compile_mode, trainer=trainer)
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
