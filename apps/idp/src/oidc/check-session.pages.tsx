import { Document, render, Script } from '../http/layout';

/**
 * The check_session iframe (OIDC Session Management 1.0 §3.3): never seen, so no Layout; all it does
 * is static/check-session.js.
 */
export function CheckSessionPage() {
  return <Document title="check_session" head={<Script src="check-session.js" />} />;
}

export const checkSessionPage = (): string => render(<CheckSessionPage />);
