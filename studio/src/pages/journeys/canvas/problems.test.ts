import type { TFunction } from "i18next";
import { beforeAll, describe, expect, it } from "vitest";
import { translator } from "@/i18n/testing";
import { emptyDefinition } from "./document";
import { fieldError, fromEngine, mergeProblems, problemText } from "./problems";

const CODES = [
  "required",
  "bad_key",
  "key_in_use",
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
  "jump_cycle",
  "unknown_start",
  "greater_than",
  "greater_than_equal",
  "less_than",
  "less_than_equal",
  "int_parsing",
  "float_parsing",
  "literal_error",
];

describe("problems in the reader's language", () => {
  const doc = emptyDefinition("cart", "Cart");
  let en: TFunction;
  let de: TFunction;
  beforeAll(async () => {
    en = (await translator("en")).t;
    de = (await translator("de")).t;
  });

  it("word every code the engine and the canvas use, in both languages", () => {
    for (const code of CODES) {
      for (const t of [en, de]) {
        const text = problemText(
          { node: null, code, params: { edge: "else", target: "x" } },
          t,
          doc,
        );
        expect(text, code).not.toMatch(/canvas\.|problem\./);
        expect(text.trim(), code).not.toBe("");
      }
    }
  });

  it("reads the engine's answer: a missing value is required, on its node and field", () => {
    const found = fromEngine([
      {
        node: "w",
        field: "timeout",
        code: "string_type",
        message: "Input should be a valid string",
      },
      { node: "b", field: "else", code: "branch_without_else", message: "branch has no else path" },
      { node: null, path: "entry.event", field: "entry.event", code: "string_too_short" },
      { node: "x", code: "something_new", message: "a new check" },
    ]);
    expect(found.map((p) => `${p.node}:${p.field}:${p.code}`)).toEqual([
      "w:timeout:required",
      "b:else:branch_without_else",
      "null:entry.event:required",
      "x:undefined:something_new",
    ]);
    expect(problemText(found[1]!, de, doc)).toBe("„sonst“ mit einem Schritt verbinden.");
    expect(problemText(found[3]!, de, doc)).toBe("a new check");
    expect(fieldError(found, "w", "timeout", en, doc)).toBe("Required.");
    expect(fieldError(found, null, "entry", en, doc)).toBe("Required.");
  });

  it("keeps the canvas's own words for a field the engine names too", () => {
    const merged = mergeProblems(
      [{ node: "w", field: "timeout", code: "required" }],
      [
        { node: "w", field: "timeout", code: "string_type" },
        { node: "w", code: "unreachable" },
      ],
    );
    expect(merged.map((p) => p.code)).toEqual(["required", "unreachable"]);
  });
});
