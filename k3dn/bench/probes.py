"""This machine's ceiling: one large 3x3 convolution (128 -> 128 channels, 1 x 128 x 256 x 256) per runtime.

K3DN's work is convolutions, so a convolution the runtime handles at its best (many channels, a large
plane, NHWC) is the fair peak for "fraction of peak": `torch-conv-fp32` (PyTorch -> oneDNN, channels_last),
`xnnpack-conv-fp32` (the conv as an ExecuTorch XNNPACK .pte), `xnnpack-conv-int8` (PT2E int8 with the XNNPACK
quantizer, .pte) and `ort-conv-int8` (ONNX Runtime QDQ, uint8 activations / int8 weights, which ORT runs as
QLinearConv). Each probe is timed like a row (fresh process, same threads). fp32 rows are compared with the
best fp32 probe, int8 rows with the best int8 probe.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

CHANNELS, KERNEL, PLANE = 128, 3, (256, 256)
PROBES: dict[str, tuple[str, str]] = {  # name -> (precision, what it runs)
    "torch-conv-fp32": ("fp32", "PyTorch (oneDNN), channels_last"),
    "xnnpack-conv-fp32": ("fp32", "ExecuTorch XNNPACK .pte"),
    "xnnpack-conv-int8": ("int8", "ExecuTorch XNNPACK .pte, PT2E int8 (per-channel weights)"),
    "ort-conv-int8": ("int8", "ONNX Runtime QDQ (u8 activations, s8 per-channel weights)"),
}


def probe_gmac() -> float:
    """Multiply-accumulates of one probe convolution, in G."""
    return CHANNELS * CHANNELS * KERNEL * KERNEL * PLANE[0] * PLANE[1] / 1e9


def _conv():
    import torch

    torch.manual_seed(0)
    return torch.nn.Conv2d(CHANNELS, CHANNELS, KERNEL, padding=KERNEL // 2).eval()


def _example():
    import torch

    return (torch.rand(1, CHANNELS, *PLANE, generator=torch.Generator().manual_seed(0)),)


def build_probe(name: str, folder: Path) -> Path | None:
    """The probe's artifact in `folder` (built if missing); None for the torch probe, which needs none."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    if name == "torch-conv-fp32":
        return None
    if name.startswith("xnnpack"):
        from k3dn.export.executorch import write_pte

        path = folder / f"{name}_{PLANE[0]}x{PLANE[1]}.pte"
        if path.exists():
            return path
        module = _conv()
        if name.endswith("int8"):
            from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
                XNNPACKQuantizer,
                get_symmetric_quantization_config,
            )
            from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

            quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
            graph = torch.export.export(module, _example(), strict=False).module()
            prepared = prepare_pt2e(graph, quantizer)
            prepared(*_example())
            module = convert_pt2e(prepared)
        return write_pte(module, _example(), path)
    if name == "ort-conv-int8":
        path = folder / f"{name}_{PLANE[0]}x{PLANE[1]}.onnx"
        if not path.exists():
            _write_ort_int8(path)
        return path
    raise KeyError(name)


def _write_ort_int8(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    conv = _conv()
    weight = numpy_helper.from_array(conv.weight.detach().numpy(), "w")
    bias = numpy_helper.from_array(conv.bias.detach().numpy(), "b")
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])
    shape = [1, CHANNELS, *PLANE]
    graph = helper.make_graph([node], "probe", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], [weight, bias])
    fp32 = path.with_suffix(".fp32.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(fp32))
    x = _example()[0].numpy()

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{"x": x}])

        def get_next(self):
            return next(self.items, None)

    quantize_static(str(fp32), str(path), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    fp32.unlink()


def open_probe(spec: dict) -> tuple[object, Callable[..., object]]:
    """(holder, call) for a probe spec {"probe": name, "path": artifact or None, "threads": n}; call ignores
    its arguments and runs the probe on its own fixed input."""
    name, threads = spec["probe"], spec.get("threads")
    x = _example()[0]
    if name == "torch-conv-fp32":
        import torch

        if threads:
            torch.set_num_threads(threads)
        conv = _conv().to(memory_format=torch.channels_last)
        xc = x.contiguous(memory_format=torch.channels_last)

        def run_torch(*_: object) -> object:
            with torch.no_grad():
                return conv(xc)

        return conv, run_torch
    if name.startswith("xnnpack"):
        from executorch.runtime import Runtime

        if threads:
            from executorch.extension.pybindings.portable_lib import _unsafe_reset_threadpool

            _unsafe_reset_threadpool(int(threads))
        method = Runtime.get().load_program(Path(spec["path"])).load_method("forward")
        return method, lambda *_: method.execute([x])
    if name == "ort-conv-int8":
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads, opts.inter_op_num_threads = int(threads), 1
        session = ort.InferenceSession(spec["path"], opts, providers=["CPUExecutionProvider"])
        feed = {"x": np.ascontiguousarray(x.numpy())}
        return session, lambda *_: session.run(None, feed)
    raise KeyError(name)
