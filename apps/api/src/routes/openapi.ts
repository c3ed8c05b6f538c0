/** `GET /openapi.json`: the OpenAPI 3.1 document, built once (it depends on nothing that changes). */
import { Router } from 'express';
import { openApiDocument, type Keys } from '../openapi/document.js';
import { SERVER_VERSION } from '../server-info.js';

/** `keys`: which keys the API was given (the document asks for those only). */
export function openApiRouter(publicPath: string, keys: Keys): Router {
  const r = Router();
  const body = JSON.stringify(openApiDocument(SERVER_VERSION, publicPath, keys));
  r.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(body);
  });
  return r;
}
