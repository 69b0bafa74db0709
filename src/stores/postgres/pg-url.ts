/**
 * A PostgreSQL URL as it may appear in a message, a record or a log: the password left out (and any password
 * or key in the query replaced), the user, host, port and database kept so the reader knows which store. A
 * command printed with it works as it is where the password comes from PGPASSWORD or ~/.pgpass.
 */
export function redactStoreUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '';
    for (const name of [...parsed.searchParams.keys()]) {
      if (/pass|secret|key|token/i.test(name)) parsed.searchParams.set(name, 'redacted');
    }
    return parsed.toString();
  } catch {
    // Not parseable as a URL: drop everything between the scheme and the host.
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1[redacted]@');
  }
}
