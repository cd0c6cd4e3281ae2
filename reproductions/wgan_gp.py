"""Reproduce Gulrajani et al. 2017, WGAN with gradient penalty (WGAN-GP).

    python reproductions/wgan_gp.py --dataset=8gaussians --steps=3000
    python reproductions/wgan_gp.py --dataset=25gaussians --steps=3000
    python reproductions/wgan_gp.py --dataset=mnist --dim=16 --steps=400

(the documented short CPU runs; without --steps a run lasts the scripts'
ITERS, 100,000 or 200,000 generator iterations).

Defaults are the authors' code, igul222/improved_wgan_training (each flag's
help names its source). `--dataset` picks the script's preset:
  * toys (8gaussians, 25gaussians, swissroll): gan_toy.py, ReLU MLP 3 x 512
    in both nets, z ~ N(0, 1)^2, batch 256, lambda 0.1, 5 critic steps, Adam
    1e-4 with betas 0.5 and 0.9 (TF1 epsilon 1e-8), 100,000 iterations;
  * image sets (mnist, fashion_mnist, tfds:<name>, folder:<path>):
    gan_mnist.py, DCGAN-like nets with DIM 64 and no batch norm, z ~ N(0, 1)
    of 128, batch 50, lambda 10, 5 critic steps, the same Adam, data in
    [0, 1], 200,000 iterations; MNIST trains on train[:50000], the training
    part of the mnist.pkl.gz the authors read.
The penalty draws alpha ~ U[0, 1] once per example, on the critic loss's own
fake batch, with a fresh real batch for every critic step.

Where the paper and the code disagree the code is the default and the paper
is a flag: `--preset=algorithm1` uses the paper's Algorithm 1 values
(lambda 10, n_critic 5, Adam lr 1e-4, beta1 0, beta2 0.9) with the data
set's nets and batch size. Any single value can be set by its own flag,
which wins over the preset.

On the toys the run also trains gan_toy.py's weight-clipping mode
(`MODE = 'wgan'`: RMSProp 5e-5 with TF1's rule, critic parameters clipped to
[-0.01, 0.01] after each critic step) for the same number of iterations in
<workdir>/weight_clipping, and saves figure1.png: the critic's value surface
with real and generated samples for both methods side by side, and the
histograms of their critic parameters (paper Figure 1). Turn it off with
--noclipping_comparison.

    python reproductions/wgan_gp.py --fixed_generator --steps=1000

(8 Gaussians; --dataset=25gaussians and swissroll too) holds the generator
fixed at the real data plus N(0, 1) noise, as gan_toy.py's
FIXED_GENERATOR = True does for the paper's Figure 1 plots: only the critics
train (both of them), figure1.png shows their value surfaces against the real
data and its noisy copy, and the check asks whether the critics are close to
optimal instead of measuring a generator (see reproductions/expected/
wgan_gp.json, "fixed_generator").

Deviations forced by this machine or the data (also in docs/wgan_gp.md):
  * Run length: the documented CPU runs are 3,000 generator iterations on
    the toys and 400 on MNIST (--steps), not ITERS; the expected-output
    check then applies its short-run thresholds.
  * MNIST smoke run at --dim=16: gan_mnist.py's DIM 64 costs about 10
    CPU-seconds per generator iteration on this machine.
  * Image sets other than MNIST are resized to 28 x 28 x 1 for gan_mnist.py's
    nets; the expected-output check has an evaluator for MNIST only.
  * Unseeded NumPy initialisation and data order in the authors' code are
    stateless functions of --seed here.

The run ends with the expected-output check of reproductions/expected/
wgan_gp.json; the exit status is 1 when it fails, 2 for bad input, 3 for a
NaN.
"""

from paper_gans import cli

cli.quiet_tensorflow()  # Before the paper module imports TensorFlow.

# pylint: disable=wrong-import-position
from paper_gans.papers import wgan_gp

cli.define_config_flags(wgan_gp.WGANGPConfig)
cli.define_run_flags(wgan_gp.NAME)

if __name__ == '__main__':
  cli.run(wgan_gp)
