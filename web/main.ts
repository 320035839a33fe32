/**
 * The client page: key (generate / load / download), dataset export, and classification through `ercnn serve`.
 * Encryption and image decoding run in a Web Worker (worker.ts); this file is the UI. The key stays in this page and
 * its worker: requests carry ciphertexts and the key's fingerprint only. A key of any scheme (src/cipher/schemes)
 * encrypts, exports and classifies with that scheme; the key panel says which.
 */
import { type KeyMode, shortFingerprint } from "../src/cipher/index.ts";
import {
  isHillKey,
  SCHEMES,
  type SchemeKey,
  type SchemeName,
  type SchemeStructure,
  schemeByName,
  schemeKeyToJson,
  schemeOf,
} from "../src/cipher/schemes/index.ts";
import { exportDataset } from "./export.ts";
import { fmtRate, fmtSeconds } from "./format.ts";
import { classify, type ModelInfo, modelInfo, repositoryIndex, serverMetadata, type TopClass } from "./oip.ts";
import { WorkerPool } from "./pool.ts";
import type { DecodeOptions } from "./preprocess.ts";
import type { EncryptedImage, ExportItem, WorkerReply, WorkerRequest } from "./worker.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const IMAGE = /\.(jpe?g|png|webp)$/i;

// ---------- workers ----------
const pool = new WorkerPool();

// ---------- key ----------
let key: SchemeKey | null = null;

/** How the panel names a key: its scheme (and the Hill key's kind). */
function keyDescription(k: SchemeKey): string {
  const scheme = schemeOf(k);
  const title = schemeByName(scheme).title;
  return isHillKey(k) ? `${scheme} (${title}), ${k.mode} key` : `${scheme} (${title}) key`;
}

/** What ercnn's own attacks do to a scheme of this structure (docs/schemes.md, "What is known to leak"). */
const LEAKS: Record<SchemeStructure, string> = {
  linear:
    "ercnn's statistical attack recovers images encrypted with this cipher from ciphertexts and ordinary photos " +
    "(see below; run ercnn audit on your own images).",
  "signed-permutation":
    "ercnn's signed-permutation solver recovers the whole key from about 20 ciphertexts: do not use it for privacy.",
  "per-block-signed-permutation":
    "No attack of ercnn applies to this scheme; that is not a proof of safety (attacks on block scrambling are " +
    "published; docs/schemes.md).",
  nonlinear: "No attack of ercnn applies to this scheme; that is not a proof of safety (docs/schemes.md).",
};

/**
 * "What the provider sees" for each scheme, from ercnn's side-by-side measurement (docs/schemes.md: k = 4 on
 * CIFAR-10, one fixed small budget; test/web/headline.test.ts checks the numbers against it). The linear schemes keep
 * the section's statistical-attack paragraphs (#sees-linear); the others replace them.
 */
const SEES: Record<SchemeName, string | null> = {
  hill: null,
  "hill-scramble":
    "Scrambling where the blocks sit does not stop the attack described below: it reads the statistics of blocks " +
    "and of their neighbours, and puts scrambled blocks back like a jigsaw first. In ercnn's comparison of schemes " +
    "(docs/schemes.md, k = 4) it decrypted at the same 45.32 dB as the cipher without scrambling, and the provider's " +
    "network that ignores block positions paid 2.5 points of accuracy.",
  "pixel-shuffle-np":
    "This scheme shuffles the pixels inside each block and turns some negative, the same way in every block: a " +
    "special case of the block cipher that ercnn's solver for signed permutations breaks exactly. In ercnn's " +
    "comparison of schemes (docs/schemes.md, k = 4) it recovered the key, and every image without error, from 1,000 " +
    "ciphertexts (20 suffice in its tests). It hides nothing from a provider who tries.",
  le:
    "This scheme (Tanaka's learnable encryption) is nonlinear in each pixel's value: no attack of ercnn applies, and " +
    "in ercnn's comparison of schemes (docs/schemes.md, k = 4) the ciphertexts read as images (8–9 dB) matched none " +
    "of their originals. That means it resisted these attacks, not that it is safe. It cost 3.7 points of accuracy " +
    "against plaintexts at that comparison's budget.",
  etc:
    "EtC moves, rotates, flips and negates blocks with a different choice for every block: no attack of ercnn " +
    "applies, and in ercnn's comparison of schemes (docs/schemes.md, k = 4) the ciphertexts matched none of their " +
    "originals. That means it resisted these attacks, not that it is safe: attacks on EtC are published. It cost 5.2 " +
    "points of accuracy (the provider's network absorbs only the block scrambling).",
  ffx:
    "This scheme passes every pixel value through a keyed bijection of 0…255, a different one at each position in " +
    "the block: no attack of ercnn applies, and in ercnn's comparison of schemes (docs/schemes.md, k = 4) the " +
    "ciphertexts matched none of their originals. That means it resisted these attacks, not that it is safe. It cost " +
    "26.2 points of accuracy: nearby pixel values land far apart, which the provider's linear adaptation cannot undo.",
};

