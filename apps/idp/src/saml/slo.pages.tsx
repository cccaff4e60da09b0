import { Alert, Layout, render } from '../http/layout';

/** An SP's LogoutResponse inside our logout page's iframe: all there is to see there. */
export function SpAnsweredPage({ application, confirmed }: { application: string; confirmed: boolean }) {
  return (
    <Layout title="Signed out">
      <p>
        {confirmed ? 'Signed out of' : 'Could not sign out of'} {application}.
      </p>
    </Layout>
  );
}

/** A refused LogoutResponse in the native chain: the user goes on, the application counts as not confirmed. */
export function ChainRefusalPage({ refusal, chain }: { refusal: string; chain: string }) {
  return (
    <Layout title="Sign-out not confirmed">
      <Alert>{refusal}</Alert>
      <p>
        <a href={`${chain}?skip=1`}>Continue signing out</a>
      </p>
    </Layout>
  );
}

export const spAnsweredPage = (application: string, confirmed: boolean): string =>
  render(<SpAnsweredPage application={application} confirmed={confirmed} />);
export const chainRefusalPage = (refusal: string, chain: string): string =>
  render(<ChainRefusalPage refusal={refusal} chain={chain} />);
