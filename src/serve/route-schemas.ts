/**
 * The JSON schemas of the Open Inference Protocol routes (inference_rest.md, extension_model_repository.md), for the
 * OpenAPI document only: bodies are parsed by infer-request.ts (binary bodies are not JSON), so they validate nothing.
 */

const error = { type: "object", properties: { error: { type: "string" } }, required: ["error"] } as const;
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, error]));
const nameParam = { type: "object", properties: { name: { type: "string" } }, required: ["name"] } as const;
const tensorMeta = {
  type: "object",
  properties: {
    name: { type: "string" },
    datatype: { type: "string" },
    shape: { type: "array", items: { type: "integer" } },
  },
} as const;
const flag = (name: string) => ({ type: "object", properties: { [name]: { type: "boolean" } } }) as const;

const inferRequest = {
  type: "object",
  properties: {
    id: { type: "string" },
    parameters: {
      type: "object",
      properties: { key_fingerprint: { type: "string" }, binary_data_output: { type: "boolean" } },
    },
    inputs: {
      type: "array",
      items: {
        type: "object",
        properties: {
          name: { type: "string" },
          shape: { type: "array", items: { type: "integer" } },
          datatype: { type: "string", enum: ["FP32"] },
          parameters: { type: "object", properties: { binary_data_size: { type: "integer" } } },
          data: { type: "array" },
        },
      },
    },
    outputs: {
      type: "array",
      items: {
        type: "object",
        properties: {
          name: { type: "string", enum: ["logits", "probabilities"] },
          parameters: {
            type: "object",
            properties: { classification: { type: "integer" }, binary_data: { type: "boolean" } },
          },
        },
      },
    },
  },
} as const;

export const SCHEMAS = {
  live: { summary: "Server live", response: { 200: flag("live") } },
  ready: { summary: "Server ready (all models loaded)", response: { 200: flag("ready"), 503: flag("ready") } },
  server: {
    summary: "Server metadata",
    response: {
      200: {
        type: "object",
        properties: {
          name: { type: "string" },
          version: { type: "string" },
          extensions: { type: "array", items: { type: "string" } },
        },
      },
    },
  },
  model: {
    summary: "Model metadata (ercnn's facts in parameters)",
    params: nameParam,
    response: {
      200: {
        type: "object",
        properties: {
          name: { type: "string" },
          platform: { type: "string" },
          inputs: { type: "array", items: tensorMeta },
          outputs: { type: "array", items: tensorMeta },
          parameters: { type: "object", additionalProperties: { type: ["string", "number", "boolean"] } },
        },
      },
      404: error,
    },
  },
  modelReady: {
    summary: "Model ready",
    params: nameParam,
    response: {
      200: { type: "object", properties: { name: { type: "string" }, ready: { type: "boolean" } } },
      404: error,
    },
  },
  infer: {
    summary: "Inference: one FP32 input [N, C, H, W] as JSON data, binary tensor data, or an .npy of N×H×W×3",
    params: nameParam,
    consumes: ["application/json", "application/octet-stream", "application/x-npy"],
    body: inferRequest,
    response: {
      200: {
        description: "Inference response (JSON, or JSON header + binary outputs)",
        type: "object",
        properties: { model_name: { type: "string" }, id: { type: "string" }, outputs: { type: "array" } },
      },
      ...errors(400, 404, 409, 413, 415, 503, 504),
    },
  },
  repositoryIndex: {
    summary: "Model repository index",
    body: flag("ready"),
    response: {
      200: {
        type: "array",
        items: {
          type: "object",
          properties: { name: { type: "string" }, state: { type: "string" }, reason: { type: "string" } },
        },
      },
      400: error,
    },
  },
  metrics: { summary: "Prometheus metrics (Triton's names)", produces: ["text/plain"] },
  openapi: { hide: true },
} as const;
