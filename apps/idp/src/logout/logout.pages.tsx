import type { FrontchannelFrame, FrontchannelStep } from '@signoff/logout';
import { AutoPostForm, Form, Layout, render, Script } from '../http/layout';

/**
 * GET /logout: the current account, and a button (a link or an image on another site must not sign
 * people out). An allowed `return_to` (and the `client_id` it was allowed for) goes on with the form;
 * the POST checks it again.
 */
export function LogoutConfirmPage({
  username,
  csrf,
  returnTo,
}: {
  username: string;
  csrf: string;
  returnTo: { url: string; clientId: string | null } | null;
}) {
  return (
    <Layout title="Sign out">
      <p>
        Sign out <strong>{username}</strong> from Signoff?
      </p>
      {returnTo && <p class="muted">Afterwards you will be sent to {returnTo.url}</p>}
      <Form action="/logout" csrf={csrf}>
        {returnTo && <input type="hidden" name="return_to" value={returnTo.url} />}
        {returnTo?.clientId && <input type="hidden" name="client_id" value={returnTo.clientId} />}
        <button type="submit">Sign out</button>
      </Form>
    </Layout>
  );
}

/** A confirm or message stage of an invalidation flow (libs/flows), answered at /logout/flow. */
export function FlowStagePage({
  kind,
  text,
  flowHandle,
  csrf,
}: {
  kind: 'confirm' | 'message';
  text: string;
  flowHandle: string;
  csrf: string;
}) {
  return (
    <Layout title={kind === 'confirm' ? 'Sign out?' : 'Signing out'}>
      <p>{text}</p>
      <Form action="/logout/flow" csrf={csrf}>
        <input type="hidden" name="flow" value={flowHandle} />
        {kind === 'confirm' ? (
          <>
            <button type="submit" name="answer" value="yes">
              Sign out
            </button>{' '}
            <button type="submit" name="answer" value="no" class="link">
              Cancel
            </button>
          </>
        ) : (
          <button type="submit" name="answer" value="yes">
            Continue
          </button>
        )}
      </Form>
    </Layout>
  );
}

/**
 * The logout page: one hidden iframe per front-channel delivery, all loading in parallel. Each
 * iframe's loads (or the timeout) are reported to /logout/frontchannel/:id until the server says the
 * delivery is settled (a SAML SP's is settled by its LogoutResponse, not by a page load); when all
 * are, the browser goes on to `next`. Without JavaScript the frames still load and a link goes on.
 * The script is static/logout-page.js (no inline script under our CSP); it reads the timeout from
 * `data-timeout`.
 */
export function LogoutPage({
  frames,
  next,
  timeoutMs,
}: {
  frames: FrontchannelFrame[];
  next: string;
  timeoutMs: number;
}) {
  return (
    <Layout title="Signing you out" head={<Script src="logout-page.js" />}>
      <p>
        Signing you out of {frames.length} application{frames.length === 1 ? '' : 's'}…
      </p>
      <div class="frames" data-timeout={Number(timeoutMs)} hidden>
        {frames.map((frame, index) =>
          frame.fields ? (
            [
              <iframe
                key={`frame${index}`}
                name={`fc${index}`}
                data-delivery={frame.deliveryId}
                data-token={frame.reportToken}
                title={`sign-out ${index + 1}`}
              />,
              <AutoPostForm key={`form${index}`} url={frame.url} fields={frame.fields} target={`fc${index}`} />,
            ]
          ) : (
            <iframe
              key={`frame${index}`}
              src={frame.url}
              data-delivery={frame.deliveryId}
              data-token={frame.reportToken}
              title={`sign-out ${index + 1}`}
            />
          ),
        )}
      </div>
      <p class="muted">
        <a id="next" href={next}>
          Continue
        </a>
      </p>
    </Layout>
  );
}

