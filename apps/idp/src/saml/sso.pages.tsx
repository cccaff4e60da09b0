import type { LiveSession } from '@signoff/sessions';
import { render } from '../http/layout';
import { ChooserPage } from '../oidc/authorize.pages';

/** The account chooser of a SAML AuthnRequest (several accounts on this browser): the same page as OIDC's. */
export const chooserPage = (sessions: LiveSession[], request: string, spName: string, csrf: string): string =>
  render(
    <ChooserPage
      sessions={sessions}
      clientName={spName}
      csrf={csrf}
      action="/saml/sso/select"
      fields={{ request }}
      resume={`/saml/sso/resume?request=${request}`}
    />,
  );