/** The "What the provider sees" section for this key's scheme. */
function showSees(k: SchemeKey): void {
  const scheme = schemeOf(k);
  const text = SEES[scheme];
  const p = $("sees-scheme");
  p.textContent = text ?? "";
  p.hidden = text === null;
  $("sees-linear").hidden = schemeByName(scheme).structure !== "linear";
}

function setKey(k: SchemeKey, how: string): void {
  key = k;
  pool.broadcast({ type: "key", key: k } satisfies WorkerRequest);
  const s = $("key-status");
  s.className = "status ok";
  s.innerHTML = "";
  const scheme = document.createElement("strong");
  scheme.id = "key-scheme";
  scheme.dataset.scheme = schemeOf(k);
  scheme.textContent = keyDescription(k);
  s.append(`${how}: scheme `, scheme, `, k = ${k.blockSize}, ${k.channels} channels, fingerprint `);
  const code = document.createElement("code");
  code.id = "key-fingerprint";
  code.textContent = shortFingerprint(k);
  s.append(code);
  const note = $("key-scheme-note");
  note.textContent = LEAKS[schemeByName(schemeOf(k)).structure];
  note.hidden = false;
  showSees(k);
  $<HTMLButtonElement>("key-download").disabled = false;
  $<HTMLInputElement>("key-k").value = String(k.blockSize);
  $<HTMLSelectElement>("key-scheme-select").value = schemeOf(k);
  if (isHillKey(k)) $<HTMLSelectElement>("key-mode").value = k.mode;
  updateModeSelect();
  updateDataButton();
  checkKeyAgainstModel();
}

/** The key a worker made or parsed, or its error. */
function keyOf(r: WorkerReply): SchemeKey {
  if (r.type === "error") throw new Error(r.message);
  if (r.type !== "newkey") throw new Error(`worker answered ${r.type}`);
  return r.key;
}

function keyError(msg: string): void {
  const s = $("key-status");
  s.className = "status error";
  s.textContent = msg;
}

// The scheme choices are the registry's (SCHEMES), in its order; the study's Hill cipher first and selected.
$<HTMLSelectElement>("key-scheme-select").replaceChildren(
  ...SCHEMES.map((sc) => {
    const o = document.createElement("option");
    o.value = sc.name;
    o.textContent = `${sc.name}: ${sc.title}`;
    return o;
  }),
);

/** The Hill kinds apply to the Hill schemes only. */
function updateModeSelect(): void {
  const scheme = $<HTMLSelectElement>("key-scheme-select").value;
  $<HTMLSelectElement>("key-mode").disabled = scheme !== "hill" && scheme !== "hill-scramble";
}
$("key-scheme-select").addEventListener("change", updateModeSelect);

$("key-generate").addEventListener("click", async () => {
  const k = Number($<HTMLInputElement>("key-k").value);
  const mode = $<HTMLSelectElement>("key-mode").value as KeyMode;
  const scheme = $<HTMLSelectElement>("key-scheme-select").value as SchemeName;
  if (!Number.isInteger(k) || k < 1 || k > 32) return keyError("Block size k must be a whole number from 1 to 32.");
  $("key-status").textContent = "Generating…";
  try {
    setKey(keyOf(await pool.run({ type: "keygen", scheme, mode, blockSize: k })), "New key");
  } catch (e) {
    keyError((e as Error).message);
  }
});

