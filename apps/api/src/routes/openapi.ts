/** `GET /openapi.json`: the OpenAPI 3.1 document, built once (it depends on nothing that changes). */
import { Router } from 'express';
import { openApiDocument } from '../openapi/document.js';
import { SERVER_VERSION } from '../server-info.js';

/** `keyed`: API_KEYS is set (without it, the document asks for no key). */
export function openApiRouter(publicPath: string, keyed: boolean): Router {
  const r = Router();
  const body = JSON.stringify(openApiDocument(SERVER_VERSION, publicPath, keyed));
  r.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(body);
  });
  return r;
}
