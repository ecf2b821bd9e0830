// The journey as a read-only flow diagram (React Flow): every node with what it does and its
// figures (reached, waiting, drop-off, messages). The journey canvas of the Studio builds on
// this component: the definition stays the source of truth, the diagram is derived from it.
import "@xyflow/react/dist/style.css";
import { Group, Paper, Stack, Text } from "@mantine/core";
import {
  Background,
  Controls,
  type Edge as FlowEdge,
  type Node as FlowNode,
  Handle,
  MarkerType,
  type NodeProps,
  Position,
  ReactFlow,
  ReactFlowProvider,
} from "@xyflow/react";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import type { Schemas } from "@/api/client";
import { useFormat } from "@/i18n";
import {
  type Definition,
  describeNode,
  edgeLabel,
  edgesOf,
  type Names,
  type NodeType,
} from "./describe";
import { layoutFlow, NODE_HEIGHT, NODE_WIDTH } from "./layout";
import { NodeIcon } from "./NodeIcon";

const MESSAGE_TYPES = new Set<NodeType>(["send", "webhook", "agent_task"]);

interface StepData extends Record<string, unknown> {
  nodeId: string;
  type: NodeType;
  label: string | null;
  summary: string;
  figures: Schemas["NodeKpis"] | null;
  start: boolean;
  highlighted: boolean;
}

type Step = FlowNode<StepData, "step">;

function StepNode({ data }: NodeProps<Step>) {
  const { t } = useTranslation();
  const fmt = useFormat();
  const f = data.figures;
  return (
    <Paper
      withBorder
      radius="md"
      p="xs"
      w={NODE_WIDTH}
      h={NODE_HEIGHT}
      data-flow-node={data.nodeId}
      style={{
        borderColor: data.highlighted ? "var(--mantine-color-brand-6)" : undefined,
        borderWidth: data.highlighted ? 2 : 1,
        boxShadow: data.highlighted ? "0 0 0 3px var(--mantine-color-brand-1)" : undefined,
        overflow: "hidden",
      }}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <Stack gap={2}>
        <Group gap={6} wrap="nowrap">
          <NodeIcon type={data.type} />
          <Text size="xs" fw={700} c="brand.8" tt="uppercase">
            {t(`nodeType.${data.type}`)}
          </Text>
          {data.start && (
            <Text size="xs" c="dimmed">
              · {t("journey.start")}
            </Text>
          )}
        </Group>
        <Text size="sm" fw={600} truncate="end">
          {data.label || data.nodeId}
        </Text>
        <Text size="xs" c="dimmed" lineClamp={2} lh={1.3}>
          {data.summary}
        </Text>
        <Group gap="sm" mt={2} wrap="nowrap">
          <Text size="xs" data-kpi="reached">
            <b>{fmt.integer(f?.reached ?? 0)}</b> {t("journey.reachedShort")}
          </Text>
          {(f?.waiting ?? 0) > 0 && (
            <Text size="xs" data-kpi="waiting">
              <b>{fmt.integer(f?.waiting ?? 0)}</b> {t("journey.waitingShort")}
            </Text>
          )}
          {f?.drop_off_rate != null && f.drop_off_rate > 0 && (
            <Text size="xs" c="red.8">
              {t("journey.dropOffShort", { value: fmt.percent(f.drop_off_rate) })}
            </Text>
          )}
          {MESSAGE_TYPES.has(data.type) && (
            <Text size="xs">
              <b>{fmt.integer(f?.sent ?? 0)}</b> {t("journey.sentShort")}
            </Text>
          )}
        </Group>
      </Stack>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </Paper>
  );
}

const nodeTypes = { step: StepNode };

interface FlowDiagramProps {
  definition: Definition;
  figures: Schemas["NodeKpis"][];
  names: Names;
  highlighted?: string;
  onSelect?: (nodeId: string) => void;
  height?: number;
}

export function FlowDiagram({
  definition,
  figures,
  names,
  highlighted,
  onSelect,
  height = 520,
}: FlowDiagramProps) {
  const { t } = useTranslation();
  const fmt = useFormat();
  const { nodes, edges } = useMemo(() => {
    const byNode = new Map(figures.map((f) => [f.node_id, f]));
    const flowEdges: FlowEdge[] = definition.nodes.flatMap((node) =>
      edgesOf(node).map((edge) => ({
        id: `${node.id}->${edge.name}->${edge.target}`,
        source: node.id,
        target: edge.target,
        label: edgeLabel(node, edge, t) || undefined,
        ariaLabel: t("journey.edgeAria", { from: node.id, to: edge.target }),
        type: "smoothstep",
        markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
        labelStyle: { fontSize: 11, fill: "#343a40" },
        labelBgPadding: [4, 2] as [number, number],
        labelBgBorderRadius: 4,
      })),
    );
    const placed = layoutFlow(definition.nodes, flowEdges);
    const flowNodes: Step[] = definition.nodes.map((node) => ({
      id: node.id,
      type: "step",
      position: { x: placed.get(node.id)?.x ?? 0, y: placed.get(node.id)?.y ?? 0 },
      data: {
        nodeId: node.id,
        type: node.type,
        label: node.label ?? null,
        summary: describeNode(node, t, fmt, names),
        figures: byNode.get(node.id) ?? null,
        start: node.id === definition.start,
        highlighted: node.id === highlighted,
      },
      ariaLabel: t("journey.nodeAria", {
        node: node.label || node.id,
        type: t(`nodeType.${node.type}`),
      }),
    }));
    return { nodes: flowNodes, edges: flowEdges };
  }, [definition, figures, names, highlighted, t, fmt]);

  const ariaLabelConfig = useMemo(
    () => ({
      "node.a11yDescription.default": t("flow.nodeDescription"),
      "node.a11yDescription.keyboardDisabled": t("flow.nodeDescription"),
      "node.a11yDescription.ariaLiveMessage": () => "",
      "edge.a11yDescription.default": t("flow.edgeDescription"),
      "controls.ariaLabel": t("flow.controls"),
      "controls.zoomIn.ariaLabel": t("flow.zoomIn"),
      "controls.zoomOut.ariaLabel": t("flow.zoomOut"),
      "controls.fitView.ariaLabel": t("flow.fitView"),
      "controls.interactive.ariaLabel": t("flow.interactive"),
      "minimap.ariaLabel": t("flow.minimap"),
      "handle.ariaLabel": t("flow.handle"),
    }),
    [t],
  );

  return (
    <section
      style={{ height, border: "1px solid var(--mantine-color-gray-3)", borderRadius: 8 }}
      data-flow="true"
      aria-label={t("journey.flowLabel")}
    >
      <ReactFlowProvider>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          nodesDraggable={false}
          nodesConnectable={false}
          edgesFocusable={false}
          elementsSelectable
          onNodeClick={(_, node) => onSelect?.(node.id)}
          fitView
          fitViewOptions={{ padding: 0.1, maxZoom: 1, minZoom: 0.7 }}
          minZoom={0.2}
          maxZoom={1.5}
          zoomOnScroll={false}
          preventScrolling={false}
          ariaLabelConfig={ariaLabelConfig}
          proOptions={{ hideAttribution: false }}
        >
          <Background gap={20} color="#e9ecef" />
          <Controls showInteractive={false} />
        </ReactFlow>
      </ReactFlowProvider>
    </section>
  );
}
