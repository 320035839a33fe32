// CPU allocator: 64-byte-aligned blocks carved from plain malloc().
// c10's default allocator uses posix_memalign(); under Node.js's allocation pattern glibc does not
// reuse freed memalign blocks reliably (RSS grew by one activation per step in half the runs,
// depending on ASLR), while plain malloc() blocks of the same sizes are reused.
// glibc also returns the heap's free top to the system as soon as it exceeds the trim threshold, so a loop of
// multi-megabyte temporaries (an autograd objective evaluated a thousand times) page-faults every block in afresh:
// a 3-op chain on 480k float64 values took 14-26 ms instead of 0.8 ms. M_TOP_PAD keeps kTopPad bytes of free heap
// top mapped (bench/experiments/landscape, issue 13; ERCNN_DEFAULT_ALLOCATOR turns both changes off).
#include <c10/core/CPUAllocator.h>
#include <malloc.h>

#include <cstdlib>

#include "common.h"

namespace ercnn {

namespace {
constexpr size_t kAlign = 64;
constexpr int kTopPad = 256 << 20;

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
  if (std::getenv("ERCNN_DEFAULT_ALLOCATOR") != nullptr) return;
  c10::SetCPUAllocator(&allocator, /*priority=*/10);
  mallopt(M_TOP_PAD, kTopPad);
}

}  // namespace ercnn
