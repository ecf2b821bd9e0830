// The problems of a journey document in the reader's language: those the canvas sees itself
// (document.ts, `missingParts`) and those the engine answers (POST /api/journeys/validate and
// publish: `{node, field, code, params, message}`), merged, each on the node and field it
// concerns. A code the Studio does not know is shown in the engine's own (English) words.
import type { TFunction } from "i18next";
import { edgeLabel } from "../describe";
import type { Definition, JourneyNode, Problem } from "./document";

const KNOWN = new Set([
  "required",
  "bad_key",
  "no_nodes",
  "no_start",
  "incomplete_rule",
  "positive",
  "not_connected",
  "unknown_target",
  "split_keys_repeat",
  "split_control_key",
  "branch_without_else",
  "decide_without_else",
  "unreachable",
  "loop_without_brake",
  "unknown_channel",
  "template_problem",
  "auto_winner_without_goal",
  "auto_winner_one_arm",
  "bad_weekdays",
  "wait_kind_missing",
  "wait_kind_many",
  "until_offset",
  "jump_kind",
  "exit_kind",
  "duplicate_node",
  "unknown_start",
  "jump_cycle",
  "key_in_use",
  "greater_than",
  "greater_than_equal",
  "less_than",
  "less_than_equal",
  "int_parsing",
  "float_parsing",
  "literal_error",
]);
/** Pydantic's ways of saying "this is missing". */
const MISSING = new Set(["missing", "string_too_short", "string_type", "too_short"]);

/** A problem as the engine answers it (``problems`` of a 422). */
export interface EngineProblem {
  node?: string | null;
  field?: string;
  path?: string;
  code?: string;
  params?: Record<string, string | number>;
  message?: string;
}

/** The engine's problems in the canvas's terms (a missing value is "required"). */
export function fromEngine(problems: EngineProblem[]): Problem[] {
  return problems.map((p) => {
    const code = p.code && MISSING.has(p.code) ? "required" : (p.code ?? "unknown");
    const field = p.field ?? (p.node ? undefined : p.path);
    return {
      node: p.node ?? null,
      ...(field !== undefined ? { field } : {}),
      code,
      ...(p.params ? { params: p.params } : {}),
      ...(p.message ? { message: p.message } : {}),
    };
  });
}

/** The canvas's own problems first, then the engine's that say something new (a field already
 * named keeps the canvas's words). */
export function mergeProblems(own: Problem[], engine: Problem[]): Problem[] {
  const seen = new Set(own.map((p) => `${p.node ?? ""}|${p.field ?? ""}`));
  const out = [...own];
  for (const p of engine) {
    const key = `${p.node ?? ""}|${p.field ?? ""}`;
    if (p.field !== undefined && seen.has(key)) continue;
    if (out.some((o) => o.node === p.node && o.field === p.field && o.code === p.code)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

/** What an output of a node is called on the canvas ("timeout", "case 1", "else"). */
export function outputLabel(node: JourneyNode | undefined, output: string, t: TFunction): string {
  if (output === "start") return t("canvas.output.start");
  if (!node) return output;
  if (output === "next") {
    if (node.type === "wait_for_event") return t("canvas.output.happened");
    return t("canvas.output.next");
  }
  return edgeLabel(node, { name: output, target: "" }, t) || output;
}

/** A problem in words. */
export function problemText(problem: Problem, t: TFunction, doc: Definition): string {
  const node = problem.node ? doc.nodes.find((n) => n.id === problem.node) : undefined;
  const params = problem.params ?? {};
  if (!KNOWN.has(problem.code)) return problem.message ?? problem.code;
  switch (problem.code) {
    case "not_connected":
      return t("canvas.problem.not_connected", {
        output: outputLabel(node, problem.field ?? "next", t),
      });
    case "unknown_target":
      return t("canvas.problem.unknown_target", {
        output: outputLabel(node, String(params.edge ?? problem.field ?? ""), t),
        target: String(params.target ?? ""),
      });
    case "branch_without_else":
    case "decide_without_else":
      return t("canvas.problem.not_connected", { output: t("edge.else") });
    case "template_problem":
      return t("canvas.problem.template_problem", {
        template: String(params.template ?? ""),
        problem: String(params.problem ?? problem.message ?? ""),
      });
    case "greater_than":
      return t("canvas.problem.greater_than", { value: String(params.gt ?? "") });
    case "greater_than_equal":
      return t("canvas.problem.greater_than_equal", { value: String(params.ge ?? "") });
    case "less_than":
      return t("canvas.problem.less_than", { value: String(params.lt ?? "") });
    case "less_than_equal":
      return t("canvas.problem.less_than_equal", { value: String(params.le ?? "") });
    case "int_parsing":
    case "float_parsing":
      return t("canvas.problem.number");
    case "loop_without_brake":
      return t("canvas.problem.loop_without_brake", { nodes: String(params.nodes ?? "") });
    case "unknown_channel":
      return t("canvas.problem.unknown_channel", { channel: String(params.channel ?? "") });
    case "jump_cycle":
      return t("canvas.problem.jump_cycle", { journeys: String(params.journeys ?? "") });
    default:
      return t(`canvas.problem.${problem.code as "required"}`);
  }
}

/** The problems of one node (``null``: of the entry and the journey's settings). */
export function problemsOf(problems: Problem[], node: string | null): Problem[] {
  return problems.filter((p) => p.node === node);
}

/** The words of the problems of a field (``field`` or anything inside it), or undefined. */
export function fieldError(
  problems: Problem[],
  node: string | null,
  field: string,
  t: TFunction,
  doc: Definition,
): string | undefined {
  const found = problems.filter(
    (p) =>
      p.node === node &&
      p.field !== undefined &&
      (p.field === field || p.field.startsWith(`${field}.`) || p.field.startsWith(`${field}[`)),
  );
  return found.length ? found.map((p) => problemText(p, t, doc)).join(" ") : undefined;
}
