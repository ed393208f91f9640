"""ml: the equivariant network (blocks built from irreps), the model cards and weights, the
applicability check, prediction and stored predictions. PyTorch is imported only when a
network runs (:mod:`mepviz.ml.model`)."""
