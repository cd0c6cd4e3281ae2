r"""Reproduce Radford et al. 2015, DCGAN (arXiv:1511.06434).

Defaults are those of the authors' code, Newmu/dcgan_code
faces/train_uncond_dcgan.py with lib/updates.py (each flag's help names its
source): G projects z ~ U(-1, 1)^100 to 4x4x(8 ngf) and doubles the
resolution with 5x5 stride-2 fractionally strided convolutions up to 64x64,
tanh output; D mirrors it with 5x5 stride-2 convolutions and LeakyReLU 0.2;
batch norm everywhere except G's output and D's input; no pooling, no hidden
fully connected layers, no biases; ngf = ndf = 128; weights N(0, 0.02);
Adam lr 2e-4, beta1 0.5 (beta2 0.999, epsilon 1e-8, Algorithm 1), L2 1e-5
added to every gradient; batch 128; images in [-1, 1]; one discriminator
update per generator update on separate minibatches; 25 epochs (niter 25,
niter_decay 0). The paper's section 4 gives the same Adam settings, batch,
initialisation and LeakyReLU slope; the code fixes the rest.

`--image_size` (16, 32, 64, 128, ...), `--generator_width` (ngf) and
`--discriminator_width` (ndf) let the same code train MNIST on a CPU and
faces or bedrooms on a GPU (`--dataset=tfds:<name>` where prepared, or
`--dataset=folder:<path>`).

Updates run in the authors' order, G, D, G, D, ... from a lone generator
update against the untrained discriminator (`n_updates % (k + 1) == 0` runs
`_train_g`); `--nogenerator_first` gives D, G, D, G, ..., the order of an
earlier documented CPU run, made before the engine could start with G.
Differences from the authors' loop (paper_gans/papers/dcgan.py has the
details): epochs count one minibatch per update as their loop draws them
(their G update ignores its minibatch); partial batches are dropped; metrics
sample G with batch-norm moving averages (the final Frechet distance is also
given with batch statistics, their way).

Deviations forced by this machine (also in docs/dcgan.md):
  * LSUN bedrooms, the faces set and Imagenet-1k cannot be downloaded
    offline: the default data set is MNIST resized (bilinear) to the
    network's resolution, 1 channel. The paper reports no MNIST number for
    the unconditional model; the measured claims are sample quality against
    real-data ceilings and smooth latent walks (section 6.1, Fig. 4).

The run ends with the expected-output check of reproductions/expected/
dcgan.json (classifier score and Frechet distance of the final samples, and
the smoothness of latent walks); the exit status is 1 when it fails, 2 for
bad input, 3 for a NaN. The documented CPU run (default G-first order; the
earlier run added --nogenerator_first):

    python reproductions/dcgan.py --image_size=32 --generator_width=32 \
        --discriminator_width=32 --steps=1000 --checkpoint_every=250 \
        --sample_every=250
"""

from paper_gans import cli

cli.quiet_tensorflow()  # Before the paper module imports TensorFlow.

# pylint: disable=wrong-import-position
from paper_gans.papers import dcgan

cli.define_config_flags(dcgan.DCGANConfig)
cli.define_run_flags(dcgan.NAME)

if __name__ == '__main__':
  cli.run(dcgan)
