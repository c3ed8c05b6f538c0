/**
 * PURE: the HTTP server's timeouts, chosen for this service rather than left at Node's
 * defaults (a 300 s `requestTimeout` would cut a large batch upload on a slow link; no idle
 * timeout would let a stalled upload hold its batch forever):
 *
 * - headers must arrive within HEADERS_TIMEOUT_S (slow-header attacks),
 * - a whole request, body included, within REQUEST_TIMEOUT_S (default one hour: an upload
 *   that keeps sending is given time),
 * - a connection silent for IDLE_TIMEOUT_S is closed (an upload whose client stopped sending
 *   ends, and its batch is removed); config.ts keeps it beyond the longest wait,
 * - an idle keep-alive connection is kept KEEP_ALIVE_TIMEOUT_S between requests (65 s: longer
 *   than a proxy keeps its idle upstream connections; Node's 5 s made nginx send requests on
 *   connections the API was closing, answered 502).
 *
 * Node checks the headers and request timeouts only every `connectionsCheckingInterval` (30 s
 * by default, so a 30 s headers timeout fired at up to 60 s): the server checks every
 * TIMEOUT_CHECK_MS instead (server.ts).
 */
import type { ApiConfig } from '../config.js';

export const HEADERS_TIMEOUT_S = 30;
export const TIMEOUT_CHECK_MS = 1000;

export interface ServerTimeouts {
  headersTimeout: number;
  requestTimeout: number;
  timeout: number;
  keepAliveTimeout: number;
}

/** Milliseconds for each of node:http Server's timeout settings. */
export function serverTimeouts(c: Pick<ApiConfig, 'REQUEST_TIMEOUT_S' | 'IDLE_TIMEOUT_S' | 'KEEP_ALIVE_TIMEOUT_S'>): ServerTimeouts {
  const requestTimeout = c.REQUEST_TIMEOUT_S * 1000;
  return {
    // node requires headersTimeout <= requestTimeout
    headersTimeout: Math.min(HEADERS_TIMEOUT_S * 1000, requestTimeout),
    requestTimeout,
    timeout: c.IDLE_TIMEOUT_S * 1000,
    // A silent connection is closed at IDLE_TIMEOUT_S whatever keep-alive would allow.
    keepAliveTimeout: Math.min(c.KEEP_ALIVE_TIMEOUT_S, c.IDLE_TIMEOUT_S) * 1000,
  };
}
