import type {
  ApplicationLogoutState,
  ApplicationLogoutStatus,
  FrontchannelStep,
  LogoutStatus,
  LogoutView,
} from '@signoff/logout';
import type { ComponentChildren } from 'preact';
import { AutoPostForm, Form, Layout, RadioGroup, render, Script } from '../http/layout';

/**
 * GET /logout: the current account, and a button (a link or an image on another site must not sign
 * people out). An allowed `return_to` (and the `client_id` it was allowed for) goes on with the form;
 * the POST checks it again.
 */
export function LogoutConfirmPage({
  username,
  csrf,
  returnTo,
  accounts,
}: {
  username: string;
  csrf: string;
  returnTo: { url: string; clientId: string | null } | null;
  /** How many accounts this browser holds: "every account on this browser" is offered when more than one. */
  accounts: number;
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
        <LogoutScopes accounts={accounts} />
        <button type="submit">Sign out</button>
      </Form>
    </Layout>
  );
}

/**
 * How much to sign out (ZITADEL's use cases): this account here; every account of this browser
 * (offered when it holds more than one); or this user everywhere, every device, whose applications
 * are told over their back channels. The home page offers the same (its form posts here too).
 */
export function LogoutScopes({ accounts }: { accounts: number }) {
  const choices: Array<[string, string, string]> = [
    ['account', 'This account, on this browser', 'The applications you use here are signed out.'],
    ...(accounts > 1
      ? ([['browser', `Every account on this browser (${accounts})`, 'Each account and its applications.']] as Array<
          [string, string, string]
        >)
      : []),
    [
      'everywhere',
      'Everywhere',
      'Every session of this account on every device; applications on other devices are told by their servers.',
    ],
  ];
  return (
    <RadioGroup
      class="scopes"
      legend="Sign out of"
      name="scope"
      prefix="scope"
      options={choices.map(([value, label, hint]) => ({ value, label, hint }))}
      checked={choices[0][0]}
    />
  );
}

/** Each state, as the user reads it. */
export const STATE_WORDS: Record<ApplicationLogoutState, string> = {
  waiting: 'signing out…',
  signed_out: 'signed out',
  told: 'told (it cannot confirm)',
  refused: 'refused',
  no_answer: 'did not answer',
  unreachable: 'not reachable from here',
};

/** "A", "A and B", "A, B and C". */
export const listed = (names: string[]): string =>
  names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;

/** What the summary says, and only what is known (see logout-status.ts). */
export function summaryOf(status: LogoutStatus): { sentence: string; unconfirmed: ApplicationLogoutStatus[] } {
  const named = (...states: ApplicationLogoutState[]) =>
    status.applications.filter((app) => states.includes(app.state));
  const unconfirmed = named('refused', 'no_answer', 'unreachable');
  if (!status.applications.length)
    return { sentence: 'You have signed out of Signoff. No application had to be told.', unconfirmed };
  if (!status.settled)
    return {
      sentence: `You have signed out of Signoff. Signing you out of ${listed(status.applications.map((app) => app.name))}…`,
      unconfirmed: [],
    };
  const parts: string[] = [];
  const confirmed = named('signed_out').map((app) => app.name);
  if (confirmed.length && !unconfirmed.length && !named('told').length)
    parts.push(`Signed out of ${listed(confirmed)}.`);
  else if (confirmed.length) parts.push(`${listed(confirmed)} signed you out.`);
  const told = named('told').map((app) => app.name);
  if (told.length)
    parts.push(`${listed(told)} ${told.length === 1 ? 'was' : 'were'} told in this browser but cannot confirm.`);
  if (unconfirmed.length)
    parts.push(
      `${listed(unconfirmed.map((app) => app.name))} did not confirm: you may still be signed in there. Try again, or close your browser.`,
    );
  return { sentence: parts.join(' '), unconfirmed };
}

/** The status as logout-status.js reads it: the states in words and the summary sentence, said by the server only. */
export function statusForScript(status: LogoutStatus) {
  return {
    settled: status.settled,
    outcome: status.outcome,
    summary: summaryOf(status).sentence,
    applications: status.applications.map((app) => ({
      providerId: app.providerId,
      name: app.name,
      state: app.state,
      stateWords: STATE_WORDS[app.state],
    })),
  };
}

