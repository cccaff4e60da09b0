import { SYSTEM, type User, UsersService } from '@signoff/core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser as Chromium } from 'playwright-core';
import request from 'supertest';
import { ApiTokensService } from '../../apps/idp/src/admin/api-tokens.service';
import { Browser } from '../support/browser';
import { describeInChromium, launchChromium } from '../support/chromium';
import { startApp, type TestApp } from '../support/test-app';

/**
 * Issue 11, "The API behind it": the admin API's OpenAPI 3.1 document at /api/docs/openapi.json, a
 * browsable reference (Swagger UI from swagger-ui-dist, served by us) at /api/docs, typed schemas for
 * every body, one pagination convention for every list, and no route of /api/v1 left undocumented.
 */
const SCREENSHOTS = join(__dirname, '..', '..', 'docs', 'screenshots');
const INLINE_SCRIPT = /<script(?![^>]*\ssrc=)|\son[a-z]+\s*=|<style|\sstyle=/i;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

type Schema = { $ref?: string; type?: unknown; properties?: Record<string, unknown>; [key: string]: unknown };
type Operation = {
  summary?: string;
  tags?: string[];
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
};
type OpenApi = {
  openapi: string;
  servers: Array<{ url: string }>;
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, Record<string, unknown>> };
};

let t: TestApp;
let admin: User;
let token: string;
let doc: OpenApi;

beforeAll(async () => {
  t = await startApp({ BOOTSTRAP_ADMIN_USERNAME: 'root', BOOTSTRAP_ADMIN_PASSWORD: 'root password' });
  admin = (await t.app.get(UsersService).findByUsername('root'))!;
  token = (await t.app.get(ApiTokensService).create(admin, 'api docs', null, SYSTEM)).token;
  doc = (await request(t.url).get('/api/docs/openapi.json')).body;
});
afterAll(() => t?.close());

/** Every operation of the document: [path, method, operation]. */
const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => [path, method, item[method]!] as const),
  );

/** A schema with its $ref followed (the document's own components only). */
function resolved(schema: Schema | undefined): Schema | undefined {
  if (!schema?.$ref) return schema;
  const name = /^#\/components\/schemas\/([A-Za-z0-9_]+)$/.exec(schema.$ref)?.[1];
  return name ? doc.components.schemas[name] : undefined;
}

/** The JSON schema of a response (or request body), if it has one. */
const body = (response: { content?: Record<string, { schema?: Schema }> } | undefined) =>
  response?.content?.['application/json']?.schema;

/** A list endpoint answers {items, total, limit, offset} (the one pagination convention). */
const isList = (operation: Operation) => {
  const schema = resolved(body(operation.responses['200']));
  return ['items', 'total', 'limit', 'offset'].every((key) => key in (schema?.properties ?? {}));
};

