// Runs one ExecuTorch .pte on raw float32 inputs and writes its first output as raw float32:
//   et_runner MODEL.pte LEFT.f32 RIGHT.f32 OUT.f32
// Built twice from this one source by benchmarks/arm_parity.sh, natively (x86-64) and with g++-aarch64-linux-gnu,
// against the same executorch wheel version's libexecutorch*.so, so the two outputs differ only by the CPU
// kernels (XNNPACK's x86 or ARM micro-kernels). libexecutorch_backend_xnnpack.so is linked with --no-as-needed:
// its static initialiser registers the XNNPACK backend the .pte is delegated to.

#include <executorch/extension/module/module.h>
#include <executorch/extension/tensor/tensor.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using executorch::extension::from_blob;
using executorch::extension::module::Module;
using executorch::runtime::Error;
using executorch::runtime::EValue;

static bool read_f32(const char* path, size_t numel, std::vector<float>& out) {
  std::ifstream f(path, std::ios::binary);
  out.resize(numel);
  f.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(numel * sizeof(float)));
  return f.gcount() == static_cast<std::streamsize>(numel * sizeof(float)) && f.peek() == EOF;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s MODEL.pte LEFT.f32 RIGHT.f32 OUT.f32\n", argv[0]);
    return 2;
  }
  Module module(argv[1], Module::LoadMode::Mmap);
  if (module.load_forward() != Error::Ok) {
    std::fprintf(stderr, "%s: ExecuTorch could not load method 'forward'\n", argv[1]);
    return 1;
  }
  auto meta = module.method_meta("forward");
  if (!meta.ok() || meta->num_inputs() != 2 || !meta->input_tensor_meta(0).ok()) {
    std::fprintf(stderr, "%s: expected forward(left, right) with two tensor inputs\n", argv[1]);
    return 1;
  }
  std::vector<executorch::aten::SizesType> shape;
  size_t numel = 1;
  for (auto s : meta->input_tensor_meta(0)->sizes()) {
    shape.push_back(s);
    numel *= static_cast<size_t>(s);
  }
  std::vector<float> left, right;
  if (!read_f32(argv[2], numel, left) || !read_f32(argv[3], numel, right)) {
    std::fprintf(stderr, "inputs must hold exactly %zu float32 values each\n", numel);
    return 2;
  }
  auto tl = from_blob(left.data(), shape, executorch::aten::ScalarType::Float);
  auto tr = from_blob(right.data(), shape, executorch::aten::ScalarType::Float);
  auto result = module.forward({EValue(tl), EValue(tr)});
  if (!result.ok()) {
    std::fprintf(stderr, "forward failed (error %d)\n", static_cast<int>(result.error()));
    return 1;
  }
  const auto& sharp = result->at(0).toTensor();
  std::ofstream out(argv[4], std::ios::binary);
  out.write(reinterpret_cast<const char*>(sharp.const_data_ptr<float>()),
            static_cast<std::streamsize>(sharp.numel() * sizeof(float)));
  return out.good() ? 0 : 1;
}
