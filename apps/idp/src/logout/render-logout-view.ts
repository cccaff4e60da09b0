import { BadRequestException, ForbiddenException } from '@nestjs/common';
import { webOrigin } from '@signoff/core';
import type { InitiatorAnswer, LogoutView } from '@signoff/logout';
import type { Response } from 'express';
import { autoPostPage } from '../http/layout';
import { allowFramesOf } from '../http/security-headers';
import { chainStepPage, chainWaitingPage, flowStagePage, logoutPage, nowherePage } from './logout.pages';

/** What a page needs to render a logout view: the browser's CSRF token (for forms), and what to say when the handle expired. */
export interface RenderOptions {
  csrf?: string;
  expired: string;
}

const FOREIGN_CHAIN =
  'This sign-out was started in another browser, or your browser did not send its Signoff cookie: it can only be continued there.';

/** Renders one step of a logout journey (libs/logout LogoutJourney) as HTML or a redirect. */
export function renderLogoutView(res: Response, view: LogoutView, options: RenderOptions): void {
  switch (view.view) {
    case 'confirm':
    case 'message':
      return void res.type('html').send(flowStagePage(view.view, view.text, view.flowHandle, options.csrf!));
    case 'frontchannel':
      return sendLogoutPage(res, view);
    case 'native-step':
      return void res.type('html').send(chainStepPage(view.application, view.step, view.resume, view.timeoutMs));
    case 'native-waiting':
      return void res.type('html').send(chainWaitingPage(view.application, view.skip, view.retry, view.remainingMs));
    case 'go':
      return res.redirect(303, view.url);
    case 'cancelled':
      return res.redirect(303, '/');
    case 'answer':
      return renderAnswer(res, view.answer);
    case 'expired':
      throw new BadRequestException(options.expired);
    case 'foreign':
      throw new ForbiddenException(FOREIGN_CHAIN);
  }
}

/** The answer to the application that started a logout: a redirect, an auto-posting form, or a page when it has no address. */
export function renderAnswer(res: Response, answer: InitiatorAnswer): void {
  switch (answer.kind) {
    case 'redirect':
      return res.redirect(303, answer.url);
    case 'post':
      return void res.type('html').send(autoPostPage(answer.url, answer.fields));
    case 'nowhere':
      return void res.type('html').send(nowherePage());
  }
}

/**
 * Sends the logout page with a Content-Security-Policy whose frame-src is exactly the origins of its
 * iframes (the applications being signed out) and our own (their answers come back to us inside the
 * frames): the page cannot be made to frame anything else.
 */
export function sendLogoutPage(res: Response, view: Extract<LogoutView, { view: 'frontchannel' }>): void {
  allowFramesOf(
    res,
    view.frames.map((frame) => webOrigin(frame.url)).filter((origin): origin is string => origin !== null),
  );
  res.type('html').send(logoutPage(view));
}
