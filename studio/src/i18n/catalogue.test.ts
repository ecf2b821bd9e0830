import { describe, expect, it } from "vitest";
import { de } from "./de";
import { en } from "./en";

type Tree = { [key: string]: string | Tree };

function keys(tree: Tree, prefix = ""): string[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    typeof value === "string" ? [`${prefix}${key}`] : keys(value, `${prefix}${key}.`),
  );
}

function placeholders(text: string): string[] {
  return [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1] ?? "").sort();
}

function lookup(tree: Tree, path: string): string {
  return path
    .split(".")
    .reduce<Tree | string>((node, key) => (node as Tree)[key] ?? "", tree) as string;
}

describe("the catalogues", () => {
  it("have the same keys in German and English", () => {
    expect(keys(de as Tree).sort()).toEqual(keys(en as Tree).sort());
  });

  it("use the same placeholders in both languages", () => {
    for (const key of keys(en as Tree)) {
      expect(placeholders(lookup(de as Tree, key)), key).toEqual(
        placeholders(lookup(en as Tree, key)),
      );
    }
  });

  it("leave no string empty", () => {
    for (const key of keys(en as Tree)) {
      expect(lookup(en as Tree, key).trim(), key).not.toBe("");
      expect(lookup(de as Tree, key).trim(), key).not.toBe("");
    }
  });
});
