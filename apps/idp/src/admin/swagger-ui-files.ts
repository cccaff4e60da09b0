import { readFileSync } from 'node:fs';

/**
 * The files of Swagger UI (the npm package swagger-ui-dist) that the /api/docs page loads, served by
 * us from node_modules (no CDN: the CSP admits scripts and styles from our own origin only, and the
 * page must work offline). Only these names are served: a request picks a name from this list, never
 * a path. The standalone preset (its top bar loads any URL typed into it) is deliberately not among them.
 */
export const SWAGGER_UI_FILES = {
  'swagger-ui-bundle.js': 'js',
  'swagger-ui.css': 'css',
} as const;

export type SwaggerUiFileName = keyof typeof SWAGGER_UI_FILES;

/**
 * Reads every file of SWAGGER_UI_FILES once, where Node resolves the package from this file
 * (node_modules beside apps/ from source, beside dist/ in the build and the Docker image, where it
 * is a production dependency). A missing file throws: the application does not start without it.
 */
export function loadSwaggerUiFiles(
  resolve: (request: string) => string = require.resolve,
): ReadonlyMap<string, { type: 'css' | 'js'; body: string }> {
  return new Map(
    Object.entries(SWAGGER_UI_FILES).map(([name, type]) => [
      name,
      { type, body: readFileSync(resolve(`swagger-ui-dist/${name}`), 'utf8') },
    ]),
  );
}
