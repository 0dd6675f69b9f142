"""int8 calibration and quantization of K3DN for every export backend, with a measured quality budget.

    calib_set.py    the shared calibration set (simulated DP pairs + user folders, fixed seed, small .npz)
    pt2e.py         PT2E export/prepare/calibrate/convert shared by ExecuTorch and TFLite, layer naming
    recipe.py       the interface of a per-backend recipe
    executorch.py   PT2E + XNNPACK quantizer -> .pte (int8)
    onnx.py         onnxruntime quantize_static, QDQ -> .onnx (int8)
    tflite.py       litert-torch PT2E -> .tflite (int8, and int8-dynamic as the labelled fallback)
    coreml.py       coremltools linear_quantize_weights -> .mlpackage (w8a16)
    sensitivity.py  per-layer sensitivity and the mixed-precision search
    report.py       scores on the eval set, the quality table, the numerics file schema
    pipeline.py     calibrate -> search -> write -> audit -> parity -> score -> sidecar, per recipe

`k3dn quantize` (k3dn/commands/quantize.py) is the CLI. Toolchains are imported only when used.
"""
