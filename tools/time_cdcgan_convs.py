"""Times three conditional-DCGAN layers alone (batch 100) under XLA or without it.

usage: XLA_FLAGS=... python tools/time_cdcgan_convs.py xla|graph

Measurement script for README "Performance", item 8 (XLA:CPU flags tried); not part of the package.
Layers: conv 14x14 -> 7x7, 128 -> 256 channels, 5x5 stride 2, forward and both gradients;
its transposed twin 7x7 -> 14x14; the 1x1 -> 7x7 transposed convolution, forward only.
Median of 7 after one compiling call.
"""
import os, time, statistics, sys
import tensorflow as tf
jit = sys.argv[1] == 'xla'
x = tf.random.stateless_normal([100, 14, 14, 128], seed=[0, 1])
w = tf.Variable(tf.random.stateless_normal([5, 5, 128, 256], seed=[0, 2]) * 0.02)
xt = tf.random.stateless_normal([100, 7, 7, 256], seed=[0, 3])
wt = tf.Variable(tf.random.stateless_normal([5, 5, 128, 256], seed=[0, 4]) * 0.02)
z = tf.random.stateless_normal([100, 1, 1, 110], seed=[0, 5])
w1 = tf.Variable(tf.random.stateless_normal([7, 7, 256, 110], seed=[0, 6]) * 0.02)
@tf.function(jit_compile=jit)
def conv(x):
  with tf.GradientTape() as t:
    t.watch(x)
    y = tf.nn.conv2d(x, w, 2, 'SAME')
    l = tf.reduce_sum(y * y)
  gx, gw = t.gradient(l, [x, w])
  return tf.reduce_sum(gx) + tf.reduce_sum(gw)
@tf.function(jit_compile=jit)
def tconv(x):
  with tf.GradientTape() as t:
    t.watch(x)
    y = tf.nn.conv2d_transpose(x, wt, [100, 14, 14, 128], 2, 'SAME')
    l = tf.reduce_sum(y * y)
  gx, gw = t.gradient(l, [x, wt])
  return tf.reduce_sum(gx) + tf.reduce_sum(gw)
@tf.function(jit_compile=jit)
def t1(z):
  return tf.reduce_sum(tf.nn.conv2d_transpose(z, w1, [100, 7, 7, 256], 1, 'VALID'))
for name, f, a in (('conv14-7', conv, x), ('tconv7-14', tconv, xt), ('t1x1-7 fwd', t1, z)):
  f(a).numpy()
  s = []
  for _ in range(7):
    b = time.perf_counter(); f(a).numpy(); s.append(time.perf_counter() - b)
  print(f"{name}: {1000*statistics.median(s):.1f} ms", flush=True)
