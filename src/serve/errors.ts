/**
 * An error the service answers with `{"error": message}` and an HTTP status (the OIP error object). Anything else
 * thrown while serving is a 500 whose message is logged, not sent.
 */
export class ServeError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers (Retry-After on 503). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ServeError";
  }
}
