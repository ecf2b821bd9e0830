// How the browser is signed in: the one module that knows it (the trust work extends it with
// e-mail + password and OpenID Connect). The server keeps the session in an HttpOnly cookie
// (POST /api/session); this module keeps the CSRF token the session came with and sends it as
// X-CSRF-Token on every state-changing request, and tells the app when the session has ended
// (any 401), so it can return to the sign-in page and come back afterwards.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.gen";

/** Who is signed in, as ``GET`` and ``POST /api/session`` answer. */
export type Session = components["schemas"]["SessionInfo"];

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

/** A sign-in the server refused (unknown token, too many attempts, ...). */
export class SignInError extends Error {
  constructor(
    readonly status: number,
    readonly field: string | null,
    detail: string,
  ) {
    super(detail);
    this.name = "SignInError";
  }
}

/** The current session, or null when nobody is signed in. */
export async function getSession(): Promise<Session | null> {
  const { data, response } = await sessions.GET("/api/session");
  if (response.status === 401 || response.status === 403) return remember(null);
  if (!data) throw new SignInError(response.status, null, response.statusText);
  return remember(data);
}

/** Sign in with an API token; raises ``SignInError`` naming the field at fault. */
export async function signIn(token: string): Promise<Session> {
  const { data, error, response } = await sessions.POST("/api/session", { body: { token } });
  if (!data) {
    const problem = (error ?? {}) as { field?: string; detail?: string };
    throw new SignInError(response.status, problem.field ?? null, problem.detail ?? "");
  }
  return remember(data) as Session;
}

/** Sign out (the server deletes its cookies); signed out even if the session had ended. */
export async function signOut(): Promise<void> {
  try {
    await sessions.DELETE("/api/session");
  } finally {
    remember(null);
  }
}
