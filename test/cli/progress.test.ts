// The progress reporter: plain lines off a terminal (rate, ETA, extra fields), a redrawn bar on one.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { createProgress, formatDuration, formatRate } from "../../src/cli/progress.ts";

function sink(isTTY: boolean): Writable & { text: () => string; isTTY: boolean; columns: number } {
  const chunks: string[] = [];
  const w = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  }) as Writable & { text: () => string; isTTY: boolean; columns: number };
  w.text = () => chunks.join("");
  w.isTTY = isTTY;
  w.columns = 200;
  return w;
}

test("off a terminal: plain lines with counts, percentage, rate unit, ETA and the extra fields", () => {
  const s = sink(false);
  const p = createProgress({ label: "epoch 1/2", total: 200, unit: "img", stream: s, intervalMs: 0 });
  p.update(50, undefined, { loss: "0.693" });
  p.increment(50);
  p.stop("done");
  const lines = s.text().trim().split("\n");
  assert.match(lines[0], /^epoch 1\/2: 50\/200 \(25\.0%\) [\d.,?]+ img\/s ETA \S+ loss 0\.693$/);
  assert.match(lines[1], /^epoch 1\/2: 100\/200 \(50\.0%\)/);
  assert.match(lines.at(-2)!, /100\/200/, "stop() prints a last line");
  assert.equal(lines.at(-1), "done");
});

test("on a terminal: a bar with label, value/total and rate", () => {
  const s = sink(true);
  const p = createProgress({ label: "encrypt", total: 10, unit: "img", stream: s });
  p.update(10);
  p.stop();
  assert.match(s.text(), /encrypt \[.*\] 100% 10\/10 \| [\d.,?]+ img\/s/);
});

test("durations and rates read like a person writes them", () => {
  assert.equal(formatDuration(42), "42s");
  assert.equal(formatDuration(125), "2m05s");
  assert.equal(formatDuration(3 * 3600 + 7 * 60), "3h07m");
  assert.equal(formatDuration(Number.NaN), "?");
  assert.equal(formatRate(12345.6), "12,346");
  assert.equal(formatRate(3.0625), "3.1");
});
