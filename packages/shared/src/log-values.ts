/**
 * PURE: a message from a model's run as a log line may carry it, its numbers masked. onnxruntime
 * quotes the value a run refused (`idx=42 must be within the inclusive range [-10,9]`): a
 * tenant's input, which belongs in that tenant's own job error, not in logs that operators,
 * log stores and their retention keep (a privacy audit). A number standing alone becomes `#`;
 * one inside a word (an id such as `job_4ueNl4mR` or `job_ab-12`, a file such as `gather.cc`) stays.
 */
export function withoutValues(message: string): string {
  return message.replace(/(?<![\w.-])[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?(?![\w.-])/gi, '#');
}

/**
 * PURE: a URL's origin (scheme://host[:port]), the part of a webhook URL that logs, the board and
 * per-receiver shares may name: its path and query may carry a token, and user:password never
 * shows. Undefined when `url` is not an absolute URL; each caller says what stands in for it.
 */
export function urlOrigin(url: unknown): string | undefined {
  return typeof url === 'string' && URL.canParse(url) ? new URL(url).origin : undefined;
}
