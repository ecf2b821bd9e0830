// The journey map as a board: one column per stage (every stage, however many: the board
// scrolls sideways and zooms), one lane per kind of content, and the emotional curve, designed
// (solid) and measured (dashed), drawn under the columns it belongs to.
import { Box, Button, Group, List, Slider, Stack, Text } from "@mantine/core";
import { useElementSize } from "@mantine/hooks";
import { IconArrowsHorizontal } from "@tabler/icons-react";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import type { Schemas } from "@/api/client";
import { SERIES } from "@/app/theme";
import { Chart, type ChartOption } from "@/components/Chart";
import { Tag } from "@/components/Tag";
import { useFormat } from "@/i18n";

/** Width of a stage column at 100 %. */
export const COLUMN = 220;
const LANE_LABEL = 112;
const MIN_ZOOM = 50;
const MAX_ZOOM = 160;

interface MapBoardProps {
  document: Schemas["JourneyMapDocument"];
  stageNames: Map<string, string>;
  measurement: Schemas["MapMeasurement"] | undefined;
  /** percent; undefined: every stage fitted into the width (down to 50 %), else 100 % */
  zoom: number | undefined;
  onZoom: (zoom: number | undefined) => void;
}

function Items({ items, empty }: { items: string[]; empty: string }) {
  if (items.length === 0) {
    return (
      <Text size="xs" c="dimmed">
        {empty}
      </Text>
    );
  }
  return (
    <List size="xs" spacing={2} withPadding={false} listStyleType="none">
      {items.map((item) => (
        <List.Item key={item}>{item}</List.Item>
      ))}
    </List>
  );
}

