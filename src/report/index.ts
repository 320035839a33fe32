// Reports: image-quality and key-map metrics, decryption pictures, vega-lite plots, tables, and the HTML run report.
export {
  comparisonRows,
  escapeHtml,
  loadRun,
  type MetricRow,
  type RunData,
  renderReport,
  writeReport,
} from "./html.ts";
export {
  type AdaptationMap,
  type AffineFit,
  affineFit,
  type BatchDims,
  type ChwDims,
  clip,
  composedAdaptationMap,
  type DecryptionQuality,
  decryptionQuality,
  gaussianWindow,
  type KeyMapError,
  keyMapError,
  mse,
  PSNR_CAP_DB,
  psnr,
  ssim,
  ssimWindowSize,
} from "./metrics.ts";
export {
  DEFAULT_TITLES,
  decryptionPicture,
  minMaxScale,
  type PanelName,
  type PictureOptions,
  type PictureRow,
  panelImages,
} from "./pictures.ts";
export {
  type BarChartOptions,
  barChart,
  type LineChartOptions,
  type LineSeries,
  lineChart,
  type Plot,
  renderSpec,
  savePlot,
} from "./plots.ts";
export {
  type Cell,
  type Column,
  type ColumnSpec,
  csvField,
  formatCell,
  markdownCell,
  type Row,
  toCsv,
  toMarkdown,
} from "./table.ts";
