"""The one training loop every GAN shares: `config` (what a run is told), `state` (what a
checkpoint holds), `step` (one update on every replica), `outputs` (what a run leaves for
people) and `loop` (the `Trainer` that runs epochs). `tfgan2.Trainer` is the entry point."""
