import { createHash, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";

/**
 * Decides whether a request carries a valid credential.
 *
 * @example
 * ```ts
 * const auth: Authenticator = bearerToken(await readFile(".aloft/token", "utf8"));
 * ```
 */
export interface Authenticator {
  authenticate(c: Context): boolean;
}

/**
 * Local server: `Authorization: Bearer <token>`, compared in constant time.
 *
 * @example
 * ```ts
 * createApi({ services, auth: bearerToken(token) });
 * ```
 */
export function bearerToken(token: string): Authenticator {
  const expected = digest(token.trim());
  return {
    authenticate(c) {
      const header = c.req.header("authorization") ?? "";
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      return match !== null && timingSafeEqual(digest(match[1]!), expected);
    },
  };
}

/**
 * On AWS: API Gateway's IAM authorizer has already verified the SigV4 signature; a request reaches
 * the function only if it passed, and the event names the caller.
 *
 * @example
 * ```ts
 * createApi({ services, auth: iamAuthorizer });
 * ```
 */
export const iamAuthorizer: Authenticator = {
  authenticate(c) {
    const event = (c.env as { event?: { requestContext?: { authorizer?: { iam?: { userArn?: string } } } } } | undefined)?.event;
    return typeof event?.requestContext?.authorizer?.iam?.userArn === "string";
  },
};

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
