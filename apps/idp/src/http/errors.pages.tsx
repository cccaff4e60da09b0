import { Alert, Layout, render } from './layout';

/** An error as browsers see it (ErrorsFilter): what went wrong, and the request id to quote. */
export function ErrorPage({ title, message, requestId }: { title: string; message: string; requestId?: string }) {
  return (
    <Layout title={title}>
      <Alert>{message}</Alert>
      <p class="muted">Request id: {requestId}</p>
      <p>
        <a href="/">Back to Signoff</a>
      </p>
    </Layout>
  );
}

export const errorPage = (title: string, message: string, requestId?: string): string =>
  render(<ErrorPage title={title} message={message} requestId={requestId} />);
