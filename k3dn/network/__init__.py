"""The K3DN network: config, blocks, codec, disparity, kernels, PSF inversion, SRP, the model and its weights
on disk. It imports nothing from the rest of k3dn."""