export function MapBoard({ document, stageNames, measurement, zoom, onZoom }: MapBoardProps) {
  const { t } = useTranslation();
  const fmt = useFormat();
  const { ref, width } = useElementSize();
  const stages = document.stages ?? [];
  const n = Math.max(stages.length, 1);
  const fit = Math.min(100, Math.floor(((width - LANE_LABEL) / (n * COLUMN)) * 100));
  const effective = zoom ?? (width > 0 && fit >= MIN_ZOOM ? fit : 100);
  const column = Math.round((COLUMN * effective) / 100);
  const measured = new Map((measurement?.stages ?? []).map((s) => [s.stage, s]));

  const option: ChartOption = useMemo(
    () => ({
      color: [SERIES[0], SERIES[3] ?? SERIES[0]],
      grid: { left: 0, right: 0, top: 12, bottom: 8 },
      legend: { show: false },
      tooltip: {
        trigger: "axis",
        valueFormatter: (v: unknown) => (v == null ? "—" : fmt.decimal(Number(v), 1)),
      },
      xAxis: {
        type: "category",
        data: stages.map((s) => stageNames.get(s.key) ?? s.key),
        show: false,
        boundaryGap: true,
      },
      yAxis: { type: "value", min: -2, max: 2, show: false },
      series: [
        {
          name: t("map.designed"),
          type: "line",
          connectNulls: true,
          symbolSize: 8,
          lineStyle: { width: 3 },
          data: stages.map((s) => s.emotion ?? null),
          markLine: {
            silent: true,
            symbol: "none",
            label: { show: false },
            lineStyle: { color: "#ced4da", type: "solid" },
            data: [{ yAxis: 0 }],
          },
        },
        {
          name: t("map.measured"),
          type: "line",
          connectNulls: true,
          symbolSize: 8,
          lineStyle: { width: 3, type: "dashed" },
          data: stages.map((s) => measured.get(s.key)?.measured_emotion ?? null),
        },
      ],
    }),
    [stages, stageNames, measured, t, fmt],
  );

  const lanes: {
    key: string;
    label: string;
    cell: (s: (typeof stages)[number]) => React.ReactNode;
  }[] = [
    {
      key: "touchpoints",
      label: t("map.laneTouchpoints"),
      cell: (s) =>
        (s.touchpoints ?? []).length === 0 ? (
          <Text size="xs" c="dimmed">
            —
          </Text>
        ) : (
          <Stack gap={4}>
            {(s.touchpoints ?? []).map((tp) => (
              <Box
                key={tp.id}
                p={6}
                bg="blue.0"
                style={{ borderRadius: 6 }}
                data-touchpoint={tp.id}
              >
                <Text size="xs" fw={600}>
                  {tp.name}
                </Text>
                {(tp.channel || tp.owner) && (
                  <Text size="xs" c="dimmed">
                    {[tp.channel, tp.owner].filter(Boolean).join(" · ")}
                  </Text>
                )}
              </Box>
            ))}
          </Stack>
        ),
    },
    {
      key: "needs",
      label: t("map.laneNeeds"),
      cell: (s) => <Items items={s.needs ?? []} empty="—" />,
    },
    {
      key: "pain",
      label: t("map.lanePainPoints"),
      cell: (s) => <Items items={(s.pain_points ?? []).map((p) => p.title)} empty="—" />,
    },
    {
      key: "opportunities",
      label: t("map.laneOpportunities"),
      cell: (s) => <Items items={(s.opportunities ?? []).map((o) => o.title)} empty="—" />,
    },
  ];
  const laneTint: Record<string, string> = {
    touchpoints: "var(--mantine-color-white)",
    needs: "#f3f7ec",
    pain: "#fdecea",
    opportunities: "#eaf7f1",
  };

  return (
    <Stack gap="xs">
      <Group gap="sm" justify="flex-end" wrap="wrap">
        <Text size="xs" c="dimmed" id="map-zoom-label">
          {t("map.zoom")}
        </Text>
        <Slider
          w={180}
          min={MIN_ZOOM}
          max={MAX_ZOOM}
          step={10}
          value={effective}
          onChange={(value) => onZoom(value)}
          label={(value) => fmt.percent(value / 100, 0)}
          thumbProps={{ "aria-labelledby": "map-zoom-label" }}
        />
        <Button
          size="xs"
          variant="default"
          leftSection={<IconArrowsHorizontal size={14} aria-hidden="true" />}
          onClick={() => onZoom(undefined)}
        >
          {t("map.fit")}
        </Button>
      </Group>
      <Box
        ref={ref}
        style={{ overflowX: "auto" }}
        data-map-board="true"
        tabIndex={0}
        aria-label={t("map.boardLabel", { count: stages.length })}
        role="region"
      >
        <table
          style={{
            borderCollapse: "separate",
            borderSpacing: 0,
            tableLayout: "fixed",
            width: LANE_LABEL + column * n,
          }}
        >
          <colgroup>
            <col style={{ width: LANE_LABEL }} />
            {stages.map((s) => (
              <col key={s.key} style={{ width: column }} />
            ))}
          </colgroup>
          <thead>
            <tr>
              <th
                scope="col"
                style={{
                  position: "sticky",
                  left: 0,
                  background: "var(--mantine-color-white)",
                  zIndex: 1,
                }}
              >
                <span className="visually-hidden">{t("map.lane")}</span>
              </th>
              {stages.map((s, i) => {
                const m = measured.get(s.key);
                return (
                  <th
                    key={s.key}
                    scope="col"
                    data-stage-column={s.key}
                    style={{
                      padding: 8,
                      textAlign: "left",
                      verticalAlign: "top",
                      background: "var(--mantine-color-brand-0)",
                      borderLeft: i ? "3px solid white" : undefined,
                    }}
                  >
                    <Text size="sm" fw={700} c="brand.9">
                      {stageNames.get(s.key) ?? s.key}
                    </Text>
                    {m && (
                      <Text size="xs" c="dimmed" fw={400}>
                        {t("map.customersShort", { value: fmt.integer(m.customers) })}
                        {m.conversion_to_next != null &&
                          ` · ${t("map.toNextShort", { value: fmt.percent(m.conversion_to_next) })}`}
                      </Text>
                    )}
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {lanes.map((lane) => (
              <tr key={lane.key} data-lane={lane.key}>
                <th
                  scope="row"
                  style={{
                    position: "sticky",
                    left: 0,
                    background: "var(--mantine-color-white)",
                    zIndex: 1,
                    textAlign: "left",
                    verticalAlign: "top",
                    padding: 8,
                  }}
                >
                  <Text size="xs" fw={700} c="gray.8">
                    {lane.label}
                  </Text>
                </th>
                {stages.map((s, i) => (
                  <td
                    key={s.key}
                    style={{
                      padding: 8,
                      verticalAlign: "top",
                      background: laneTint[lane.key],
                      borderLeft: i ? "3px solid white" : undefined,
                      borderTop: "3px solid white",
                    }}
                  >
                    {lane.cell(s)}
                  </td>
                ))}
              </tr>
            ))}
            <tr data-lane="emotion">
              <th
                scope="row"
                style={{
                  position: "sticky",
                  left: 0,
                  background: "var(--mantine-color-white)",
                  zIndex: 1,
                  textAlign: "left",
                  verticalAlign: "top",
                  padding: 8,
                }}
              >
                <Text size="xs" fw={700} c="gray.8">
                  {t("map.laneEmotion")}
                </Text>
                <Group gap={6} mt={4}>
                  <Tag size="xs" tone="info">
                    {t("map.designed")}
                  </Tag>
                  <Tag size="xs" tone="warn">
                    {t("map.measured")}
                  </Tag>
                </Group>
              </th>
              <td colSpan={stages.length} style={{ padding: 0, borderTop: "3px solid white" }}>
                <Chart option={option} height={160} label={t("map.emotionLabel")} />
              </td>
            </tr>
          </tbody>
        </table>
      </Box>
    </Stack>
  );
}
