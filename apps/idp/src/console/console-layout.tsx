import type { ComponentChildren } from 'preact';
import { Document, Script } from '../http/layout';
import type { ConsoleAdmin } from './console.guard';

/**
 * The frame of every console page, and the few components they share. Built on the same layout.tsx
 * as the user's pages (escaping renderer, no inline script or style), with the console's own
 * stylesheet on top and a navigation bar that says where you are (aria-current).
 */

/** The console's sections, in the order of the navigation bar. */
export const SECTIONS = [
  ['dashboard', 'Dashboard', '/admin'],
  ['users', 'Users', '/admin/users'],
  ['sessions', 'Sessions', '/admin/sessions'],
  ['applications', 'Applications', '/admin/applications'],
  ['flows', 'Flows', '/admin/flows'],
  ['logouts', 'Logouts', '/admin/logouts'],
  ['keys', 'Keys', '/admin/keys'],
  ['tokens', 'API tokens', '/admin/api-tokens'],
  ['signals', 'Shared Signals', '/admin/signals'],
  ['audit', 'Audit log', '/admin/audit'],
] as const;

export type Section = (typeof SECTIONS)[number][0];

export function ConsoleLayout({
  admin,
  section,
  title,
  live,
  head,
  children,
}: {
  admin: ConsoleAdmin;
  section: Section;
  title: string;
  /** What one page adds to the head (a Script). */
  head?: ComponentChildren;
  /** The page has a region that refreshes itself (live-region.js) until it settles. */
  live?: boolean;
  children?: ComponentChildren;
}) {
  return (
    <Document
      title={`${title} · Signoff admin`}
      head={
        <>
          <link rel="stylesheet" href="/static/signoff.css" />
          <link rel="stylesheet" href="/static/console.css" />
          {live && <Script src="live-region.js" defer />}
          {head}
        </>
      }
    >
      <a class="skip" href="#content">
        Skip to content
      </a>
      <header class="console-bar">
        <a class="brand" href="/admin">
          Signoff admin
        </a>
        <nav aria-label="Console">
          <ul>
            {SECTIONS.map(([key, label, href]) => (
              <li key={key}>
                <a href={href} aria-current={key === section ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {admin.user.username} · <a href="/">account</a>
        </span>
      </header>
      <main id="content" class="console" tabindex={-1}>
        <h1>{title}</h1>
        {children}
      </main>
    </Document>
  );
}

/** An instant as the console shows it: UTC to the second, machine-readable in `datetime`. */
export function Time({ value }: { value: Date | string | null | undefined }) {
  if (!value) return <span class="muted">—</span>;
  const date = typeof value === 'string' ? new Date(value) : value;
  const iso = date.toISOString();
  return <time datetime={iso}>{iso.slice(0, 19).replace('T', ' ')} UTC</time>;
}

/** A status word with its colour (console.css); the word itself says it, the colour only repeats it. */
export function Badge({ status }: { status: string | null | undefined }) {
  const word = status ?? 'open';
  return <span class={`badge badge-${word.replace(/[^a-z_]/g, '')}`}>{word.replace(/_/g, ' ')}</span>;
}

/**
 * The frame of one form control: its label, a hint before it and the error after it, both tied to the
 * control (aria-describedby, which `describedBy` gives the control) for assistive technology.
 */
function FieldFrame({
  id,
  label,
  hint,
  error,
  children,
}: {
  id: string;
  label: string;
  hint?: string;
  error?: string;
  children: (describedBy: string | undefined) => ComponentChildren;
}) {
  const describedBy = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {hint && (
        <p class="muted hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {children(describedBy)}
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

/** One labelled input, with its error said beside it and tied to it for assistive technology. */
export function Field({
  label,
  name,
  value,
  error,
  hint,
  type = 'text',
  required,
  autocomplete,
  id = `field-${name}`,
}: {
  label: string;
  name: string;
  value?: string | null;
  error?: string;
  hint?: string;
  type?: 'text' | 'email' | 'password' | 'url' | 'number' | 'search';
  required?: boolean;
  autocomplete?: string;
  /** The input's id, when a page has two fields of one name (two forms). */
  id?: string;
}) {
  return (
    <FieldFrame id={id} label={label} hint={hint} error={error}>
      {(describedBy) => (
        <input
          id={id}
          name={name}
          type={type as 'text'} // preact's input types are a union per type; any of ours takes a string value
          value={value ?? ''}
          required={required}
          autocomplete={autocomplete}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={describedBy}
        />
      )}
    </FieldFrame>
  );
}

/** A labelled text area (lists one per line, XML, JSON), with its hint and error. */
export function TextArea({
  label,
  name,
  value,
  error,
  hint,
  rows = 3,
}: {
  label: string;
  name: string;
  value?: string;
  error?: string;
  hint?: string;
  rows?: number;
}) {
  const id = `field-${name}`;
  return (
    <FieldFrame id={id} label={label} hint={hint} error={error}>
      {(describedBy) => (
        <textarea
          id={id}
          name={name}
          rows={rows}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={describedBy}
        >
          {value ?? ''}
        </textarea>
      )}
    </FieldFrame>
  );
}

/** A labelled select of fixed choices: `options` are [value, text]. */
export function Choice({
  label,
  name,
  value,
  options,
  hint,
  id = `field-${name}`,
}: {
  label: string;
  name: string;
  value?: string | null;
  options: ReadonlyArray<readonly [string, string]>;
  hint?: string;
  id?: string;
}) {
  return (
    <FieldFrame id={id} label={label} hint={hint}>
      {(describedBy) => (
        <select id={id} name={name} aria-describedby={describedBy}>
          {options.map(([key, text]) => (
            <option key={key} value={key} selected={key === value}>
              {text}
            </option>
          ))}
        </select>
      )}
    </FieldFrame>
  );
}

/** A text box of a list's filter form (a GET form, class "filters"). */
export function FilterText({
  label,
  name,
  value,
  placeholder,
  describedBy,
}: {
  label: string;
  name: string;
  value?: string;
  placeholder?: string;
  describedBy?: string;
}) {
  return (
    <div>
      <label for={`filter-${name}`}>{label}</label>
      <input
        id={`filter-${name}`}
        type="search"
        name={name}
        value={value ?? ''}
        placeholder={placeholder}
        aria-describedby={describedBy}
      />
    </div>
  );
}

/** A select of a list's filter form, whose first choice is "Any" (no filter). */
export function FilterSelect({
  label,
  name,
  value,
  options,
}: {
  label: string;
  name: string;
  value?: string;
  options: ReadonlyArray<readonly [string, string]>;
}) {
  return (
    <div>
      <label for={`filter-${name.replace(/_/g, '-')}`}>{label}</label>
      <select id={`filter-${name.replace(/_/g, '-')}`} name={name}>
        <option value="">Any</option>
        {options.map(([key, text]) => (
          <option key={key} value={key} selected={key === value}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

/** A check box with its label after it. */
export function Check({ label, name, checked }: { label: string; name: string; checked?: boolean }) {
  return (
    <div class="check">
      <input id={`field-${name}`} type="checkbox" name={name} value="on" checked={checked} />
      <label for={`field-${name}`}>{label}</label>
    </div>
  );
}

/** What went wrong with a form: the message, and each problem the validator listed. */
export function Problems({ problem }: { problem?: FormProblem }) {
  if (!problem) return null;
  return (
    <div role="alert" class="error">
      <p>{problem.message}</p>
      {problem.details.length > 0 && (
        <ul>
          {problem.details.map((detail) => (
            <li key={detail}>{detail}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A refusal of the input, as a form shows it. */
export interface FormProblem {
  message: string;
  /** The refusal's stable code (SignoffError), when it has one: a form may ask for a confirmation on a particular one. */
  code?: string;
  details: string[];
  /** Per field name, the problem said beside that field. */
  fields: Record<string, string>;
}

/**
 * Previous/next links of a list, keeping its filters. `query` is the list's own query (without
 * limit/offset); the links are to `path`, one of our own pages.
 */
export function Pager({
  path,
  query,
  total,
  limit,
  offset,
}: {
  path: `/admin${string}`;
  query: Record<string, string | undefined>;
  total: number;
  limit: number;
  offset: number;
}) {
  const link = (at: number) => {
    const params = new URLSearchParams(
      Object.entries({ ...query, offset: at ? String(at) : undefined }).filter(
        (entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '',
      ),
    );
    const search = params.toString();
    return search ? `${path}?${search}` : path;
  };
  const last = Math.min(offset + limit, total);
  return (
    <nav class="pager" aria-label="Pages">
      <span>{total ? `${offset + 1}–${last} of ${total}` : 'None'}</span>
      {offset > 0 && (
        <a href={link(Math.max(0, offset - limit))} rel="prev">
          Previous
        </a>
      )}
      {last < total && (
        <a href={link(offset + limit)} rel="next">
          Next
        </a>
      )}
    </nav>
  );
}

/** A message that a change was made, after the redirect that follows a form (fixed texts only, never from the URL). */
export function Notice({ children }: { children?: ComponentChildren }) {
  return (
    <div role="status" class="notice">
      {children}
    </div>
  );
}
