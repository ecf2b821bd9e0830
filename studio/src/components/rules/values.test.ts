import { describe, expect, it } from "vitest";
import { parseValue, valueText } from "./values";

describe("values typed into a condition", () => {
  it("reads numbers, yes/no and text as a person means them", () => {
    expect(parseValue("100", "gt")).toBe(100);
    expect(parseValue("99,5", "lt")).toBe(99.5);
    expect(parseValue("true", "eq")).toBe(true);
    expect(parseValue("0049", "eq")).toBe("0049");
    expect(parseValue(" Berlin ", "eq")).toBe("Berlin");
  });

  it("reads a list for 'is one of' and nothing for 'is set'", () => {
    expect(parseValue("DE, AT,, 7", "in")).toEqual(["DE", "AT", 7]);
    expect(parseValue("x", "exists")).toBeNull();
  });

  it("keeps patterns and texts to search for as typed", () => {
    expect(parseValue("12", "contains")).toBe("12");
  });

  it("writes a stored value back as text", () => {
    expect(valueText(["DE", 7])).toBe("DE, 7");
    expect(valueText(100)).toBe("100");
    expect(valueText(null)).toBe("");
  });
});