/**
 * One step of the native chain: the main tab goes to the application (GET, or an auto-posting form),
 * which answers back to Signoff, and the chain goes on. While an application does not answer, this
 * page stays and its timer goes back to the chain, which records the application as failed and goes
 * on; coming back to it (Back) reloads it, and the server offers the same. Script: static/chain-step.js.
 */
export function ChainStepPage({
  appName,
  step,
  resumeUrl,
  timeoutMs,
}: {
  appName: string;
  step: FrontchannelStep;
  resumeUrl: string;
  timeoutMs: number;
}) {
  return (
    <Layout title="Signing you out" head={<Script src="chain-step.js" />}>
      <p>
        Signing you out of <strong>{appName}</strong>…
      </p>
      {step.fields ? (
        <AutoPostForm url={step.url} fields={step.fields} />
      ) : (
        <p>
          <a id="go" href={step.url}>
            Continue to {appName}
          </a>
        </p>
      )}
      <div id="chain" data-resume={resumeUrl} data-timeout={Number(timeoutMs) + 250} hidden />
    </Layout>
  );
}

/** The application has not answered its step of the native chain (yet): the page reloads when its time is up. */
export function ChainWaitingPage({
  appName,
  skipUrl,
  retryUrl,
  remainingMs,
}: {
  appName: string;
  skipUrl: string;
  retryUrl: string;
  remainingMs: number;
}) {
  const refresh = `${Math.max(1, Math.ceil(remainingMs / 1000))};url=${retryUrl}`;
  return (
    <Layout title="Still signing you out" head={<meta http-equiv="refresh" content={refresh} />}>
      <p>
        <strong>{appName}</strong> has not confirmed that you are signed out.
      </p>
      <p>
        <a href={skipUrl}>Continue signing out without it</a>
      </p>
      <p class="muted">Signoff records that this application did not confirm.</p>
    </Layout>
  );
}

/** Where a logout without a post-logout redirect URI ends, with the accounts still signed in on this browser. */
export function SignedOutPage({ remaining }: { remaining: string[] }) {
  return (
    <Layout title="You are signed out">
      <p>You have signed out of Signoff.</p>
      {remaining.length > 0 && (
        <p class="muted">
          Still signed in on this browser: {remaining.join(', ')}. <a href="/accounts">Choose an account</a>.
        </p>
      )}
      <p>
        <a href="/login">Sign in again</a>
      </p>
    </Layout>
  );
}

/** The application that started the logout has no address to receive its answer. */
export function NowherePage() {
  return (
    <Layout title="You are signed out">
      <p>You have signed out. The application has no address to receive the confirmation; you can close this page.</p>
    </Layout>
  );
}

export const logoutConfirmPage = (
  username: string,
  csrf: string,
  returnTo: { url: string; clientId: string | null } | null = null,
): string => render(<LogoutConfirmPage username={username} csrf={csrf} returnTo={returnTo} />);
export const flowStagePage = (kind: 'confirm' | 'message', text: string, flowHandle: string, csrf: string): string =>
  render(<FlowStagePage kind={kind} text={text} flowHandle={flowHandle} csrf={csrf} />);
export const logoutPage = (frames: FrontchannelFrame[], next: string, timeoutMs: number): string =>
  render(<LogoutPage frames={frames} next={next} timeoutMs={timeoutMs} />);
export const chainStepPage = (appName: string, step: FrontchannelStep, resumeUrl: string, timeoutMs: number): string =>
  render(<ChainStepPage appName={appName} step={step} resumeUrl={resumeUrl} timeoutMs={timeoutMs} />);
export const chainWaitingPage = (appName: string, skipUrl: string, retryUrl: string, remainingMs: number): string =>
  render(<ChainWaitingPage appName={appName} skipUrl={skipUrl} retryUrl={retryUrl} remainingMs={remainingMs} />);
export const signedOutPage = (remaining: string[]): string => render(<SignedOutPage remaining={remaining} />);
export const nowherePage = (): string => render(<NowherePage />);