$<HTMLInputElement>("key-file").addEventListener("change", async (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (!f) return;
  try {
    const bytes = new Uint8Array(await f.arrayBuffer());
    const npyMode = $<HTMLSelectElement>("key-npy-mode").value as KeyMode;
    setKey(keyOf(await pool.run({ type: "keyfile", bytes, name: f.name, npyMode })), `Loaded ${f.name}`);
  } catch (err) {
    keyError((err as Error).message);
  } finally {
    (e.target as HTMLInputElement).value = ""; // the same file can be chosen again
  }
});

function download(blob: Blob, name: string): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

$("key-download").addEventListener("click", () => {
  if (!key) return;
  download(new Blob([schemeKeyToJson(key)], { type: "application/json" }), `ercnn-key-${shortFingerprint(key)}.json`);
});

// ---------- dataset export ----------
let dataItems: ExportItem[] = [];
let dataClasses: string[] = [];
let exporting: AbortController | null = null;

function optInt(id: string): number | undefined {
  const v = $<HTMLInputElement>(id).value.trim();
  if (!v) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${$(id).parentElement?.textContent?.trim()}: give a whole number of pixels`);
  return n;
}

function decodeOptions(resizeId: string, cropId: string): DecodeOptions {
  const resize = optInt(resizeId);
  const crop = optInt(cropId);
  return { ...(resize ? { resize } : {}), ...(crop ? { crop } : {}) };
}

/** `<root>/<class>/<image>` paths → classes (sorted) and items (sorted by name within a class), like ImageFolder. */
function layoutDataset(files: { file: File; path: string }[]): void {
  const images = files.filter((f) => IMAGE.test(f.path) && !f.path.split("/").some((p) => p.startsWith(".")));
  const roots = new Set<string>();
  const byClass = new Map<string, { file: File; path: string }[]>();
  for (const f of images) {
    const parts = f.path.split("/");
    if (parts.length < 2) continue;
    roots.add(parts.slice(0, -2).join("/"));
    const c = parts[parts.length - 2];
    if (!byClass.has(c)) byClass.set(c, []);
    byClass.get(c)!.push(f);
  }
  dataItems = [];
  dataClasses = [];
  const s = $("data-summary");
  if (byClass.size === 0) {
    s.className = "status error";
    s.textContent = "No JPEG/PNG/WebP images in class folders found: choose a folder laid out as <class>/<image>.";
  } else if (roots.size > 1) {
    s.className = "status error";
    s.textContent = `Images lie under several folders (${[...roots].slice(0, 4).join(", ")}): choose the folder that holds the class folders.`;
  } else {
    dataClasses = [...byClass.keys()].sort();
    for (const [label, c] of dataClasses.entries()) {
      const list = byClass.get(c)!.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      for (const f of list) dataItems.push({ file: f.file, name: f.path, label });
    }
    s.className = "status ok";
    s.textContent = `${dataItems.length.toLocaleString("en")} images in ${dataClasses.length} classes (${dataClasses.slice(0, 6).join(", ")}${dataClasses.length > 6 ? ", …" : ""}).`;
  }
  updateDataButton();
}

function updateDataButton(): void {
  $<HTMLButtonElement>("data-start").disabled = !key || dataItems.length === 0 || exporting !== null;
  // One key per archive: the key cannot change while a dataset is being encrypted.
  for (const id of ["key-generate", "key-file"]) $<HTMLInputElement>(id).disabled = exporting !== null;
}

$<HTMLInputElement>("data-folder").addEventListener("change", (e) => {
  const files = [...((e.target as HTMLInputElement).files ?? [])];
  layoutDataset(files.map((file) => ({ file, path: file.webkitRelativePath || file.name })));
});

async function readEntry(entry: FileSystemEntry, out: { file: File; path: string }[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
    out.push({ file, path: entry.fullPath.replace(/^\//, "") });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
    if (batch.length === 0) break;
    for (const e of batch) await readEntry(e, out);
  }
}

function dropZone(id: string, onDrop: (e: DragEvent) => void): void {
  const z = $(id);
  z.addEventListener("dragover", (e) => {
    e.preventDefault();
    z.classList.add("over");
  });
  z.addEventListener("dragleave", () => z.classList.remove("over"));
  z.addEventListener("drop", (e) => {
    e.preventDefault();
    z.classList.remove("over");
    onDrop(e);
  });
}

dropZone("data-drop", async (e) => {
  const entries = [...(e.dataTransfer?.items ?? [])].map((i) => i.webkitGetAsEntry()).filter((x) => x !== null);
  const files: { file: File; path: string }[] = [];
  for (const en of entries) await readEntry(en, files);
  layoutDataset(files);
});

function fmtBytes(n: number): string {
  return n > 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(1)} MB`;
}

