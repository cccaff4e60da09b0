import { Document, render, Script } from '../http/layout';
import type { SwaggerUiFileName } from './swagger-ui-files';

/** Where the OpenAPI document is (the page's initializer, apps/idp/static/api-docs.js, loads it from there). */
export const OPENAPI_JSON_PATH = '/api/docs/openapi.json';

const swaggerUi = (name: SwaggerUiFileName) => `/api/docs/swagger-ui/${name}`;

/**
 * The browsable admin API reference: Swagger UI (swagger-ui-dist, served by us) over the OpenAPI
 * document. No inline script: the bundle and the initializer are files, run in order after parsing
 * (`defer`). Without JavaScript the page links to the JSON.
 */
export function ApiDocsPage() {
  return (
    <Document
      title="Admin API · Signoff"
      head={
        <>
          <link rel="stylesheet" href={swaggerUi('swagger-ui.css')} />
          <script src={swaggerUi('swagger-ui-bundle.js')} defer />
          <Script src="api-docs.js" defer />
        </>
      }
    >
      {/* A div, not main: Swagger UI renders its own main (the operations) inside it. */}
      <div id="api-docs">
        <h1>Signoff admin API</h1>
        <p>
          The OpenAPI 3.1 document is at <a href={OPENAPI_JSON_PATH}>{OPENAPI_JSON_PATH}</a>; this page shows it with
          JavaScript on.
        </p>
      </div>
    </Document>
  );
}

export const apiDocsPage = (): string => render(<ApiDocsPage />);
