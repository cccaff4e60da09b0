import { Form, Layout, render } from '../http/layout';

/** RP-Initiated Logout without a hint for this browser's account: the user confirms first. */
export function EndSessionConfirmPage({
  clientName,
  username,
  handle,
  csrf,
}: {
  clientName: string | null;
  username: string;
  handle: string;
  csrf: string;
}) {
  return (
    <Layout title="Sign out?">
      <p>
        A request
        {clientName !== null && (
          <>
            {' '}
            from <strong>{clientName}</strong>
          </>
        )}{' '}
        asks to sign <strong>{username}</strong> out of Signoff and its applications.
      </p>
      <Form action="/oauth2/end_session/confirm" csrf={csrf}>
        <input type="hidden" name="handle" value={handle} />
        <button type="submit" name="answer" value="yes">
          Sign out
        </button>{' '}
        <button type="submit" name="answer" value="no" class="link">
          Stay signed in
        </button>
      </Form>
    </Layout>
  );
}

export const endSessionConfirmPage = (
  clientName: string | null,
  username: string,
  handle: string,
  csrf: string,
): string => render(<EndSessionConfirmPage clientName={clientName} username={username} handle={handle} csrf={csrf} />);
