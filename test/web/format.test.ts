// The page's durations and rates: "47 ms", not "0.0 s"; two significant digits of img/s, not "426".
import assert from "node:assert/strict";
import { test } from "node:test";
import { fmtRate, fmtSeconds } from "../../web/format.ts";

test("durations: ms below a second, one decimal below a minute, then minutes and seconds", () => {
  assert.equal(fmtSeconds(0.047), "47 ms");
  assert.equal(fmtSeconds(0.0001), "1 ms");
  assert.equal(fmtSeconds(0.9994), "999 ms");
  assert.equal(fmtSeconds(1.25), "1.3 s");
  assert.equal(fmtSeconds(59.9), "59.9 s");
  assert.equal(fmtSeconds(119.6), "2 min 0 s");
  assert.equal(fmtSeconds(150), "2 min 30 s");
});

test("rates: two significant digits", () => {
  assert.equal(fmtRate(20, 0.047), "430 img/s");
  assert.equal(fmtRate(3, 2), "1.5 img/s");
  assert.equal(fmtRate(12_345, 1), "12,000 img/s");
  assert.equal(fmtRate(1, 3), "0.33 img/s");
  assert.equal(fmtRate(5, 0), "5,000 img/s");
});
