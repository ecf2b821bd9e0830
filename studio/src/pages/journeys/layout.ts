// Positions of a journey's nodes for the flow diagram: dagre's layered layout, left to right,
// so the diagram reads like the journey runs and uses the width of the screen. Pure.
import dagre from "@dagrejs/dagre";

export const NODE_WIDTH = 248;
export const NODE_HEIGHT = 124;

export interface Placed {
  id: string;
  x: number;
  y: number;
}

export function layoutFlow(
  nodes: { id: string }[],
  edges: { source: string; target: string }[],
): Map<string, Placed> {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: "LR", nodesep: 28, ranksep: 72, marginx: 8, marginy: 8 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) graph.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const edge of edges) {
    if (graph.hasNode(edge.source) && graph.hasNode(edge.target)) {
      graph.setEdge(edge.source, edge.target);
    }
  }
  dagre.layout(graph);
  const placed = new Map<string, Placed>();
  for (const node of nodes) {
    const { x, y } = graph.node(node.id);
    // dagre gives centres; React Flow places by the top-left corner
    placed.set(node.id, { id: node.id, x: x - NODE_WIDTH / 2, y: y - NODE_HEIGHT / 2 });
  }
  return placed;
}