$("data-start").addEventListener("click", async () => {
  if (!key || dataItems.length === 0) return;
  const status = $("data-status");
  const bar = $<HTMLProgressElement>("data-progress");
  const link = $<HTMLAnchorElement>("data-download");
  let decode: DecodeOptions;
  try {
    decode = decodeOptions("data-resize", "data-crop");
  } catch (err) {
    status.className = "status error";
    status.textContent = (err as Error).message;
    return;
  }
  link.hidden = true;
  bar.hidden = false;
  bar.max = dataItems.length;
  bar.value = 0;
  status.className = "status";
  status.textContent = "Starting…";
  exporting = new AbortController();
  updateDataButton();
  $<HTMLButtonElement>("data-cancel").disabled = false;
  const k = key;
  try {
    const r = await exportDataset(pool, k, dataItems, {
      classes: dataClasses,
      decode,
      split: $<HTMLSelectElement>("data-split").value as "train" | "test",
      skipBad: $<HTMLInputElement>("data-skip").checked,
      signal: exporting.signal,
      onProgress: (done, total, seconds) => {
        bar.value = done;
        const rate = done / Math.max(seconds, 1e-3);
        const eta = (total - done) / Math.max(rate, 1e-9);
        status.textContent = `${done.toLocaleString("en")} / ${total.toLocaleString("en")} images · ${fmtRate(done, seconds)} · about ${Math.ceil(eta)} s left`;
      },
    });
    status.className = "status ok";
    status.dataset.timing = JSON.stringify(r.timing);
    status.textContent =
      `Encrypted ${r.count.toLocaleString("en")} images in ${fmtSeconds(r.seconds)} ` +
      `(${fmtRate(r.count, r.seconds)}), ${fmtBytes(r.blob.size)}` +
      (r.skipped.length
        ? `; skipped ${r.skipped.length}: ${r.skipped
            .slice(0, 3)
            .map((s) => s.name)
            .join(", ")}`
        : "") +
      ". Give the file to the provider: ercnn encrypt FILE.tar -o STORE (no key needed).";
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(r.blob);
    link.download = `ercnn-dataset-${shortFingerprint(k)}.tar`;
    link.textContent = `Download encrypted dataset (${fmtBytes(r.blob.size)})`;
    link.hidden = false;
  } catch (err) {
    status.className = "status error";
    status.textContent = (err as Error).message === "cancelled" ? "Cancelled." : (err as Error).message;
    bar.hidden = true;
  } finally {
    exporting = null;
    $<HTMLButtonElement>("data-cancel").disabled = true;
    updateDataButton();
  }
});

$("data-cancel").addEventListener("click", () => exporting?.abort());

// ---------- server and model ----------
let server = "";
let model: ModelInfo | null = null;

const serverInput = $<HTMLInputElement>("server-url");
const fromQuery = new URLSearchParams(location.search).get("server");
serverInput.value = fromQuery ?? (location.protocol.startsWith("http") ? location.origin : "");

function modelStatus(msg: string, cls = "status"): void {
  const s = $("model-status");
  s.className = cls;
  s.textContent = msg;
}

