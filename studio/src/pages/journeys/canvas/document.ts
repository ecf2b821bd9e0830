// The journey document as the canvas edits it: pure functions from one document to the next
// (add, connect, move, delete, copy, rename, lay out), the handles each node has, and the
// problems the canvas can see before the server does. The document stays the source of truth:
// the canvas draws it, and every edit here is what the engine will read (positions go into the
// optional `layout`, which the engine ignores). No I/O, no React.
import dagre from "@dagrejs/dagre";
import type { Schemas } from "@/api/client";
import { type Definition, type Edge, edgesOf, type JourneyNode, type NodeType } from "../describe";
import { NODE_HEIGHT, NODE_WIDTH } from "../layout";

export type { Definition, JourneyNode, NodeType };
export { NODE_WIDTH };
export type Position = Schemas["NodePosition"];
export type Entry = Definition["entry"];
export type Rule = Schemas["BranchCase"]["when"];

/** The canvas id of the entry (how people enter), drawn before the first node. Node ids start
 * with a letter or digit, so it never names a node. */
export const ENTRY = "__entry__";

/** Every node type, in the order the palette offers them. */
export const NODE_TYPES: NodeType[] = [
  "wait",
  "wait_for_event",
  "branch",
  "split",
  "send",
  "update_profile",
  "webhook",
  "agent_task",
  "decide",
  "jump",
  "exit",
];

/** Node ids the engine accepts (and the canvas makes): a letter or digit, then word characters
 * or dashes, at most 100. */
export const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
/** Journey keys: lower-case letters, digits, "-" and "_" (max 100), as the engine checks. */
export const JOURNEY_KEY = /^[a-z0-9][a-z0-9_-]{0,99}$/;

/** A journey key made from its name ("Cart abandonment" -> "cart-abandonment"). */
export function keyFromName(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/ß/g, "ss")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 100);
}

/** A new journey: entered on an event still to be chosen, no nodes yet. */
export function emptyDefinition(key: string, name: string): Definition {
  return {
    key,
    name,
    description: "",
    category: "marketing",
    entry: { type: "event", event: "", where: [] },
    re_entry: { policy: "never" },
    exits: [],
    start: "",
    nodes: [],
  } as unknown as Definition;
}

/** A node of ``type`` with what it needs filled in where a sensible default exists (a day's
 * wait, an hour's timeout, an e-mail); the rest is left for the person to choose. */
export function newNode(type: NodeType, id: string): JourneyNode {
  const base = { id, type };
  const made: Record<NodeType, object> = {
    wait: { duration: "P1D" },
    wait_for_event: { event: "", where: [], timeout: "PT1H" },
    branch: { cases: [{ when: { trait: "", op: "eq", value: "" }, next: "" }] },
    split: {
      variants: [
        { key: "a", weight: 50, next: "" },
        { key: "b", weight: 50, next: "" },
      ],
      control_weight: 0,
    },
    send: { channel: "email", template: "", fallback_channel: "email", data: {}, priority: 0 },
    update_profile: { traits: {} },
    webhook: { template: "", payload: {} },
    agent_task: { template: "", queue: "", payload: {}, priority: 0 },
    decide: { placement: "", offers: [] },
    jump: { to: "" },
    exit: { reason: "completed" },
  };
  return { ...base, ...made[type] } as JourneyNode;
}

/** A free id for a new node of ``type``: "send_1", "send_2", ... */
export function freeId(doc: Definition, type: NodeType, taken: Set<string> = new Set()): string {
  const used = new Set([...doc.nodes.map((n) => n.id), ...taken]);
  for (let n = 1; ; n++) {
    const id = `${type}_${n}`;
    if (!used.has(id)) return id;
  }
}

// --- the handles of a node ----------------------------------------------------------------

