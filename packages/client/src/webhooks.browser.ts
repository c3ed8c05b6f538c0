/**
 * webhooks.ts in a browser build (package.json `browser`): verifying a webhook takes the
 * secret, which belongs on the server that receives the webhook, never in a page; and it uses
 * node:crypto (Node, Deno and Bun have it). The constants and types are the same.
 */
export { DEFAULT_TOLERANCE_SECONDS } from './types.js';
export type { VerifyWebhookOptions, WebhookHeaders } from './webhooks.js';

const serverOnly = (what: string) => (): never => {
  throw new Error(`${what} runs where webhooks are received (Node, Deno, Bun: node:crypto), not in a browser: a page must never hold the webhook secret`);
};
export const verifyWebhook = serverOnly('verifyWebhook');
export const signWebhook = serverOnly('signWebhook');
