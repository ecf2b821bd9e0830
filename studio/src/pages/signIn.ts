// The pure parts of signing in (the sign-in and set-password pages), tested in signIn.test.ts.
import type { TFunction } from "i18next";

/** The password of an account is at least this long (the server's rule too). */
export const MIN_PASSWORD_LENGTH = 12;

/** Only a path of the Studio: never leave for another site after signing in, and never come
 * back to a sign-in page. */
export function safeNext(next: string | undefined): string {
  return next?.startsWith("/") &&
    !next.startsWith("//") &&
    !next.startsWith("/sign-in") &&
    !next.startsWith("/set-password")
    ? next
    : "/";
}

/** Why a single sign-on came back without a session (``sso_error`` of the callback), in words. */
export function singleSignOnProblem(t: TFunction, reason: string): string {
  if (reason === "expired" || reason === "missing_state") return t("signIn.ssoExpired");
  if (reason === "not_allowed") return t("signIn.ssoNotAllowed");
  if (reason.startsWith("provider_")) return t("signIn.ssoRefused");
  return t("signIn.ssoFailed");
}

/** The one-time token of a set-password link: ``/ui/set-password#token=…``. */
export function linkToken(hash: string): string {
  return new URLSearchParams(hash.replace(/^#/, "")).get("token")?.trim() ?? "";
}