/** Every way out of a node, connected or not, as the engine names its edges. */
export function outputsOf(node: JourneyNode): string[] {
  switch (node.type) {
    case "wait":
      return node.attribute ? ["next", "missing_next"] : ["next"];
    case "wait_for_event":
      return ["next", "timeout_next"];
    case "branch":
      return [...node.cases.map((_, i) => `cases[${i}]`), "else"];
    case "split":
      return node.variants.map((v) => `variants[${v.key}]`);
    case "decide":
      return [...(node.offers ?? []).map((c) => `offers[${c.offer}]`), "any_offer", "else"];
    case "jump":
      if (node.journey != null) return [];
      return node.max_times ? ["to", "then"] : ["to"];
    case "exit":
      return [];
    default:
      return ["next"];
  }
}

/** Where an output of a node leads (undefined: nowhere yet). */
export function targetOf(node: JourneyNode, output: string): string | undefined {
  return edgesOf(node).find((e) => e.name === output)?.target || undefined;
}

const BRACKET = /^(cases|variants|offers)\[(.+)\]$/;

function setTarget(node: JourneyNode, output: string, target: string | undefined): JourneyNode {
  const bracket = BRACKET.exec(output);
  if (bracket) {
    const [, list, which] = bracket;
    const next = target ?? "";
    if (list === "cases" && node.type === "branch") {
      const index = Number(which);
      return { ...node, cases: node.cases.map((c, i) => (i === index ? { ...c, next } : c)) };
    }
    if (list === "variants" && node.type === "split") {
      return {
        ...node,
        variants: node.variants.map((v) => (v.key === which ? { ...v, next } : v)),
      };
    }
    if (list === "offers" && node.type === "decide") {
      return {
        ...node,
        offers: (node.offers ?? []).map((c) => (c.offer === which ? { ...c, next } : c)),
      };
    }
    return node;
  }
  if (output === "to" && node.type === "jump") return { ...node, to: target ?? "" };
  return { ...node, [output]: target } as JourneyNode;
}

// --- edits ---------------------------------------------------------------------------------

function mapNodes(doc: Definition, f: (node: JourneyNode) => JourneyNode): Definition {
  return { ...doc, nodes: doc.nodes.map(f) };
}

function layoutOf(doc: Definition): { nodes: Record<string, Position>; entry?: Position | null } {
  return { nodes: { ...(doc.layout?.nodes ?? {}) }, entry: doc.layout?.entry ?? null };
}

/** Add ``node`` at ``position``; the first node of a journey becomes its start. */
export function addNode(doc: Definition, node: JourneyNode, position: Position): Definition {
  const layout = layoutOf(doc);
  layout.nodes[node.id] = round(position);
  return {
    ...doc,
    nodes: [...doc.nodes, node],
    start: doc.start || node.id,
    layout,
  };
}

/** Replace a node (same id) with an edited one. */
export function updateNode(doc: Definition, node: JourneyNode): Definition {
  return mapNodes(doc, (n) => (n.id === node.id ? node : n));
}

/** Lead ``output`` of ``source`` (or the entry) to ``target``; one edge per output. */
export function connect(doc: Definition, source: string, output: string, target: string) {
  if (source === ENTRY) return { ...doc, start: target };
  if (source === target && output !== "to") return doc;
  return mapNodes(doc, (n) => (n.id === source ? setTarget(n, output, target) : n));
}

/** Remove the edge of ``output`` of ``source`` (or the entry's). */
export function disconnect(doc: Definition, source: string, output: string): Definition {
  if (source === ENTRY) return { ...doc, start: "" };
  return mapNodes(doc, (n) => (n.id === source ? setTarget(n, output, undefined) : n));
}

/** Remove nodes and every edge that led to them. */
export function removeNodes(doc: Definition, ids: Iterable<string>): Definition {
  const gone = new Set(ids);
  gone.delete(ENTRY);
  if (gone.size === 0) return doc;
  const layout = layoutOf(doc);
  for (const id of gone) delete layout.nodes[id];
  const nodes = doc.nodes
    .filter((n) => !gone.has(n.id))
    .map((n) =>
      edgesOf(n).reduce<JourneyNode>(
        (node, edge) => (gone.has(edge.target) ? setTarget(node, edge.name, undefined) : node),
        n,
      ),
    );
  return { ...doc, nodes, start: gone.has(doc.start) ? "" : doc.start, layout };
}