describe('where the document is', () => {
  it('serves the OpenAPI 3.1 document at /api/docs/openapi.json, and at /api/docs to JSON clients', async () => {
    const json = await request(t.url).get('/api/docs/openapi.json');
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.body.openapi).toBe('3.1.0');
    expect(json.body.servers).toEqual([{ url: `${t.url}/api/v1` }]);
    // Clients of the former JSON-only /api/docs: an explicit Accept, */*, or none at all.
    for (const accept of ['application/json', '*/*', undefined]) {
      const call = request(t.url).get('/api/docs');
      const response = await (accept ? call.set('Accept', accept) : call);
      expect([accept, response.status, response.headers['content-type']]).toEqual([
        accept,
        200,
        expect.stringMatching(/^application\/json/),
      ]);
      expect(response.body).toEqual(json.body);
      expect(response.headers.vary).toMatch(/Accept/i);
    }
  });

  it('serves a browser the Swagger UI page, with no inline script or style, under the strict CSP', async () => {
    const accept = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'; // what Chromium sends
    const page = await request(t.url).get('/api/docs').set('Accept', accept);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('<script src="/api/docs/swagger-ui/swagger-ui-bundle.js" defer>');
    expect(page.text).toContain('<script src="/static/api-docs.js" defer>');
    expect(page.text).toContain('<link rel="stylesheet" href="/api/docs/swagger-ui/swagger-ui.css"');
    expect(page.text).toContain('href="/api/docs/openapi.json"'); // without JavaScript: the JSON
    expect(page.text).not.toMatch(INLINE_SCRIPT);
    expect(page.text).not.toMatch(/https?:\/\//); // nothing from another site (no CDN)
    const policy = page.headers['content-security-policy'];
    expect(policy).toContain("script-src 'self';");
    expect(policy).toContain("style-src 'self';");
    expect(policy).toContain("frame-ancestors 'none'");
  });

  it('serves the Swagger UI files by name from swagger-ui-dist, and nothing else', async () => {
    const bundle = await request(t.url).get('/api/docs/swagger-ui/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers['content-type']).toMatch(/^text\/javascript/);
    expect(bundle.text).toContain('SwaggerUIBundle');
    expect(bundle.headers['x-content-type-options']).toBe('nosniff');
    const css = await request(t.url).get('/api/docs/swagger-ui/swagger-ui.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    expect(css.text).toContain('.swagger-ui');
    const initializer = await request(t.url).get('/static/api-docs.js');
    expect(initializer.status).toBe(200);
    expect(initializer.text).toContain("url: '/api/docs/openapi.json'");
    for (const name of [
      'index.html',
      'swagger-initializer.js',
      'swagger-ui-standalone-preset.js',
      'package.json',
      '..%2F..%2Fpackage.json',
      '%2Fetc%2Fpasswd',
      'swagger-ui-bundle.js.map',
    ]) {
      const response = await request(t.url).get(`/api/docs/swagger-ui/${name}`);
      expect([name, response.status]).toEqual([name, 404]);
    }
  });
});

describe('what the document says', () => {
  it('gives every operation a summary and every 2xx JSON body a typed schema', async () => {
    const untyped: string[] = [];
    for (const [path, method, operation] of operations()) {
      if (!operation.summary?.trim()) untyped.push(`${method} ${path}: no summary`);
      const bodies = [
        ['request', operation.requestBody?.content?.['application/json']?.schema] as const,
        ...Object.entries(operation.responses)
          .filter(([status]) => /^2\d\d$/.test(status))
          .map(([status, response]) => [status, response.content?.['application/json']?.schema] as const),
      ];
      for (const [which, schema] of bodies) {
        if (which !== 'request' && !operation.responses[which].content) continue; // 204: no body
        if (which === 'request' && !operation.requestBody) continue;
        const target = resolved(schema);
        if (!target?.properties || Object.keys(target.properties).length === 0)
          untyped.push(`${method} ${path} ${which}: ${JSON.stringify(schema)}`);
      }
    }
    expect(untyped).toEqual([]);
  });

  it('resolves every $ref to a schema of its components', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((match) => match[1]);
    expect(refs.length).toBeGreaterThan(20);
    expect(refs.filter((ref) => !resolved({ $ref: ref }))).toEqual([]);
  });

  it('documents limit and offset on every list endpoint, and filters as snake_case query parameters', () => {
    const lists = operations().filter(([, method, operation]) => method === 'get' && isList(operation));
    expect(lists.map(([path]) => path)).toEqual(
      expect.arrayContaining([
        '/users',
        '/users/{id}/sessions',
        '/sessions',
        '/logout-operations',
        '/api-tokens',
        '/audit-events',
      ]),
    );
    for (const [path, , operation] of lists) {
      const names = (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      expect([path, names]).toEqual([path, expect.arrayContaining(['limit', 'offset'])]);
      expect([path, names.filter((name) => !/^[a-z][a-z0-9_]*$/.test(name))]).toEqual([path, []]);
    }
    // Whatever else answers {items} is a whole collection of configuration, returned in one piece: a
    // new list that is neither paginated nor one of these fails here, to be decided on purpose.
    const whole = operations()
      .filter(([, method, operation]) => method === 'get' && !isList(operation))
      .filter(([, , operation]) => 'items' in (resolved(body(operation.responses['200']))?.properties ?? {}))
      .map(([path]) => path);
    expect(whole.sort()).toEqual(['/flows', '/groups', '/keys', '/providers', '/ssf/receivers', '/stages']);
  });

  it('answers every list endpoint as documented: a page of items, the total, limit and offset', async () => {
    const lists = operations().filter(([, method, operation]) => method === 'get' && isList(operation));
    // A logout operation to page the deliveries of (ending the sessions of a user with none starts one).
    const someone = await t.app.get(UsersService).create({ username: 'no-sessions', password: 'a password 1' }, SYSTEM);
    const ended = await request(t.url)
      .delete(`/api/v1/users/${someone.id}/sessions`)
      .set('Authorization', `Bearer ${token}`);
    expect(ended.status).toBe(202);
    const idFor = (path: string) => (path.startsWith('/logout-operations/') ? ended.body.operationId : admin.id);
    for (const [path] of lists) {
      const url = `/api/v1${path.replace('{id}', idFor(path))}?limit=1&offset=0`;
      const response = await request(t.url).get(url).set('Authorization', `Bearer ${token}`);
      expect([path, response.status]).toEqual([path, 200]);
      expect([path, Object.keys(response.body).sort()]).toEqual([path, ['items', 'limit', 'offset', 'total']]);
      expect(response.body).toMatchObject({ limit: 1, offset: 0, total: expect.any(Number) });
      expect(response.body.items.length).toBeLessThanOrEqual(1);
      const bad = await request(t.url)
        .get(`${url.split('?')[0]}?limit=0`)
        .set('Authorization', `Bearer ${token}`);
      expect([path, bad.status]).toEqual([path, 400]);
    }
  });

  it("pages a user's sessions like every other list (GET /users/{id}/sessions)", async () => {
    const user = await t.app.get(UsersService).create({ username: 'paged', password: 'paged password' }, SYSTEM);
    for (let i = 0; i < 3; i++) await new Browser(t.url).login('paged', 'paged password');
    const page = (query: string) =>
      request(t.url).get(`/api/v1/users/${user.id}/sessions?${query}`).set('Authorization', `Bearer ${token}`);
    const first = await page('limit=2');
    expect(first.body).toMatchObject({ total: 3, limit: 2, offset: 0 });
    expect(first.body.items).toHaveLength(2);
    const second = await page('limit=2&offset=2');
    expect(second.body).toMatchObject({ total: 3, limit: 2, offset: 2 });
    const ids = [...first.body.items, ...second.body.items].map((session: { id: string }) => session.id);
    expect(new Set(ids).size).toBe(3);
    expect((await page('include_ended=yes')).status).toBe(400);
    expect((await page('include_ended=true')).body.total).toBe(3);
  });

  it('tags every operation, so the reference groups them as the console does', () => {
    expect(operations().filter(([, , operation]) => !operation.tags?.length)).toEqual([]);
    expect(doc.paths['/logout-deliveries/{id}/retry'].post!.tags).toEqual(['Logout operations']);
  });

  it('has the bearer scheme that "Try it out" uses, and the browser session', () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.browserSession).toMatchObject({ type: 'apiKey', in: 'cookie' });
  });
});

