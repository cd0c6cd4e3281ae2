"""Reproduce Arjovsky et al. 2017, WGAN with weight clipping and RMSprop.

Defaults are those of the authors' code, martinarjovsky/WassersteinGAN
main.py (each flag's help names its source): RMSprop lr 5e-5 with PyTorch's
rule (alpha 0.99, eps 1e-8), critic weights clamped to [-0.01, 0.01] before
every critic step, 5 critic iterations per generator iteration but 100 for
the first 25 and every 500th, batch 64, z ~ N(0, 1) of 100, DCGAN generator
and critic (4x4 kernels, ngf = ndf = 64, batch norm), images in [-1, 1],
64x64, 25 epochs. Where the paper and the code disagree the code wins and
the paper's value is a flag: the paper's Algorithm 1 uses n_critic = 5
throughout (`--warmup_generator_iterations=0 --critic_boost_every=<huge>`).
`--generator=mlp` is the code's --mlp_G (paper Fig. 6: no batch norm in G).

Deviations forced by this machine (also in docs/wgan_clip.md):
  * LSUN bedrooms cannot be downloaded offline: the default data set is
    MNIST, resized to the network's resolution, 1 channel.
  * Batches stream across epochs; see paper_gans/papers/wgan_clip.py.

The run ends with the expected-output check of reproductions/expected/
wgan_clip.json (the critic's Wasserstein estimate falls, and across
checkpoints it correlates with the evaluator's Frechet distance); the exit
status is 1 when it fails, 2 for bad input, 3 for a NaN.

    python reproductions/wgan_clip.py --image_size=32 --steps=2000
"""

from paper_gans import cli

cli.quiet_tensorflow()  # Before the paper module imports TensorFlow.

# pylint: disable=wrong-import-position
from paper_gans.papers import wgan_clip

cli.define_config_flags(wgan_clip.WGANClipConfig)
cli.define_run_flags(wgan_clip.NAME)

if __name__ == '__main__':
  cli.run(wgan_clip)
