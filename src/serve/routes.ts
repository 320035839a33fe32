/**
 * The Open Inference Protocol's REST routes (inference_rest.md), the model repository index
 * (extension_model_repository.md), `/metrics` and `/openapi.json`. Schemas document every route for the OpenAPI
 * document; bodies are parsed by infer-request.ts (binary bodies are not JSON), so request validation is off.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ServeError } from "./errors.ts";
import { parseInferRequest } from "./infer-request.ts";
import { modelMetadata } from "./model-info.ts";
import type { Service } from "./service.ts";

export const SERVER_NAME = "ercnn";
export const SERVER_VERSION = "0.1.0";
export const EXTENSIONS = ["binary_tensor_data", "classification", "model_repository(index)"];

const error = { type: "object", properties: { error: { type: "string" } }, required: ["error"] } as const;
const nameParam = { type: "object", properties: { name: { type: "string" } }, required: ["name"] } as const;
const tensorMeta = {
  type: "object",
  properties: {
    name: { type: "string" },
    datatype: { type: "string" },
    shape: { type: "array", items: { type: "integer" } },
  },
} as const;
const noValidation = () => () => true;

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the infer route for the access log and metrics. */
    infer?: { model: string; batch?: number; id?: string };
  }
}

export function registerRoutes(app: FastifyInstance, svc: Service): void {
  app.get(
    "/v2/health/live",
    {
      schema: {
        summary: "Server live",
        response: { 200: { type: "object", properties: { live: { type: "boolean" } } } },
      },
    },
    async () => ({ live: true }),
  );

  app.get(
    "/v2/health/ready",
    {
      schema: {
        summary: "Server ready (all models loaded)",
        response: {
          200: { type: "object", properties: { ready: { type: "boolean" } } },
          503: { type: "object", properties: { ready: { type: "boolean" } } },
        },
      },
    },
    async (_req, reply) => {
      const ready = svc.ready && !svc.closing;
      return reply.code(ready ? 200 : 503).send({ ready });
    },
  );

  app.get(
    "/v2",
    {
      schema: {
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
    },
    async () => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS }),
  );

  app.get<{ Params: { name: string } }>(
    "/v2/models/:name",
    {
      schema: {
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
    },
    async (req) => modelMetadata(svc.model(req.params.name), svc.o.maxBatch),
  );

  app.get<{ Params: { name: string } }>(
    "/v2/models/:name/ready",
    {
      schema: {
        summary: "Model ready",
        params: nameParam,
        response: {
          200: { type: "object", properties: { name: { type: "string" }, ready: { type: "boolean" } } },
          404: error,
        },
      },
    },
    async (req) => ({ name: svc.model(req.params.name).name, ready: svc.ready && !svc.closing }),
  );

  app.post<{ Params: { name: string }; Body: Buffer | undefined }>(
    "/v2/models/:name/infer",
    {
      validatorCompiler: noValidation,
      schema: {
        summary: "Inference: one FP32 input [N, C, H, W] as JSON data, binary tensor data, or an .npy of N×H×W×3",
        params: nameParam,
        consumes: ["application/json", "application/octet-stream", "application/x-npy"],
        body: {
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
        },
        response: {
          200: {
            description: "Inference response (JSON, or JSON header + binary outputs)",
            type: "object",
            properties: { model_name: { type: "string" }, id: { type: "string" }, outputs: { type: "array" } },
          },
          400: error,
          404: error,
          409: error,
          413: error,
          415: error,
          503: error,
          504: error,
        },
      },
    },
    async (req, reply) => {
      const model = svc.model(req.params.name);
      req.infer = { model: model.name };
      if (svc.closing) throw new ServeError(503, "server is shutting down");
      const parsed = parseInferRequest(
        {
          body: req.body ?? Buffer.alloc(0),
          contentType: String(req.headers["content-type"] ?? ""),
          headers: req.headers,
        },
        model,
        svc.o.maxBatch,
      );
      req.infer = { model: model.name, batch: parsed.n, ...(parsed.id !== undefined ? { id: parsed.id } : {}) };
      const r = await svc.infer(model, parsed);
      return reply.headers(r.headers).type(r.contentType).send(r.body);
    },
  );

  app.post<{ Body: Buffer | undefined }>(
    "/v2/repository/index",
    {
      validatorCompiler: noValidation,
      schema: {
        summary: "Model repository index",
        body: { type: "object", properties: { ready: { type: "boolean" } } },
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
    },
    async (req) => {
      let onlyReady = false;
      if (req.body && req.body.length > 0) {
        let body: unknown;
        try {
          body = JSON.parse(req.body.toString("utf8"));
        } catch (e) {
          throw new ServeError(400, `repository index request is not valid JSON (${(e as Error).message})`);
        }
        if (typeof body !== "object" || body === null || Array.isArray(body))
          throw new ServeError(400, "repository index request must be a JSON object");
        const r = (body as { ready?: unknown }).ready;
        if (r !== undefined && typeof r !== "boolean") throw new ServeError(400, `"ready" must be a boolean`);
        onlyReady = r === true;
      }
      const state = svc.loadError ? "UNAVAILABLE" : svc.ready ? "READY" : "LOADING";
      const reason = svc.loadError?.message ?? "";
      return [...svc.models.keys()]
        .filter(() => !onlyReady || state === "READY")
        .map((name) => ({ name, state, reason }));
    },
  );

  app.get(
    "/metrics",
    { schema: { summary: "Prometheus metrics (Triton's names)", produces: ["text/plain"] } },
    async (_req, reply: FastifyReply) => reply.type(svc.metrics.registry.contentType).send(await svc.metrics.text()),
  );

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
}

/** Infer requests are counted once they are answered (success, or failure by status). */
export function recordInfer(svc: Service, req: FastifyRequest, reply: FastifyReply): void {
  if (req.infer) svc.record(req.infer.model, reply.statusCode, reply.elapsedTime / 1000);
}
