import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { csvField, formatCell, toCsv, toMarkdown } from "../../src/report/table.ts";

describe("tables", () => {
  const rows = [
    { run: "resnet50, aligned", testAcc: 0.6942, epochs: 20, note: 'said "ok"' },
    { run: "a|b", testAcc: null, epochs: 5, note: "two\nlines" },
  ];

  it("CSV follows RFC 4180", () => {
    assert.equal(csvField("plain"), "plain");
    assert.equal(csvField("a,b"), '"a,b"');
    assert.equal(csvField('say "x"'), '"say ""x"""');
    assert.equal(csvField("l1\nl2"), '"l1\nl2"');
    assert.equal(
      toCsv(rows),
      'run,testAcc,epochs,note\r\n"resnet50, aligned",0.6942,20,"said ""ok"""\r\n' + 'a|b,,5,"two\nlines"\r\n',
    );
    assert.equal(
      toCsv(rows, [
        {
          key: "testAcc",
          title: "test acc (%)",
          format: (v) => (typeof v === "number" ? (v * 100).toFixed(2) : "n/a"),
        },
      ]),
      "test acc (%)\r\n69.42\r\nn/a\r\n",
    );
  });

  it("Markdown escapes pipes and newlines, right-aligns numbers", () => {
    assert.equal(
      toMarkdown(rows, ["run", "epochs", { key: "note", title: "Note" }]),
      '| run | epochs | Note |\n| --- | ---: | --- |\n| resnet50, aligned | 20 | said "ok" |\n| a\\|b | 5 | two<br>lines |\n',
    );
    assert.equal(toMarkdown([]), "");
  });

  it("formats cells", () => {
    assert.equal(formatCell(1 / 3), "0.333333");
    assert.equal(formatCell(Number.NaN), "");
    assert.equal(formatCell(Number.POSITIVE_INFINITY), "inf");
    assert.equal(formatCell(true), "true");
    assert.equal(formatCell(undefined), "");
  });
});