describe('every route of /api/v1', () => {
  /** The routes Express answers under /api/v1 (what Nest registered), as "METHOD /openapi/{path}". */
  function registered(): string[] {
    const express = t.app.getHttpAdapter().getInstance() as {
      router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> };
    };
    return express.router.stack.flatMap((layer) => {
      const route = layer.route;
      if (!route || typeof route.path !== 'string' || !route.path.startsWith('/api/v1/')) return [];
      const path = route.path.slice('/api/v1'.length).replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      return Object.keys(route.methods)
        .filter((method) => route.methods[method] && method !== '_all')
        .map((method) => `${method.toUpperCase()} ${path}`);
    });
  }
  const documented = () => operations().map(([path, method]) => `${method.toUpperCase()} ${path}`);

  it('is in the document, and the document names no route that does not exist', () => {
    const routes = registered();
    expect(routes.length).toBeGreaterThan(40);
    expect(routes).toContain('GET /users/{id}');
    expect(routes.filter((route) => !documented().includes(route))).toEqual([]);
    expect(documented().filter((operation) => !routes.includes(operation))).toEqual([]);
  });

  it('answers as the document says: /me is the caller, with a CSRF token for browser sessions only', async () => {
    const schema = resolved(body(doc.paths['/me'].get!.responses['200']))!;
    const viaToken = await request(t.url).get('/api/v1/me').set('Authorization', `Bearer ${token}`);
    expect(viaToken.status).toBe(200);
    expect(viaToken.body.user).toMatchObject({ id: admin.id, username: 'root', isAdmin: true });
    expect(viaToken.body).not.toHaveProperty('csrfToken');
    const browser = new Browser(t.url);
    await browser.login('root', 'root password');
    const viaCookie = await browser.agent.get('/api/v1/me');
    expect(viaCookie.body).toMatchObject({ user: { id: admin.id }, csrfToken: expect.any(String) });
    for (const answer of [viaToken.body, viaCookie.body])
      expect(Object.keys(answer).filter((key) => !(key in schema.properties!))).toEqual([]);
    expect(
      Object.keys(viaToken.body.user).filter(
        (key) => !(key in resolved(schema.properties!.user as Schema)!.properties!),
      ),
    ).toEqual([]);
  });
});

