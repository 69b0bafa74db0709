/** The runtime settings (concurrency, limits, price) a stored run recorded for a model, back as config fields. */
export function restoreRuntime(transport: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return {
    ...(typeof transport.concurrency === 'number' ? { concurrency: transport.concurrency } : {}),
    ...(typeof transport.adaptiveConcurrency === 'boolean' ? { adaptiveConcurrency: transport.adaptiveConcurrency } : {}),
    ...(transport.rateLimit ? { rateLimit: transport.rateLimit } : {}),
    ...(transport.price ? { price: transport.price } : {}),
  };
}

/** The `headersFromEnv` a stored run recorded (header names and variable names only), back as a config field. */
export function restoreHeadersFromEnv(transport: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const recorded = transport.headersFromEnv;
  if (recorded === null || typeof recorded !== 'object' || Object.keys(recorded).length === 0) return {};
  return { headersFromEnv: recorded };
}