/** Every application of the logout, each with its initial and its state (the summary sentence above is the live region). */
export function ApplicationStates({
  status,
  retry,
}: {
  status: LogoutStatus;
  /** The summary's "try again" forms: the logout's handle and the CSRF token; none on the logout page itself. */
  retry?: { handle: string; csrf: string };
}) {
  return (
    <ul class="apps" id="logout-apps">
      {status.applications.map((app) => (
        <li key={app.providerId} data-provider={app.providerId} class={`state-${app.state}`}>
          <span class="initial" aria-hidden="true">
            {app.name.trim().charAt(0).toUpperCase() || '?'}
          </span>
          <span class="name">{app.name}</span>
          <span class="state">{STATE_WORDS[app.state]}</span>
          {app.detail && app.state !== 'told' && <span class="detail muted">{app.detail}</span>}
          {retry && app.retryDeliveryId && (
            <Form action="/logout/retry" csrf={retry.csrf}>
              <input type="hidden" name="logout" value={retry.handle} />
              <input type="hidden" name="delivery" value={app.retryDeliveryId} />
              <button type="submit" class="link" aria-label={`Try signing out of ${app.name} again`}>
                Try again
              </button>
            </Form>
          )}
        </li>
      ))}
    </ul>
  );
}

/** The states and the sentence that sums them up, updated by logout-status.js from /logout/status/:handle. */
function LiveStatus({
  status,
  handle,
  retry,
  children,
}: {
  status: LogoutStatus;
  handle: string;
  /** On the summary page: "try again" forms, and a reload once everything is final (to show them). */
  retry?: { handle: string; csrf: string };
  children?: ComponentChildren;
}) {
  const { sentence } = summaryOf(status);
  return (
    <section
      id="logout-status"
      data-status={`/logout/status/${handle}`}
      data-settled={status.settled ? 'true' : undefined}
      data-reload={retry ? 'true' : undefined}
      aria-labelledby="logout-summary"
    >
      <p id="logout-summary" role="status">
        {sentence}
      </p>
      <ApplicationStates status={status} retry={retry} />
      {children}
    </section>
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
export function LogoutPage({ view }: { view: Extract<LogoutView, { view: 'frontchannel' }> }) {
  const { frames, next, timeoutMs, logout } = view;
  return (
    <Layout
      title="Signing you out"
      head={
        <>
          <Script src="logout-page.js" />
          {logout && <Script src="logout-status.js" defer />}
        </>
      }
    >
      {logout ? (
        <LiveStatus status={logout.status} handle={logout.handle} />
      ) : (
        <p>
          Signing you out of {frames.length} application{frames.length === 1 ? '' : 's'}…
        </p>
      )}
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

/**
 * The end of the user's own logout, telling the truth: each application and what it confirmed, the
 * sentence that sums it up, and "try again" for those that did not confirm. While deliveries are under
 * way the page follows them (logout-status.js; without JavaScript it reloads itself every few seconds).
 */
export function SummaryPage({
  status,
  handle,
  csrf,
  remaining,
}: {
  status: LogoutStatus;
  handle: string;
  csrf: string;
  remaining: string[];
}) {
  const { unconfirmed } = summaryOf(status);
  const title = !status.settled
    ? 'Signing you out'
    : unconfirmed.length
      ? 'Signed out, with exceptions'
      : 'You are signed out';
  return (
    <Layout
      title={title}
      head={
        status.settled ? undefined : (
          <>
            <Script src="logout-status.js" defer />
            <noscript>
              <meta http-equiv="refresh" content="3" />
            </noscript>
          </>
        )
      }
    >
      <LiveStatus status={status} handle={handle} retry={{ handle, csrf }} />
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

export const summaryPage = (props: { status: LogoutStatus; handle: string; csrf: string; remaining: string[] }) =>
  render(<SummaryPage {...props} />);

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
  accounts = 1,
): string => render(<LogoutConfirmPage username={username} csrf={csrf} returnTo={returnTo} accounts={accounts} />);
export const flowStagePage = (kind: 'confirm' | 'message', text: string, flowHandle: string, csrf: string): string =>
  render(<FlowStagePage kind={kind} text={text} flowHandle={flowHandle} csrf={csrf} />);
export const logoutPage = (view: Extract<LogoutView, { view: 'frontchannel' }>): string =>
  render(<LogoutPage view={view} />);
export const chainStepPage = (appName: string, step: FrontchannelStep, resumeUrl: string, timeoutMs: number): string =>
  render(<ChainStepPage appName={appName} step={step} resumeUrl={resumeUrl} timeoutMs={timeoutMs} />);
export const chainWaitingPage = (appName: string, skipUrl: string, retryUrl: string, remainingMs: number): string =>
  render(<ChainWaitingPage appName={appName} skipUrl={skipUrl} retryUrl={retryUrl} remainingMs={remainingMs} />);
export const signedOutPage = (remaining: string[]): string => render(<SignedOutPage remaining={remaining} />);
export const nowherePage = (): string => render(<NowherePage />);
