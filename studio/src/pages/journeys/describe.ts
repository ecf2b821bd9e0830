// A journey definition in words a CX team reads: what each node does ("Wait 1 hour", "Email
// with template cart-reminder"), conditions ("cart_value is greater than 100"), the labels of
// the edges and why instances ended. Pure: no I/O; names of segments and journeys are looked
// up in maps the page passes in. Mirrors the edges of partitur/journeys/definition.py.
import type { TFunction } from "i18next";
import type { Schemas } from "@/api/client";
import type { Format } from "@/i18n/format";

export type Definition = Schemas["JourneyDefinition"];
export type JourneyNode = Definition["nodes"][number];
export type NodeType = JourneyNode["type"];
export type Entry = Definition["entry"];

/** Names to show instead of keys (segments and journeys by key). */
export interface Names {
  segments: Map<string, string>;
  journeys: Map<string, string>;
}

export interface Edge {
  /** ``next``, ``timeout_next``, ``cases[0]``, ``variants[a]``, ... as the engine names it */
  name: string;
  target: string;
}

/** The node's outgoing edges, in the order the engine lists them. */
export function edgesOf(node: JourneyNode): Edge[] {
  const out: Edge[] = [];
  const add = (name: string, target: string | null | undefined) => {
    if (target) out.push({ name, target });
  };
  switch (node.type) {
    case "wait":
      add("next", node.next);
      add("missing_next", node.missing_next);
      break;
    case "wait_for_event":
      add("next", node.next);
      add("timeout_next", node.timeout_next);
      break;
    case "branch":
      node.cases.forEach((c, i) => {
        add(`cases[${i}]`, c.next);
      });
      add("else", node.else);
      break;
    case "split":
      for (const v of node.variants) add(`variants[${v.key}]`, v.next);
      break;
    case "decide":
      for (const c of node.offers ?? []) add(`offers[${c.offer}]`, c.next);
      add("any_offer", node.any_offer);
      add("else", node.else);
      break;
    case "jump":
      add("to", node.to);
      add("then", node.then);
      break;
    case "exit":
      break;
    default:
      add("next", node.next);
  }
  return out;
}

/** The nodes in reading order: breadth-first from the start, then the rest in document order. */
export function readingOrder(definition: Definition): JourneyNode[] {
  const byId = new Map(definition.nodes.map((n) => [n.id, n]));
  const order: string[] = [];
  const queue = byId.has(definition.start) ? [definition.start] : [];
  while (queue.length) {
    const id = queue.shift()!;
    if (order.includes(id)) continue;
    order.push(id);
    for (const edge of edgesOf(byId.get(id)!)) {
      if (byId.has(edge.target) && !order.includes(edge.target)) queue.push(edge.target);
    }
  }
  for (const node of definition.nodes) if (!order.includes(node.id)) order.push(node.id);
  return order.map((id) => byId.get(id)!);
}

type Rule =
  | Schemas["TraitRule"]
  | Schemas["ScoreRule"]
  | Schemas["EventCountRule"]
  | Schemas["LastEventRule"]
  | Schemas["SegmentRule"]
  | { all: unknown[] }
  | { any: unknown[] }
  | { not: unknown };
type Op = Schemas["TraitRule"]["op"];

function value(v: unknown, fmt: Format): string {
  if (typeof v === "number") return Number.isInteger(v) ? fmt.integer(v) : fmt.decimal(v, 2);
  if (Array.isArray(v)) return v.map((x) => value(x, fmt)).join(", ");
  if (typeof v === "string") return `“${v}”`;
  if (typeof v === "boolean") return String(v);
  return v == null ? "" : JSON.stringify(v);
}

function comparison(op: Op | undefined, v: unknown, t: TFunction, fmt: Format): string {
  const o = op ?? "eq";
  if (o === "exists" || o === "not_exists") return t(`rule.op.${o}`);
  return t("rule.comparison", { op: t(`rule.op.${o}`), value: value(v, fmt) });
}

