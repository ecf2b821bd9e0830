import { describe, expect, it } from "vitest";
import {
  addNode,
  autoLayout,
  canvasEdges,
  connect,
  copyNodes,
  type Definition,
  disconnect,
  ENTRY,
  emptyDefinition,
  forSaving,
  freeId,
  keyFromName,
  missingParts,
  moveNodes,
  newNode,
  outputsOf,
  positions,
  removeNodes,
  renameNode,
  targetOf,
} from "./document";
import { historyReducer, start } from "./history";

/** Cart abandonment as a person builds it on the canvas, step by step. */
function cart(): Definition {
  let doc = emptyDefinition("cart", "Cart abandonment");
  doc = { ...doc, entry: { type: "event", event: "Product Added", where: [] } } as Definition;
  doc = addNode(
    doc,
    { ...newNode("wait_for_event", "wait_order"), event: "Order Completed" } as never,
    { x: 300, y: 0 },
  );
  doc = addNode(doc, newNode("exit", "ordered"), { x: 600, y: -100 });
  doc = addNode(doc, { ...newNode("send", "reminder"), template: "cart-reminder" } as never, {
    x: 600,
    y: 100,
  });
  doc = connect(doc, "wait_order", "next", "ordered");
  doc = connect(doc, "wait_order", "timeout_next", "reminder");
  return doc;
}

describe("building a journey on the canvas", () => {
  it("makes the first node the start and connects outputs as the engine names them", () => {
    const doc = cart();
    expect(doc.start).toBe("wait_order");
    const wait = doc.nodes[0]!;
    expect(targetOf(wait, "next")).toBe("ordered");
    expect(targetOf(wait, "timeout_next")).toBe("reminder");
    expect(canvasEdges(doc).map((e) => `${e.source}:${e.name}->${e.target}`)).toEqual([
      `${ENTRY}:start->wait_order`,
      "wait_order:next->ordered",
      "wait_order:timeout_next->reminder",
    ]);
    expect(doc.layout?.nodes?.reminder).toEqual({ x: 600, y: 100 });
  });

  it("connects branch cases, split variants and the entry, and disconnects them again", () => {
    let doc = cart();
    doc = addNode(doc, newNode("branch", "value"), { x: 0, y: 0 });
    doc = connect(doc, "reminder", "next", "value");
    doc = connect(doc, "value", "cases[0]", "ordered");
    doc = connect(doc, "value", "else", "reminder");
    const branch = doc.nodes.find((n) => n.id === "value")!;
    expect(outputsOf(branch)).toEqual(["cases[0]", "else"]);
    expect(branch.type === "branch" && branch.cases[0]?.next).toBe("ordered");
    doc = disconnect(doc, "value", "cases[0]");
    expect(targetOf(doc.nodes.find((n) => n.id === "value")!, "cases[0]")).toBeUndefined();
    doc = connect(doc, ENTRY, "start", "reminder");
    expect(doc.start).toBe("reminder");
    doc = addNode(doc, newNode("split", "ab"), { x: 0, y: 0 });
    doc = connect(doc, "ab", "variants[b]", "ordered");
    const split = doc.nodes.find((n) => n.id === "ab")!;
    expect(split.type === "split" && split.variants.map((v) => v.next)).toEqual(["", "ordered"]);
  });

  it("deletes nodes with every edge that led to them and their position", () => {
    const doc = removeNodes(cart(), ["reminder", ENTRY]);
    expect(doc.nodes.map((n) => n.id)).toEqual(["wait_order", "ordered"]);
    expect(targetOf(doc.nodes[0]!, "timeout_next")).toBeUndefined();
    expect(doc.layout?.nodes?.reminder).toBeUndefined();
    expect(removeNodes(cart(), ["wait_order"]).start).toBe("");
  });

  it("renames a node and every reference to it", () => {
    const doc = renameNode(cart(), "reminder", "reminder_email");
    expect(targetOf(doc.nodes[0]!, "timeout_next")).toBe("reminder_email");
    expect(doc.layout?.nodes?.reminder_email).toEqual({ x: 600, y: 100 });
    expect(renameNode(cart(), "reminder", "ordered")).toEqual(cart()); // taken
    expect(renameNode(cart(), "reminder", "-bad")).toEqual(cart());
  });

  it("copies nodes with new ids, keeping the edges between the copies only", () => {
    const doc = cart();
    const chosen = doc.nodes.filter((n) => n.id !== "ordered");
    const made = copyNodes(doc, chosen, { wait_order: { x: 0, y: 0 }, reminder: { x: 10, y: 10 } });
    expect(made.ids).toEqual(["wait_for_event_1", "send_1"]);
    const copy = made.doc.nodes.find((n) => n.id === "wait_for_event_1")!;
    expect(targetOf(copy, "timeout_next")).toBe("send_1");
    expect(targetOf(copy, "next")).toBeUndefined();
    expect(made.doc.layout?.nodes?.send_1).toEqual({ x: 50, y: 50 });
    expect(freeId(made.doc, "send")).toBe("send_2");
  });

  it("lays out nodes without a position and keeps the ones that have one", () => {
    const doc = { ...cart(), layout: { nodes: { ordered: { x: 5, y: 7 } } } } as Definition;
    const placed = positions(doc);
    expect(placed.ordered).toEqual({ x: 5, y: 7 });
    expect(placed[ENTRY]!.x).toBeLessThan(placed.wait_order!.x);
    expect(placed.wait_order!.x).toBeLessThan(placed.reminder!.x);
    const tidy = autoLayout(doc);
    expect(Object.keys(tidy.layout?.nodes ?? {}).sort()).toEqual([
      "ordered",
      "reminder",
      "wait_order",
    ]);
    expect(tidy.layout?.entry).toBeTruthy();
    const moved = moveNodes(doc, { ordered: { x: 10.4, y: 20.6 }, [ENTRY]: { x: 1, y: 2 } });
    expect(moved.layout?.nodes?.ordered).toEqual({ x: 10, y: 21 });
    expect(moved.layout?.entry).toEqual({ x: 1, y: 2 });
  });

  it("saves positions only of nodes that exist", () => {
    const doc = {
      ...cart(),
      layout: { nodes: { gone: { x: 1, y: 1 }, ordered: { x: 2, y: 2 } } },
    } as Definition;
    expect(forSaving(doc).layout).toEqual({ nodes: { ordered: { x: 2, y: 2 } } });
  });
});

