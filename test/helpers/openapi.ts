import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

/** The contract every response is checked against. */
export const OPENAPI_FILE = path.resolve(__dirname, '../../docs/openapi.yaml');

/** The HTTP methods an OpenAPI path item may hold, in lower case as in the document. */
export const OPENAPI_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Id under which the whole document is registered with ajv; schemas are compiled as `$ref`s into it. */
const SPEC_ID = 'https://concert-reservation.invalid/openapi.yaml';

/**
 * Top-level OpenAPI fields and the OpenAPI-only schema keywords. Declaring them lets ajv run in
 * strict mode, so a misspelt JSON Schema keyword in the spec fails the build instead of being ignored.
 */
const OPENAPI_KEYWORDS = [
  'openapi',
  'info',
  'jsonSchemaDialect',
  'servers',
  'paths',
  'webhooks',
  'components',
  'security',
  'tags',
  'externalDocs',
  'example',
  'xml',
  'discriminator',
];

type JsonObject = Record<string, unknown>;

/** One operation of the spec, e.g. `GET /v1/reservations/{reservationId}`. */
export interface SpecOperation {
  /** Upper case, e.g. `GET`. */
  method: string;
  /** The path template as written in the spec. */
  path: string;
  operationId: string | undefined;
  /** JSON pointer to the operation object inside the document. */
  pointer: string;
}

/** A documented response, after following `$ref`s to `components/responses`. */
export interface SpecResponse {
  /** The key it was found under: the status, its `NXX` range or `default`. */
  key: string;
  pointer: string;
  description: string | undefined;
  /** Media type → JSON pointer to its schema (absent when the media type has no schema). */
  schemas: Record<string, string | undefined>;
  /** Names (lower case) of the headers the response must carry. */
  requiredHeaders: string[];
}

/** The parts of a supertest (superagent) response the check reads. */
export interface CheckedResponse {
  status: number;
  body: unknown;
  text?: string;
  /** Media type without parameters, e.g. `application/json`. */
  type?: string;
  headers: Record<string, unknown>;
  request: { method: string; url: string };
}

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const escapePointer = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');
const unescapePointer = (segment: string): string => segment.replace(/~1/g, '/').replace(/~0/g, '~');

/** Joins JSON pointer segments: `pointer('/paths', '/v1/queue')` → `/paths/~1v1~1queue`. */
export function pointer(base: string, ...segments: string[]): string {
  return [base, ...segments.map(escapePointer)].join('/');
}

function formatError(error: ErrorObject): string {
  const at = error.instancePath === '' ? '(body)' : error.instancePath;
  const extra =
    error.keyword === 'additionalProperties'
      ? ` (${String((error.params as { additionalProperty?: unknown }).additionalProperty)})`
      : error.keyword === 'enum'
        ? ` (${JSON.stringify((error.params as { allowedValues?: unknown }).allowedValues)})`
        : '';
  return `${at} ${error.message ?? error.keyword}${extra}`;
}

/** A parsed `docs/openapi.yaml` with ajv validators for its schemas (OpenAPI 3.1 = JSON Schema 2020-12). */
export class OpenApiSpec {
  readonly document: JsonObject;
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(text: string) {
    const parsed: unknown = parseYaml(text);
    if (!isObject(parsed) || !isObject(parsed.paths)) throw new Error('Not an OpenAPI document: no `paths`');
    this.document = parsed;
    this.ajv = new Ajv2020({
      allErrors: true,
      strict: true,
      strictTypes: false,
      strictRequired: false,
      allowUnionTypes: true,
    });
    addFormats(this.ajv);
    this.ajv.addVocabulary(OPENAPI_KEYWORDS);
    this.ajv.addSchema(this.document, SPEC_ID);
  }

  /** The value at a JSON pointer (`''` is the whole document); throws when it is missing. */
  at(ptr: string): unknown {
    let value: unknown = this.document;
    for (const raw of ptr.split('/').slice(1)) {
      const key = unescapePointer(raw);
      if (!isObject(value) && !Array.isArray(value)) throw new Error(`No value at #${ptr}`);
      value = (value as Record<string, unknown>)[key];
      if (value === undefined) throw new Error(`No value at #${ptr}`);
    }
    return value;
  }

