// The routes a fuzz run covers, read from the server's own OpenAPI document (/docs/json): every
// documented route with its path, query and body schemas, so a new route is fuzzed without a test edit.
export type JsonSchema = Record<string, unknown>;

export interface ParamSpec {
  name: string;
  required: boolean;
  schema: JsonSchema;
}

export interface RouteSpec {
  method: string;
  /** The OpenAPI path, with `{name}` placeholders. */
  path: string;
  pathParams: ParamSpec[];
  query: ParamSpec[];
  /** The JSON body's schema, when the route takes one. */
  body?: JsonSchema;
  bodyRequired: boolean;
  /** Health checks answer without a token. */
  public: boolean;
}

interface OpenApiParameter {
  in: string;
  name: string;
  required?: boolean;
  schema?: JsonSchema;
}

interface OpenApiOperation {
  parameters?: OpenApiParameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonSchema }> };
}

interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const publicPaths = new Set(['/healthz', '/readyz']);

/** Inlines `#/components/schemas/…` references, so the generators see whole schemas. */
function inlineRefs(value: unknown, components: Record<string, JsonSchema>, depth = 0): unknown {
  if (depth > 32) throw new Error('OpenAPI schema nests references too deeply');
  if (Array.isArray(value)) return value.map((item) => inlineRefs(item, components, depth + 1));
  if (typeof value !== 'object' || value === null) return value;
  const ref = (value as { $ref?: unknown }).$ref;
  if (typeof ref === 'string') {
    const name = ref.replace('#/components/schemas/', '');
    const target = components[name];
    if (!target) throw new Error(`OpenAPI reference ${ref} does not resolve`);
    return inlineRefs(target, components, depth + 1);
  }
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, inlineRefs(item, components, depth + 1)]),
  );
}

export async function loadRouteCatalog(baseUrl: string): Promise<RouteSpec[]> {
  const res = await fetch(`${baseUrl}/docs/json`);
  if (!res.ok) throw new Error(`/docs/json answered ${res.status}`);
  const doc = (await res.json()) as OpenApiDocument;
  const components = doc.components?.schemas ?? {};
  const routes: RouteSpec[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const params = (operation.parameters ?? []).map((p) => ({
        in: p.in,
        spec: {
          name: p.name,
          required: p.required === true,
          schema: inlineRefs(p.schema ?? {}, components) as JsonSchema,
        },
      }));
      const bodySchema = operation.requestBody?.content?.['application/json']?.schema;
      routes.push({
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.spec),
        query: params.filter((p) => p.in === 'query').map((p) => p.spec),
        ...(bodySchema ? { body: inlineRefs(bodySchema, components) as JsonSchema } : {}),
        bodyRequired: operation.requestBody?.required === true,
        public: publicPaths.has(path),
      });
    }
  }
  return routes;
}