describeInChromium('the API reference in a browser (headless Chromium)', () => {
  let chromium: Chromium;
  beforeAll(async () => {
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
  });

  it('renders every operation with no CSP violation, and "Try it out" calls the API with the bearer token', async () => {
    const violations: string[] = [];
    const errors: string[] = [];
    const context = await chromium.newContext({ viewport: { width: 1280, height: 900 } });
    await context.exposeBinding('reportCspViolation', (_source, text: string) => void violations.push(text));
    await context.addInitScript(
      `document.addEventListener('securitypolicyviolation', (e) => window.reportCspViolation(e.violatedDirective + ' ' + e.blockedURI + ' on ' + e.documentURI));`,
    );
    const offsite: string[] = [];
    context.on('request', (req) => {
      if (!req.url().startsWith(t.url) && !req.url().startsWith('data:')) offsite.push(req.url());
    });
    const page = await context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(`console: ${message.text()}`);
      // Browsers ask for /favicon.ico on their own; Signoff has none (on any page).
      else if (message.type() === 'error' && !message.location().url.endsWith('/favicon.ico'))
        errors.push(`${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    page.setDefaultTimeout(15_000);

    await page.goto(`${t.url}/api/docs`);
    await page.locator('.opblock-summary-description', { hasText: 'List users' }).first().waitFor({ timeout: 20_000 });
    const summaries = await page.locator('.opblock-summary-description').allTextContents();
    expect(summaries.length).toBe(operations().length);
    expect(summaries).toContain(doc.paths['/logout-operations'].get!.summary);

    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'api-docs.png') });

    // Authorize with an API token (the bearer scheme), then run GET /me from the page.
    await page
      .getByRole('button', { name: /authorize/i })
      .first()
      .click();
    const dialog = page.locator('.dialog-ux');
    await dialog.waitFor();
    const bearer = dialog.locator('.auth-container').filter({ hasText: 'bearer' });
    await bearer.getByLabel('auth-bearer-value').fill(token);
    await bearer.getByRole('button', { name: 'Apply credentials' }).click();
    await bearer.getByRole('button', { name: 'Remove authorization' }).waitFor();
    await dialog.getByRole('button', { name: 'Close' }).first().click();

    const me = page.locator('.opblock').filter({ has: page.locator('.opblock-summary-path', { hasText: /^\/me$/ }) });
    await me.locator('.opblock-summary').click();
    await me.getByRole('button', { name: 'Try it out' }).click();
    const call = page.waitForResponse((response) => response.url() === `${t.url}/api/v1/me`);
    await me.getByRole('button', { name: 'Execute' }).click();
    const answer = await call;
    expect(answer.status()).toBe(200);
    expect(answer.request().headers().authorization).toBe(`Bearer ${token}`);
    await me.locator('.live-responses-table .response-col_status', { hasText: '200' }).first().waitFor();
    await me.screenshot({ path: join(SCREENSHOTS, 'api-docs-try-it-out.png') });

    expect(violations).toEqual([]);
    expect(offsite).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
