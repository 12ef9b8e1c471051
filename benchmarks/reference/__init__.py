"""Reference weight-sharing NAS implementations, rebuilt in plain PyTorch from the papers' public code.

They exist so that archlang's compiled supernets can be benchmarked against an independent
baseline: nothing in this package imports archlang.

* ``darts``   -- the DARTS CIFAR-10 search network, its genotype rule and its Architect
                 (Liu, Simonyan & Yang, ICLR 2019; github.com/quark0/darts, ``cnn/``).
* ``pcdarts`` -- PC-DARTS partial-channel connections and edge normalisation
                 (Xu et al., ICLR 2020; github.com/yuhuixu1993/PC-DARTS).
* ``measure`` -- model-agnostic CPU measurements: parameter count, step time, memory of tensors
                 saved for backward, and peak memory of one training step.

See ``README.md`` in this folder for what each file rebuilds and where it departs from the original.
"""
