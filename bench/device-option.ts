// The benchmarks' --device: cpu, cuda or cuda:N, parsed by the CLI's strict parser (src/cli/parse.ts) and checked by
// torch/device.ts, so a CUDA request on a CPU-only libtorch stops with `ercnn train`'s message before measuring.
import { deviceName } from "../src/cli/parse.ts";
import { type Device, parseDevice } from "../src/torch/device.ts";
import { type Tensor, tidy } from "../src/torch/index.ts";

export function deviceOption(raw: string | undefined): Device {
  const given = raw ?? "cpu";
  try {
    let name: string;
    try {
      name = deviceName(given);
    } catch (e) {
      throw new Error(`--device: '${given}' is invalid: ${(e as Error).message}`);
    }
    return parseDevice(name);
  } catch (e) {
    process.stderr.write(`${process.argv[1]}: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

/** Waits for the device's queued work (CUDA runs asynchronously): reading one value back synchronises. */
export function synchronize(device: Device, probe: Tensor): void {
  if (device !== "cpu") tidy(() => probe.sum().item());
}