  /** Follows local `$ref`s (`#/components/...`) until a plain object; returns it with its pointer. */
  resolve(ptr: string): { value: JsonObject; pointer: string } {
    let current = ptr;
    for (let hops = 0; hops < 16; hops++) {
      const value = this.at(current);
      if (!isObject(value)) throw new Error(`#${current} is not an object`);
      if (typeof value.$ref !== 'string') return { value, pointer: current };
      if (!value.$ref.startsWith('#')) throw new Error(`#${current}: only local $refs are supported (${value.$ref})`);
      current = value.$ref.slice(1);
    }
    throw new Error(`#${ptr}: $ref chain too long`);
  }

  /** Every operation in `paths`. */
  operations(): SpecOperation[] {
    const result: SpecOperation[] = [];
    for (const [template, item] of Object.entries(this.document.paths as JsonObject)) {
      if (!isObject(item)) continue;
      for (const method of OPENAPI_METHODS) {
        const operation = item[method];
        if (!isObject(operation)) continue;
        result.push({
          method: method.toUpperCase(),
          path: template,
          operationId: typeof operation.operationId === 'string' ? operation.operationId : undefined,
          pointer: pointer('/paths', template, method),
        });
      }
    }
    return result;
  }

  /**
   * The operation for a method and a path: either a template as written in the spec or a concrete
   * request path (`/v1/reservations/7c9d…`). Literal paths win over templated ones, as OpenAPI says.
   */
  findOperation(method: string, requestPath: string): SpecOperation | undefined {
    const wanted = method.toUpperCase();
    const bare = requestPath.split('?')[0] ?? requestPath;
    const candidates = this.operations().filter((op) => op.method === wanted);
    const exact = candidates.find((op) => op.path === bare);
    if (exact) return exact;
    const params = (template: string): number => (template.match(/\{[^}]+\}/g) ?? []).length;
    return candidates
      .filter((op) => templateRegExp(op.path).test(bare))
      .sort((a, b) => params(a.path) - params(b.path))[0];
  }

  /** The documented response of an operation for a status (exact, then `NXX`, then `default`). */
  response(operation: SpecOperation, status: number): SpecResponse | undefined {
    const responses = this.resolve(operation.pointer).value.responses;
    if (!isObject(responses)) return undefined;
    const key = [String(status), `${String(status).charAt(0)}XX`, 'default'].find((k) => k in responses);
    if (key === undefined) return undefined;
    const { value, pointer: responsePointer } = this.resolve(pointer(`${operation.pointer}/responses`, key));
    const schemas: Record<string, string | undefined> = {};
    if (isObject(value.content)) {
      for (const [mediaType, media] of Object.entries(value.content)) {
        schemas[mediaType] =
          isObject(media) && 'schema' in media ? pointer(`${responsePointer}/content`, mediaType, 'schema') : undefined;
      }
    }
    const requiredHeaders: string[] = [];
    if (isObject(value.headers)) {
      for (const name of Object.keys(value.headers)) {
        const header = this.resolve(pointer(`${responsePointer}/headers`, name)).value;
        if (header.required === true) requiredHeaders.push(name.toLowerCase());
      }
    }
    return {
      key,
      pointer: responsePointer,
      description: typeof value.description === 'string' ? value.description : undefined,
      schemas,
      requiredHeaders,
    };
  }

  /** An ajv validator for the schema at a JSON pointer, its `$ref`s resolved inside the document. */
  validatorAt(schemaPointer: string): ValidateFunction {
    let validate = this.validators.get(schemaPointer);
    if (!validate) {
      const fragment = schemaPointer
        .split('/')
        .map((segment) => encodeURIComponent(segment))
        .join('/');
      validate = this.ajv.compile({ $ref: `${SPEC_ID}#${fragment}` });
      this.validators.set(schemaPointer, validate);
    }
    return validate;
  }

  /** Validation errors of a value against the schema at a pointer; empty when it conforms. */
  errorsAt(schemaPointer: string, value: unknown): string[] {
    const validate = this.validatorAt(schemaPointer);
    return validate(value) ? [] : (validate.errors ?? []).map(formatError);
  }

  /**
   * Why a response does not match the spec (empty when it does): the operation must exist, the
   * status must be documented, and the body must conform to the schema of that status and media type.
   */
  validate(
    method: string,
    requestPath: string,
    status: number,
    body: unknown,
    mediaType = 'application/json',
  ): string[] {
    const operation = this.findOperation(method, requestPath);
    if (!operation) return [`${method.toUpperCase()} ${requestPath} is not an operation of the spec`];
    const response = this.response(operation, status);
    if (!response) return [`status ${status} is not documented for ${operation.method} ${operation.path}`];
    const mediaTypes = Object.keys(response.schemas);
    if (mediaTypes.length === 0) {
      const empty = body === undefined || body === '' || (isObject(body) && Object.keys(body).length === 0);
      return empty ? [] : [`status ${status} of ${operation.method} ${operation.path} is documented without a body`];
    }
    if (!mediaTypes.includes(mediaType)) {
      return [
        `${mediaType} is not documented for ${operation.method} ${operation.path} ${status} (${mediaTypes.join(', ')})`,
      ];
    }
    const schemaPointer = response.schemas[mediaType];
    if (schemaPointer === undefined) return [];
    if (mediaType === 'text/event-stream') {
      // Before OpenAPI 3.2, the schema of a sequential media type describes one item: each event.
      const events = parseEventStream(typeof body === 'string' ? body : '');
      if (events.length === 0) return [`the event stream of ${operation.method} ${operation.path} has no event`];
      return events.flatMap((event, i) => this.errorsAt(schemaPointer, event).map((e) => `event ${i}: ${e}`));
    }
    return this.errorsAt(schemaPointer, body);
  }
}

