import type { TFunction } from "i18next";
import { beforeAll, describe, expect, it } from "vitest";
import type { Format } from "@/i18n/format";
import { translator } from "@/i18n/testing";
import {
  type Definition,
  describeEndReason,
  describeEntry,
  describeNode,
  describeRule,
  edgeLabel,
  edgesOf,
  type Names,
  readingOrder,
} from "./describe";

const DOC = {
  key: "cart",
  name: "Cart",
  entry: { type: "event", event: "Cart Abandoned" },
  start: "wait_order",
  nodes: [
    { id: "orphan", type: "exit", reason: "never" },
    { id: "sms", type: "send", channel: "preferred", template: "cart-sms" },
    {
      id: "wait_order",
      type: "wait_for_event",
      event: "Checkout Started",
      timeout: "PT1H",
      next: "thanks",
      timeout_next: "ab",
    },
    {
      id: "ab",
      type: "split",
      variants: [
        { key: "mail", weight: 3, next: "email" },
        { key: "text", weight: 1, next: "sms" },
      ],
      control_weight: 1,
    },
    { id: "thanks", type: "exit", reason: "checking out" },
    { id: "email", type: "send", channel: "email", template: "cart", next: "later" },
    { id: "later", type: "wait", local_time: "09:30", duration: "P1D", next: "sms" },
    {
      id: "value",
      type: "branch",
      cases: [
        {
          when: {
            all: [{ trait: "cart_value", op: "gt", value: 100 }, { segment: "vip" }],
          },
          next: "sms",
        },
      ],
      else: "thanks",
    },
  ],
} as unknown as Definition;

const NAMES: Names = {
  segments: new Map([["vip", "VIP customers"]]),
  journeys: new Map([["welcome", "Welcome series"]]),
};
const node = (id: string) => DOC.nodes.find((n) => n.id === id)!;

describe("the flow in reading order", () => {
  it("follows the edges from the start and puts unreachable nodes last", () => {
    expect(readingOrder(DOC).map((n) => n.id)).toEqual([
      "wait_order",
      "thanks",
      "ab",
      "email",
      "sms",
      "later",
      "orphan",
      "value",
    ]);
  });

  it("lists each node's edges as the engine names them", () => {
    expect(edgesOf(node("wait_order"))).toEqual([
      { name: "next", target: "thanks" },
      { name: "timeout_next", target: "ab" },
    ]);
    expect(edgesOf(node("ab")).map((e) => e.name)).toEqual(["variants[mail]", "variants[text]"]);
    expect(edgesOf(node("value")).map((e) => e.name)).toEqual(["cases[0]", "else"]);
    expect(edgesOf(node("thanks"))).toEqual([]);
  });
});

describe("in English", () => {
  let t: TFunction;
  let fmt: Format;
  beforeAll(async () => ({ t, fmt } = await translator("en")));

  it("says what each node does in words, durations too", () => {
    expect(describeNode(node("wait_order"), t, fmt, NAMES)).toBe(
      "for “Checkout Started”, at most 1 hour",
    );
    expect(describeNode(node("ab"), t, fmt, NAMES)).toBe("mail 60%, text 20%, control group 20%");
    expect(describeNode(node("sms"), t, fmt, NAMES)).toBe(
      "preferred channel (else Email) with template cart-sms",
    );
    expect(describeNode(node("later"), t, fmt, NAMES)).toBe(
      "for 1 day, then until 09:30 local time",
    );
    expect(describeNode(node("thanks"), t, fmt, NAMES)).toBe("reason: checking out");
    expect(describeEntry(DOC.entry, t, fmt, NAMES)).toBe("on “Cart Abandoned”");
  });

  it("puts conditions in words with the names of segments", () => {
    expect(describeNode(node("value"), t, fmt, NAMES)).toBe(
      "Case 1: cart_value greater than 100 and in segment VIP customers",
    );
    expect(
      describeRule(
        { event: "Order Completed", within: "P30D", count: { op: "gte", value: 2 } },
        t,
        fmt,
        NAMES,
      ),
    ).toBe("“Order Completed” at least 2 times in the last 30 days");
  });

  it("labels edges and explains why instances ended", () => {
    const [, timeout] = edgesOf(node("wait_order"));
    expect(edgeLabel(node("wait_order"), timeout!, t)).toBe("timeout");
    expect(edgeLabel(node("value"), edgesOf(node("value"))[1]!, t)).toBe("else");
    expect(describeEndReason("goal reached: Order Completed", t, NAMES)).toBe(
      "reached the goal “Order Completed”",
    );
    expect(describeEndReason("exit criterion: entered vip", t, NAMES)).toBe(
      "entered segment VIP customers",
    );
    expect(describeEndReason("moved to journey welcome", t, NAMES)).toBe(
      "moved to journey Welcome series",
    );
    expect(describeEndReason("a designer's own words", t, NAMES)).toBe("a designer's own words");
  });
});

describe("auf Deutsch", () => {
  let t: TFunction;
  let fmt: Format;
  beforeAll(async () => ({ t, fmt } = await translator("de")));

  it("beschreibt die Knoten mit deutschen Dauern und Zahlen", () => {
    expect(describeNode(node("wait_order"), t, fmt, NAMES)).toBe(
      "auf „Checkout Started“, höchstens 1 Stunde",
    );
    expect(describeNode(node("ab"), t, fmt, NAMES)).toBe(
      "mail 60\u00a0%, text 20\u00a0%, Kontrollgruppe 20\u00a0%",
    );
    expect(describeNode(node("later"), t, fmt, NAMES)).toBe(
      "1 Tag lang, dann bis 09:30 Uhr Ortszeit",
    );
    expect(describeNode(node("value"), t, fmt, NAMES)).toBe(
      "Fall 1: cart_value größer als 100 und im Segment VIP customers",
    );
    expect(describeEndReason("end of path", t, NAMES)).toBe("Ende des Pfads erreicht");
  });
});
