"""Fixtures shared by more than one test file."""

import pytest


@pytest.fixture
def update_sequence(monkeypatch):
  """Runs a trainer and records the order of its players' updates.

  Returns `run(trainer, batches, iterations) -> (updates, consumed)`:
  `batches(k)` gives the (images, labels) lists of k real batches;
  `updates` lists 'G' or 'D' per optimizer update, in order, and `consumed`
  the real batches each generator iteration took.
  """

  def run(trainer, batches, iterations):
    updates = []
    for player, optimizer in (('G', trainer.generator_optimizer),
                              ('D', trainer.discriminator_optimizer)):
      apply = optimizer.apply

      def recording_apply(gradients, player=player, apply=apply):
        updates.append(player)
        return apply(gradients)

      monkeypatch.setattr(optimizer, 'apply', recording_apply)
    consumed = []
    for _ in range(iterations):
      k = trainer.batches_needed()
      trainer.train_iteration(*batches(k))
      consumed.append(k)
    return updates, consumed

  return run
