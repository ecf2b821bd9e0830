// The nodes the canvas draws: the entry (how people enter, with the handle that leads to the
// first step) and a step of the journey (what it does in words, its outputs as handles with
// their names, its problems, and simulated or live figures).
import { Group, Paper, Stack, Text } from "@mantine/core";
import { type Node as FlowNode, Handle, type NodeProps, Position } from "@xyflow/react";
import { useTranslation } from "react-i18next";
import { Tag } from "@/components/Tag";
import { useFormat } from "@/i18n";
import type { NodeType } from "../describe";
import { NodeIcon } from "../NodeIcon";
import { ENTRY_HEIGHT, ENTRY_WIDTH, NODE_WIDTH, OUTPUT_SPACING } from "./document";

/** A node's figures in the live view (from GET /api/journeys/{key}/nodes). */
export interface LiveFigures {
  entered: number;
  active_here: number;
  sent: number;
  failed: number;
  pending: number;
}

export interface StepData extends Record<string, unknown> {
  nodeId: string;
  type: NodeType;
  label: string | null;
  summary: string;
  outputs: { id: string; label: string }[];
  problems: string[];
  start: boolean;
  editable: boolean;
  height: number;
  /** How often a simulation reached the node (null: no simulation shown). */
  simulated: number | null;
  live: LiveFigures | null;
}

export interface EntryData extends Record<string, unknown> {
  summary: string;
  details: string[];
  problems: string[];
  editable: boolean;
  simulated: number | null;
}

export type StepNodeType = FlowNode<StepData, "step">;
export type EntryNodeType = FlowNode<EntryData, "entry">;

const MESSAGE_TYPES = new Set<NodeType>(["send", "webhook", "agent_task"]);

function frame(selected: boolean, problems: number) {
  return {
    borderColor: selected
      ? "var(--mantine-color-brand-7)"
      : problems
        ? "var(--mantine-color-red-7)"
        : undefined,
    borderWidth: selected || problems ? 2 : 1,
    boxShadow: selected ? "0 0 0 3px var(--mantine-color-brand-1)" : undefined,
  };
}

function ProblemBadge({ problems }: { problems: string[] }) {
  const { t } = useTranslation();
  if (!problems.length) return null;
  return (
    <Tag tone="bad" size="xs" data-problem-count={problems.length}>
      {t("canvas.problemCount", { count: problems.length })}
    </Tag>
  );
}

function SimulatedBadge({ count }: { count: number | null }) {
  const { t } = useTranslation();
  const fmt = useFormat();
  if (count == null) return null;
  return (
    <Tag tone="good" size="xs" data-simulated={count}>
      {t("canvas.simulatedShort", { value: fmt.integer(count) })}
    </Tag>
  );
}

export function StepNode({ data, selected }: NodeProps<StepNodeType>) {
  const { t } = useTranslation();
  const fmt = useFormat();
  const live = data.live;
  return (
    <Paper
      withBorder
      radius="md"
      p="xs"
      w={NODE_WIDTH}
      h={data.height}
      data-canvas-node={data.nodeId}
      data-node-type={data.type}
      data-problems={data.problems.length}
      style={{ ...frame(!!selected, data.problems.length), overflow: "visible" }}
    >
      <Handle type="target" id="in" position={Position.Left} isConnectable={data.editable} />
      <Stack gap={2} style={{ overflow: "hidden", height: "100%" }}>
        <Group gap={6} wrap="nowrap" justify="space-between">
          <Group gap={6} wrap="nowrap">
            <NodeIcon type={data.type} />
            <Text size="xs" fw={700} c="brand.8" tt="uppercase" truncate="end">
              {t(`nodeType.${data.type}`)}
            </Text>
          </Group>
          <Group gap={4} wrap="nowrap">
            <SimulatedBadge count={data.simulated} />
            <ProblemBadge problems={data.problems} />
          </Group>
        </Group>
        <Text size="sm" fw={600} truncate="end">
          {data.label || data.nodeId}
          {data.start && (
            <Text span size="xs" c="dimmed" fw={400}>
              {" "}
              · {t("journey.start")}
            </Text>
          )}
        </Text>
        <Text size="xs" c="dimmed" lineClamp={2} lh={1.3} data-summary>
          {data.summary}
        </Text>
        {data.problems[0] && (
          <Text size="xs" c="red.8" lineClamp={1} data-first-problem>
            {data.problems[0]}
          </Text>
        )}
        {live && (
          <Group gap="sm" mt={2} wrap="nowrap" data-live-figures>
            <Text size="xs" data-kpi="reached">
              <b>{fmt.integer(live.entered)}</b> {t("journey.reachedShort")}
            </Text>
            <Text size="xs" data-kpi="waiting">
              <b>{fmt.integer(live.active_here)}</b> {t("journey.waitingShort")}
            </Text>
            {MESSAGE_TYPES.has(data.type) && (
              <>
                <Text size="xs" data-kpi="sent">
                  <b>{fmt.integer(live.sent)}</b> {t("journey.sentShort")}
                </Text>
                {live.failed > 0 && (
                  <Text size="xs" c="red.8" data-kpi="failed">
                    <b>{fmt.integer(live.failed)}</b> {t("canvas.failedShort")}
                  </Text>
                )}
              </>
            )}
          </Group>
        )}
      </Stack>
      {data.outputs.map((output, index) => {
        const top = 20 + OUTPUT_SPACING * index + OUTPUT_SPACING / 2;
        return (
          <div key={output.id}>
            <Handle
              type="source"
              id={output.id}
              position={Position.Right}
              isConnectable={data.editable}
              style={{ top }}
            />
            {output.label && (
              <span
                className="canvas-output-label"
                style={{ top: top - 9 }}
                data-output-label={output.id}
              >
                {output.label}
              </span>
            )}
          </div>
        );
      })}
    </Paper>
  );
}

export function EntryNode({ data, selected }: NodeProps<EntryNodeType>) {
  const { t } = useTranslation();
  return (
    <Paper
      withBorder
      radius="md"
      p="xs"
      w={ENTRY_WIDTH}
      h={ENTRY_HEIGHT}
      bg="brand.0"
      data-canvas-node="entry"
      data-problems={data.problems.length}
      style={{ ...frame(!!selected, data.problems.length), overflow: "visible" }}
    >
      <Stack gap={2} style={{ overflow: "hidden", height: "100%" }}>
        <Group gap={6} wrap="nowrap" justify="space-between">
          <Text size="xs" fw={700} c="brand.9" tt="uppercase">
            {t("canvas.entry")}
          </Text>
          <Group gap={4} wrap="nowrap">
            <SimulatedBadge count={data.simulated} />
            <ProblemBadge problems={data.problems} />
          </Group>
        </Group>
        <Text size="sm" fw={600} lineClamp={2} lh={1.3} data-summary>
          {data.summary}
        </Text>
        {data.problems[0] && (
          <Text size="xs" c="red.8" lineClamp={1} data-first-problem>
            {data.problems[0]}
          </Text>
        )}
        {data.details.map((line) => (
          <Text key={line} size="xs" c="dimmed" truncate="end">
            {line}
          </Text>
        ))}
      </Stack>
      <Handle type="source" id="start" position={Position.Right} isConnectable={data.editable} />
    </Paper>
  );
}

export const nodeTypes = { step: StepNode, entry: EntryNode };
