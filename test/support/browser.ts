import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';

/**
 * A browser as far as the server can tell: one cookie jar, following our own forms. `csrf` reads the
 * token from the last page, as the page's own form would send it.
 */
export class Browser {
  readonly agent: TestAgent;
  private lastCsrf: string | undefined;

  constructor(readonly baseUrl: string) {
    this.agent = request.agent(baseUrl);
  }

  async get(path: string) {
    const response = await this.agent.get(path).set('Accept', 'text/html');
    this.remember(response.text);
    return response;
  }

  async post(path: string, form: Record<string, string>) {
    const response = await this.agent.post(path).type('form').set('Accept', 'text/html').send(form);
    this.remember(response.text);
    return response;
  }

  /** POSTs a form and follows redirects to the page the user ends up on. */
  async submit(path: string, form: Record<string, string>) {
    let response = await this.post(path, form);
    for (let hops = 0; response.status === 303 && hops < 10; hops++)
      response = await this.get(response.headers.location);
    return response;
  }

  /** GET /login, POST the form with these credentials, and follow the redirect as a browser does. */
  async login(username: string, password: string) {
    await this.get('/login');
    const response = await this.post('/login', { username, password, csrf: this.csrf });
    if (response.status === 303) await this.get(response.headers.location);
    return response;
  }

  get csrf(): string {
    if (!this.lastCsrf) throw new Error('no page with a CSRF token was loaded');
    return this.lastCsrf;
  }

  /** The username the home page says is signed in, or null when it sends us to the login page. */
  async signedInAs(): Promise<string | null> {
    const response = await this.get('/');
    if (response.status === 303) return null;
    return /signed in as <strong>([^<(]+?)(?: \(|<)/.exec(response.text)?.[1] ?? null;
  }

  private remember(html: string | undefined) {
    const token = html && /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    if (token) this.lastCsrf = token;
  }
}

/** The signed-out page a logout ends on, with or without the handle of the logout it sums up (`?logout=`). */
export const SIGNED_OUT_PAGE = /\/logout\/done(\?logout=[\w-]+\.[\w-]+)?$/;
