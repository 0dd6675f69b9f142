"""`k3dn bench`: latency, memory and throughput per backend x precision x size, against this machine's peak.

- `measure`: times one runner in a fresh subprocess (load, first run, >= 10 timed runs, peak RSS).
- `probes`: large fp32 / int8 convolutions through the same runtimes, this machine's GMAC/s ceiling.
- `artifacts`: builds (or reuses) the exported and quantized artifacts a run needs, cached by size and weights.
- `schema`: the JSON result (LiteRT benchmark_model's latency fields, AI Hub perf.yaml's names).
- `report`: the Markdown table, the targets and the latency-vs-megapixels PNG.
- `phone`: the same rows measured on an Android phone over adb (ExecuTorch executor_runner, LiteRT
  benchmark_model), with parsers for both tools' output.
"""