/** Remove edges, each named by its source and output. */
export function removeEdges(doc: Definition, edges: { source: string; output: string }[]) {
  return edges.reduce((d, e) => disconnect(d, e.source, e.output), doc);
}

/** Give a node a new id; every edge to it, the start and its position follow. */
export function renameNode(doc: Definition, from: string, to: string): Definition {
  if (from === to || !NODE_ID.test(to) || doc.nodes.some((n) => n.id === to)) return doc;
  const layout = layoutOf(doc);
  if (layout.nodes[from]) {
    layout.nodes[to] = layout.nodes[from];
    delete layout.nodes[from];
  }
  const nodes = doc.nodes.map((n) => {
    let node = n.id === from ? ({ ...n, id: to } as JourneyNode) : n;
    for (const edge of edgesOf(node)) {
      if (edge.target === from) node = setTarget(node, edge.name, to);
    }
    return node;
  });
  return { ...doc, nodes, start: doc.start === from ? to : doc.start, layout };
}

/** Store where nodes (or the entry) are drawn. */
export function moveNodes(doc: Definition, moves: Record<string, Position>): Definition {
  const layout = layoutOf(doc);
  for (const [id, position] of Object.entries(moves)) {
    if (id === ENTRY) layout.entry = round(position);
    else if (doc.nodes.some((n) => n.id === id)) layout.nodes[id] = round(position);
  }
  return { ...doc, layout };
}

/** Copies of nodes with new ids, placed ``offset`` away; edges between the copies are kept,
 * edges to other nodes are left open. Returns the document and the new ids. */
export function copyNodes(
  doc: Definition,
  nodes: JourneyNode[],
  positions: Record<string, Position>,
  offset: Position = { x: 40, y: 40 },
): { doc: Definition; ids: string[] } {
  const renamed = new Map<string, string>();
  const taken = new Set<string>();
  for (const node of nodes) {
    const id = freeId(doc, node.type, taken);
    taken.add(id);
    renamed.set(node.id, id);
  }
  let next = doc;
  for (const node of nodes) {
    let copy = { ...structuredClone(node), id: renamed.get(node.id)! } as JourneyNode;
    for (const edge of edgesOf(node)) {
      copy = setTarget(copy, edge.name, renamed.get(edge.target));
    }
    const at = positions[node.id] ?? { x: 0, y: 0 };
    next = addNode(next, copy, { x: at.x + offset.x, y: at.y + offset.y });
  }
  return { doc: next, ids: [...renamed.values()] };
}

function round(position: Position): Position {
  return { x: Math.round(position.x), y: Math.round(position.y) };
}

// --- layout --------------------------------------------------------------------------------

export const ENTRY_WIDTH = NODE_WIDTH;
export const ENTRY_HEIGHT = 110;
/** Vertical room per output handle (the labels sit beside the node). */
export const OUTPUT_SPACING = 26;

/** How tall a node is drawn: room for its content and for each of its outputs. */
export function nodeHeight(node: JourneyNode): number {
  return Math.max(NODE_HEIGHT, 20 + outputsOf(node).length * OUTPUT_SPACING);
}

/** Every node's position: the stored one, else dagre's (left to right, like the journey
 * runs) for the nodes that have none. ``all`` lays out every node anew. */
