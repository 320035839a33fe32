// CPU allocator: 64-byte-aligned blocks carved from plain malloc().
// c10's default allocator uses posix_memalign(); under Node.js's allocation pattern glibc does not
// reuse freed memalign blocks reliably (RSS grew by one activation per step in half the runs,
// depending on ASLR), while plain malloc() blocks of the same sizes are reused.
#include <c10/core/CPUAllocator.h>

#include <cstdlib>

#include "common.h"

namespace ercnn {

namespace {
constexpr size_t kAlign = 64;

// The malloc()ed pointer is stored just below the aligned address, so the data pointer is its own
// context (oneDNN's raw_allocate/raw_deallocate need that).
void freeBlock(void* data) {
  if (data) std::free(static_cast<void**>(data)[-1]);
}

struct MallocCPUAllocator final : at::Allocator {
  at::DataPtr allocate(size_t nbytes) const override {
    if (nbytes == 0) return {nullptr, nullptr, &freeBlock, at::Device(at::DeviceType::CPU)};
    void* raw = std::malloc(nbytes + kAlign);
    TORCH_CHECK(raw != nullptr, "ercnn: out of memory allocating ", nbytes, " bytes");
    auto addr = (reinterpret_cast<uintptr_t>(raw) + kAlign) & ~(uintptr_t)(kAlign - 1);
    void* data = reinterpret_cast<void*>(addr);
    static_cast<void**>(data)[-1] = raw;
    return {data, data, &freeBlock, at::Device(at::DeviceType::CPU)};
  }
  at::DeleterFnPtr raw_deleter() const override {
    return &freeBlock;
  }
};

MallocCPUAllocator allocator;
}  // namespace

void InstallAllocator() {
  if (std::getenv("ERCNN_DEFAULT_ALLOCATOR") == nullptr) c10::SetCPUAllocator(&allocator, /*priority=*/10);
}

}  // namespace ercnn
