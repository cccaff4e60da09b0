import { Controller, Get, NotFoundException, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { loadStaticFiles } from './static-files';

/**
 * Serves /static/ (static-files.ts: apps/idp/static) with each file's exact content type (nosniff is
 * on). The files are read once, when the application starts, and served from memory.
 */
@Controller('static')
export class StaticController {
  private readonly files = loadStaticFiles();

  @Get(':file')
  file(@Param('file') name: string, @Res() res: Response): void {
    const file = this.files.get(name);
    if (!file) throw new NotFoundException('No such file.');
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.type(file.type).send(file.body);
  }
}