export function positions(doc: Definition, all = false): Record<string, Position> {
  const stored = all ? {} : (doc.layout?.nodes ?? {});
  const entry = all ? null : (doc.layout?.entry ?? null);
  const missing = doc.nodes.some((n) => !stored[n.id]) || !entry;
  const placed: Record<string, Position> = {};
  if (missing) {
    const graph = new dagre.graphlib.Graph();
    // wide gaps between ranks: the outputs' labels sit to the right of each node
    graph.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 130, marginx: 16, marginy: 16 });
    graph.setDefaultEdgeLabel(() => ({}));
    graph.setNode(ENTRY, { width: ENTRY_WIDTH, height: ENTRY_HEIGHT });
    for (const node of doc.nodes) {
      graph.setNode(node.id, { width: NODE_WIDTH, height: nodeHeight(node) });
    }
    if (doc.nodes.some((n) => n.id === doc.start)) graph.setEdge(ENTRY, doc.start);
    for (const node of doc.nodes) {
      for (const edge of edgesOf(node)) {
        if (graph.hasNode(edge.target) && edge.name !== "to") graph.setEdge(node.id, edge.target);
      }
    }
    dagre.layout(graph);
    for (const id of [ENTRY, ...doc.nodes.map((n) => n.id)]) {
      const { x, y, width, height } = graph.node(id);
      placed[id] = round({ x: x - width / 2, y: y - height / 2 });
    }
  }
  const out: Record<string, Position> = {};
  out[ENTRY] = entry ?? placed[ENTRY] ?? { x: 0, y: 0 };
  for (const node of doc.nodes) out[node.id] = stored[node.id] ?? placed[node.id] ?? { x: 0, y: 0 };
  return out;
}

/** The document with every node laid out anew (the "tidy up" button). */
export function autoLayout(doc: Definition): Definition {
  const all = positions(doc, true);
  const { [ENTRY]: entry, ...nodes } = all;
  return { ...doc, layout: { nodes, entry: entry ?? null } };
}

/** The document as it is saved: positions only for nodes that exist. */
export function forSaving(doc: Definition): Definition {
  const ids = new Set(doc.nodes.map((n) => n.id));
  const nodes = Object.fromEntries(
    Object.entries(doc.layout?.nodes ?? {}).filter(([id]) => ids.has(id)),
  );
  const clean: Definition = { ...doc, layout: { nodes, entry: doc.layout?.entry ?? null } };
  if (!clean.layout?.entry) clean.layout = { nodes };
  return clean;
}

/** A document as text that does not depend on the order of keys (to tell whether the canvas
 * holds what was saved). */
export function canonical(doc: Definition): string {
  const sort = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(sort);
    if (value && typeof value === "object") {
      return Object.fromEntries(
        Object.keys(value as object)
          .sort()
          .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
          .map((k) => [k, sort((value as Record<string, unknown>)[k])]),
      );
    }
    return value;
  };
  return JSON.stringify(sort(forSaving(doc)));
}

// --- what the canvas can see is missing -----------------------------------------------------

/** A problem of the document: on a node (``node``), on the entry/journey settings
 * (``node: null``), naming the ``field`` and a ``code`` that the catalogue words. */
export interface Problem {
  node: string | null;
  field?: string;
  code: string;
  params?: Record<string, string | number>;
  /** The engine's own words (English), for a code the Studio does not know. */
  message?: string;
}

function blank(value: unknown): boolean {
  return value == null || (typeof value === "string" && value.trim() === "");
}

/** Whether a condition names everything it needs (each leaf its trait, event, segment, ...). */
export function ruleComplete(rule: unknown): boolean {
  if (rule == null || typeof rule !== "object") return false;
  const r = rule as Record<string, unknown>;
  if (Array.isArray(r.all)) return r.all.length > 0 && r.all.every(ruleComplete);
  if (Array.isArray(r.any)) return r.any.length > 0 && r.any.every(ruleComplete);
  if ("not" in r) return ruleComplete(r.not);
  if ("trait" in r)
    return !blank(r.trait) && (r.op === "exists" || r.op === "not_exists" || !blank(r.value));
  if ("score" in r) return !blank(r.score) && !blank(r.value);
  if ("segment" in r) return !blank(r.segment);
  if ("last_event" in r) return !blank(r.last_event) && !blank(r.within);
  if ("event" in r) return !blank(r.event);
  return false;
}

