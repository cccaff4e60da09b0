import { BadRequestException, ForbiddenException } from '@nestjs/common';
import type { InitiatorAnswer, LogoutView } from '@signoff/logout';
import type { Response } from 'express';
import { form, formPostPage, h, page } from '../http/html';
import { chainStepPage, chainWaitingPage, sendLogoutPage } from './logout-page';

/** What a page needs to render a logout view: the browser's CSRF token (for forms), and what to say when the handle expired. */
export interface RenderOptions {
  csrf?: string;
  expired: string;
}

const FOREIGN_CHAIN = 'This sign-out was started in another browser, or your browser did not send its Signoff cookie: it can only be continued there.';

/** Renders one step of a logout journey (libs/logout LogoutJourney) as HTML or a redirect. */
export function renderLogoutView(res: Response, view: LogoutView, options: RenderOptions): void {
  switch (view.view) {
    case 'confirm':
    case 'message': {
      const buttons = `<input type="hidden" name="flow" value="${h(view.flowHandle)}">${view.view === 'confirm'
        ? '<button type="submit" name="answer" value="yes">Sign out</button> <button type="submit" name="answer" value="no" class="link">Cancel</button>'
        : '<button type="submit" name="answer" value="yes">Continue</button>'}`;
      return void res.type('html').send(page(view.view === 'confirm' ? 'Sign out?' : 'Signing out', `<p>${h(view.text)}</p>${form('/logout/flow', options.csrf!, buttons)}`));
    }
    case 'frontchannel':
      return sendLogoutPage(res, view.frames, view.next, view.timeoutMs);
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
      return void res.type('html').send(formPostPage(answer.url, answer.fields));
    case 'nowhere':
      return void res.type('html').send(page('You are signed out', '<p>You have signed out. The application has no address to receive the confirmation; you can close this page.</p>'));
  }
}