async function connect(auto = false): Promise<void> {
  server = serverInput.value.trim();
  const sel = $<HTMLSelectElement>("model-select");
  sel.disabled = true;
  model = null;
  try {
    const meta = await serverMetadata(server);
    const models = await repositoryIndex(server);
    sel.innerHTML = "";
    for (const m of models) {
      const o = document.createElement("option");
      o.value = m.name;
      o.textContent = m.state === "READY" ? m.name : `${m.name} (${m.state.toLowerCase()})`;
      o.disabled = m.state !== "READY";
      sel.append(o);
    }
    sel.disabled = models.length === 0;
    modelStatus(`Connected to ${meta.name} ${meta.version}: ${models.length} model(s).`, "status ok");
    if (models.length) await selectModel(sel.value);
  } catch (e) {
    if (auto && !fromQuery)
      modelStatus(
        "No ercnn server answers at this page's address: enter the server's URL and press Connect.",
        "status",
      );
    else modelStatus((e as Error).message, "status error");
  }
}

async function selectModel(name: string): Promise<void> {
  try {
    model = await modelInfo(server, name);
    const [c, h, w] = model.shape;
    modelStatus(
      `${model.name}: ${c}×${h}×${w} inputs, ${model.classNames.length} classes, block size k = ${model.blockSize}, ` +
        `${model.keyMode} key ${model.keyFingerprint.slice(0, 16) || "(none: plain model)"}.`,
      "status ok",
    );
    // Bring images to the model's input as the training store was made (the model's resize/crop), else
    // shorter side to the model's size and a centre crop (a no-op for images already that size).
    $<HTMLInputElement>("cls-resize").value = String(model.decode.resize ?? h);
    $<HTMLInputElement>("cls-crop").value = String(model.decode.crop ?? (model.decode.resize ? "" : h));
    checkKeyAgainstModel();
  } catch (e) {
    model = null;
    modelStatus((e as Error).message, "status error");
  }
}

$("server-connect").addEventListener("click", () => connect());
$<HTMLSelectElement>("model-select").addEventListener("change", (e) =>
  selectModel((e.target as HTMLSelectElement).value),
);

/** Why this key cannot be used with this model, or null. Checked before anything is encrypted or sent. */
function keyProblem(): string | null {
  if (!model) return "Connect to a server and choose a model first.";
  if (!key) return "Generate or load your key first.";
  if (model.keyMode === "none")
    return `Model ${model.name} was trained on plain images; this page only sends ciphertexts.`;
  if (key.blockSize !== model.blockSize)
    return `Your key has block size k = ${key.blockSize}, model ${model.name} expects k = ${model.blockSize}: nothing was sent.`;
  if (key.fingerprint !== model.keyFingerprint)
    return `Your key ${shortFingerprint(key)} is not the key model ${model.name} was trained for (${model.keyFingerprint.slice(0, 16)}): nothing was sent.`;
  return null;
}

/** Empties the results and the status line: what they said belongs to a key or model that is no longer in use. */
function clearResults(): void {
  $("cls-status").textContent = "";
  const list = $("cls-results");
  list.replaceChildren();
  list.hidden = true;
}

function checkKeyAgainstModel(): void {
  const err = $("cls-error");
  const problem = model && key ? keyProblem() : null;
  err.textContent = problem ?? "";
  if (problem) clearResults();
}

