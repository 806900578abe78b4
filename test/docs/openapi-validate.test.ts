import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorType } from '../../src/shared/errors';
import type { CheckedResponse } from '../helpers/openapi';
import {
  expectMatchesSpec,
  loadSpec,
  OPENAPI_FILE,
  OpenApiSpec,
  parseEventStream,
  pointer,
  validateResponse,
} from '../helpers/openapi';

/** One documented example and the schema it illustrates. */
interface ExampleCase {
  /** Where the example sits, for the failure message. */
  where: string;
  schema: string;
  value: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The `example` / `examples` of a media type or parameter object at `ptr`, against `schemaPtr`. */
function examplesOf(spec: OpenApiSpec, ptr: string, schemaPtr: string): ExampleCase[] {
  const holder = spec.resolve(ptr).value;
  const cases: ExampleCase[] = [];
  if ('example' in holder) cases.push({ where: `${ptr}/example`, schema: schemaPtr, value: holder.example });
  if (isObject(holder.examples)) {
    for (const name of Object.keys(holder.examples)) {
      const example = spec.resolve(pointer(`${ptr}/examples`, name));
      if (!('value' in example.value)) throw new Error(`${example.pointer}: an example without an inline value`);
      cases.push({ where: example.pointer, schema: schemaPtr, value: example.value.value });
    }
  }
  return cases;
}

/** Every example in the document: bodies and responses of each operation, parameters, and schema `examples`. */
function allExamples(spec: OpenApiSpec): ExampleCase[] {
  const cases: ExampleCase[] = [];
  const fromContent = (holderPtr: string): void => {
    const holder = spec.resolve(holderPtr);
    if (!isObject(holder.value.content)) return;
    for (const mediaType of Object.keys(holder.value.content)) {
      const mediaPtr = pointer(`${holder.pointer}/content`, mediaType);
      const examples = examplesOf(spec, mediaPtr, `${mediaPtr}/schema`);
      // An event stream's example is the whole stream; its schema describes each event.
      cases.push(
        ...(mediaType === 'text/event-stream'
          ? examples.flatMap((c) =>
              parseEventStream(String(c.value)).map((event, i) => ({ ...c, where: `${c.where}#${i}`, value: event })),
            )
          : examples),
      );
    }
  };
  for (const op of spec.operations()) {
    const operation = spec.resolve(op.pointer).value;
    if (operation.requestBody) fromContent(`${op.pointer}/requestBody`);
    for (const status of Object.keys(operation.responses as object))
      fromContent(pointer(`${op.pointer}/responses`, status));
    const parameters = Array.isArray(operation.parameters) ? operation.parameters : [];
    parameters.forEach((_, i) => {
      const param = spec.resolve(`${op.pointer}/parameters/${i}`);
      cases.push(...examplesOf(spec, param.pointer, `${param.pointer}/schema`));
    });
  }
  const schemas = spec.resolve('/components/schemas').value;
  for (const name of Object.keys(schemas)) {
    const schemaPtr = pointer('/components/schemas', name);
    const examples = spec.resolve(schemaPtr).value.examples;
    if (Array.isArray(examples)) {
      examples.forEach((value, i) => cases.push({ where: `${schemaPtr}/examples/${i}`, schema: schemaPtr, value }));
    }
  }
  return cases;
}

/** The examples that do not conform to their schema, with the reasons. */
function exampleFailures(spec: OpenApiSpec): Array<{ where: string; errors: string[] }> {
  const failures = new Map<string, string[]>();
  for (const { where, schema, value } of allExamples(spec)) {
    const errors = spec.errorsAt(schema, value);
    if (errors.length > 0) failures.set(where, errors);
  }
  return [...failures].map(([where, errors]) => ({ where, errors }));
}

/** Every `$ref` string anywhere in a value, with where it was found. */
function refsIn(value: unknown, at = ''): Array<{ at: string; ref: string }> {
  if (Array.isArray(value)) return value.flatMap((item, i) => refsIn(item, `${at}/${i}`));
  if (!isObject(value)) return [];
  return Object.entries(value).flatMap(([key, child]) =>
    key === '$ref' && typeof child === 'string' ? [{ at, ref: child }] : refsIn(child, pointer(at, key)),
  );
}

const reservation = {
  reservationId: '7c9d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f',
  userId: '3f1c2a9e-6b7d-4e21-9a4f-0c8d5e7b1a23',
  concertId: '0e5f8a62-1c3b-4d7e-8f90-2a4b6c8d0e1f',
  date: '2099-12-24',
  seatNo: 17,
  price: 50000,
  status: 'HELD',
  heldUntil: '2099-12-01T09:06:10.000Z',
};

/** A supertest-shaped response, for checking validateResponse without a server. */
function fakeResponse(overrides: Partial<CheckedResponse> = {}): CheckedResponse {
  return {
    status: 200,
    body: reservation,
    type: 'application/json',
    headers: { 'x-request-id': 'req-1', 'content-type': 'application/json; charset=utf-8' },
    request: { method: 'GET', url: `http://127.0.0.1:41234/v1/reservations/${reservation.reservationId}` },
    ...overrides,
  };
}

describe('docs/openapi.yaml schemas and examples', () => {
  const spec = loadSpec();

  it('when every $ref of the document is followed, then each one points at something', () => {
    const broken = refsIn(spec.document).filter(({ ref }) => {
      try {
        spec.at(ref.replace(/^#/, ''));
        return !ref.startsWith('#');
      } catch {
        return true;
      }
    });
    expect(broken).toEqual([]);
  });

  it('when operationIds are listed, then each operation has one and none repeats', () => {
    const ids = spec.operations().map((op) => op.operationId);
    expect(ids).not.toContain(undefined);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('when each documented example is validated against its schema, then every one conforms', () => {
    const cases = allExamples(spec);
    // Sanity: the walk found the examples (the mock server serves them), not an empty list.
    expect(cases.length).toBeGreaterThan(50);
    expect(exampleFailures(spec)).toEqual([]);
  });

  it('when an example contradicts its schema, then the example check names it', () => {
    const text = readFileSync(OPENAPI_FILE, 'utf8');
    expect(text).toContain('position: 42');
    const broken = new OpenApiSpec(text.replace('position: 42', 'position: -1'));
    expect(exampleFailures(broken)).toContainEqual({
      where: '/components/examples/QueueTokenWaiting',
      errors: ['/position must be >= 0'],
    });
  });

  it('when every request and response schema is compiled in strict mode, then each compiles', () => {
    const schemas = spec.operations().flatMap((op) => {
      const operation = spec.resolve(op.pointer).value;
      const holders = [
        ...(operation.requestBody ? [`${op.pointer}/requestBody`] : []),
        ...Object.keys(operation.responses as object).map((status) => pointer(`${op.pointer}/responses`, status)),
      ];
      return holders.flatMap((holderPtr) => {
        const holder = spec.resolve(holderPtr);
        const content = isObject(holder.value.content) ? Object.keys(holder.value.content) : [];
        return content.map((mediaType) => pointer(`${holder.pointer}/content`, mediaType, 'schema'));
      });
    });
    expect(schemas.length).toBeGreaterThan(60);
    for (const schema of schemas) expect(() => spec.validatorAt(schema)).not.toThrow();
  });

  it('when a schema keyword is misspelt, then compiling it fails instead of ignoring it', () => {
    const text = readFileSync(OPENAPI_FILE, 'utf8');
    expect(text).toContain('maxItems: 50');
    const broken = new OpenApiSpec(text.replace('maxItems: 50', 'maxItem: 50'));
    expect(() => broken.validatorAt('/components/schemas/SeatList')).toThrow(/unknown keyword: "maxItem"/);
  });

  it('when the code can answer an error code, then the Error schema of the spec lists it', () => {
    const src = path.resolve(__dirname, '../../src');
    const sources = readdirSync(src, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => readFileSync(path.join(src, file), 'utf8'));
    const thrown = sources.flatMap((text) =>
      [...text.matchAll(/HttpError\(\s*\d{3},\s*'([A-Z_]+)'|\bcode: '([A-Z_]+)'/g)].map((m) => (m[1] ?? m[2])!),
    );
    const codes = [...new Set([...Object.values(ErrorType), ...thrown])];
    expect(codes).toEqual(expect.arrayContaining(['VALIDATION_FAILED', 'UNAUTHORIZED', 'NOT_FOUND', 'INTERNAL']));
    const documented = spec.resolve('/components/schemas/Error/properties/error/properties/code').value.description;
    expect(codes.filter((code) => !String(documented).includes(`\`${code}\``))).toEqual([]);
  });

  it('when the mock server answers an operation, then its success response has an example to serve', () => {
    const withoutExample = spec
      .operations()
      .filter((op) => {
        const responses = spec.resolve(op.pointer).value.responses as Record<string, unknown>;
        const success = Object.keys(responses).filter((status) => status.startsWith('2'));
        return !success.some((status) => {
          const response = spec.resolve(pointer(`${op.pointer}/responses`, status)).value;
          const content = isObject(response.content) ? Object.values(response.content) : [];
          return content.some((media) => isObject(media) && (isObject(media.examples) || 'example' in media));
        });
      })
      .map((op) => `${op.method} ${op.path}`);
    expect(withoutExample).toEqual([]);
  });

  it('when the Server-Sent Events example is parsed, then each event is a status event whose data is a QueueToken', () => {
    const op = spec.findOperation('GET', '/v1/queue/tokens/current/events')!;
    const media = pointer(`${spec.response(op, 200)!.pointer}/content`, 'text/event-stream');
    const events = examplesOf(spec, media, `${media}/schema`);
    expect(events.length).toBeGreaterThan(0);
    for (const { value } of events) {
      const blocks = String(value)
        .split(/\n\n+/)
        .map((block) => block.trim())
        .filter((block) => block.length > 0);
      expect(blocks.length).toBeGreaterThan(0);
      for (const block of blocks) {
        const [eventLine, dataLine, ...rest] = block.split('\n');
        expect(rest).toEqual([]);
        expect(eventLine).toBe('event: status');
        expect(dataLine).toMatch(/^data: /);
        const data: unknown = JSON.parse(dataLine!.slice('data: '.length));
        expect(spec.errorsAt('/components/schemas/QueueToken', data)).toEqual([]);
        expect(spec.errorsAt(`${media}/schema`, parseEventStream(block)[0])).toEqual([]);
      }
    }
  });
});

describe('expectMatchesSpec and validateResponse (test/helpers/openapi.ts)', () => {
  it('when a body matches the documented schema, then the check passes for the template and for a concrete path', () => {
    expect(() => expectMatchesSpec('GET', '/v1/reservations/{reservationId}', 200, reservation)).not.toThrow();
    expect(() =>
      expectMatchesSpec('get', `/v1/reservations/${reservation.reservationId}?x=1`, 200, reservation),
    ).not.toThrow();
    expect(() =>
      expectMatchesSpec('GET', '/v1/reservations/not-a-uuid', 400, {
        error: { code: 'VALIDATION_FAILED', message: 'reservationId: must be a UUID' },
      }),
    ).not.toThrow();
  });

  it('when a body lacks a required field, then the check fails naming the field', () => {
    const { heldUntil: _dropped, ...withoutHeldUntil } = reservation;
    expect(() => expectMatchesSpec('POST', '/v1/reservations', 201, withoutHeldUntil)).toThrow(
      /must have required property 'heldUntil'/,
    );
  });

  it('when a body has an undocumented field or a wrong type, then the check fails naming it', () => {
    expect(() => expectMatchesSpec('POST', '/v1/reservations', 201, { ...reservation, seat: 17 })).toThrow(
      /must NOT have additional properties \(seat\)/,
    );
    expect(() => expectMatchesSpec('POST', '/v1/reservations', 201, { ...reservation, price: '50000' })).toThrow(
      /\/price must be integer/,
    );
    expect(() => expectMatchesSpec('POST', '/v1/reservations', 201, { ...reservation, status: 'PAID' })).toThrow(
      /\/status must be equal to one of the allowed values/,
    );
  });

  it('when the status or the route is not documented, then the check fails saying so', () => {
    expect(() => expectMatchesSpec('POST', '/v1/reservations', 418, reservation)).toThrow(
      /status 418 is not documented for POST \/v1\/reservations/,
    );
    expect(() => expectMatchesSpec('PUT', '/v1/reservations', 200, reservation)).toThrow(
      /PUT \/v1\/reservations is not an operation of the spec/,
    );
  });

  it('when an error body does not use the envelope, then the check fails', () => {
    expect(() => expectMatchesSpec('GET', '/v1/concerts', 401, { message: 'nope' })).toThrow(
      /must have required property 'error'/,
    );
  });

  it('when a supertest response conforms, then validateResponse returns it', () => {
    const res = fakeResponse();
    expect(validateResponse(res)).toBe(res);
    const metrics = fakeResponse({
      body: {},
      text: '# HELP x y\n',
      type: 'text/plain',
      request: { method: 'GET', url: 'http://127.0.0.1:41234/metrics' },
    });
    expect(validateResponse(metrics)).toBe(metrics);
  });

  it('when an event stream is validated, then each event is checked against the schema of one event', () => {
    const url = 'http://127.0.0.1:41234/v1/queue/tokens/current/events';
    const token = {
      token: 't',
      userId: reservation.userId,
      status: 'COMPLETED',
      position: 0,
      estimatedWaitSeconds: 0,
      activeUntil: null,
    };
    const stream = (events: string): CheckedResponse =>
      fakeResponse({ body: {}, text: events, type: 'text/event-stream', request: { method: 'GET', url } });
    const good = `: hello\n\nevent: status\ndata: ${JSON.stringify(token)}\n\n`;
    expect(() => validateResponse(stream(good))).not.toThrow();
    expect(() => validateResponse(stream(`event: state\ndata: ${JSON.stringify(token)}\n\n`))).toThrow(
      /event 0: \/event must be equal to constant/,
    );
    expect(parseEventStream('event: status\ndata: a\ndata: b\nid: 7\n\n: ping\n\n')).toEqual([
      { event: 'status', data: 'a\nb', id: '7' },
    ]);
  });

  it('when a supertest response lacks a required header or has an undocumented media type, then validateResponse fails', () => {
    expect(() => validateResponse(fakeResponse({ headers: {} }))).toThrow(/x-request-id/);
    expect(() => validateResponse(fakeResponse({ type: 'text/html', text: '<p>' }))).toThrow(
      /text\/html is not documented/,
    );
  });
});
