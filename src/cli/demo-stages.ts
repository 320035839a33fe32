/**
 * The demo's stage timings: each step's wall time and the CPU time the process spent in it (all threads, libtorch's
 * included). Wall time is what a newcomer waits; CPU time barely moves when the machine is shared, so it is what
 * compares two runs made under different loads. A step that a resumed demo skips is listed as done before.
 */

export interface StageTime {
  name: string;
  /** Wall seconds; undefined: the step was done by an earlier run and skipped. */
  wall?: number;
  /** CPU seconds of this process (user + system) during the step. */
  cpu?: number;
}

export class StageClock {
  readonly stages: StageTime[] = [];

  /** Runs `fn` as stage `name`, recording its wall and CPU time (or that it was skipped, when `fn` says so). */
  async time<T>(name: string, fn: () => Promise<T>, skipped?: (result: T) => boolean): Promise<T> {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const result = await fn();
    const c = process.cpuUsage(c0);
    if (skipped?.(result)) this.stages.push({ name });
    else this.stages.push({ name, wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 });
    return result;
  }
}

const seconds = (s: number) => (s >= 90 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${s.toFixed(1)} s`);

/** The stages as an aligned table (name, wall, CPU) with a total line for the stages run now. */
export function formatStages(stages: readonly StageTime[]): string {
  const width = Math.max(5, ...stages.map((s) => s.name.length));
  const rows = stages.map((s) =>
    s.wall === undefined
      ? `  ${s.name.padEnd(width)}  done before`
      : `  ${s.name.padEnd(width)}  ${seconds(s.wall).padStart(10)}  ${seconds(s.cpu ?? 0).padStart(10)} CPU`,
  );
  const run = stages.filter((s) => s.wall !== undefined);
  const wall = run.reduce((a, s) => a + (s.wall ?? 0), 0);
  const cpu = run.reduce((a, s) => a + (s.cpu ?? 0), 0);
  return [...rows, `  ${"total".padEnd(width)}  ${seconds(wall).padStart(10)}  ${seconds(cpu).padStart(10)} CPU`].join(
    "\n",
  );
}
