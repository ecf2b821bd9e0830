import { Anchor, Code, Grid, Group, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useMediaQuery } from "@mantine/hooks";
import { useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { lazy, Suspense, useEffect, useMemo } from "react";
import { useTranslation } from "react-i18next";
import type { Schemas } from "@/api/client";
import {
  journeyDefinitionQuery,
  journeyQuery,
  journeyReportQuery,
  journeysQuery,
  latestInstancesQuery,
  profileSummariesQuery,
  segmentsQuery,
} from "@/api/queries";
import { journeyRoute } from "@/app/router";
import { SERIES } from "@/app/theme";
import { Chart, type ChartOption } from "@/components/Chart";
import { Empty } from "@/components/Empty";
import { ErrorNotice } from "@/components/ErrorNotice";
import { Kpi } from "@/components/Kpi";
import { Loading } from "@/components/Loading";
import { ButtonLink } from "@/components/links";
import { Page } from "@/components/Page";
import { Person } from "@/components/Person";
import { Section } from "@/components/Section";
import { Tag } from "@/components/Tag";
import { useFormat } from "@/i18n";
import type { Format } from "@/i18n/format";
import {
  type Definition,
  describeEndReason,
  describeEntry,
  describeNode,
  edgeLabel,
  edgesOf,
  type Names,
  readingOrder,
} from "./describe";
import { NodeIcon } from "./NodeIcon";
import { InstanceStatus, JourneyStatus } from "./status";

const FlowDiagram = lazy(() => import("./FlowDiagram").then((m) => ({ default: m.FlowDiagram })));
const MESSAGE_TYPES = new Set(["send", "webhook", "agent_task"]);

function Facts({ rows }: { rows: [string, React.ReactNode][] }) {
  return (
    <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} spacing="sm" component="dl" m={0}>
      {rows.map(([label, value]) => (
        <div key={label}>
          <Text component="dt" size="xs" c="dimmed">
            {label}
          </Text>
          <Text component="dd" size="sm" m={0}>
            {value}
          </Text>
        </div>
      ))}
    </SimpleGrid>
  );
}

function timeseriesChart(
  report: Schemas["JourneyReport"],
  fmt: Format,
  labels: { entered: string; converted: string; rate: string },
): ChartOption {
  const periods = report.timeseries.map((p) => p.period);
  return {
    color: [SERIES[0], SERIES[2] ?? SERIES[0], SERIES[3] ?? SERIES[0]],
    grid: { left: 8, right: 8, top: 24, bottom: 40, containLabel: true },
    legend: { bottom: 0 },
    tooltip: { trigger: "axis" },
    xAxis: {
      type: "category",
      data: periods,
      axisLabel: { formatter: (value: string) => fmt.shortDay(value), hideOverlap: true },
    },
    yAxis: [
      { type: "value", axisLabel: { formatter: (v: number) => fmt.integer(v) } },
      {
        type: "value",
        min: 0,
        max: 1,
        axisLabel: { formatter: (v: number) => fmt.percent(v, 0) },
        splitLine: { show: false },
      },
    ],
    series: [
      {
        name: labels.entered,
        type: "bar",
        data: report.timeseries.map((p) => p.entered),
        tooltip: { valueFormatter: (v: unknown) => fmt.integer(Number(v)) },
      },
      {
        name: labels.converted,
        type: "bar",
        data: report.timeseries.map((p) => p.converted),
        tooltip: { valueFormatter: (v: unknown) => fmt.integer(Number(v)) },
      },
      {
        name: labels.rate,
        type: "line",
        yAxisIndex: 1,
        lineStyle: { type: "dashed" },
        data: report.timeseries.map((p) => p.conversion_rate),
        tooltip: { valueFormatter: (v: unknown) => (v == null ? "—" : fmt.percent(Number(v))) },
      },
    ],
  };
}

