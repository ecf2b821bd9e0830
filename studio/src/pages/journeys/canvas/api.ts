// What the canvas asks of the journeys API: validation, saving, publishing, simulation, the
// file the CLI loads (export and import), pause and resume. Every call goes through the typed
// client; failures arrive as ApiError (with the document's problems on a 422).
import { ApiError, api, call } from "@/api/client";
import type { Definition } from "./document";
import type { EngineProblem } from "./problems";

/** The engine's problems with a document (none: it may be published). */
export async function validateDocument(doc: Definition): Promise<EngineProblem[]> {
  try {
    await call(api.POST("/api/journeys/validate", { body: doc }));
    return [];
  } catch (error) {
    if (error instanceof ApiError && error.status === 422 && error.problem.problems) {
      return error.problem.problems as EngineProblem[];
    }
    throw error;
  }
}

/** The engine's problems a failed request names (a 422 of a document; a 409 on the key). */
export function problemsOfError(error: unknown): EngineProblem[] | null {
  if (!(error instanceof ApiError)) return null;
  if (error.status === 422 && error.problem.problems) {
    return error.problem.problems as EngineProblem[];
  }
  if (error.status === 409 && error.problem.field === "key") {
    return [{ node: null, field: "key", code: "key_in_use", message: error.problem.detail ?? "" }];
  }
  return null;
}

export function saveDraft(doc: Definition, create: boolean) {
  return call(api.POST("/api/journeys", { params: { query: { create } }, body: doc }));
}

export function publishJourney(key: string) {
  return call(api.POST("/api/journeys/{key}/publish", { params: { path: { key } } }));
}

export function changeStatus(key: string, action: "pause" | "resume") {
  return call(api.POST("/api/journeys/{key}/{action}", { params: { path: { key, action } } }));
}

export function simulateDocument(doc: Definition, days: number) {
  return call(
    api.POST("/api/journeys/simulate", { params: { query: { days, samples: 5 } }, body: doc }),
  );
}

/** The document as the file the CLI loads (YAML or JSON text). */
export function exportDocument(doc: Definition, format: "yaml" | "json"): Promise<string> {
  return call(
    api.POST("/api/journeys/export", {
      params: { query: { format } },
      body: doc,
      parseAs: "text",
    }),
  ) as Promise<string>;
}

/** A YAML or JSON file read into a document (the server reads it as the CLI does). */
export async function importDocument(text: string, fileName: string): Promise<Definition> {
  const json = /\.json$/i.test(fileName);
  const answer = await call(
    api.POST("/api/journeys/export", {
      params: { query: { format: "json" } },
      body: text as unknown as Definition,
      bodySerializer: (body: unknown) => body as string,
      headers: { "Content-Type": json ? "application/json" : "application/yaml" },
      parseAs: "text",
    }),
  );
  return JSON.parse(answer as string) as Definition;
}

/** Submit the draft for a second person to approve and publish (four-eyes workspaces). */
export function submitForApproval(key: string) {
  return call(
    api.POST("/api/journeys/{key}/submissions", { params: { path: { key } }, body: null }),
  );
}