// ---------- classify ----------
function draw(canvas: HTMLCanvasElement, rgb: Uint8Array, h: number, w: number): void {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d")!;
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    img.data[i * 4] = rgb[i * 3];
    img.data[i * 4 + 1] = rgb[i * 3 + 1];
    img.data[i * 4 + 2] = rgb[i * 3 + 2];
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function figure(label: string, rgb: Uint8Array, h: number, w: number): HTMLElement {
  const f = document.createElement("figure");
  const c = document.createElement("canvas");
  c.setAttribute("role", "img");
  c.setAttribute("aria-label", label);
  draw(c, rgb, h, w);
  const cap = document.createElement("figcaption");
  cap.textContent = label;
  f.append(c, cap);
  return f;
}

function resultItem(img: EncryptedImage, h: number, w: number, top: TopClass[] | null, error?: string): HTMLLIElement {
  const li = document.createElement("li");
  li.className = "result";
  const title = document.createElement("h3");
  title.textContent = img.name;
  const pics = document.createElement("div");
  pics.className = "pair";
  pics.append(figure("plain (stays here)", img.plain, h, w), figure("ciphertext (sent)", img.cipherView, h, w));
  li.append(title, pics);
  if (top) {
    const t = document.createElement("table");
    t.className = "top";
    t.innerHTML =
      "<caption>Top classes</caption><thead><tr><th scope=col>class</th><th scope=col>probability</th></tr></thead>";
    const body = document.createElement("tbody");
    for (const [i, c] of top.entries()) {
      const tr = document.createElement("tr");
      if (i === 0) tr.className = "top1";
      const td1 = document.createElement("td");
      td1.textContent = c.label;
      const td2 = document.createElement("td");
      td2.innerHTML = `<meter min="0" max="1" value="${c.probability}"></meter> ${(c.probability * 100).toFixed(1)}%`;
      tr.append(td1, td2);
      body.append(tr);
    }
    t.append(body);
    li.append(t);
    li.dataset.top1 = String(top[0]?.index ?? "");
  }
  if (error) {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = error;
    li.append(p);
  }
  return li;
}

async function classifyFiles(files: File[]): Promise<void> {
  const err = $("cls-error");
  const status = $("cls-status");
  err.textContent = "";
  const problem = keyProblem();
  if (problem) {
    err.textContent = problem;
    clearResults();
    return;
  }
  const m = model!;
  const k = key!;
  let decode: DecodeOptions;
  let topK: number;
  try {
    decode = decodeOptions("cls-resize", "cls-crop");
    topK = Math.min(Number($<HTMLInputElement>("cls-topk").value) || 3, m.classNames.length);
  } catch (e) {
    err.textContent = (e as Error).message;
    return;
  }
  status.textContent = `Encrypting ${files.length} image(s) in this page…`;
  const r = await pool.run({ type: "encrypt", files, decode, shape: m.shape });
  if (r.type === "error") {
    err.textContent = r.message;
    return;
  }
  if (r.type !== "encrypted") return;
  if (r.errors.length) err.textContent = r.errors.map((e) => e.reason).join(" ");
  const [, h, w] = m.shape;
  const list = $("cls-results");
  const per = m.shape[0] * h * w;
  status.textContent = `Sending ${r.images.length} ciphertext(s) to ${m.name}…`;
  for (let a = 0; a < r.images.length; a += m.maxBatch) {
    const batch = r.images.slice(a, a + m.maxBatch);
    const x = new Float32Array(batch.length * per);
    for (const [i, img] of batch.entries()) x.set(img.cipher, i * per);
    try {
      const tops = await classify(server, m, x, batch.length, {
        id: `page-${Date.now()}-${a}`,
        fingerprint: k.fingerprint,
        topK,
      });
      for (const [i, img] of batch.entries()) list.append(resultItem(img, h, w, tops[i]));
    } catch (e) {
      for (const img of batch) list.append(resultItem(img, h, w, null, (e as Error).message));
    }
    list.hidden = false;
    // The panel shows the last ciphertext that actually left the page.
    draw($<HTMLCanvasElement>("sees-canvas"), batch[batch.length - 1].cipherView, h, w);
    $("sees-figure").hidden = false;
  }
  status.textContent = `Classified ${r.images.length} image(s) with ${m.name}.`;
}

$<HTMLInputElement>("cls-files").addEventListener("change", (e) => {
  const input = e.target as HTMLInputElement;
  const files = [...(input.files ?? [])];
  if (files.length) classifyFiles(files).finally(() => (input.value = ""));
});
dropZone("cls-drop", (e) => {
  const files = [...(e.dataTransfer?.files ?? [])].filter((f) => IMAGE.test(f.name) || f.type.startsWith("image/"));
  if (files.length) classifyFiles(files);
});

if (serverInput.value) connect(true);