/** What the canvas can tell is missing before asking the server: names, the entry's event or
 * segment, each node's required fields and open connections. */
export function missingParts(doc: Definition): Problem[] {
  const out: Problem[] = [];
  const add = (node: string | null, field: string, code = "required") =>
    out.push({ node, field, code });
  if (blank(doc.name)) add(null, "name");
  if (!JOURNEY_KEY.test(doc.key)) add(null, "key", "bad_key");
  const entry = doc.entry;
  if (entry.type === "event" && blank(entry.event)) add(null, "entry.event");
  if ((entry.type === "segment" || entry.type === "audience") && blank(entry.segment)) {
    add(null, "entry.segment");
  }
  if (doc.goal && blank(doc.goal.event)) add(null, "goal.event");
  (doc.exits ?? []).forEach((exit, i) => {
    if (blank(exit.event) && blank(exit.segment)) add(null, `exits.${i}`);
  });
  if (doc.nodes.length === 0) add(null, "nodes", "no_nodes");
  else if (blank(doc.start)) add(null, "start", "no_start");
  const ids = new Set(doc.nodes.map((n) => n.id));
  for (const node of doc.nodes) {
    const id = node.id;
    switch (node.type) {
      case "wait":
        if (
          blank(node.duration) &&
          blank(node.until) &&
          blank(node.local_time) &&
          blank(node.attribute)
        ) {
          add(id, "duration");
        }
        break;
      case "wait_for_event":
        if (blank(node.event)) add(id, "event");
        if (blank(node.timeout)) add(id, "timeout");
        break;
      case "branch":
        node.cases.forEach((c, i) => {
          if (!ruleComplete(c.when)) add(id, `cases.${i}.when`, "incomplete_rule");
        });
        break;
      case "split": {
        const keys = node.variants.map((v) => v.key);
        node.variants.forEach((v, i) => {
          if (blank(v.key)) add(id, `variants.${i}.key`);
          if (!(v.weight > 0)) add(id, `variants.${i}.weight`, "positive");
        });
        if (new Set(keys).size !== keys.length) add(id, "variants", "split_keys_repeat");
        break;
      }
      case "send":
        if (blank(node.template)) add(id, "template");
        break;
      case "update_profile":
        if (Object.keys(node.traits ?? {}).length === 0) add(id, "traits");
        break;
      case "webhook":
        if (blank(node.template)) add(id, "template");
        break;
      case "agent_task":
        if (blank(node.template)) add(id, "template");
        if (blank(node.queue)) add(id, "queue");
        break;
      case "decide":
        if (blank(node.placement)) add(id, "placement");
        break;
      case "jump":
        if (node.journey == null && blank(node.to)) add(id, "to");
        if (node.journey != null && blank(node.journey)) add(id, "journey");
        break;
      default:
        break;
    }
    for (const output of outputsOf(node)) {
      const target = targetOf(node, output);
      const required = /^(cases|variants|offers)\[/.test(output) || output === "else";
      if (target && !ids.has(target)) {
        out.push({
          node: id,
          field: output,
          code: "unknown_target",
          params: { edge: output, target },
        });
      } else if (!target && required) {
        add(id, output, "not_connected");
      }
    }
  }
  return out;
}

/** Every edge of the document as the canvas draws it (the entry's to the start included). */
export function canvasEdges(doc: Definition): (Edge & { source: string })[] {
  const ids = new Set(doc.nodes.map((n) => n.id));
  const out: (Edge & { source: string })[] = [];
  if (ids.has(doc.start)) out.push({ source: ENTRY, name: "start", target: doc.start });
  for (const node of doc.nodes) {
    for (const edge of edgesOf(node)) {
      if (ids.has(edge.target)) out.push({ source: node.id, ...edge });
    }
  }
  return out;
}
