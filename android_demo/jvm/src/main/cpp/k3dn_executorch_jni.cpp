// JNI shim: org.k3dn.jvm.ExecuTorchJniRunner -> ExecuTorch's C++ Module API (extension/module).
//
// Built by android_demo/run-tests.sh against the libexecutorch*.so and headers of the executorch PyPI
// wheel; libexecutorch_backend_xnnpack.so is linked with --no-as-needed so its static initialiser
// registers the XNNPACK backend the exported .pte is delegated to.

#include <jni.h>

#include <executorch/extension/module/module.h>
#include <executorch/extension/tensor/tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace {

using executorch::extension::from_blob;
using executorch::extension::module::Module;
using executorch::runtime::Error;
using executorch::runtime::EValue;

struct Runner {
  std::unique_ptr<Module> module;
  std::vector<executorch::aten::SizesType> shape;  // of each input, N x 3 x H x W
  size_t numel = 0;
};

void throw_java(JNIEnv* env, const std::string& msg) {
  jclass cls = env->FindClass("java/lang/IllegalStateException");
  if (cls != nullptr) env->ThrowNew(cls, msg.c_str());
}

}  // namespace

extern "C" {

JNIEXPORT jlong JNICALL Java_org_k3dn_jvm_ExecuTorchJniRunner_nativeOpen(JNIEnv* env, jclass, jstring jpath) {
  const char* cpath = env->GetStringUTFChars(jpath, nullptr);
  std::string path(cpath);
  env->ReleaseStringUTFChars(jpath, cpath);
  auto runner = std::make_unique<Runner>();
  runner->module = std::make_unique<Module>(path, Module::LoadMode::Mmap);
  Error err = runner->module->load_forward();
  if (err != Error::Ok) {
    throw_java(env, path + ": ExecuTorch could not load method 'forward' (error " +
                        std::to_string(static_cast<int>(err)) + ")");
    return 0;
  }
  auto meta = runner->module->method_meta("forward");
  if (!meta.ok() || meta->num_inputs() != 2) {
    throw_java(env, path + ": expected a forward(left, right) method with two inputs");
    return 0;
  }
  auto in0 = meta->input_tensor_meta(0);
  if (!in0.ok()) {
    throw_java(env, path + ": input 0 is not a tensor");
    return 0;
  }
  size_t numel = 1;
  for (auto s : in0->sizes()) {
    runner->shape.push_back(s);
    numel *= static_cast<size_t>(s);
  }
  runner->numel = numel;
  return reinterpret_cast<jlong>(runner.release());
}

JNIEXPORT jintArray JNICALL Java_org_k3dn_jvm_ExecuTorchJniRunner_nativeInputShape(JNIEnv* env, jclass,
                                                                                  jlong handle) {
  auto* r = reinterpret_cast<Runner*>(handle);
  jintArray out = env->NewIntArray(static_cast<jsize>(r->shape.size()));
  std::vector<jint> v(r->shape.begin(), r->shape.end());
  env->SetIntArrayRegion(out, 0, static_cast<jsize>(v.size()), v.data());
  return out;
}

JNIEXPORT jfloatArray JNICALL Java_org_k3dn_jvm_ExecuTorchJniRunner_nativeRun(JNIEnv* env, jclass, jlong handle,
                                                                             jfloatArray jleft, jfloatArray jright) {
  auto* r = reinterpret_cast<Runner*>(handle);
  if (static_cast<size_t>(env->GetArrayLength(jleft)) != r->numel ||
      static_cast<size_t>(env->GetArrayLength(jright)) != r->numel) {
    throw_java(env, "input length differs from the model's " + std::to_string(r->numel) + " values");
    return nullptr;
  }
  std::vector<float> left(r->numel), right(r->numel);
  env->GetFloatArrayRegion(jleft, 0, static_cast<jsize>(r->numel), left.data());
  env->GetFloatArrayRegion(jright, 0, static_cast<jsize>(r->numel), right.data());
  auto tl = from_blob(left.data(), r->shape, executorch::aten::ScalarType::Float);
  auto tr = from_blob(right.data(), r->shape, executorch::aten::ScalarType::Float);
  auto result = r->module->forward({EValue(tl), EValue(tr)});
  if (!result.ok()) {
    throw_java(env, "ExecuTorch forward failed (error " + std::to_string(static_cast<int>(result.error())) + ")");
    return nullptr;
  }
  const auto& sharp = result->at(0).toTensor();
  if (static_cast<size_t>(sharp.numel()) != r->numel) {
    throw_java(env, "output has " + std::to_string(sharp.numel()) + " values, expected " + std::to_string(r->numel));
    return nullptr;
  }
  jfloatArray out = env->NewFloatArray(static_cast<jsize>(r->numel));
  env->SetFloatArrayRegion(out, 0, static_cast<jsize>(r->numel), sharp.const_data_ptr<float>());
  return out;
}

JNIEXPORT void JNICALL Java_org_k3dn_jvm_ExecuTorchJniRunner_nativeClose(JNIEnv*, jclass, jlong handle) {
  delete reinterpret_cast<Runner*>(handle);
}

}  // extern "C"
