// Devices the PyTorch way: "cpu", "cuda", "cuda:N"; module.to(device) moving parameters and buffers in place; host
// batches copied to the GPU from pinned memory without blocking; a clear error when CUDA is asked for and the
// linked libtorch has none.
import { native } from "./native.ts";
import type { Module } from "./nn/module.ts";
import { cuda, torchVersion } from "./runtime.ts";
import { aten, type Tensor } from "./tensor.ts";

export type Device = "cpu" | `cuda:${number}`;

const A = {
  to: aten("aten::to", "device"),
  pin: aten("aten::pin_memory"),
  isPinned: aten("aten::is_pinned"),
};

/** Host → CUDA copies made by toDevice through pinned memory, without blocking (tests and benchmarks read it). */
export const hostCopies = { pinnedNonBlocking: 0 };

/** Whether a CPU tensor's memory is page-locked (torch.Tensor.is_pinned). */
export const isPinned = (t: Tensor): boolean => A.isPinned(t) as boolean;

/** A page-locked copy of a CPU tensor (torch.Tensor.pin_memory); needs CUDA. */
export const pinMemory = (t: Tensor): Tensor => A.pin(t) as Tensor;

/** Why CUDA cannot be used here, or null when it can. */
export function cudaUnavailableReason(): string | null {
  if (cuda.isAvailable()) return null;
  return (
    `the ercnn addon is linked against a libtorch ${torchVersion} without CUDA (or no GPU is visible). ` +
    "Build it against a CUDA libtorch: LIBTORCH=/path/to/libtorch (e.g. a CUDA PyTorch's torch/ folder, with " +
    "LIBTORCH_CXX11_ABI matching it) bash scripts/setup.sh; or use --device cpu"
  );
}

/** Parses and checks a device name ("cpu", "cuda", "cuda:1"); `where` names the flag or field in errors. */
export function parseDevice(name: string, where = "--device"): Device {
  const s = name.trim().toLowerCase();
  if (s === "cpu") return "cpu";
  const m = /^cuda(?::(\d+))?$/.exec(s);
  if (!m) throw new Error(`${where}: '${name}' is not a device (cpu, cuda or cuda:N)`);
  const why = cudaUnavailableReason();
  if (why) throw new Error(`${where} ${name}: CUDA is not available: ${why}`);
  const index = m[1] === undefined ? 0 : Number(m[1]);
  const count = cuda.deviceCount();
  if (index >= count)
    throw new Error(`${where} ${name}: there ${count === 1 ? "is 1 GPU" : `are ${count} GPUs`} (cuda:0..${count - 1})`);
  return `cuda:${index}`;
}

/** For rank LOCAL_RANK of a multi-GPU machine: "cuda" means cuda:<localRank> (torchrun's convention). */
export function deviceForRank(name: string, localRank: number, where = "--device"): Device {
  const d = parseDevice(name, where);
  if (d === "cpu" || /:\d+$/.test(name.trim())) return d;
  return parseDevice(`cuda:${localRank}`, where);
}

/** t on `device`; host → CUDA copies go through pinned memory and do not block (the stream orders them). */
export function toDevice(t: Tensor, device: Device): Tensor {
  if (t.device === device) return t;
  if (device !== "cpu" && t.device === "cpu") {
    const pinned = A.pin(t) as Tensor;
    const out = A.to(pinned, device, t.native.dtype(), true, false) as Tensor;
    pinned.dispose(); // safe while the copy runs: the caching host allocator holds the block until the copy's event
    hostCopies.pinnedNonBlocking++;
    return out;
  }
  return A.to(t, device, t.native.dtype(), false, false) as Tensor;
}

/** module.to(device): every parameter and buffer moves in place (same Tensor objects, like PyTorch). */
export function moduleTo<M extends Module>(module: M, device: Device): M {
  for (const t of [...module.parameters(), ...module.buffers()]) {
    if (t.device === device) continue;
    const moved = A.to(t.detach(), device, t.native.dtype(), false, true) as Tensor;
    native.setData(t.native, moved.native);
    moved.dispose();
  }
  return module;
}