/** A condition in words ("cart_value is greater than 100 and in segment Newsletter"). */
export function describeRule(raw: unknown, t: TFunction, fmt: Format, names: Names): string {
  const rule = raw as Rule;
  if ("all" in rule) {
    return (rule.all as unknown[]).map((r) => describeRule(r, t, fmt, names)).join(t("rule.and"));
  }
  if ("any" in rule) {
    return (rule.any as unknown[]).map((r) => describeRule(r, t, fmt, names)).join(t("rule.or"));
  }
  if ("not" in rule) return t("rule.not", { rule: describeRule(rule.not, t, fmt, names) });
  if ("trait" in rule) {
    return t("rule.trait", {
      trait: rule.trait,
      comparison: comparison(rule.op, rule.value, t, fmt),
    });
  }
  if ("score" in rule) {
    return t("rule.score", {
      score: rule.score,
      comparison: comparison(rule.op, rule.value, t, fmt),
    });
  }
  if ("segment" in rule) {
    return t("rule.segment", { segment: names.segments.get(rule.segment) ?? rule.segment });
  }
  if ("last_event" in rule) {
    const key = rule.negate ? "rule.noEventWithin" : "rule.eventWithin";
    return t(key, { event: rule.last_event, duration: fmt.duration(rule.within) });
  }
  if ("event" in rule) {
    const count = rule.count ?? { op: "gte", value: 1 };
    const text = t("rule.eventCount", {
      event: rule.event,
      comparison: comparison(count.op, count.value, t, fmt),
    });
    return rule.within
      ? t("rule.within", { rule: text, duration: fmt.duration(rule.within) })
      : text;
  }
  return JSON.stringify(raw);
}

const WEEKDAYS = [1, 2, 3, 4, 5, 6, 0];

function weekdays(days: number[], fmt: Format): string {
  const names = new Intl.DateTimeFormat(fmt.locale, { weekday: "long", timeZone: "UTC" });
  // 0 = Monday in the document; 2024-01-07 was a Sunday
  return fmt.list(
    days.map((d) => names.format(new Date(Date.UTC(2024, 0, 7 + (WEEKDAYS[d] ?? 0))))),
  );
}

/** What a node does, in a few words. */
export function describeNode(node: JourneyNode, t: TFunction, fmt: Format, names: Names): string {
  switch (node.type) {
    case "wait": {
      let text: string;
      if (node.duration) {
        text = t("node.wait.duration", { duration: fmt.duration(node.duration) });
        if (node.local_time) text = t("node.wait.thenLocal", { text, time: node.local_time });
      } else if (node.until) {
        text = t("node.wait.until", { moment: fmt.dateTime(node.until) });
      } else if (node.attribute) {
        const time = node.local_time ?? "09:00";
        text = node.offset_days
          ? t("node.wait.attributeOffset", {
              count: Math.abs(node.offset_days),
              direction: node.offset_days > 0 ? t("node.wait.after") : t("node.wait.before"),
              attribute: node.attribute,
              time,
            })
          : t("node.wait.attribute", { attribute: node.attribute, time });
        if (node.annually) text = t("node.wait.annually", { text });
      } else {
        text = t("node.wait.local", { time: node.local_time ?? "" });
      }
      if (node.weekdays?.length) {
        text = t("node.wait.weekdays", { text, days: weekdays(node.weekdays, fmt) });
      }
      return text;
    }
    case "wait_for_event":
      return t("node.waitForEvent", { event: node.event, duration: fmt.duration(node.timeout) });
    case "branch":
      return node.cases
        .map((c, i) =>
          t("node.branchCase", { n: i + 1, rule: describeRule(c.when, t, fmt, names) }),
        )
        .join("; ");
    case "split": {
      const total =
        node.variants.reduce((sum, v) => sum + v.weight, 0) + (node.control_weight ?? 0);
      const parts = node.variants.map((v) =>
        t("node.splitShare", { key: v.key, share: fmt.percent(v.weight / total, 0) }),
      );
      if (node.control_weight) {
        parts.push(t("node.splitControl", { share: fmt.percent(node.control_weight / total, 0) }));
      }
      return parts.join(", ");
    }
    case "send": {
      const channel =
        node.channel === "preferred"
          ? t("node.preferredChannel", {
              fallback: channelName(node.fallback_channel ?? "email", t),
            })
          : channelName(node.channel, t);
      return t("node.send", { channel, template: node.template });
    }
    case "update_profile":
      return t("node.updateProfile", { traits: Object.keys(node.traits).sort().join(", ") });
    case "webhook":
      return t("node.webhook", { template: node.template });
    case "agent_task":
      return t("node.agentTask", { queue: node.queue, template: node.template });
    case "decide":
      return t("node.decide", { placement: node.placement });
    case "jump":
      if (node.journey) {
        return t("node.jumpJourney", { journey: names.journeys.get(node.journey) ?? node.journey });
      }
      return node.max_times
        ? t("node.jumpToAtMost", { node: node.to ?? "", count: node.max_times })
        : t("node.jumpTo", { node: node.to ?? "" });
    case "exit":
      return t("node.exit", { reason: node.reason ?? "completed" });
  }
}

