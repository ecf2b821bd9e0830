// How the browser is signed in: the one module that knows it (the trust work extends it with
// e-mail + password and OpenID Connect). The server keeps the session in an HttpOnly cookie
// (POST /api/session); this module keeps the CSRF token the session came with and sends it as
// X-CSRF-Token on every state-changing request, and tells the app when the session has ended
// (any 401), so it can return to the sign-in page and back afterwards.
import type { Middleware } from "openapi-fetch";

/** Who is signed in, as ``GET``/``POST /api/session`` answer. */
export interface Session {
  workspace: string;
  role: string;
  csrf_token: string;
  [more: string]: unknown;
}

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
  csrfToken = session?.csrf_token ?? null;
  return session;
}

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

/** A problem the sign-in answered with (wrong token, too many attempts, ...). */
export class SignInError extends Error {
  constructor(
    readonly status: number,
    readonly field: string | null,
    detail: string,
  ) {
    super(detail);
  }
}

async function sessionRequest(method: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!SAFE_METHODS.has(method) && csrfToken) headers[CSRF_HEADER] = csrfToken;
  return fetch(SESSION_PATH, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The current session, or null when nobody is signed in. */
export async function getSession(): Promise<Session | null> {
  const response = await sessionRequest("GET");
  if (response.status === 401 || response.status === 403) return remember(null);
  if (!response.ok) throw new SignInError(response.status, null, response.statusText);
  return remember((await response.json()) as Session);
}

/** Sign in with an API token; raises ``SignInError`` naming the field at fault. */
export async function signIn(token: string): Promise<Session> {
  const response = await sessionRequest("POST", { token });
  if (!response.ok) {
    const problem = (await response.json().catch(() => ({}))) as {
      field?: string;
      detail?: string;
    };
    throw new SignInError(response.status, problem.field ?? null, problem.detail ?? "");
  }
  return remember((await response.json()) as Session) as Session;
}

export async function signOut(): Promise<void> {
  await sessionRequest("DELETE");
  remember(null);
}
