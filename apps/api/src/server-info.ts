/** What the server says about itself (GET /v2, gRPC ServerMetadata). */
export const SERVER_NAME = 'maas';
export const SERVER_VERSION = '0.1.0';

/** The protocol extensions this server implements. */
export const EXTENSIONS = [
  'classification', 'binary_tensor_data', 'model_configuration', 'statistics', 'model_repository',
];
