// Values typed into a condition, read the way a person means them: "100" is a number, "true"
// a yes/no, "DE, AT" a list for "is one of"; "0049" stays text (a leading zero is not a
// number). Pure.

export type RuleValue = string | number | boolean | null | RuleValue[];

const NUMBER = /^-?(0|[1-9]\d*)([.,]\d+)?$/;

function one(text: string): RuleValue {
  const trimmed = text.trim();
  if (NUMBER.test(trimmed)) return Number(trimmed.replace(",", "."));
  if (trimmed === "true") return true;
  if (trimmed === "false") return false;
  return trimmed;
}

/** Whether an operator compares with a list. */
export function takesList(op: string | undefined): boolean {
  return op === "in" || op === "not_in";
}

/** Whether an operator needs no value at all. */
export function takesNoValue(op: string | undefined): boolean {
  return op === "exists" || op === "not_exists";
}

/** The value of what was typed for ``op``. */
export function parseValue(text: string, op: string | undefined): RuleValue {
  if (takesNoValue(op)) return null;
  if (takesList(op)) {
    return text
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part !== "")
      .map(one);
  }
  if (op === "matches" || op === "contains" || op === "starts_with" || op === "ends_with") {
    return text;
  }
  return one(text);
}

/** A stored value as the text to edit. */
export function valueText(value: unknown): string {
  if (value == null) return "";
  if (Array.isArray(value)) return value.map(valueText).join(", ");
  return String(value);
}
