/** Header names that carry credentials: refused in configs, which may only name an env var. */
export const SECRET_HEADER = /^(authorization|x-api-key|api-key|proxy-authorization|x-goog-api-key)$/i;

/** The runtime settings (concurrency, limits, price) a stored run recorded for a model, back as config fields. */
export function restoreRuntime(transport: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return {
    ...(typeof transport.concurrency === 'number' ? { concurrency: transport.concurrency } : {}),
    ...(typeof transport.adaptiveConcurrency === 'boolean' ? { adaptiveConcurrency: transport.adaptiveConcurrency } : {}),
    ...(transport.rateLimit ? { rateLimit: transport.rateLimit } : {}),
    ...(transport.price ? { price: transport.price } : {}),
  };
}
