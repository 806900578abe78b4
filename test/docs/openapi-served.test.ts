import { readFileSync } from 'node:fs';
import request from 'supertest';
import { parse as parseYaml } from 'yaml';
import type { InProcessStack } from '../helpers/app';
import { startInProcessStack } from '../helpers/app';
import { testConfig } from '../../scripts/lib/config';
import { OPENAPI_FILE } from '../helpers/openapi';

describe('docs served by the API', () => {
  let stack: InProcessStack;
  beforeAll(async () => {
    stack = await startInProcessStack(testConfig(), { worker: false });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('when /docs/openapi.yaml is requested, then it is docs/openapi.yaml as YAML, byte for byte', async () => {
    // superagent leaves application/yaml unparsed: collect the body as text.
    const res = await request(stack.app)
      .get('/docs/openapi.yaml')
      .buffer(true)
      .parse((response, done) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => done(null, text));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/yaml/);
    const text = res.body as string;
    expect(text).toBe(readFileSync(OPENAPI_FILE, 'utf8'));
    const parsed = parseYaml(text) as { openapi?: string; paths?: Record<string, unknown> };
    expect(parsed.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(parsed.paths ?? {})).toContain('/v1/reservations');
  });

  it('when /docs/ is requested, then swagger-ui answers with its HTML page', async () => {
    const res = await request(stack.app).get('/docs/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('swagger-ui');
  });

  it('when swagger-ui loads its settings, then they carry the same document', async () => {
    const res = await request(stack.app).get('/docs/swagger-ui-init.js');
    expect(res.status).toBe(200);
    const spec = parseYaml(readFileSync(OPENAPI_FILE, 'utf8')) as { info: { title: string; version: string } };
    // swagger-ui-express embeds the document as JSON in this script.
    expect(res.text).toContain(`"title": ${JSON.stringify(spec.info.title)}`);
    expect(res.text).toContain(`"version": ${JSON.stringify(spec.info.version)}`);
  });

  it('when /docs is requested without the slash, then it reaches the swagger-ui page', async () => {
    const res = await request(stack.app).get('/docs').redirects(1);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
  });
});
