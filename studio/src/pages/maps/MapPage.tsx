import { Button, Code, Group, SimpleGrid, Table, Text } from "@mantine/core";
import { DatePickerInput } from "@mantine/dates";
import { schemaResolver, useForm } from "@mantine/form";
import { useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useEffect, useMemo } from "react";
import { useTranslation } from "react-i18next";
import { z } from "zod";
import { ApiError, type Schemas } from "@/api/client";
import { mapQuery, mapReportQuery, taxonomyQuery } from "@/api/queries";
import { mapRoute } from "@/app/router";
import { Empty } from "@/components/Empty";
import { ErrorNotice } from "@/components/ErrorNotice";
import { Loading } from "@/components/Loading";
import { AnchorLink } from "@/components/links";
import { Page } from "@/components/Page";
import { Section } from "@/components/Section";
import { Tag } from "@/components/Tag";
import { useFormat } from "@/i18n";
import { MapStatus } from "./labels";
import { MapBoard } from "./MapBoard";

const QUADRANT_TONES = {
  quick_win: "good",
  major_project: "info",
  fill_in: "neutral",
  thankless: "warn",
} as const;

type Document = Schemas["JourneyMapDocument"];

/** Who owns each pain point and opportunity: its touchpoint's owner, else the map's. */
export function owners(document: Document): Map<string, string> {
  const byTouchpoint = new Map(
    (document.stages ?? []).flatMap((s) =>
      (s.touchpoints ?? []).map((tp) => [tp.id, tp.owner ?? ""]),
    ),
  );
  const out = new Map<string, string>();
  for (const stage of document.stages ?? []) {
    for (const item of [...(stage.pain_points ?? []), ...(stage.opportunities ?? [])]) {
      out.set(
        item.id,
        (item.touchpoint && byTouchpoint.get(item.touchpoint)) || document.owner || "",
      );
    }
  }
  return out;
}

function PeriodForm({
  since,
  until,
  serverErrors,
}: {
  since: string;
  until: string;
  serverErrors: Record<string, string>;
}) {
  const { t } = useTranslation();
  const navigate = useNavigate({ from: mapRoute.fullPath });
  const schema = useMemo(
    () =>
      z
        .object({
          since: z.string({ error: t("map.dayRequired") }).min(1, t("map.dayRequired")),
          until: z.string({ error: t("map.dayRequired") }).min(1, t("map.dayRequired")),
        })
        .refine((v) => v.since <= v.until, { path: ["since"], message: t("map.sinceAfterUntil") }),
    [t],
  );
  const form = useForm<{ since: string | null; until: string | null }>({
    mode: "controlled",
    initialValues: { since, until },
    validate: schemaResolver(schema, { sync: true }),
  });
  // biome-ignore lint/correctness/useExhaustiveDependencies: only the URL's period resets the form
  useEffect(() => {
    form.setValues({ since, until });
  }, [since, until]);
  const fmt = useFormat();
  const dayFormatter = ({ date }: { date: unknown }) =>
    typeof date === "string" ? fmt.day(date) : "";
  const ariaLabels = {
    previousMonth: t("calendar.previousMonth"),
    nextMonth: t("calendar.nextMonth"),
    previousYear: t("calendar.previousYear"),
    nextYear: t("calendar.nextYear"),
    previousDecade: t("calendar.previousDecade"),
    nextDecade: t("calendar.nextDecade"),
    monthLevelControl: t("calendar.monthLevel"),
    yearLevelControl: t("calendar.yearLevel"),
  };
  return (
    <form
      noValidate
      onSubmit={form.onSubmit(
        (values) =>
          void navigate({
            search: (prev) => ({
              ...prev,
              since: values.since ?? undefined,
              until: values.until ?? undefined,
            }),
          }),
      )}
      aria-label={t("map.period")}
    >
      <Group align="flex-start" gap="sm" wrap="wrap">
        <DatePickerInput
          label={t("map.since")}
          valueFormatter={dayFormatter}
          ariaLabels={ariaLabels}
          w={170}
          data-field="since"
          {...form.getInputProps("since")}
          error={form.getInputProps("since").error ?? serverErrors.since}
        />
        <DatePickerInput
          label={t("map.until")}
          valueFormatter={dayFormatter}
          ariaLabels={ariaLabels}
          w={170}
          data-field="until"
          {...form.getInputProps("until")}
          error={form.getInputProps("until").error ?? serverErrors.until}
        />
        <Button type="submit" mt={25}>
          {t("map.measure")}
        </Button>
      </Group>
    </form>
  );
}

