"""DCGAN (Radford et al. 2016), as in the TensorFlow DCGAN tutorial: noise in, image out, and a
discriminator that only judges real versus fake."""

from tfgan2.models import base, registry


@registry.register
class DCGAN(base.GAN):
    """The unconditional GAN: it needs no labels and ignores them when the data has some. Every
    part comes from the contract's defaults (`base.GAN`)."""

    kind = 'dcgan'

    def build_networks(self):
        return self.build_generator(), self.build_discriminator()
