// The one HTTP client of the Studio: typed from the API's OpenAPI document (schema.gen.ts,
// generated at build time from partitur.app.create_app), same-origin with the session cookie.
// A page never calls fetch itself: it calls `api.GET("/api/...")` through `call()`, so a UI
// that uses a removed field or path fails `tsc`.
import createClient from "openapi-fetch";
import { authMiddleware } from "./auth";
import type { components, paths } from "./schema.gen";

export type Schemas = components["schemas"];

/** An RFC 9457 problem as partitur answers it (``field`` names the input at fault). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  field?: string;
  errors?: { field: string; message: string }[];
  /** Every problem of a declarative document (journey, segment, ...): ``node``, ``field``,
   * ``code``, ``params``, ``message``. */
  problems?: Record<string, unknown>[];
  instance?: string;
  request_id?: string;
}

/** A failed request: the HTTP status (0 when the server could not be reached), the problem
 * the server sent and the request id to quote. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    readonly requestId: string | null,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = "ApiError";
  }

  /** The message of each field the problem names (``errors`` or the single ``field``). */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const error of this.problem.errors ?? []) out[error.field] ??= error.message;
    if (this.problem.field && this.problem.detail) out[this.problem.field] ??= this.problem.detail;
    return out;
  }

  get isServerError(): boolean {
    return this.status >= 500;
  }
}

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(authMiddleware);

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a typed request, or an ``ApiError`` thrown for anything but 2xx. */
export async function call<T>(request: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await request;
  } catch (cause) {
    if (cause instanceof ApiError) throw cause;
    throw new ApiError(0, { title: "network" }, null);
  }
  const { data, error, response } = answer;
  if (!response.ok) {
    const problem: Problem =
      error && typeof error === "object" ? (error as Problem) : { status: response.status };
    throw new ApiError(
      response.status,
      problem,
      problem.request_id ?? response.headers.get("X-Request-Id"),
    );
  }
  return data as T;
}