export function channelName(channel: string, t: TFunction): string {
  const known = ["email", "sms", "push", "in_app", "webhook", "agent_task"] as const;
  return (known as readonly string[]).includes(channel)
    ? t(`channel.${channel as (typeof known)[number]}`)
    : channel;
}

/** The label of an edge: "timeout", "else", a variant's key, a case's condition. */
export function edgeLabel(node: JourneyNode, edge: Edge, t: TFunction): string {
  const bracket = /^(cases|variants|offers)\[(.+)\]$/.exec(edge.name);
  if (bracket) {
    if (bracket[1] === "cases" && node.type === "branch") {
      const index = Number(bracket[2]);
      return t("edge.case", { n: index + 1 });
    }
    return bracket[2] ?? edge.name;
  }
  switch (edge.name) {
    case "next":
      return "";
    case "timeout_next":
      return t("edge.timeout");
    case "missing_next":
      return t("edge.missing");
    case "any_offer":
      return t("edge.anyOffer");
    case "else":
      return t("edge.else");
    case "to":
      return t("edge.jump");
    case "then":
      return t("edge.afterwards");
    default:
      return edge.name;
  }
}

/** How profiles enter, in words. */
export function describeEntry(entry: Entry, t: TFunction, fmt: Format, names: Names): string {
  switch (entry.type) {
    case "event":
      return t("entry.event", { event: entry.event });
    case "segment":
      return t(entry.change === "exited" ? "entry.segmentExited" : "entry.segmentEntered", {
        segment: names.segments.get(entry.segment) ?? entry.segment,
      });
    case "audience": {
      const segment = names.segments.get(entry.segment) ?? entry.segment;
      return entry.every
        ? t("entry.audienceEvery", { segment, duration: fmt.duration(entry.every) })
        : t("entry.audience", { segment });
    }
    default:
      return t("entry.manual");
  }
}

/** Why an instance ended, in words; the engine's own text when it is not one it writes. */
export function describeEndReason(reason: string, t: TFunction, names: Names): string {
  const known: [RegExp, (m: RegExpExecArray) => string][] = [
    [/^end of path$/, () => t("reason.endOfPath")],
    [/^goal reached: (.+)$/, (m) => t("reason.goal", { event: m[1] })],
    [
      /^exit criterion: (entered|exited) (.+)$/,
      (m) =>
        t(m[1] === "entered" ? "reason.enteredSegment" : "reason.leftSegment", {
          segment: names.segments.get(m[2] ?? "") ?? m[2],
        }),
    ],
    [/^exit criterion: (.+)$/, (m) => t("reason.exitEvent", { event: m[1] })],
    [/^journey stopped$/, () => t("reason.stopped")],
    [/^control group$/, () => t("reason.controlGroup")],
    [
      /^moved to journey (.+)$/,
      (m) => t("reason.moved", { journey: names.journeys.get(m[1] ?? "") ?? m[1] }),
    ],
    [/^jump limit (\d+) reached$/, (m) => t("reason.jumpLimit", { count: Number(m[1]) })],
    [/^too many nodes in one step/, () => t("reason.loop")],
    [/^unknown node '?([^']+)'?$/, (m) => t("reason.unknownNode", { node: m[1] })],
    [/^completed$/, () => t("reason.completed")],
  ];
  for (const [pattern, text] of known) {
    const match = pattern.exec(reason);
    if (match) return text(match);
  }
  return reason;
}
