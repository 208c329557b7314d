"""tfgan2: the classic GAN tutorials (DCGAN, CGAN, ACGAN, InfoGAN) as production-grade TensorFlow 2."""

__version__ = '0.1.0'
