import { Alert, Form, Layout, render } from '../http/layout';

export interface LoginPageProps {
  csrf: string;
  returnTo: string;
  username?: string;
  error?: string;
  signedInAs?: string;
}

/** The login page. The cursor starts in the username field, or in the password field when the username is known. */
export function LoginPage({ csrf, returnTo, username, error, signedInAs }: LoginPageProps) {
  return (
    <Layout title="Sign in">
      {signedInAs && (
        <p class="muted">
          You are signed in as <strong>{signedInAs}</strong>. Sign in below to add another account, or{' '}
          <a href="/">continue</a>.
        </p>
      )}
      {error && <Alert>{error}</Alert>}
      <Form action="/login" csrf={csrf}>
        <input type="hidden" name="return_to" value={returnTo} />
        <label for="username">Username</label>
        <input
          type="text"
          id="username"
          name="username"
          autocomplete="username"
          autocapitalize="none"
          spellcheck={false}
          required
          maxlength={64}
          value={username || undefined}
          autofocus={!username}
        />
        <label for="password">Password</label>
        <input
          type="password"
          id="password"
          name="password"
          autocomplete="current-password"
          required
          maxlength={1024}
          autofocus={Boolean(username)}
        />
        <button type="submit">Sign in</button>
      </Form>
    </Layout>
  );
}

export const loginPage = (props: LoginPageProps): string => render(<LoginPage {...props} />);
