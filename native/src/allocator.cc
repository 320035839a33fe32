// CPU allocator: 64-byte-aligned blocks carved from plain malloc(), with large blocks cached for reuse.
// c10's default allocator uses posix_memalign(); under Node.js's allocation pattern glibc does not
// reuse freed memalign blocks reliably (RSS grew by one activation per step in half the runs,
// depending on ASLR), while plain malloc() blocks of the same sizes are reused.
// glibc also returns the heap's free top to the system as soon as it exceeds the trim threshold, so a loop of
// multi-megabyte temporaries (an autograd objective evaluated a thousand times) page-faults every block in afresh:
// a 3-op chain on 480k float64 values took 14-26 ms instead of 0.8 ms. M_TOP_PAD keeps kTopPad bytes of free heap
// top mapped (bench/experiments/landscape, issue 13).
// Blocks over glibc's largest mmap threshold (32 MB) are always fresh mmap()s, unmapped again on free: a training
// step allocates the same activations every step (airbench94 at batch 1024: 256 MB for one 64-channel 32×32 map),
// and the kernel faults in and zeroes every page of each on first touch, every step (a quarter of a training run's
// CPU time was system time). So blocks of kCacheMin bytes and more are kept on free, by size class (8 classes per
// power of two, at most 12.5% over the request), and handed out again for the same class, up to a cap on the bytes
// kept (ERCNN_ALLOCATOR_CACHE_MB, default a third of physical memory; 0 turns the cache off). A failed malloc()
// empties the cache and tries again. ERCNN_DEFAULT_ALLOCATOR turns all of this off (c10's allocator).
#include <c10/core/CPUAllocator.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common.h"

namespace ercnn {

namespace {
constexpr size_t kAlign = 64;
constexpr int kTopPad = 256 << 20;
constexpr size_t kCacheMin = size_t(1) << 20;

// Header below the aligned data pointer: [-1] the malloc()ed pointer, [-2] the block's size class (0: not cached).
// glibc's malloc returns 16-byte-aligned pointers, so the gap to the 64-byte-aligned address is 16 bytes or more.
struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free;  // size class → aligned data pointers
  size_t cap = 0;
  size_t held = 0;
  uint64_t hits = 0, misses = 0;

  // Frees every kept block (the caller holds mu).
  void drain() {
    for (auto& [cls, blocks] : free)
      for (void* data : blocks) std::free(static_cast<void**>(data)[-1]);
    free.clear();
    held = 0;
  }
};
// Never destroyed: tensors freed by other static destructors at exit still find it.
Cache& cache = *new Cache;

size_t sizeClass(size_t n) {
  int top = 63 - __builtin_clzll(n);
  size_t step = size_t(1) << (top - 3);
  return (n + step - 1) & ~(step - 1);
}

void* fresh(size_t bytes, size_t cls) {
  void* raw = std::malloc(bytes + kAlign);
  if (raw == nullptr && cls != 0) {
    std::lock_guard<std::mutex> lock(cache.mu);
    cache.drain();
  }
  if (raw == nullptr) raw = std::malloc(bytes + kAlign);
  TORCH_CHECK(raw != nullptr, "ercnn: out of memory allocating ", bytes, " bytes");
  auto addr = (reinterpret_cast<uintptr_t>(raw) + kAlign) & ~(uintptr_t)(kAlign - 1);
  void* data = reinterpret_cast<void*>(addr);
  static_cast<void**>(data)[-1] = raw;
  static_cast<size_t*>(data)[-2] = cls;
  return data;
}

void freeBlock(void* data) {
  if (!data) return;
  size_t cls = static_cast<size_t*>(data)[-2];
  if (cls != 0) {
    std::lock_guard<std::mutex> lock(cache.mu);
    if (cache.held + cls <= cache.cap) {
      cache.free[cls].push_back(data);
      cache.held += cls;
      return;
    }
  }
  std::free(static_cast<void**>(data)[-1]);
}

void* allocateBlock(size_t nbytes) {
  if (nbytes < kCacheMin || cache.cap == 0) return fresh(nbytes, 0);
  size_t cls = sizeClass(nbytes);
  {
    std::lock_guard<std::mutex> lock(cache.mu);
    auto it = cache.free.find(cls);
    if (it != cache.free.end() && !it->second.empty()) {
      void* data = it->second.back();
      it->second.pop_back();
      cache.held -= cls;
      cache.hits++;
      return data;
    }
    cache.misses++;
  }
  return fresh(cls, cls);
}

struct MallocCPUAllocator final : at::Allocator {
  at::DataPtr allocate(size_t nbytes) const override {
    if (nbytes == 0) return {nullptr, nullptr, &freeBlock, at::Device(at::DeviceType::CPU)};
    void* data = allocateBlock(nbytes);
    return {data, data, &freeBlock, at::Device(at::DeviceType::CPU)};
  }
  at::DeleterFnPtr raw_deleter() const override {
    return &freeBlock;
  }
};

MallocCPUAllocator allocator;
bool installed = false;

// allocatorStats(): what the cache holds and how often it served a large block.
Napi::Value Stats(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto o = Napi::Object::New(env);
  std::lock_guard<std::mutex> lock(cache.mu);
  o.Set("installed", Napi::Boolean::New(env, installed));
  o.Set("capBytes", Napi::Number::New(env, static_cast<double>(cache.cap)));
  o.Set("heldBytes", Napi::Number::New(env, static_cast<double>(cache.held)));
  o.Set("hits", Napi::Number::New(env, static_cast<double>(cache.hits)));
  o.Set("misses", Napi::Number::New(env, static_cast<double>(cache.misses)));
  return o;
}

// allocatorEmptyCache(): frees every kept block (torch.cuda.empty_cache's CPU counterpart).
Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(cache.mu);
  cache.drain();
  return info.Env().Undefined();
}
}  // namespace

void InstallAllocator() {
  if (std::getenv("ERCNN_DEFAULT_ALLOCATOR") != nullptr) return;
  const char* mb = std::getenv("ERCNN_ALLOCATOR_CACHE_MB");
  if (mb != nullptr) {
    cache.cap = static_cast<size_t>(std::strtoull(mb, nullptr, 10)) << 20;
  } else {
    long pages = sysconf(_SC_PHYS_PAGES);
    long page = sysconf(_SC_PAGESIZE);
    cache.cap = pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) / 3 : 0;
  }
  c10::SetCPUAllocator(&allocator, /*priority=*/10);
  mallopt(M_TOP_PAD, kTopPad);
  installed = true;
}

void InitAllocator(Napi::Env env, Napi::Object exports) {
  exports.Set("allocatorStats", Napi::Function::New(env, Stats));
  exports.Set("allocatorEmptyCache", Napi::Function::New(env, EmptyCache));
}

}  // namespace ercnn
