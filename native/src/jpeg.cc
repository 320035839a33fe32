// ercnn_jpeg: synchronous JPEG → RGB decoding through libjpeg-turbo's TurboJPEG API, for worker threads that
// decode many small images (a 32×32 CIFAR JPEG decodes in tens of microseconds; a sharp/libvips pipeline per
// image costs ~200 µs). Independent of libtorch, so data workers do not load it.
#include <napi.h>
#include <turbojpeg.h>

#include <cstring>
#include <string>

namespace {

struct Handle {
  tjhandle h = tjInitDecompress();
  ~Handle() {
    if (h) tjDestroy(h);
  }
};

tjhandle handle() {
  thread_local Handle th;
  return th.h;
}

// decode(bytes: Uint8Array) -> { data: Uint8Array (RGB, HWC), width, height }
Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "decode: expected a Uint8Array");
  auto arr = info[0].As<Napi::Uint8Array>();
  tjhandle h = handle();
  if (!h) throw Napi::Error::New(env, "decode: cannot initialise libjpeg-turbo");
  int width = 0, height = 0, subsamp = 0, colorspace = 0;
  auto* src = arr.Data();
  auto size = static_cast<unsigned long>(arr.ByteLength());
  if (size < 4 || src[0] != 0xFF || src[1] != 0xD8) throw Napi::Error::New(env, "not a JPEG (no SOI marker)");
  if (tjDecompressHeader3(h, src, size, &width, &height, &subsamp, &colorspace) != 0)
    throw Napi::Error::New(env, std::string("not a readable JPEG: ") + tjGetErrorStr2(h));
  if (width <= 0 || height <= 0 || static_cast<double>(width) * height > 1e9)
    throw Napi::Error::New(env, "JPEG has implausible dimensions");
  auto out = Napi::Uint8Array::New(env, static_cast<size_t>(width) * height * 3);
  if (tjDecompress2(h, src, size, out.Data(), width, 0, height, TJPF_RGB, 0) != 0) {
    std::string msg = tjGetErrorStr2(h);
    // Warnings (e.g. extraneous bytes) are tolerated like PIL does; a truncated file is an error.
    if (tjGetErrorCode(h) != TJERR_WARNING || msg.find("Premature end") != std::string::npos)
      throw Napi::Error::New(env, "corrupt or truncated JPEG: " + msg);
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("data", out);
  r.Set("width", Napi::Number::New(env, width));
  r.Set("height", Napi::Number::New(env, height));
  return r;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("decode", Napi::Function::New(env, Decode));
  exports.Set("version", Napi::String::New(env, "libjpeg-turbo (TurboJPEG API)"));
  return exports;
}

}  // namespace

NODE_API_MODULE(ercnn_jpeg, Init)
