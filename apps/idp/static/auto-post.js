/** Submits an AutoPostPage's form (apps/idp/src/http/layout.tsx; a static file: the CSP admits no inline handler). */
document.forms[0].submit();
