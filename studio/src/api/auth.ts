// How the browser is signed in: the one module that knows it. A person signs in with e-mail and
// password (POST /api/session), or with the workspace's single sign-on (the browser goes to
// /api/session/oidc/start and comes back signed in), or with an API token. The server keeps the
// session and puts its random id in an HttpOnly cookie; this module keeps the CSRF token the
// session came with and sends it as X-CSRF-Token on every state-changing request, and tells the
// app when the session has ended (any 401), so it can return to the sign-in page and come back
// afterwards.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.gen";

/** Who is signed in, as ``GET`` and ``POST /api/session`` answer. */
export type Session = components["schemas"]["SessionInfo"];
/** How people sign in to the workspace (``GET /api/session/methods``, no sign-in needed). */
export type SignInMethods = components["schemas"]["SignInMethods"];
/** What a browser signs in with: a person's e-mail and password, or an API token. */
export type Credentials = { email: string; password: string } | { token: string };

export const SESSION_PATH = "/api/session";
export const CSRF_HEADER = "X-CSRF-Token";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

let csrfToken: string | null = null;
const endedListeners = new Set<() => void>();

/** Call ``listener`` whenever the server says the session is over (401 outside sign-in). */
export function onSessionEnded(listener: () => void): () => void {
  endedListeners.add(listener);
  return () => endedListeners.delete(listener);
}

function remember(session: Session | null): Session | null {
  csrfToken = session?.csrf_token || null;
  return session;
}

/** Added to the API client (client.ts): the CSRF header out, the end of the session in. */
export const authMiddleware: Middleware = {
  onRequest({ request }) {
    if (!SAFE_METHODS.has(request.method) && csrfToken) {
      request.headers.set(CSRF_HEADER, csrfToken);
    }
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && !new URL(request.url).pathname.startsWith(SESSION_PATH)) {
      remember(null);
      for (const listener of endedListeners) listener();
    }
    return response;
  },
};

// the session's own requests: same cookie, same CSRF header, no "session ended" signal
const sessions = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
sessions.use(authMiddleware);

/** A sign-in the server refused (wrong password, unknown token, too many attempts, ...);
 * ``retryAfter`` is the seconds to wait after too many attempts. */
export class SignInError extends Error {
  constructor(
    readonly status: number,
    readonly field: string | null,
    detail: string,
    readonly retryAfter: number | null = null,
  ) {
    super(detail);
    this.name = "SignInError";
  }
}

function refused(response: Response, error: unknown): SignInError {
  const problem = (error ?? {}) as { field?: string; detail?: string };
  const wait = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  return new SignInError(
    response.status,
    problem.field ?? null,
    problem.detail ?? "",
    Number.isFinite(wait) ? wait : null,
  );
}

/** The current session, or null when nobody is signed in. */
export async function getSession(): Promise<Session | null> {
  const { data, response } = await sessions.GET("/api/session");
  if (response.status === 401 || response.status === 403) return remember(null);
  if (!data) throw new SignInError(response.status, null, response.statusText);
  return remember(data);
}

/** Sign in with e-mail and password or with an API token; raises ``SignInError`` naming the
 * field at fault. */
export async function signIn(credentials: Credentials): Promise<Session> {
  const { data, error, response } = await sessions.POST("/api/session", { body: credentials });
  if (!data) throw refused(response, error);
  return remember(data) as Session;
}

/** How the workspace lets people sign in; password only when the server cannot say. */
export async function getSignInMethods(): Promise<SignInMethods> {
  const { data } = await sessions.GET("/api/session/methods");
  return data ?? { workspace: "", password: true, sso: false };
}

/** Where the browser goes to sign in with single sign-on, coming back to ``next`` (a path of
 * the Studio, without ``/ui``). */
export function singleSignOnUrl(methods: SignInMethods, next: string): string | null {
  if (!methods.sso || !methods.sso_start_url) return null;
  // the start address is a path of this server; the base only lets URL parse it
  const url = new URL(methods.sso_start_url, "http://studio.invalid");
  url.searchParams.set("next", `/ui${next}`);
  return url.pathname + url.search;
}

/** Set one's password with the one-time link of an invitation or a reset; raises
 * ``SignInError`` (404: the link is unknown, used or expired; 422: the password is refused). */
export async function activateAccount(
  token: string,
  password: string,
): Promise<components["schemas"]["User"]> {
  const { data, error, response } = await sessions.POST("/api/account/activate", {
    body: { token, password },
  });
  if (!data) throw refused(response, error);
  return data;
}

/** Sign out (the server deletes its cookies); signed out even if the session had ended. */
export async function signOut(): Promise<void> {
  try {
    await sessions.DELETE("/api/session");
  } finally {
    remember(null);
  }
}
