import { ErrorCodes, type ErrorCode } from "./contract.js";

const knownCodes: ReadonlySet<string> = new Set(Object.values(ErrorCodes));
const hubExceptionMarker = "HubException: ";

/** A call the server refused, or that could not reach it. `code` is one of {@link ErrorCodes}. */
export class HubsError extends Error {
  /** The error code: one of {@link ErrorCodes}. */
  readonly code: ErrorCode;
  /** The reference id that matches the server's log line, when the server gave one. */
  readonly refId: string | undefined;

  constructor(code: ErrorCode, message: string, refId?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HubsError";
    this.code = code;
    this.refId = refId;
  }

  /** Reads a server refusal of the form `"<code>: <text> (ref <id>)"`; anything else is `internal`. */
  static fromHubError(error: unknown): HubsError {
    if (error instanceof HubsError) {
      return error;
    }

    let text = error instanceof Error ? error.message : String(error);
    const marker = text.indexOf(hubExceptionMarker);
    if (marker >= 0) {
      text = text.slice(marker + hubExceptionMarker.length);
    }

    const colon = text.indexOf(": ");
    const code = colon > 0 ? text.slice(0, colon) : "";
    if (!knownCodes.has(code)) {
      return new HubsError(ErrorCodes.Internal, text, undefined, { cause: error });
    }

    const refMatch = / \(ref ([^)]+)\)$/.exec(text);
    return new HubsError(code as ErrorCode, text, refMatch?.[1], { cause: error });
  }
}

/** `unavailable`: not connected, or the connection was lost under the call. */
export function unavailable(text: string, cause?: unknown): HubsError {
  return new HubsError(ErrorCodes.Unavailable, `${ErrorCodes.Unavailable}: ${text}`, undefined, { cause });
}