export function JourneyPage() {
  const { t } = useTranslation();
  const fmt = useFormat();
  const { key } = journeyRoute.useParams();
  const { node: highlighted } = journeyRoute.useSearch();
  const navigate = useNavigate({ from: journeyRoute.fullPath });
  const wide = useMediaQuery("(min-width: 48em)");
  const journey = useQuery(journeyQuery(key));
  const definition = useQuery(journeyDefinitionQuery(key));
  const published = journey.data?.latest_version != null;
  const report = useQuery({ ...journeyReportQuery(key), enabled: published });
  const instances = useQuery(latestInstancesQuery(key));
  const segments = useQuery(segmentsQuery);
  const allJourneys = useQuery(journeysQuery);
  const people = useQuery(
    profileSummariesQuery([...new Set((instances.data ?? []).map((i) => i.profile_id))]),
  );

  const names: Names = useMemo(
    () => ({
      segments: new Map((segments.data ?? []).map((s) => [s.key, s.name])),
      journeys: new Map((allJourneys.data ?? []).map((j) => [j.key, j.name])),
    }),
    [segments.data, allJourneys.data],
  );
  const personNames = useMemo(() => {
    const out = new Map<string, string | null>();
    for (const p of people.data ?? []) out.set(p.requested_id ?? p.id, p.name ?? null);
    return out;
  }, [people.data]);

  useEffect(() => {
    if (highlighted) {
      document.getElementById(`node-${highlighted}`)?.scrollIntoView({ block: "center" });
    }
  }, [highlighted]);

  const crumbs = [{ label: t("journeys.title"), to: "/journeys" }];
  const j = journey.data;
  const d: Definition | undefined = definition.data;
  if (journey.isError || definition.isError || !j || !d) {
    const error = journey.error ?? definition.error;
    return (
      <Page title={j?.name ?? t("journey.title")} crumbs={crumbs} ready={!!error}>
        {error ? (
          <ErrorNotice
            error={error}
            notFound={t("journey.notFound", { key })}
            back={{ to: "/journeys", label: t("journey.back") }}
            retry={() => {
              void journey.refetch();
              void definition.refetch();
            }}
          />
        ) : (
          <Loading lines={10} />
        )}
      </Page>
    );
  }

  const r = report.data;
  const figures = new Map((r?.nodes ?? []).map((n) => [n.node_id, n]));
  const ordered = readingOrder(d);
  const earlier = (r?.nodes ?? []).filter((n) => !d.nodes.some((node) => node.id === n.node_id));
  const pct = (v: number | null | undefined) => (v == null ? "—" : fmt.percent(v));
  const ready = instances.isSuccess && (!published || !report.isPending);
  const select = (nodeId: string) =>
    void navigate({ search: { node: nodeId }, replace: true, resetScroll: false });

  return (
    <Page
      title={j.name}
      crumbs={crumbs}
      ready={ready}
      subtitle={<Code>{j.key}</Code>}
      actions={
        <ButtonLink
          to="/journeys/$key/canvas"
          params={{ key }}
          search={{ view: published ? "live" : "edit" }}
          variant="light"
          size="sm"
          data-action="open-canvas"
        >
          {t("canvas.openCanvas")}
        </ButtonLink>
      }
    >
      <Section id="about" title={t("journey.about")}>
        {d.description && (
          <Text size="sm" c="dimmed" mb="sm">
            {d.description}
          </Text>
        )}
        <Facts
          rows={[
            [
              t("journey.status"),
              <Group gap="xs" key="status">
                <JourneyStatus status={j.status} />
                {j.test_mode && <Tag tone="warn">{t("journey.testMode")}</Tag>}
              </Group>,
            ],
            [
              t("journey.publishedVersion"),
              published ? (
                String(j.latest_version)
              ) : (
                <>
                  {t("journey.noVersion")}{" "}
                  <Code>{t("journey.publishCommand", { key: j.key })}</Code>
                </>
              ),
            ],
            [t("journey.entry"), describeEntry(d.entry, t, fmt, names)],
            [
              t("journey.goal"),
              d.goal ? t("journey.goalEvent", { event: d.goal.event }) : t("journey.noGoal"),
            ],
            [t("journey.category"), t(`category.${d.category ?? "marketing"}`)],
            [t("journey.updated"), fmt.dateTime(j.updated_at)],
          ]}
        />
      </Section>

      {published &&
        (report.isError ? (
          <ErrorNotice error={report.error} retry={() => void report.refetch()} />
        ) : !r ? (
          <Loading lines={3} height={60} />
        ) : (
          <SimpleGrid cols={{ base: 2, md: 3 }} spacing="md">
            <Kpi
              name="entered"
              label={t("kpi.entered")}
              value={fmt.integer(r.summary.entered)}
              hint={t("journey.profiles", {
                count: r.summary.profiles,
                value: fmt.integer(r.summary.profiles),
              })}
            />
            <Kpi
              name="active"
              label={t("kpi.active")}
              value={fmt.integer(r.summary.active)}
              hint={t("journey.completedExited", {
                completed: fmt.integer(r.summary.completed),
                exited: fmt.integer(r.summary.exited),
              })}
            />
            <Kpi
              name="converted"
              label={t("kpi.converted")}
              value={fmt.integer(r.summary.converted)}
              hint={t("journey.revenue", { value: fmt.money(r.summary.attributed_revenue) })}
            />
            <Kpi
              name="conversion_rate"
              label={t("kpi.conversionRate")}
              value={pct(r.summary.conversion_rate)}
              hint={t("journey.forecast", { value: pct(r.summary.forecast_conversion_rate) })}
            />
            <Kpi
              name="success_probability"
              label={t("kpi.successProbability")}
              value={pct(r.summary.success_probability)}
              hint={t("journey.ofActive")}
            />
            <Kpi
              name="expected_conversions"
              label={t("kpi.expectedConversions")}
              value={
                r.summary.expected_conversions == null
                  ? "—"
                  : fmt.decimal(r.summary.expected_conversions, 1)
              }
              hint={
                r.summary.median_time_to_goal_seconds == null
                  ? t("journey.stillToCome")
                  : t("journey.medianTime", {
                      value: fmt.seconds(r.summary.median_time_to_goal_seconds),
                    })
              }
            />
          </SimpleGrid>
        ))}

      <Section
        id="flow"
        title={t("journey.flow")}
        hint={t("journey.flowHint", {
          version: published ? t("journey.versionN", { n: j.latest_version }) : t("journey.draft"),
          start: d.start,
        })}
      >
        <Suspense fallback={<Loading lines={6} height={40} />}>
          <FlowDiagram
            definition={d}
            figures={r?.nodes ?? []}
            names={names}
            highlighted={highlighted}
            onSelect={select}
            height={wide ? 540 : 420}
          />
        </Suspense>
        <Table.ScrollContainer minWidth={1000} mt="md">
          <Table data-table="flow">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t("journey.node")}</Table.Th>
                <Table.Th miw={220}>{t("journey.whatItDoes")}</Table.Th>
                <Table.Th>{t("journey.next")}</Table.Th>
                <Table.Th className="num">{t("journey.reached")}</Table.Th>
                <Table.Th className="num">{t("journey.waiting")}</Table.Th>
                <Table.Th className="num">{t("journey.exitedHere")}</Table.Th>
                <Table.Th className="num">{t("journey.dropOff")}</Table.Th>
                <Table.Th>{t("journey.messages")}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {ordered.map((node) => {
                const k = figures.get(node.id);
                const edges = edgesOf(node);
                return (
                  <Table.Tr
                    key={node.id}
                    id={`node-${node.id}`}
                    data-node={node.id}
                    bg={node.id === highlighted ? "brand.0" : undefined}
                  >
                    <Table.Td className="nowrap">
                      <Group gap={6} wrap="nowrap">
                        <NodeIcon type={node.type} />
                        <div>
                          <Anchor
                            component="button"
                            type="button"
                            size="sm"
                            onClick={() => select(node.id)}
                          >
                            <Code>{node.id}</Code>
                          </Anchor>
                          <Text size="xs" c="dimmed">
                            {t(`nodeType.${node.type}`)}
                            {node.id === d.start ? ` · ${t("journey.start")}` : ""}
                          </Text>
                          {node.label && <Text size="xs">{node.label}</Text>}
                        </div>
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{describeNode(node, t, fmt, names)}</Text>
                    </Table.Td>
                    <Table.Td>
                      {edges.length === 0 ? (
                        <Text size="sm" c="dimmed">
                          {t("journey.end")}
                        </Text>
                      ) : (
                        <Stack gap={2}>
                          {edges.map((edge) => {
                            const label = edgeLabel(node, edge, t);
                            return (
                              <Text size="sm" key={edge.name} className="nowrap">
                                {label && (
                                  <Text span size="xs" c="dimmed">
                                    {label}{" "}
                                  </Text>
                                )}
                                →{" "}
                                <Anchor
                                  href={`#node-${edge.target}`}
                                  size="sm"
                                  onClick={(e) => {
                                    e.preventDefault();
                                    select(edge.target);
                                  }}
                                >
                                  <Code>{edge.target}</Code>
                                </Anchor>
                              </Text>
                            );
                          })}
                        </Stack>
                      )}
                    </Table.Td>
                    <Table.Td className="num" data-kpi="reached">
                      {fmt.integer(k?.reached ?? 0)}
                    </Table.Td>
                    <Table.Td className="num" data-kpi="waiting">
                      {fmt.integer(k?.waiting ?? 0)}
                    </Table.Td>
                    <Table.Td className="num" data-kpi="exited_here">
                      {fmt.integer(k?.exited_here ?? 0)}
                    </Table.Td>
                    <Table.Td className="num" data-kpi="drop_off">
                      {pct(k?.drop_off_rate)}
                    </Table.Td>
                    <Table.Td>
                      {MESSAGE_TYPES.has(node.type) || (k?.sent ?? 0) > 0 ? (
                        <>
                          <Text size="sm" className="nowrap">
                            {t("journey.sent", { value: fmt.integer(k?.sent ?? 0) })}
                          </Text>
                          <Text size="xs" c="dimmed" className="nowrap">
                            {t("journey.funnel", {
                              delivered: fmt.integer(k?.delivered ?? 0),
                              opened: fmt.integer(k?.opened ?? 0),
                              clicked: fmt.integer(k?.clicked ?? 0),
                            })}
                          </Text>
                        </>
                      ) : (
                        <Text size="sm" c="dimmed">
                          —
                        </Text>
                      )}
                    </Table.Td>
                  </Table.Tr>
                );
              })}
              {earlier.map((k) => (
                <Table.Tr key={k.node_id} data-node={k.node_id}>
                  <Table.Td>
                    <Code>{k.node_id}</Code>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" c="dimmed">
                      {t("journey.earlierVersion")}
                    </Text>
                  </Table.Td>
                  <Table.Td />
                  <Table.Td className="num" data-kpi="reached">
                    {fmt.integer(k.reached)}
                  </Table.Td>
                  <Table.Td className="num" data-kpi="waiting">
                    {fmt.integer(k.waiting)}
                  </Table.Td>
                  <Table.Td className="num" data-kpi="exited_here">
                    {fmt.integer(k.exited_here)}
                  </Table.Td>
                  <Table.Td className="num" data-kpi="drop_off">
                    {pct(k.drop_off_rate)}
                  </Table.Td>
                  <Table.Td />
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Section>

      {r && (
        <Grid gap="md">
          <Grid.Col span={{ base: 12, md: 4 }}>
            <Section
              id="exit-reasons"
              title={t("journey.exitReasons")}
              hint={t("journey.exitedCount", { value: fmt.integer(r.summary.exited) })}
            >
              {r.summary.exited_by_reason.length === 0 ? (
                <Empty>{t("journey.noExits")}</Empty>
              ) : (
                <Table data-table="exit-reasons">
                  <Table.Tbody>
                    {r.summary.exited_by_reason.map((reason) => (
                      <Table.Tr key={reason.reason}>
                        <Table.Td>{describeEndReason(reason.reason, t, names)}</Table.Td>
                        <Table.Td className="num">{fmt.integer(reason.count)}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              )}
            </Section>
          </Grid.Col>
          <Grid.Col span={{ base: 12, md: 8 }}>
            <Section
              id="over-time"
              title={t("journey.overTime")}
              hint={t(
                r.interval === "week" ? "journey.overTimeHintWeek" : "journey.overTimeHintDay",
              )}
            >
              {r.timeseries.length > 1 ? (
                <Chart
                  height={280}
                  label={t("journey.chartLabel", { name: j.name })}
                  option={timeseriesChart(r, fmt, {
                    entered: t("kpi.entered"),
                    converted: t("kpi.converted"),
                    rate: t("kpi.conversionRate"),
                  })}
                />
              ) : r.timeseries.length === 1 ? (
                <Empty>
                  {t(r.interval === "week" ? "journey.onePeriodWeek" : "journey.onePeriodDay", {
                    day: fmt.day(r.timeseries[0]!.period),
                    entered: fmt.integer(r.timeseries[0]!.entered),
                    converted: fmt.integer(r.timeseries[0]!.converted),
                  })}
                </Empty>
              ) : (
                <Empty>{t("journey.nobodyYet")}</Empty>
              )}
            </Section>
          </Grid.Col>
        </Grid>
      )}

      {r && r.score.score != null && (
        <Section id="score" title={t("journey.score")} hint={t("journey.scoreHint")}>
          <Group gap="xl" align="flex-start">
            <Kpi
              label={t("journey.scoreValue")}
              value={fmt.decimal(r.score.score, 0)}
              hint={t("journey.scoreCoverage", { share: fmt.percent(r.score.coverage, 0) })}
            />
            <Table.ScrollContainer minWidth={560}>
              <Table>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>{t("journey.scoreComponent")}</Table.Th>
                    <Table.Th className="num">{t("journey.scoreComponentValue")}</Table.Th>
                    <Table.Th className="num">{t("journey.scoreWeight")}</Table.Th>
                    <Table.Th className="num">{t("journey.scoreObservations")}</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {r.score.components.map((c) => (
                    <Table.Tr key={c.name}>
                      <Table.Td>
                        {t(`journey.scoreComponents.${c.name}`, { defaultValue: c.name })}
                      </Table.Td>
                      <Table.Td className="num">
                        {c.value == null ? t("journey.notMeasured") : fmt.decimal(c.value, 0)}
                      </Table.Td>
                      <Table.Td className="num">{fmt.percent(c.weight, 0)}</Table.Td>
                      <Table.Td className="num">{fmt.integer(c.observations)}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          </Group>
        </Section>
      )}

      {r && r.experiments.length > 0 && (
        <Section
          id="experiments"
          title={t("journey.experiments")}
          hint={t("journey.experimentsHint")}
        >
          <Stack gap="lg">
            {r.experiments.map((experiment) => {
              const compared = new Map(experiment.comparisons.map((c) => [c.arm, c]));
              return (
                <div key={experiment.split_node}>
                  <Title order={3} fz="md" mb="xs">
                    {t("journey.splitNode", {
                      node:
                        d.nodes.find((n) => n.id === experiment.split_node)?.label ||
                        experiment.split_node,
                    })}
                  </Title>
                  <Group gap="xs" mb="xs">
                    <Tag
                      tone={
                        ["winner", "decided"].includes(experiment.decision.status)
                          ? "good"
                          : ["guardrail", "sample_ratio_mismatch", "control_better"].includes(
                                experiment.decision.status,
                              )
                            ? "warn"
                            : undefined
                      }
                    >
                      {t(`experiment.status.${experiment.decision.status}`)}
                    </Tag>
                    {experiment.decision.arm && (
                      <Text size="sm">
                        {t("experiment.decidedArm", { arm: experiment.decision.arm })}
                      </Text>
                    )}
                    {experiment.srm.mismatch && <Tag tone="warn">{t("experiment.srm")}</Tag>}
                  </Group>
                  <Text size="sm" c="dimmed" mb="xs" data-method>
                    {t("experiment.method", { method: experiment.method })}
                  </Text>
                  <Table.ScrollContainer minWidth={960}>
                    <Table data-split={experiment.split_node}>
                      <Table.Thead>
                        <Table.Tr>
                          <Table.Th>{t("experiment.variant")}</Table.Th>
                          <Table.Th className="num">{t("experiment.weight")}</Table.Th>
                          <Table.Th className="num">{t("experiment.instances")}</Table.Th>
                          <Table.Th className="num">{t("experiment.closed")}</Table.Th>
                          <Table.Th className="num">{t("experiment.converted")}</Table.Th>
                          <Table.Th className="num">{t("experiment.rate")}</Table.Th>
                          <Table.Th className="num">{t("experiment.difference")}</Table.Th>
                          <Table.Th className="num">{t("experiment.lift")}</Table.Th>
                          <Table.Th className="num">{t("experiment.pValue")}</Table.Th>
                          <Table.Th className="num">{t("experiment.chanceToBeat")}</Table.Th>
                          <Table.Th>{t("experiment.significant")}</Table.Th>
                        </Table.Tr>
                      </Table.Thead>
                      <Table.Tbody>
                        {experiment.arms.map((arm) => {
                          const c = compared.get(arm.arm);
                          return (
                            <Table.Tr key={arm.arm}>
                              <Table.Td fw={600}>
                                {arm.arm}
                                {arm.control && (
                                  <Text span size="sm" c="dimmed">
                                    {" "}
                                    ({t("experiment.control")})
                                  </Text>
                                )}
                              </Table.Td>
                              <Table.Td className="num">{fmt.percent(arm.weight, 0)}</Table.Td>
                              <Table.Td className="num">{fmt.integer(arm.exposed)}</Table.Td>
                              <Table.Td className="num">{fmt.integer(arm.closed)}</Table.Td>
                              <Table.Td className="num">{fmt.integer(arm.conversions)}</Table.Td>
                              <Table.Td className="num">
                                {arm.rate == null ? "—" : fmt.percent(arm.rate)}
                              </Table.Td>
                              <Table.Td className="num">
                                {c?.difference == null
                                  ? "—"
                                  : t("experiment.differenceWithInterval", {
                                      difference: fmt.change(c.difference),
                                      low: c.ci_low == null ? "—" : fmt.change(c.ci_low),
                                      high: c.ci_high == null ? "—" : fmt.change(c.ci_high),
                                    })}
                              </Table.Td>
                              <Table.Td className="num">
                                {c?.relative_lift == null ? "—" : fmt.change(c.relative_lift)}
                              </Table.Td>
                              <Table.Td className="num">
                                {c?.p_value == null ? "—" : fmt.decimal(c.p_value, 3)}
                              </Table.Td>
                              <Table.Td className="num">
                                {c?.chance_to_beat_control == null
                                  ? "—"
                                  : fmt.percent(c.chance_to_beat_control)}
                              </Table.Td>
                              <Table.Td>
                                {c == null ? (
                                  "—"
                                ) : c.significant ? (
                                  <Tag tone="good">{t("common.yes")}</Tag>
                                ) : (
                                  <Text size="sm" c="dimmed">
                                    {t("common.no")}
                                  </Text>
                                )}
                              </Table.Td>
                            </Table.Tr>
                          );
                        })}
                      </Table.Tbody>
                    </Table>
                  </Table.ScrollContainer>
                </div>
              );
            })}
          </Stack>
        </Section>
      )}

      <Section id="instances" title={t("journey.latest")} hint={t("journey.latestHint")}>
        {instances.isPending ? (
          <Loading lines={6} />
        ) : instances.isError ? (
          <ErrorNotice error={instances.error} retry={() => void instances.refetch()} />
        ) : instances.data.length === 0 ? (
          <Empty>
            {published
              ? t("journey.noInstancesEntry", { entry: describeEntry(d.entry, t, fmt, names) })
              : t("journey.noInstances")}
          </Empty>
        ) : (
          <Table.ScrollContainer minWidth={960}>
            <Table data-table="instances">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("instance.profile")}</Table.Th>
                  <Table.Th>{t("instance.status")}</Table.Th>
                  <Table.Th>{t("instance.currentNode")}</Table.Th>
                  <Table.Th>{t("instance.entered")}</Table.Th>
                  <Table.Th>{t("instance.ended")}</Table.Th>
                  <Table.Th>{t("instance.reason")}</Table.Th>
                  <Table.Th className="num">{t("instance.version")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {instances.data.map((i) => (
                  <Table.Tr key={i.id} data-instance={i.id}>
                    <Table.Td>
                      <Person id={i.profile_id} name={personNames.get(i.profile_id)} />
                    </Table.Td>
                    <Table.Td>
                      <InstanceStatus status={i.status} />
                    </Table.Td>
                    <Table.Td>
                      {i.current_node ? (
                        <Code>{i.current_node}</Code>
                      ) : (
                        <Text size="sm" c="dimmed">
                          —
                        </Text>
                      )}
                      {i.split_variants && (
                        <Text size="xs" c="dimmed">
                          {Object.entries(i.split_variants)
                            .map(([n, v]) => `${n}: ${v}`)
                            .join(", ")}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td className="nowrap">{fmt.dateTime(i.entered_at)}</Table.Td>
                    <Table.Td className="nowrap">
                      {i.ended_at ? fmt.dateTime(i.ended_at) : "—"}
                    </Table.Td>
                    <Table.Td>
                      {i.end_reason ? describeEndReason(i.end_reason, t, names) : "—"}
                    </Table.Td>
                    <Table.Td className="num">{i.version}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Section>
    </Page>
  );
}
