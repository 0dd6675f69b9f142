"""Dual-pixel data: a physical DP simulator, scene sources, datasets and the DPDD reader.

    optics.py      thin lens -> signed circle of confusion c (px)
    dp_psf.py      left/right PSFs: RDPD Butterworth and Punnappurath translating-disc families
    dp_family.py   the calibrated family (fitted to real views; psf_params/*.json), view_kernels
    psf_fit.py     fit that family to a DP pair without ground truth (cross-convolution)
    psf_calib.py   per-camera calibration documents (k3dn calibrate-psf)
    noise_fit.py   noise and left/right gain of real views; degrade.py: 8-bit / palette / JPEG views
    sim2real.py    ground-truth-free statistics of real vs simulated pairs
    render.py      layered occlusion-aware compositing (Ikoma et al. 2021), FFT/direct convolution
    sensor.py      per-view gain, Poisson-Gaussian noise, sRGB, 16-bit quantization
    simulate.py    simulate_pair: the forward model end to end
    deadleaves.py  dead-leaves scenes with per-leaf depth
    depth.py       synthetic depth maps; stereo disparity -> depth
    photos.py      photographs bundled with scikit-image; user image folders
    generate.py    random_sample: scene + random camera + simulation
    datasets.py    TrainDataset, make_eval_set, SynthFolder
    dpdd.py        DPDDDataset (Canon DP dataset layout)
"""

from .datasets import SynthFolder, TrainDataset, make_eval_set
from .dp_psf import FAMILIES, RDPD_GRID, ButterworthParams, dp_kernels, full_aperture_kernel
from .dpdd import DPDDDataset
from .generate import random_sample
from .optics import Camera
from .sensor import SensorParams
from .simulate import dp_hflip, render_dp, simulate_pair

__all__ = ["FAMILIES", "RDPD_GRID", "ButterworthParams", "Camera", "DPDDDataset", "SensorParams", "SynthFolder",
           "TrainDataset", "dp_hflip", "dp_kernels", "full_aperture_kernel", "make_eval_set", "random_sample",
           "render_dp", "simulate_pair"]