export function MapPage() {
  const { t } = useTranslation();
  const fmt = useFormat();
  const { key } = mapRoute.useParams();
  const { since, until, zoom } = mapRoute.useSearch();
  const navigate = useNavigate({ from: mapRoute.fullPath });
  const current = useQuery(mapQuery(key));
  const taxonomy = useQuery(taxonomyQuery);
  const asked = useQuery(mapReportQuery(key, since, until));
  // a period the server refused (422 naming the field): measure the default period instead
  const refused =
    asked.error instanceof ApiError && asked.error.status === 422 ? asked.error : null;
  const fallback = useQuery({ ...mapReportQuery(key, undefined, undefined), enabled: !!refused });
  const report = refused ? fallback : asked;
  // the server names the field at fault; the words are the reader's
  const serverErrors = useMemo(() => {
    const out: Record<string, string> = {};
    for (const field of Object.keys(refused?.fieldErrors() ?? {})) {
      out[field] =
        field === "since" && since && until && since > until
          ? t("map.sinceAfterUntil")
          : t("map.invalidDay");
    }
    return out;
  }, [refused, since, until, t]);
  const stageNames = useMemo(
    () => new Map((taxonomy.data?.stages ?? []).map((s) => [s.key, s.name])),
    [taxonomy.data],
  );

  const crumbs = [{ label: t("maps.title"), to: "/maps" }];
  const m = current.data;
  if (current.isError || !m) {
    return (
      <Page title={t("map.title")} crumbs={crumbs} ready={current.isError}>
        {current.isError ? (
          <ErrorNotice
            error={current.error}
            notFound={t("map.notFound", { key })}
            back={{ to: "/maps", label: t("map.back") }}
            retry={() => void current.refetch()}
          />
        ) : (
          <Loading lines={10} />
        )}
      </Page>
    );
  }
  const d = m.document;
  const r = report.data;
  const own = owners(d);
  const touchpoints = new Map(
    (d.stages ?? []).flatMap((s) => (s.touchpoints ?? []).map((tp) => [tp.id, tp])),
  );
  const num = (v: number | null | undefined, digits = 1) =>
    v == null ? "—" : fmt.decimal(v, digits);
  const pct = (v: number | null | undefined) => (v == null ? "—" : fmt.percent(v));

  return (
    <Page
      title={d.name}
      crumbs={crumbs}
      ready={taxonomy.isSuccess && (report.isSuccess || report.isError)}
      subtitle={
        <>
          <Code>{d.key}</Code>{" "}
          {t("map.versionLine", {
            version: m.version,
            updated: fmt.dateTime(m.updated_at),
            by: m.updated_by,
          })}
        </>
      }
    >
      <Section id="about" title={t("map.about")}>
        {d.description && (
          <Text size="sm" c="dimmed" mb="sm">
            {d.description}
          </Text>
        )}
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }} spacing="sm" component="dl" m={0}>
          <div>
            <Text component="dt" size="xs" c="dimmed">
              {t("map.owner")}
            </Text>
            <Text component="dd" size="sm" m={0}>
              {d.owner || "—"}
            </Text>
          </div>
          <div>
            <Text component="dt" size="xs" c="dimmed">
              {t("map.status")}
            </Text>
            <Text component="dd" size="sm" m={0}>
              <MapStatus status={d.status ?? "draft"} state={d.state ?? "as_is"} />
            </Text>
          </div>
          {(["market", "segment", "persona"] as const)
            .filter((f) => d[f])
            .map((f) => (
              <div key={f}>
                <Text component="dt" size="xs" c="dimmed">
                  {t(`map.${f}`)}
                </Text>
                <Text component="dd" size="sm" m={0}>
                  {d[f]}
                </Text>
              </div>
            ))}
          {d.parent && (
            <div>
              <Text component="dt" size="xs" c="dimmed">
                {t("map.partOf")}
              </Text>
              <Text component="dd" size="sm" m={0}>
                <AnchorLink to="/maps/$key" params={{ key: d.parent }}>
                  {d.parent}
                </AnchorLink>
              </Text>
            </div>
          )}
          {d.variant_of && (
            <div>
              <Text component="dt" size="xs" c="dimmed">
                {t("map.variantOf")}
              </Text>
              <Text component="dd" size="sm" m={0}>
                <AnchorLink to="/maps/$key" params={{ key: d.variant_of }}>
                  {d.variant_of}
                </AnchorLink>
              </Text>
            </div>
          )}
        </SimpleGrid>
      </Section>

      <Section
        id="board"
        title={t("map.board")}
        hint={
          r
            ? t("map.boardHint", { from: fmt.day(r.first_day), to: fmt.day(r.last_day) })
            : undefined
        }
        actions={
          <PeriodForm
            since={r?.first_day ?? since ?? ""}
            until={r?.last_day ?? until ?? ""}
            serverErrors={serverErrors}
          />
        }
      >
        {refused && (
          <Text size="sm" c="orange.9" mb="sm" role="alert" data-period-error="true">
            {t("map.periodRefused")}
          </Text>
        )}
        {(d.stages ?? []).length === 0 ? (
          <Empty>{t("map.noStages")}</Empty>
        ) : (
          <MapBoard
            document={d}
            stageNames={stageNames}
            measurement={r?.measurement}
            zoom={zoom}
            onZoom={(value) =>
              void navigate({ search: (prev) => ({ ...prev, zoom: value }), replace: true })
            }
          />
        )}
      </Section>

      <Section id="stages" title={t("map.stagesMeasured")} hint={t("map.stagesHint")}>
        {report.isPending ? (
          <Loading lines={6} />
        ) : report.isError ? (
          <ErrorNotice error={report.error} retry={() => void report.refetch()} />
        ) : r && r.measurement.stages.length > 0 ? (
          <Table.ScrollContainer minWidth={1100}>
            <Table data-table="stages">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("map.stage")}</Table.Th>
                  <Table.Th miw={180}>{t("map.touchpoints")}</Table.Th>
                  <Table.Th className="num">{t("map.customers")}</Table.Th>
                  <Table.Th className="num">{t("map.events")}</Table.Th>
                  <Table.Th className="num">{t("map.toNext")}</Table.Th>
                  <Table.Th className="num">{t("map.dropOff")}</Table.Th>
                  <Table.Th className="num">{t("map.satisfaction")}</Table.Th>
                  <Table.Th className="num">{t("map.sentiment")}</Table.Th>
                  <Table.Th className="num">{t("map.emotionDesigned")}</Table.Th>
                  <Table.Th className="num">{t("map.emotionMeasured")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {r.measurement.stages.map((s) => {
                  const stage = (d.stages ?? []).find((x) => x.key === s.stage);
                  return (
                    <Table.Tr key={s.stage} data-stage={s.stage}>
                      <Table.Td fw={600}>{stageNames.get(s.stage) ?? s.name}</Table.Td>
                      <Table.Td>
                        {(stage?.touchpoints ?? []).length === 0
                          ? "—"
                          : (stage?.touchpoints ?? []).map((tp) => (
                              <Text size="sm" key={tp.id}>
                                {tp.name}
                                {(tp.channel || tp.owner) && (
                                  <Text span size="xs" c="dimmed">
                                    {" "}
                                    {[tp.channel, tp.owner].filter(Boolean).join(" · ")}
                                  </Text>
                                )}
                              </Text>
                            ))}
                      </Table.Td>
                      <Table.Td className="num" data-kpi="customers">
                        {fmt.integer(s.customers)}
                      </Table.Td>
                      <Table.Td className="num" data-kpi="events">
                        {fmt.integer(s.events)}
                      </Table.Td>
                      <Table.Td className="num" data-kpi="conversion">
                        {pct(s.conversion_to_next)}
                      </Table.Td>
                      <Table.Td className="num" data-kpi="drop_off">
                        {pct(s.drop_off)}
                      </Table.Td>
                      <Table.Td className="num">{num(s.satisfaction)}</Table.Td>
                      <Table.Td className="num">{num(s.sentiment, 2)}</Table.Td>
                      <Table.Td className="num">{num(s.designed_emotion)}</Table.Td>
                      <Table.Td className="num">{num(s.measured_emotion)}</Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        ) : (
          <Empty>{t("map.noStagesMeasured")}</Empty>
        )}
      </Section>

      <Section id="insights" title={t("map.insights")} hint={t("map.insightsHint")}>
        {report.isPending ? (
          <Loading lines={6} />
        ) : report.isError ? (
          <ErrorNotice error={report.error} retry={() => void report.refetch()} />
        ) : r && r.insights.length > 0 ? (
          <Table.ScrollContainer minWidth={1100}>
            <Table data-table="insights">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th className="num">{t("map.rank")}</Table.Th>
                  <Table.Th miw={220}>{t("map.insight")}</Table.Th>
                  <Table.Th>{t("map.stageTouchpoint")}</Table.Th>
                  <Table.Th>{t("map.owner")}</Table.Th>
                  <Table.Th className="num">{t("map.severityEffort")}</Table.Th>
                  <Table.Th className="num">{t("map.affected")}</Table.Th>
                  <Table.Th className="num">{t("map.dropOff")}</Table.Th>
                  <Table.Th className="num">{t("map.impact")}</Table.Th>
                  <Table.Th className="num">{t("map.priority")}</Table.Th>
                  <Table.Th>{t("map.quadrant")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {r.insights.map((insight, index) => (
                  <Table.Tr key={insight.id} data-insight={insight.id}>
                    <Table.Td className="num">{fmt.integer(index + 1)}</Table.Td>
                    <Table.Td>
                      <Text size="sm" fw={600}>
                        {insight.title}
                      </Text>
                      <Text size="xs" c="dimmed">
                        {t(insight.kind === "pain_point" ? "map.painPoint" : "map.opportunity")}
                        {" · "}
                        {t(`elementStatus.${insight.status}`)}
                        {insight.linked_journey && (
                          <>
                            {" · "}
                            {t("map.addressedBy")}{" "}
                            {insight.linked_journey.startsWith("jny_") ? (
                              insight.linked_journey
                            ) : (
                              <AnchorLink
                                to="/journeys/$key"
                                params={{ key: insight.linked_journey }}
                                size="xs"
                                underline="always"
                              >
                                {insight.linked_journey}
                              </AnchorLink>
                            )}
                          </>
                        )}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{stageNames.get(insight.stage) ?? insight.stage}</Text>
                      {insight.touchpoint && (
                        <Text size="xs" c="dimmed">
                          {touchpoints.get(insight.touchpoint)?.name ?? insight.touchpoint}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>{own.get(insight.id) || "—"}</Table.Td>
                    <Table.Td className="num">{`${fmt.integer(insight.severity)} / ${fmt.integer(insight.effort)}`}</Table.Td>
                    <Table.Td className="num">{fmt.integer(insight.affected_customers)}</Table.Td>
                    <Table.Td className="num">{pct(insight.drop_off)}</Table.Td>
                    <Table.Td className="num">{fmt.integer(Math.round(insight.impact))}</Table.Td>
                    <Table.Td className="num">{fmt.integer(Math.round(insight.priority))}</Table.Td>
                    <Table.Td className="nowrap">
                      <Tag tone={QUADRANT_TONES[insight.quadrant]}>
                        {t(`quadrant.${insight.quadrant}`)}
                      </Tag>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        ) : (
          <Empty>{t("map.noInsights")}</Empty>
        )}
      </Section>
    </Page>
  );
}
