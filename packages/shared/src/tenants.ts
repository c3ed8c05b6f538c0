/** Tenants: an API key's owner (`API_KEYS=tenant:key`). Without API_KEYS every request is DEFAULT_TENANT. */
export const DEFAULT_TENANT = 'default';