describe("what the canvas sees is missing", () => {
  it("names the entry's event, required fields, incomplete conditions and open outputs", () => {
    let doc = emptyDefinition("cart", "");
    expect(missingParts(doc).map((p) => `${p.node}:${p.field}:${p.code}`)).toEqual([
      "null:name:required",
      "null:entry.event:required",
      "null:nodes:no_nodes",
    ]);
    doc = addNode(cart(), newNode("branch", "value"), { x: 0, y: 0 });
    doc = connect(doc, "reminder", "next", "value");
    doc = addNode(doc, { ...newNode("wait_for_event", "w2"), timeout: "" } as never, {
      x: 0,
      y: 0,
    });
    const found = missingParts(doc).map((p) => `${p.node}:${p.field}:${p.code}`);
    expect(found).toEqual([
      "value:cases.0.when:incomplete_rule",
      "value:cases[0]:not_connected",
      "value:else:not_connected",
      "w2:event:required",
      "w2:timeout:required",
    ]);
  });

  it("finds nothing missing in a complete journey", () => {
    expect(missingParts(cart())).toEqual([]);
  });
});

describe("undo and redo", () => {
  it("steps back and forth through edits, and a new edit forgets what was undone", () => {
    let h = start(1);
    h = historyReducer(h, { kind: "edit", next: 2 });
    h = historyReducer(h, { kind: "edit-with", change: (n) => n + 1 });
    expect(h.present).toBe(3);
    h = historyReducer(h, { kind: "undo" });
    h = historyReducer(h, { kind: "undo" });
    expect(h.present).toBe(1);
    h = historyReducer(h, { kind: "redo" });
    expect(h.present).toBe(2);
    h = historyReducer(h, { kind: "edit", next: 7 });
    expect(h.future).toEqual([]);
    expect(historyReducer(h, { kind: "redo" })).toBe(h);
    expect(historyReducer(start(1), { kind: "undo" }).present).toBe(1);
  });
});

describe("keys from names", () => {
  it("makes a journey key a person would choose", () => {
    expect(keyFromName("Cart abandonment")).toBe("cart-abandonment");
    expect(keyFromName("  Größe & Übergabe! ")).toBe("grosse-ubergabe");
  });
});