/** One Server-Sent Event as a client reads it: `event` (default `message`), joined `data`, and `id`/`retry` when sent. */
export interface ServerSentEvent {
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

/**
 * The events of a `text/event-stream` body, read as the SSE rules say: blocks end at a blank
 * line, `:` lines are comments (heartbeats), `data` lines join with a newline, a block without
 * data dispatches nothing.
 */
export function parseEventStream(text: string): ServerSentEvent[] {
  const events: ServerSentEvent[] = [];
  for (const block of text.replace(/\r\n?/g, '\n').split(/\n\n/)) {
    const fields: Partial<ServerSentEvent> = {};
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'event') fields.event = value;
      else if (field === 'id') fields.id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) fields.retry = Number(value);
    }
    if (data.length > 0) events.push({ ...fields, event: fields.event ?? 'message', data: data.join('\n') });
  }
  return events;
}

/** `/v1/users/{userId}/balance` → a RegExp matching concrete paths of that template. */
function templateRegExp(template: string): RegExp {
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => (/^\{[^}]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}/?$`);
}

let cached: OpenApiSpec | undefined;

/** `docs/openapi.yaml`, parsed once per test file. */
export function loadSpec(): OpenApiSpec {
  cached ??= new OpenApiSpec(readFileSync(OPENAPI_FILE, 'utf8'));
  return cached;
}

/**
 * Asserts that a response body matches `docs/openapi.yaml` for the operation and status. `path` may
 * be the spec's template or the concrete request path. Throws an error listing every mismatch.
 *
 * @example expectMatchesSpec('POST', '/v1/reservations', 201, res.body);
 */
export function expectMatchesSpec(
  method: string,
  path: string,
  status: number,
  body: unknown,
  mediaType = 'application/json',
): void {
  const errors = loadSpec().validate(method, path, status, body, mediaType);
  if (errors.length > 0) {
    throw new Error(
      `Response does not match docs/openapi.yaml for ${method.toUpperCase()} ${path} → ${status}:\n` +
        errors.map((e) => `  - ${e}`).join('\n') +
        `\nBody: ${JSON.stringify(body)}`,
    );
  }
}

/**
 * Asserts that a supertest response matches `docs/openapi.yaml`: the method and path of its request,
 * its status, media type and body, and the presence of the headers the spec marks required
 * (e.g. `X-Request-Id`). Returns the response, so it can wrap the request.
 *
 * @example const res = validateResponse(await request(app).get('/v1/concerts').set(user.auth));
 */
export function validateResponse<R extends CheckedResponse>(res: R): R {
  const { method } = res.request;
  const requestPath = new URL(res.request.url, 'http://localhost').pathname;
  const mediaType = res.type || 'application/json';
  const isJson = mediaType === 'application/json' || mediaType.endsWith('+json');
  expectMatchesSpec(method, requestPath, res.status, isJson ? res.body : (res.text ?? ''), mediaType);
  const spec = loadSpec();
  const operation = spec.findOperation(method, requestPath)!;
  const missing = spec
    .response(operation, res.status)!
    .requiredHeaders.filter((name) => res.headers[name] === undefined);
  if (missing.length > 0) {
    throw new Error(
      `Response to ${method} ${requestPath} (${res.status}) lacks the header(s) docs/openapi.yaml requires: ${missing.join(', ')}`,
    );
  }
  return res;
}
