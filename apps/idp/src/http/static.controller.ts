import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { CHAIN_STEP_SCRIPT, LOGOUT_PAGE_SCRIPT } from '../logout/logout-page';
import { CHECK_SESSION_SCRIPT } from '../oidc/check-session.controller';
import { AUTO_POST_SCRIPT, STYLESHEET } from './html';

/** Every file under /static/: the stylesheet and the pages' scripts (the CSP admits scripts from here only). */
const FILES: Readonly<Record<string, { type: 'css' | 'js'; body: string }>> = {
  'signoff.css': { type: 'css', body: STYLESHEET },
  'auto-post.js': { type: 'js', body: AUTO_POST_SCRIPT },
  'logout-page.js': { type: 'js', body: LOGOUT_PAGE_SCRIPT },
  'chain-step.js': { type: 'js', body: CHAIN_STEP_SCRIPT },
  'check-session.js': { type: 'js', body: CHECK_SESSION_SCRIPT },
};

/** Serves /static/ from the constants above, with their exact content type (nosniff is on). */
@Controller('static')
export class StaticController {
  @Get(':file')
  file(@Param('file') name: string, @Res() res: Response): void {
    const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
    if (!file) throw new NotFoundException('No such file.');
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.type(file.type).send(file.body);
  }
}
